"""Correlation IDs carried in contextvars, so they follow threads' and asyncio tasks' context.

>>> with bind(request_id="r-1", tenant_id="acme"):
...     sorted(get_context())
['request_id', 'tenant_id']
>>> get_context()
{}
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, Final

__all__ = ["bind", "bind_context", "current", "get_context", "reset_context", "unbind"]

_IN_LAMBDA: Final = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
# The mapping stored is never mutated: binding makes a new one, so a snapshot taken by
# the handler on the caller's thread stays valid without copying.
_fields: ContextVar[Mapping[str, Any]] = ContextVar("cwlogs_fields", default=_EMPTY)


def get_context() -> dict[str, Any]:
    """A copy of the fields bound in the current context."""
    return dict(_fields.get())


def bind_context(**fields: Any) -> Token[Mapping[str, Any]]:
    """Bind ``fields`` for the rest of the current context; returns a token for :func:`reset_context`."""
    merged = {**_fields.get(), **fields}
    return _fields.set(MappingProxyType(merged))


def reset_context(token: Token[Mapping[str, Any]]) -> None:
    """Restore the fields as they were before the matching :func:`bind_context`."""
    _fields.reset(token)


def unbind(*keys: str) -> None:
    """Remove ``keys`` from the current context (missing keys are ignored)."""
    current_fields = _fields.get()
    if any(k in current_fields for k in keys):
        _fields.set(MappingProxyType({k: v for k, v in current_fields.items() if k not in keys}))


@contextmanager
def bind(**fields: Any) -> Iterator[Mapping[str, Any]]:
    """Bind ``fields`` (``trace_id``, ``request_id``, ``span_id``, ``tenant_id``, anything) for a block.

    >>> with bind(trace_id="abc"):
    ...     get_context()["trace_id"]
    'abc'
    """
    token = bind_context(**fields)
    try:
        yield _fields.get()
    finally:
        _fields.reset(token)


def current() -> Mapping[str, Any] | None:
    """What the handler snapshots per record: bound fields, plus tracing IDs when available.

    Returns None when there is nothing to add, which keeps the caller's cost at a lookup.
    """
    bound = _fields.get()
    extra = _tracing_ids(bound)
    if extra:
        return {**extra, **bound}
    return bound or None


def _tracing_ids(bound: Mapping[str, Any]) -> dict[str, str] | None:
    out: dict[str, str] | None = None
    if "trace_id" not in bound:
        otel = _otel_ids()
        if otel:
            out = otel
    # Only Lambda sets the X-Ray header (per invocation); elsewhere skip the env lookup.
    xray = os.environ.get("_X_AMZN_TRACE_ID") if _IN_LAMBDA else None
    if xray and "xray_trace_id" not in bound:
        out = out or {}
        out["xray_trace_id"] = xray
    return out


def _otel_ids() -> dict[str, str] | None:
    trace_mod = sys.modules.get("opentelemetry.trace")
    if trace_mod is None:  # not installed or not in use: nothing to look up
        return None
    try:
        span = trace_mod.get_current_span()
        ctx = span.get_span_context()
        if not ctx.is_valid:
            return None
        return {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
    except Exception:
        return None
