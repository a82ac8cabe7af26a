"""The read API against a real endpoint (moto server behind the strict proxy).

Where moto cannot do something (JSON patterns match everything, Insights ignores
``filter``/``stats``, Live Tail sends one snapshot and ends) these tests exercise the
fallback path for real; tests/unit/test_query_stubbed.py covers the other side.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from itertools import islice
from typing import Any

import orjson
import pytest

from cwlogs.context import bind
from cwlogs.errors import InvalidParameterError, ResourceNotFoundError
from cwlogs.insights import by_request_id, by_trace_id, correlate, insights, statistics
from cwlogs.query import (
    expand_groups,
    filter_events,
    get_events,
    read_groups,
    search,
    tail,
)
from cwlogs.testing import Fault, StrictProxy
from cwlogs.timeparse import TimeParseError
from cwlogs.tools import dispatch
from tests.conftest import now_ms

pytestmark = pytest.mark.usefixtures("fast_reads")


def put(logs: Any, group: str, stream: str, messages: list[Any], t0: int | None = None) -> int:
    """Store messages (dicts become JSON) 1 ms apart; returns the first timestamp."""
    start = now_ms() - 60_000 if t0 is None else t0
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = [
        {
            "timestamp": start + i,
            "message": m if isinstance(m, str) else orjson.dumps(m).decode(),
        }
        for i, m in enumerate(messages)
    ]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return start


class TestPagination:
    def test_filter_events_reads_every_page(
        self, logs: Any, group: str, proxy: StrictProxy
    ) -> None:
        """Nine events at two per page come back complete, over more than three calls."""
        put(logs, group, "a", [f"event {i}" for i in range(9)])
        found = [e.message for e in filter_events(group, page_size=2, client=logs)]
        assert ([f"event {i}" for i in range(9)], True) == (
            found,
            len(proxy.calls("FilterLogEvents")) > 3,
        )

    def test_get_events_reads_every_page_and_stops(
        self, logs: Any, group: str, proxy: StrictProxy
    ) -> None:
        """GetLogEvents is followed to the repeated token: all events, no endless loop."""
        put(logs, group, "a", [f"event {i}" for i in range(7)])
        found = [e.message for e in get_events(group, "a", page_size=2, client=logs)]
        assert ([f"event {i}" for i in range(7)], 5) == (
            found,
            len(proxy.calls("GetLogEvents")),
        )

    def test_get_events_newest_first(self, logs: Any, group: str) -> None:
        """from_head=False returns the newest events first."""
        put(logs, group, "a", [f"event {i}" for i in range(5)])
        found = [
            e.message for e in get_events(group, "a", from_head=False, page_size=2, client=logs)
        ]
        assert [f"event {i}" for i in reversed(range(5))] == found


class TestFiltering:
    def test_json_pattern_is_enforced_client_side(self, logs: Any, group: str) -> None:
        """moto returns every event for a JSON pattern; filter_events returns only matches."""
        put(
            logs,
            group,
            "a",
            [
                {"level": "error", "n": 1},
                {"level": "info", "n": 2},
                {"level": "error", "n": 3},
                "plain text",
            ],
        )
        pattern = '{ $.level = "error" }'
        served = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
        found = [e.get("n") for e in filter_events(group, pattern, client=logs)]
        assert (4, [1, 3]) == (len(served), found)

    def test_stream_prefix_and_time_window(self, logs: Any, group: str) -> None:
        """Only the prefixed streams' events inside [start, end] are returned."""
        t0 = put(logs, group, "web-1", ["w0", "w1", "w2"])
        put(logs, group, "worker-1", ["k0", "k1", "k2"], t0)
        found = filter_events(group, stream_prefix="web", since=t0 + 1, until=t0 + 2, client=logs)
        assert ["w1", "w2"] == [e.message for e in found]

    def test_events_are_typed(self, logs: Any, group: str) -> None:
        """Events carry an aware timestamp, group, stream, id and parsed JSON fields."""
        t0 = put(logs, group, "a", [{"level": "WARNING", "service": "api", "trace_id": "t1"}])
        (event,) = filter_events(group, client=logs)
        assert (t0, group, "a", True, "warning", "api", "t1") == (
            event.timestamp_ms,
            event.group,
            event.stream,
            event.event_id is not None and event.timestamp.tzinfo is not None,
            event.level,
            event.service,
            event.trace_id,
        )


class TestCorrelation:
    def test_trace_across_two_groups_written_by_two_handlers(
        self, logs: Any, make_handler: Any, group: str, proxy: StrictProxy
    ) -> None:
        """Events of one trace from two services come back merged by time, strangers excluded."""
        api_group, pay_group = f"{group}/api", f"{group}/payments"
        api = logging.getLogger(f"api.{uuid.uuid4().hex[:6]}")
        pay = logging.getLogger(f"payments.{uuid.uuid4().hex[:6]}")
        api_handler = make_handler(log_group=api_group, service="api")
        pay_handler = make_handler(log_group=pay_group, service="payments")
        clock = itertools.count(time.time() - 10, 0.005)

        def stamp(record: logging.LogRecord) -> bool:
            # Distinct, ordered creation times across both services, without sleeping.
            record.created = next(clock)
            return True

        for logger, handler in ((api, api_handler), (pay, pay_handler)):
            logger.propagate = False
            logger.setLevel(logging.INFO)
            logger.addFilter(stamp)
            logger.addHandler(handler)
        trace = uuid.uuid4().hex
        try:
            with bind(trace_id=trace):
                api.info("checkout started")
                pay.error("card declined")
                api.warning("checkout failed")
            with bind(trace_id=uuid.uuid4().hex):
                api.info("someone else")
                pay.info("someone else")
            assert api_handler.flush(timeout=10) and pay_handler.flush(timeout=10)
        finally:
            api.removeHandler(api_handler)
            pay.removeHandler(pay_handler)
        proxy.clear()
        found = by_trace_id([api_group, pay_group], trace, since="5m", client=logs)
        assert [
            (api_group, "api", "info", "checkout started"),
            (pay_group, "payments", "error", "card declined"),
            (api_group, "api", "warning", "checkout failed"),
        ] == [(e.group, e.service, e.level, e.get("message")) for e in found]
        # moto's Insights ignores `filter`, so the verified FilterLogEvents path answered.
        assert len(proxy.calls("FilterLogEvents")) >= 2

    def test_request_id_correlation_checks_the_field_exactly(self, logs: Any, group: str) -> None:
        """A request id that is a prefix of another does not pull in the other request."""
        put(
            logs,
            group,
            "a",
            [
                {"request_id": "r-1", "n": 1},
                {"request_id": "r-10", "n": 2},
                {"request_id": "r-1", "n": 3},
            ],
        )
        found = by_request_id(group, "r-1", since="5m", client=logs)
        assert [1, 3] == [e.get("n") for e in found]


class TestInsights:
    def test_fields_query_returns_rows_with_ptr_aside(self, logs: Any, group: str) -> None:
        """moto runs `fields | sort | limit`: rows are dicts, @ptr kept in pointers."""
        put(logs, group, "a", ["first", "second", "third"])
        result = insights(
            group,
            "fields @timestamp, @message | sort @timestamp desc | limit 2",
            since="5m",
            client=logs,
            poll_interval=0.01,
        )
        assert (["third", "second"], 2, False) == (
            [row["@message"] for row in result.rows],
            len([p for p in result.pointers if p is not None]),
            any("@ptr" in row for row in result.rows),
        )

    def test_progress_reports_every_poll_until_complete(self, logs: Any, group: str) -> None:
        """The progress callback sees each polled status; the last one is Complete."""
        put(logs, group, "a", ["first"])
        statuses: list[str] = []
        insights(
            group,
            "fields @message",
            since="5m",
            client=logs,
            poll_interval=0.01,
            progress=lambda status, _stats: statuses.append(status),
        )
        assert "Complete" == statuses[-1]


class TestStatistics:
    def test_counts_by_level_are_computed_client_side(self, logs: Any, group: str) -> None:
        """moto ignores `stats`; the counts are still right, from the events themselves."""
        put(
            logs,
            group,
            "a",
            [
                {"level": "error"},
                {"level": "info"},
                {"level": "info"},
                "WARN disk",
                "no level here",
            ],
        )
        counts = statistics(group, since="5m", by="level", client=logs)
        assert {"error": 1, "info": 2, "unknown": 1, "warning": 1} == counts

    def test_counts_by_stream(self, logs: Any, group: str) -> None:
        """by='stream' counts per log stream."""
        t0 = put(logs, group, "a", ["1", "2"])
        put(logs, group, "b", ["3"], t0)
        assert {"a": 2, "b": 1} == statistics(group, since="5m", by="stream", client=logs)

    def test_counts_by_minute(self, logs: Any, group: str) -> None:
        """by='minute' buckets by UTC minute start."""
        base = (now_ms() - 180_000) // 60_000 * 60_000
        put(logs, group, "a", ["x", "y"], base)
        put(logs, group, "a", ["z"], base + 60_000)
        counts = statistics(group, since=base, by="minute", client=logs)
        assert [2, 1] == list(counts.values())


class TestSearch:
    def test_one_pattern_across_prefixed_groups_merged_by_time(self, logs: Any, group: str) -> None:
        """Matches from every group under the prefixes arrive in time order; others are ignored."""
        t0 = now_ms() - 30_000
        put(logs, f"{group}/a", "s", ["ERROR a0", "ok", "ERROR a2"], t0)
        put(logs, f"{group}/a", "t", ["ERROR a1"], t0 + 1)
        put(logs, f"{group}/b", "s", ["ERROR b0", "ERROR b1"], t0 + 10)
        put(logs, f"{group}-other", "s", ["ERROR elsewhere"], t0)
        found = search([f"{group}/"], "ERROR", since="5m", client=logs)
        expected = ["ERROR a0", "ERROR a1", "ERROR a2", "ERROR b0", "ERROR b1"]
        assert expected == [e.message for e in found]


class TestReadGroups:
    def test_interleaves_groups_in_time_order(self, logs: Any, group: str) -> None:
        """Two groups written at alternating times come back as one timeline."""
        other = f"{group}-other"
        t0 = now_ms() - 60_000
        for i in range(3):
            put(logs, group, "a", [f"a{i}"], t0 + 10 * i)
            put(logs, other, "b", [f"b{i}"], t0 + 10 * i + 5)
        found = [e.message for e in read_groups([group, other], since="5m", client=logs)]
        assert ["a0", "b0", "a1", "b1", "a2", "b2"] == found

    def test_stream_prefix_and_end_narrow_one_group(self, logs: Any, group: str) -> None:
        """Only the prefixed streams, and nothing after the end, are read from that group."""
        t0 = now_ms() - 60_000
        put(logs, group, "web-1", ["web early", "web late"], t0)
        put(logs, group, "db-1", ["db early"], t0)
        found = read_groups([(group, "web-")], since=t0, until=t0, client=logs)
        assert ["web early"] == [e.message for e in found]

    def test_same_millisecond_events_keep_stored_order(self, logs: Any, group: str) -> None:
        """Eleven events in one millisecond come back in the order they were stored."""
        t0 = now_ms() - 60_000
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="a")
        batch = [{"timestamp": t0, "message": f"m{i}"} for i in range(11)]
        logs.put_log_events(logGroupName=group, logStreamName="a", logEvents=batch)
        found = [e.message for e in read_groups(group, since="5m", client=logs)]
        assert [f"m{i}" for i in range(11)] == found


class TestExpandGroups:
    def test_wildcard_and_prefix_expand_to_existing_groups(self, logs: Any, group: str) -> None:
        """A wildcard and a prefix select the groups that exist, each once."""
        for suffix in ("api-prod", "api-dev", "worker-prod"):
            put(logs, f"{group}/{suffix}", "a", ["x"])
        found = expand_groups([f"{group}/*-prod", f"{group}/api"], client=logs)
        assert [f"{group}/api-prod", f"{group}/worker-prod", f"{group}/api-dev"] == found

    def test_unknown_group_suggests_the_close_one(self, logs: Any, group: str) -> None:
        """A typo raises not-found naming the group that was meant."""
        put(logs, f"{group}/payments", "a", ["x"])
        with pytest.raises(ResourceNotFoundError, match="did you mean"):
            expand_groups(f"{group}/paymnets", client=logs)


class TestTail:
    def test_follows_new_events_after_live_tail_ends(
        self, logs: Any, group: str, proxy: StrictProxy
    ) -> None:
        """Live Tail is tried; when moto's session ends, polling delivers new events, once each."""
        put(logs, group, "a", ["old 1", "old 2"])
        follow = tail(group, since="5m", poll_interval=0.05, duration=20, client=logs)
        backfill = [e.message for e in islice(follow, 2)]
        put(logs, group, "a", ["new 1", "new 2"], now_ms())
        fresh = [e.message for e in islice(follow, 2)]
        follow.close()
        assert (["old 1", "old 2"], ["new 1", "new 2"], 1) == (
            backfill,
            fresh,
            len(proxy.calls("StartLiveTail")),
        )

    def test_live_tail_keeps_only_the_followed_groups(self, logs: Any, group: str) -> None:
        """Live Tail results for a group that is not followed are dropped."""
        put(logs, group, "a", ["mine"], now_ms() + 1000)
        put(logs, f"{group}-other", "a", ["not mine"], now_ms() + 1000)
        follow = tail(group, since="5m", poll_interval=0.05, duration=1, client=logs)
        assert [(group, "mine")] == [(e.group, e.message) for e in follow]

    def test_live_mode_reopens_a_session_that_ends(self, logs: Any, group: str) -> None:
        """mode="live" keeps following after a session ends (moto's end at once), saying so once."""
        put(logs, group, "a", ["old"])
        statuses: list[str] = []
        follow = tail(
            group, since="5m", mode="live", poll_interval=0.02, duration=20, client=logs,
            on_status=lambda s: statuses.append(s.state),
        )  # fmt: skip
        first = next(follow).message
        put(logs, group, "a", ["new"], now_ms())
        second = next(follow).message
        follow.close()
        assert ("old", "new", ["reopening"]) == (first, second, statuses)

    def test_keeps_going_through_throttling(
        self, logs: Any, group: str, proxy: StrictProxy
    ) -> None:
        """Throttled polls are backed off and retried; the tail does not exit."""
        put(logs, group, "a", ["hello"])
        proxy.inject("FilterLogEvents", Fault.throttle(), times=2)
        follow = tail(group, since="5m", mode="poll", poll_interval=0.01, duration=20, client=logs)
        first = next(follow)
        follow.close()
        assert ("hello", 3) == (first.message, len(proxy.calls("FilterLogEvents")))

    def test_pattern_is_applied_to_followed_events(self, logs: Any, group: str) -> None:
        """Only events matching the pattern are followed, even though moto ignores it."""
        put(logs, group, "a", [{"level": "info", "n": 1}, {"level": "error", "n": 2}])
        follow = tail(
            group,
            '{ $.level = "error" }',
            since="5m",
            mode="poll",
            poll_interval=0.01,
            duration=20,
            client=logs,
        )
        first = next(follow)
        follow.close()
        assert 2 == first.get("n")

    def test_stream_prefix_narrows_a_followed_group(self, logs: Any, group: str) -> None:
        """A (group, prefix) source follows only the streams with that prefix."""
        put(logs, group, "db-1", ["db"])
        put(logs, group, "web-1", ["web"])
        follow = tail(
            [(group, "web-")], since="5m", mode="poll", poll_interval=0.01, duration=20, client=logs
        )
        first = next(follow)
        follow.close()
        assert ("web-1", "web") == (first.stream, first.message)


class TestTools:
    def test_fetch_logs_redacts_pii(self, logs: Any, group: str) -> None:
        """Tool results are JSON with emails and secrets masked."""
        put(
            logs,
            group,
            "a",
            [{"level": "info", "message": "signup jane@example.com", "password": "hunter2"}],
        )
        result = dispatch("fetch_logs", {"group": group, "start": "5m"}, client=logs)
        text = orjson.dumps(result).decode()
        assert (1, False, False) == (
            result["count"],
            "jane@example.com" in text,
            "hunter2" in text,
        )

    def test_statistics_and_trace_tools(self, logs: Any, group: str) -> None:
        """get_log_statistics and by_trace_id answer through the dispatcher."""
        put(logs, group, "a", [{"level": "error", "trace_id": "abc"}, {"level": "info"}])
        stats = dispatch("get_log_statistics", {"group": group, "start": "5m"}, client=logs)
        trace = dispatch(
            "by_trace_id", {"groups": [group], "trace_id": "abc", "start": "5m"}, client=logs
        )
        assert ({"error": 1, "info": 1}, 1, [group]) == (
            stats["counts"],
            trace["count"],
            trace["groups"],
        )

    def test_list_and_search_tools(self, logs: Any, group: str) -> None:
        """list_log_groups finds the group and search_logs finds its events."""
        put(logs, group, "a", ["ERROR boom", "fine"])
        listed = dispatch("list_log_groups", {"prefix": group}, client=logs)
        found = dispatch(
            "search_logs",
            {"group_prefixes": [group], "pattern": "ERROR", "start": "5m"},
            client=logs,
        )
        assert ([group], ["ERROR boom"]) == (
            [g["name"] for g in listed["log_groups"]],
            [e["message"] for e in found["events"]],
        )

    def test_errors_come_back_as_json(self, logs: Any, group: str) -> None:
        """A missing group is reported to the agent, not raised."""
        result = dispatch("fetch_logs", {"group": f"{group}-missing"}, client=logs)
        assert "ResourceNotFoundError" == result["error"]["type"]

    def test_bad_arguments_come_back_as_json(self, logs: Any) -> None:
        """Arguments outside the schema are explained to the agent."""
        result = dispatch("fetch_logs", {"group": "/g", "limit": 0, "colour": "red"}, client=logs)
        assert "colour" in result["error"]["message"]


# --------------------------------------------------------------------------- issue 14


class TestOneWayToCall:
    def test_a_time_where_a_list_is_meant_raises_type_error_at_the_call(
        self, logs: Any, group: str
    ) -> None:
        """`filter_events(group, None, "2h")` names the mistake instead of finding nothing."""
        put(logs, group, "s", ["one"])
        with pytest.raises(TypeError, match="since="):
            filter_events(group, None, "2h", client=logs)  # type: ignore[arg-type]

    def test_old_time_names_still_work_with_a_warning(self, logs: Any, group: str) -> None:
        """start=/end= are accepted for one release, with a DeprecationWarning naming since=."""
        t0 = put(logs, group, "s", ["one", "two"])
        with pytest.warns(DeprecationWarning, match="since="):
            old = [e.message for e in read_groups(group, start=t0, client=logs)]
        assert old == [e.message for e in read_groups(group, since=t0, client=logs)]

    def test_not_found_names_the_group_everywhere(self, logs: Any, group: str) -> None:
        """filter_events, read_groups and the tools name the missing group and a close one."""
        put(logs, group, "s", ["one"])
        typo = group + "x"
        with pytest.raises(ResourceNotFoundError) as filtered:
            list(filter_events(typo, client=logs))
        with pytest.raises(ResourceNotFoundError) as read:
            read_groups([typo], client=logs)
        tool = dispatch("fetch_logs", {"group": typo}, client=logs)["error"]["message"]
        assert [f"{typo!r} not found" in m and group in m.split("did you mean")[1]
                for m in (str(filtered.value), str(read.value), tool)] == [True] * 3  # fmt: skip

    def test_by_trace_id_expands_a_group_prefix(self, logs: Any, group: str) -> None:
        """Like the CLI, by_trace_id takes a prefix and reads every group under it."""
        put(logs, f"{group}/api", "s", [{"trace_id": "t-9", "message": "in"}])
        put(logs, f"{group}/pay", "s", [{"trace_id": "t-9", "message": "paid"}])
        found = by_trace_id(f"{group}/", "t-9", since="5m", client=logs)
        assert sorted(e.group for e in found) == [f"{group}/api", f"{group}/pay"]

    def test_library_warnings_do_not_reach_last_resort(self) -> None:
        """The `cwlogs` logger has a NullHandler: an unconfigured app prints nothing."""
        import subprocess
        import sys

        code = "import cwlogs, logging; logging.getLogger('cwlogs.query').warning('leak')"
        done = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True
        )
        assert done.stderr == ""


class TestStreamingReads:
    def test_first_event_after_one_page_per_group(self, logs: Any, group: str) -> None:
        """merged_events yields after each group's first page, then pages on demand."""
        from cwlogs.query import merged_events

        t0 = put(logs, f"{group}/a", "s", [f"a{i}" for i in range(6)])
        put(logs, f"{group}/b", "s", [f"b{i}" for i in range(6)], t0)
        pages: list[str] = []
        events = merged_events([f"{group}/a", f"{group}/b"], since=t0, page_size=2,
                               client=logs, on_page=lambda g, n: pages.append(g[-1]))  # fmt: skip
        first = next(events)
        after_first = list(pages)
        rest = [e.message for e in events]
        assert (first.message, after_first, rest[:3], len(pages)) == (
            "a0",
            ["a", "b"],
            ["b0", "a1", "b1"],
            6,
        )


class TestArgumentChecks:
    @pytest.mark.parametrize(
        "call",
        [
            lambda c: by_trace_id("", "t", client=c),
            lambda c: by_trace_id([""], "t", client=c),
            lambda c: by_trace_id([], "t", client=c),
            lambda c: by_trace_id(["  "], "t", client=c),
            lambda c: expand_groups([""], client=c),
            lambda c: expand_groups([], client=c),
        ],
    )
    def test_empty_group_names_are_refused(self, logs: Any, proxy: StrictProxy, call: Any) -> None:
        """An empty name (a prefix of every group) or an empty list is refused, nothing read."""
        with pytest.raises(ValueError, match="group"):
            call(logs)
        assert [] == proxy.calls("DescribeLogGroups")

    def test_correlate_refuses_an_empty_name_among_others(self, logs: Any, group: str) -> None:
        """correlate(["", G]) does not read every group."""
        with pytest.raises(ValueError, match="empty log group name"):
            by_trace_id(["", group], "t", client=logs)

    @pytest.mark.parametrize(
        "call",
        [
            lambda c, g: by_trace_id(g, ["t-1"], client=c),
            lambda c, g: by_request_id(g, 42, client=c),
            lambda c, g: correlate(g, "status", 200, client=c),
        ],
    )
    def test_ids_must_be_strings(self, logs: Any, group: str, call: Any) -> None:
        """An id that is not a string is a TypeError naming it, not an empty result."""
        with pytest.raises(TypeError, match="must be a string"):
            call(logs, group)

    @pytest.mark.parametrize("kwargs", [{"poll_interval": 0}, {"lookback": -1}])
    def test_tail_refuses_intervals_that_cannot_work(self, logs: Any, kwargs: Any) -> None:
        """A zero poll interval (busy loop) or a negative lookback is refused at the call."""
        with pytest.raises(InvalidParameterError, match=next(iter(kwargs))):
            tail("/no/such/group", client=logs, **kwargs)

    def test_negative_epoch_is_a_time_error(self, logs: Any, group: str) -> None:
        """since=-5 is refused as a time, not by botocore's parameter validation."""
        with pytest.raises(TimeParseError, match="negative"):
            list(filter_events(group, since=-5, client=logs))
