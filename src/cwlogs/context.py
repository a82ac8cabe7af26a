"""Correlation IDs carried in contextvars, so each thread and asyncio task sees its own.

Fields come from three layers, later ones winning: *fallback* fields (what middlewares
read from request headers), the active OpenTelemetry span's ``trace_id``/``span_id``,
and fields bound explicitly with :func:`bind`. In Lambda, ``xray_trace_id`` is added.

>>> with bind(request_id="r-1", tenant_id="acme"):
...     sorted(get_context())
['request_id', 'tenant_id']
>>> get_context()
{}
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ContextToken",
    "bind",
    "bind_context",
    "bind_fallback",
    "current",
    "get_context",
    "new_trace_id",
    "parse_traceparent",
    "parse_xray_header",
    "reset_context",
    "unbind",
]

_Fields = Mapping[str, Any]
_State = tuple[_Fields, _Fields]  # (explicitly bound, fallback)
#: What :func:`bind_context` and :func:`bind_fallback` return, for :func:`reset_context`.
ContextToken = Token[_State]

# Read once: Lambda sets it before the runtime starts, and elsewhere it spares every
# log call an environment lookup.
_IN_LAMBDA: Final = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
_EMPTY: Final[_Fields] = MappingProxyType({})
_modules: Final = sys.modules
# The mappings stored are never mutated: binding makes new ones, so a snapshot taken by
# the handler on the caller's thread stays valid without copying.
_state: ContextVar[_State] = ContextVar("cwlogs_context", default=(_EMPTY, _EMPTY))

_TRACEPARENT: Final = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-[0-9a-zA-Z._~=,;-]*)?"
)
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
# X-Ray: Root=1-<8 hex epoch seconds>-<24 hex random>; Parent=<16 hex span>.
_XRAY_ROOT: Final = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})")
_SPAN_ID: Final = re.compile(r"[0-9a-f]{16}")


def get_context() -> dict[str, Any]:
    """A copy of the fields bound in the current context (fallback fields included).

    Tracing IDs looked up from OpenTelemetry or X-Ray are not included; see :func:`current`.

    >>> with bind(tenant_id="acme"):
    ...     get_context()
    {'tenant_id': 'acme'}
    """
    bound, fallback = _state.get()
    return {**fallback, **bound}


def bind_context(**fields: Any) -> ContextToken:
    """Bind ``fields`` for the rest of the current context; undo with :func:`reset_context`.

    >>> token = bind_context(request_id="r-1")
    >>> reset_context(token)
    """
    bound, fallback = _state.get()
    return _state.set((MappingProxyType({**bound, **fields}), fallback))


def bind_fallback(**fields: Any) -> ContextToken:
    """Bind fields that an active OpenTelemetry span and explicit binds override.

    Middlewares use it for IDs read from a ``traceparent`` header: once a tracer starts
    a span for the request, its IDs are the more precise ones.

    >>> token = bind_fallback(trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    >>> with bind(trace_id="explicit"):
    ...     current()["trace_id"]
    'explicit'
    >>> reset_context(token)
    """
    bound, fallback = _state.get()
    return _state.set((bound, MappingProxyType({**fallback, **fields})))


def reset_context(token: ContextToken) -> None:
    """Restore the fields as they were before the matching bind call."""
    _state.reset(token)


def unbind(*keys: str) -> None:
    """Remove ``keys`` from the current context (missing keys are ignored).

    >>> with bind(a=1, b=2):
    ...     unbind("a")
    ...     get_context()
    {'b': 2}
    """
    bound, fallback = _state.get()
    if any(k in bound or k in fallback for k in keys):
        _state.set(
            (
                MappingProxyType({k: v for k, v in bound.items() if k not in keys}),
                MappingProxyType({k: v for k, v in fallback.items() if k not in keys}),
            )
        )


@contextmanager
def bind(**fields: Any) -> Iterator[Mapping[str, Any]]:
    """Bind ``fields`` for a block: ``trace_id``, ``request_id``, ``span_id``, ``tenant_id``, any.

    Every record logged inside the block, by any handler of cwlogs, carries them.

    >>> with bind(trace_id="abc"):
    ...     get_context()["trace_id"]
    'abc'
    """
    token = bind_context(**fields)
    try:
        yield _state.get()[0]
    finally:
        _state.reset(token)


def current() -> Mapping[str, Any] | None:
    """What the handler snapshots per record: bound fields, plus tracing IDs when available.

    Returns None when there is nothing to add, which keeps the caller's cost at a lookup.

    >>> current() is None
    True
    """
    bound, fallback = _state.get()
    # The common case (no OpenTelemetry imported, not in Lambda) costs two lookups.
    if _IN_LAMBDA or "opentelemetry.trace" in _modules:
        tracing = _tracing_ids(bound)
    else:
        tracing = None
    if tracing is None:
        if not fallback:
            return bound or None
        return {**fallback, **bound}
    return {**fallback, **tracing, **bound}


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """``(trace_id, parent_span_id)`` from a W3C ``traceparent`` header, or None if invalid.

    >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')
    """
    if not value:
        return None
    m = _TRACEPARENT.fullmatch(value.strip())
    if m is None:
        return None
    version, trace_id, span_id, rest = m.groups()
    # Version ff is forbidden; version 00 has exactly four fields. Later versions may
    # append fields, which a version-00 parser is told to ignore.
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, span_id


def parse_xray_header(value: str | None) -> tuple[str, str | None] | None:
    """``(trace_id, parent_span_id)`` from an ``X-Amzn-Trace-Id`` header, or None if no valid Root.

    The Root's two hex parts, joined, are the 32-hex W3C trace ID, the mapping
    OpenTelemetry's X-Ray propagator uses, so one request keeps one ID in both worlds.

    >>> parse_xray_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")
    ('5759e988bd862e3fe1be46a994272793', '53995c3f42cd8ad8')
    """
    if not value:
        return None
    root = parent = None
    for part in value.split(";"):
        key, _, item = part.strip().partition("=")
        if key == "Root":
            root = _XRAY_ROOT.fullmatch(item.strip().lower())
        elif key == "Parent" and _SPAN_ID.fullmatch(item.strip().lower()):
            parent = item.strip().lower()
    if root is None or root.group(1) + root.group(2) == _ZERO_TRACE:
        return None
    return root.group(1) + root.group(2), parent if parent != _ZERO_SPAN else None


def new_trace_id() -> str:
    """A fresh random W3C trace ID: 32 lower-case hex digits, never all zero.

    >>> len(new_trace_id())
    32
    """
    while True:
        trace_id = os.urandom(16).hex()
        if trace_id != _ZERO_TRACE:
            return trace_id


def _tracing_ids(bound: _Fields) -> Mapping[str, str] | None:
    otel = _otel_ids() if "trace_id" not in bound else None
    xray = _xray_trace_id() if _IN_LAMBDA and "xray_trace_id" not in bound else None
    if xray is None:
        return otel
    return {**otel, "xray_trace_id": xray} if otel else {"xray_trace_id": xray}


def _otel_ids() -> _Fields | None:
    # Looking in sys.modules instead of importing costs nothing when OpenTelemetry is
    # absent, and when it is installed but unused nobody can have started a span.
    trace_mod = _modules.get("opentelemetry.trace")
    context_mod = _modules.get("opentelemetry.context")
    if trace_mod is None or context_mod is None:
        return None
    try:
        # Libraries (FastAPI among them) import OpenTelemetry without using it; an empty
        # OpenTelemetry context holds no span, and checking it skips the span lookup.
        otel_context = context_mod.get_current()
        if not otel_context:
            return None
        # Contexts are immutable, so the same object means the same span: every line
        # logged inside a span reuses one lookup. The cache holds the context itself,
        # so its id cannot be reused by another object while cached.
        cached_context, cached_ids = _otel_cache
        if otel_context is cached_context:
            return cached_ids
        ctx = trace_mod.get_current_span(otel_context).get_span_context()
        ids = (
            MappingProxyType({"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"})
            if ctx.is_valid
            else None
        )
        _set_otel_cache(otel_context, ids)
        return ids
    except Exception:
        return None


_otel_cache: tuple[object, _Fields | None] = (None, None)


def _set_otel_cache(otel_context: object, ids: _Fields | None) -> None:
    global _otel_cache
    _otel_cache = (otel_context, ids)


_xray_cache: tuple[str, str] = ("", "")


def _xray_trace_id() -> str | None:
    """The ``Root`` of ``_X_AMZN_TRACE_ID``, which the runtime sets per invocation."""
    global _xray_cache
    raw = os.environ.get("_X_AMZN_TRACE_ID")
    if not raw:
        return None
    cached_raw, root = _xray_cache
    if raw != cached_raw:
        root = raw
        for part in raw.split(";"):
            key, _, value = part.strip().partition("=")
            if key == "Root" and value:
                root = value
                break
        _xray_cache = (raw, root)
    return root
