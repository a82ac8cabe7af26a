"""Framework glue. Each submodule imports only its own framework; this one imports none.

What the HTTP middlewares share lives here: reading the correlation headers, binding
them for a request, and writing the access line. :mod:`~cwlogs.integrations.asgi`
and :mod:`~cwlogs.integrations.django` only adapt it to their request objects.

Every request gets a ``trace_id`` (a fallback field, so an OpenTelemetry span wins):
from ``traceparent``, else from ``X-Amzn-Trace-Id``, else a new one.

>>> explicit, fallback = Correlator().read({"x-request-id": "r-1", "x-tenant-id": "acme",
...     "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}.get)
>>> explicit
{'request_id': 'r-1', 'tenant_id': 'acme'}
>>> fallback["trace_id"]
'4bf92f3577b34da6a3ce929d0e0e4736'
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any, Final

from cwlogs.context import (
    ContextToken,
    bind_context,
    bind_fallback,
    current,
    new_trace_id,
    parse_traceparent,
    parse_xray_header,
    reset_context,
)

__all__ = ["DEFAULT_ACCESS_LOGGER", "Correlator", "new_request_id", "trace_fields"]

#: Not under ``cwlogs.``: the handler never ships its own package's records.
DEFAULT_ACCESS_LOGGER: Final = "access"

# Header values are client input: anything else (spaces, quotes, control characters,
# very long values) could forge log lines or bloat every event of the request.
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")


def new_request_id() -> str:
    """A fresh request ID (a UUID4 string).

    >>> len(new_request_id())
    36
    """
    return str(uuid.uuid4())


def trace_fields(
    traceparent: str | None,
    xray: str | None,
    factory: Callable[[], str] = new_trace_id,
) -> dict[str, str]:
    """``trace_id`` (and ``span_id`` when the caller sent one) for a request or invocation.

    A valid W3C ``traceparent`` wins, then an X-Ray header's Root (as 32 hex digits, see
    :func:`cwlogs.context.parse_xray_header`); otherwise ``factory()`` makes a new trace ID,
    so every request can be found with ``cwlogs trace``.

    >>> trace_fields(None, "Root=1-5759e988-bd862e3fe1be46a994272793")
    {'trace_id': '5759e988bd862e3fe1be46a994272793'}
    """
    parsed = parse_traceparent(traceparent) or parse_xray_header(xray)
    if parsed is None:
        return {"trace_id": factory()}
    trace_id, span_id = parsed
    return {"trace_id": trace_id, "span_id": span_id} if span_id else {"trace_id": trace_id}


def effective_trace_id() -> str | None:
    """The trace ID the current context's log lines carry (an OpenTelemetry span's, if any)."""
    fields = current()
    value = fields.get("trace_id") if fields else None
    return value if isinstance(value, str) else None


class Correlator:
    """Header names and policy shared by the HTTP middlewares.

    >>> Correlator(request_id_header="X-Correlation-ID").request_id_header
    'x-correlation-id'
    """

    def __init__(
        self,
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
        # Lower-case once: ASGI header names are lower-case bytes, and HTTP names are
        # case-insensitive anyway.
        self.request_id_header = request_id_header.lower()
        self.traceparent_header = traceparent_header.lower()
        self.tenant_header = tenant_header.lower()
        self.echo_request_id = echo_request_id
        self.xray_header = xray_header.lower()
        self.trace_id_header = trace_id_header.lower()
        self.echo_trace_id = echo_trace_id
        self.trace_id_factory = trace_id_factory
        if isinstance(access_logger, str):
            access_logger = logging.getLogger(access_logger)
        self.access_logger = access_logger
        self.id_factory = id_factory

    def read(self, header: Callable[[str], str | None]) -> tuple[dict[str, str], dict[str, str]]:
        """``(explicit, fallback)`` fields from a request, ``header`` looking up a lower-case name.

        The request ID is taken when well-formed, else generated; the tenant only when
        well-formed. The trace ID (:func:`trace_fields`: ``traceparent``, then
        ``X-Amzn-Trace-Id``, then a new one) is a fallback field, so an OpenTelemetry
        span started for the request wins over it.
        """
        given = header(self.request_id_header)
        explicit = {
            "request_id": given if given and _SAFE_ID.fullmatch(given) else self.id_factory()
        }
        tenant = header(self.tenant_header)
        if tenant and _SAFE_ID.fullmatch(tenant):
            explicit["tenant_id"] = tenant
        fallback = trace_fields(
            header(self.traceparent_header), header(self.xray_header), self.trace_id_factory
        )
        return explicit, fallback

    def response_headers(self, request_id: str | None) -> list[tuple[str, str]]:
        """The correlation headers to echo: the request ID and the trace ID the logs carry.

        Called while the request's fields are still bound, so the trace ID is the one an
        OpenTelemetry span (if any) put on the log lines, not only the one read from headers.
        """
        out: list[tuple[str, str]] = []
        if request_id is not None and self.echo_request_id:
            out.append((self.request_id_header, request_id))
        trace_id = effective_trace_id() if self.echo_trace_id else None
        if trace_id is not None and _SAFE_ID.fullmatch(trace_id):
            out.append((self.trace_id_header, trace_id))
        return out

    def bind(self, header: Callable[[str], str | None]) -> tuple[str | None, list[ContextToken]]:
        """Bind the request's fields; returns its request ID (None if reading failed) and tokens.

        Never raises: a request is served even if its headers cannot be read.
        """
        tokens: list[ContextToken] = []
        try:
            explicit, fallback = self.read(header)
            if fallback:
                tokens.append(bind_fallback(**fallback))
            tokens.append(bind_context(**explicit))
            return explicit["request_id"], tokens
        except Exception:
            self.unbind(tokens)
            return None, []

    @staticmethod
    def unbind(tokens: list[ContextToken]) -> None:
        """Undo :meth:`bind`, newest binding first."""
        for token in reversed(tokens):
            # ValueError: the framework finished the request in another context, where
            # the binding is not visible anyway; RuntimeError: already reset.
            with contextlib.suppress(ValueError, RuntimeError):
                reset_context(token)

    def log_access(
        self, method: str, path: str, status: int, duration_ms: float, client: str | None
    ) -> None:
        """Log one access line with structured fields (5xx at ERROR, else INFO). Never raises."""
        logger = self.access_logger
        if logger is None:
            return
        level = logging.ERROR if status >= 500 else logging.INFO
        try:
            if logger.isEnabledFor(level):
                fields: dict[str, Any] = {
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(duration_ms, 3),
                    "client": client,
                }
                logger.log(level, "%s %s %s", method, path, status, extra=fields)
        except Exception:  # a broken handler or filter must not fail the request
            pass
