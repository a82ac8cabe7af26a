"""The delivery threads: the worker waits until a batch is due, takes it and encodes it;
the sender sends it and settles it.

Encoding is CPU and sending mostly waiting on the network, so they overlap: the worker
encodes the next batch while the sender waits for the service's answer to the previous
one (at most two batches out of the queue). Both work outside the lock, straight from the
queued tuples into their final bytes (``exporter.prepare`` -> ``encode.render_item``);
:meth:`Worker._resolve` then settles the books under the lock: counts, requeues what must
wait at the front (in sequence order), reports what was lost. A bug in this code costs
one batch at most, never a thread.
"""

from __future__ import annotations

import threading
import time
from _thread import get_ident
from typing import NamedTuple

from cwlogs._shipping.buffer import Buffer
from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.drops import CALLBACK_THREADS
from cwlogs._shipping.event import (
    Item,
    Prepared,
    is_prepared,
    item_cost,
    item_est,
    item_seq,
    item_ts,
    prepared_item,
)
from cwlogs._shipping.limits import EVENT_OVERHEAD, check_timestamp, plan_batch
from cwlogs._shipping.protocol import ExportResult
from cwlogs._shipping.snapshot import (
    ITEM_COST,
    ITEM_DATA,
    ITEM_EST,
    ITEM_SEQ,
    ITEM_STREAM,
    ITEM_TS,
)


class EncodedBatch(NamedTuple):
    """A taken batch once encoded: what the worker hands to the sender."""

    batch_cost: int
    ready: list[Prepared]
    unencodable: list[Item]
    truncated: int
    shed: int  # queue bytes freed once the snapshots are let go of

    @property
    def items(self) -> list[Item]:
        """Every item, for the books: the encoded ones, then the unencodable."""
        return [*self.ready, *self.unencodable]


class Worker(Buffer):
    """:class:`Buffer` plus the two daemon threads that deliver what it holds."""

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
                    encoded = self._encode(taken)
                except Exception as exc:  # a bug: isolate it, never loop on one batch
                    try:
                        self._worker_error(exc, sending=False)
                    except Exception:
                        time.sleep(0.05)
                    continue
                taken = None  # the snapshots go once encoded (see _hand_to_sender)
                try:
                    self._hand_to_sender(encoded)
                except Exception as exc:  # a bug: this batch at most, never the thread
                    try:
                        self._worker_error(exc, sending=False)
                    except Exception:
                        time.sleep(0.05)
        finally:
            self._stop_sender()
            self._worker_exit()

    def _hand_to_sender(self, encoded: EncodedBatch) -> None:
        """Wait for the sender to finish the batch before, then give it this one."""
        with self._lock:
            while self._inflight or self._to_send is not None:
                self._done.wait()
            # The snapshots are let go of: the queue is charged for the encoded bytes now,
            # which leaves callers room to queue the next batch while this one is sent.
            shed = encoded.shed
            if self._written_off:  # uncharged in full already when written off
                before = {item_seq(i): item_cost(i) for i in self._taken or ()}
                for p in encoded.ready:
                    if p[ITEM_SEQ] in self._written_off:
                        shed -= before.get(p[ITEM_SEQ], p[ITEM_COST]) - p[ITEM_COST]
            self._queued_bytes -= shed
            if shed:
                self._done.notify_all()
            self._inflight = encoded.items
            self._inflight_min_seq = self._taken_min_seq
            self._taken = None
            self._taken_min_seq = None
            if self._kept_backs == self._taken_at_kept:
                self._to_send = encoded
                self._send_wake.notify()
                return
        # An older batch came back (an outage, throttling) after this one was taken: this
        # one goes back too, behind it, unsent, so the records go out in the order logged.
        rejected: dict[str, list[Item]] = {}
        if encoded.unencodable:
            rejected["unencodable"] = list(encoded.unencodable)
        try:
            self._resolve(
                encoded.items,
                encoded.batch_cost,
                list(encoded.ready),
                rejected,
                ExportResult(),
                encoded.truncated,
                held_back=0,
            )
        except Exception as exc:  # a bug: the batch is in _inflight, settle it as a send's
            self._worker_error(exc, sending=True)

    def _stop_sender(self) -> None:
        """Let the sender finish what it holds, then end it (the worker is stopping)."""
        with self._lock:
            while self._inflight or self._to_send is not None:
                self._done.wait()
            self._sender_stop = True
            self._send_wake.notify()

    def _send_loop(self) -> None:
        CALLBACK_THREADS.add(get_ident())  # what is logged while sending is never queued
        try:
            while True:
                with self._lock:
                    while self._to_send is None and not self._sender_stop:
                        self._send_wake.wait()
                    encoded = self._to_send
                    if encoded is None:
                        return
                    self._send_started = time.monotonic()
                try:
                    self._deliver(encoded)
                except Exception as exc:  # a bug: isolate it, never loop on one batch
                    try:
                        self._worker_error(exc, sending=True)
                    except Exception:
                        time.sleep(0.05)
                finally:
                    with self._lock:
                        self._to_send = None
                        self._done.notify_all()
                        self._work.notify()  # a closing worker waits for this batch
        finally:
            CALLBACK_THREADS.discard(get_ident())

    def _next_batch(self) -> list[Item] | None:
        """Wait until a batch is due and take it with one swap; None tells the worker to stop."""
        with self._lock:
            while True:
                if self._side:
                    self._drain_side()
                if self._closed:
                    return None
                if not self._segments and not self._tail:
                    if not self._closing:
                        self._work.wait()
                        continue
                    if not (self._inflight or self._to_send is not None):
                        return None
                    # Closing, and a batch is still out: what it keeps back is retried
                    # within the drain's deadline (the sender wakes us when it settles).
                    now = time.monotonic()
                    if now >= self._drain_deadline():
                        return None
                    self._work.wait(self._drain_deadline() - now)
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
                self._taken_min_seq = item_seq(taken[0])
                self._taken_at_kept = self._kept_backs
                return taken

    def _encode(self, taken: list[Item]) -> EncodedBatch:
        """Encode a taken batch (worker thread, outside the lock), straight from the
        queued tuples into their final bytes."""
        prepare = self._exporter.prepare
        truncated = 0
        guessed = encoded = 0
        unencodable: list[Item] = []  # handed to on_drop as they were queued
        ready: list[Prepared] = []
        batch_cost = shed = 0
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
                batch_cost += item_cost(item)
                continue
            if cut:
                truncated += 1
            prepared = prepared_item(item, data, stream)
            ready.append(prepared)
            batch_cost += prepared[ITEM_COST]
            shed += item_cost(item) - prepared[ITEM_COST]
            guessed += prepared[ITEM_EST]
            encoded += len(data)
        encoded += EVENT_OVERHEAD * len(ready)
        if self._closing and guessed:
            # Encoding a batch is progress too: a drain that is encoding 10,000 events
            # is not a stalled one.
            self._last_progress = time.monotonic()
        if guessed:
            # Cut the next segments at the guess that fills one request.
            scale = min(max(encoded / guessed, 0.1), 10.0)
            self._segment_est = int(self._max_batch_bytes / scale)
        return EncodedBatch(batch_cost, ready, unencodable, truncated, shed)

    def _deliver(self, encoded: EncodedBatch) -> None:
        """Send an encoded batch and settle it (sender thread)."""
        batch_cost, ready, unencodable, truncated, _ = encoded
        batch = encoded.items
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
            events.sort(key=item_ts)
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
        keep.sort(key=item_seq)
        keep_cost = sum(e[ITEM_COST] for e in keep)
        keep_est = sum(e[ITEM_EST] for e in keep)
        with self._lock:
            written_off = self._written_off
            resolved = batch
            if written_off:  # rare: evictions or a close reached into this batch
                resolved = [e for e in batch if item_seq(e) not in written_off]
                kept_ids = {id(e) for e in keep}
                refused_ids = {id(e) for evs in rejected.values() for e in evs}
                refused_ids.update(id(e) for e in errored)
                for ev in batch:
                    off = written_off.pop(item_seq(ev), None)
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
                rejected = {r: [e for e in evs if id(e) not in lost] for r, evs in rejected.items()}
                rejected = {r: evs for r, evs in rejected.items() if evs}
                errored = [e for e in errored if id(e) not in lost]
                batch_cost = sum(item_cost(e) for e in resolved)
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
                self._strikes.difference_update(
                    item_seq(e) for e in batch if item_seq(e) not in kept
                )
            if keep:
                if self._closed:  # given up on while in flight: count them now
                    self._dropped["shutdown"] += len(keep)
                    freed_events += len(keep)
                    freed_bytes += keep_cost
                    to_report.append((list[Item](keep), "shutdown"))
                else:
                    self._push_front(list[Item](keep), keep_est)
                    self._kept_backs += 1
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
            if keep:
                self._work.notify()  # the worker may be waiting: what was kept back is due
        for reason, evs in rejected.items():
            self._report_drop(evs, reason)
        for evs, reason in to_report:
            self._report_drop(evs, reason)

    def _worker_error(self, exc: Exception, *, sending: bool) -> None:
        """A bug escaped encoding (``sending=False``) or sending: that batch is retried
        once, then dropped as internal_error."""
        warn_rate_limited("worker", f"{self._name}: worker error: {exc!r}")
        lost: list[tuple[Item, str]] = []
        with self._lock:
            items: list[Item]
            if sending:
                items = list(self._inflight)
            else:
                items = list(self._taken or [])
                self._taken = None
                self._taken_min_seq = None
            retry: list[Item] = []
            for item in items:
                seq = item_seq(item)
                written_off = self._written_off.pop(seq, None)
                if written_off is not None:  # already counted
                    if not written_off[1]:
                        lost.append((item, written_off[0]))
                elif seq in self._strikes or self._closed:
                    self._strikes.discard(seq)
                    self._queued_events -= 1
                    self._queued_bytes -= item_cost(item)
                    self._dropped["internal_error"] += 1
                    lost.append((item, "internal_error"))
                else:
                    self._strikes.add(seq)
                    retry.append(item)
            if retry:
                retry.sort(key=item_seq)
                self._push_front(retry, sum(item_est(i) for i in retry))
                self._kept_backs += 1
            if sending:
                self._inflight = []
                self._inflight_min_seq = None
                self._send_started = None
            self._done.notify_all()
            self._work.notify()
        for item, reason in lost:
            self._report_drop([item], reason)

    def _worker_exit(self) -> None:
        """The worker stops (closing): whatever is still queued is counted as ``shutdown``."""
        with self._lock:
            leftover = self._take_leftovers() if self._closing else []
            if leftover:
                # Queued for on_drop before close() can see the worker is done, so that
                # close() hands it over before it returns.
                self._drops.hold(leftover, "shutdown")
            self._worker_done = True
            self._done.notify_all()
        if leftover:
            warn_rate_limited(
                "drop:shutdown", lambda: self._drop_message(len(leftover), "shutdown")
            )
            self._drops.wake()
