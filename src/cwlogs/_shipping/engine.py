"""The delivery engine: a bounded buffer, one daemon worker, backpressure, progress deadlines.

It knows nothing about boto3: the worker hands batches to an :class:`Exporter`, which
says what was sent, what must wait and what was refused. Caller threads only append
(under a private lock, never ``handler.lock``) and wake the worker at a threshold.

How the queue is laid out: callers append to a *tail* list; once the tail holds about
one request's worth (by count, or by the size guessed on the caller's thread), it is
closed into a *segment*. The worker takes a whole segment (or the tail, when a flush or
the flush interval makes it due) with one swap under the lock, and builds, encodes and
sends it outside the lock. So callers never wait behind per-event work.

The promise kept here: every record put is delivered, or counted in ``dropped`` /
``rejected`` with a reason and handed to ``on_drop``. Each state change below keeps
``emitted == sent + dropped + rejected + queue_depth`` (``queue_depth`` includes the
batch in flight).

>>> from cwlogs.testing import MemoryExporter
>>> b = Batcher(MemoryExporter())
>>> b.put(Event(0.0, 20, "INFO", "app", "hello", None, None))
True
>>> b.flush(timeout=5)
True
>>> b.stats()["sent"]
1
>>> b.close()
True
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from _thread import get_ident
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final, Protocol

from cwlogs.diagnostics import warn_rate_limited
from cwlogs.formatting import (
    FIELD_COST,
    FIELD_EST,
    FIELD_LEVELNO,
    ITEM_COST,
    ITEM_DATA,
    ITEM_EST,
    ITEM_LEVELNO,
    ITEM_SEQ,
    ITEM_STREAM,
    ITEM_TS,
    Event,
    event_from_item,
    event_from_prepared,
    is_prepared,
    prepared_item,
)
from cwlogs.limits import (
    EVENT_OVERHEAD,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    check_timestamp,
    plan_batch,
)

__all__ = ["Batcher", "ExportResult", "Exporter"]

_INF: Final = float("inf")
#: Total time flush()/close() may take while batches are still being accepted.
DEFAULT_SHUTDOWN_CAP: Final = 60.0
#: Queue items are Events or the flat tuples of ``snapshot_fields`` with a seq in front.
Item = Event | tuple[Any, ...]
#: An encoded item: ``(seq, cost, ts, levelno, est, data, stream, logger)``
#: (see ``formatting.PREPARED_LEN``); what exporters send, keep back and refuse.
Prepared = tuple[Any, ...]


@dataclass
class ExportResult:
    """What happened to one batch handed to an exporter."""

    sent: int = 0
    bytes_sent: int = 0
    calls: int = 0
    retried: int = 0
    #: Events to keep and try again later (outage, throttling, breaker open).
    retry: list[Prepared] = field(default_factory=list)
    #: Events the service refused, by reason ("too_old", "invalid", ...); counted and reported.
    rejected: dict[str, list[Prepared]] = field(default_factory=dict)


class Exporter(Protocol):
    """Turns events into service calls. Called from the worker thread only."""

    def prepare(self, item: Item) -> tuple[bytes, str, bool]:
        """Encode one queued record (a snapshot tuple or an :class:`Event`):
        ``(data, stream, truncated)``."""
        ...

    def export(self, stream: str, events: list[Prepared], deadline: float) -> ExportResult:
        """Send ``events`` (encoded items of one stream, chronological, within limits)
        before ``deadline``; their timestamp is ``e[ITEM_TS]``, their bytes ``e[ITEM_DATA]``."""
        ...

    def ready_at(self) -> float:
        """``time.monotonic()`` before which no export should be tried (breaker, back-off)."""
        ...

    def state(self) -> dict[str, Any]:
        """Extra fields for ``stats()`` (breaker state, last error)."""
        ...

    def reset_after_fork(self) -> None:
        """Forget connections and clients inherited from the parent process."""
        ...


DropCallback = Callable[[list[Event], str], None]

_live: weakref.WeakSet[Batcher] = weakref.WeakSet()
#: Threads running a cwlogs ``on_drop`` callback right now: what they log is never
#: queued (a callback that logs a warning would otherwise feed drops back to itself).
_CALLBACK_THREADS: set[int] = set()
_monotonic = time.monotonic


class Batcher:
    """Bounded buffer + one worker thread delivering through an :class:`Exporter`.

    Overflow: with ``backpressure`` (the default) a full queue makes the logging call
    wait for room, at most ``block_timeout``, while the exporter is accepting batches;
    while it is failing (breaker open, outage, a send hanging longer than
    ``block_timeout``), nothing waits and ``overflow`` decides what is dropped
    (``drop_oldest``, ``drop_newest``), counted as ``queue_full``. ``overflow="block"``
    waits up to ``block_timeout`` even during an outage.
    """

    def __init__(
        self,
        exporter: Exporter,
        *,
        max_queue_bytes: int = 10 * 1024 * 1024,
        overflow: str = "drop_oldest",
        backpressure: bool = True,
        block_timeout: float = 2.0,
        protect_level: int | None = None,
        flush_interval: float = 5.0,
        max_batch_events: int = MAX_BATCH_EVENTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        shutdown_timeout: float = 5.0,
        shutdown_cap: float = DEFAULT_SHUTDOWN_CAP,
        retention_days: int | None = None,
        on_drop: DropCallback | None = None,
        name: str = "cwlogs",
    ) -> None:
        self._exporter = exporter
        self._max_queue_bytes = max_queue_bytes
        self._overflow = overflow
        self._backpressure = backpressure
        self._block_timeout = block_timeout
        self._protect_level = protect_level if protect_level is not None else 1 << 30
        self._flush_interval_ms = int(flush_interval * 1000)
        self._max_batch_events = max_batch_events
        self._max_batch_bytes = max_batch_bytes
        self.shutdown_timeout = shutdown_timeout
        self.shutdown_cap = max(shutdown_cap, shutdown_timeout)
        self._retention_days = retention_days
        self._on_drop = on_drop
        self._name = name
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        """Everything a forked child must get fresh."""
        # Reentrant: a signal handler that logs may interrupt this thread between taking
        # the lock and marking itself the owner (see _owner); it then simply goes first.
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)  # the worker waits here
        self._done = threading.Condition(self._lock)  # flush(), close(), blocked callers
        # The thread inside the lock: a signal handler or a finaliser that logs on that
        # thread cannot take the lock again, so it appends to ``_side`` (atomic) instead.
        self._owner: int | None = None
        self._side: deque[Item] = deque()
        self._segments: deque[list[Item]] = deque()
        self._segment_ests: deque[int] = deque()  # each segment's guessed encoded size
        self._tail: list[Item] = []
        self._tail_est = 0
        # Encoded size / Event.est, as last measured: est is a rough guess made on the
        # caller's thread, so segments are cut at the guess that fills one request.
        self._segment_est = self._max_batch_bytes
        self._queued_bytes = 0
        self._queued_events = 0  # waiting + in flight
        self._taken: list[Item] | None = None  # taken by the worker, not yet in _inflight
        self._inflight: list[Item] = []
        self._inflight_min_seq: int | None = None
        self._send_started: float | None = None
        self._seq = 0
        self._flush_upto = 0
        self._closing = False
        self._closed = False
        self._close_cap = _INF
        self._worker_done = False
        self._thread: threading.Thread | None = None
        self._worker_ident: int | None = None
        self._pid = os.getpid()
        self._emitted = 0
        self._last_progress = time.monotonic()
        self._failing = False  # the last export kept events back (outage, throttling)
        self._stalled = False  # a caller waited block_timeout without progress
        self._strikes: set[int] = set()  # seqs of events in a batch that hit a worker bug
        self._counters: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        # In-flight events already counted as dropped (evicted, or given up on at close):
        # seq -> reason, so a late success can be uncounted.
        # seq -> (reason, already handed to on_drop)
        self._written_off: dict[int, tuple[str, bool]] = {}
        self._pending_drops: deque[tuple[list[Item], str]] = deque()
        self._reporter: threading.Thread | None = None
        self._report_wake = threading.Event()
        self._report_busy = False
        self._report_idle = threading.Condition()  # close() waits here for the hand-over
        self._tail_started = 0.0  # monotonic time the tail got its first item

    # ------------------------------------------------------------------ caller side
    def put(self, ev: Event) -> bool:
        """Queue ``ev``; False if it was dropped (and counted)."""
        return self._put(ev, ev.cost, ev.est, ev.levelno, None)

    def put_fields(self, fields: tuple[Any, ...]) -> bool:
        """:meth:`put` for :func:`~cwlogs.formatting.snapshot_fields`: every log call's path.

        The common case (room in the queue, an application thread) is written out inline:
        this runs once per log call, on the application's thread.
        """
        if self._thread is None:
            self._start()
        me = get_ident()
        cost = fields[FIELD_COST]
        if me != self._worker_ident and me not in _CALLBACK_THREADS:
            with self._lock:
                if (
                    me != self._owner
                    and not self._closed
                    and self._queued_bytes + cost <= self._max_queue_bytes
                ):
                    self._owner = me
                    self._emitted += 1
                    self._seq = seq = self._seq + 1
                    tail = self._tail
                    tail.append((seq, *fields))
                    self._queued_bytes += cost
                    self._queued_events += 1
                    self._tail_est = est = self._tail_est + fields[FIELD_EST]
                    if len(tail) >= self._max_batch_events or est >= self._segment_est:
                        self._segments.append(tail)
                        self._segment_ests.append(est)
                        self._tail = []
                        self._tail_est = 0
                        self._work.notify()  # a full batch: send now
                    elif len(tail) == 1:
                        self._tail_started = _monotonic()
                        if not self._segments:
                            self._work.notify()  # the first event starts the flush timer
                    self._owner = None
                    return True
        return self._put(
            None, cost, fields[FIELD_EST], fields[FIELD_LEVELNO], fields
        )

    def _put(
        self,
        ev: Event | None,
        cost: int,
        est: int,
        levelno: int,
        fields: tuple[Any, ...] | None,
    ) -> bool:
        if self._thread is None:
            self._start()
        me = threading.get_ident()
        if me == self._worker_ident or me in _CALLBACK_THREADS:
            # Logged from inside delivery (a callback, a library hook): shipping it
            # could loop. Not the application's record: counted apart, not queued.
            with self._lock:
                self._counters["own_thread"] += 1
            return False
        if cost > self._max_queue_bytes:
            # Bigger than the whole bound: shrunk on its own, never at the queue's expense.
            return self._put_oversized(ev if ev is not None else event_from_item((0, *fields)))  # type: ignore[misc]
        with self._lock:
            if me == self._owner:
                # Re-entered on a thread in the middle of a put (a signal handler, a
                # finaliser): that put's state is half-changed, so this record goes to
                # ``_side`` for the worker to queue, and never waits.
                self._side.append(ev if ev is not None else (0, *fields))  # type: ignore[misc]
                return True
            self._owner = me
            try:
                self._emitted += 1
                if not self._closed and self._queued_bytes + cost <= self._max_queue_bytes:
                    if ev is None:
                        self._append((self._next_seq(), *fields), cost, est)  # type: ignore[misc]
                    else:
                        ev.seq = self._next_seq()
                        self._append(ev, cost, est)
                    return True
                if ev is None:
                    ev = event_from_item((0, *fields))  # type: ignore[misc]
                dropped, reason = self._no_room(ev, cost, levelno)
            finally:
                self._owner = None
        if dropped:  # reported outside the lock
            self._report_drop(dropped, reason)
        return ev.seq > 0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _append(self, item: Item, cost: int, est: int) -> None:
        """Queue one item (under the lock); cut a segment at one request's worth."""
        tail = self._tail
        tail.append(item)
        self._queued_bytes += cost
        self._queued_events += 1
        self._tail_est += est
        if len(tail) >= self._max_batch_events or self._tail_est >= self._segment_est:
            self._segments.append(tail)
            self._segment_ests.append(self._tail_est)
            self._tail = []
            self._tail_est = 0
            self._work.notify()  # a full batch: send now
        elif len(tail) == 1:
            self._tail_started = _monotonic()
            if not self._segments:
                self._work.notify()  # the first event starts the flush timer

    def _put_oversized(self, ev: Event) -> bool:
        """A record that alone costs more than ``max_queue_bytes``: queue a shrunk copy."""
        small = shrink_event(ev, self._max_queue_bytes // 4)
        if small is None or small.cost > self._max_queue_bytes:
            with self._lock:
                self._emitted += 1
                self._dropped["too_large"] += 1
            self._report_drop([ev], "too_large")
            return False
        with self._lock:
            self._counters["truncated"] += 1
        return self.put(small)

    def _healthy(self, now: float) -> bool:
        """Is the exporter accepting batches? (under the lock) Only then may callers wait."""
        if self._stalled or self._failing or self._ready_at() > now:
            return False
        started = self._send_started
        return started is None or now - started < self._block_timeout

    def _ready_at(self) -> float:
        """The exporter's ``ready_at``; an exporter that fails to answer is not ready."""
        try:
            return float(self._exporter.ready_at())
        except Exception:
            return _monotonic() + 1.0

    def _no_room(self, ev: Event, cost: int, levelno: int) -> tuple[list[Item], str]:
        """No room for ``ev`` (under the lock): wait, or apply the overflow policy.

        Returns what was dropped and why; ``ev.seq`` > 0 when ``ev`` was queued.
        """
        if self._closed:
            self._dropped["closed"] += 1
            ev.seq = -1
            return [ev], "closed"
        now = time.monotonic()
        if self._overflow == "block" or (self._backpressure and self._healthy(now)):
            self._counters["blocked"] += 1
            deadline = now + self._block_timeout
            progress = self._last_progress
            while self._queued_bytes + cost > self._max_queue_bytes and not self._closed:
                remaining = deadline - now
                if remaining <= 0 or (self._overflow != "block" and not self._healthy(now)):
                    break
                self._work.notify()
                self._owner = None
                self._done.wait(remaining)
                self._owner = threading.get_ident()
                now = time.monotonic()
            if self._closed:  # closed while this call waited: nothing will send it
                self._dropped["closed"] += 1
                ev.seq = -1
                return [ev], "closed"
            if self._queued_bytes + cost <= self._max_queue_bytes:
                ev.seq = self._next_seq()
                self._append(ev, cost, ev.est)
                return [], ""
            if self._last_progress == progress:
                # Waited a whole block_timeout for nothing: the endpoint is not keeping
                # up, so later callers drop at once until the worker delivers again.
                self._stalled = True
            if self._overflow == "block":
                self._dropped["block_timeout"] += 1
                ev.seq = -1
                return [ev], "block_timeout"
        protected = levelno >= self._protect_level
        if self._overflow == "drop_newest" and not protected:
            self._dropped["queue_full"] += 1
            ev.seq = -1
            return [ev], "queue_full"
        evicted = self._evict(cost, protected)
        if self._queued_bytes + cost > self._max_queue_bytes:
            ev.seq = -1  # only protected events (or nothing evictable) remain
            evicted.append(ev)
        else:
            ev.seq = self._next_seq()
            self._append(ev, cost, ev.est)
        self._dropped["queue_full"] += len(evicted)
        self._done.notify_all()
        return evicted, "queue_full"

    def _evict(self, cost: int, protected: bool) -> list[Item]:
        """Drop the oldest waiting items until ``cost`` fits (under the lock; rare path).

        Protected items go only to make room for a protected newcomer. The batch in
        flight is evictable too, or an endpoint that hangs would turn drop_oldest into
        drop_newest: those are written off and uncounted if they get through after all.
        """
        limit = self._max_queue_bytes - cost
        out: list[Item] = []
        evictable = sum(
            _cost(item)
            for item in chain(chain.from_iterable(self._segments), self._tail)
            if protected or _levelno(item) < self._protect_level
        ) + sum(
            _cost(e)
            for e in self._inflight or self._taken or ()
            if _seq(e) not in self._written_off
            and (protected or _levelno(e) < self._protect_level)
        )
        if self._queued_bytes - evictable > limit:
            return out  # evicting everything allowed would still not make room
        for seg in chain(list(self._segments), [self._tail]):
            if self._queued_bytes <= limit:
                break
            keep: list[Item] = []
            for i, item in enumerate(seg):
                if self._queued_bytes <= limit:
                    keep.extend(seg[i:])
                    break
                if not protected and _levelno(item) >= self._protect_level:
                    keep.append(item)
                    continue
                self._queued_bytes -= _cost(item)
                self._queued_events -= 1
                out.append(item)
            seg[:] = keep
        if any(not seg for seg in self._segments):
            pairs = [(s, e) for s, e in zip(self._segments, self._segment_ests, strict=True) if s]
            self._segments = deque(s for s, _ in pairs)
            self._segment_ests = deque(e for _, e in pairs)
        for old in self._inflight or self._taken or ():
            if self._queued_bytes <= limit:
                break
            seq = _seq(old)
            if seq in self._written_off or (_levelno(old) >= self._protect_level and not protected):
                continue
            self._written_off[seq] = ("queue_full", False)
            self._queued_bytes -= _cost(old)
            self._queued_events -= 1
            self._dropped["queue_full"] += 1  # handed to on_drop once known undelivered
        return out

    # ------------------------------------------------------------------ drops
    def count_drop(self, reason: str, events: Sequence[Event] = ()) -> None:
        """Count a record lost before it could be queued (and hand over what is left of it)."""
        with self._lock:
            self._emitted += 1
            self._dropped[reason] += 1
        self._report_drop(list(events), reason)

    def _report_drop(self, events: Sequence[Item], reason: str) -> None:
        """Warn (rate-limited) and hand the events to ``on_drop`` on the reporter thread."""
        warn_rate_limited(f"drop:{reason}", lambda: self._drop_message(len(events), reason))
        if self._on_drop is None or not events:
            return
        # Never run a user's callback on the application's thread, nor on the worker
        # (a slow callback must not slow delivery). Nothing is capped: every drop is
        # handed over, in order.
        self._pending_drops.append((list(events), reason))
        if self._reporter is None:
            self._start_reporter()
        self._report_wake.set()

    def _drop_message(self, count: int, reason: str) -> str:
        with self._lock:  # the counters change under the lock; copying them needs it too
            dropped, rejected = dict(self._dropped), dict(self._rejected)
        return (
            f"{self._name}: dropped {count} event(s): {reason}; "
            f"dropped so far: {dropped}, rejected: {rejected}"
        )

    def _start_reporter(self) -> None:
        with self._lock:
            if self._reporter is not None:
                return
            self._reporter = threading.Thread(
                target=self._report_loop, name=f"{self._name}-on-drop", daemon=True
            )
        self._reporter.start()

    def _report_loop(self) -> None:
        """Hand drops to ``on_drop`` in order; ends once the batcher is closed and idle."""
        me = threading.get_ident()
        pending = self._pending_drops
        while True:
            self._report_wake.wait(1.0)
            self._report_wake.clear()
            with self._report_idle:
                self._report_busy = True
            _CALLBACK_THREADS.add(me)
            try:
                while pending:
                    events, reason = pending.popleft()
                    self._call_on_drop(events, reason)
            finally:
                _CALLBACK_THREADS.discard(me)
                with self._report_idle:
                    self._report_busy = False
                    self._report_idle.notify_all()
            if self._closed and not pending:
                with self._lock:
                    if not pending:  # a drop reported after this starts a new reporter
                        self._reporter = None
                        return

    def _wait_for_hand_over(self, timeout: float) -> None:
        """Let the reporter hand over what is pending (close: the process may exit next)."""
        if self._on_drop is None:
            return
        if self._pending_drops and self._reporter is None:
            self._start_reporter()
        self._report_wake.set()
        with self._report_idle:
            self._report_idle.wait_for(
                lambda: not self._pending_drops and not self._report_busy, timeout
            )

    def _call_on_drop(self, events: Sequence[Item], reason: str) -> None:
        if self._on_drop is None:
            return
        try:
            self._on_drop([_event(e) for e in events], reason)
        except Exception as exc:  # a user's callback must not break delivery
            warn_rate_limited("on_drop", f"{self._name}: on_drop callback failed: {exc!r}")

    # ------------------------------------------------------------------ worker side
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name=f"{self._name}-worker", daemon=True)
            self._thread = thread
        thread.start()
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.parent_process() is not None:
            # A multiprocessing child (fork, spawn, forkserver, a pool) leaves through
            # os._exit: atexit never runs, but multiprocessing's own finalizers do.
            from multiprocessing import util

            util.Finalize(self, self.close, exitpriority=100)

    def _run(self) -> None:
        self._worker_ident = threading.get_ident()
        try:
            while True:
                try:
                    taken = self._next_batch()
                except Exception as exc:  # a bug while waiting must not end delivery
                    warn_rate_limited("worker", f"{self._name}: worker error: {exc!r}")
                    time.sleep(0.05)
                    continue
                if taken is None:
                    break
                try:
                    self._process(taken)
                except Exception as exc:  # a bug: isolate it, never loop on one batch
                    try:
                        self._worker_error(exc)
                    except Exception:
                        time.sleep(0.05)
        finally:
            self._worker_exit()

    def _drain_side(self) -> None:
        """Queue what re-entrant calls left in ``_side`` (under the lock)."""
        side = self._side
        while side:
            item = side.popleft()
            self._emitted += 1
            if isinstance(item, tuple):
                item = (self._next_seq(), *item[1:])
            else:
                item.seq = self._next_seq()
            self._append(item, _cost(item), _est(item))

    def _next_batch(self) -> list[Item] | None:
        """Wait until a batch is due and take it with one swap; None tells the worker to stop."""
        with self._lock:
            while True:
                if self._side:
                    self._drain_side()
                if self._closed:
                    return None
                if not self._segments and not self._tail:
                    if self._closing:
                        return None
                    self._work.wait()
                    continue
                now = time.monotonic()
                ready_at = self._ready_at()
                if ready_at > now:
                    if self._closing and ready_at >= self._drain_deadline():
                        return None  # cannot send in time: close counts the rest
                    self._work.wait(min(ready_at, self._drain_deadline()) - now)
                    continue
                if self._closing and now >= self._drain_deadline():
                    return None
                due = self._closing or bool(self._segments) or self._head_seq() <= self._flush_upto
                if not due:
                    # Measured on the monotonic clock from when the tail started, not from
                    # the records' own timestamps (a wrong clock or a timestamp in ms).
                    age_wait = self._tail_started + self._flush_interval_ms / 1000 - now
                    if age_wait > 0:
                        self._work.wait(age_wait)
                        continue
                taken = self._take()
                self._taken = taken
                self._inflight_min_seq = _seq(taken[0])
                self._send_started = now
                return taken

    def _take(self) -> list[Item]:
        """The oldest segment, joined with the next ones while they fit one request
        (by the size guess the worker last calibrated): O(segments), not O(events)."""
        segments, ests = self._segments, self._segment_ests
        if segments:
            taken, est = segments.popleft(), ests.popleft()
        else:
            taken, est, self._tail, self._tail_est = self._tail, self._tail_est, [], 0
            return taken
        limit_events, limit_est = self._max_batch_events, self._segment_est
        while True:
            if segments:
                nxt, nxt_est = segments[0], ests[0]
            elif self._tail:
                nxt, nxt_est = self._tail, self._tail_est
            else:
                break
            if len(taken) + len(nxt) > limit_events or est + nxt_est > limit_est:
                break
            taken = taken + nxt
            est += nxt_est
            if segments:
                segments.popleft()
                ests.popleft()
            else:
                self._tail, self._tail_est = [], 0
        return taken

    def _push_front(self, items: list[Item], est: int) -> None:
        """Requeue items ahead of everything waiting, in sequence order (under the lock).

        A few left over by a full request join the oldest segment, so they go out with
        the next request rather than alone; a whole batch kept back stays one segment.
        """
        if len(items) > self._max_batch_events // 4 or est > self._segment_est // 4:
            self._segments.appendleft(items)
            self._segment_ests.appendleft(est)
        elif self._segments:
            self._segments[0] = items + self._segments[0]
            self._segment_ests[0] += est
        else:
            self._tail = items + self._tail
            self._tail_est += est
            self._tail_started = 0.0  # kept back once already: due as soon as sendable

    def _head_seq(self) -> int:
        if self._segments:
            return _seq(self._segments[0][0])
        return _seq(self._tail[0]) if self._tail else 1 << 62

    def _drain_deadline(self) -> float:
        """While closing: no progress for ``shutdown_timeout`` (or the total cap) ends it."""
        if not self._closing:
            return _INF
        return min(self._last_progress + self.shutdown_timeout, self._close_cap)

    def _process(self, taken: list[Item]) -> None:
        # Encoded outside the lock, straight from the queued tuples into their final bytes.
        prepare = self._exporter.prepare
        truncated = 0
        guessed = encoded = 0
        unencodable: list[Item] = []  # handed to on_drop as they were queued
        ready: list[Prepared] = []
        batch_cost = 0
        for item in taken:
            if is_prepared(item):  # kept back earlier: encoded already
                ready.append(item)  # type: ignore[arg-type]
                batch_cost += item[ITEM_COST]  # type: ignore[index]
                continue
            try:
                data, stream, cut = prepare(item)
            except Exception as exc:  # one bad record never holds back the rest
                warn_rate_limited(
                    "unencodable", f"{self._name}: an event could not be encoded: {exc!r}"
                )
                unencodable.append(item)
                batch_cost += _cost(item)
                continue
            if cut:
                truncated += 1
            prepared = prepared_item(item, data, stream)
            ready.append(prepared)
            batch_cost += prepared[ITEM_COST]
            guessed += prepared[ITEM_EST]
            encoded += len(data)
        encoded += EVENT_OVERHEAD * len(ready)
        batch: list[Item] = [*ready, *unencodable]
        with self._lock:
            self._inflight = batch
            self._taken = None
        if self._closing and guessed:
            # Encoding a batch is progress too: a drain that is encoding 10,000 events
            # is not a stalled one.
            self._last_progress = time.monotonic()
        if guessed:
            # Cut the next segments at the guess that fills one request.
            scale = min(max(encoded / guessed, 0.1), 10.0)
            self._segment_est = int(self._max_batch_bytes / scale)
        now_ms = int(time.time() * 1000)
        rejected: dict[str, list[Item]] = {}
        if unencodable:
            rejected["unencodable"] = unencodable
        keep: list[Prepared] = []
        by_stream: dict[str, list[Prepared]] = {}
        retention = self._retention_days
        for ev in ready:
            reason = check_timestamp(ev[ITEM_TS], now_ms, retention)
            if reason is not None:
                rejected.setdefault(reason, []).append(ev)
            else:
                by_stream.setdefault(ev[ITEM_STREAM], []).append(ev)
        result = ExportResult()
        held_back = 0
        errored: list[Prepared] = []
        lost_count = 0
        for stream, events in by_stream.items():
            events.sort(key=_ts)
            n = plan_batch(
                [(e[ITEM_TS], len(e[ITEM_DATA])) for e in events],
                max_events=self._max_batch_events,
                max_bytes=self._max_batch_bytes,
            )
            if n == 0:  # one event over every limit (cannot happen once truncated)
                rejected.setdefault("too_large", []).append(events[0])
                keep.extend(events[1:])
                continue
            keep.extend(events[n:])  # over the limits by the guess: next time, encoded
            part_events = events[:n]
            with self._lock:
                deadline = self._drain_deadline()
            try:
                part = self._exporter.export(stream, part_events, deadline)
                unaccounted = (
                    len(part_events)
                    - part.sent
                    - len(part.retry)
                    - sum(len(evs) for evs in part.rejected.values())
                )
            except Exception as exc:  # a bug in the exporter: this stream's events only
                warn_rate_limited("export", f"{self._name}: export failed: {exc!r}")
                for ev in part_events:
                    if ev[ITEM_SEQ] in self._strikes:
                        errored.append(ev)  # failed twice: never loop on it
                    else:
                        self._strikes.add(ev[ITEM_SEQ])
                        keep.append(ev)
                continue
            if unaccounted > 0:
                # The exporter said nothing about some events: assume nothing, count them.
                lost_count += unaccounted
            result.sent += part.sent
            result.bytes_sent += part.bytes_sent
            result.calls += part.calls
            result.retried += part.retried
            keep.extend(part.retry)
            held_back += len(part.retry)
            for reason, evs in part.rejected.items():
                rejected.setdefault(reason, []).extend(evs)
        self._resolve(
            batch, batch_cost, keep, rejected, result, truncated, held_back, errored, lost_count
        )

    def _resolve(
        self,
        batch: list[Item],
        batch_cost: int,
        keep: list[Prepared],
        rejected: dict[str, list[Item]],
        result: ExportResult,
        truncated: int,
        held_back: int,
        errored: list[Prepared] = (),  # type: ignore[assignment]
        lost_count: int = 0,
    ) -> None:
        """Account for a processed batch: count, requeue what waits, report what was lost."""
        late: list[Item] = []
        to_report: list[tuple[list[Item], str]] = []
        # The per-event sums are made before taking the lock: callers wait on it.
        keep.sort(key=_seq)
        keep_cost = sum(e[ITEM_COST] for e in keep)
        keep_est = sum(e[ITEM_EST] for e in keep)
        with self._lock:
            written_off = self._written_off
            resolved = batch
            if written_off:  # rare: evictions or a close reached into this batch
                resolved = [e for e in batch if _seq(e) not in written_off]
                kept_ids = {id(e) for e in keep}
                refused_ids = {id(e) for evs in rejected.values() for e in evs}
                refused_ids.update(id(e) for e in errored)
                for ev in batch:
                    off = written_off.pop(_seq(ev), None)
                    if off is None:
                        continue
                    reason, reported = off
                    if id(ev) in kept_ids or id(ev) in refused_ids:
                        late.append(ev)  # really lost, and counted already under reason
                        if not reported:
                            to_report.append(([ev], reason))
                    else:
                        # Got through after all: not a drop (if on_drop already has it,
                        # a dead-letter file holds a copy: at least once).
                        self._dropped[reason] -= 1  # got through after all: not a drop
                        if not self._dropped[reason]:
                            del self._dropped[reason]
                lost = {id(e) for e in late}
                keep = [e for e in keep if id(e) not in lost]
                rejected = {
                    r: [e for e in evs if id(e) not in lost] for r, evs in rejected.items()
                }
                rejected = {r: evs for r, evs in rejected.items() if evs}
                errored = [e for e in errored if id(e) not in lost]
                batch_cost = sum(_cost(e) for e in resolved)
                keep_cost = sum(e[ITEM_COST] for e in keep)
                keep_est = sum(e[ITEM_EST] for e in keep)
            freed_events = len(resolved) - len(keep)
            freed_bytes = batch_cost - keep_cost
            c = self._counters
            c["sent"] += result.sent
            c["bytes_sent"] += result.bytes_sent
            c["batches"] += result.calls
            c["retried"] += result.retried
            c["truncated"] += truncated
            for reason, evs in rejected.items():
                self._rejected[reason] += len(evs)
            if errored:
                self._dropped["internal_error"] += len(errored)
                to_report.append((list(errored), "internal_error"))
            if lost_count:
                self._dropped["internal_error"] += lost_count
            if self._strikes:  # only after a worker error: forget the resolved ones
                kept = {e[ITEM_SEQ] for e in keep}
                self._strikes.difference_update(_seq(e) for e in batch if _seq(e) not in kept)
            if keep:
                if self._closed:  # given up on while in flight: count them now
                    self._dropped["shutdown"] += len(keep)
                    freed_events += len(keep)
                    freed_bytes += keep_cost
                    to_report.append((list[Item](keep), "shutdown"))
                else:
                    self._push_front(list[Item](keep), keep_est)
            self._queued_events -= freed_events
            self._queued_bytes -= freed_bytes
            if result.sent or freed_events:
                self._last_progress = time.monotonic()
                self._stalled = False
            if held_back:
                self._failing = True  # an outage or throttling: callers must not wait
            elif result.calls:
                self._failing = False
            self._inflight = []
            self._inflight_min_seq = None
            self._send_started = None
            self._done.notify_all()
        for reason, evs in rejected.items():
            self._report_drop(evs, reason)
        for evs, reason in to_report:
            self._report_drop(evs, reason)

    def _worker_error(self, exc: Exception) -> None:
        """A bug escaped ``_process``: the batch is retried once, then dropped as internal_error."""
        warn_rate_limited("worker", f"{self._name}: worker error: {exc!r}")
        lost: list[tuple[Item, str]] = []
        with self._lock:
            items: list[Item] = list(self._inflight) or list(self._taken or [])
            self._taken = None
            retry: list[Item] = []
            for item in items:
                seq = _seq(item)
                written_off = self._written_off.pop(seq, None)
                if written_off is not None:  # already counted
                    if not written_off[1]:
                        lost.append((item, written_off[0]))
                elif seq in self._strikes or self._closed:
                    self._strikes.discard(seq)
                    self._queued_events -= 1
                    self._queued_bytes -= _cost(item)
                    self._dropped["internal_error"] += 1
                    lost.append((item, "internal_error"))
                else:
                    self._strikes.add(seq)
                    retry.append(item)
            if retry:
                retry.sort(key=_seq)
                self._push_front(retry, sum(_est(i) for i in retry))
            self._inflight = []
            self._inflight_min_seq = None
            self._send_started = None
            self._done.notify_all()
        for item, reason in lost:
            self._report_drop([item], reason)

    def _worker_exit(self) -> None:
        """The worker stops (closing): whatever is still queued is counted as ``shutdown``."""
        with self._lock:
            leftover = self._take_leftovers() if self._closing else []
            if leftover and self._on_drop is not None:
                # Queued for on_drop before close() can see the worker is done, so that
                # close() hands it over before it returns.
                self._pending_drops.append((leftover, "shutdown"))
            self._worker_done = True
            self._done.notify_all()
        if leftover:
            warn_rate_limited(
                "drop:shutdown", lambda: self._drop_message(len(leftover), "shutdown")
            )
            if self._on_drop is not None:
                if self._reporter is None:
                    self._start_reporter()
                self._report_wake.set()

    def _take_leftovers(self) -> list[Item]:
        """Empty the waiting queue into ``dropped["shutdown"]`` (under the lock)."""
        self._drain_side()
        leftover: list[Item] = [*chain.from_iterable(self._segments), *self._tail]
        self._segments.clear()
        self._segment_ests.clear()
        self._tail = []
        self._tail_est = 0
        if leftover:
            self._dropped["shutdown"] += len(leftover)
            self._queued_events -= len(leftover)
            self._queued_bytes -= sum(_cost(i) for i in leftover)
        self._closed = True
        return leftover

    # ------------------------------------------------------------------ flush / close
    def _unresolved_min(self) -> int | None:
        head = self._head_seq() if (self._segments or self._tail) else None
        inflight = self._inflight_min_seq
        if head is None:
            return inflight
        return head if inflight is None else min(head, inflight)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put before the call is delivered or accounted for.

        With ``timeout`` it waits at most that long. Without, it waits while batches are
        being delivered, and gives up after ``shutdown_timeout`` without progress or
        ``shutdown_cap`` in all (so ``logging.shutdown`` never hangs). True only when
        nothing put before the call is left.
        """
        if self._thread is None or os.getpid() != self._pid:
            return not self._queued_events
        with self._lock:
            self._drain_side()
            target = self._seq
            self._flush_upto = max(self._flush_upto, target)
            self._work.notify()
            if self._closed or _holding_logging_lock():
                # Closed: nothing more will be sent. Or dictConfig/basicConfig(force=True)
                # flush us holding logging's module lock, which botocore (on our worker)
                # may need: waiting would deadlock.
                low = self._unresolved_min()
                return low is None or low > target
            start = time.monotonic()
            cap = start + (self.shutdown_cap if timeout is None else timeout)
            while True:
                low = self._unresolved_min()
                if low is None or low > target:
                    return True
                now = time.monotonic()
                deadline = cap
                if timeout is None:
                    deadline = min(cap, max(self._last_progress, start) + self.shutdown_timeout)
                if now >= deadline or self._worker_done:
                    return False
                self._done.wait(deadline - now)

    def begin_close(self, now: float | None = None) -> None:
        """Start draining: the worker sends while it makes progress (see :meth:`flush`)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._last_progress = max(self._last_progress, now)
            self._close_cap = now + self.shutdown_cap
            self._flush_upto = self._seq
            self._work.notify_all()

    def finish_close(self) -> bool:
        """Wait for the drain; count what is left as dropped. True: nothing was lost."""
        leftover: list[Item] = []
        abandoned: list[Item] = []
        with self._lock:
            while not self._worker_done and self._thread is not None:
                now = time.monotonic()
                deadline = self._drain_deadline()
                if now >= deadline:
                    break
                self._done.wait(deadline - now)
            leftover = self._take_leftovers()
            # A send still hanging: write its events off now (the process may be about to
            # exit); the worker uncounts any that get through after all.
            # The batch the worker has taken but not yet put in flight counts the same.
            for item in self._inflight or self._taken or ():
                seq = _seq(item)
                if seq not in self._written_off:
                    self._written_off[seq] = ("shutdown", True)
                    self._dropped["shutdown"] += 1
                    self._queued_events -= 1
                    self._queued_bytes -= _cost(item)
                    abandoned.append(item)
            self._inflight_min_seq = None  # all accounted for: flush() has nothing to wait on
            lost = self._dropped["shutdown"]
            self._work.notify_all()
            self._done.notify_all()
        dropped = [*leftover, *abandoned]
        if dropped:
            self._report_drop(dropped, "shutdown")
        # Hand everything pending to on_drop before returning: the process may exit next.
        self._wait_for_hand_over(self.shutdown_timeout)
        return not lost

    def close(self, timeout: float | None = None) -> bool:
        """Drain and stop the worker (see :meth:`flush` for the deadlines).

        ``timeout`` replaces ``shutdown_timeout`` as the bound without progress. Under
        logging's module lock it returns at once and leaves the drain to the worker.
        """
        if os.getpid() != self._pid:
            self._reinit_after_fork()
        if self._thread is None:
            with self._lock:
                self._closed = True
                self._drain_side()
                leftover = self._take_leftovers()
            if leftover:
                self._report_drop(leftover, "shutdown")
            return not leftover
        if timeout is not None:
            self.shutdown_timeout = timeout
        self.begin_close()
        if _holding_logging_lock():
            # Reconfiguring logging: the worker finishes the drain on its own, bounded
            # by the same deadlines, and counts whatever it cannot send.
            return False
        return self.finish_close()

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ observability
    def stats(self) -> dict[str, Any]:
        """Counters a user can alert on; see the README for each field."""
        with self._lock:
            out: dict[str, Any] = {
                "emitted": self._emitted,
                "sent": self._counters["sent"],
                "batches": self._counters["batches"],
                "bytes_sent": self._counters["bytes_sent"],
                "retried": self._counters["retried"],
                "truncated": self._counters["truncated"],
                "blocked": self._counters["blocked"],
                "own_thread": self._counters["own_thread"],
                "dropped": {k: v for k, v in self._dropped.items() if v},
                "rejected": {k: v for k, v in self._rejected.items() if v},
                "queue_depth": self._queued_events,
                "queue_bytes": self._queued_bytes,
                "delivering": not (self._failing or self._stalled),
            }
        out.update(self._exporter.state())
        return out

    # ------------------------------------------------------------------ fork
    def _reinit_after_fork(self) -> None:
        # The parent keeps (and sends) what it queued; the child starts empty.
        self._init_state()
        self._exporter.reset_after_fork()


def shrink_event(ev: Event, budget: int) -> Event | None:
    """A copy of ``ev`` that holds at most about ``budget`` bytes, marked as truncated.

    Keeps the beginning of the message and of the traceback, the context, and the
    names of the extras (their values go). None if even that does not fit.
    """
    if budget < 256:
        return None
    room = max(budget - 1024, 128)
    message = ev.message
    marker = " ...[truncated: record larger than max_queue_bytes]"
    if len(message) > room // 2:
        message = message[: room // 2] + marker
    extras: dict[str, Any] | None = None
    if ev.extras:
        extras = {"cwlogs_truncated_extras": sorted(map(str, ev.extras))[:50]}
    exc = None
    if ev.exc is not None:
        exc = {k: (v[: room // 4] + marker if len(v) > room // 4 else v) for k, v in ev.exc.items()}
    stack = ev.stack[: room // 8] if ev.stack else None
    small = Event(
        ev.created,
        ev.levelno,
        ev.levelname,
        ev.logger,
        message,
        extras,
        ev.context,
        exc,
        stack,
        ev.thread,
        preformatted=ev.preformatted,
    )
    small.stream = ev.stream
    return small if small.cost <= budget * 4 else None


def _holding_logging_lock() -> bool:
    """Does this thread hold logging's module lock (dictConfig, basicConfig(force=True))?"""
    is_owned = getattr(getattr(logging, "_lock", None), "_is_owned", None)
    try:
        return bool(is_owned()) if is_owned is not None else False
    except Exception:
        return False


def _seq(item: Item) -> int:
    return item[ITEM_SEQ] if isinstance(item, tuple) else item.seq


def _cost(item: Item) -> int:
    return item[ITEM_COST] if isinstance(item, tuple) else item.cost


def _est(item: Item) -> int:
    return item[ITEM_EST] if isinstance(item, tuple) else item.est


def _levelno(item: Item) -> int:
    return item[ITEM_LEVELNO] if isinstance(item, tuple) else item.levelno


def _event(item: Item) -> Event:
    """What ``on_drop`` is handed for a queue item (encoded or not)."""
    if not isinstance(item, tuple):
        return item
    return event_from_prepared(item) if is_prepared(item) else event_from_item(item)


def _ts(item: Item) -> int:
    return item[ITEM_TS] if isinstance(item, tuple) else item.ts




def _after_fork_in_child() -> None:
    for batcher in list(_live):
        try:
            batcher._reinit_after_fork()
        except Exception:
            pass


def close_all(batchers: Iterable[Batcher] | None = None) -> None:
    """Drain every live batcher of this process in parallel, each against its own deadlines."""
    pid = os.getpid()
    chosen = [b for b in (batchers if batchers is not None else list(_live)) if b._pid == pid]
    for b in chosen:
        if b._thread is not None and not b.closed:
            b.begin_close()
    for b in chosen:
        try:
            if not b.closed or not b._worker_done:
                b.finish_close()
        except Exception:
            pass


def _close_all_at_exit() -> None:
    close_all()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
