"""The delivery engine without a network: a real Batcher driving the in-memory exporter.

Each test asserts what a user of the handler would see: what arrives, what is counted
and handed to on_drop, whether a logging call waits, and that flush/close end.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cwlogs._shipping.config import EngineConfig
from cwlogs._shipping.engine import Batcher
from cwlogs.formatting import Event
from cwlogs.testing import MemoryExporter

QUEUE = 64 * 1024


def ev(text: str, level: int = 20, ts: float | None = None) -> Event:
    return Event(time.time() if ts is None else ts, level, "INFO", "app", text, None, None)


COST = ev("m00000").cost  # the tests that count capacity log "m%05d"
CAPACITY = QUEUE // COST


class Drops:
    """An on_drop callback that remembers what it was given, and on which thread."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.threads: set[str] = set()
        self.changed = threading.Condition()

    def __call__(self, events: list[Event], reason: str) -> None:
        with self.changed:
            self.threads.add(threading.current_thread().name)
            self.events.extend((reason, e.message) for e in events)
            self.changed.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.events) >= n, timeout)


def balanced(stats: dict[str, Any]) -> bool:
    """Every record put is sent, dropped, rejected or still queued: nothing unaccounted."""
    return stats["emitted"] == (
        stats["sent"]
        + sum(stats["dropped"].values())
        + sum(stats["rejected"].values())
        + stats["queue_depth"]
    )


@pytest.fixture
def made() -> Any:
    batchers: list[Batcher] = []
    yield batchers
    for b in batchers:
        b.close(timeout=1.0)


def fail_once(b: Batcher, exporter: MemoryExporter) -> None:
    """One record sent into the outage and kept back: from then on (``retry_after`` is
    long) nothing more is taken, so what fits in the queue is known."""
    b.put(ev("first"))
    assert exporter.failed.wait(5)


def batcher(
    made: list[Batcher],
    exporter: MemoryExporter,
    on_drop: Any = None,
    name: str = "cwlogs",
    **options: Any,
) -> Batcher:
    options.setdefault("max_queue_bytes", QUEUE)
    options.setdefault("flush_interval", 0.05)
    b = Batcher(exporter, EngineConfig(**options), on_drop=on_drop, name=name)
    made.append(b)
    return b


class TestBackpressure:
    def test_a_full_queue_waits_for_a_slow_healthy_endpoint_and_loses_nothing(
        self, made: list[Batcher]
    ) -> None:
        """Logging faster than a healthy endpoint accepts slows the caller down; nothing drops."""
        exporter = MemoryExporter(delay=0.01)
        b = batcher(made, exporter, max_batch_events=50, block_timeout=5.0)
        n = CAPACITY * 4
        for i in range(n):
            assert b.put(ev(f"m{i:05d}"))
        assert b.flush(timeout=30)
        stats = b.stats()
        assert stats["dropped"] == {}
        assert stats["blocked"] > 0
        assert exporter.messages() == [f"m{i:05d}" for i in range(n)]

    def test_an_outage_never_makes_a_call_wait(self, made: list[Batcher]) -> None:
        """While the endpoint fails, a full queue drops at once (counted) instead of waiting."""
        exporter = MemoryExporter(retry_after=60)
        drops = Drops()
        b = batcher(made, exporter, block_timeout=30.0, on_drop=drops)
        exporter.set_down(True)
        b.put(ev("first"))
        b.flush(timeout=0.01)  # due now: the worker tries, and fails
        assert exporter.failed.wait(5)
        for i in range(CAPACITY + 20):
            b.put(ev(f"m{i:05d}"))
        stats = b.stats()
        assert stats["blocked"] == 0
        assert stats["dropped"]["queue_full"] >= 20
        assert drops.wait_for(stats["dropped"]["queue_full"])
        assert balanced(stats)

    def test_a_hanging_send_stalls_one_caller_at_most(self, made: list[Batcher]) -> None:
        """A send that hangs makes the first caller with no room wait block_timeout; the
        next ones drop at once until the endpoint delivers again."""
        exporter = MemoryExporter()
        b = batcher(made, exporter, block_timeout=0.2)
        exporter.hold()
        b.put(ev("in flight"))
        b.flush(timeout=0.01)
        assert exporter.holding.wait(5)
        for i in range(CAPACITY + 50):
            b.put(ev(f"m{i:05d}"))
        assert b.stats()["blocked"] == 1
        exporter.release()
        assert b.flush(timeout=10)
        stats = b.stats()
        assert stats["delivering"]
        assert balanced(stats) and stats["queue_depth"] == 0

    def test_block_policy_waits_even_during_an_outage(self, made: list[Batcher]) -> None:
        """overflow="block" is the explicit choice to wait up to block_timeout, outage or not."""
        exporter = MemoryExporter(retry_after=60)
        b = batcher(made, exporter, overflow="block", block_timeout=0.01)
        exporter.set_down(True)
        for i in range(CAPACITY + 3):
            b.put(ev(f"m{i:05d}"))
        stats = b.stats()
        assert stats["dropped"] == {"block_timeout": 3}
        assert stats["blocked"] == 3


class TestFlushAndClose:
    def test_flush_keeps_going_while_batches_are_delivered(self, made: list[Batcher]) -> None:
        """flush() outlasts shutdown_timeout while the endpoint makes progress, and is True
        only when everything is delivered."""
        exporter = MemoryExporter(delay=0.02)
        b = batcher(
            made, exporter, max_batch_events=10, shutdown_timeout=0.1, max_queue_bytes=1 << 24
        )
        for i in range(400):  # 40 batches of 20 ms: 4x shutdown_timeout at the least
            b.put(ev(f"m{i:04d}"))
        assert b.flush()
        assert len(exporter.messages()) == 400

    def test_shutdown_cap_bounds_a_drain_that_keeps_progressing(
        self, made: list[Batcher]
    ) -> None:
        """A backlog that would take longer than shutdown_cap: flush() gives up at the cap
        even though every batch is accepted, and reports it."""
        exporter = MemoryExporter(delay=0.05)
        b = batcher(
            made,
            exporter,
            max_batch_events=10,
            shutdown_timeout=0.2,  # each 50 ms batch is progress: this never ends it
            shutdown_cap=0.4,
            max_queue_bytes=1 << 24,
        )
        for i in range(500):  # 50 batches of 50 ms: 2.5 s, far past the cap
            b.put(ev(f"m{i:04d}"))
        assert not b.flush()
        assert 0 < len(exporter.messages()) < 500

    def test_flush_with_a_timeout_is_false_until_done(self, made: list[Batcher]) -> None:
        """flush(timeout) returns False when the timeout passes first, True once delivered."""
        exporter = MemoryExporter()
        b = batcher(made, exporter)
        exporter.hold()
        b.put(ev("held"))
        assert not b.flush(timeout=0.2)
        exporter.release()
        assert b.flush(timeout=10)
        assert exporter.messages() == ["held"]

    def test_close_with_a_dead_endpoint_is_bounded_and_hands_everything_over(
        self, made: list[Batcher]
    ) -> None:
        """A dead endpoint: close() gives up after shutdown_timeout without progress,
        counts every record as shutdown and hands each to on_drop before returning."""
        exporter = MemoryExporter(retry_after=0.05)
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops)
        exporter.set_down(True)
        for i in range(30):
            b.put(ev(f"m{i:02d}"))
        assert not b.close(timeout=0.3)
        stats = b.stats()
        assert stats["dropped"] == {"shutdown": 30}
        assert sorted(m for _, m in drops.events) == [f"m{i:02d}" for i in range(30)]
        assert balanced(stats) and stats["queue_depth"] == 0

    def test_close_during_a_hang_then_a_late_success_is_not_a_drop(
        self, made: list[Batcher]
    ) -> None:
        """A send hanging at close is written off as shutdown; when it completes after all,
        the counters say sent, the depth never goes negative and the worker stops."""
        exporter = MemoryExporter()
        b = batcher(made, exporter)
        exporter.hold()
        for i in range(5):
            b.put(ev(f"m{i}"))
        b.flush(timeout=0.01)
        assert exporter.holding.wait(5)
        assert not b.close(timeout=0.2)
        assert b.stats()["dropped"] == {"shutdown": 5}
        exporter.release()
        worker = b._thread
        assert worker is not None
        worker.join(5)
        assert not worker.is_alive()
        stats = b.stats()
        assert stats["sent"] == 5 and stats["dropped"] == {}
        assert stats["queue_depth"] == 0 and stats["queue_bytes"] == 0
        assert balanced(stats)

    def test_records_put_after_close_are_counted(self, made: list[Batcher]) -> None:
        """A record logged after close is not lost silently: dropped as "closed"."""
        b = batcher(made, MemoryExporter())
        b.put(ev("before"))
        assert b.close()
        assert not b.put(ev("after"))
        assert b.stats()["dropped"] == {"closed": 1}


class TestIsolation:
    def test_an_event_that_cannot_be_encoded_is_dropped_alone(self, made: list[Batcher]) -> None:
        """One event whose encoding fails is counted as unencodable; the rest arrive."""

        class Picky(MemoryExporter):
            def prepare(self, event: Event) -> bool:
                if event.message == "poison":
                    raise TypeError("cannot encode")
                return super().prepare(event)

        exporter = Picky()
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops)
        for text in ("a", "poison", "b"):
            b.put(ev(text))
        assert b.flush(timeout=10)
        assert exporter.messages() == ["a", "b"]
        assert b.stats()["rejected"] == {"unencodable": 1}
        assert drops.wait_for(1) and drops.events == [("unencodable", "poison")]

    def test_a_worker_bug_never_loops_on_one_batch(self, made: list[Batcher]) -> None:
        """An exporter that raises on every call: the batch is tried twice, then counted
        as internal_error and handed over; later batches are still tried."""

        class Broken(MemoryExporter):
            def export(self, stream: str, events: list[Event], deadline: float) -> Any:
                self.calls.append((stream, len(events), "raised"))
                raise RuntimeError("bug")

        exporter = Broken()
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops)
        for i in range(3):
            b.put(ev(f"m{i}"))
        assert b.flush(timeout=10)
        assert len(exporter.calls) == 2
        assert b.stats()["dropped"] == {"internal_error": 3}
        assert drops.wait_for(3)
        b.put(ev("later"))
        assert b.flush(timeout=10)
        assert len(exporter.calls) == 4

    def test_refused_events_are_counted_by_reason_and_handed_over(
        self, made: list[Batcher]
    ) -> None:
        """What the endpoint refuses for good is counted under its reason, never retried."""
        exporter = MemoryExporter()
        exporter.refuse = lambda e: "invalid" if e.message.startswith("bad") else None
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops)
        for text in ("ok1", "bad1", "ok2", "bad2"):
            b.put(ev(text))
        assert b.flush(timeout=10)
        assert exporter.messages() == ["ok1", "ok2"]
        assert b.stats()["rejected"] == {"invalid": 2}
        assert drops.wait_for(2)
        assert len(exporter.calls) == 1


class TestMemoryBound:
    def test_a_record_larger_than_the_bound_never_evicts_the_queue(
        self, made: list[Batcher]
    ) -> None:
        """A message bigger than max_queue_bytes is shipped truncated on its own; the
        records queued before it all arrive."""
        exporter = MemoryExporter()
        b = batcher(made, exporter, flush_interval=60)
        for i in range(40):
            b.put(ev(f"m{i:02d}"))
        huge = "x" * (QUEUE * 4)
        assert b.put(ev(huge))
        assert b.stats()["dropped"] == {}
        assert b.flush(timeout=10)
        messages = exporter.messages()
        assert messages[:40] == [f"m{i:02d}" for i in range(40)]
        assert messages[40].startswith("x" * 1000) and messages[40].endswith("max_queue_bytes]")
        assert b.stats()["truncated"] == 1

    def test_the_queue_never_holds_more_than_its_bound(self, made: list[Batcher]) -> None:
        """During an outage the queue's bytes stay within max_queue_bytes whatever arrives."""
        exporter = MemoryExporter(retry_after=60)
        b = batcher(made, exporter)
        exporter.set_down(True)
        for i in range(CAPACITY * 3):
            b.put(ev("y" * (i % 500)))
            assert b.stats()["queue_bytes"] <= QUEUE
        assert balanced(b.stats())


class TestOnDrop:
    def test_a_slow_on_drop_still_gets_every_drop(self, made: list[Batcher]) -> None:
        """No cap: while on_drop is slow, drops wait for it, and every one is handed over."""
        gate = threading.Event()
        seen: list[str] = []

        def slow(events: list[Event], reason: str) -> None:
            gate.wait(10)
            seen.extend(e.message for e in events)

        exporter = MemoryExporter(retry_after=60)
        b = batcher(made, exporter, overflow="drop_newest", on_drop=slow)
        exporter.set_down(True)
        fail_once(b, exporter)
        n = CAPACITY + 3000
        for i in range(n):
            b.put(ev(f"m{i:05d}"))
        dropped = b.stats()["dropped"]["queue_full"]
        assert dropped >= 3000
        gate.set()
        deadline = time.monotonic() + 10
        while len(seen) < dropped and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(seen) == dropped

    def test_on_drop_never_runs_on_the_logging_thread(self, made: list[Batcher]) -> None:
        """The application's thread never runs the user's callback."""
        exporter = MemoryExporter(retry_after=60)
        drops = Drops()
        b = batcher(made, exporter, overflow="drop_newest", on_drop=drops)
        exporter.set_down(True)
        fail_once(b, exporter)
        for i in range(CAPACITY + 5):
            b.put(ev(f"m{i:05d}"))
        assert drops.wait_for(5)
        assert threading.current_thread().name not in drops.threads


class TestOrdering:
    def test_events_arrive_in_order_across_many_batches(self, made: list[Batcher]) -> None:
        """Records from one thread arrive in the order logged, batch after batch."""
        exporter = MemoryExporter()
        b = batcher(made, exporter, max_batch_events=7, max_queue_bytes=1 << 24)
        for i in range(500):
            b.put(ev(f"m{i:03d}"))
        assert b.flush(timeout=10)
        assert exporter.messages() == [f"m{i:03d}" for i in range(500)]
        assert all(n <= 7 for _, n, _ in exporter.calls)

    def test_an_outage_then_recovery_delivers_everything_once(self, made: list[Batcher]) -> None:
        """Kept back during an outage, delivered once after it, in order, nothing twice."""
        exporter = MemoryExporter(retry_after=0.02)
        b = batcher(made, exporter, max_batch_events=20, max_queue_bytes=1 << 24)
        exporter.set_down(True)
        for i in range(300):
            b.put(ev(f"m{i:03d}"))
        assert not b.flush(timeout=0.2)
        exporter.set_down(False)
        assert b.flush(timeout=10)
        assert exporter.messages() == [f"m{i:03d}" for i in range(300)]
        assert balanced(b.stats())


class TestReviewedEdges:
    def test_an_on_drop_that_logs_cannot_loop_at_close(self, made: list[Batcher]) -> None:
        """A callback that logs (into the same batcher) is not fed its own drops: close ends."""
        exporter = MemoryExporter(retry_after=0.05)
        b: Batcher

        def noisy(events: list[Event], reason: str) -> None:
            for e in events:
                b.put(ev(f"lost {e.message}"))

        b = batcher(made, exporter, on_drop=noisy)
        exporter.set_down(True)
        for i in range(20):
            b.put(ev(f"m{i}"))
        assert not b.close(timeout=0.3)
        stats = b.stats()
        assert stats["dropped"] == {"shutdown": 20}
        assert stats["own_thread"] == 20

    def test_a_timestamp_in_milliseconds_does_not_stop_delivery(
        self, made: list[Batcher]
    ) -> None:
        """A record stamped far in the future (ms taken for s) is refused alone; the worker
        goes on and later records arrive on time."""
        exporter = MemoryExporter()
        b = batcher(made, exporter)
        b.put(ev("future", ts=time.time() * 1000))
        b.put(ev("now"))
        assert b.flush(timeout=10)
        assert exporter.messages() == ["now"]
        assert b.stats()["rejected"] == {"too_new": 1}

    def test_an_export_error_on_one_stream_sends_nothing_twice(
        self, made: list[Batcher]
    ) -> None:
        """An exporter bug on one stream: the other streams' events are sent once."""

        class OneBadStream(MemoryExporter):
            def prepare(self, event: Event) -> bool:
                event.stream = "bad" if event.message.startswith("b") else "good"
                return super().prepare(event)

            def export(self, stream: str, events: list[Event], deadline: float) -> Any:
                if stream == "bad":
                    raise RuntimeError("bug")
                return super().export(stream, events, deadline)

        exporter = OneBadStream()
        b = batcher(made, exporter)
        for text in ("g1", "b1", "g2"):
            b.put(ev(text))
        assert b.flush(timeout=10)
        assert exporter.messages() == ["g1", "g2"]
        assert b.stats()["dropped"] == {"internal_error": 1}
        assert balanced(b.stats())

    def test_eviction_that_cannot_make_room_drops_only_the_newcomer(
        self, made: list[Batcher]
    ) -> None:
        """Protected records fill the queue: an unprotected newcomer is dropped alone,
        nothing is evicted for nothing."""
        exporter = MemoryExporter(retry_after=60)
        b = batcher(made, exporter, protect_level=40)
        exporter.set_down(True)
        fail_once(b, exporter)
        for i in range(CAPACITY):
            b.put(ev(f"e{i:04d}", level=40))
        before = b.stats()["dropped"].get("queue_full", 0)
        b.put(ev("x" * 2000))
        assert b.stats()["dropped"]["queue_full"] == before + 1
        assert balanced(b.stats())

    def test_the_on_drop_thread_ends_with_the_batcher(self, made: list[Batcher]) -> None:
        """Closing a batcher leaves no on_drop thread behind."""
        exporter = MemoryExporter(retry_after=0.05)
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops, name="reporter-test")
        exporter.set_down(True)
        b.put(ev("m"))
        b.close(timeout=0.2)
        assert drops.events == [("shutdown", "m")]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            t.name == "reporter-test-on-drop" for t in threading.enumerate()
        ):
            time.sleep(0.05)
        assert not any(t.name == "reporter-test-on-drop" for t in threading.enumerate())


class TestTwoBatchesOut:
    """The worker encodes the next batch while the sender sends one: what that changes."""

    def test_close_retries_what_the_last_send_kept_back(self, made: list[Batcher]) -> None:
        """A close while the last batch meets a passing failure: it is sent again within
        the drain's deadline, not written off as shutdown."""
        exporter = MemoryExporter(retry_after=0.05, delay=0.3)
        drops = Drops()
        b = batcher(made, exporter, on_drop=drops, flush_interval=0.01)
        exporter.set_down(True)
        for i in range(10):
            b.put(ev(f"m{i}"))
        threading.Timer(0.4, exporter.set_down, args=(False,)).start()
        assert b.close(timeout=5.0)
        assert exporter.messages() == [f"m{i}" for i in range(10)]
        assert b.stats()["dropped"] == {} and drops.events == []

    def test_order_and_flush_hold_when_both_batches_are_kept_back(
        self, made: list[Batcher]
    ) -> None:
        """An outage while two batches are out: both go back in sequence order, so the
        retry sends them in the order logged and flush() waits for the oldest."""
        exporter = MemoryExporter(retry_after=0.05)
        b = batcher(made, exporter, max_batch_events=3, max_queue_bytes=1 << 24)
        exporter.set_down(True)
        for i in range(30):
            b.put(ev(f"m{i:02d}"))
        deadline = time.monotonic() + 5
        while sum(1 for c in exporter.calls if c[2] == "down") < 6:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not b.flush(timeout=0.1)  # nothing can be delivered yet
        exporter.set_down(False)
        assert b.flush(timeout=10)
        assert exporter.messages() == [f"m{i:02d}" for i in range(30)]
        assert balanced(b.stats())

    def test_a_forked_child_ships_from_any_thread(self, made: list[Batcher]) -> None:
        """The parent's delivery threads do not exist in a forked child: a child thread
        that gets the same thread id is an application thread, and what it logs ships."""
        import os

        from cwlogs._shipping.drops import CALLBACK_THREADS

        exporter = MemoryExporter()
        b = batcher(made, exporter, flush_interval=0.01)
        b.put(ev("parent"))
        assert b.flush(timeout=5)
        assert CALLBACK_THREADS  # the sender thread is registered while it runs
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it saw through the pipe, then leave
            ok = not CALLBACK_THREADS
            threads = [threading.Thread(target=b.put, args=(ev(f"c{i}"),)) for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ok = ok and b.flush(timeout=5) and b.stats()["own_thread"] == 0
            ok = ok and sorted(exporter.messages())[:3] == ["c0", "c1", "c2"]
            os.write(write, b"ok" if ok else b"no")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 2)
        os.waitpid(pid, 0)
        assert answer == b"ok"

    def test_a_batch_taken_before_an_older_one_came_back_waits_behind_it(
        self, made: list[Batcher]
    ) -> None:
        """Batch N fails while N+1 is encoded and waiting: N+1 goes back too, unsent, behind
        N, so the queue stays in sequence order (what flush and drop_oldest rely on) and
        the records go out in the order logged once the endpoint is back.
        (The interleaving is driven step by step through the engine's state.)"""
        from cwlogs._shipping.event import item_seq

        class Gated(MemoryExporter):
            def __init__(self) -> None:
                super().__init__(retry_after=0.05)
                self.gate = threading.Semaphore(0)
                self.waiting = 0

            def export(self, stream: str, events: list[Any], deadline: float) -> Any:
                self.waiting += 1
                self.gate.acquire()
                self.waiting -= 1
                return super().export(stream, events, deadline)

        def until(condition: Any) -> None:
            end = time.monotonic() + 5
            while not condition():
                assert time.monotonic() < end
                time.sleep(0.002)

        def queued(b: Batcher) -> list[int]:
            with b._lock:
                return [item_seq(i) for seg in [*b._segments, b._tail] for i in seg]

        exporter = Gated()
        b = batcher(made, exporter, flush_interval=0.01)
        exporter.set_down(True)
        big = "x" * 10_000
        for text in ("1" + big, "2" + big, "3" + big):
            b.put(ev(text))
        until(lambda: exporter.waiting == 1)  # N = 1..3 is being sent
        for text in ("4", "5", "6"):
            b.put(ev(text))
        until(lambda: b._taken is not None)  # N+1 = 4..6 is encoded, waiting
        exporter.retry_after = 60  # the outage goes on: nothing more is taken
        exporter.gate.release()  # N is kept back
        until(lambda: not b._inflight and b._to_send is None and b._taken is None)
        for text in ("7", "8", "9"):
            b.put(ev(text))
        assert queued(b) == list(range(1, 10))
        assert [n for _, n, outcome in exporter.calls] == [3]  # N+1 was never sent
        assert balanced(b.stats())
        exporter.retry_after = 0.05
        exporter.set_down(False)
        released = threading.Event()

        def open_gate() -> None:
            while not released.is_set():
                exporter.gate.release()
                time.sleep(0.01)

        opener = threading.Thread(target=open_gate, daemon=True)
        opener.start()
        try:
            assert b.flush(timeout=10)
        finally:
            released.set()
        assert [m[0] for m in exporter.messages()] == [str(i) for i in range(1, 10)]


def test_on_drop_survives_a_thread_that_could_not_start(
    made: list[Batcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The on_drop thread fails to start once (a thread limit): the next drop starts it,
    and every drop is still handed over."""
    real_start = threading.Thread.start
    failed: list[str] = []

    def flaky_start(self: threading.Thread) -> None:
        if self.name.endswith("-on-drop") and not failed:
            failed.append(self.name)
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", flaky_start)
    exporter = MemoryExporter()
    exporter.refuse = lambda e: "invalid"
    drops = Drops()
    b = batcher(made, exporter, on_drop=drops)
    b.put(ev("first"))
    assert b.flush(timeout=5)
    b.put(ev("second"))
    assert b.flush(timeout=5)
    assert failed and drops.wait_for(2)
    assert sorted(text for _, text in drops.events) == ["first", "second"]
