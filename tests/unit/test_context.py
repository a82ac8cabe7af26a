"""cwlogs.context: binding, isolation across threads and tasks, tracing IDs, traceparent."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cwlogs.context import (
    bind,
    bind_context,
    bind_fallback,
    current,
    get_context,
    new_trace_id,
    parse_traceparent,
    parse_xray_header,
    reset_context,
    unbind,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def _run_python(code: str, **env: str) -> Any:
    """Run ``code`` in a fresh interpreter (import-time state matters) and parse its JSON output."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_LAMBDA_FUNCTION_NAME", "_X_AMZN_TRACE_ID")
    }
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


class TestBind:
    def test_fields_bound_for_the_block_only(self) -> None:
        """bind() makes fields visible inside the block and restores the previous state after."""
        with bind(request_id="r-1"):
            inside = get_context()
        assert ({"request_id": "r-1"}, {}) == (inside, get_context())

    def test_nested_binds_merge_and_inner_wins(self) -> None:
        """An inner bind adds to the outer fields and overrides the ones it repeats."""
        with bind(request_id="outer", tenant_id="acme"), bind(request_id="inner"):
            assert {"request_id": "inner", "tenant_id": "acme"} == get_context()

    def test_bind_yields_the_bound_fields(self) -> None:
        """The context manager yields the mapping now bound."""
        with bind(trace_id="t") as fields:
            assert {"trace_id": "t"} == dict(fields)

    def test_bind_context_until_reset(self) -> None:
        """bind_context() lasts until reset_context() with its token."""
        token = bind_context(tenant_id="acme")
        try:
            assert {"tenant_id": "acme"} == get_context()
        finally:
            reset_context(token)
        assert {} == get_context()

    def test_unbind_removes_keys_and_ignores_missing(self) -> None:
        """unbind() drops the named keys and ignores keys that are not bound."""
        with bind(request_id="r", tenant_id="t"):
            unbind("tenant_id", "never_bound")
            assert {"request_id": "r"} == get_context()

    def test_unbind_removes_fallback_keys(self) -> None:
        """unbind() also drops a key bound as a fallback."""
        token = bind_fallback(trace_id=TRACE)
        try:
            unbind("trace_id")
            assert {} == get_context()
        finally:
            reset_context(token)

    def test_get_context_is_a_copy(self) -> None:
        """Changing what get_context() returned does not change the bound fields."""
        with bind(request_id="r"):
            get_context()["request_id"] = "changed"
            assert "r" == get_context()["request_id"]


class TestIsolation:
    def test_threads_see_only_their_own_fields(self) -> None:
        """Two threads bound at the same time each read their own request_id."""
        both_bound = threading.Barrier(2, timeout=10)
        seen: dict[str, str] = {}

        def work(name: str) -> None:
            with bind(request_id=name):
                both_bound.wait()
                seen[name] = get_context()["request_id"]

        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert {"a": "a", "b": "b"} == seen

    def test_asyncio_tasks_see_only_their_own_fields(self) -> None:
        """Two interleaved asyncio tasks each keep their own bound fields."""

        async def main() -> list[str]:
            first_bound = asyncio.Event()
            second_bound = asyncio.Event()

            async def first() -> str:
                with bind(request_id="first"):
                    first_bound.set()
                    await second_bound.wait()
                    return str(get_context()["request_id"])

            async def second() -> str:
                await first_bound.wait()
                with bind(request_id="second"):
                    second_bound.set()
                    return str(get_context()["request_id"])

            return list(await asyncio.gather(first(), second()))

        assert ["first", "second"] == asyncio.run(main())

    def test_asyncio_to_thread_carries_fields(self) -> None:
        """Fields bound in a coroutine are visible in work it hands to asyncio.to_thread."""

        async def main() -> dict[str, Any]:
            with bind(request_id="r-thread"):
                return await asyncio.to_thread(get_context)

        assert {"request_id": "r-thread"} == asyncio.run(main())


class TestCurrent:
    def test_none_when_nothing_bound(self) -> None:
        """With nothing bound and no active span, current() is None."""
        assert current() is None

    def test_bound_fields(self) -> None:
        """current() returns the bound fields."""
        with bind(request_id="r", tenant_id="t"):
            assert {"request_id": "r", "tenant_id": "t"} == dict(current() or {})

    def test_fallback_fields_used_when_nothing_overrides(self) -> None:
        """A fallback field appears when neither a bind nor a span provides it."""
        token = bind_fallback(trace_id=TRACE, span_id=SPAN)
        try:
            assert {"trace_id": TRACE, "span_id": SPAN} == dict(current() or {})
        finally:
            reset_context(token)

    def test_explicit_bind_beats_fallback(self) -> None:
        """An explicitly bound field wins over the same fallback field."""
        token = bind_fallback(trace_id=TRACE)
        try:
            with bind(trace_id="mine"):
                assert "mine" == (current() or {})["trace_id"]
        finally:
            reset_context(token)


@pytest.fixture
def otel_span() -> Iterator[Any]:
    """An active (non-recording) OpenTelemetry span with known IDs; the API package suffices."""
    trace = pytest.importorskip("opentelemetry.trace", reason="opentelemetry-api is not installed")
    ctx = trace.SpanContext(
        trace_id=int(TRACE, 16),
        span_id=int(SPAN, 16),
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    with trace.use_span(trace.NonRecordingSpan(ctx)) as span:
        yield span


class TestOpenTelemetry:
    def test_active_span_provides_w3c_hex_ids(self, otel_span: Any) -> None:
        """An active span's IDs appear as 32/16-digit lower-case hex."""
        assert {"trace_id": TRACE, "span_id": SPAN} == dict(current() or {})

    def test_explicit_trace_id_beats_span(self, otel_span: Any) -> None:
        """A bound trace_id wins, and the span's span_id is not mixed into another trace."""
        with bind(trace_id="mine"):
            assert {"trace_id": "mine"} == dict(current() or {})

    def test_span_beats_fallback(self, otel_span: Any) -> None:
        """An active span overrides trace IDs bound as fallbacks (from a traceparent header)."""
        token = bind_fallback(trace_id="f" * 32, span_id="f" * 16, request_id="r")
        try:
            assert {"trace_id": TRACE, "span_id": SPAN, "request_id": "r"} == dict(current() or {})
        finally:
            reset_context(token)

    def test_ids_follow_nested_spans(self, otel_span: Any) -> None:
        """Entering and leaving a nested span switches the IDs both ways."""
        from opentelemetry import trace

        inner = trace.SpanContext(int("a" * 32, 16), int("b" * 16, 16), is_remote=False)
        with trace.use_span(trace.NonRecordingSpan(inner)):
            inside = (current() or {})["span_id"]
        assert ("b" * 16, SPAN) == (inside, (current() or {})["span_id"])

    def test_no_lookup_cost_without_opentelemetry(self) -> None:
        """In a process that never imported OpenTelemetry, current() does not import it."""
        code = (
            "import json, sys, cwlogs.context as c;"
            "c.current(); print(json.dumps('opentelemetry.trace' in sys.modules))"
        )
        assert _run_python(code) is False


class TestXRay:
    CODE = "import json, cwlogs.context as c; print(json.dumps(dict(c.current() or {})))"

    def test_root_of_trace_header_added_in_lambda(self) -> None:
        """In Lambda, xray_trace_id is the Root of _X_AMZN_TRACE_ID."""
        header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        out = _run_python(self.CODE, AWS_LAMBDA_FUNCTION_NAME="fn", _X_AMZN_TRACE_ID=header)
        assert {"xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793"} == out

    def test_ignored_outside_lambda(self) -> None:
        """Outside Lambda the variable is not consulted."""
        out = _run_python(self.CODE, _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793")
        assert {} == out


class TestParseTraceparent:
    def test_valid_header(self) -> None:
        """A version-00 header yields the trace ID and the parent span ID."""
        assert (TRACE, SPAN) == parse_traceparent(f"00-{TRACE}-{SPAN}-01")

    def test_future_version_with_extra_fields(self) -> None:
        """A later version's extra fields are ignored, as the spec asks."""
        assert (TRACE, SPAN) == parse_traceparent(f"01-{TRACE}-{SPAN}-01-extra")

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "garbage",
            f"00-{TRACE}-{SPAN}",
            f"00-{TRACE}-{SPAN}-01-extra",
            f"ff-{TRACE}-{SPAN}-01",
            f"00-{'0' * 32}-{SPAN}-01",
            f"00-{TRACE}-{'0' * 16}-01",
            f"00-{TRACE.upper()}-{SPAN}-01",
            f"00-{TRACE[:-1]}-{SPAN}-01",
        ],
    )
    def test_invalid_headers_rejected(self, value: str | None) -> None:
        """Malformed, all-zero, version-ff or upper-case headers give None."""
        assert parse_traceparent(value) is None


class TestParseXRayHeader:
    def test_root_becomes_a_w3c_trace_id(self) -> None:
        """Root=1-<8 hex>-<24 hex> maps to the 32 hex digits joined; Parent is the span."""
        header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        assert ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8") == parse_xray_header(header)

    def test_root_alone_has_no_span(self) -> None:
        """Without a Parent the span ID is None; spacing and case are tolerated."""
        assert ("5759e988bd862e3fe1be46a994272793", None) == parse_xray_header(
            " Sampled=0; Root=1-5759E988-BD862E3FE1BE46A994272793"
        )

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "Parent=53995c3f42cd8ad8",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-00000000-000000000000000000000000",
            "Root=1-5759e988-bd862e3fe1be46a994272793x",
        ],
    )
    def test_invalid_roots_rejected(self, value: str | None) -> None:
        """No Root, another version, a short or all-zero Root give None."""
        assert parse_xray_header(value) is None


class TestNewTraceId:
    def test_is_32_lower_hex_and_fresh(self) -> None:
        """A new trace ID is a valid W3C one (it parses back) and differs each time."""
        ids = {new_trace_id() for _ in range(100)}
        assert len(ids) == 100
        assert all(parse_traceparent(f"00-{t}-{SPAN}-01") == (t, SPAN) for t in ids)
