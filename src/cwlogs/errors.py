"""One error tree for everything cwlogs raises. No botocore here.

The retry behaviour of each AWS error code is a data table in :mod:`cwlogs._aws.retry`
(``CODE_TABLE``), next to the one retry loop; the mapping from botocore's exceptions
lives in :mod:`cwlogs._aws.awserrors`.

>>> isinstance(ThrottlingError("slow down"), RateLimitError)
True
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "CwlogsError",
    "ExpiredCredentialsError",
    "InternalServerError",
    "InvalidParameterError",
    "LimitExceededError",
    "MalformedQueryError",
    "QueryError",
    "QueryFailedError",
    "QueryTimeoutError",
    "RateLimitError",
    "RequestError",
    "RequestTooLargeError",
    "ResourceAlreadyExistsError",
    "ResourceError",
    "ResourceNotFoundError",
    "ServerError",
    "ServiceQuotaExceededError",
    "ServiceUnavailableError",
    "ThrottlingError",
    "TooManyRequestsError",
    "UnrecognizedClientError",
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


# --- Logs Insights --------------------------------------------------------------------
class QueryError(CwlogsError):
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
