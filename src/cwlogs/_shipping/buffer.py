"""The engine's queue and its books: the state every part of the engine shares.

Callers append to a *tail* list; once the tail holds about one request's worth (by
count, or by the size guessed on the caller's thread), it is closed into a *segment*.
The worker takes a whole segment (or the tail, when a flush or the flush interval makes
it due) with one swap under the lock, and builds, encodes and sends it outside the lock.
So callers never wait behind per-event work.

Every method here runs under ``_lock`` (unless it says otherwise) and keeps
``emitted == sent + dropped + rejected + queue_depth`` (``queue_depth`` includes the
batch in flight). :class:`~cwlogs._shipping.worker.Worker` adds the delivery thread,
:class:`~cwlogs._shipping.engine.Batcher` the callers' side.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

from cwlogs._shipping.config import EngineConfig
from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.drops import DropCallback, DropReporter
from cwlogs._shipping.event import Item, item_cost, item_est, item_levelno, item_seq
from cwlogs._shipping.protocol import Exporter

_INF: Final = float("inf")
_monotonic = time.monotonic
#: The engine's options when none are given (a handler passes its own HandlerConfig).
DEFAULTS: Final = EngineConfig()


class Buffer:
    """The bounded queue, its sizes and counters, and the drops it reports."""

    def __init__(
        self,
        exporter: Exporter,
        config: EngineConfig = DEFAULTS,
        *,
        on_drop: DropCallback | None = None,
        name: str = "cwlogs",
    ) -> None:
        self._exporter = exporter
        self._max_queue_bytes = config.max_queue_bytes
        self._overflow = config.overflow
        self._backpressure = config.backpressure
        self._block_timeout = config.block_timeout
        protect_level = config.protect_level
        self._protect_level = protect_level if protect_level is not None else 1 << 30
        self._flush_interval_ms = int(config.flush_interval * 1000)
        self._max_batch_events = config.max_batch_events
        self._max_batch_bytes = config.max_batch_bytes
        self.shutdown_timeout = config.shutdown_timeout
        self.shutdown_cap = max(config.shutdown_cap, config.shutdown_timeout)
        self._retention_days = config.retention_days
        self._on_drop = on_drop
        self._name = name
        self._init_state()

    def _init_state(self) -> None:
        """Everything a forked child must get fresh."""
        # Reentrant: a signal handler that logs may interrupt this thread between taking
        # the lock and marking itself the owner (see _owner); it then simply goes first.
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)  # the worker waits here
        self._done = threading.Condition(self._lock)  # flush(), close(), blocked callers
        self._send_wake = threading.Condition(self._lock)  # the sender thread waits here
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
        # Two batches may be out of the queue at once: one the worker is encoding
        # (``_taken``) while the sender thread sends the one before (``_inflight``):
        # encoding is CPU and sending mostly waiting on the network, so they overlap.
        self._taken: list[Item] | None = None
        self._taken_min_seq: int | None = None
        self._inflight: list[Item] = []
        self._inflight_min_seq: int | None = None
        self._to_send: Any = None  # the EncodedBatch handed from the worker to the sender
        # Batches kept back so far, and how many there were when ``_taken`` was taken: a
        # batch taken before an older one came back waits behind it (order is kept).
        self._kept_backs = 0
        self._taken_at_kept = 0
        self._sender: threading.Thread | None = None
        self._sender_stop = False
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
        self._drops = DropReporter(self._on_drop, self._name)
        self._tail_started = 0.0  # monotonic time the tail got its first item

    # ------------------------------------------------------------------ queue
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

    def _ready_at(self) -> float:
        """The exporter's ``ready_at``; an exporter that fails to answer is not ready."""
        try:
            return float(self._exporter.ready_at())
        except Exception:
            return _monotonic() + 1.0

    def _evict(self, cost: int, protected: bool) -> list[Item]:
        """Drop the oldest waiting items until ``cost`` fits (under the lock; rare path).

        Protected items go only to make room for a protected newcomer. The batch in
        flight is evictable too, or an endpoint that hangs would turn drop_oldest into
        drop_newest: those are written off and uncounted if they get through after all.
        """
        limit = self._max_queue_bytes - cost
        out: list[Item] = []
        evictable = sum(
            item_cost(item)
            for item in chain(chain.from_iterable(self._segments), self._tail)
            if protected or item_levelno(item) < self._protect_level
        ) + sum(
            item_cost(e)
            for e in chain(self._inflight, self._taken or ())
            if item_seq(e) not in self._written_off
            and (protected or item_levelno(e) < self._protect_level)
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
                if not protected and item_levelno(item) >= self._protect_level:
                    keep.append(item)
                    continue
                self._queued_bytes -= item_cost(item)
                self._queued_events -= 1
                out.append(item)
            seg[:] = keep
        if any(not seg for seg in self._segments):
            pairs = [(s, e) for s, e in zip(self._segments, self._segment_ests, strict=True) if s]
            self._segments = deque(s for s, _ in pairs)
            self._segment_ests = deque(e for _, e in pairs)
        for old in chain(self._inflight, self._taken or ()):
            if self._queued_bytes <= limit:
                break
            seq = item_seq(old)
            if seq in self._written_off or (
                item_levelno(old) >= self._protect_level and not protected
            ):
                continue
            self._written_off[seq] = ("queue_full", False)
            self._queued_bytes -= item_cost(old)
            self._queued_events -= 1
            self._dropped["queue_full"] += 1  # handed to on_drop once known undelivered
        return out

    # ------------------------------------------------------------------ drops
    def _report_drop(self, events: Sequence[Item], reason: str) -> None:
        """Warn (rate-limited) and hand the events to ``on_drop`` on its own thread
        (any thread, outside the lock)."""
        warn_rate_limited(f"drop:{reason}", lambda: self._drop_message(len(events), reason))
        self._drops.hand_over(events, reason)

    def _drop_message(self, count: int, reason: str) -> str:
        with self._lock:  # the counters change under the lock; copying them needs it too
            dropped, rejected = dict(self._dropped), dict(self._rejected)
        return (
            f"{self._name}: dropped {count} event(s): {reason}; "
            f"dropped so far: {dropped}, rejected: {rejected}"
        )

    # ------------------------------------------------------------------ taking and requeueing
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
            self._append(item, item_cost(item), item_est(item))

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
        if (self._segments or self._tail) and self._head_seq() < item_seq(items[-1]):
            # Two batches were out at once and the older one was kept back first (an
            # outage): these go among what waits, in sequence order, which flush() and
            # eviction rely on.
            self._requeue_sorted(items)
            return
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

    def _requeue_sorted(self, items: list[Item]) -> None:
        """Queue sorted ``items`` among the waiting ones in sequence order.

        Only the front of the queue that starts before the last of ``items`` is merged
        (O(batch), not O(queue)): the segments after it hold newer records only.
        """
        last = item_seq(items[-1])
        segments, ests = self._segments, self._segment_ests
        front: list[Item] = []
        while segments and item_seq(segments[0][0]) < last:
            front += segments.popleft()
            ests.popleft()
        if not segments and self._tail and item_seq(self._tail[0]) < last:
            front += self._tail
            self._tail, self._tail_est = [], 0
        # Two sorted runs: timsort merges them in one linear pass.
        merged = sorted(chain(items, front), key=item_seq)
        pieces: list[tuple[list[Item], int]] = []
        current: list[Item] = []
        est = 0
        for item in merged:
            current.append(item)
            est += item_est(item)
            if len(current) >= self._max_batch_events or est >= self._segment_est:
                pieces.append((current, est))
                current, est = [], 0
        if current:  # kept back once already: due as soon as sendable, as a segment
            pieces.append((current, est))
        for piece, piece_est in reversed(pieces):
            segments.appendleft(piece)
            ests.appendleft(piece_est)

    def _head_seq(self) -> int:
        if self._segments:
            return item_seq(self._segments[0][0])
        return item_seq(self._tail[0]) if self._tail else 1 << 62

    def _drain_deadline(self) -> float:
        """While closing: no progress for ``shutdown_timeout`` (or the total cap) ends it."""
        if not self._closing:
            return _INF
        return min(self._last_progress + self.shutdown_timeout, self._close_cap)

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
            self._queued_bytes -= sum(item_cost(i) for i in leftover)
        self._closed = True
        self._drops.closed = True
        return leftover

    # ------------------------------------------------------------------ what is left
    def _unresolved_min(self) -> int | None:
        found = [
            seq
            for seq in (
                self._head_seq() if (self._segments or self._tail) else None,
                self._inflight_min_seq,
                self._taken_min_seq,
            )
            if seq is not None
        ]
        return min(found) if found else None
