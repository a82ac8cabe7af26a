"""structlog processors for cwlogs, in two flavours that produce the same JSON schema.

Directly, with no stdlib detour: :class:`CloudWatchSink` ends the processor chain and
hands each event dict to the handler's batcher (JSON is built on the worker thread)::

    structlog.configure(processors=[add_context, redact, CloudWatchSink(log_group="/app")])

Through structlog's stdlib bridge (``ProcessorFormatter.wrap_for_formatter``): attach a
:class:`BridgeHandler` (a :class:`~cwlogs.CloudWatchHandler` that reads structlog's
event dicts off the records) to a stdlib logger.

Processors are plain callables with structlog's signature; structlog itself is only
imported by :class:`CloudWatchSink` (for ``DropEvent``), so it stays an optional extra.

>>> add_context(None, "info", {"event": "hi"})
{'event': 'hi'}
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any, Final

from cwlogs._shipping.event import Event
from cwlogs._shipping.snapshot import exception_fields
from cwlogs._shipping.text import safe_str
from cwlogs.context import current
from cwlogs.handler import CloudWatchHandler

__all__ = ["BridgeHandler", "CloudWatchSink", "add_context", "redact"]

EventDict = MutableMapping[str, Any]

_LEVELS: Final = {
    "debug": (logging.DEBUG, "DEBUG"),
    "info": (logging.INFO, "INFO"),
    "msg": (logging.INFO, "INFO"),
    "log": (logging.INFO, "INFO"),
    "warning": (logging.WARNING, "WARNING"),
    "warn": (logging.WARNING, "WARNING"),
    "error": (logging.ERROR, "ERROR"),
    "err": (logging.ERROR, "ERROR"),
    "exception": (logging.ERROR, "ERROR"),
    "critical": (logging.CRITICAL, "CRITICAL"),
    "fatal": (logging.CRITICAL, "CRITICAL"),
}
# Keys the event dict's own fields are read from; everything else is an extra.
_CONSUMED: Final = frozenset({"event", "level", "logger", "timestamp", "exc_info", "stack_info"})
# Frames of these packages are skipped when rendering ``stack_info``.
_INTERNAL_PREFIXES: Final = ("structlog", "cwlogs", "logging")


def add_context(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: add the bound correlation fields (and tracing IDs); the event's own keys win.

    Needed only before renderers other than :class:`CloudWatchSink`, which adds them itself.

    >>> from cwlogs import bind
    >>> with bind(request_id="r-1"):
    ...     add_context(None, "info", {"event": "hi"})
    {'event': 'hi', 'request_id': 'r-1'}
    """
    ctx = current()
    if ctx:
        for key, value in ctx.items():
            event_dict.setdefault(key, value)
    return event_dict


_default_redactor: Any = None
_redactor_lock = threading.Lock()


def redact(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: mask PII and secrets with the default :class:`~cwlogs.redaction.Redactor`.

    A CloudWatchHandler redacts again on its worker (a no-op on masked text); this one
    covers what other renderers print. For custom rules put a ``Redactor(...)`` instance
    in the chain instead: it is a processor too.

    >>> redact(None, "info", {"event": "mail jane@example.com"})
    {'event': 'mail [EMAIL_REDACTED]'}
    """
    global _default_redactor
    if _default_redactor is None:
        with _redactor_lock:  # compiling the patterns once is the expensive part
            if _default_redactor is None:
                from cwlogs.redaction import Redactor

                _default_redactor = Redactor()
    result: EventDict = _default_redactor(logger, method_name, event_dict)
    return result


class CloudWatchSink:
    """Final processor: queue the event on a :class:`~cwlogs.CloudWatchHandler`, no stdlib detour.

    ``event`` becomes ``message``; ``level`` (else the method name) the level;
    ``logger`` (else the wrapped logger's ``name``, else ``logger_name``) the logger;
    ``timestamp`` (epoch seconds, ISO-8601 string or datetime; else now) the time;
    ``exc_info``/``stack_info`` the ``exception``/``stack`` fields; every other key is an
    extra. Bound context is added as on the stdlib path.

    The event is then dropped from the chain (``structlog.DropEvent``) unless
    ``passthrough=True``, which returns it unchanged for a following renderer.

    >>> import structlog
    >>> sink = CloudWatchSink(log_group="/app", service="billing")
    >>> structlog.configure(processors=[structlog.processors.add_log_level, sink])
    >>> structlog.get_logger().info("invoice paid", invoice=42)
    >>> sink.flush(timeout=2.0)
    True
    >>> from cwlogs.query import read_groups
    >>> [(e.service, e.level, e.text, e.get("invoice")) for e in read_groups("/app")]
    [('billing', 'info', 'invoice paid', 42)]
    >>> structlog.reset_defaults()
    >>> sink.handler.close()
    """

    def __init__(
        self,
        handler: CloudWatchHandler | None = None,
        *,
        logger_name: str = "structlog",
        passthrough: bool = False,
        **handler_options: Any,
    ) -> None:
        from structlog import DropEvent

        if handler is not None and handler_options:
            raise TypeError("pass either a handler or handler options, not both")
        self.handler = handler if handler is not None else CloudWatchHandler(**handler_options)
        self.logger_name = logger_name
        self.passthrough = passthrough
        self._drop = DropEvent
        self._with_thread = bool(self.handler.config.include_thread)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        name = getattr(logger, "name", None)
        if not isinstance(name, str):
            name = self.logger_name
        try:
            event = _to_event(
                event_dict, method_name, logger=name, created=None, with_thread=self._with_thread
            )
        except Exception:  # an odd event dict still arrives, as text, rather than vanish
            text = safe_str(event_dict)
            event = Event(time.time(), logging.ERROR, "ERROR", name, text, None, None)
        self.handler.enqueue(event)
        if self.passthrough:
            return event_dict
        raise self._drop

    def flush(self, timeout: float | None = None) -> bool:
        """Flush the handler; see :meth:`cwlogs.CloudWatchHandler.flush`."""
        return self.handler.flush(timeout)


class BridgeHandler(CloudWatchHandler):
    """A CloudWatchHandler for structlog's stdlib bridge (``ProcessorFormatter``).

    Records made by structlog become the same events :class:`CloudWatchSink` makes
    (no formatter is involved); other records take the plain handler's path. Takes the
    same options as :class:`~cwlogs.CloudWatchHandler`, in code or in ``dictConfig``.

    >>> logging.getLogger().addHandler(BridgeHandler(log_group="/app"))  # doctest: +SKIP
    """

    def emit(self, record: logging.LogRecord) -> None:
        event_dict = record.msg
        if not isinstance(event_dict, Mapping) or not hasattr(record, "_logger"):
            super().emit(record)
            return
        try:
            exc_info = record.exc_info if record.exc_info else None
            event = _to_event(
                event_dict,
                record.levelname.lower(),
                logger=record.name,
                created=record.created,
                levelno=record.levelno,
                exc_info=exc_info,
                stack=record.stack_info,
                with_thread=self.config.include_thread,
                thread=record.threadName,
            )
            self.enqueue(event)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def _to_event(
    event_dict: Mapping[str, Any],
    method_name: str,
    *,
    logger: str,
    created: float | None,
    levelno: int | None = None,
    exc_info: Any = None,
    stack: str | None = None,
    with_thread: bool = False,
    thread: str | None = None,
) -> Event:
    """The :class:`Event` the stdlib path would snapshot, built from a structlog event dict."""
    extras = {k: v for k, v in event_dict.items() if k not in _CONSUMED}
    message = event_dict.get("event", "")
    if not isinstance(message, str):
        message = safe_str(message)

    level = event_dict.get("level")
    name = level.lower() if isinstance(level, str) else method_name
    if level is not None and not isinstance(level, str):
        extras["level"] = level  # kept (as level_) rather than lost
    known = _LEVELS.get(name)
    if known is not None:
        levelno, levelname = known
    else:
        levelname = name.upper()
        if levelno is None:
            levelno = logging.INFO

    given_logger = event_dict.get("logger")
    if isinstance(given_logger, str):
        logger = given_logger
    elif given_logger is not None:
        extras["logger"] = given_logger

    stamp = event_dict.get("timestamp")
    if stamp is not None:
        parsed = _epoch(stamp)
        if parsed is None:
            extras["timestamp"] = stamp  # an unreadable time is kept, as timestamp_
        else:
            created = parsed
    if created is None:
        created = time.time()

    given_exc = event_dict.get("exc_info")
    if given_exc is True and exc_info:
        given_exc = exc_info  # the record captured the same exception already
    exc = _exception(given_exc if given_exc is not None else exc_info, method_name)
    if exc is None and isinstance(extras.get("exception"), str):
        # format_exc_info already rendered it: keep the schema's shape.
        exc = _exception_from_text(extras.pop("exception"))
    stack_info = event_dict.get("stack_info")
    if stack_info is True:
        stack = _render_stack()
    elif isinstance(stack_info, str):
        stack = stack_info
    rendered_stack = extras.get("stack")
    if stack is None and isinstance(rendered_stack, str):
        stack = extras.pop("stack")

    return Event(
        created,
        levelno,
        levelname,
        logger,
        message,
        extras or None,
        current(),
        exc,
        stack,
        (thread or threading.current_thread().name) if with_thread else None,
    )


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a structlog timestamp, or None if it cannot be read."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat rejects "Z"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        # A naive time is local time, as TimeStamper(utc=False) writes it.
        return value.timestamp()
    return None


def _exception(exc_info: Any, method_name: str) -> dict[str, str] | None:
    if exc_info is None and method_name == "exception":
        exc_info = True  # log.exception() on a logger that does not set exc_info
    if not exc_info:
        return None
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()
    return exception_fields(exc_info)


def _exception_from_text(text: str) -> dict[str, str]:
    last = text.rstrip().rsplit("\n", 1)[-1]
    etype, sep, message = last.partition(": ")
    if not sep:
        etype, message = last.rstrip(":"), ""
    return {"type": etype.strip(), "message": message, "stack": text.rstrip("\n")}


def _internal(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in _INTERNAL_PREFIXES)


def _render_stack() -> str:
    frame = sys._getframe(1)
    while frame.f_back is not None and _internal(str(frame.f_globals.get("__name__", ""))):
        frame = frame.f_back
    return "Stack (most recent call last):\n" + "".join(traceback.format_stack(frame)).rstrip("\n")
