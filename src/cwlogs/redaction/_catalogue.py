"""The built-in pattern catalogue: each built-in's RE2 regexes and how it is masked, the
presets that group them, and the sensitive keys masked whole.

To add a pattern: a :class:`Builtin` entry in :data:`BUILTINS` (see the notes on RE2
syntax above it), its name in the presets it belongs to, hits and near-misses in
``tests/unit/test_redaction.py``, worst-case inputs in ``benchmarks/bench_redaction.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from cwlogs.redaction._masks import mask_card, mask_email, mask_ipv4, mask_ipv6, mask_partial
from cwlogs.redaction._pattern import REDACTED, Replacement
from cwlogs.redaction._validators import (
    Check,
    not_all_lowercase,
    on_match,
    on_secret,
    unmasked,
    valid_card,
    valid_ipv4,
    valid_ipv6,
    valid_phone,
    valid_ssn,
    valid_us_phone,
)

#: Compared after normalising: lower-cased, with ``-``, ``_``, ``.`` and spaces removed,
#: so ``X-Api-Key``, ``x_api_key`` and ``xApiKey`` are one key.  A leading ``*`` makes
#: an entry a suffix (``*password`` also covers ``db_password``).  Suffixes are kept to
#: words that mean nothing else, which is why ``token`` is exact only: ``max_tokens``
#: and ``next_token`` are not secrets.
DEFAULT_SENSITIVE_KEYS: Final[frozenset[str]] = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "secret", "client_secret",
        "token", "access_token", "refresh_token", "id_token", "auth_token",
        "session_token", "aws_session_token", "csrf_token", "xsrf_token",
        "api_key", "apikey", "x-api-key", "api_secret", "secret_key",
        "authorization", "proxy-authorization", "cookie", "set-cookie",
        "session", "sessionid", "session_id",
        "credit_card", "card_number", "cc_number", "cvv", "cvc", "ssn",
        "private_key", "aws_secret_access_key",
        "*password", "*passwd", "*secret", "*apikey", "*privatekey", "*secretaccesskey",
    }
)  # fmt: skip

#: The user's patterns run between the built-ins' phases 1 and 3.
USER_PHASE: Final = 2

# --------------------------------------------------------------------------- built-ins
# RE2 syntax, matched on UTF-8 bytes in Latin-1 mode: one byte is one character, so a
# class is a byte table, "\w" is ASCII, and [\x80-\xff] stands for any non-ASCII text.
# RE2 has no look-around: a pattern that must not start after some characters consumes
# one character of context first (group 1 is the match proper), and one that must not
# run on into some characters consumes one after it.  The engine searches from one
# character before where the last match ended, so that character can be the next one's
# context.  Non-ASCII bytes never end a run that may hold them, so no match cuts a
# character in two.


def _after(chars: str) -> str:
    """Context: the text starts here, or the previous character is not in ``chars``."""
    return rf"(?:[^{chars}]|^)"


def _before(chars: str) -> str:
    """Context: the text ends here, or the next character is not in ``chars``, or is a
    "." that is not followed by a digit (a sentence may end in a number)."""
    return rf"(?:$|[^.{chars}]|\.$|\.[^0-9])"


_NUMBER_END: Final = _before(r"\w-")


_DIGITS_AS_ZERO: Final = bytes.maketrans(b"0123456789", b"0" * 10)


def _seven_digits(data: bytes, at: int) -> bool:
    """False when no phone, card or SSN starts at or after ``at``: each lies in a run of
    digits and the separators " .()+-" holding seven digits or more."""
    digits = data[at:].translate(_DIGITS_AS_ZERO, b" .()+-")
    return b"0000000" in digits


_OCTETS: Final = r"(?:\.(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])){3}"
_PEM_LABEL: Final = r"(?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----"
_PEM_BODY: Final = r"[A-Za-z0-9+/=\s:,.\\]"
_US_TAIL: Final = r"[0-9]{3}[ .-][0-9]{4}"
_AWS_SECRET_TAIL: Final = r"[\s\"':=>,]{1,8}([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])"
_LOCAL: Final = r"[\w.%+\x80-\xff-]"
_LABEL: Final = r"[\w\x80-\xff-]"


@dataclass(frozen=True)
class Builtin:
    """A built-in pattern: one or more RE2 regexes ("branches") and how to mask them.

    ``needles``: every match contains one of these bytes; ``again``: false when no
    match can start at or after a position (both spare a search its fixed cost).
    """

    name: str
    branches: tuple[str, ...]
    phase: int = 3  # 0: PEM blocks, 1: key=value; 3: the rest (2 is the user's)
    replacement: Replacement | None = None
    partial: Replacement | None = None
    check: Check | None = None
    checks: tuple[Check | None, ...] = ()  # per branch, instead of ``check``
    needles: tuple[bytes, ...] = ()
    retreat: bool = False  # see _engine.find
    again: Callable[[bytes, int], bool] | None = None


BUILTINS: Final[tuple[Builtin, ...]] = (
    Builtin(
        "private_key",
        # The body may not contain "-----", so a BEGIN without an END stops at the next
        # armour line instead of reading on; a missing END (a truncated log) still masks
        # the body.  Backslash is allowed for keys inside JSON-escaped text ("\n").
        (
            rf"-----BEGIN {_PEM_LABEL}(?:{_PEM_BODY}|-{{1,4}}{_PEM_BODY})*"
            rf"(?:-----END {_PEM_LABEL})?",
        ),
        phase=0,
        needles=(b"-----BEGIN",),
    ),
    Builtin(
        "secret_assignment",
        (),  # built from each redactor's key set by assignment_regex
        phase=1,
        replacement=REDACTED,
        check=unmasked,
    ),
    Builtin(
        "url_password",
        # ":" ends the password; a raw "@" may be in it (the last "@" ends it).  The
        # URL-encoded form (a URL passed as a query parameter) is masked too.
        (
            _after(r"\w+.-") + r"([A-Za-z][A-Za-z0-9+.-]*(?:://[^\s:/?#@\[\]]*:([^\s:/?#]+)@"
            r"|%3[Aa]%2[Ff]%2[Ff][^\s:/?#@\[\]%]*%3[Aa]([^\s:/?#%]+)%40))",
        ),
        check=unmasked,
        needles=(b"@", b"%40"),
    ),
    Builtin(
        "jwt",
        (_after(r"\w-") + r"(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*)",),
        needles=(b"eyJ",),
    ),
    Builtin(
        "bearer_token",
        (_after(r"\w-") + r"([Bb](?i:earer)(?:[ \t]{1,3}|%20)([A-Za-z0-9._~+/=-]{8,}))",),
        check=on_secret(not_all_lowercase),
    ),
    Builtin(
        "aws_access_key_id",
        (_after("A-Za-z0-9") + r"(A(?:KIA|SIA)[A-Z0-9]{16})(?:$|[^A-Za-z0-9])",),
        needles=(b"KIA", b"SIA"),
    ),
    Builtin(
        "aws_secret_access_key",
        # Only next to its keyword: a bare 40-character string is as likely a SHA-1.
        (
            _after("A-Za-z0-9") + r"((?:[Aa](?i:ws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?)"
            r"|[Ss](?i:ecret[_-]?access[_-]?key))" + _AWS_SECRET_TAIL + ")",
        ),
        check=on_secret(not_all_lowercase),
    ),
    Builtin(
        "api_key",
        # No right boundary: a vendor prefix and enough key characters are a key.
        (
            _after(r"\w-") + r"((?:[spr]k_(?:live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}"
            r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}"
            r"|SG\.[\w-]{22}\.[\w-]{43}))",
        ),
    ),
    Builtin(
        "email",
        # The local part starts where its run of local-part characters starts (RE2 finds
        # the leftmost start), "%40" is "@" URL-encoded, and the domain needs a dot.
        (
            rf"{_LOCAL}+(?:@|%40)[A-Za-z0-9\x80-\xff]{_LABEL}*(?:\.{_LABEL}+)*"
            r"\.[A-Za-z\x80-\xff]{2,}",
        ),
        partial=mask_email,
        needles=(b"@", b"%40"),
        # Most lines hold one address: no "@" after it spares the second search.
        again=lambda data, at: data.find(b"@", at) != -1 or data.find(b"%40", at) != -1,
    ),
    Builtin(
        "us_ssn",
        (_after(r"\w-") + r"([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})(?:$|[^\w-])",),
        partial=mask_partial,
        check=on_match(valid_ssn),
        again=_seven_digits,
    ),
    Builtin(
        "ipv4",
        # Octets up to 255, and a first octet other than 127 (loopback), in the regex; a
        # first octet written with a leading 0 (so also 0.0.0.0) goes to a Python check.
        (
            _after(r"\w.")
            + rf"((?:25[0-5]|2[0-4][0-9]|1[0-13-9][0-9]|12[0-68-9]|[1-9][0-9]?){_OCTETS})"
            + _before(r"\w"),
            _after(r"\w.") + rf"(0[0-9]{{0,2}}{_OCTETS})" + _before(r"\w"),
        ),
        partial=mask_ipv4,
        checks=(None, on_match(valid_ipv4)),
        again=lambda data, at: data.count(b".", at) >= 3,
    ),
    Builtin(
        "ipv6",
        # A run of hex digits and colons with a hex digit next to a colon (the parser
        # judges the rest), an IPv4 tail, a zone.  Starting only at the start of such a run keeps
        # rejected candidates from overlapping, so each byte is looked at a bounded
        # number of times.
        (
            _after(r"\w:.") + r"([0-9A-Fa-f:]*(?:[0-9A-Fa-f]:|:[0-9A-Fa-f])[0-9A-Fa-f:]*"
            r"(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})?"
            r"(?:%[\w.-]{1,16})?)" + _before(r"\w:"),
        ),
        partial=mask_ipv6,
        check=on_match(valid_ipv6),
        needles=(b":",),
    ),
    Builtin(
        "phone",
        (
            _after(r"\w+")
            + r"(\+(?:[0-9]{7,15}|[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-][0-9]{1,6}){1,6}))"
            + _NUMBER_END,
            _after(r"\w+.-") + r"(\([0-9]{3}\)[ .-]?" + _US_TAIL + ")" + _NUMBER_END,
            _after(r"\w+.-")
            + r"([0-9](?:[ .-](?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])|[0-9]{2}[ .-])"
            + _US_TAIL
            + ")"
            + _NUMBER_END,
        ),
        partial=mask_partial,
        check=on_match(lambda text: valid_phone(text) and valid_us_phone(text)),
        retreat=True,
        again=_seven_digits,
    ),
    Builtin(
        "credit_card",
        # Grouped numbers take the printed layouts: 4-4-4-4 (13 to 19 digits by the
        # last groups) and Amex/Diners 4-6-5 / 4-6-4.
        (
            _after(r"\w.+-")
            + r"([0-9](?:[0-9]{12,18}|[0-9]{3}(?:[ -][0-9]{4}){2}[ -][0-9]{1,4}(?:[ -][0-9]{3})?"
            r"|[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5}))" + _NUMBER_END,
        ),
        partial=mask_card,
        check=on_match(valid_card),
        again=_seven_digits,
    ),
)

#: Every built-in pattern name, each of which ``enable`` and ``disable`` accept.
BUILTIN_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in BUILTINS)
_SECRETS: Final = (
    "private_key", "secret_assignment", "url_password", "jwt", "bearer_token",
    "aws_access_key_id", "aws_secret_access_key", "api_key",
)  # fmt: skip
#: Named sets of built-ins.  ``default`` is what "PII redaction on by default" means for
#: logs operators read: secrets and personal data, but not client IP addresses, which
#: are operational data in access logs; ``strict`` adds them; ``minimal`` is secrets only.
PRESETS: Final[Mapping[str, frozenset[str]]] = {
    "minimal": frozenset(_SECRETS),
    "default": frozenset({*_SECRETS, "email", "us_ssn", "phone", "credit_card"}),
    "strict": frozenset(BUILTIN_PATTERN_NAMES),
}
#: The built-ins the ``default`` preset turns on.
DEFAULT_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(
    name for name in BUILTIN_PATTERN_NAMES if name in PRESETS["default"]
)


def assignment_regex(exact: Iterable[str], suffixes: Iterable[str]) -> str:
    """The ``key=value`` / ``key: value`` regex for these sensitive keys.

    A key matches as in :meth:`~cwlogs.redaction.Redactor.is_sensitive_key`: in any
    case, with ``-``, ``_`` or ``.`` between any two characters, after leading ``-`` or
    ``_`` ("--password="); a suffix matches at the end of any run of ``[\\w.-]``.  The
    key is judged inside the regex, so the many harmless ``k=v`` pairs of logfmt text
    cost nothing beyond the one pass.  The sign may be URL-encoded (``%3D``, ``%3A``), the
    value quoted, JSON-escaped (``\\"``), or bare with an auth scheme and cookie parts.
    """

    def key(word: str) -> str:
        parts = []
        for ch in word:
            if ch.isascii() and ch.isalpha():
                parts.append(f"[{ch.upper()}{ch.lower()}]")
            else:
                parts.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
        return "[-_.]?".join(parts)

    keys = []
    if exact:
        keys.append("[-_]{0,2}(?:" + "|".join(map(key, sorted(exact))) + ")")
    if suffixes:
        keys.append(r"[\w.-]*(?:" + "|".join(map(key, sorted(suffixes))) + ")")
    value = r"[^\s\"',;&)}\]]+"
    return (
        _after(r"\w.-")
        + f"((?:{'|'.join(keys)})"
        + r"[-_.]{0,3}\\?[\"']?[ \t]{0,3}(?:[:=]|%3[AaDd])[ \t]{0,3}"
        + r"(?:\"([^\"\r\n]*)\"|'([^'\r\n]*)'|\\\"((?:[^\"\\\r\n]|\\[^\"\r\n])*)\\\""
        + r"|((?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?"
        + value
        + rf"(?:;[ ]?{value})*)))"
    )
