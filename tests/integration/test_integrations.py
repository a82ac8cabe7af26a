"""Integrations: ASGI and Django middlewares, the Lambda decorator, both structlog paths.

Behaviour tests capture records as the handler would encode them (bound context read on
the emitting thread); one test per integration reads the events back from the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from cwlogs import CloudWatchHandler, bind
from cwlogs._shipping.encode import to_event_dict
from cwlogs._shipping.event import snapshot
from cwlogs.context import current
from cwlogs.integrations.asgi import CorrelationMiddleware
from cwlogs.integrations.aws_lambda import inject_lambda_context
from tests.conftest import read_events

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{SPAN}-01"


class Capture(logging.Handler):
    """Keeps each record as the CloudWatchHandler would encode it (before redaction)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(to_event_dict(snapshot(record, current())))


@pytest.fixture
def captured(app_logger: logging.Logger) -> Capture:
    capture = Capture()
    app_logger.addHandler(capture)
    return capture


def _stored(logs: Any, group: str) -> list[dict[str, Any]]:
    return [orjson.loads(e["message"]) for e in read_events(logs, group)]


# --------------------------------------------------------------------------- ASGI


def _asgi_app(logger: logging.Logger, **options: Any) -> CorrelationMiddleware:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def order(request: Request) -> JSONResponse:
        logger.info("order placed for jane@example.com")
        return JSONResponse({"ok": True})

    async def boom(request: Request) -> JSONResponse:
        raise RuntimeError("boom")

    app = Starlette(routes=[Route("/orders", order, methods=["GET", "POST"]), Route("/boom", boom)])
    return CorrelationMiddleware(app, access_logger=logger, **options)


def _get(app: Any, path: str = "/orders", headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


class TestAsgiMiddleware:
    def test_request_id_header_bound_and_echoed(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """X-Request-ID is bound for the app's log lines and echoed in the response."""
        response = _get(_asgi_app(app_logger), headers={"X-Request-ID": "req-1"})
        assert "req-1" == response.headers["x-request-id"]
        assert ["req-1", "req-1"] == [e["request_id"] for e in captured.events]

    def test_request_id_generated_when_missing(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """Without X-Request-ID a fresh ID is bound and echoed."""
        response = _get(_asgi_app(app_logger))
        rid = response.headers["x-request-id"]
        assert len(rid) == 36
        assert {rid} == {e["request_id"] for e in captured.events}

    def test_malformed_request_id_replaced(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """A request ID with unsafe characters is replaced by a generated one."""
        response = _get(_asgi_app(app_logger), headers={"X-Request-ID": 'x" level=error'})
        assert response.headers["x-request-id"] != 'x" level=error'
        assert captured.events[0]["request_id"] == response.headers["x-request-id"]

    def test_traceparent_and_tenant_bound(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """traceparent gives trace_id/span_id and X-Tenant-ID gives tenant_id."""
        _get(_asgi_app(app_logger), headers={"traceparent": TRACEPARENT, "X-Tenant-ID": "acme"})
        app_line = captured.events[0]
        assert (TRACE, SPAN, "acme") == (
            app_line["trace_id"],
            app_line["span_id"],
            app_line["tenant_id"],
        )

    def test_header_names_configurable(self, app_logger: logging.Logger, captured: Capture) -> None:
        """Custom header names are read, and the request ID is echoed under its custom name."""
        app = _asgi_app(app_logger, request_id_header="X-Correlation-ID", tenant_header="X-Org")
        response = _get(app, headers={"X-Correlation-ID": "corr-9", "X-Org": "org-1"})
        assert "corr-9" == response.headers["x-correlation-id"]
        assert ("corr-9", "org-1") == (
            captured.events[0]["request_id"],
            captured.events[0]["tenant_id"],
        )

    def test_access_line_has_structured_fields(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """One access line per request with method, path, status, duration_ms and client."""
        _get(_asgi_app(app_logger), headers={"X-Request-ID": "req-2"})
        access = captured.events[-1]
        assert ("GET", "/orders", 200, "127.0.0.1", "req-2") == (
            access["method"],
            access["path"],
            access["status"],
            access["client"],
            access["request_id"],
        )
        assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
        assert 2 == len(captured.events)

    def test_error_response_logged_as_500(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """When the app raises, the access line says 500 at level error."""
        assert 500 == _get(_asgi_app(app_logger), "/boom").status_code
        access = captured.events[-1]
        assert (500, "error") == (access["status"], access["level"])

    def test_app_exception_propagates_with_access_line(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """An exception before any response propagates unchanged, after a 500 access line."""

        async def raw(scope: Any, receive: Any, send: Any) -> None:
            raise LookupError("no route")

        app = CorrelationMiddleware(raw, access_logger=app_logger)
        scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
        with pytest.raises(LookupError):
            asyncio.run(app(scope, _no_receive, _discard))
        assert [500] == [e["status"] for e in captured.events]

    def test_access_line_written_when_response_finishes(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """A streamed response is logged after its last chunk, not when it starts."""
        seen_before_last_chunk: list[int] = []

        async def streaming(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
            seen_before_last_chunk.append(len(captured.events))
            await send({"type": "http.response.body", "body": b"b"})

        _get(CorrelationMiddleware(streaming, access_logger=app_logger))
        assert ([0], 1) == (seen_before_last_chunk, len(captured.events))

    @pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
    def test_non_http_scopes_pass_through(
        self, app_logger: logging.Logger, captured: Capture, scope_type: str
    ) -> None:
        """Lifespan and websocket scopes reach the app untouched and log nothing."""
        received: list[Any] = []

        async def raw(scope: Any, receive: Any, send: Any) -> None:
            received.append((scope, send))

        scope = {"type": scope_type}
        asyncio.run(
            CorrelationMiddleware(raw, access_logger=app_logger)(scope, _no_receive, _discard)
        )
        assert [(scope, _discard)] == received
        assert [] == captured.events

    def test_failing_access_logging_does_not_break_request(
        self, app_logger: logging.Logger
    ) -> None:
        """A logging filter that raises does not fail the request."""

        def explode(record: logging.LogRecord) -> bool:
            raise RuntimeError("broken filter")

        access = logging.getLogger(f"{app_logger.name}.access")
        access.addFilter(explode)
        try:
            app = CorrelationMiddleware(_asgi_app(app_logger).app, access_logger=access)
            assert 200 == _get(app).status_code
        finally:
            access.removeFilter(explode)

    def test_opentelemetry_span_beats_traceparent(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """A span the app (or its tracer) activates wins over the incoming traceparent IDs."""
        trace = pytest.importorskip(
            "opentelemetry.trace", reason="opentelemetry-api is not installed"
        )
        span_ctx = trace.SpanContext(int("a" * 32, 16), int("b" * 16, 16), is_remote=False)

        async def traced(scope: Any, receive: Any, send: Any) -> None:
            with trace.use_span(trace.NonRecordingSpan(span_ctx)):
                app_logger.info("in span")
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        _get(
            CorrelationMiddleware(traced, access_logger=app_logger),
            headers={"traceparent": TRACEPARENT},
        )
        in_span, access = captured.events
        assert ("a" * 32, "b" * 16) == (in_span["trace_id"], in_span["span_id"])
        assert (TRACE, SPAN) == (access["trace_id"], access["span_id"])

    def test_events_arrive_correlated_and_redacted(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Through a CloudWatchHandler, both lines arrive with the IDs and the email masked."""
        handler = make_handler()
        app_logger.addHandler(handler)
        _get(_asgi_app(app_logger), headers={"X-Request-ID": "req-e2e", "traceparent": TRACEPARENT})
        assert handler.flush(timeout=10)
        app_line, access = _stored(logs, group)
        assert "order placed for [EMAIL_REDACTED]" == app_line["message"]
        assert {"req-e2e"} == {app_line["request_id"], access["request_id"]}
        assert {TRACE} == {app_line["trace_id"], access["trace_id"]}


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _discard(message: Any) -> None:
    return None


# --------------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_ready() -> None:
    django = pytest.importorskip("django", reason="Django is not installed")
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["*"], USE_TZ=True)
        django.setup()


def _django_request(headers: dict[str, str] | None = None) -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/orders/7", headers=headers or {})


class TestDjangoMiddleware:
    @pytest.fixture(autouse=True)
    def _ready(self, django_ready: None) -> None:
        return None

    def _middleware(self, logger: logging.Logger, view: Any = None) -> Any:
        from django.http import HttpResponse

        from cwlogs.integrations.django import CorrelationMiddleware as DjangoMiddleware

        def default_view(request: Any) -> Any:
            logger.info("viewing order for jane@example.com")
            return HttpResponse("ok", status=201)

        middleware = DjangoMiddleware(view or default_view)
        middleware.correlator.access_logger = logger
        return middleware

    def test_request_id_bound_and_echoed(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """X-Request-ID is bound for the view's log lines and echoed in the response."""
        response = self._middleware(app_logger)(_django_request({"X-Request-ID": "dj-1"}))
        assert "dj-1" == response["X-Request-ID"]
        assert ["dj-1", "dj-1"] == [e["request_id"] for e in captured.events]

    def test_request_id_generated_when_missing(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """Without X-Request-ID a fresh ID is bound and echoed."""
        response = self._middleware(app_logger)(_django_request())
        assert {response["X-Request-ID"]} == {e["request_id"] for e in captured.events}

    def test_access_line_has_structured_fields(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """The access line has method, path, status, duration_ms and client."""
        self._middleware(app_logger)(_django_request({"traceparent": TRACEPARENT}))
        access = captured.events[-1]
        assert ("GET", "/orders/7", 201, "127.0.0.1", TRACE) == (
            access["method"],
            access["path"],
            access["status"],
            access["client"],
            access["trace_id"],
        )
        assert access["duration_ms"] >= 0

    def test_async_view(self, app_logger: logging.Logger, captured: Capture) -> None:
        """Under an async get_response the middleware is async and binds the same way."""
        from django.http import HttpResponse

        async def view(request: Any) -> Any:
            app_logger.info("async view")
            return HttpResponse("ok")

        middleware = self._middleware(app_logger, view)
        response = asyncio.run(middleware(_django_request({"X-Request-ID": "dj-async"})))
        assert "dj-async" == response["X-Request-ID"]
        assert ["dj-async", "dj-async"] == [e["request_id"] for e in captured.events]

    def test_view_exception_logged_as_500(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """An exception from the view propagates after a 500 access line."""

        def view(request: Any) -> Any:
            raise ValueError("broken view")

        with pytest.raises(ValueError, match="broken view"):
            self._middleware(app_logger, view)(_django_request())
        assert [500] == [e["status"] for e in captured.events]

    def test_header_names_from_settings(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """CWLOGS_MIDDLEWARE configures the header names."""
        from django.test import override_settings

        with override_settings(CWLOGS_MIDDLEWARE={"tenant_header": "X-Org"}):
            middleware = self._middleware(app_logger)
        middleware(_django_request({"X-Org": "org-7"}))
        assert ["org-7", "org-7"] == [e["tenant_id"] for e in captured.events]


# --------------------------------------------------------------------------- Lambda


class FakeLambdaContext:
    aws_request_id = "lambda-req-1"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class RecordingHandler(CloudWatchHandler):
    """A CloudWatchHandler that records flush timeouts instead of sending."""

    def __init__(self) -> None:
        super().__init__(log_group="/unit/lambda", endpoint_url="http://127.0.0.1:9")
        self.flushes: list[float | None] = []

    def flush(self, timeout: float | None = None) -> bool:
        self.flushes.append(timeout)
        return True


@pytest.fixture
def recording() -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    yield handler
    handler.close()


class TestLambda:
    def test_request_id_bound_for_invocation(
        self, app_logger: logging.Logger, captured: Capture, recording: RecordingHandler
    ) -> None:
        """The invocation's aws_request_id is bound while the handler runs, and only then."""

        @inject_lambda_context(handlers=[recording])
        def handler(event: Any, context: Any) -> None:
            app_logger.info("working")

        handler({}, FakeLambdaContext())
        assert "lambda-req-1" == captured.events[0]["request_id"]
        assert current() is None

    def test_later_invocation_is_not_cold(
        self, app_logger: logging.Logger, captured: Capture, recording: RecordingHandler
    ) -> None:
        """Every invocation after the process's first has cold_start false."""

        @inject_lambda_context(handlers=[recording])
        def handler(event: Any, context: Any) -> None:
            app_logger.info("working")

        handler({}, FakeLambdaContext())
        handler({}, FakeLambdaContext())
        assert captured.events[-1]["cold_start"] is False

    def test_flush_bounded_by_remaining_time(self, recording: RecordingHandler) -> None:
        """The flush timeout is the remaining time minus the safety margin."""

        @inject_lambda_context(handlers=[recording], safety_margin_ms=500)
        def handler(event: Any, context: Any) -> str:
            return "done"

        assert "done" == handler({}, FakeLambdaContext(remaining_ms=2_500))
        (timeout,) = recording.flushes
        assert timeout is not None and 1.9 < timeout <= 2.0

    def test_flush_skipped_without_time_left(self, recording: RecordingHandler) -> None:
        """With less time left than the margin, the handler returns without flushing."""

        @inject_lambda_context(handlers=[recording], safety_margin_ms=500)
        def handler(event: Any, context: Any) -> None:
            return None

        handler({}, FakeLambdaContext(remaining_ms=400))
        assert [] == recording.flushes

    def test_root_cloudwatch_handlers_flushed_by_default(self, recording: RecordingHandler) -> None:
        """Without handlers=, the root logger's CloudWatchHandlers are flushed."""
        root = logging.getLogger()
        root.addHandler(recording)
        try:

            @inject_lambda_context
            def handler(event: Any, context: Any) -> None:
                return None

            handler({}, FakeLambdaContext())
        finally:
            root.removeHandler(recording)
        assert 1 == len(recording.flushes)

    def test_flush_runs_when_handler_raises(self, recording: RecordingHandler) -> None:
        """A raising handler still flushes, and its exception propagates."""

        @inject_lambda_context(handlers=[recording])
        def handler(event: Any, context: Any) -> None:
            raise KeyError("missing")

        with pytest.raises(KeyError):
            handler({}, FakeLambdaContext())
        assert 1 == len(recording.flushes)

    def test_events_delivered_before_return(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Events logged in the invocation are stored by the time the handler returns."""
        cloudwatch = make_handler(flush_interval=60)
        app_logger.addHandler(cloudwatch)

        @inject_lambda_context(handlers=[cloudwatch])
        def handler(event: Any, context: Any) -> None:
            app_logger.info("resized %s", event["key"])

        handler({"key": "cat.png"}, FakeLambdaContext())
        (stored,) = _stored(logs, group)
        assert ("resized cat.png", "lambda-req-1") == (stored["message"], stored["request_id"])


# --------------------------------------------------------------------------- trace IDs

XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
XRAY_TRACE = "5759e988bd862e3fe1be46a994272793"
HEX32 = re.compile(r"[0-9a-f]{32}")


class TestTraceIdOutOfTheBox:
    """Every request and invocation carries a trace_id, so `cwlogs trace` finds it."""

    def test_asgi_generates_binds_and_echoes(
        self, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """Without tracing headers a new W3C trace ID is on every line and in X-Trace-Id."""
        first = _get(_asgi_app(app_logger))
        second = _get(_asgi_app(app_logger))
        echoed = first.headers["x-trace-id"]
        assert HEX32.fullmatch(echoed)
        assert echoed != second.headers["x-trace-id"]
        assert [echoed, echoed] == [e["trace_id"] for e in captured.events[:2]]

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"X-Amzn-Trace-Id": XRAY}, XRAY_TRACE),
            ({"X-Amzn-Trace-Id": XRAY, "traceparent": TRACEPARENT}, TRACE),
            ({"X-Amzn-Trace-Id": "Root=garbage", "traceparent": "garbage"}, None),
        ],
        ids=["xray", "traceparent-first", "both-invalid"],
    )
    def test_asgi_header_order(
        self,
        app_logger: logging.Logger,
        captured: Capture,
        headers: dict[str, str],
        expected: str | None,
    ) -> None:
        """traceparent, then X-Amzn-Trace-Id's Root as 32 hex, else a generated ID."""
        response = _get(_asgi_app(app_logger), headers=headers)
        trace_id = captured.events[0]["trace_id"]
        assert response.headers["x-trace-id"] == trace_id
        assert trace_id == expected if expected else HEX32.fullmatch(trace_id)

    def test_asgi_echoes_the_span_trace_id(self, app_logger: logging.Logger) -> None:
        """With an OpenTelemetry span active, its trace ID is both logged and echoed."""
        trace = pytest.importorskip("opentelemetry.trace", reason="opentelemetry-api missing")
        span_ctx = trace.SpanContext(int("c" * 32, 16), int("d" * 16, 16), is_remote=False)

        async def traced(scope: Any, receive: Any, send: Any) -> None:
            with trace.use_span(trace.NonRecordingSpan(span_ctx)):
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})

        response = _get(CorrelationMiddleware(traced, access_logger=None))
        assert "c" * 32 == response.headers["x-trace-id"]

    def test_asgi_app_header_and_opt_out_respected(self, app_logger: logging.Logger) -> None:
        """An X-Trace-Id the app sets is kept; echo_trace_id=False sends none."""

        async def own(scope: Any, receive: Any, send: Any) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"x-trace-id", b"mine")],
                }
            )
            await send({"type": "http.response.body", "body": b""})

        kept = _get(CorrelationMiddleware(own, access_logger=None))
        off = _get(_asgi_app(app_logger, echo_trace_id=False))
        assert ("mine", None) == (kept.headers["x-trace-id"], off.headers.get("x-trace-id"))

    def test_django_generates_or_maps_and_echoes(
        self, django_ready: None, app_logger: logging.Logger, captured: Capture
    ) -> None:
        """Django: a new ID without headers, the X-Ray Root with one; echoed in X-Trace-Id."""
        middleware = TestDjangoMiddleware()._middleware(app_logger)
        plain = middleware(_django_request())
        xray = middleware(_django_request({"X-Amzn-Trace-Id": XRAY}))
        logged = [e["trace_id"] for e in captured.events]
        assert HEX32.fullmatch(plain["X-Trace-Id"])
        assert [plain["X-Trace-Id"]] * 2 + [XRAY_TRACE] * 2 == logged
        assert XRAY_TRACE == xray["X-Trace-Id"]

    @pytest.mark.parametrize(
        ("event", "env", "expected"),
        [
            ({"headers": {"traceparent": TRACEPARENT, "X-Amzn-Trace-Id": XRAY}}, None, TRACE),
            ({"headers": {"x-amzn-trace-id": XRAY}}, None, XRAY_TRACE),
            ({"key": "cat.png"}, XRAY, XRAY_TRACE),
            ({"key": "cat.png"}, None, None),
            (["not", "a", "mapping"], None, None),
        ],
        ids=["traceparent", "xray-header", "runtime-trace", "generated", "odd-event"],
    )
    def test_lambda_invocation_trace_id(
        self,
        app_logger: logging.Logger,
        captured: Capture,
        recording: RecordingHandler,
        monkeypatch: pytest.MonkeyPatch,
        event: Any,
        env: str | None,
        expected: str | None,
    ) -> None:
        """Event headers, then the runtime's _X_AMZN_TRACE_ID, else new; unbound afterwards."""
        if env is None:
            monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
        else:
            monkeypatch.setenv("_X_AMZN_TRACE_ID", env)

        @inject_lambda_context(handlers=[recording])
        def handler(event: Any, context: Any) -> None:
            app_logger.info("working")

        handler(event, FakeLambdaContext())
        trace_id = captured.events[0]["trace_id"]
        assert trace_id == expected if expected else HEX32.fullmatch(trace_id)
        assert current() is None

    def test_cwlogs_trace_finds_the_echoed_id(
        self,
        make_handler: Any,
        app_logger: logging.Logger,
        endpoint: Any,
        group: str,
        tmp_path: Path,
    ) -> None:
        """The ID in a plain request's X-Trace-Id finds both its lines with `cwlogs trace`."""
        handler = make_handler()
        app_logger.addHandler(handler)
        other = _get(_asgi_app(app_logger))  # another request, which must not be found
        response = _get(_asgi_app(app_logger))
        assert handler.flush(timeout=10)
        trace_id = response.headers["x-trace-id"]
        env = {k: v for k, v in os.environ.items() if k != "CWLOGS_CONFIG"}
        env["XDG_CONFIG_HOME"] = str(tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "cwlogs", "--endpoint-url", endpoint.url, "trace", trace_id,
             "-g", group, "--since", "10m", "--format", "json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        found = [orjson.loads(line) for line in done.stdout.splitlines()]
        assert done.returncode == 0, done.stderr
        assert other.headers["x-trace-id"] != trace_id
        assert [trace_id, trace_id] == [_trace_of(e) for e in found]
        assert ["order placed for [EMAIL_REDACTED]", "GET /orders 200"] == [
            _message_of(e) for e in found
        ]


def _trace_of(event: dict[str, Any]) -> Any:
    return (event.get("fields") or {}).get("trace_id", event.get("trace_id"))


def _message_of(event: dict[str, Any]) -> Any:
    # The other output shape of `--format json` keeps the human text in fields.message.
    fields = event.get("fields") or {}
    return fields.get("message", event.get("message"))


# --------------------------------------------------------------------------- structlog


class TestStructlogPaths:
    def test_sink_bridge_and_stdlib_store_the_same_json(
        self, endpoint: Any, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """The direct sink, the stdlib bridge and a plain stdlib call store identical JSON."""
        structlog = pytest.importorskip("structlog", reason="structlog is an optional extra")
        from cwlogs.structlog import BridgeHandler, CloudWatchSink

        plain = make_handler(log_stream="stdlib")
        sink_handler = make_handler(log_stream="sink")
        bridge = BridgeHandler(log_group=group, log_stream="bridge", endpoint_url=endpoint.url)
        bridged_logger = logging.getLogger(f"{app_logger.name}.bridged")
        bridged_logger.propagate = False
        bridged_logger.addHandler(bridge)
        app_logger.addHandler(plain)
        direct = structlog.wrap_logger(
            None,
            processors=[structlog.processors.add_log_level, CloudWatchSink(sink_handler)],
        ).bind(logger=bridged_logger.name)
        via_stdlib = structlog.wrap_logger(
            bridged_logger,
            processors=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        try:
            with bind(request_id="req-s", tenant_id="acme"):
                direct.warning("order placed for jane@example.com", order_id=42)
                via_stdlib.warning("order placed for jane@example.com", order_id=42)
                record = bridged_logger.makeRecord(
                    bridged_logger.name,
                    logging.WARNING,
                    __file__,
                    1,
                    "order placed for jane@example.com",
                    (),
                    None,
                    extra={"order_id": 42},
                )
                plain.handle(record)
            assert all(h.flush(timeout=10) for h in (plain, sink_handler, bridge))
        finally:
            bridged_logger.removeHandler(bridge)
            bridge.close()
        by_stream = {
            e["logStreamName"]: orjson.loads(e["message"]) for e in read_events(logs, group)
        }
        for event in by_stream.values():
            event.pop("timestamp")
        assert by_stream["stdlib"] == by_stream["sink"] == by_stream["bridge"]
        assert "order placed for [EMAIL_REDACTED]" == by_stream["bridge"]["message"]

    def test_bridge_handler_ships_plain_records_unchanged(
        self, endpoint: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Records not made by structlog take the plain handler's path through a BridgeHandler."""
        pytest.importorskip("structlog", reason="structlog is an optional extra")
        from cwlogs.structlog import BridgeHandler

        bridge = BridgeHandler(log_group=group, endpoint_url=endpoint.url)
        app_logger.addHandler(bridge)
        try:
            app_logger.info("plain %s", "record", extra={"k": 1})
            assert bridge.flush(timeout=10)
        finally:
            bridge.close()
        (stored,) = _stored(logs, group)
        assert ("plain record", 1) == (stored["message"], stored["k"])
