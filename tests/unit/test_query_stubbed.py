"""The read API against a Stubber'd client: pagination edge cases, Insights paths moto cannot serve.

moto never returns an empty FilterLogEvents page with a token, never evaluates Insights
``filter``/``stats``, never reports a malformed query and has no StopQuery; these tests
drive our side of those paths with botocore's Stubber on the real client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Final

import orjson
import pytest
from botocore.stub import ANY, Stubber

import cwlogs.insights
import cwlogs.manage
import cwlogs.query
from cwlogs._aws.calls import call_api
from cwlogs.client import make_client
from cwlogs.errors import (
    InvalidParameterError,
    MalformedQueryError,
    QueryFailedError,
    QueryTimeoutError,
    ResourceNotFoundError,
    ThrottlingError,
)
from cwlogs.filterpattern import FilterPatternError, compile_pattern
from cwlogs.insights import SAVED_QUERIES, by_trace_id, insights, statistics
from cwlogs.query import (
    LogEvent,
    RateLimiter,
    expand_groups,
    filter_events,
    find_log_groups,
    get_events,
    read_groups,
    suggest_groups,
    tail,
)

T0 = 1_714_564_800_000  # 2024-05-01T12:00:00Z


pytestmark = pytest.mark.usefixtures("fast_reads")


@pytest.fixture(scope="module")
def client() -> Any:
    # Stubber answers before signing, so no credentials are needed; building a client
    # costs ~0.3 s, so the module shares one and each test stubs it afresh.
    return make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9")


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def ev(i: int, message: str | None = None, stream: str = "s1", **fields: Any) -> dict[str, Any]:
    body = message if message is not None else orjson.dumps({"n": i, **fields}).decode()
    return {
        "logStreamName": stream,
        "timestamp": T0 + i,
        "message": body,
        "ingestionTime": T0 + i + 5,
        "eventId": f"id-{i}",
    }


def out_ev(i: int) -> dict[str, Any]:
    return {"timestamp": T0 + i, "message": orjson.dumps({"n": i}).decode(), "ingestionTime": T0}


def cells(**row: str) -> list[dict[str, str]]:
    return [{"field": k, "value": v} for k, v in row.items()]


class TestFilterEventsPagination:
    def test_follows_empty_pages_that_still_carry_a_token(self, client: Any, stub: Stubber) -> None:
        """An empty page with a nextToken is not the end: later pages are still read."""
        stub.add_response("filter_log_events", {"events": [ev(1)], "nextToken": "t1"})
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t2"})
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t3"})
        stub.add_response("filter_log_events", {"events": [ev(2)]})
        assert [1, 2] == [e.get("n") for e in filter_events("/g", client=client)]

    def test_stops_on_a_repeated_token(self, client: Any, stub: Stubber) -> None:
        """A server that hands back a token it already gave ends the scan instead of looping."""
        stub.add_response("filter_log_events", {"events": [ev(1)], "nextToken": "t1"})
        stub.add_response("filter_log_events", {"events": [ev(2)], "nextToken": "t2"})
        stub.add_response("filter_log_events", {"events": [ev(3)], "nextToken": "t1"})
        assert [1, 2, 3] == [e.get("n") for e in filter_events("/g", client=client)]

    def test_sends_pattern_streams_and_time_range(self, client: Any, stub: Stubber) -> None:
        """The pattern and range reach the service, so real AWS narrows the scan."""
        stub.add_response(
            "filter_log_events",
            {"events": []},
            {
                "logGroupName": "/g",
                "filterPattern": "ERROR",
                "logStreamNames": ["a", "b"],
                "startTime": T0,
                "endTime": T0 + 60_000,
                "limit": 50,
            },
        )
        found = filter_events(
            "/g", "ERROR", ["a", "b"], since=T0, until=T0 + 60_000, page_size=50, client=client
        )
        assert [] == list(found)

    def test_events_the_pattern_rejects_are_dropped(self, client: Any, stub: Stubber) -> None:
        """A lenient server's strangers never reach the caller."""
        stub.add_response(
            "filter_log_events",
            {"events": [ev(1, level="error"), ev(2, level="info"), ev(3, level="error")]},
        )
        found = filter_events("/g", '{ $.level = "error" }', client=client)
        assert [1, 3] == [e.get("n") for e in found]

    def test_a_malformed_pattern_fails_before_any_call(self, client: Any, stub: Stubber) -> None:
        """A bad pattern raises FilterPatternError locally; the service is never asked."""
        with pytest.raises(FilterPatternError):
            list(filter_events("/g", "{ $.level = }", client=client))

    def test_streams_and_prefix_together_are_refused(self, client: Any, stub: Stubber) -> None:
        """FilterLogEvents takes one of streams or prefix; both is a caller error."""
        with pytest.raises(InvalidParameterError, match="not both"):
            list(filter_events("/g", streams=["a"], stream_prefix="a", client=client))

    def test_limit_keeps_the_newest(self, client: Any, stub: Stubber) -> None:
        """limit keeps the newest events of the whole range, like the CLI's --limit."""
        stub.add_response("filter_log_events", {"events": [ev(1), ev(2)], "nextToken": "t"})
        stub.add_response("filter_log_events", {"events": [ev(3)]})
        assert [2, 3] == [e.get("n") for e in filter_events("/g", limit=2, client=client)]

    def test_missing_group_raises_the_taxonomy_error(self, client: Any, stub: Stubber) -> None:
        """ResourceNotFoundException becomes ResourceNotFoundError, cause kept."""
        stub.add_client_error("filter_log_events", "ResourceNotFoundException", "no such group")
        stub.add_response("describe_log_groups", groups_page("/missing-not"))
        with pytest.raises(ResourceNotFoundError, match="'/missing' not found") as info:
            list(filter_events("/missing", client=client))
        assert info.value.__cause__ is not None


class TestTypedEvents:
    def test_json_message_is_parsed_into_fields(self, client: Any, stub: Stubber) -> None:
        """Timestamps are aware datetimes and JSON messages expose their fields."""
        message = '{"level":"WARN","service":"api","trace_id":"t-1","request_id":"r-1"}'
        stub.add_response("filter_log_events", {"events": [ev(0, message, stream="web")]})
        (event,) = filter_events("/g", client=client)
        assert (
            datetime(2024, 5, 1, 12, tzinfo=timezone.utc),
            "/g",
            "web",
            "id-0",
            "warning",
            "api",
            "t-1",
            "r-1",
        ) == (
            event.timestamp,
            event.group,
            event.stream,
            event.event_id,
            event.level,
            event.service,
            event.trace_id,
            event.request_id,
        )

    def test_plain_text_has_no_fields_but_a_level(self) -> None:
        """Plain text keeps fields None and takes its level from a leading word."""
        event = LogEvent.from_message("ERROR db timeout", T0)
        assert (None, "error") == (event.fields, event.level)

    def test_dotted_field_lookup(self) -> None:
        """get() follows dotted paths into nested JSON."""
        event = LogEvent.from_message('{"http": {"status": 503}}', T0)
        assert 503 == event.get("http.status")


class TestGetEvents:
    def test_stops_when_the_forward_token_repeats(self, client: Any, stub: Stubber) -> None:
        """GetLogEvents signals the end by returning the token it was sent."""
        page = {"nextForwardToken": "f/1", "nextBackwardToken": "b/0"}
        stub.add_response("get_log_events", {"events": [out_ev(1), out_ev(2)], **page})
        stub.add_response(
            "get_log_events",
            {"events": [out_ev(3)], "nextForwardToken": "f/2", "nextBackwardToken": "b/1"},
            {"logGroupName": "/g", "logStreamName": "s", "startFromHead": True, "nextToken": "f/1"},
        )
        stub.add_response(
            "get_log_events", {"events": [], "nextForwardToken": "f/2", "nextBackwardToken": "b/2"}
        )
        assert [1, 2, 3] == [e.get("n") for e in get_events("/g", "s", client=client)]

    def test_from_tail_yields_newest_first(self, client: Any, stub: Stubber) -> None:
        """from_head=False walks backwards, newest event first."""
        stub.add_response(
            "get_log_events",
            {"events": [out_ev(3), out_ev(4)], "nextForwardToken": "f", "nextBackwardToken": "b/1"},
        )
        stub.add_response(
            "get_log_events",
            {"events": [out_ev(1), out_ev(2)], "nextForwardToken": "f", "nextBackwardToken": "b/2"},
        )
        stub.add_response(
            "get_log_events", {"events": [], "nextForwardToken": "f", "nextBackwardToken": "b/2"}
        )
        found = get_events("/g", "s", from_head=False, client=client)
        assert [4, 3, 2, 1] == [e.get("n") for e in found]


class TestInsights:
    def test_rows_are_dicts_with_ptr_kept_aside(self, client: Any, stub: Stubber) -> None:
        """Rows map field to value; @ptr goes to pointers; statistics are numbers."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [cells(**{"@ptr": "p1", "level": "error", "events": "3"})],
                "statistics": {"recordsMatched": 3.0, "recordsScanned": 10.0, "bytesScanned": 99.0},
            },
        )
        result = insights(
            "/g", "stats count(*) as events by level", since=T0, until=T0 + 1, client=client
        )
        assert ([{"level": "error", "events": "3"}], ["p1"], 10.0) == (
            result.rows,
            result.pointers,
            result.statistics["recordsScanned"],
        )

    def test_polls_until_complete(self, client: Any, stub: Stubber) -> None:
        """Scheduled and Running are waited out."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Scheduled", "results": []})
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_response("get_query_results", {"status": "Complete", "results": []})
        waits: list[float] = []
        result = insights(
            "/g", "fields @message", since=T0, until=T0 + 1, client=client, sleep=waits.append
        )
        assert ("Complete", 2) == (result.status, len(waits))

    def test_malformed_query_raises_with_the_service_message(
        self, client: Any, stub: Stubber
    ) -> None:
        """MalformedQueryException becomes MalformedQueryError carrying the service's words."""
        stub.add_client_error(
            "start_query", "MalformedQueryException", "unexpected symbol found | at line 1"
        )
        with pytest.raises(MalformedQueryError, match="unexpected symbol found"):
            insights("/g", "fields | |", since=T0, until=T0 + 1, client=client)

    def test_failed_query_raises(self, client: Any, stub: Stubber) -> None:
        """Status Failed raises QueryFailedError."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Failed", "results": []})
        with pytest.raises(QueryFailedError):
            insights("/g", "fields @message", since=T0, until=T0 + 1, client=client)

    def test_timeout_stops_the_query(self, client: Any, stub: Stubber) -> None:
        """Past the timeout the query is stopped, then QueryTimeoutError is raised."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q1"})
        with pytest.raises(QueryTimeoutError, match="stopped"):
            insights("/g", "fields @message", since=T0, until=T0 + 1, timeout=0, client=client)

    def test_a_failing_stop_query_does_not_hide_the_timeout(
        self, client: Any, stub: Stubber
    ) -> None:
        """StopQuery failing (moto: 500) still ends in QueryTimeoutError, which says so once."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_client_error("stop_query", "InternalFailure", "<html>boom</html>", 500)
        with pytest.raises(QueryTimeoutError) as info:
            insights("/g", "fields @message", since=T0, until=T0 + 1, timeout=0, client=client)
        text = str(info.value)
        assert ("could not stop it" in text, "stopped it" in text, "<" in text) == (
            True,
            False,
            False,
        )

    def test_insights_limit_is_checked_against_the_service_maximum(self, client: Any) -> None:
        """limit must be 1..10,000, checked before anything is sent."""
        with pytest.raises(InvalidParameterError, match="1 to 10,000"):
            insights("/g", "fields @message", limit=20_000, client=client)

    def test_keyboard_interrupt_stops_the_query(self, client: Any, stub: Stubber) -> None:
        """Ctrl-C while waiting stops the query before propagating."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_response("stop_query", {"success": True}, {"queryId": "q1"})

        def interrupt(_: float) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            insights(
                "/g", "fields @message", since=T0, until=T0 + 1, client=client, sleep=interrupt
            )


class TestStatisticsWhereInsightsEvaluates:
    def test_counts_come_from_stats_rows(self, client: Any, stub: Stubber) -> None:
        """An endpoint that evaluates stats answers in one query, no event scan."""
        stub.add_response(
            "start_query",
            {"queryId": "q1"},
            {
                "logGroupNames": ["/g"],
                "startTime": ANY,
                "endTime": ANY,
                "queryString": "stats count(*) as events by level",
            },
        )
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [
                    cells(level="ERROR", events="4"),
                    cells(level="info", events="40"),
                    cells(events="2"),
                ],
            },
        )
        assert {"error": 4, "info": 40, "unknown": 2} == statistics("/g", client=client)

    def test_minute_bins_become_iso_keys(self, client: Any, stub: Stubber) -> None:
        """Insights' '2024-05-01 12:00:00.000' bins come back as ISO minute keys."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [
                    cells(**{"bin(1m)": "2024-05-01 12:01:00.000", "events": "5"}),
                    cells(**{"bin(1m)": "2024-05-01 12:00:00.000", "events": "7"}),
                ],
            },
        )
        counts = statistics("/g", by="minute", client=client)
        assert {"2024-05-01T12:00:00Z": 7, "2024-05-01T12:01:00Z": 5} == counts

    def test_rows_without_stats_columns_fall_back_to_counting(
        self, client: Any, stub: Stubber
    ) -> None:
        """Raw rows (stats ignored, as moto does) trigger a client-side count."""
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response(
            "get_query_results", {"status": "Complete", "results": [cells(**{"@ptr": "1"})]}
        )
        stub.add_response(
            "filter_log_events", {"events": [ev(1, level="error"), ev(2, level="info")]}
        )
        assert {"error": 1, "info": 1} == statistics("/g", since=T0, until=T0 + 10, client=client)

    def test_unknown_grouping_is_refused(self, client: Any) -> None:
        """by= must be level, minute, hour or stream."""
        with pytest.raises(InvalidParameterError, match="by must be"):
            statistics("/g", by="day", client=client)  # type: ignore[arg-type]


class TestCorrelationWhereInsightsEvaluates:
    def _row(self, group: str, i: int, trace: str) -> list[dict[str, str]]:
        message = orjson.dumps({"n": i, "trace_id": trace}).decode()
        return cells(
            **{
                "@ptr": f"p{i}",
                "@timestamp": "2024-05-01 12:00:00.00" + str(i),
                "@message": message,
                "@logStream": "s",
                "@log": f"123456789012:{group}",
            }
        )

    def test_verified_insights_rows_are_used_as_is(self, client: Any, stub: Stubber) -> None:
        """When every row carries the trace id, no FilterLogEvents fallback runs."""
        stub.add_response("describe_log_groups", groups_page("/a"))
        stub.add_response("describe_log_groups", groups_page("/b"))
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [self._row("/b", 2, "t-1"), self._row("/a", 1, "t-1")],
            },
        )
        found = by_trace_id(["/a", "/b"], "t-1", since=T0, until=T0 + 10, client=client)
        assert [("/a", 1), ("/b", 2)] == [(e.group, e.get("n")) for e in found]

    def test_strangers_from_insights_trigger_the_verified_fallback(
        self, client: Any, stub: Stubber
    ) -> None:
        """A row for another trace means the filter was ignored: FilterLogEvents decides."""
        stub.add_response("describe_log_groups", groups_page("/a"))
        stub.add_response("start_query", {"queryId": "q1"})
        stub.add_response(
            "get_query_results",
            {
                "status": "Complete",
                "results": [self._row("/a", 1, "t-1"), self._row("/a", 2, "t-2")],
            },
        )
        stub.add_response(
            "filter_log_events",
            {"events": [ev(1, trace_id="t-1"), ev(2, trace_id="t-2")]},
            {
                "logGroupName": "/a",
                "filterPattern": '{ $.trace_id = "t-1" }',
                "startTime": T0,
                "endTime": T0 + 10,
            },
        )
        found = by_trace_id("/a", "t-1", since=T0, until=T0 + 10, client=client)
        assert [1] == [e.get("n") for e in found]

    def test_ids_that_would_widen_the_pattern_are_refused(self, client: Any) -> None:
        """A wildcard id would match other traces, so it is refused."""
        with pytest.raises(InvalidParameterError):
            by_trace_id("/a", "t-*", client=client)


class TestTailPolling:
    def test_throttling_backs_off_instead_of_exiting(self, client: Any, stub: Stubber) -> None:
        """A throttled poll is retried after a back-off; the tail keeps going."""
        stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded")
        stub.add_response("filter_log_events", {"events": [ev(1)]})
        follow = tail("/g", since=T0, mode="poll", poll_interval=0.001, client=client)
        assert 1 == next(follow).get("n")
        follow.close()

    def test_falls_back_to_polling_when_live_tail_is_unsupported(
        self, client: Any, stub: Stubber
    ) -> None:
        """An endpoint without StartLiveTail is followed by polling FilterLogEvents."""
        stub.add_response(
            "describe_log_groups",
            {"logGroups": [{"logGroupName": "/g", "logGroupArn": "arn:aws:logs:r:1:log-group:/g"}]},
        )
        stub.add_client_error("start_live_tail", "InvalidOperationException", "not here")
        stub.add_response("filter_log_events", {"events": [ev(1)]})
        follow = tail("/g", since=T0, client=client, live_client=client, poll_interval=0.001)
        assert 1 == next(follow).get("n")
        follow.close()

    def test_polling_deduplicates_by_event_id(self, client: Any, stub: Stubber) -> None:
        """An event seen in one poll is not yielded again by the next (lookback overlap)."""
        stub.add_response("filter_log_events", {"events": [ev(1)]})
        stub.add_response("filter_log_events", {"events": [ev(1), ev(2)]})
        stop = threading.Event()
        follow = tail("/g", since=T0, mode="poll", poll_interval=0.001, stop=stop, client=client)
        first = next(follow).get("n")
        second = next(follow).get("n")
        stop.set()
        assert ([1, 2], []) == ([first, second], list(follow))

    def test_persistent_errors_other_than_throttling_propagate(
        self, client: Any, stub: Stubber
    ) -> None:
        """A missing group is not waited out: it raises."""
        stub.add_client_error("filter_log_events", "ResourceNotFoundException", "gone")
        with pytest.raises(ResourceNotFoundError):
            next(tail("/g", since=T0, mode="poll", client=client))


class _LiveStream:
    """StartLiveTail's responseStream: an iterable of events that can be closed."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def close(self) -> None:
        self.closed = True


class _LiveClient:
    """Stands in for the streaming client: Stubber cannot produce an event stream."""

    def __init__(self, stream: _LiveStream) -> None:
        self.stream = stream
        self.calls: list[dict[str, Any]] = []

    def start_live_tail(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"responseStream": self.stream}


class TestTailLive:
    ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/g"

    def test_live_events_are_mapped_filtered_and_deduplicated(
        self, client: Any, stub: Stubber
    ) -> None:
        """Live Tail results become LogEvents of the named group; older or seen ones are dropped."""
        stub.add_response(
            "describe_log_groups", {"logGroups": [{"logGroupName": "/g", "logGroupArn": self.ARN}]}
        )
        stub.add_response("filter_log_events", {"events": [ev(5, "ERROR backfilled")]})

        def result(i: int, message: str) -> dict[str, Any]:
            return {
                "logGroupIdentifier": self.ARN + ":*",
                "logStreamName": "s1",
                "timestamp": T0 + i,
                "ingestionTime": T0 + i,
                "message": message,
            }

        stream = _LiveStream(
            [
                {"sessionStart": {"sessionId": "x"}},
                {
                    "sessionUpdate": {
                        "sessionResults": [
                            result(-1000, "ERROR before since"),
                            result(5, "ERROR backfilled"),
                            result(9, "ERROR live"),
                        ]
                    }
                },
            ]
        )
        live = _LiveClient(stream)
        stop = threading.Event()
        follow = tail("/g", "ERROR", since=T0, client=client, live_client=live, stop=stop)
        seen = [next(follow), next(follow)]
        stop.set()
        rest = list(follow)
        assert (
            [("/g", "s1", "ERROR backfilled"), ("/g", "s1", "ERROR live")],
            [],
            [{"logGroupIdentifiers": [self.ARN], "logEventFilterPattern": "ERROR"}],
            True,
        ) == ([(e.group, e.stream, e.message) for e in seen], rest, live.calls, stream.closed)


class TestRateLimiter:
    def test_allows_a_burst_then_paces_at_the_rate(self) -> None:
        """After the burst, each call waits 1/rate seconds."""
        now = [0.0]
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(round(seconds, 6))
            now[0] += seconds

        limiter = RateLimiter(5.0, burst=2, clock=lambda: now[0], sleep=sleep)
        for _ in range(4):
            limiter.acquire()
        assert [0.2, 0.2] == waits

    def test_timeout_refuses_instead_of_waiting(self) -> None:
        """acquire(timeout) returns False rather than wait longer."""
        limiter = RateLimiter(1.0, burst=1, clock=lambda: 0.0, sleep=lambda _: None)
        assert (True, False) == (limiter.acquire(), limiter.acquire(timeout=0.1))


class TestCallApi:
    def test_throttling_is_retried_per_policy(self, client: Any, stub: Stubber) -> None:
        """A throttled call is retried and succeeds without the caller noticing."""
        stub.add_client_error("describe_log_groups", "ThrottlingException", "slow down")
        stub.add_response("describe_log_groups", {"logGroups": []})
        waits: list[float] = []
        call_api(
            "DescribeLogGroups",
            lambda: client.describe_log_groups(),
            sleep=waits.append,
            rng=lambda: 0.5,
        )
        assert [0.125] == waits

    def test_exhausted_retries_raise_the_mapped_error(self, client: Any, stub: Stubber) -> None:
        """With retry off, the first throttle surfaces as ThrottlingError."""
        stub.add_client_error("describe_log_groups", "ThrottlingException", "slow down")
        with pytest.raises(ThrottlingError):
            call_api("DescribeLogGroups", lambda: client.describe_log_groups(), retry=False)


SAVED_SAMPLES: Final = {
    "recent_errors": ('{"level": "error"}', '{"level": "info"}'),
    "one_trace": ('{"trace_id": "abc"}', '{"trace_id": "abd"}'),
    "slow_requests": ('{"duration_ms": 1500}', '{"duration_ms": 20}'),
    "error_count_by_tenant": (
        '{"level": "error", "tenant_id": "acme"}',
        '{"level": "error"}',
    ),
    "responses_5xx": ('{"status": 503}', '{"status": 404}'),
    "top_error_messages": ('{"level": "error"}', '{"level": "warning"}'),
}


class TestSavedQueries:
    @pytest.mark.parametrize("name", sorted(SAVED_QUERIES))
    def test_pattern_matches_what_the_query_is_about(self, name: str) -> None:
        """Each saved query's fallback pattern selects its events and not others."""
        saved = SAVED_QUERIES[name]("abc") if name == "one_trace" else SAVED_QUERIES[name]()
        hit, miss = SAVED_SAMPLES[name]
        assert saved.pattern is not None
        pattern = compile_pattern(saved.pattern)
        assert (True, False) == (pattern.matches(hit), pattern.matches(miss))


def groups_page(*names: str) -> dict[str, Any]:
    return {"logGroups": [{"logGroupName": n} for n in names]}


class TestReadGroups:
    def test_merges_groups_by_time(self, client: Any, stub: Stubber) -> None:
        """Events of several groups come back as one oldest-first sequence."""
        stub.add_response("filter_log_events", {"events": [ev(1), ev(3)]})
        stub.add_response("filter_log_events", {"events": [ev(2)]})
        found = read_groups(["/a", "/b"], since=T0, client=client)
        assert [("/a", 1), ("/b", 2), ("/a", 3)] == [(e.group, e.get("n")) for e in found]

    def test_same_millisecond_events_keep_stored_order(self, client: Any, stub: Stubber) -> None:
        """Ties on timestamp keep the stored order, even where event ids sort differently."""
        same = [{**ev(0, f"m{i}"), "eventId": str(i)} for i in (9, 10, 11)]
        stub.add_response("filter_log_events", {"events": same})
        found = read_groups("/a", since=T0, client=client)
        assert ["m9", "m10", "m11"] == [e.message for e in found]

    def test_ties_across_groups_order_by_group(self, client: Any, stub: Stubber) -> None:
        """Same-millisecond events of different groups are ordered by group name."""
        stub.add_response("filter_log_events", {"events": [ev(0, "from b")]})
        stub.add_response("filter_log_events", {"events": [ev(0, "from a")]})
        found = read_groups(["/b", "/a"], since=T0, client=client)
        assert ["from a", "from b"] == [e.message for e in found]

    def test_sends_each_groups_stream_prefix_and_the_end(self, client: Any, stub: Stubber) -> None:
        """A (group, prefix) source narrows that group only; the end time reaches the service."""
        expected = {"startTime": T0, "endTime": T0 + 10}
        stub.add_response(
            "filter_log_events",
            {"events": []},
            {"logGroupName": "/a", "logStreamNamePrefix": "web-", **expected},
        )
        stub.add_response("filter_log_events", {"events": []}, {"logGroupName": "/b", **expected})
        assert [] == read_groups([("/a", "web-"), "/b"], since=T0, until=T0 + 10, client=client)

    def test_limit_keeps_the_newest(self, client: Any, stub: Stubber) -> None:
        """``limit`` keeps the newest events of the merged sequence, like the CLI."""
        stub.add_response("filter_log_events", {"events": [ev(1), ev(2), ev(3)]})
        found = read_groups("/a", since=T0, limit=2, client=client)
        assert [2, 3] == [e.get("n") for e in found]

    def test_two_prefixes_for_one_group_are_refused(self, client: Any) -> None:
        """FilterLogEvents takes one stream prefix per group, so two is a caller error."""
        with pytest.raises(InvalidParameterError):
            read_groups([("/a", "x"), ("/a", "y")], client=client)

    def test_a_whole_group_wins_over_a_prefix(self, client: Any, stub: Stubber) -> None:
        """Asking for a group and for part of it reads the whole group once."""
        stub.add_response(
            "filter_log_events", {"events": []}, {"logGroupName": "/a", "startTime": T0}
        )
        assert [] == read_groups([("/a", "x"), "/a"], since=T0, client=client)


class TestTailStreamPrefixes:
    def test_polling_sends_the_groups_stream_prefix(self, client: Any, stub: Stubber) -> None:
        """A (group, prefix) source polls FilterLogEvents with that prefix."""
        stub.add_response(
            "filter_log_events",
            {"events": [ev(1, stream="web-1")]},
            {"logGroupName": "/g", "logStreamNamePrefix": "web-", "startTime": ANY},
        )
        follow = tail([("/g", "web-")], since=T0, mode="poll", client=client)
        assert "web-1" == next(follow).stream
        follow.close()

    def test_events_of_other_streams_are_dropped(self, client: Any, stub: Stubber) -> None:
        """An endpoint that ignores the prefix cannot leak other streams into the tail."""
        page = {"events": [ev(1, stream="db-1"), ev(2, stream="web-1")]}
        stub.add_response("filter_log_events", page)
        follow = tail([("/g", "web-")], since=T0, mode="poll", client=client)
        assert 2 == next(follow).get("n")
        follow.close()


class TestInsightsProgress:
    def test_progress_is_called_after_each_poll(self, client: Any, stub: Stubber) -> None:
        """Every GetQueryResults poll reports its status and statistics."""
        stub.add_response("start_query", {"queryId": "q1"})
        running = {"recordsMatched": 1.0, "recordsScanned": 5.0, "bytesScanned": 50.0}
        stub.add_response(
            "get_query_results", {"status": "Running", "results": [], "statistics": running}
        )
        stub.add_response("get_query_results", {"status": "Complete", "results": []})
        seen: list[tuple[str, float | None]] = []
        insights(
            "/g",
            "fields @message",
            since=T0,
            until=T0 + 1,
            client=client,
            sleep=lambda _: None,
            progress=lambda status, stats: seen.append((status, stats.get("recordsScanned"))),
        )
        assert [("Running", 5.0), ("Complete", None)] == seen


class TestGroupDiscovery:
    def test_an_exact_name_means_that_group_alone(self, client: Any, stub: Stubber) -> None:
        """A name that exists is not widened to the groups it is a prefix of."""
        stub.add_response("describe_log_groups", groups_page("/shop/api", "/shop/api-v2"))
        assert ["/shop/api"] == expand_groups("/shop/api", client=client)

    def test_a_prefix_expands_to_every_group_under_it(self, client: Any, stub: Stubber) -> None:
        """A spec that is not a group name selects the groups that start with it."""
        stub.add_response("describe_log_groups", groups_page("/shop/api", "/shop/worker"))
        assert ["/shop/api", "/shop/worker"] == expand_groups("/shop/", client=client)

    def test_a_wildcard_lists_from_its_literal_part(self, client: Any, stub: Stubber) -> None:
        """The service filters by prefix; the rest of the wildcard is matched locally."""
        stub.add_response(
            "describe_log_groups",
            groups_page("/aws/lambda/a-prod", "/aws/lambda/a-dev"),
            {"logGroupNamePrefix": "/aws/lambda/"},
        )
        found = [g["logGroupName"] for g in find_log_groups("/aws/lambda/*-prod", client=client)]
        assert ["/aws/lambda/a-prod"] == found

    def test_duplicates_across_specs_are_dropped(self, client: Any, stub: Stubber) -> None:
        """Each group appears once, in the order first named."""
        stub.add_response("describe_log_groups", groups_page("/a", "/b"))
        stub.add_response("describe_log_groups", groups_page("/b"))
        assert ["/a", "/b"] == expand_groups(["/", "/b"], client=client)

    def test_an_unknown_group_raises_with_close_matches(self, client: Any, stub: Stubber) -> None:
        """A spec that matches nothing names the closest existing groups."""
        stub.add_response("describe_log_groups", groups_page())
        stub.add_response("describe_log_groups", groups_page("/shop/api", "/shop/worker"))
        with pytest.raises(ResourceNotFoundError, match="did you mean /shop/api"):
            expand_groups("/shop/apii", client=client)

    def test_suggestions_fall_back_to_every_group(self, client: Any, stub: Stubber) -> None:
        """With nothing close among the siblings, every group is searched."""
        stub.add_response("describe_log_groups", groups_page(), {"logGroupNamePrefix": "/x/"})
        stub.add_response("describe_log_groups", groups_page(), {"logGroupNamePrefix": "/x"})
        stub.add_response("describe_log_groups", groups_page("/x-svc/api"), {})
        assert ["/x-svc/api"] == suggest_groups("/x/api", client=client)


class TestModuleLayout:
    @pytest.mark.parametrize("name", sorted(cwlogs.insights.__all__))
    def test_insights_names_are_re_exported_from_query(self, name: str) -> None:
        """Code that imported Insights names from cwlogs.query keeps working."""
        assert getattr(cwlogs.insights, name) is getattr(cwlogs.query, name)

    @pytest.mark.parametrize("module", [cwlogs.query, cwlogs.insights, cwlogs.manage])
    def test_every_public_name_is_bound_at_import(self, module: Any) -> None:
        """The faces list what they import: no lazy module __getattr__ stands in for a name."""
        assert not hasattr(module, "__getattr__")
        assert all(name in vars(module) for name in module.__all__)

    @pytest.mark.parametrize("name", ["call_api", "paginate", "resolve_client"])
    def test_plumbing_is_not_re_exported_from_manage(self, name: str) -> None:
        """The AWS call plumbing has one home, cwlogs._aws; the manage API does not pass it on."""
        assert not hasattr(cwlogs.manage, name)
