"""Error mapping, retry policy, breaker and the exporter's per-error behaviour (Stubber)."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from cwlogs._aws.awserrors import map_client_error, map_exception
from cwlogs._aws.retry import CODE_TABLE, THROTTLE, TRANSIENT, backoff_delay, policy_for
from cwlogs._shipping.breaker import CircuitBreaker
from cwlogs._shipping.config import HandlerConfig
from cwlogs._shipping.event import prepared_item
from cwlogs._shipping.exporter import CloudWatchExporter
from cwlogs._shipping.snapshot import ITEM_TS
from cwlogs.client import make_client
from cwlogs.errors import (
    AccessDeniedError,
    ConnectionFailedError,
    CwlogsError,
    InternalServerError,
    InvalidParameterError,
    MalformedQueryError,
    ResourceNotFoundError,
    ThrottlingError,
)
from cwlogs.formatting import Event

OPERATIONS = [
    "PutLogEvents", "CreateLogGroup", "CreateLogStream", "PutRetentionPolicy",
    "DeleteRetentionPolicy", "TagResource", "DescribeLogGroups", "DescribeLogStreams",
    "GetLogEvents", "FilterLogEvents", "StartQuery", "GetQueryResults", "StopQuery",
    "PutMetricFilter", "DescribeMetricFilters", "DeleteMetricFilter", "PutSubscriptionFilter",
    "DescribeSubscriptionFilters", "DeleteSubscriptionFilter", "DeleteLogGroup",
    "DeleteLogStream", "StartLiveTail", "TestMetricFilter",
]  # fmt: skip


def _service_error_codes() -> set[str]:
    base = Path(botocore.__file__).parent / "data" / "logs" / "2014-03-28"
    path = base / "service-2.json.gz"
    if path.exists():
        with gzip.open(path) as fh:
            model = json.load(fh)
    else:
        model = json.loads((base / "service-2.json").read_text())
    return {e["shape"] for op in OPERATIONS for e in model["operations"][op].get("errors", [])}


def _client_error(code: str, status: int = 400, op: str = "PutLogEvents") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} says no"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        op,
    )


class TestMapping:
    def test_every_service_error_code_is_in_the_table(self) -> None:
        """Each error the service model declares for the operations we call has a mapping."""
        missing = _service_error_codes() - set(CODE_TABLE)
        assert missing == set()

    @pytest.mark.parametrize("code", sorted(_service_error_codes()))
    def test_stubbed_service_error_maps_with_cause(self, code: str) -> None:
        """A real client's ClientError maps to its class and keeps the cause and message."""
        client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9")
        with Stubber(client) as stub:
            stub.add_client_error(
                "describe_log_groups", service_error_code=code, service_message="m"
            )
            with pytest.raises(ClientError) as info:
                client.describe_log_groups()
        err = map_client_error(info.value)
        assert isinstance(err, CODE_TABLE[code][0])
        assert err.__cause__ is info.value
        assert err.code == code and "m" in err.message and err.operation == "DescribeLogGroups"

    @pytest.mark.parametrize(
        ("code", "cls", "policy"),
        [
            ("ThrottlingException", ThrottlingError, THROTTLE),
            ("ServiceUnavailableException", CwlogsError, TRANSIENT),
            ("AccessDeniedException", AccessDeniedError, None),
            ("ResourceNotFoundException", ResourceNotFoundError, None),
            ("InvalidParameterException", InvalidParameterError, None),
            ("MalformedQueryException", MalformedQueryError, None),
        ],
    )
    def test_retry_policy_by_code(self, code: str, cls: type, policy: Any) -> None:
        """Throttling retries 5x with jitter, 5xx 3x exponential, the rest never."""
        err = map_client_error(_client_error(code))
        assert isinstance(err, cls)
        expected = policy.max_attempts if policy else 1
        assert policy_for(err).max_attempts == expected

    def test_unknown_codes_fall_back_on_status(self) -> None:
        """An unknown 5xx is a retryable server error; an unknown 4xx is not retried."""
        assert isinstance(map_client_error(_client_error("Weird", 502)), InternalServerError)
        assert policy_for(map_client_error(_client_error("Weird", 418))).max_attempts == 1

    @pytest.mark.parametrize(
        ("code", "status", "reason"),
        [
            ("413", 413, "too_large"),
            ("RequestEntityTooLarge", 413, "too_large"),
            ("InvalidParameterException", 400, "invalid"),
            ("BrandNewException", 400, "refused_BrandNewException"),
            ("404", 404, "refused_404"),
            ("403", 403, None),  # a bare 403 is about credentials: keep the events
            ("ThrottlingException", 400, None),
            ("502", 502, None),
            ("429", 429, None),
        ],
    )
    def test_which_refusals_are_about_the_events(
        self, code: str, status: int, reason: str | None
    ) -> None:
        """Deterministic refusals name a rejected reason; retryable ones and auth do not."""
        from cwlogs._shipping.put import refusal_reason

        assert refusal_reason(map_client_error(_client_error(code, status))) == reason

    def test_connection_failures(self) -> None:
        """Connection refused and read timeouts are transient connection errors."""
        for exc in (
            EndpointConnectionError(endpoint_url="http://x"),
            ReadTimeoutError(endpoint_url="http://x"),
        ):
            err = map_exception(exc, "PutLogEvents")
            assert isinstance(err, ConnectionFailedError) and err.__cause__ is exc
            assert policy_for(err) == TRANSIENT

    def test_backoff(self) -> None:
        """Exponential back-off doubles; full jitter scales the cap by the random draw."""
        assert [backoff_delay(TRANSIENT, n, lambda: 1.0) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]
        assert backoff_delay(THROTTLE, 3, lambda: 0.5) == pytest.approx(0.5)
        assert backoff_delay(THROTTLE, 30, lambda: 1.0) == THROTTLE.cap


class TestBreaker:
    def test_opens_after_threshold_and_half_opens(self) -> None:
        """closed -> open after N failures -> half_open after the timeout -> closed on success."""
        now = [0.0]
        b = CircuitBreaker(threshold=3, reset_timeout=30, clock=lambda: now[0])
        for _ in range(3):
            assert b.state == "closed"
            b.record_failure("x")
        assert b.state == "open" and not b.allow()
        now[0] = 30.0
        assert b.state == "half_open" and b.allow()
        b.record_success()
        assert b.state == "closed"
        assert b.transitions == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]

    def test_failed_probe_reopens(self) -> None:
        """A failing probe sends the breaker back to open for another full timeout."""
        now = [0.0]
        b = CircuitBreaker(threshold=1, reset_timeout=10, clock=lambda: now[0])
        b.record_failure("x")
        now[0] = 10.0
        assert b.state == "half_open"
        b.record_failure("x")
        assert b.state == "open" and b.ready_at() == 20.0

    def test_backs_off_before_opening(self) -> None:
        """Failures under the threshold delay the next attempt exponentially."""
        b = CircuitBreaker(threshold=5, reset_timeout=30, base_backoff=0.5, clock=lambda: 0.0)
        b.record_failure("x")
        b.record_failure("x")
        assert b.ready_at() == 1.0


def _events(n: int) -> list[tuple[Any, ...]]:
    """Encoded items, as the worker hands them to ``export``."""
    out = []
    for i in range(n):
        ev = Event(1_700_000_000 + i / 1000, 20, "INFO", "t", f"m{i}", None, None)
        ev.seq = i + 1
        out.append(prepared_item(ev, f'{{"message":"m{i}"}}'.encode(), "s"))
    return out


@pytest.fixture
def stubbed() -> Any:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9")
    cfg = HandlerConfig.resolve(
        environ={},
        log_group="/g",
        create_log_group=False,
        create_log_stream=False,
        breaker_threshold=2,
    )
    exporter = CloudWatchExporter(
        cfg,
        boto3_client=client,
        redactor=None,
        fast_send=False,
        sleep=lambda s: None,
        rng=lambda: 0.0,
    )
    with Stubber(client) as stub:
        yield exporter, stub


class TestExporter:
    def test_throttling_is_retried_and_counted(self, stubbed: Any) -> None:
        """Three throttles then success: delivered, three retries counted, pace slowed."""
        exporter, stub = stubbed
        for _ in range(3):
            stub.add_client_error("put_log_events", "ThrottlingException", http_status_code=400)
        stub.add_response("put_log_events", {})
        result = exporter.export("s", _events(3), float("inf"))
        assert (result.sent, result.retried, result.retry) == (3, 3, [])
        assert exporter.breaker.state == "closed"

    def test_throttling_paces_the_next_batch(self, stubbed: Any) -> None:
        """After throttling, the next send waits a little so batches fill up; it relaxes again."""
        exporter, stub = stubbed
        stub.add_client_error("put_log_events", "ThrottlingException", http_status_code=400)
        stub.add_response("put_log_events", {})
        exporter.export("s", _events(1), float("inf"))
        assert exporter.ready_at() > time.monotonic()
        for _ in range(6):
            stub.add_response("put_log_events", {})
            exporter.export("s", _events(1), float("inf"))
        assert exporter.ready_at() <= time.monotonic()

    def test_rejected_info_is_counted_by_reason(self, stubbed: Any) -> None:
        """rejectedLogEventsInfo indexes become rejected events, the rest count as sent."""
        exporter, stub = stubbed
        stub.add_response(
            "put_log_events",
            {"rejectedLogEventsInfo": {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}},
        )
        result = exporter.export("s", _events(5), float("inf"))
        assert result.sent == 3
        assert {k: len(v) for k, v in result.rejected.items()} == {"too_old": 1, "too_new": 1}

    def test_access_denied_is_not_retried_and_keeps_events(self, stubbed: Any) -> None:
        """Auth errors make one attempt, keep the events and count towards the breaker."""
        exporter, stub = stubbed
        stub.add_client_error("put_log_events", "AccessDeniedException")
        events = _events(4)
        result = exporter.export("s", events, float("inf"))
        assert result.retry == events and result.retried == 0
        assert exporter.breaker.failures == 1
        assert "AccessDenied" in (exporter.last_error or "")

    def test_poison_event_is_isolated(self, stubbed: Any) -> None:
        """InvalidParameter bisects the batch: the valid part is sent, one event rejected."""
        exporter, stub = stubbed
        # 4 events: whole batch fails, halves [0,1] ok, [2,3] fails, [2] ok, [3] fails.
        stub.add_client_error("put_log_events", "InvalidParameterException")
        stub.add_response("put_log_events", {})
        stub.add_client_error("put_log_events", "InvalidParameterException")
        stub.add_response("put_log_events", {})
        stub.add_client_error("put_log_events", "InvalidParameterException")
        events = _events(4)
        result = exporter.export("s", events, float("inf"))
        assert result.sent == 3
        assert result.rejected == {"invalid": [events[3]]}

    def test_breaker_opens_and_holds_events(self, stubbed: Any) -> None:
        """After threshold failed batches the breaker opens and export returns events untouched."""
        exporter, stub = stubbed
        for _ in range(2 * 3):
            stub.add_client_error(
                "put_log_events", "ServiceUnavailableException", http_status_code=503
            )
        exporter.export("s", _events(1), float("inf"))
        exporter.breaker._retry_at = 0.0
        exporter.export("s", _events(1), float("inf"))
        assert exporter.breaker.state == "open"
        events = _events(2)
        assert exporter.export("s", events, float("inf")).retry == events
        stub.assert_no_pending_responses()

    def test_retry_never_passes_the_deadline(self, stubbed: Any) -> None:
        """With the deadline already reached, a transient error is not retried."""
        exporter, stub = stubbed
        stub.add_client_error("put_log_events", "ServiceUnavailableException", http_status_code=503)
        result = exporter.export("s", _events(1), deadline=0.0)
        assert result.retried == 0 and len(result.retry) == 1

    def test_unknown_4xx_bisects_to_the_refused_event(self, stubbed: Any) -> None:
        """An unknown 400 code is never retried as is: the batch is split and only the
        event that is still refused alone is rejected, under its code."""
        exporter, stub = stubbed
        for fail in (True, False, True, False, True):  # as in the InvalidParameter case
            if fail:
                stub.add_client_error("put_log_events", "BrandNewException", http_status_code=400)
            else:
                stub.add_response("put_log_events", {})
        events = _events(4)
        result = exporter.export("s", events, float("inf"))
        assert (result.sent, result.retried, result.retry) == (3, 0, [])
        assert result.rejected == {"refused_BrandNewException": [events[3]]}
        assert exporter.breaker.failures == 0

    def test_a_refusal_of_every_part_is_kept_for_later(
        self, stubbed: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When every half is refused too (a proxy rule, not a poison event), splitting
        stops at its budget and the events wait instead of being rejected one by one."""
        import cwlogs._shipping.exporter as exporter_module

        monkeypatch.setattr(exporter_module, "_MAX_SPLITS", 3)
        exporter, stub = stubbed
        for _ in range(4):
            stub.add_client_error("put_log_events", "413", http_status_code=413)
        events = _events(64)
        result = exporter.export("s", events, float("inf"))
        assert result.sent == 0 and result.rejected == {}
        assert sorted(result.retry, key=lambda e: e[ITEM_TS]) == events
        stub.assert_no_pending_responses()
