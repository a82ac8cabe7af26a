"""No single record, batch or response stops the rest: default handlers against the
moto endpoint behind the strict proxy, with the proxy refusing what a real one would."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import orjson
import pytest

from cwlogs.testing import Fault
from tests.conftest import read_events

pytestmark = pytest.mark.proxy


def _stored(logs: Any, group: str) -> list[dict[str, Any]]:
    return [orjson.loads(e["message"]) for e in read_events(logs, group)]


class _Drops:
    """An ``on_drop`` that remembers each dropped event's log message by reason."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[str]] = {}
        self._changed = threading.Condition()

    def __call__(self, events: list[Any], reason: str) -> None:
        with self._changed:
            self.by_reason.setdefault(reason, []).extend(
                orjson.loads(e["message"])["message"] for e in events
            )
            self._changed.notify_all()

    def wait_for(self, reason: str, count: int, timeout: float = 10.0) -> list[str]:
        """The messages dropped for ``reason`` once there are ``count`` (the worker hands
        them over after it has counted them, so flush may return first)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.by_reason.get(reason, [])) >= count, timeout)
            return sorted(self.by_reason.get(reason, []))


class TestUnencodableValues:
    def test_lone_surrogates_are_shipped_marked_and_do_not_hold_back_the_rest(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """A lone surrogate in a message, an extra's key or value, a logger name or an
        exception is delivered with U+FFFD in its place, and the records after it too."""
        handler = make_handler()
        app_logger.addHandler(handler)
        app_logger.info("msg a\ud800b")
        app_logger.info("key", extra={"k\udc00": "v"})
        app_logger.info("value", extra={"k": "v\udfff"})
        app_logger.getChild("child\ud801").info("logger")
        try:
            raise ValueError("boom \ud802")
        except ValueError:
            app_logger.exception("exc")
        for i in range(5):
            app_logger.info("after %d", i)
        assert handler.flush(timeout=20)
        by_message = {e["message"]: e for e in _stored(logs, group)}
        assert sorted(by_message) == sorted(
            ["msg a\ufffdb", "key", "value", "logger", "exc", *(f"after {i}" for i in range(5))]
        )
        assert by_message["key"]["k\ufffd"] == "v"
        assert by_message["value"]["k"] == "v\ufffd"
        assert by_message["logger"]["logger"].endswith(".child\ufffd")
        assert by_message["exc"]["exception"]["message"] == "boom \ufffd"
        stats = handler.stats()
        assert (stats["dropped"], stats["rejected"]) == ({}, {})

    def test_unrenderable_messages_are_delivered_marked(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Records whose message cannot be rendered arrive with template, args and the
        failure noted, instead of going to handleError and nowhere."""

        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no str")

        handler = make_handler()
        app_logger.addHandler(handler)
        app_logger.info("a %s %s", {"k": 1})  # noqa: PLE1206 - the bug being tested
        app_logger.info(Unprintable())
        app_logger.info("b %d", "x")
        assert handler.flush(timeout=20)
        stored = sorted(e["message"] for e in _stored(logs, group))
        assert [m.split(" [formatting failed: ")[0] for m in stored] == [
            "<unprintable Unprintable> ()",
            "a %s %s {'k': 1}",
            "b %d ('x',)",
        ]


class TestRefusedRequests:
    def test_a_413_splits_the_batch_and_rejects_only_what_cannot_fit(
        self,
        make_handler: Any,
        app_logger: logging.Logger,
        logs: Any,
        group: str,
        proxy: Any,
    ) -> None:
        """Behind a proxy with a 200 KB body limit, a ~700 KB batch is split until each
        part passes; the one event bigger than the limit is rejected as too_large."""
        drops = _Drops()
        proxy.max_body_bytes = 200_000
        try:
            handler = make_handler(on_drop=drops)
            app_logger.addHandler(handler)
            for i in range(300):
                app_logger.info("small %d %s", i, "x" * 2_000)
            app_logger.info("huge %s", "y" * 300_000)
            assert handler.flush(timeout=30)
        finally:
            proxy.max_body_bytes = None
        stored = Counter(e["message"].split(" ")[1] for e in _stored(logs, group))
        assert stored == Counter(str(i) for i in range(300))  # each once
        assert handler.stats()["rejected"] == {"too_large": 1}
        assert [m[:5] for m in drops.wait_for("too_large", 1)] == ["huge "]
        statuses = Counter(r.status for r in proxy.calls("PutLogEvents"))
        assert statuses[413] >= 2 and statuses[200] >= 4

    def test_an_unknown_400_code_quarantines_only_the_offending_events(
        self,
        make_handler: Any,
        app_logger: logging.Logger,
        logs: Any,
        group: str,
        proxy: Any,
    ) -> None:
        """A proxy rule refuses every request carrying a marker with a code nobody knows:
        the two marked events are rejected by that code, the other 198 delivered."""
        drops = _Drops()
        proxy.inject_when(
            "PutLogEvents", "POISON-7", Fault.unknown_client_error("NewRuleException")
        )
        handler = make_handler(on_drop=drops)
        app_logger.addHandler(handler)
        for i in range(200):
            app_logger.info("event %d%s", i, " POISON-7" if i in (50, 120) else "")
        assert handler.flush(timeout=30)
        stored = sorted(int(e["message"].split()[1]) for e in _stored(logs, group))
        assert stored == [i for i in range(200) if i not in (50, 120)]
        stats = handler.stats()
        assert stats["rejected"] == {"refused_NewRuleException": 2}
        assert drops.wait_for("refused_NewRuleException", 2) == [
            "event 120 POISON-7",
            "event 50 POISON-7",
        ]
        assert stats["breaker"]["state"] == "closed"

    def test_a_200_with_an_html_body_is_not_sent_again(
        self,
        make_handler: Any,
        app_logger: logging.Logger,
        logs: Any,
        group: str,
        proxy: Any,
    ) -> None:
        """Upstream stored the batch and the answer is an HTML page: counted as delivered,
        so nothing is stored twice."""
        proxy.inject("PutLogEvents", Fault.html_ok())
        handler = make_handler()
        app_logger.addHandler(handler)
        for i in range(300):
            app_logger.info("once %d", i)
        assert handler.flush(timeout=20)
        stored = Counter(e["message"] for e in _stored(logs, group))
        assert stored == Counter(f"once {i}" for i in range(300))
        assert handler.stats()["sent"] == 300
        assert proxy.stats()["faults"] == {"html_ok": 1}

    @pytest.mark.parametrize(
        ("operation", "fault"),
        [
            ("CreateLogGroup", Fault.error("InvalidParameterException")),
            ("CreateLogStream", Fault.unknown_client_error()),
            ("PutLogEvents", Fault.http(404, b"<html>not found</html>", name="bare_404")),
            ("PutLogEvents", Fault.http(407, b"<html>proxy auth</html>", name="bare_407")),
        ],
        ids=["group-invalid", "stream-unknown-4xx", "put-bare-404", "put-bare-407"],
    )
    def test_a_refusal_that_is_not_about_the_events_keeps_them(
        self,
        make_handler: Any,
        app_logger: logging.Logger,
        logs: Any,
        group: str,
        proxy: Any,
        operation: str,
        fault: Fault,
    ) -> None:
        """A set-up call refused, or a bare HTTP status from something in front of the
        service (no AWS error code): nothing is rejected; the events wait and go out."""
        proxy.inject(operation, fault, times=3)
        handler = make_handler(breaker_reset=0.2, flush_interval=0.05)
        app_logger.addHandler(handler)
        for i in range(50):
            app_logger.info("kept %d", i)
        assert handler.flush(timeout=30)
        stats = handler.stats()
        assert stats["rejected"] == {} and stats["dropped"] == {}
        stored = sorted(e["message"] for e in _stored(logs, group))
        assert stored == sorted(f"kept {i}" for i in range(50))
