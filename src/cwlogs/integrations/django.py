"""Django middleware binding correlation IDs per request, sync or async.

Add it near the top of ``MIDDLEWARE`` so the IDs cover the other middlewares' logging;
options come from the ``CWLOGS_MIDDLEWARE`` setting (the same keywords as
:class:`cwlogs.integrations.asgi.CorrelationMiddleware`)::

    MIDDLEWARE = ["cwlogs.integrations.django.CorrelationMiddleware", ...]
    CWLOGS_MIDDLEWARE = {"tenant_header": "X-Org-ID", "access_logger": "django.access"}
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from cwlogs.integrations import Correlator

__all__ = ["CorrelationMiddleware"]

Request = Any  # django.http.HttpRequest; Django ships no type information
Response = Any
GetResponse = Callable[[Request], Response]
AsyncGetResponse = Callable[[Request], Awaitable[Response]]


class CorrelationMiddleware:
    """Bind ``request_id`` (from ``X-Request-ID`` or generated), ``tenant_id`` and
    ``trace_id`` (from ``traceparent``, else ``X-Amzn-Trace-Id``, else generated) for the
    request, echo the request ID and the trace ID (``X-Trace-Id``) in the response, and
    log one access line (method, path, status, duration_ms, client).

    Failures in the middleware's own work are swallowed; a streaming response is timed
    until the view returns it.

    >>> MIDDLEWARE = ["cwlogs.integrations.django.CorrelationMiddleware"]
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        # Read here, not at import: Django builds middlewares after settings are ready.
        from django.conf import settings

        self.get_response = get_response
        self.correlator = Correlator(**getattr(settings, "CWLOGS_MIDDLEWARE", {}))
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Request) -> Response:
        if self._is_async:
            return self.__acall__(request)
        start = time.perf_counter()
        request_id, tokens = self.correlator.bind(_header_lookup(request))
        response = None
        try:
            response = self.get_response(request)
            return response
        finally:
            self._finish(request, response, request_id, start, tokens)

    async def __acall__(self, request: Request) -> Response:
        start = time.perf_counter()
        request_id, tokens = self.correlator.bind(_header_lookup(request))
        response = None
        try:
            response = await self.get_response(request)
            return response
        finally:
            self._finish(request, response, request_id, start, tokens)

    def _finish(
        self,
        request: Request,
        response: Response,
        request_id: str | None,
        start: float,
        tokens: list[Any],
    ) -> None:
        correlator = self.correlator
        status = 500
        client = None
        try:
            if response is not None:
                status = int(response.status_code)
                for name, value in correlator.response_headers(request_id):
                    if name not in response:  # the view's own header wins
                        response[name] = value
            client = request.META.get("REMOTE_ADDR")
        except Exception:  # the response is served as the view built it
            pass
        correlator.log_access(
            str(getattr(request, "method", "") or ""),
            str(getattr(request, "path", "")),
            status,
            (time.perf_counter() - start) * 1000.0,
            client,
        )
        correlator.unbind(tokens)


def _header_lookup(request: Request) -> Callable[[str], str | None]:
    def lookup(name: str) -> str | None:
        value = request.headers.get(name)
        return str(value) if value is not None else None

    return lookup
