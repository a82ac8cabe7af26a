"""An in-memory exporter: the delivery engine without a network.

Public as :class:`cwlogs.testing.MemoryExporter`. It encodes events exactly as the real
exporter does (same JSON, same redaction) and keeps what it is sent, and it can fail on
command: an outage, a hang, a refusal. Tests of the engine (overflow, backpressure,
flush and close deadlines, accounting) drive a real ``Batcher``
with it and assert what a user would see, without moto or threads of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cwlogs._shipping.encode import render, render_item
from cwlogs._shipping.event import Event, Item, Prepared, event_from_prepared
from cwlogs._shipping.limits import EVENT_OVERHEAD
from cwlogs._shipping.protocol import ExportResult
from cwlogs._shipping.snapshot import ITEM_DATA


class MemoryExporter:
    """Keeps every batch it is sent; ``down()``, ``hold()`` and ``refuse`` simulate faults.

    >>> from cwlogs._shipping.event import prepared_item
    >>> exporter = MemoryExporter()
    >>> ev = Event(0.0, 20, "INFO", "app", "hi", None, None)
    >>> data, stream, truncated = exporter.prepare(ev)
    >>> exporter.export(stream, [prepared_item(ev, data, stream)], deadline=float("inf")).sent
    1
    >>> exporter.messages()
    ['hi']
    """

    def __init__(
        self,
        *,
        static_fields: Mapping[str, Any] | None = None,
        redactor: Any = None,
        retry_after: float = 0.05,
        stream: str = "memory",
        delay: float = 0.0,
    ) -> None:
        self.static_fields = dict(static_fields or {})
        self.redactor = redactor
        self.retry_after = retry_after
        self.stream = stream
        #: Seconds each export takes: a slow but healthy endpoint.
        self.delay = delay
        #: Delivered events, per stream, in the order they were accepted (as Events whose
        #: ``message`` and fields are read back from what was encoded).
        self.streams: dict[str, list[Event]] = {}
        #: One entry per export call: (stream, number of events, outcome).
        self.calls: list[tuple[str, int, str]] = []
        #: Refuse events for which this returns a reason (a deterministic rejection).
        self.refuse: Callable[[Event], str | None] | None = None
        self._lock = threading.Lock()
        self._down = False
        self._ready_at = 0.0
        self._held = threading.Event()
        self._held.set()
        #: Set while an export is blocked in :meth:`hold` (tests wait on it).
        self.holding = threading.Event()
        #: Set once an export has kept events back during an outage.
        self.failed = threading.Event()

    # -------------------------------------------------------------- faults
    @contextmanager
    def down(self) -> Iterator[None]:
        """An outage: every export keeps its events back to retry later."""
        self._down = True
        try:
            yield
        finally:
            self._down = False
            self._ready_at = 0.0

    def set_down(self, down: bool) -> None:
        """Start or end an outage (see :meth:`down`)."""
        self._down = down
        if not down:
            self._ready_at = 0.0

    def hold(self) -> None:
        """Make the next exports hang, like a socket that never answers, until :meth:`release`."""
        self._held.clear()

    def release(self) -> None:
        """End :meth:`hold`: the hanging exports return and deliver."""
        self._held.set()

    # -------------------------------------------------------------- Exporter
    def prepare(self, item: Item) -> tuple[bytes, str, bool]:
        if type(item) is tuple:
            data, truncated = render_item(item, self.static_fields, self.redactor)
            return data, self.stream, truncated
        event: Event = item  # type: ignore[assignment]
        data, truncated = render(event, self.static_fields, self.redactor)
        return data, event.stream or self.stream, truncated

    def export(self, stream: str, events: list[Prepared], deadline: float) -> ExportResult:
        result = ExportResult()
        if not self._held.is_set():
            self.holding.set()
            self._held.wait(60.0)  # a real hang ignores our deadline too
            self.holding.clear()
        if self.delay:
            time.sleep(self.delay)
        if self._down:
            self._ready_at = time.monotonic() + self.retry_after
            result.retry = list(events)
            with self._lock:
                self.calls.append((stream, len(events), "down"))
            self.failed.set()
            return result
        accepted: list[Event] = []
        nbytes = 0
        for item in events:
            ev = event_from_prepared(item)
            reason = self.refuse(ev) if self.refuse is not None else None
            if reason is None:
                accepted.append(ev)
                nbytes += len(item[ITEM_DATA]) + EVENT_OVERHEAD
            else:
                result.rejected.setdefault(reason, []).append(item)
        with self._lock:
            self.streams.setdefault(stream, []).extend(accepted)
            self.calls.append((stream, len(events), "ok"))
        result.sent = len(accepted)
        result.bytes_sent = nbytes
        result.calls = 1
        return result

    def ready_at(self) -> float:
        return self._ready_at

    def state(self) -> dict[str, Any]:
        return {"breaker": {"state": "open" if self._down else "closed"}}

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()

    # -------------------------------------------------------------- reading back
    def messages(self, stream: str | None = None) -> list[str]:
        """The ``message`` of every delivered event (of one stream, or all), in order."""
        with self._lock:
            events = (
                list(self.streams.get(stream, []))
                if stream is not None
                else [e for evs in self.streams.values() for e in evs]
            )
        return [e.message for e in events]  # read back from the JSON once encoded
