"""One error tree for everything cwlogs raises, and one mapper from botocore errors.

The retry behaviour of each AWS error code lives in :data:`CODE_TABLE`, next to
the class it maps to, so the transport never grows a scattered ``if code == ...``.

>>> from cwlogs.errors import ThrottlingError, policy_for
>>> policy_for(ThrottlingError("slow down")).max_attempts
5
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

__all__ = [
    "CODE_TABLE",
    "AccessDeniedError",
    "AuthenticationError",
    "BatchRejectedError",
    "ConfigurationError",
    "ConnectionFailedError",
    "CwlogsError",
    "DataAlreadyAcceptedError",
    "EventExpiredError",
    "EventTooNewError",
    "EventTooOldError",
    "ExpiredCredentialsError",
    "InternalServerError",
    "InvalidParameterError",
    "InvalidSequenceTokenError",
    "LimitExceededError",
    "MalformedQueryError",
    "QueryError",
    "QueryFailedError",
    "QueryNotFoundError",
    "QueryTimeoutError",
    "RateLimitError",
    "RequestError",
    "RequestTooLargeError",
    "ResourceAlreadyExistsError",
    "ResourceError",
    "ResourceNotFoundError",
    "RetryPolicy",
    "ServerError",
    "ServiceQuotaExceededError",
    "ServiceUnavailableError",
    "ThrottlingError",
    "TooManyRequestsError",
    "UnrecognizedClientError",
    "backoff_delay",
    "map_client_error",
    "map_exception",
    "policy_for",
]


class CwlogsError(Exception):
    """Base of every error cwlogs raises.

    ``code`` is the AWS error code when the error came from the service,
    ``operation`` the API call that failed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        operation: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation
        #: The HTTP status of the response, when there was one.
        self.status = status


class ConfigurationError(CwlogsError, ValueError):
    """Bad configuration, raised at construction and naming the option."""

    def __init__(self, option: str, message: str):
        super().__init__(f"cwlogs: invalid {option!r}: {message}", code=None)
        self.option = option


# --- authentication -------------------------------------------------------------------
class AuthenticationError(CwlogsError):
    """Credentials are missing, wrong, expired or not allowed to do this."""


class AccessDeniedError(AuthenticationError):
    pass


class ExpiredCredentialsError(AuthenticationError):
    pass


class UnrecognizedClientError(AuthenticationError):
    pass


# --- resources ------------------------------------------------------------------------
class ResourceError(CwlogsError):
    pass


class ResourceNotFoundError(ResourceError):
    pass


class ResourceAlreadyExistsError(ResourceError):
    pass


class LimitExceededError(ResourceError):
    pass


# --- requests -------------------------------------------------------------------------
class RequestError(CwlogsError):
    pass


class InvalidParameterError(RequestError):
    pass


class RequestTooLargeError(RequestError):
    """The request body was refused for its size (HTTP 413, e.g. a proxy's body limit)."""


class DataAlreadyAcceptedError(RequestError):
    pass


class InvalidSequenceTokenError(RequestError):
    pass


# --- Logs Insights --------------------------------------------------------------------
class QueryError(CwlogsError):
    pass


class QueryNotFoundError(QueryError):
    pass


class QueryFailedError(QueryError):
    pass


class QueryTimeoutError(QueryError):
    pass


class MalformedQueryError(QueryError):
    pass


# --- rate limits ----------------------------------------------------------------------
class RateLimitError(CwlogsError):
    pass


class ThrottlingError(RateLimitError):
    pass


class ServiceQuotaExceededError(RateLimitError):
    pass


class TooManyRequestsError(RateLimitError):
    pass


# --- server side and transport --------------------------------------------------------
class ServerError(CwlogsError):
    pass


class InternalServerError(ServerError):
    pass


class ServiceUnavailableError(ServerError):
    pass


class ConnectionFailedError(ServerError):
    """The endpoint could not be reached, or it did not answer in time."""


# --- events refused individually ------------------------------------------------------
class BatchRejectedError(CwlogsError):
    pass


class EventTooOldError(BatchRejectedError):
    pass


class EventTooNewError(BatchRejectedError):
    pass


class EventExpiredError(BatchRejectedError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    """How often an error is worth another attempt, and how to wait between them.

    ``backoff`` is ``"full_jitter"`` (uniform in [0, base*2**n]) or ``"exponential"``.
    """

    max_attempts: int
    backoff: Literal["none", "full_jitter", "exponential"]
    base: float = 0.2
    cap: float = 10.0


NO_RETRY: Final = RetryPolicy(1, "none")
THROTTLE: Final = RetryPolicy(5, "full_jitter", base=0.25, cap=20.0)
TRANSIENT: Final = RetryPolicy(3, "exponential", base=0.2, cap=5.0)

#: AWS error code -> (class, retry policy). Codes not listed map to their HTTP
#: class (5xx -> InternalServerError/TRANSIENT, 4xx -> RequestError/NO_RETRY).
CODE_TABLE: Final[dict[str, tuple[type[CwlogsError], RetryPolicy]]] = {
    # authentication
    "AccessDeniedException": (AccessDeniedError, NO_RETRY),
    "AccessDenied": (AccessDeniedError, NO_RETRY),
    "ExpiredTokenException": (ExpiredCredentialsError, NO_RETRY),
    "ExpiredToken": (ExpiredCredentialsError, NO_RETRY),
    "RequestExpired": (ExpiredCredentialsError, NO_RETRY),
    "UnrecognizedClientException": (UnrecognizedClientError, NO_RETRY),
    "InvalidClientTokenId": (UnrecognizedClientError, NO_RETRY),
    "IncompleteSignature": (UnrecognizedClientError, NO_RETRY),
    "SignatureDoesNotMatch": (UnrecognizedClientError, NO_RETRY),
    "MissingAuthenticationToken": (UnrecognizedClientError, NO_RETRY),
    # resources
    "ResourceNotFoundException": (ResourceNotFoundError, NO_RETRY),
    "ResourceAlreadyExistsException": (ResourceAlreadyExistsError, NO_RETRY),
    "LimitExceededException": (LimitExceededError, NO_RETRY),
    "TooManyTagsException": (LimitExceededError, NO_RETRY),
    # requests
    "InvalidParameterException": (InvalidParameterError, NO_RETRY),
    "RequestEntityTooLarge": (RequestTooLargeError, NO_RETRY),
    "RequestEntityTooLargeException": (RequestTooLargeError, NO_RETRY),
    "PayloadTooLargeException": (RequestTooLargeError, NO_RETRY),
    "ValidationException": (InvalidParameterError, NO_RETRY),
    "InvalidOperationException": (RequestError, NO_RETRY),
    "OperationAbortedException": (RequestError, TRANSIENT),
    "ConflictException": (RequestError, TRANSIENT),
    "DataAlreadyAcceptedException": (DataAlreadyAcceptedError, NO_RETRY),
    "InvalidSequenceTokenException": (InvalidSequenceTokenError, NO_RETRY),
    # queries
    "MalformedQueryException": (MalformedQueryError, NO_RETRY),
    # rate limits
    "ThrottlingException": (ThrottlingError, THROTTLE),
    "Throttling": (ThrottlingError, THROTTLE),
    "ThrottledException": (ThrottlingError, THROTTLE),
    "RequestLimitExceeded": (ThrottlingError, THROTTLE),
    "ServiceQuotaExceededException": (ServiceQuotaExceededError, THROTTLE),
    "TooManyRequestsException": (TooManyRequestsError, THROTTLE),
    # server side
    "ServiceUnavailableException": (ServiceUnavailableError, TRANSIENT),
    "ServiceUnavailable": (ServiceUnavailableError, TRANSIENT),
    "InternalFailure": (InternalServerError, TRANSIENT),
    "InternalServerError": (InternalServerError, TRANSIENT),
    "InternalServerException": (InternalServerError, TRANSIENT),
    "InternalError": (InternalServerError, TRANSIENT),
    "SessionStreamingException": (ServerError, TRANSIENT),
    "SessionTimeoutException": (ServerError, TRANSIENT),
}

#: Classes for HTTP statuses that come without a known AWS error code (a proxy's answer).
_STATUS_CLASSES: Final[dict[int, type[CwlogsError]]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    408: ConnectionFailedError,
    413: RequestTooLargeError,
    429: ThrottlingError,
}

_POLICY_BY_CLASS: Final[dict[type[CwlogsError], RetryPolicy]] = {
    ConnectionFailedError: TRANSIENT,
    InternalServerError: TRANSIENT,
    ServiceUnavailableError: TRANSIENT,
    ServerError: TRANSIENT,
    ThrottlingError: THROTTLE,
    RateLimitError: THROTTLE,
}


def map_client_error(exc: ClientError) -> CwlogsError:
    """Turn a botocore ``ClientError`` into the matching :class:`CwlogsError`.

    >>> body = {"Error": {"Code": "ThrottlingException", "Message": "Rate"}}
    >>> err = ClientError(body, "PutLogEvents")
    >>> type(map_client_error(err)).__name__
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


def policy_for(err: CwlogsError) -> RetryPolicy:
    """The retry policy for an error: by its code when known, else by its class."""
    if err.code is not None and err.code in CODE_TABLE:
        return CODE_TABLE[err.code][1]
    for cls in type(err).__mro__:
        policy = _POLICY_BY_CLASS.get(cls)
        if policy is not None:
            return policy
    return NO_RETRY


def backoff_delay(policy: RetryPolicy, attempt: int, rng: Callable[[], float]) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based) under ``policy``.

    >>> backoff_delay(TRANSIENT, 2, lambda: 0.5)
    0.4
    """
    if policy.backoff == "none":
        return 0.0
    ceiling = float(min(policy.cap, policy.base * 2 ** (attempt - 1)))
    if policy.backoff == "full_jitter":
        return ceiling * rng()
    return ceiling
