"""Event generation, in-memory capture and replay, without any endpoint."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from cwlogs.context import bind
from cwlogs.errors import InvalidParameterError
from cwlogs.formatting import JsonFormatter
from cwlogs.query import LogEvent
from cwlogs.simulate import (
    MemoryLogStream,
    capture,
    generate_events,
    read_ndjson,
    replay,
    write_ndjson,
)

START = "2024-05-01T12:00:00Z"
END = "2024-05-01T12:10:00Z"
T0 = 1_714_564_800_000


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test.simulate.{uuid.uuid4().hex[:8]}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


class TestGenerateEvents:
    def test_same_seed_same_events(self) -> None:
        """A seed and a fixed window make the output reproducible."""
        first = generate_events(50, START, END, seed=3)
        again = generate_events(50, START, END, seed=3)
        assert [e.message for e in first] == [e.message for e in again]

    def test_exact_count_in_time_order_within_the_window(self) -> None:
        """count events, sorted by time, none outside [start, end]."""
        events = generate_events(200, START, END, seed=1)
        stamps = [e.timestamp_ms for e in events]
        assert (200, stamps, True) == (
            len(events),
            sorted(stamps),
            all(T0 <= ts <= T0 + 600_000 for ts in stamps),
        )

    def test_events_are_structured_json(self) -> None:
        """Every event has level, service, trace id and latency fields."""
        events = generate_events(30, START, END, seed=2)
        keys = {"level", "service", "trace_id", "request_id", "duration_ms", "status", "message"}
        assert all(e.fields is not None and keys <= e.fields.keys() for e in events)

    def test_traces_are_shared_across_services(self) -> None:
        """Some trace ids appear in more than one service, as requests fan out."""
        events = generate_events(300, START, END, seed=4)
        services_per_trace: dict[str, set[str]] = {}
        for e in events:
            services_per_trace.setdefault(str(e.trace_id), set()).add(str(e.service))
        assert any(len(services) > 1 for services in services_per_trace.values())

    def test_error_rate_is_respected_roughly(self) -> None:
        """About error_rate of events are errors, and errors carry 5xx statuses."""
        events = generate_events(2000, START, END, error_rate=0.2, seed=5)
        errors = [e for e in events if e.level == "error"]
        assert 0.15 < len(errors) / len(events) < 0.25
        assert all(e.get("status") >= 500 for e in errors)

    def test_zero_error_rate_means_no_errors(self) -> None:
        """error_rate=0 produces no error events."""
        events = generate_events(500, START, END, error_rate=0.0, seed=6)
        assert "error" not in Counter(e.level for e in events)

    def test_custom_services_and_templates(self) -> None:
        """Given services and templates are used."""
        events = generate_events(
            20,
            START,
            END,
            services=["edge"],
            templates={"info": ["hello {tenant_id}"]},
            error_rate=0.0,
            seed=7,
        )
        infos = [e for e in events if e.level == "info"]
        assert {"edge"} == {e.service for e in events}
        assert all(str(e.get("message")).startswith("hello ") for e in infos)

    def test_bad_error_rate_is_refused(self) -> None:
        """error_rate outside [0, 1] raises."""
        with pytest.raises(InvalidParameterError):
            generate_events(1, START, END, error_rate=1.5)


class TestMemoryLogStream:
    def test_put_and_all_keep_order(self) -> None:
        """Events come back in the order they were put."""
        mem = MemoryLogStream()
        for text in ("a", "b", "c"):
            mem.put(text)
        assert ["a", "b", "c"] == [e.message for e in mem.all()]

    def test_put_dict_is_stored_as_json(self) -> None:
        """A dict is encoded, so the stored message is what CloudWatch would hold."""
        mem = MemoryLogStream()
        event = mem.put({"level": "info", "n": 1}, timestamp=T0)
        assert ({"level": "info", "n": 1}, T0) == (orjson.loads(event.message), event.timestamp_ms)

    def test_filter_by_pattern_level_and_fields(self) -> None:
        """filter() combines a CloudWatch pattern, a level and field equality."""
        mem = MemoryLogStream()
        mem.put({"level": "error", "tenant_id": "acme", "status": 503})
        mem.put({"level": "error", "tenant_id": "globex", "status": 500})
        mem.put({"level": "info", "tenant_id": "acme", "status": 200})
        found = mem.filter("{ $.status >= 500 }", level="error", tenant_id="acme")
        assert [503] == [e.get("status") for e in found]

    def test_subscribers_see_each_new_event(self) -> None:
        """A subscriber is called with every event put after it subscribed."""
        mem = MemoryLogStream()
        mem.put("before")
        seen: list[str] = []
        unsubscribe = mem.subscribe(lambda e: seen.append(e.message))
        mem.put("during")
        unsubscribe()
        mem.put("after")
        assert ["during"] == seen

    def test_subscriber_runs_on_the_putting_thread(self) -> None:
        """Callbacks fire synchronously, so a test can wait on an Event it sets."""
        mem = MemoryLogStream()
        arrived = threading.Event()
        mem.subscribe(lambda e: arrived.set())
        worker = threading.Thread(target=mem.put, args=("from a thread",))
        worker.start()
        assert arrived.wait(5)
        worker.join()

    def test_clear_forgets_events(self) -> None:
        """clear() empties the stream."""
        mem = MemoryLogStream()
        mem.put("x")
        mem.clear()
        assert 0 == len(mem)


class TestMemoryHandler:
    def test_records_use_the_cloudwatch_json_schema(self, logger: logging.Logger) -> None:
        """The captured message is the JSON the CloudWatchHandler would send."""
        mem = MemoryLogStream()
        logger.addHandler(mem.handler(service="api", environment="test"))
        logger.info("order %s placed", 42, extra={"order_id": 42})
        (event,) = mem.all()
        fields = orjson.loads(event.message)
        assert {
            "level": "info",
            "message": "order 42 placed",
            "logger": logger.name,
            "service": "api",
            "environment": "test",
            "order_id": 42,
        }.items() <= fields.items()

    def test_bound_context_ids_are_captured(self, logger: logging.Logger) -> None:
        """trace_id bound with cwlogs.bind appears in the captured event."""
        mem = MemoryLogStream()
        logger.addHandler(mem.handler())
        with bind(trace_id="t-9"):
            logger.warning("slow")
        assert ["t-9"] == [e.trace_id for e in mem.all()]

    def test_pii_is_redacted_by_default(self, logger: logging.Logger) -> None:
        """Like the real handler, emails and passwords never reach the captured text."""
        mem = MemoryLogStream()
        logger.addHandler(mem.handler())
        logger.info("signup jane@example.com", extra={"password": "hunter2"})
        (event,) = mem.all()
        assert ("jane@example.com" not in event.message, "hunter2" not in event.message) == (
            True,
            True,
        )

    def test_json_formatter_static_fields_are_used(self, logger: logging.Logger) -> None:
        """A JsonFormatter's static fields join the event, as with CloudWatchHandler."""
        mem = MemoryLogStream()
        logger.addHandler(mem.handler(formatter=JsonFormatter({"team": "core"})))
        logger.info("hi")
        assert ["core"] == [e.get("team") for e in mem.all()]

    def test_plain_formatter_sends_text(self, logger: logging.Logger) -> None:
        """A non-JSON formatter's output is stored as is."""
        mem = MemoryLogStream()
        logger.addHandler(mem.handler(formatter=logging.Formatter("%(levelname)s %(message)s")))
        logger.error("boom")
        assert ["ERROR boom"] == [e.message for e in mem.all()]

    def test_capture_attaches_and_detaches(self, logger: logging.Logger) -> None:
        """capture() records inside the block only."""
        with capture(logger) as mem:
            logger.info("inside")
        logger.info("outside")
        assert ["inside"] == mem.messages()


class TestReplay:
    def _events(self, *offsets_ms: int) -> list[LogEvent]:
        return [LogEvent.from_message(f"m{i}", T0 + off) for i, off in enumerate(offsets_ms)]

    def test_gaps_are_scaled_by_time_scale(self) -> None:
        """With time_scale 0.5, a 1 s gap becomes a 0.5 s wait."""
        now = [0.0]
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(round(seconds, 3))
            now[0] += seconds

        got: list[str] = []
        replay(
            self._events(0, 1000, 3000),
            lambda e: got.append(e.message),
            time_scale=0.5,
            sleep=sleep,
            clock=lambda: now[0],
        )
        assert (["m0", "m1", "m2"], [0.5, 1.0]) == (got, waits)

    def test_time_scale_zero_never_waits(self) -> None:
        """time_scale=0 replays as fast as possible."""
        waits: list[float] = []
        result = replay(self._events(0, 60_000), MemoryLogStream(), 0, sleep=waits.append)
        assert (2, []) == (result.replayed, waits)

    def test_source_is_replayed_in_time_order(self) -> None:
        """Out-of-order input is delivered sorted by timestamp."""
        got: list[str] = []
        replay(self._events(500, 0, 250), lambda e: got.append(e.message), 0)
        assert ["m1", "m2", "m0"] == got

    def test_transform_can_change_or_drop(self) -> None:
        """transform's return value is delivered; None drops the event."""
        target = MemoryLogStream()
        result = replay(
            self._events(0, 1, 2),
            target,
            0,
            transform=lambda e: None if e.message == "m1" else e,
        )
        assert (["m0", "m2"], 1) == ([e.message for e in target.all()], result.dropped)

    def test_rebase_moves_the_first_event_to_now(self) -> None:
        """rebase shifts timestamps so old incidents replay as if they happened now."""
        target = MemoryLogStream()
        replay(self._events(0, 1000), target, 0, rebase=True)
        first, second = target.all()
        assert (1000, True) == (
            second.timestamp_ms - first.timestamp_ms,
            first.timestamp_ms > T0 + 86_400_000,
        )

    def test_ndjson_round_trip(self, tmp_path: Path) -> None:
        """write_ndjson then replay from the file gives back the same messages."""
        path = tmp_path / "incident.ndjson"
        events = generate_events(25, START, END, seed=8)
        write_ndjson(events, path)
        target = MemoryLogStream()
        replay(str(path), target, 0)
        assert [e.message for e in events] == [e.message for e in target.all()]

    def test_ndjson_lines_may_be_plain_json_events(self, tmp_path: Path) -> None:
        """A line without an envelope is the event itself, timed by its own timestamp."""
        path = tmp_path / "raw.jsonl"
        path.write_text('{"timestamp": "2024-05-01T12:00:00Z", "level": "error", "message": "x"}\n')
        (event,) = read_ndjson(path)
        assert (T0, "error", "x") == (event.timestamp_ms, event.level, event.get("message"))

    def test_dicts_in_memory_are_accepted(self) -> None:
        """In-memory sources may be {timestamp, message} dicts."""
        got: list[int] = []
        replay([{"timestamp": T0, "message": "hi"}], lambda e: got.append(e.timestamp_ms), 0)
        assert [T0] == got
