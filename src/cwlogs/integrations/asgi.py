"""Pure ASGI middleware binding correlation IDs per HTTP request; works with FastAPI and Starlette.

It needs no framework import: anything speaking ASGI 3 can be wrapped.

>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> app.add_middleware(CorrelationMiddleware, tenant_header="X-Org-ID")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cwlogs.context import new_trace_id
from cwlogs.integrations import DEFAULT_ACCESS_LOGGER, Correlator, new_request_id

__all__ = ["CorrelationMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CorrelationMiddleware:
    """Bind ``request_id`` (from ``X-Request-ID`` or generated), ``tenant_id`` and
    ``trace_id`` (from ``traceparent``, else ``X-Amzn-Trace-Id``, else generated) for each
    HTTP request, echo the request ID and the trace ID (``X-Trace-Id``) in the response,
    and log one access line (method, path, status, duration_ms, client) when the
    response has been sent.

    Lifespan and websocket scopes pass through untouched. Failures in the middleware's
    own work are swallowed; the application's exceptions propagate unchanged.

    >>> from fastapi import FastAPI
    >>> app = FastAPI()
    >>> app = CorrelationMiddleware(app, request_id_header="X-Correlation-ID")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        request_id_header: str = "X-Request-ID",
        traceparent_header: str = "traceparent",
        tenant_header: str = "X-Tenant-ID",
        echo_request_id: bool = True,
        access_logger: str | logging.Logger | None = DEFAULT_ACCESS_LOGGER,
        id_factory: Callable[[], str] = new_request_id,
        xray_header: str = "X-Amzn-Trace-Id",
        trace_id_header: str = "X-Trace-Id",
        echo_trace_id: bool = True,
        trace_id_factory: Callable[[], str] = new_trace_id,
    ) -> None:
        self.app = app
        self.correlator = Correlator(
            request_id_header=request_id_header,
            traceparent_header=traceparent_header,
            tenant_header=tenant_header,
            echo_request_id=echo_request_id,
            access_logger=access_logger,
            id_factory=id_factory,
            xray_header=xray_header,
            trace_id_header=trace_id_header,
            echo_trace_id=echo_trace_id,
            trace_id_factory=trace_id_factory,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        correlator = self.correlator
        request_id, tokens = correlator.bind(_header_lookup(scope))
        status: int | None = None
        logged = False

        def finish(final_status: int) -> None:
            nonlocal logged
            logged = True
            client = scope.get("client")
            correlator.log_access(
                str(scope.get("method", "")),
                str(scope.get("path", "")),
                final_status,
                (time.perf_counter() - start) * 1000.0,
                str(client[0]) if client else None,
            )

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = int(message["status"])
                message = _with_headers(message, correlator, request_id)
            await send(message)
            # The last body chunk ends the exchange; background tasks that run after it
            # are not part of the request's duration.
            if kind == "http.response.body" and not message.get("more_body") and not logged:
                finish(status or 500)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # No complete response: the app raised, or the client went away. Servers
            # answer 500 when nothing was started.
            if not logged:
                finish(status or 500)
            correlator.unbind(tokens)



def _with_headers(message: Message, correlator: Correlator, request_id: str | None) -> Message:
    """The response start with the correlation headers added, unless the app set its own."""
    try:
        extra = correlator.response_headers(request_id)
        if not extra:
            return message
        headers = list(message.get("headers", ()))
        present = {bytes(k).lower() for k, _ in headers}
        for name, value in extra:
            key = name.encode("latin-1")
            if key not in present:
                headers.append((key, value.encode("latin-1")))
        return {**message, "headers": headers}
    except Exception:  # an unusual header container: send the response as the app built it
        return message


def _header_lookup(scope: Scope) -> Callable[[str], str | None]:
    def lookup(name: str) -> str | None:
        wanted = name.encode("latin-1")
        for key, value in scope.get("headers", ()):
            if bytes(key).lower() == wanted:
                return bytes(value).decode("latin-1")
        return None

    return lookup
