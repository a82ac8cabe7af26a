"""The one retry loop for AWS calls, and the data that drives it.

:data:`CODE_TABLE` says, for each AWS error code, which :class:`~cwlogs.errors.CwlogsError`
it is and how often it is worth another attempt; :func:`call_with_retries` is the loop the
sender (PutLogEvents) and the read/manage API (:func:`cwlogs._aws.calls.call_api`) share.
botocore's own retries are off (see :func:`cwlogs._aws.client.make_client`), so every attempt
is made and counted here.

>>> call_with_retries(lambda: 42)
42
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from cwlogs.errors import (
    AccessDeniedError,
    ConnectionFailedError,
    CwlogsError,
    ExpiredCredentialsError,
    InternalServerError,
    InvalidParameterError,
    LimitExceededError,
    MalformedQueryError,
    RateLimitError,
    RequestError,
    RequestTooLargeError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    ServerError,
    ServiceQuotaExceededError,
    ServiceUnavailableError,
    ThrottlingError,
    TooManyRequestsError,
    UnrecognizedClientError,
)

__all__ = [
    "CODE_TABLE",
    "NO_RETRY",
    "THROTTLE",
    "TRANSIENT",
    "RetryPolicy",
    "backoff_delay",
    "call_with_retries",
    "policy_for",
]

_T = TypeVar("_T")


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
    # No longer returned since sequence tokens were retired (2023); the exporter treats
    # DataAlreadyAccepted as delivered.
    "DataAlreadyAcceptedException": (RequestError, NO_RETRY),
    "InvalidSequenceTokenException": (RequestError, NO_RETRY),
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

_POLICY_BY_CLASS: Final[dict[type[CwlogsError], RetryPolicy]] = {
    ConnectionFailedError: TRANSIENT,
    InternalServerError: TRANSIENT,
    ServiceUnavailableError: TRANSIENT,
    ServerError: TRANSIENT,
    ThrottlingError: THROTTLE,
    RateLimitError: THROTTLE,
}


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


def call_with_retries(
    call: Callable[[], _T],
    *,
    deadline: float = float("inf"),
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[CwlogsError, float], None] | None = None,
    retry: bool = True,
) -> _T:
    """``call()``, attempted again after each :class:`~cwlogs.errors.CwlogsError` its
    :func:`policy_for` allows, with back-off; never sleeping past ``deadline``
    (``time.monotonic()``). ``on_retry(error, delay)`` runs before each wait. ``call``
    maps its own failures to :class:`~cwlogs.errors.CwlogsError`; anything else, and the
    last error, propagates."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except CwlogsError as err:
            policy = policy_for(err)
            if not retry or attempt >= policy.max_attempts:
                raise
            delay = backoff_delay(policy, attempt, rng)
            if time.monotonic() + delay >= deadline:
                raise
            if on_retry is not None:
                on_retry(err, delay)
            sleep(delay)
