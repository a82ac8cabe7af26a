"""The delivery engine: a bounded buffer, one daemon worker, backpressure, progress deadlines.

It knows nothing about boto3: the worker hands batches to an :class:`Exporter`, which
says what was sent, what must wait and what was refused. Caller threads only append
(under a private lock, never ``handler.lock``) and wake the worker at a threshold.

The engine is built in three layers, one module each: ``buffer.Buffer`` (the queue
and its books), ``worker.Worker`` (the delivery thread) and :class:`Batcher` here (the
callers' side: put and the overflow policy, flush and close against deadlines, stats).

The promise kept here: every record put is delivered, or counted in ``dropped`` /
``rejected`` with a reason and handed to ``on_drop``. Each state change below keeps
``emitted == sent + dropped + rejected + queue_depth`` (``queue_depth`` includes the
batch in flight).

>>> import time
>>> from cwlogs.testing import MemoryExporter
>>> from cwlogs._shipping.event import Event
>>> b = Batcher(MemoryExporter())
>>> b.put(Event(time.time(), 20, "INFO", "app", "hello", None, None))
True
>>> b.flush(timeout=5)
True
>>> b.stats()["sent"]
1
>>> b.close()
True
"""

from __future__ import annotations

import os
import sys
import threading
import time
from _thread import get_ident
from collections.abc import Sequence
from itertools import chain
from typing import Any

from cwlogs._shipping.buffer import DEFAULTS
from cwlogs._shipping.config import EngineConfig
from cwlogs._shipping.drops import CALLBACK_THREADS, DropCallback
from cwlogs._shipping.event import Event, Item, event_from_item, item_cost, item_seq, shrink_event
from cwlogs._shipping.lifecycle import holding_logging_lock, register
from cwlogs._shipping.protocol import Exporter
from cwlogs._shipping.snapshot import FIELD_COST, FIELD_EST, FIELD_LEVELNO
from cwlogs._shipping.worker import Worker

_monotonic = time.monotonic


class Batcher(Worker):
    """Bounded buffer + two delivery threads (encode, send) through an :class:`Exporter`.

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
        config: EngineConfig = DEFAULTS,
        *,
        on_drop: DropCallback | None = None,
        name: str = "cwlogs",
    ) -> None:
        super().__init__(exporter, config, on_drop=on_drop, name=name)
        register(self)

    # ------------------------------------------------------------------ caller side
    def put(self, ev: Event) -> bool:
        """Queue ``ev``; False if it was dropped (and counted)."""
        return self._put(ev, ev.cost, ev.est, ev.levelno, None)

    def put_fields(self, fields: tuple[Any, ...]) -> bool:
        """:meth:`put` for a ``snapshot.snapshot_fields`` tuple: every log call's path.

        The common case (room in the queue, an application thread) is written out inline:
        this runs once per log call, on the application's thread.
        """
        if self._thread is None:
            self._start()
        me = get_ident()
        cost = fields[FIELD_COST]
        if me != self._worker_ident and me not in CALLBACK_THREADS:
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
        return self._put(None, cost, fields[FIELD_EST], fields[FIELD_LEVELNO], fields)

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
        if me == self._worker_ident or me in CALLBACK_THREADS:
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

    # ------------------------------------------------------------------ drops
    def count_drop(self, reason: str, events: Sequence[Event] = ()) -> None:
        """Count a record lost before it could be queued (and hand over what is left of it)."""
        with self._lock:
            self._emitted += 1
            self._dropped[reason] += 1
        self._report_drop(list(events), reason)

    # ------------------------------------------------------------------ start
    def _start(self) -> None:
        """Start the worker (on the first record: a handler costs nothing until used)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name=f"{self._name}-worker", daemon=True)
            self._thread = thread
            self._sender_stop = False
            sender = threading.Thread(
                target=self._send_loop, name=f"{self._name}-sender", daemon=True
            )
            self._sender = sender
        sender.start()
        thread.start()
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.parent_process() is not None:
            # A multiprocessing child (fork, spawn, forkserver, a pool) leaves through
            # os._exit: atexit never runs, but multiprocessing's own finalizers do.
            from multiprocessing import util

            util.Finalize(self, self.close, exitpriority=100)

    # ------------------------------------------------------------------ flush / close
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
            if self._closed or holding_logging_lock():
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
            for item in chain(self._inflight, self._taken or ()):
                seq = item_seq(item)
                if seq not in self._written_off:
                    self._written_off[seq] = ("shutdown", True)
                    self._dropped["shutdown"] += 1
                    self._queued_events -= 1
                    self._queued_bytes -= item_cost(item)
                    abandoned.append(item)
            # All accounted for: flush() has nothing to wait on.
            self._inflight_min_seq = self._taken_min_seq = None
            lost = self._dropped["shutdown"]
            self._work.notify_all()
            self._done.notify_all()
        dropped = [*leftover, *abandoned]
        if dropped:
            self._report_drop(dropped, "shutdown")
        # Hand everything pending to on_drop before returning: the process may exit next.
        self._drops.wait_for_hand_over(self.shutdown_timeout)
        return not lost

    def close(self, timeout: float | None = None) -> bool:
        """Drain and stop the worker (see :meth:`flush` for the deadlines).

        ``timeout`` replaces ``shutdown_timeout`` as the bound without progress. Under
        logging's module lock it returns at once and leaves the drain to the worker.
        """
        if os.getpid() != self._pid:
            self.reinit_after_fork()
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
        if holding_logging_lock():
            # Reconfiguring logging: the worker finishes the drain on its own, bounded
            # by the same deadlines, and counts whatever it cannot send.
            return False
        return self.finish_close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        """Has the worker thread been started (by the first record)?"""
        return self._thread is not None

    @property
    def worker_done(self) -> bool:
        """Has the worker thread finished (after a close)?"""
        return self._worker_done

    @property
    def pid(self) -> int:
        """The process this engine belongs to (a forked child re-initialises it)."""
        return self._pid

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
    def reinit_after_fork(self) -> None:
        # The parent keeps (and sends) what it queued; the child starts empty.
        self._init_state()
        self._exporter.reset_after_fork()
