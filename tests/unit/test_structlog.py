"""cwlogs.structlog: processors and the direct sink, without a network."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

structlog = pytest.importorskip("structlog", reason="structlog is an optional extra")

from cwlogs import CloudWatchHandler, bind  # noqa: E402
from cwlogs._shipping.encode import to_event_dict  # noqa: E402
from cwlogs._shipping.event import snapshot  # noqa: E402
from cwlogs.context import current  # noqa: E402
from cwlogs.formatting import Event  # noqa: E402
from cwlogs.structlog import CloudWatchSink, add_context, redact  # noqa: E402


class CapturingHandler(CloudWatchHandler):
    """A real CloudWatchHandler whose queue is a list, so nothing is sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(log_group="/unit/structlog", endpoint_url="http://127.0.0.1:9", **kwargs)
        self.events: list[Event] = []

    def enqueue(self, event: Event) -> bool:
        self.events.append(event)
        return True


@pytest.fixture
def handler() -> Iterator[CapturingHandler]:
    h = CapturingHandler()
    yield h
    h.close()


def _logger(handler: CloudWatchHandler, *processors: Any, **sink_options: Any) -> Any:
    """A structlog logger whose chain ends in a CloudWatchSink on ``handler``."""
    return structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[*processors, CloudWatchSink(handler, **sink_options)],
    )


def _stored(handler: CapturingHandler) -> dict[str, Any]:
    """The last event as the worker would encode it, without the timestamp."""
    out = to_event_dict(handler.events[-1])
    out.pop("timestamp")
    return out


class TestCloudWatchSink:
    def test_same_schema_as_stdlib_path(self, handler: CapturingHandler) -> None:
        """A structlog call stores the same JSON as the equivalent stdlib call."""
        log = _logger(handler, structlog.processors.add_log_level).bind(logger="shop")
        record = logging.getLogger("shop").makeRecord(
            "shop", logging.WARNING, __file__, 1, "order placed", (), None, extra={"order_id": 42}
        )
        with bind(request_id="r-1"):
            log.warning("order placed", order_id=42)
            expected = to_event_dict(snapshot(record, current()))
        expected.pop("timestamp")
        assert expected == _stored(handler)

    def test_event_becomes_message(self, handler: CapturingHandler) -> None:
        """The ``event`` key is the message."""
        _logger(handler).info("hello")
        assert "hello" == _stored(handler)["message"]

    def test_non_string_event_is_stringified(self, handler: CapturingHandler) -> None:
        """A non-string ``event`` is stored as its str()."""
        _logger(handler).info(42)
        assert "42" == _stored(handler)["message"]

    def test_level_from_method_name(self, handler: CapturingHandler) -> None:
        """Without a ``level`` key, the method name (canonicalised) is the level."""
        _logger(handler).warn("careful")
        assert ("warning", logging.WARNING) == (
            _stored(handler)["level"],
            handler.events[-1].levelno,
        )

    def test_level_key_wins(self, handler: CapturingHandler) -> None:
        """A ``level`` key set by a processor is the level."""
        _logger(handler).info("x", level="error")
        assert "error" == _stored(handler)["level"]

    def test_logger_key_names_the_logger(self, handler: CapturingHandler) -> None:
        """A ``logger`` key (add_logger_name) is the logger name."""
        _logger(handler).info("x", logger="billing")
        assert "billing" == _stored(handler)["logger"]

    def test_wrapped_logger_name_used(self, handler: CapturingHandler) -> None:
        """A wrapped logger with a ``name`` (a stdlib logger) names the logger."""
        log = structlog.wrap_logger(
            logging.getLogger("wrapped"), processors=[CloudWatchSink(handler)]
        )
        log.info("x")
        assert "wrapped" == _stored(handler)["logger"]

    def test_default_logger_name(self, handler: CapturingHandler) -> None:
        """With no other name, ``logger_name`` is used."""
        _logger(handler, logger_name="app").info("x")
        assert "app" == _stored(handler)["logger"]

    def test_other_keys_are_extras(self, handler: CapturingHandler) -> None:
        """Keys other than the schema's are kept as extras."""
        _logger(handler).info("x", order_id=7, tags=["a"])
        stored = _stored(handler)
        assert (7, ["a"]) == (stored["order_id"], stored["tags"])

    def test_bound_context_added_without_add_context(self, handler: CapturingHandler) -> None:
        """Bound correlation fields are stored even when add_context is not in the chain."""
        with bind(request_id="r-2", tenant_id="acme"):
            _logger(handler).info("x")
        stored = _stored(handler)
        assert ("r-2", "acme") == (stored["request_id"], stored["tenant_id"])

    def test_exception_method_captures_active_exception(self, handler: CapturingHandler) -> None:
        """log.exception() inside ``except`` stores the exception's type, message and stack."""
        try:
            raise ValueError("bad card")
        except ValueError:
            _logger(handler).exception("payment failed")
        exc = _stored(handler)["exception"]
        assert ("ValueError", "bad card") == (exc["type"], exc["message"])
        assert "Traceback" in exc["stack"]

    def test_exc_info_exception_instance(self, handler: CapturingHandler) -> None:
        """``exc_info=<exception>`` stores that exception."""
        try:
            raise KeyError("k")
        except KeyError as e:
            caught = e
        _logger(handler).error("lookup failed", exc_info=caught)
        assert "KeyError" == _stored(handler)["exception"]["type"]

    def test_rendered_exception_text_keeps_schema(self, handler: CapturingHandler) -> None:
        """A traceback already rendered by format_exc_info still becomes {type, message, stack}."""
        log = _logger(handler, structlog.processors.format_exc_info)
        try:
            raise RuntimeError("late")
        except RuntimeError:
            log.error("failed", exc_info=True)
        exc = _stored(handler)["exception"]
        assert ("RuntimeError", "late") == (exc["type"], exc["message"])

    def test_stack_info_renders_callers_stack(self, handler: CapturingHandler) -> None:
        """``stack_info=True`` stores the stack of the logging call site."""
        _logger(handler).info("where", stack_info=True)
        stack = _stored(handler)["stack"]
        assert "test_stack_info_renders_callers_stack" in stack.rsplit("\n", 2)[-2]

    def test_iso_timestamp_used(self, handler: CapturingHandler) -> None:
        """An ISO-8601 ``timestamp`` (TimeStamper(fmt="iso")) is the event's time."""
        _logger(handler).info("x", timestamp="2026-01-02T03:04:05.678Z")
        assert "2026-01-02T03:04:05.678Z" == to_event_dict(handler.events[-1])["timestamp"]

    def test_epoch_timestamp_used(self, handler: CapturingHandler) -> None:
        """An epoch-seconds ``timestamp`` (TimeStamper()) is the event's time."""
        _logger(handler).info("x", timestamp=1767323045.678)
        assert 1767323045678 == handler.events[-1].ts

    def test_unreadable_timestamp_kept(self, handler: CapturingHandler) -> None:
        """A timestamp that cannot be read is kept (as ``timestamp_``) and the time is now."""
        _logger(handler).info("x", timestamp="yesterday-ish")
        assert "yesterday-ish" == _stored(handler)["timestamp_"]

    def test_event_dropped_from_chain(self, handler: CapturingHandler) -> None:
        """By default the sink ends the chain: the wrapped logger is not called."""
        assert _logger(handler).info("x") is None

    def test_passthrough_returns_event_dict(self, handler: CapturingHandler) -> None:
        """With passthrough=True the event dict continues to the wrapped logger."""
        assert ((), {"k": 1, "event": "x"}) == _logger(handler, passthrough=True).info("x", k=1)

    def test_unreadable_event_dict_still_queued(self, handler: CapturingHandler) -> None:
        """An event dict that cannot be converted is queued as text instead of raising."""

        class Broken(dict[str, Any]):
            def items(self) -> Any:
                raise RuntimeError("broken mapping")

        sink = CloudWatchSink(handler)
        with pytest.raises(structlog.DropEvent):
            sink(None, "info", Broken(event="odd"))
        assert "odd" in handler.events[-1].message

    def test_handler_and_options_exclusive(self, handler: CapturingHandler) -> None:
        """Passing a handler and handler options together is a TypeError."""
        with pytest.raises(TypeError):
            CloudWatchSink(handler, log_group="/other")


class TestAddContext:
    def test_adds_bound_fields(self) -> None:
        """Bound fields are added to the event dict."""
        with bind(request_id="r"):
            assert {"event": "e", "request_id": "r"} == add_context(None, "info", {"event": "e"})

    def test_event_keys_win(self) -> None:
        """A key the event already has is not overwritten."""
        with bind(request_id="bound"):
            out = add_context(None, "info", {"event": "e", "request_id": "explicit"})
        assert "explicit" == out["request_id"]


class TestRedact:
    def test_masks_pii_in_text(self) -> None:
        """An email in the event text is masked."""
        assert (
            "mail [EMAIL_REDACTED]"
            == redact(None, "info", {"event": "mail jane@example.com"})["event"]
        )

    def test_masks_sensitive_keys(self) -> None:
        """A value under a sensitive key is masked whole."""
        assert (
            "[REDACTED]"
            == redact(None, "info", {"event": "login", "password": "hunter2"})["password"]
        )


def test_processors_work_without_structlog_installed() -> None:
    """With structlog absent, cwlogs.structlog imports and its plain processors run."""
    code = (
        "import sys; sys.modules['structlog'] = None\n"
        "from cwlogs.structlog import add_context\n"
        "print(add_context(None, 'info', {'event': 'e'}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "{'event': 'e'}" == proc.stdout.strip()
