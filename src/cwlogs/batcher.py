"""The delivery engine: a bounded buffer, one daemon worker, flush/close deadlines, fork safety.

It knows nothing about boto3: the worker hands batches to an :class:`Exporter`, which
says what was sent, what must wait and what was refused. Caller threads only append
(under a private lock, never ``handler.lock``) and wake the worker at a threshold.

>>> b = Batcher(exporter, max_queue_bytes=1 << 20)  # doctest: +SKIP
>>> b.put(event); b.flush(timeout=5)  # doctest: +SKIP
True
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from cwlogs.diagnostics import warn_rate_limited
from cwlogs.formatting import ITEM_COST, ITEM_LEVELNO, ITEM_SEQ, ITEM_TS, Event, event_from_item
from cwlogs.limits import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, check_timestamp, plan_batch

__all__ = ["Batcher", "ExportResult", "Exporter"]

_INF: Final = float("inf")
_MAX_PENDING_DROPS: Final = 1000


@dataclass
class ExportResult:
    """What happened to one batch handed to an exporter."""

    sent: int = 0
    bytes_sent: int = 0
    calls: int = 0
    retried: int = 0
    #: Events to keep and try again later (outage, throttling, breaker open).
    retry: list[Event] = field(default_factory=list)
    #: Events the service refused, by reason ("too_old", "invalid", ...); counted and reported.
    rejected: dict[str, list[Event]] = field(default_factory=dict)


class Exporter(Protocol):
    """Turns events into service calls. Called from the worker thread only."""

    def prepare(self, event: Event) -> bool:
        """Encode ``event`` (set data, nbytes, stream); return True if it was truncated."""
        ...

    def export(self, stream: str, events: list[Event], deadline: float) -> ExportResult:
        """Send ``events`` (one stream, chronological, within limits) before ``deadline``."""
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


class Batcher:
    """Bounded buffer + one worker thread delivering through an :class:`Exporter`."""

    def __init__(
        self,
        exporter: Exporter,
        *,
        max_queue_bytes: int = 10 * 1024 * 1024,
        overflow: str = "drop_oldest",
        block_timeout: float = 1.0,
        protect_level: int | None = None,
        flush_interval: float = 5.0,
        max_batch_events: int = MAX_BATCH_EVENTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        shutdown_timeout: float = 5.0,
        retention_days: int | None = None,
        on_drop: DropCallback | None = None,
        name: str = "cwlogs",
    ) -> None:
        self._exporter = exporter
        self._max_queue_bytes = max_queue_bytes
        self._overflow = overflow
        self._block_timeout = block_timeout
        self._protect_level = protect_level if protect_level is not None else 1 << 30
        self._flush_interval_ms = int(flush_interval * 1000)
        self._max_batch_events = max_batch_events
        self._max_batch_bytes = max_batch_bytes
        # The queue counts memory (``Event.cost``), about 2.5x an event's encoded size, so
        # a full batch's worth of encoded bytes is queued once the cost reaches this.
        self._full_batch_cost = max_batch_bytes * 5 // 2
        # Encoded size / Event.est, as last measured: est is a rough guess made on the
        # caller's thread, so this scales it to fill batches without overshooting much.
        self._est_scale = 1.0
        self.shutdown_timeout = shutdown_timeout
        self._retention_days = retention_days
        self._on_drop = on_drop
        self._name = name
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        """Everything a forked child must get fresh."""
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the worker waits here
        self._done = threading.Condition(self._lock)  # flush() and blocked callers wait here
        # Items are Events, or plain tuples queued by put_fields (see snapshot_fields).
        self._normal: deque[Event | tuple[Any, ...]] = deque()
        self._protected: deque[Event | tuple[Any, ...]] = deque()
        self._queued_bytes = 0
        self._queued_events = 0
        self._inflight_min_seq: int | None = None
        self._inflight: list[Event] = []
        self._seq = 0
        self._flush_upto = 0
        self._closing = False
        self._closed = False
        self._close_deadline = _INF
        self._thread: threading.Thread | None = None
        self._worker_ident: int | None = None
        self._pid = os.getpid()
        self._emitted = 0
        self._counters: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._pending_drops: list[tuple[list[Event | tuple[Any, ...]], str]] = []

    # ------------------------------------------------------------------ caller side
    def put(self, ev: Event) -> bool:
        """Queue ``ev``; False if it was dropped (and counted). Blocks only under ``block``."""
        if self._thread is None:
            self._start()
        if threading.get_ident() == self._worker_ident:
            return False  # something inside the worker logged: shipping it could loop
        cost = ev.cost
        with self._lock:
            self._emitted += 1
            if not self._closed and self._queued_bytes + cost <= self._max_queue_bytes:
                self._append(ev, cost)
                return True
            dropped, reason = self._overflowing(ev, cost)
            if ev.seq == 0:  # room was made: the newcomer stays
                self._append(ev, cost)
        if dropped:  # reported outside the lock: a stderr write, maybe a hand-off to on_drop
            self._report_drop(dropped, reason)
        return ev.seq > 0

    def put_fields(self, fields: tuple[Any, ...]) -> bool:
        """:meth:`put` for :func:`~cwlogs.formatting.snapshot_fields`: every log call's path."""
        if self._thread is None:
            self._start()
        if threading.get_ident() == self._worker_ident:
            return False
        cost = fields[ITEM_COST - 1]  # the item is (seq, *fields)
        with self._lock:
            if not self._closed and self._queued_bytes + cost <= self._max_queue_bytes:
                self._emitted += 1
                self._seq = seq = self._seq + 1
                if fields[ITEM_LEVELNO - 1] >= self._protect_level:
                    self._protected.append((seq, *fields))
                else:
                    self._normal.append((seq, *fields))
                self._grew(cost)
                return True
        # No room: the overflow policy works on Events (rare, so the cost is fine).
        return self.put(event_from_item((0, *fields)))

    def _append(self, ev: Event, cost: int) -> None:
        self._seq = ev.seq = self._seq + 1
        (self._protected if ev.levelno >= self._protect_level else self._normal).append(ev)
        self._grew(cost)

    def _grew(self, cost: int) -> None:
        """Count one queued event (under the lock); wake the worker on a threshold crossing."""
        before = self._queued_bytes
        self._queued_bytes = after = before + cost
        self._queued_events = n = self._queued_events + 1
        # Edge-triggered: the first event starts the flush timer; a full batch sends now.
        # While the worker is busy it re-checks on its own, so no need to notify again.
        if n == 1 or n == self._max_batch_events or before < self._full_batch_cost <= after:
            self._work.notify()

    def _overflowing(self, ev: Event, cost: int) -> tuple[list[Event | tuple[Any, ...]], str]:
        if self._closed:
            self._dropped["closed"] += 1
            ev.seq = -1
            return [ev], "closed"
        return self._make_room(ev, cost)

    def _make_room(self, ev: Event, cost: int) -> tuple[list[Event | tuple[Any, ...]], str]:
        """Apply the overflow policy under the lock; returns what was dropped and why.

        When the newcomer itself is dropped its ``seq`` is set to -1 so ``put`` skips it.
        """
        if self._overflow == "block":
            deadline = time.monotonic() + self._block_timeout
            self._counters["blocked"] += 1
            while self._queued_bytes + cost > self._max_queue_bytes and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._work.notify()
                self._done.wait(remaining)
            if self._queued_bytes + cost <= self._max_queue_bytes:
                return [], "block_timeout"
            self._dropped["block_timeout"] += 1
            ev.seq = -1
            return [ev], "block_timeout"
        protected = ev.levelno >= self._protect_level
        if self._overflow == "drop_newest" and not (protected and self._normal):
            self._dropped["queue_full"] += 1
            ev.seq = -1
            return [ev], "queue_full"
        # drop_oldest (or a protected newcomer under drop_newest): evict unprotected first.
        evicted: list[Event | tuple[Any, ...]] = []
        while self._queued_bytes + cost > self._max_queue_bytes:
            source = self._normal or (self._protected if protected else None)
            if not source:
                break
            old = source.popleft()
            self._queued_bytes -= _cost(old)
            self._queued_events -= 1
            evicted.append(old)
        if self._queued_bytes + cost > self._max_queue_bytes:
            # The batch being sent is evictable too (an endpoint that hangs would otherwise
            # turn drop_oldest into drop_newest); the worker reports those once it knows
            # they were not delivered after all.
            for old in self._inflight:
                if old.evicted or (old.levelno >= self._protect_level and not protected):
                    continue
                old.evicted = True
                self._queued_bytes -= old.cost
                self._queued_events -= 1
                self._dropped["queue_full"] += 1
                if self._queued_bytes + cost <= self._max_queue_bytes:
                    break
        if self._queued_bytes + cost > self._max_queue_bytes:
            # Only protected events remain: the newcomer goes instead.
            ev.seq = -1
            evicted.append(ev)
        self._dropped["queue_full"] += len(evicted)
        self._done.notify_all()
        return evicted, "queue_full"

    def _report_drop(
        self, events: Sequence[Event | tuple[Any, ...]], reason: str, *, here: bool = False
    ) -> None:
        """Warn (rate-limited) and hand the events to ``on_drop`` on the worker thread
        (``here``: on this thread, for close, when the worker is gone or given up on)."""
        warn_rate_limited(f"drop:{reason}", lambda: self._drop_message(len(events), reason))
        if self._on_drop is None or not events:
            return
        if not here and threading.get_ident() != self._worker_ident and self._thread is not None:
            # Never run a user's callback on the application's thread; keep the hand-off
            # bounded so a stuck worker cannot make it grow without limit.
            if len(self._pending_drops) < _MAX_PENDING_DROPS:
                self._pending_drops.append((list(events), reason))
            return
        self._call_on_drop(events, reason)

    def _drop_message(self, count: int, reason: str) -> str:
        with self._lock:  # the counters change under the lock; copying them needs it too
            dropped, rejected = dict(self._dropped), dict(self._rejected)
        return (
            f"{self._name}: dropped {count} event(s): {reason}; "
            f"dropped so far: {dropped}, rejected: {rejected}"
        )

    def _call_on_drop(self, events: Sequence[Event | tuple[Any, ...]], reason: str) -> None:
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
        if os.getpid() != _MAIN_PID and "multiprocessing" in sys.modules:
            # A forked multiprocessing worker leaves through os._exit: atexit never runs,
            # but multiprocessing's own finalizers do.
            from multiprocessing import util

            util.Finalize(self, self.close, exitpriority=100)

    def _run(self) -> None:
        self._worker_ident = threading.get_ident()
        while True:
            try:
                batch = self._next_batch()
                if batch is None:
                    return
                if batch:
                    self._process(batch)
            except Exception as exc:  # the worker must outlive any bug
                warn_rate_limited("worker", f"{self._name}: worker error: {exc!r}")
                with self._lock:
                    self._return(self._inflight)
                    self._inflight = []
                    self._inflight_min_seq = None
                time.sleep(0.05)

    def _head_seq(self) -> int | None:
        n = _seq(self._normal[0]) if self._normal else None
        p = _seq(self._protected[0]) if self._protected else None
        if n is None:
            return p
        if p is None:
            return n
        return min(n, p)

    def _next_batch(self) -> list[Event] | None:
        """Wait until a batch is due and take it; None tells the worker to stop."""
        drops: list[tuple[list[Event | tuple[Any, ...]], str]] = []
        with self._lock:
            while True:
                if self._pending_drops:
                    drops, self._pending_drops = self._pending_drops, []
                    break
                if not self._queued_events:
                    if self._closing:
                        return None
                    self._work.wait()
                    continue
                now_mono = time.monotonic()
                ready_at = self._exporter.ready_at()
                if ready_at > now_mono:
                    if self._closing and ready_at >= self._close_deadline:
                        return None  # cannot send before the deadline: close counts the rest
                    self._work.wait(ready_at - now_mono)
                    continue
                head = self._head_seq()
                oldest = self._oldest_ts()
                age_wait = (oldest + self._flush_interval_ms) / 1000 - time.time()
                due = (
                    self._closing
                    or (head is not None and head <= self._flush_upto)
                    or self._queued_events >= self._max_batch_events
                    or self._queued_bytes >= self._full_batch_cost
                    or age_wait <= 0
                )
                if due:
                    batch = self._take()
                    self._inflight = batch
                    self._inflight_min_seq = batch[0].seq if batch else None
                    return batch
                self._work.wait(max(age_wait, 0.001))
        for events, reason in drops:
            self._call_on_drop(events, reason)
        return []

    def _oldest_ts(self) -> int:
        n = _ts(self._normal[0]) if self._normal else None
        p = _ts(self._protected[0]) if self._protected else None
        if n is None:
            return p if p is not None else 0
        return n if p is None else min(n, p)

    def _take(self) -> list[Event]:
        """Pop up to one batch worth of events (by estimate), oldest sequence first."""
        normal, protected = self._normal, self._protected
        out: list[Event] = []
        exact = guessed = 0
        scale = self._est_scale
        limit_events, limit_bytes = self._max_batch_events, self._max_batch_bytes
        while (
            len(out) < limit_events
            and exact + guessed * scale < limit_bytes
            and (normal or protected)
        ):
            if protected and (not normal or _seq(protected[0]) < _seq(normal[0])):
                item = protected.popleft()
            else:
                item = normal.popleft()
            ev = _event(item)
            out.append(ev)
            if ev.data is not None:
                exact += ev.nbytes + 26
            else:
                guessed += ev.est
        return out

    def _return(self, events: Iterable[Event]) -> None:
        """Put events back at the front, in sequence order (under the lock)."""
        back = sorted(events, key=_seq_key, reverse=True)
        for ev in back:
            (self._protected if ev.levelno >= self._protect_level else self._normal).appendleft(ev)

    def _process(self, batch: list[Event]) -> None:
        exporter = self._exporter
        truncated = 0
        guessed = encoded = 0
        for ev in batch:
            if ev.data is None:
                if exporter.prepare(ev):
                    truncated += 1
                ev.release_snapshot()
                guessed += ev.est
                encoded += ev.nbytes + 26
        if guessed:
            # Whatever does not fit goes back to the queue, already encoded, so a scale
            # that is a little off costs a requeue, never a limit.
            self._est_scale = min(max(encoded / guessed, 0.1), 10.0)
        now_ms = int(time.time() * 1000)
        rejected: dict[str, list[Event]] = {}
        keep: list[Event] = []
        by_stream: dict[str, list[Event]] = {}
        for ev in batch:
            reason = check_timestamp(ev.ts, now_ms, self._retention_days)
            if reason is not None:
                rejected.setdefault(reason, []).append(ev)
            else:
                by_stream.setdefault(ev.stream or "", []).append(ev)
        deadline = self._close_deadline
        result = ExportResult()
        for stream, events in by_stream.items():
            events.sort(key=_ts_key)
            n = plan_batch(
                [(e.ts, e.nbytes) for e in events],
                max_events=self._max_batch_events,
                max_bytes=self._max_batch_bytes,
            )
            keep.extend(events[n:])
            part = exporter.export(stream, events[:n], deadline)
            result.sent += part.sent
            result.bytes_sent += part.bytes_sent
            result.calls += part.calls
            result.retried += part.retried
            keep.extend(part.retry)
            for reason, evs in part.rejected.items():
                rejected.setdefault(reason, []).extend(evs)
        with self._lock:
            lost: list[Event] = []
            if any(e.evicted for e in batch):
                # Evicted while in flight: already uncounted from the queue. Those that
                # went out anyway were not lost after all; the rest are reported now.
                lost = [e for e in keep if e.evicted]
                keep = [e for e in keep if not e.evicted]
                self._dropped["queue_full"] -= sum(1 for e in batch if e.evicted) - len(lost)
                batch = [e for e in batch if not e.evicted]
            resolved_count = len(batch) - len(keep)
            freed = sum(e.cost for e in batch) - sum(e.cost for e in keep)
            c = self._counters
            c["sent"] += result.sent
            c["bytes_sent"] += result.bytes_sent
            c["batches"] += result.calls
            c["retried"] += result.retried
            c["truncated"] += truncated
            for reason, evs in rejected.items():
                self._rejected[reason] += len(evs)
            self._return(keep)
            self._queued_events -= resolved_count
            self._queued_bytes -= freed
            self._inflight = []
            self._inflight_min_seq = None
            self._done.notify_all()
        if lost:
            self._call_on_drop(lost, "queue_full")
        for reason, evs in rejected.items():
            self._report_drop(evs, reason)

    # ------------------------------------------------------------------ flush / close
    def _unresolved_min(self) -> int | None:
        head = self._head_seq()
        inflight = self._inflight_min_seq
        if head is None:
            return inflight
        return head if inflight is None else min(head, inflight)

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver (or account for) everything queued before the call; False on timeout.

        ``timeout=None`` uses ``shutdown_timeout`` so that ``logging.shutdown`` never hangs.
        """
        if self._thread is None or os.getpid() != self._pid:
            return not self._queued_events
        wait = self.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._lock:
            target = self._seq
            self._flush_upto = max(self._flush_upto, target)
            self._work.notify()
            while True:
                low = self._unresolved_min()
                if low is None or low > target:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._done.wait(remaining)

    def begin_close(self, deadline: float) -> None:
        """Start draining: the worker sends everything it can until ``deadline`` (monotonic)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._close_deadline = deadline
            self._flush_upto = self._seq
            self._work.notify_all()

    def finish_close(self) -> bool:
        """Wait for the drain until the deadline; count what is left as dropped (True: none)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(max(0.0, self._close_deadline - time.monotonic()))
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            leftover = [
                *(e for e in self._inflight if not e.evicted),
                *self._normal,
                *self._protected,
            ]
            self._normal.clear()
            self._protected.clear()
            self._dropped["shutdown"] += len(leftover)
            self._queued_events = 0
            self._queued_bytes = 0
            self._inflight = []
            self._inflight_min_seq = None
            self._done.notify_all()
            self._work.notify_all()
            pending, self._pending_drops = self._pending_drops, []
        # The worker has stopped or is past the deadline: whatever it was to hand to
        # on_drop is handed over here, or a dead letter file would never see it.
        for events, reason in pending:
            self._call_on_drop(events, reason)
        if leftover:
            self._report_drop(leftover, "shutdown", here=True)
        return not leftover

    def close(self, timeout: float | None = None) -> bool:
        """Drain within ``timeout`` (default ``shutdown_timeout``) and stop the worker."""
        if os.getpid() != self._pid:
            self._reinit_after_fork()
        if self._thread is None:
            with self._lock:
                self._closed = True
            return True
        wait = self.shutdown_timeout if timeout is None else timeout
        self.begin_close(time.monotonic() + wait)
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
                "dropped": dict(self._dropped),
                "rejected": dict(self._rejected),
                "queue_depth": self._queued_events,
                "queue_bytes": self._queued_bytes,
            }
        out.update(self._exporter.state())
        return out

    # ------------------------------------------------------------------ fork
    def _reinit_after_fork(self) -> None:
        # The parent keeps (and sends) what it queued; the child starts empty.
        self._init_state()
        self._exporter.reset_after_fork()


def _seq(item: Event | tuple[Any, ...]) -> int:
    return item[ITEM_SEQ] if isinstance(item, tuple) else item.seq


def _ts(item: Event | tuple[Any, ...]) -> int:
    return item[ITEM_TS] if isinstance(item, tuple) else item.ts


def _cost(item: Event | tuple[Any, ...]) -> int:
    return item[ITEM_COST] if isinstance(item, tuple) else item.cost


def _event(item: Event | tuple[Any, ...]) -> Event:
    return event_from_item(item) if isinstance(item, tuple) else item


def _seq_key(ev: Event) -> int:
    return ev.seq


def _ts_key(ev: Event) -> int:
    return ev.ts


_MAIN_PID = os.getpid()


def _after_fork_in_child() -> None:
    for batcher in list(_live):
        try:
            batcher._reinit_after_fork()
        except Exception:
            pass


def _close_all_at_exit() -> None:
    batchers = [b for b in list(_live) if b._pid == os.getpid() and not b.closed]
    now = time.monotonic()
    # Drain every handler in parallel against its own deadline, then collect.
    for b in batchers:
        if b._thread is not None:
            b.begin_close(now + b.shutdown_timeout)
    for b in batchers:
        try:
            b.finish_close()
        except Exception:
            pass


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
