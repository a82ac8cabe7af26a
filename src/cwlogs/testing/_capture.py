"""In-memory capture for users' tests: :class:`MemoryLogStream` stores what a
``CloudWatchHandler`` would send, in the same JSON schema, so tests can assert on their
own logging without an endpoint; :func:`capture` attaches one to a logger for a block.

>>> stream = MemoryLogStream()
>>> logger = logging.getLogger("demo.memory")
>>> logger.addHandler(stream.handler(service="api"))
>>> logger.warning("disk at %d%%", 91)
>>> [(e.level, e.service, e.get("message")) for e in stream.all()]
[('warning', 'api', 'disk at 91%')]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cwlogs._shipping.encode import encode, render
from cwlogs._shipping.formatter import JsonFormatter, record_to_event
from cwlogs._shipping.limits import sanitize_stream_name
from cwlogs.context import current
from cwlogs.filterpattern import compile_pattern
from cwlogs.handler import is_internal_logger, make_redactor
from cwlogs.query import LogEvent
from cwlogs.redaction import Redactor
from cwlogs.timeparse import TimeLike, to_epoch_ms


class MemoryLogStream:
    """An in-memory log stream: what a handler would have sent, ready to assert on.

    Thread-safe. ``subscribe`` callbacks run on the thread that put the event, after it
    is stored, so they see the event in :meth:`all`.

    >>> mem = MemoryLogStream()
    >>> _ = mem.put('{"level": "error", "message": "boom"}')
    >>> [e.level for e in mem.filter('{ $.level = "error" }')]
    ['error']
    """

    def __init__(self, group: str = "memory", stream: str = "memory") -> None:
        self.group = group
        self.stream = stream
        self._events: list[LogEvent] = []
        self._subscribers: list[Callable[[LogEvent], None]] = []
        self._lock = threading.Lock()

    def put(
        self,
        event: LogEvent | str | Mapping[str, Any],
        timestamp: TimeLike | None = None,
    ) -> LogEvent:
        """Store an event: a :class:`LogEvent`, a message, or a dict (encoded as JSON)."""
        if isinstance(event, LogEvent):
            stored = event
        else:
            message = event if isinstance(event, str) else encode(dict(event)).decode()
            ts = to_epoch_ms(timestamp if timestamp is not None else "now")
            stored = LogEvent.from_message(message, ts, self.group, self.stream)
        with self._lock:
            self._events.append(stored)
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(stored)
        return stored

    def all(self) -> list[LogEvent]:
        """Every stored event, in the order they were put."""
        with self._lock:
            return list(self._events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def __iter__(self) -> Iterator[LogEvent]:
        return iter(self.all())

    def messages(self) -> list[str]:
        """The human message of each event: the JSON ``message`` field, else the raw text."""
        out = []
        for event in self.all():
            inner = event.get("message")
            out.append(inner if isinstance(inner, str) else event.message)
        return out

    def filter(
        self,
        pattern: str | None = None,
        *,
        level: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        **fields: Any,
    ) -> list[LogEvent]:
        """Events matching a CloudWatch filter ``pattern``, a ``level`` and JSON field values.

        >>> mem = MemoryLogStream()
        >>> _ = mem.put({"level": "info", "tenant_id": "acme"})
        >>> len(mem.filter(tenant_id="acme")), len(mem.filter("ERROR"))
        (1, 0)
        """
        matcher = compile_pattern(pattern) if pattern else None
        start_ms = to_epoch_ms(start) if start is not None else None
        end_ms = to_epoch_ms(end) if end is not None else None
        wanted_level = level.lower() if level else None
        out = []
        for event in self.all():
            if matcher is not None and not matcher.matches(event.message):
                continue
            if wanted_level is not None and event.level != wanted_level:
                continue
            if start_ms is not None and event.timestamp_ms < start_ms:
                continue
            if end_ms is not None and event.timestamp_ms > end_ms:
                continue
            if any(event.get(key) != value for key, value in fields.items()):
                continue
            out.append(event)
        return out

    def subscribe(self, callback: Callable[[LogEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every event put from now on; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def clear(self) -> None:
        """Forget every stored event (subscribers stay)."""
        with self._lock:
            self._events.clear()

    def handler(
        self,
        *,
        level: int | str = logging.NOTSET,
        service: str | None = None,
        environment: str | None = None,
        static_fields: Mapping[str, Any] | None = None,
        redact: bool | Redactor = True,
        formatter: logging.Formatter | None = None,
    ) -> logging.Handler:
        """A ``logging.Handler`` that stores what ``CloudWatchHandler`` would send, synchronously.

        Same JSON schema, same static fields, same context ids, same redaction default.
        """
        return _MemoryHandler(
            self,
            level=level,
            service=service,
            environment=environment,
            static_fields=static_fields,
            redact=redact,
            formatter=formatter,
        )


class _MemoryHandler(logging.Handler):
    def __init__(
        self,
        memory: MemoryLogStream,
        *,
        level: int | str,
        service: str | None,
        environment: str | None,
        static_fields: Mapping[str, Any] | None,
        redact: bool | Redactor,
        formatter: logging.Formatter | None,
    ) -> None:
        super().__init__(level)
        self.memory = memory
        # The fields exactly as the JSON formatter merges them.
        merged = JsonFormatter(static_fields, service=service, environment=environment)
        self.static_fields = merged.static_fields
        self.redactor: Redactor | None = make_redactor(redact)
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if is_internal_logger(record.name):
                return
            fmt = self.formatter
            ts = int(record.created * 1000)
            static = self.static_fields
            if isinstance(fmt, JsonFormatter):
                static = {**static, **fmt.static_fields}
            ev = record_to_event(record, fmt, current())
            message = render(ev, static, self.redactor)[0].decode()
            stream = sanitize_stream_name(self.memory.stream)
            self.memory.put(LogEvent.from_message(message, ts, self.memory.group, stream))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


@contextmanager
def capture(
    logger: logging.Logger | str | None = None, **handler_options: Any
) -> Iterator[MemoryLogStream]:
    """Attach a :class:`MemoryLogStream` handler to ``logger`` (default: root) for a block.

    As a pytest fixture::

        @pytest.fixture
        def cloudwatch_logs():
            with cwlogs.testing.capture() as stream:
                yield stream

    >>> with capture("demo.capture") as logs:
    ...     logging.getLogger("demo.capture").error("boom")
    >>> logs.messages()
    ['boom']
    """
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    memory = MemoryLogStream()
    handler = memory.handler(**handler_options)
    # Capturing at DEBUG must not need the caller to reconfigure levels.
    previous = target.level
    if target.getEffectiveLevel() > handler.level > logging.NOTSET:
        target.setLevel(handler.level)
    target.addHandler(handler)
    try:
        yield memory
    finally:
        target.removeHandler(handler)
        target.setLevel(previous)
