"""Replay and capture against a real endpoint (moto server behind the strict proxy)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from cwlogs.context import bind
from cwlogs.query import LogEvent, by_trace_id, filter_events
from cwlogs.simulate import MemoryLogStream, generate_events, replay, write_ndjson
from cwlogs.testing import StrictProxy
from tests.conftest import now_ms

pytestmark = pytest.mark.usefixtures("fast_reads")



class TestReplay:
    def test_group_to_group_with_time_scaling(self, logs: Any, group: str) -> None:
        """Events 0.5 s apart replayed at time_scale 0.2 take about 0.2 s, not 1 s, in order."""
        t0 = now_ms() - 60_000
        source = [LogEvent.from_message(f"m{i}", t0 + 500 * i, stream="web") for i in range(3)]
        replay(source, f"{group}/source", time_scale=0, client=logs)
        started = time.monotonic()
        result = replay(f"{group}/source", f"{group}/copy", time_scale=0.2, client=logs)
        elapsed = time.monotonic() - started
        copied = list(filter_events(f"{group}/copy", client=logs))
        assert (3, ["m0", "m1", "m2"], ["web"] * 3, [t0, t0 + 500, t0 + 1000]) == (
            result.replayed,
            [e.message for e in copied],
            [e.stream for e in copied],
            [e.timestamp_ms for e in copied],
        )
        assert 0.19 <= elapsed < 0.9

    def test_ndjson_file_to_group_as_fast_as_possible(
        self, logs: Any, group: str, tmp_path: Path
    ) -> None:
        """time_scale 0 replays a file of generated events at once, all of them stored."""
        events = generate_events(120, start="10m", end="1m", seed=11)
        path = tmp_path / "incident.ndjson"
        write_ndjson(events, path)
        started = time.monotonic()
        result = replay(str(path), group, time_scale=0, client=logs)
        elapsed = time.monotonic() - started
        stored = sorted(e.message for e in filter_events(group, client=logs))
        assert (120, sorted(e.message for e in events)) == (result.replayed, stored)
        assert elapsed < 5

    def test_events_spanning_over_a_day_are_split_across_calls(
        self, logs: Any, group: str, proxy: StrictProxy
    ) -> None:
        """One PutLogEvents call may span < 24 h: a 49 h replay lands whole, nothing refused."""
        hour = 3_600_000
        t0 = now_ms() - 50 * hour
        source = [LogEvent.from_message(f"m{i}", t0 + 24 * hour * i) for i in range(3)]
        result = replay(source, group, 0, client=logs)
        assert (3, 0, ["m0", "m1", "m2"]) == (
            result.replayed,
            proxy.stats()["rejected"].get("PutLogEvents", 0),
            [e.message for e in filter_events(group, client=logs)],
        )

    def test_stream_to_callback_with_transform(self, logs: Any, group: str) -> None:
        """A (group, stream) source is read back and passed through transform to a callback."""
        t0 = now_ms() - 60_000
        source = [LogEvent.from_message(f"m{i}", t0 + i, stream="s") for i in range(4)]
        replay(source, (group, "s"), 0, client=logs)
        got: list[str] = []
        replay(
            (group, "s"),
            lambda e: got.append(e.message),
            0,
            transform=lambda e: e if e.message != "m2" else None,
            client=logs,
        )
        assert ["m0", "m1", "m3"] == got

    def test_generated_traces_correlate_once_stored(self, logs: Any, group: str) -> None:
        """Generated events replayed into two groups can be followed by trace id."""
        events = generate_events(60, start="10m", end="1m", seed=12)
        replay([e for e in events if e.service == "api"], f"{group}/api", 0, client=logs)
        replay([e for e in events if e.service != "api"], f"{group}/rest", 0, client=logs)
        trace = next(
            t
            for t in {e.trace_id for e in events}
            if len({e.service for e in events if e.trace_id == t}) > 1
        )
        found = by_trace_id([f"{group}/api", f"{group}/rest"], str(trace), since="15m", client=logs)
        expected = [e.message for e in events if e.trace_id == trace]
        assert sorted(expected) == sorted(e.message for e in found)


class TestMemoryCapture:
    def test_captures_what_the_cloudwatch_handler_stores(
        self, logs: Any, group: str, make_handler: Any, app_logger: logging.Logger
    ) -> None:
        """The memory handler's event equals, field for field, what CloudWatch stored."""
        memory = MemoryLogStream()
        real = make_handler(service="api", environment="test")
        app_logger.addHandler(real)
        app_logger.addHandler(memory.handler(service="api", environment="test"))
        with bind(trace_id="t-1", tenant_id="acme"):
            app_logger.error("charge failed for jane@example.com", extra={"amount": 12})
        assert real.flush(timeout=10)
        (stored,) = filter_events(group, client=logs)
        (captured,) = memory.all()
        assert orjson.loads(stored.message) == orjson.loads(captured.message)
