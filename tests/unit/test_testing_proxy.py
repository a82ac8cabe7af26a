"""The test endpoint itself: the PutLogEvents rules, and StrictProxy + MotoServer over real HTTP."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from cwlogs.client import make_client
from cwlogs.testing import Fault, MotoServer, StrictProxy, validate_put_log_events

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

T0 = 1_700_000_000_000


def body(*events: dict[str, Any], group: str = "g", stream: str = "s") -> dict[str, Any]:
    return {"logGroupName": group, "logStreamName": stream, "logEvents": list(events)}


def event(message: str = "m", timestamp: int = T0) -> dict[str, Any]:
    return {"timestamp": timestamp, "message": message}


def now_ms() -> int:
    return int(time.time() * 1000)


class TestValidatePutLogEvents:
    def test_accepts_a_valid_batch(self) -> None:
        """A small chronological batch passes."""
        assert validate_put_log_events(body(event("a"), event("b", T0 + 1))) is None

    @pytest.mark.parametrize("key", ["logGroupName", "logStreamName"])
    def test_requires_group_and_stream(self, key: str) -> None:
        """Both names are required."""
        request = body(event())
        del request[key]
        reason = validate_put_log_events(request)
        assert reason is not None
        assert key in reason

    @pytest.mark.parametrize("events", [[], None])
    def test_requires_at_least_one_event(self, events: list[Any] | None) -> None:
        """An empty or missing logEvents is rejected."""
        request = body()
        request["logEvents"] = events
        assert validate_put_log_events(request) == "logEvents: at least one event is required"

    def test_accepts_exactly_10000_events(self) -> None:
        """The count limit is inclusive."""
        assert validate_put_log_events(body(*[event()] * 10_000)) is None

    def test_rejects_10001_events(self) -> None:
        """One event over the count limit fails the call."""
        reason = validate_put_log_events(body(*[event()] * 10_001))
        assert reason is not None
        assert "10001 events" in reason

    def test_accepts_exactly_1048576_batch_bytes(self) -> None:
        """Two events whose message bytes + 26 each sum to exactly 1 MiB pass."""
        half = (1_048_576 - 2 * 26) // 2
        assert validate_put_log_events(body(event("a" * half), event("b" * half))) is None

    def test_rejects_one_byte_over_the_batch_limit(self) -> None:
        """One byte more than 1 MiB across the batch fails."""
        half = (1_048_576 - 2 * 26) // 2
        reason = validate_put_log_events(body(event("a" * half), event("b" * (half + 1))))
        assert reason is not None
        assert "1048577 bytes" in reason

    def test_accepts_a_message_of_1048550_bytes(self) -> None:
        """A single event may fill the whole call: message + 26 == 1 MiB."""
        assert validate_put_log_events(body(event("x" * 1_048_550))) is None

    def test_rejects_a_message_of_1048551_bytes(self) -> None:
        """One byte more is an oversized event, reported as such."""
        reason = validate_put_log_events(body(event("x" * 1_048_551)))
        assert reason is not None
        assert "log event too large" in reason

    def test_counts_utf8_bytes_not_characters(self) -> None:
        """'é' is two bytes: 524,275 of them fit, 524,276 do not."""
        assert validate_put_log_events(body(event("é" * 524_275))) is None
        assert validate_put_log_events(body(event("é" * 524_276))) is not None

    def test_rejects_an_empty_message(self) -> None:
        """Every message needs at least one character."""
        reason = validate_put_log_events(body(event("a"), event("")))
        assert reason is not None
        assert "logEvents[1].message" in reason

    @pytest.mark.parametrize("timestamp", [None, "1700000000000", 1.7e12, True])
    def test_requires_an_integer_timestamp(self, timestamp: object) -> None:
        """Missing, string, float and bool timestamps are rejected."""
        reason = validate_put_log_events(body({"message": "m", "timestamp": timestamp}))
        assert reason is not None
        assert "timestamp" in reason

    def test_accepts_equal_timestamps(self) -> None:
        """Chronological means non-decreasing."""
        assert validate_put_log_events(body(event("a"), event("b"), event("c"))) is None

    def test_rejects_decreasing_timestamps(self) -> None:
        """An event older than its predecessor fails the whole call."""
        reason = validate_put_log_events(body(event("a", T0 + 1), event("b", T0)))
        assert reason is not None
        assert "chronological" in reason

    def test_accepts_a_span_just_under_24_hours(self) -> None:
        """Last minus first may be 86,399,999 ms."""
        assert validate_put_log_events(body(event(), event(timestamp=T0 + 86_399_999))) is None

    def test_rejects_a_span_of_24_hours(self) -> None:
        """A span of exactly 24 h fails."""
        reason = validate_put_log_events(body(event(), event(timestamp=T0 + 86_400_000)))
        assert reason is not None
        assert "24 hours" in reason


# --------------------------------------------------------------------------- over HTTP


# One session for the module: it caches the service model, which makes each client ~10x cheaper.
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)


def make_test_client(url: str, **kwargs: Any) -> CloudWatchLogsClient:
    return make_client(region="us-east-1", endpoint_url=url, boto3_session=SESSION, **kwargs)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[StrictProxy]:
    with StrictProxy(moto.url) as strict_proxy:
        yield strict_proxy


@pytest.fixture
def direct(moto: MotoServer) -> CloudWatchLogsClient:
    """A client that talks to moto without the proxy: the lenient reference."""
    return make_test_client(moto.url)


@pytest.fixture
def client(proxy: StrictProxy) -> CloudWatchLogsClient:
    return make_test_client(proxy.url)


@pytest.fixture
def stream(direct: CloudWatchLogsClient) -> tuple[str, str]:
    """A fresh group and stream, created behind the proxy's back so its record starts empty."""
    group = f"/cwlogs/test/{uuid.uuid4().hex}"
    direct.create_log_group(logGroupName=group)
    direct.create_log_stream(logGroupName=group, logStreamName="s")
    return group, "s"


def stored_messages(direct: CloudWatchLogsClient, stream: tuple[str, str]) -> list[str]:
    group, name = stream
    response = direct.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
    return [e["message"] for e in response["events"]]


def put(client: CloudWatchLogsClient, stream: tuple[str, str], *messages: str) -> dict[str, Any]:
    ts = now_ms()
    response = client.put_log_events(
        logGroupName=stream[0],
        logStreamName=stream[1],
        logEvents=[{"timestamp": ts, "message": m} for m in messages],
    )
    return dict(response)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.proxy
class TestStrictProxy:
    def test_round_trip_through_proxy(
        self, client: CloudWatchLogsClient, direct: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """Groups, streams and events made through the proxy are readable back from moto."""
        group = f"/cwlogs/test/{uuid.uuid4().hex}"
        client.create_log_group(logGroupName=group)
        client.create_log_stream(logGroupName=group, logStreamName="s")
        put(client, (group, "s"), "one", "twö")
        assert stored_messages(client, (group, "s")) == ["one", "twö"]
        assert proxy.put_events() == ["one", "twö"]

    def test_records_each_call(
        self, client: CloudWatchLogsClient, proxy: StrictProxy, stream: tuple[str, str]
    ) -> None:
        """A PutLogEvents record carries counts, names, timestamps and messages."""
        put(client, stream, "ab", "é")
        [recorded] = proxy.calls("PutLogEvents")
        assert (recorded.status, recorded.n_events, recorded.batch_bytes) == (200, 2, 2 + 2 + 52)
        assert (recorded.group, recorded.stream) == stream
        assert recorded.messages == ("ab", "é")
        assert len(recorded.timestamps) == 2
        assert (recorded.fault, recorded.rejected_reason) == (None, None)
        assert proxy.stats()["operations"] == {"PutLogEvents": 1}

    def test_oversize_batch_rejected_by_proxy_but_accepted_by_moto(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
    ) -> None:
        """10,001 events: the proxy answers InvalidParameterException; moto alone takes them."""
        messages = [f"m{i}" for i in range(10_001)]
        with pytest.raises(ClientError) as exc:
            put(client, stream, *messages)
        assert error_code(exc) == ("InvalidParameterException", 400)
        [recorded] = proxy.calls("PutLogEvents")
        assert recorded.rejected_reason is not None
        assert "10001 events" in recorded.rejected_reason
        assert stored_messages(direct, stream) == []
        assert proxy.put_events() == []

        response = put(direct, stream, *messages)
        assert "rejectedLogEventsInfo" not in response
        newest = direct.get_log_events(
            logGroupName=stream[0], logStreamName=stream[1], startFromHead=False, limit=1
        )
        assert [e["message"] for e in newest["events"]] == ["m10000"]

    def test_keeps_client_connections_alive(self, proxy: StrictProxy, moto: MotoServer) -> None:
        """moto closes after every response; the proxy still keeps its client's socket open."""
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        headers = {
            "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
            "Content-Type": "application/x-amz-json-1.1",
        }
        try:
            connection.request("POST", "/", b"{}", headers)
            first = connection.getresponse()
            first.read()
            sock = connection.sock
            connection.request("POST", "/", b"{}", headers)
            second = connection.getresponse()
            second.read()
            assert (first.status, second.status) == (200, 200)
            assert first.getheader("Connection") is None
            assert connection.sock is sock
        finally:
            connection.close()

    def test_reconnects_once_when_upstream_dropped_a_kept_alive_connection(
        self, proxy: StrictProxy
    ) -> None:
        """Behind a second proxy (which keeps alive), a dropped upstream socket is retried once."""
        with StrictProxy(proxy.url) as outer:
            client = make_test_client(outer.url)
            client.describe_log_groups()
            proxy.set_down(True)
            proxy.set_down(False)
            client.describe_log_groups()
        assert [r.status for r in outer.calls()] == [200, 200]

    def test_put_events_leaves_out_events_moto_rejected_as_too_new(
        self, client: CloudWatchLogsClient, proxy: StrictProxy, stream: tuple[str, str]
    ) -> None:
        """Only the ingested part of a partly rejected call counts as put."""
        ts = now_ms()
        hour = 3_600_000
        response = client.put_log_events(
            logGroupName=stream[0],
            logStreamName=stream[1],
            logEvents=[
                {"timestamp": ts, "message": "ok"},
                {"timestamp": ts + 3 * hour, "message": "new1"},
                {"timestamp": ts + 4 * hour, "message": "new2"},
            ],
        )
        assert "tooNewLogEventStartIndex" in response["rejectedLogEventsInfo"]
        assert proxy.put_events() == ["ok"]

    def test_wait_for_calls_hands_off_between_threads(
        self, client: CloudWatchLogsClient, proxy: StrictProxy, stream: tuple[str, str]
    ) -> None:
        """A test thread can block until a background sender's call reached the proxy."""
        sender = threading.Thread(target=put, args=(client, stream, "bg"))
        sender.start()
        try:
            [recorded] = proxy.wait_for_calls("PutLogEvents", 1, timeout=5)
        finally:
            sender.join(5)
        assert recorded.messages == ("bg",)

    def test_wait_for_calls_times_out(self, proxy: StrictProxy) -> None:
        """Nothing arriving is a TimeoutError, not a hang."""
        with pytest.raises(TimeoutError):
            proxy.wait_for_calls("PutLogEvents", 1, timeout=0.05)


@pytest.mark.proxy
class TestFaults:
    @pytest.mark.parametrize(
        "case",
        [
            (Fault.throttle(), "ThrottlingException", 400),
            (Fault.unavailable(), "ServiceUnavailableException", 503),
            (Fault.internal(), "InternalFailure", 500),
            (Fault.error("AccessDeniedException"), "AccessDeniedException", 400),
            (Fault.error("ExpiredTokenException", 403), "ExpiredTokenException", 403),
            (Fault.error("ResourceNotFoundException"), "ResourceNotFoundException", 400),
        ],
        ids=lambda case: case[1],
    )
    def test_error_fault_is_a_client_error_and_not_forwarded(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
        case: tuple[Fault, str, int],
    ) -> None:
        """Each error fault reaches botocore with its code and status; moto never sees the call."""
        fault, code, status = case
        proxy.inject("PutLogEvents", fault)
        with pytest.raises(ClientError) as exc:
            put(client, stream, "lost")
        assert error_code(exc) == (code, status)
        assert stored_messages(direct, stream) == []
        assert proxy.calls("PutLogEvents")[0].fault == code

    def test_fault_applies_the_given_number_of_times(
        self, client: CloudWatchLogsClient, proxy: StrictProxy, stream: tuple[str, str]
    ) -> None:
        """times=2 fails two calls, then requests flow again."""
        proxy.inject("PutLogEvents", Fault.throttle(), times=2)
        for _ in range(2):
            with pytest.raises(ClientError):
                put(client, stream, "x")
        put(client, stream, "y")
        assert [r.status for r in proxy.calls("PutLogEvents")] == [400, 400, 200]
        assert proxy.put_events() == ["y"]
        assert proxy.stats()["faults"] == {"ThrottlingException": 2}

    def test_wildcard_matches_any_operation(
        self, client: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """'*' faults whichever operation comes next."""
        proxy.inject("*", Fault.internal())
        with pytest.raises(ClientError) as exc:
            client.describe_log_groups()
        assert error_code(exc) == ("InternalFailure", 500)
        client.describe_log_groups()

    def test_reset_closes_the_connection_without_a_response(
        self, client: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """A reset surfaces as ConnectionClosedError."""
        proxy.inject("DescribeLogGroups", Fault.reset())
        with pytest.raises(ConnectionClosedError):
            client.describe_log_groups()
        assert proxy.calls("DescribeLogGroups")[0].status == 0
        client.describe_log_groups()

    def test_hang_trips_the_read_timeout(self, proxy: StrictProxy) -> None:
        """A hang longer than read_timeout is a ReadTimeoutError after read_timeout."""
        impatient = make_test_client(proxy.url, read_timeout=0.3)
        proxy.inject("DescribeLogGroups", Fault.hang(30))
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            impatient.describe_log_groups()
        assert time.monotonic() - started < 5

    def test_delay_forwards_after_waiting(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
    ) -> None:
        """A delayed call is slow but succeeds and is stored."""
        proxy.inject("PutLogEvents", Fault.delay(0.2))
        started = time.monotonic()
        put(client, stream, "late")
        assert time.monotonic() - started >= 0.2
        assert stored_messages(direct, stream) == ["late"]
        assert proxy.calls("PutLogEvents")[0].fault == "delay"

    def test_random_faults_repeat_with_the_same_seed(
        self, client: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """Two runs with one seed fail the same calls; some fail and some pass."""

        def run() -> list[bool]:
            proxy.clear_faults()
            proxy.inject_random("DescribeLogGroups", Fault.unavailable(), 0.4, seed=7)
            outcomes = []
            for _ in range(20):
                try:
                    client.describe_log_groups(limit=1)
                except ClientError:
                    outcomes.append(False)
                else:
                    outcomes.append(True)
            return outcomes

        first, second = run(), run()
        assert first == second
        assert True in first
        assert False in first

    def test_clear_faults_drops_queued_and_random_faults(
        self, client: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """After clear_faults every request is forwarded."""
        proxy.inject("*", Fault.throttle(), times=5)
        proxy.inject_random("*", Fault.internal(), 1.0, seed=1)
        proxy.clear_faults()
        client.describe_log_groups()
        assert proxy.stats()["faults"] == {}


class TestProxyLikeFaults:
    """Answers that come from something between the client and AWS, not from AWS."""

    def test_body_limit_answers_413_html_and_forwards_nothing(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
    ) -> None:
        """Above max_body_bytes the request gets nginx's 413 page; below it, it goes through."""
        proxy.max_body_bytes = 2_000
        with pytest.raises(ClientError) as exc:
            put(client, stream, "x" * 3_000)
        assert error_code(exc) == ("413", 413)
        put(client, stream, "small")
        assert stored_messages(direct, stream) == ["small"]
        assert [(r.status, r.fault) for r in proxy.calls("PutLogEvents")] == [
            (413, "body_limit"),
            (200, None),
        ]

    def test_too_large_and_unknown_codes(
        self, client: CloudWatchLogsClient, proxy: StrictProxy, stream: tuple[str, str]
    ) -> None:
        """Fault.too_large is a bare 413; Fault.unknown_client_error a 400 nobody knows."""
        proxy.inject("PutLogEvents", Fault.too_large())
        proxy.inject("PutLogEvents", Fault.unknown_client_error("BrandNewException"))
        with pytest.raises(ClientError) as first:
            put(client, stream, "a")
        with pytest.raises(ClientError) as second:
            put(client, stream, "b")
        assert error_code(first) == ("413", 413)
        assert error_code(second) == ("BrandNewException", 400)

    def test_html_ok_stores_the_events_and_hides_the_answer(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
    ) -> None:
        """The events reach upstream, but the client reads an HTML page with status 200."""
        pages: list[bytes] = []
        client.meta.events.register(
            "after-call.logs.PutLogEvents",
            lambda http_response, **_: pages.append(http_response.content),
        )
        proxy.inject("PutLogEvents", Fault.html_ok())
        put(client, stream, "kept")
        assert pages[0].startswith(b"<html>")
        assert stored_messages(direct, stream) == ["kept"]
        assert proxy.calls("PutLogEvents")[0].fault == "html_ok"

    def test_inject_when_refuses_only_requests_carrying_the_text(
        self,
        client: CloudWatchLogsClient,
        direct: CloudWatchLogsClient,
        proxy: StrictProxy,
        stream: tuple[str, str],
    ) -> None:
        """A body rule faults every request that carries the text, and only those."""
        proxy.inject_when("PutLogEvents", 'poison "x"', Fault.unknown_client_error())
        for _ in range(2):
            with pytest.raises(ClientError):
                put(client, stream, 'a poison "x" event')
        put(client, stream, "clean")
        assert stored_messages(direct, stream) == ["clean"]
        proxy.clear_faults()
        put(client, stream, 'a poison "x" event')
        assert len(stored_messages(direct, stream)) == 2


@pytest.mark.proxy
class TestOutage:
    def test_down_refuses_connections_and_up_listens_on_the_same_port(
        self, client: CloudWatchLogsClient, proxy: StrictProxy
    ) -> None:
        """While down a warmed-up client gets EndpointConnectionError; afterwards it works again."""
        client.describe_log_groups()
        url = proxy.url
        with proxy.down():
            assert proxy.is_down
            with pytest.raises(EndpointConnectionError):
                client.describe_log_groups()
        assert proxy.url == url
        client.describe_log_groups()

    def test_down_cuts_open_keep_alive_connections(self, proxy: StrictProxy) -> None:
        """An idle kept-alive client socket sees end of stream when the proxy goes down."""
        connection = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        try:
            connection.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                b"X-Amz-Target: Logs_20140328.DescribeLogGroups\r\n\r\n{}"
            )
            proxy.wait_for_calls("DescribeLogGroups", 1)
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            proxy.set_down(True)
            while chunk := connection.recv(65536):  # the rest of the first response
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")
        finally:
            connection.close()
            proxy.set_down(False)


class TestMotoServer:
    def test_reset_forgets_every_resource(
        self, moto: MotoServer, direct: CloudWatchLogsClient
    ) -> None:
        """POST /moto-api/reset empties moto."""
        group = f"/cwlogs/test/{uuid.uuid4().hex}"
        direct.create_log_group(logGroupName=group)
        moto.reset()
        assert direct.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []

    def test_start_failure_includes_the_log_tail(self) -> None:
        """A port already taken makes start() fail fast, before moto is started (another
        server there would answer the readiness probe)."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            server = MotoServer(port=taken.getsockname()[1])
            with pytest.raises(RuntimeError, match=r"address already in use"):
                server.start()
        assert not server.running
        server.stop()
