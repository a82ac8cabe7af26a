"""Framework glue. Each submodule imports only its own framework; this one imports none.

What the HTTP middlewares share lives here: reading the correlation headers, binding
them for a request, and writing the access line. :mod:`~cwlogs.integrations.asgi`
and :mod:`~cwlogs.integrations.django` only adapt it to their request objects.

>>> c = Correlator()
>>> c.read({"x-request-id": "r-1", "x-tenant-id": "acme"}.get)
({'request_id': 'r-1', 'tenant_id': 'acme'}, {})
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
    parse_traceparent,
    reset_context,
)

__all__ = ["DEFAULT_ACCESS_LOGGER", "Correlator", "new_request_id"]

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
    ) -> None:
        # Lower-case once: ASGI header names are lower-case bytes, and HTTP names are
        # case-insensitive anyway.
        self.request_id_header = request_id_header.lower()
        self.traceparent_header = traceparent_header.lower()
        self.tenant_header = tenant_header.lower()
        self.echo_request_id = echo_request_id
        if isinstance(access_logger, str):
            access_logger = logging.getLogger(access_logger)
        self.access_logger = access_logger
        self.id_factory = id_factory

    def read(self, header: Callable[[str], str | None]) -> tuple[dict[str, str], dict[str, str]]:
        """``(explicit, fallback)`` fields from a request, ``header`` looking up a lower-case name.

        The request ID is taken when well-formed, else generated; the tenant only when
        well-formed. Trace IDs from ``traceparent`` are fallback fields, so an
        OpenTelemetry span started for the request wins over them.
        """
        given = header(self.request_id_header)
        explicit = {
            "request_id": given if given and _SAFE_ID.fullmatch(given) else self.id_factory()
        }
        tenant = header(self.tenant_header)
        if tenant and _SAFE_ID.fullmatch(tenant):
            explicit["tenant_id"] = tenant
        fallback: dict[str, str] = {}
        parsed = parse_traceparent(header(self.traceparent_header))
        if parsed is not None:
            fallback["trace_id"], fallback["span_id"] = parsed
        return explicit, fallback

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
