"""botocore's exceptions mapped to the :mod:`cwlogs.errors` tree, by error code.

Kept apart from the tree so that ``cwlogs.errors`` imports nothing from botocore.

>>> body = {"Error": {"Code": "ThrottlingException", "Message": "Rate"}}
>>> type(map_client_error(ClientError(body, "PutLogEvents"))).__name__
'ThrottlingError'
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from cwlogs._aws.retry import CODE_TABLE
from cwlogs.errors import (
    AuthenticationError,
    ConnectionFailedError,
    CwlogsError,
    InternalServerError,
    RequestError,
    RequestTooLargeError,
    ThrottlingError,
)

__all__ = ["map_client_error", "map_exception"]

#: Classes for HTTP statuses that come without a known AWS error code (a proxy's answer).
_STATUS_CLASSES: Final[dict[int, type[CwlogsError]]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    408: ConnectionFailedError,
    413: RequestTooLargeError,
    429: ThrottlingError,
}


def map_client_error(exc: ClientError) -> CwlogsError:
    """Turn a botocore ``ClientError`` into the matching :class:`CwlogsError`.

    >>> err = map_client_error(ClientError({"Error": {"Code": "Throttling"}}, "PutLogEvents"))
    >>> type(err).__name__
    'ThrottlingError'
    """
    error: dict[str, Any] = dict(exc.response.get("Error", {}) or {})
    code = str(error.get("Code") or "Unknown")
    # Codes may arrive qualified ("com.amazonaws.logs#ThrottlingException").
    code = code.rsplit("#", 1)[-1].split(":", 1)[0]
    message = str(error.get("Message") or error.get("message") or code)
    operation = getattr(exc, "operation_name", None)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    entry = CODE_TABLE.get(code)
    cls: type[CwlogsError]
    if entry is not None:
        cls = entry[0]
    else:
        cls = _STATUS_CLASSES.get(status) or (
            InternalServerError if status >= 500 else RequestError
        )
    if len(message) > 300:  # an HTML error page from a proxy
        message = message[:300] + "..."
    err = cls(
        f"{operation or 'request'} failed: {code}: {message}",
        code=code,
        operation=operation,
        status=status or None,
    )
    err.__cause__ = exc
    return err


def map_exception(exc: BaseException, operation: str | None = None) -> CwlogsError:
    """Map any exception from a botocore call: ClientError, connection failure, credentials."""
    if isinstance(exc, CwlogsError):
        return exc
    if isinstance(exc, ClientError):
        return map_client_error(exc)
    if isinstance(
        exc,
        EndpointConnectionError | ConnectionClosedError | ConnectTimeoutError | ReadTimeoutError,
    ):
        err: CwlogsError = ConnectionFailedError(
            f"{operation or 'request'} failed: {exc}", code=type(exc).__name__, operation=operation
        )
    elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
        err = AuthenticationError(
            f"{operation or 'request'} failed: {exc}", code=type(exc).__name__, operation=operation
        )
    elif isinstance(exc, ConnectionError | TimeoutError | OSError):
        err = ConnectionFailedError(
            f"{operation or 'request'} failed: {exc}", code=type(exc).__name__, operation=operation
        )
    else:
        err = CwlogsError(
            f"{operation or 'request'} failed: {type(exc).__name__}: {exc}",
            code=type(exc).__name__,
            operation=operation,
        )
    err.__cause__ = exc
    return err
