"""AWS Lambda: bind the invocation's IDs and flush before the runtime freezes the process.

A Lambda process is frozen as soon as the handler returns, so events still queued
would wait (or die) with it; the decorator flushes within the time the invocation has
left. ``xray_trace_id`` comes from ``_X_AMZN_TRACE_ID`` via :func:`cwlogs.context.current`;
``trace_id`` from the event's ``traceparent`` or ``X-Amzn-Trace-Id`` header (API Gateway,
function URLs, ALB), else the invocation's X-Ray trace, else a new one.

>>> @inject_lambda_context
... def handler(event, context):
...     return {"ok": True}
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar, overload

from cwlogs.context import bind, bind_fallback, reset_context
from cwlogs.handler import CloudWatchHandler
from cwlogs.integrations import trace_fields

__all__ = [
    "DEFAULT_SAFETY_MARGIN_MS",
    "flush_handlers",
    "inject_lambda_context",
    "invocation_trace_fields",
]

R = TypeVar("R")
LambdaHandler = Callable[[Any, Any], R]

#: Time kept back from the flush so the handler still returns before the deadline.
DEFAULT_SAFETY_MARGIN_MS: Final = 500

_cold_start = True


def flush_handlers(
    handlers: Iterable[logging.Handler] | None, context: Any, safety_margin_ms: int
) -> bool:
    """Flush ``handlers`` (default: every CloudWatchHandler on the root logger) within the
    invocation's remaining time minus ``safety_margin_ms``; True if all were drained.

    Never raises. Without a Lambda context, each handler's own flush timeout applies.
    """
    try:
        targets = list(handlers) if handlers is not None else _root_cloudwatch_handlers()
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return all(_flush(h, None) for h in targets)
        budget = (float(remaining()) - safety_margin_ms) / 1000.0
        deadline = time.monotonic() + budget
        ok = True
        for h in targets:
            left = deadline - time.monotonic()
            # Out of time: skip the rest rather than have Lambda kill the invocation.
            ok = left > 0 and _flush(h, left) and ok
        return ok
    except Exception:
        return False


def invocation_trace_fields(event: Any) -> dict[str, str]:
    """``trace_id`` (and ``span_id``) for one invocation; see the module docstring for the order.

    >>> xray = "Root=1-5759e988-bd862e3fe1be46a994272793"
    >>> invocation_trace_fields({"headers": {"X-Amzn-Trace-Id": xray}})
    {'trace_id': '5759e988bd862e3fe1be46a994272793'}
    """
    traceparent = xray = None
    headers = event.get("headers") if isinstance(event, Mapping) else None
    if isinstance(headers, Mapping):
        # HTTP header names are case-insensitive; API Gateway v1 keeps the client's case.
        lowered = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
        traceparent, xray = lowered.get("traceparent"), lowered.get("x-amzn-trace-id")
    # The runtime's own trace header: the same trace X-Ray shows for this invocation.
    return trace_fields(traceparent, xray or os.environ.get("_X_AMZN_TRACE_ID"))


def _flush(handler: logging.Handler, timeout: float | None) -> bool:
    if isinstance(handler, CloudWatchHandler):
        return handler.flush(timeout)
    handler.flush()
    return True


def _root_cloudwatch_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, CloudWatchHandler)]


@overload
def inject_lambda_context(fn: LambdaHandler[R], /) -> LambdaHandler[R]: ...


@overload
def inject_lambda_context(
    *,
    handlers: Iterable[logging.Handler] | None = None,
    safety_margin_ms: int = DEFAULT_SAFETY_MARGIN_MS,
) -> Callable[[LambdaHandler[R]], LambdaHandler[R]]: ...


def inject_lambda_context(
    fn: LambdaHandler[R] | None = None,
    /,
    *,
    handlers: Iterable[logging.Handler] | None = None,
    safety_margin_ms: int = DEFAULT_SAFETY_MARGIN_MS,
) -> LambdaHandler[R] | Callable[[LambdaHandler[R]], LambdaHandler[R]]:
    """Decorate a Lambda handler: bind ``request_id``, ``cold_start`` and ``trace_id`` for
    the invocation, then flush ``handlers`` (default: the root logger's CloudWatchHandlers,
    looked up at flush time) within ``context.get_remaining_time_in_millis()`` minus
    ``safety_margin_ms``.

    The flush also runs when the handler raises; it never raises itself.

    >>> from cwlogs import CloudWatchHandler
    >>> cloudwatch = CloudWatchHandler(log_group="/aws/lambda/checkout")
    >>> @inject_lambda_context(handlers=[cloudwatch], safety_margin_ms=1000)
    ... def handler(event, context): ...
    """
    kept = list(handlers) if handlers is not None else None

    def decorate(func: LambdaHandler[R]) -> LambdaHandler[R]:
        @functools.wraps(func)
        def wrapper(event: Any, context: Any) -> R:
            global _cold_start
            cold, _cold_start = _cold_start, False
            fields: dict[str, Any] = {"cold_start": cold}
            request_id = getattr(context, "aws_request_id", None)
            if request_id:
                fields["request_id"] = request_id
            token = None
            try:
                try:
                    # A fallback, like the middlewares': an OpenTelemetry span wins.
                    token = bind_fallback(**invocation_trace_fields(event))
                except Exception:  # an odd event must not fail the invocation
                    token = None
                with bind(**fields):
                    return func(event, context)
            finally:
                if token is not None:
                    reset_context(token)
                flush_handlers(kept, context, safety_margin_ms)

        return wrapper

    return decorate(fn) if fn is not None else decorate
