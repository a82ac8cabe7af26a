"""Exit codes, and the one-line message an error prints as (never a traceback).

>>> exit_code(UsageError("--since: not a time")), EXIT_CODES[EXIT_USAGE].split(":")[0]
(2, 'usage error')
"""

from __future__ import annotations

import re
from typing import Final

from botocore.exceptions import ParamValidationError, ProfileNotFound

from cwlogs.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    MalformedQueryError,
    ResourceNotFoundError,
)

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
EXIT_AUTH: Final = 4
EXIT_PENDING: Final = 5  # `apply --dry-run` found changes: CI tells drift from success and failure
EXIT_INTERRUPTED: Final = 130

#: Exit code -> meaning, as documented in docs/cli.md.
EXIT_CODES: Final = {
    EXIT_OK: "success",
    EXIT_ERROR: "runtime or service error (throttled past retries, endpoint unreachable, ...)",
    EXIT_USAGE: "usage error: bad arguments, malformed filter pattern, query, time or config",
    EXIT_NOT_FOUND: "log group, stream or named source not found",
    EXIT_AUTH: "missing, invalid or expired credentials, unknown profile, access denied",
    EXIT_PENDING: "changes pending (apply --dry-run)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_CREDENTIALS_HINT: Final = (
    "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws configure`, "
    "or pass --profile; a local endpoint (`cwlogs local`) accepts any values"
)
_HTML_RE: Final = re.compile(r"<\s*(?:!doctype|html|head|body|title)\b", re.IGNORECASE)


class UsageError(Exception):
    """A command-line mistake found after parsing; exits with :data:`EXIT_USAGE`."""


def exit_code(err: BaseException) -> int:
    """The documented exit code for an error a command let out."""
    if isinstance(err, UsageError | ConfigurationError | MalformedQueryError):
        return EXIT_USAGE
    if isinstance(err, AuthenticationError | ProfileNotFound):
        return EXIT_AUTH
    if isinstance(err, ResourceNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(err, InvalidParameterError | ParamValidationError):
        return EXIT_USAGE
    return EXIT_ERROR


def message(err: BaseException) -> str:
    """What the person at the terminal reads after ``cwlogs: error:``.

    >>> message(UsageError("cwlogs: give DAYS or --remove, not both"))
    'give DAYS or --remove, not both'
    """
    text = (str(err) or type(err).__name__).removeprefix("cwlogs: ")
    if _HTML_RE.search(text):
        # An emulator's error page: its HTML says nothing a terminal can show.
        code = getattr(err, "code", None) or type(err).__name__
        operation = getattr(err, "operation", None)
        text = f"{operation or 'the call'} failed ({code}; the endpoint answered with an HTML page)"
    if isinstance(err, AuthenticationError) and err.code in (
        "NoCredentialsError",
        "PartialCredentialsError",
    ):
        return f"no usable AWS credentials ({text}); {_CREDENTIALS_HINT}"
    if isinstance(err, AuthenticationError):
        return f"{text}\n  check the credentials or role in use; {_CREDENTIALS_HINT}"
    if isinstance(err, ProfileNotFound):
        return f"{text}; see `aws configure list-profiles`"
    return text
