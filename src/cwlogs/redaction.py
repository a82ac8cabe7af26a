"""PII redaction for log events: patterns for text, and masking by key for dicts.

The handler runs a :class:`Redactor` on its worker thread, over the message and every
string in the structured event.  Each string is encoded once and put through one
``re2.Set`` (google-re2: every built-in pattern in one linear pass), which says which
patterns occur at all; only those are then searched for, each with its own RE2 regex,
and validators (Luhn, address ranges) run in Python on the few candidates.  RE2 runs
in time linear in its input whatever the pattern, so no input can make a scan worse
than linear.

>>> r = Redactor()
>>> r.redact_text("mail jane@example.com from 203.0.113.7")
'mail [EMAIL_REDACTED] from 203.0.113.7'
>>> Redactor(preset="strict").redact_text("from 203.0.113.7")
'from [IPV4_REDACTED]'
>>> r.redact_event({"user": "jane", "password": "hunter2"})
{'user': 'jane', 'password': '[REDACTED]'}
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import ipaddress
import re
import threading
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias, TypeVar

import re2
from re2 import _re2  # the binding itself: re2's pure-Python wrapper costs ~3 µs a call

__all__ = [
    "BUILTIN_PATTERN_NAMES",
    "DEFAULT_PATTERN_NAMES",
    "DEFAULT_SENSITIVE_KEYS",
    "PRESETS",
    "REDACTED",
    "Pattern",
    "Redactor",
    "Replacement",
    "Style",
    "luhn_valid",
    "mask_card",
    "mask_email",
    "mask_ipv4",
    "mask_ipv6",
    "mask_name",
    "mask_partial",
]

#: A fixed replacement (used literally: no ``\1`` expansion), or a function of the
#: matched text.
Replacement: TypeAlias = "str | Callable[[str], str]"
Style: TypeAlias = Literal["token", "partial"]

#: What the value of a sensitive key, or of a ``password=...`` assignment, becomes.
REDACTED: Final = "[REDACTED]"

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

_ATOMS: Final = frozenset({int, float, bool, type(None)})
_VERDICT_CACHE_SIZE: Final = 4096
_KEY_STRIP: Final = str.maketrans("", "", "-_. ")
_MAX_DEPTH: Final = 64
_CLEAN_CACHE_LENGTH: Final = 128  # characters; longer strings rarely repeat exactly
_CLEAN_CACHE_SIZE: Final = 4096  # entries, so at most ~1 MB; emptied when full


@dataclass(frozen=True)
class Pattern:
    """A named regex and what to replace its matches with.

    ``replacement`` defaults to ``[<NAME>_REDACTED]``; a callable gets the matched text.
    ``partial`` replaces instead when the redactor's style for this pattern is
    ``"partial"`` (without one, ``replacement`` is used).  ``validate`` gets the matched
    text and can veto it.  ``trigger`` is a regex character-class body such that every
    match contains one of its characters; when every extra pattern has one, text
    without any of them skips the extra patterns' scan.

    Extra patterns are Python regexes, run with :mod:`re` on the text.  One without
    capturing groups joins a combined scan.  One with groups gets a scan of its own
    (merging would renumber them); there a group named ``secret`` (or ``secret2``,
    ``secret3``...) marks what to replace: the first such group that took part in the
    match is replaced and the rest of the match is kept.

    >>> r = Redactor(extra_patterns=[Pattern("order", r"ORD-[0-9]{6}", "[ORDER]")])
    >>> r.redact_text("ORD-123456 shipped")
    '[ORDER] shipped'
    """

    name: str
    regex: str | re.Pattern[str]
    replacement: Replacement | None = None
    partial: Replacement | None = None
    validate: Callable[[str], bool] | None = None
    trigger: str | None = None


# ---------------------------------------------------------------------- partial masks


def mask_partial(
    text: str,
    *,
    keep_start: int = 0,
    keep_end: int = 4,
    mask_char: str = "*",
    separators: str = " -./()+:",
) -> str:
    """Mask all but the first ``keep_start`` and last ``keep_end`` characters.

    Separators are neither masked nor counted, so the layout survives; text too short
    to show anything without showing everything is masked whole.

    >>> mask_partial("4111-1111-1111-1234")
    '****-****-****-1234'
    """
    positions = [i for i, ch in enumerate(text) if ch not in separators]
    if len(positions) <= keep_start + keep_end:
        return "".join(ch if ch in separators else mask_char for ch in text)
    hidden = set(positions[keep_start : len(positions) - keep_end])
    return "".join(mask_char if i in hidden else ch for i, ch in enumerate(text))


def mask_card(text: str) -> str:
    """Keep the last four digits of a card number, which PCI DSS allows showing.

    >>> mask_card("4111-1111-1111-1234")
    '****-****-****-1234'
    """
    return mask_partial(text, keep_end=4)


def mask_email(text: str) -> str:
    """Keep the first letter of the mailbox and the top-level domain.

    >>> mask_email("john.doe@example.com")
    'j***@***.com'
    """
    local, _, domain = text.replace("%40", "@").rpartition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@***" + (f".{tld}" if tld else "")


def mask_name(text: str) -> str:
    """Keep the first name and the initial of every other name.

    >>> mask_name("John Doe")
    'John D***'
    """
    first, *rest = text.split() or [""]
    if not rest:
        return f"{first[:1]}***"
    return " ".join([first, *(f"{part[:1]}***" for part in rest)])


def mask_ipv4(text: str) -> str:
    """Hide the host octet, as web analytics do to anonymise an address.

    >>> mask_ipv4("203.0.113.7")
    '203.0.113.*'
    """
    return text.rsplit(".", 1)[0] + ".*"


def mask_ipv6(text: str) -> str:
    """Keep the first 48 bits (the routing prefix) of an IPv6 address.

    >>> mask_ipv6("2001:db8:85a3::8a2e:370:7334")
    '2001:db8:85a3:*'
    """
    try:
        groups = ipaddress.IPv6Address(text.split("%", 1)[0]).exploded.split(":")
    except ValueError:
        return "*"
    return ":".join(g.lstrip("0") or "0" for g in groups[:3]) + ":*"


# ------------------------------------------------------------------------- validators

# Digit characters to their values, and to the digit sum of their double: summing the
# translated bytes keeps the whole checksum in C.
_PLAIN: Final = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED: Final = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))
_GROUPS_ONLY: Final = str.maketrans(".-()+", "     ")


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` is 13 to 19 ASCII digits that pass the Luhn checksum.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not (13 <= len(digits) <= 19 and digits.isascii() and digits.isdigit()):
        return False
    plain = sum(digits[-1::-2].encode().translate(_PLAIN))
    return (plain + sum(digits[-2::-2].encode().translate(_DOUBLED))) % 10 == 0


def _valid_card(text: str) -> bool:
    if text[:1] not in "23456":
        # Issuer digits 2-6 cover Mastercard, Visa, Amex, Discover, JCB, Diners, UnionPay
        # and Maestro; leaving out 1 and 7-9 keeps millisecond timestamps unmasked.
        return False
    if luhn_valid(text.replace(" ", "").replace("-", "")):
        return True
    # "4111 1111 1111 1111 123": a card followed by one more group still counts.  (One
    # *preceded* by a group is found anyway: after a veto the search restarts there.)
    head = text.replace("-", " ").rpartition(" ")[0].replace(" ", "")
    return luhn_valid(head)


def _valid_ipv4(text: str) -> bool:
    octets = [int(part) for part in text.split(".")]
    # Loopback and "any" identify nobody, and masking them hides useful bind addresses.
    return max(octets) <= 255 and octets[0] != 127 and octets != [0, 0, 0, 0]


def _valid_ipv6(text: str) -> bool:
    addr = text.split("%", 1)[0]
    # Cheap shape checks first: ipaddress reports bad text by raising, which is slow.
    # Every IPv6 text has "::" or all eight groups (seven colons, or six before an IPv4
    # tail), which keeps clock times and MAC addresses away from the parser.
    colons = addr.count(":")
    if "::" not in addr and colons != 7 and not (colons == 6 and "." in addr):
        return False
    if addr.count("::") > 1 or colons > 8:
        return False
    try:
        parsed = ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return not (parsed.is_loopback or parsed.is_unspecified)


def _valid_phone(text: str) -> bool:
    # E.164 caps a number at 15 digits; below 7 it is a score or a count, not a phone.
    # Groups are added one at a time because the match may run on into a neighbouring
    # number ("+1 555 123 4567 123-45-6789"): the phone at its head still counts.
    digits = 0
    for group in text.translate(_GROUPS_ONLY).split():
        digits += len(group)
        if digits > 15:
            return False
        if digits >= 7:
            return True
    return False


def _valid_us_phone(text: str) -> bool:
    # "1-800-555-1234": a lone leading digit before a separator is the country code 1.
    return text[1:2].isdigit() or text[:1] == "1"


def _valid_ssn(text: str) -> bool:
    # Never issued: area 000 or 666, group 00, serial 0000.  ITINs (9xx) are masked too.
    area, group, serial = text[:3], text[4:6], text[7:]
    return area not in ("000", "666") and group != "00" and serial != "0000"


def _not_all_lowercase(text: str) -> bool:
    # Real tokens practically always hold an upper-case letter, a digit or a symbol;
    # prose ("bearer credentials") does not.
    return not (text.isalpha() and text.islower())


# A value that is already a mask is left alone, so that redacting twice (a structlog
# processor, then the handler) changes nothing and counts nothing the second time.
_ALREADY_MASKED: Final = re.compile(
    rb"(?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?\[[A-Z0-9_]*REDACTED\]"
)
# A phone ends before an email's local part, never in it: "+1 555 123 4567 0@x.io" is a
# phone and the email "0@x.io", where a phone taking " 0" would leave "@x.io" behind.
_LOCAL_PART_THEN_AT: Final = re.compile(rb"[\w.%+-]{0,64}(?:@|%40)")


# ----------------------------------------------------------------------------- checks
# A check gets the text's bytes and the spans of the regex's groups (0: the whole match
# with its context, 1: the redactable match, 2...: secret candidates; a regex without
# context has no groups, as RE2 finds spans faster without) and may veto.

_Spans: TypeAlias = "list[tuple[int, int]]"
_Check: TypeAlias = "Callable[[bytes, _Spans], bool]"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # a span that cut a character: never raise on the worker
        return data.decode("utf-8", "replace")


def _on_match(fn: Callable[[str], bool]) -> _Check:
    def check(data: bytes, spans: _Spans) -> bool:
        start, end = spans[1] if len(spans) > 1 else spans[0]
        return fn(_decode(data[start:end]))

    return check


def _on_secret(fn: Callable[[str], bool]) -> _Check:
    def check(data: bytes, spans: _Spans) -> bool:
        start, end = _secret_span(spans)
        return fn(_decode(data[start:end]))

    return check


def _unmasked(data: bytes, spans: _Spans) -> bool:
    return _ALREADY_MASKED.match(data, _secret_span(spans)[0]) is None


def _secret_span(spans: _Spans) -> tuple[int, int]:
    for span in spans[2:]:
        if span[0] != -1:
            return span
    return spans[1] if len(spans) > 1 else spans[0]


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
class _Builtin:
    """A built-in pattern: one or more RE2 regexes ("branches") and how to mask them.

    ``needles``: every match contains one of these bytes; ``again``: false when no
    match can start at or after a position (both spare a search its fixed cost).
    """

    name: str
    branches: tuple[str, ...]
    phase: int = 3  # 0: PEM blocks, 1: key=value; 3: the rest (2 is the user's)
    replacement: Replacement | None = None
    partial: Replacement | None = None
    check: _Check | None = None
    checks: tuple[_Check | None, ...] = ()  # per branch, instead of ``check``
    needles: tuple[bytes, ...] = ()
    retreat: bool = False  # see _find
    again: Callable[[bytes, int], bool] | None = None


_BUILTINS: Final[tuple[_Builtin, ...]] = (
    _Builtin(
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
    _Builtin(
        "secret_assignment",
        (),  # built from each redactor's key set by _assignment_regex
        phase=1,
        replacement=REDACTED,
        check=_unmasked,
    ),
    _Builtin(
        "url_password",
        # ":" ends the password; a raw "@" may be in it (the last "@" ends it).  The
        # URL-encoded form (a URL passed as a query parameter) is masked too.
        (
            _after(r"\w+.-") + r"([A-Za-z][A-Za-z0-9+.-]*(?:://[^\s:/?#@\[\]]*:([^\s:/?#]+)@"
            r"|%3[Aa]%2[Ff]%2[Ff][^\s:/?#@\[\]%]*%3[Aa]([^\s:/?#%]+)%40))",
        ),
        check=_unmasked,
        needles=(b"@", b"%40"),
    ),
    _Builtin(
        "jwt",
        (_after(r"\w-") + r"(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*)",),
        needles=(b"eyJ",),
    ),
    _Builtin(
        "bearer_token",
        (_after(r"\w-") + r"([Bb](?i:earer)(?:[ \t]{1,3}|%20)([A-Za-z0-9._~+/=-]{8,}))",),
        check=_on_secret(_not_all_lowercase),
    ),
    _Builtin(
        "aws_access_key_id",
        (_after("A-Za-z0-9") + r"(A(?:KIA|SIA)[A-Z0-9]{16})(?:$|[^A-Za-z0-9])",),
        needles=(b"KIA", b"SIA"),
    ),
    _Builtin(
        "aws_secret_access_key",
        # Only next to its keyword: a bare 40-character string is as likely a SHA-1.
        (
            _after("A-Za-z0-9") + r"((?:[Aa](?i:ws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?)"
            r"|[Ss](?i:ecret[_-]?access[_-]?key))" + _AWS_SECRET_TAIL + ")",
        ),
        check=_on_secret(_not_all_lowercase),
    ),
    _Builtin(
        "api_key",
        # No right boundary: a vendor prefix and enough key characters are a key.
        (
            _after(r"\w-") + r"((?:[spr]k_(?:live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}"
            r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}"
            r"|SG\.[\w-]{22}\.[\w-]{43}))",
        ),
    ),
    _Builtin(
        "email",
        # The local part starts where its run of local-part characters starts (RE2 finds
        # the leftmost start), "%40" is "@" URL-encoded, and the domain needs a dot.
        (
            rf"{_LOCAL}+(?:@|%40)[A-Za-z0-9\x80-\xff]{_LABEL}*(?:\.{_LABEL}+)*"
            r"\.[A-Za-z\x80-\xff]{2,}",
        ),
        partial=mask_email,
        needles=(b"@", b"%40"),
    ),
    _Builtin(
        "us_ssn",
        (_after(r"\w-") + r"([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})(?:$|[^\w-])",),
        partial=mask_partial,
        check=_on_match(_valid_ssn),
        again=_seven_digits,
    ),
    _Builtin(
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
        checks=(None, _on_match(_valid_ipv4)),
        again=lambda data, at: data.count(b".", at) >= 3,
    ),
    _Builtin(
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
        check=_on_match(_valid_ipv6),
        needles=(b":",),
    ),
    _Builtin(
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
        check=_on_match(lambda text: _valid_phone(text) and _valid_us_phone(text)),
        retreat=True,
        again=_seven_digits,
    ),
    _Builtin(
        "credit_card",
        # Grouped numbers take the printed layouts: 4-4-4-4 (13 to 19 digits by the
        # last groups) and Amex/Diners 4-6-5 / 4-6-4.
        (
            _after(r"\w.+-")
            + r"([0-9](?:[0-9]{12,18}|[0-9]{3}(?:[ -][0-9]{4}){2}[ -][0-9]{1,4}(?:[ -][0-9]{3})?"
            r"|[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5}))" + _NUMBER_END,
        ),
        partial=mask_card,
        check=_on_match(_valid_card),
        again=_seven_digits,
    ),
)

#: Every built-in pattern name, each of which ``enable`` and ``disable`` accept.
BUILTIN_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in _BUILTINS)
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


def _assignment_regex(exact: Iterable[str], suffixes: Iterable[str]) -> str:
    """The ``key=value`` / ``key: value`` regex for these sensitive keys.

    A key matches as in :meth:`Redactor.is_sensitive_key`: in any case, with ``-``,
    ``_`` or ``.`` between any two characters, after leading ``-`` or ``_``
    ("--password="); a suffix matches at the end of any run of ``[\\w.-]``.  The key is
    judged inside the regex, so the many harmless ``k=v`` pairs of logfmt text cost
    nothing beyond the one pass.  The sign may be URL-encoded (``%3D``, ``%3A``), the
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


# ---------------------------------------------------------------------------- Redactor


class Redactor:
    """Masks PII in text and in structured events; an instance is also a structlog processor.

    ``preset`` picks the built-ins (see :data:`PRESETS`: ``"minimal"``, ``"default"``,
    ``"strict"``); ``enable`` adds built-ins to it by name, ``disable`` removes them.
    ``extra_patterns`` are added to the built-ins; one that reuses a built-in's name
    replaces it.  ``style`` picks fixed tokens or partial masks for every pattern,
    ``styles`` overrides it per pattern name.  ``keys`` replaces
    :data:`DEFAULT_SENSITIVE_KEYS`, ``extra_keys`` adds to it.  Bad configuration
    raises :class:`ValueError` here; redacting itself never raises.

    :meth:`stats` counts replacements per pattern name, and masked keys as
    ``"key:<key>"`` (lower-cased, ``-`` written ``_``).

    >>> Redactor(preset="strict", disable={"ipv4"}, style="partial").redact_text(
    ...     "jane@example.com 10.1.2.3")
    'j***@***.com 10.1.2.3'
    """

    def __init__(
        self,
        *,
        preset: str = "default",
        enable: Iterable[str] = (),
        disable: Iterable[str] = (),
        extra_patterns: Iterable[Pattern] = (),
        style: Style = "token",
        styles: Mapping[str, Style] | None = None,
        keys: Iterable[str] | None = None,
        extra_keys: Iterable[str] = (),
    ) -> None:
        entries = {*(DEFAULT_SENSITIVE_KEYS if keys is None else keys), *extra_keys}
        self._suffix_keys = tuple(
            sorted({_normalise_key(k[1:]) for k in entries if k[:1] == "*"} - {""})
        )
        self._exact_keys = frozenset(
            {_normalise_key(k) for k in entries if k[:1] != "*"} - {""}
        ) | frozenset(self._suffix_keys)
        # Event keys repeat endlessly; remembering each verdict keeps dict walks cheap.
        self._key_verdict = functools.lru_cache(maxsize=4096)(self._judge_key)
        # The same few keys come in every event: a plain dict lookup beats the lru_cache.
        self._verdicts: dict[Any, bool] = {}

        chosen = _select(preset, enable, disable, extra_patterns)
        styles = dict(styles or {})
        for name, value in [*styles.items(), ("style", style)]:
            if value not in ("token", "partial"):
                raise ValueError(f"style for {name!r} must be 'token' or 'partial'")
        unknown = set(styles) - {p.name for p in chosen}
        if unknown:
            raise ValueError(f"styles names no enabled pattern: {sorted(unknown)}")

        finders: list[_Finder] = []
        custom: list[_Rule] = []
        alone: list[_Pass] = []
        self._cards = False
        for pattern in chosen:
            replacement = pattern.replacement
            if styles.get(pattern.name, style) == "partial" and pattern.partial is not None:
                replacement = pattern.partial
            if replacement is None:
                replacement = f"[{pattern.name.upper()}_REDACTED]"
            if isinstance(pattern, _Builtin):
                self._cards |= pattern.name == "credit_card"
                finders += _finders(pattern, replacement, self._exact_keys, self._suffix_keys)
                continue
            compiled = _compiled(pattern)
            replace = _fail_closed(_as_function(replacement), f"[{pattern.name.upper()}_REDACTED]")
            validate = pattern.validate
            if validate is not None:
                validate = _fail_closed(validate, True)
            rule = _Rule(pattern.name, (_inline(compiled),), replace, validate)
            if compiled.groups:
                alone.append(_Pass.alone(rule, compiled))
            else:
                custom.append(rule)

        # Priority: PEM blocks, then `key=value` assignments, then the user's patterns,
        # then the rest in _BUILTINS order; each claims its text before later ones look.
        finders.sort(key=lambda f: f.phase)
        self._finders = tuple(finders)  # a finder's place here is its number in the gate
        self._gate: Any = None
        if self._finders:
            gate = re2.Set.SearchSet(_options())
            for finder in self._finders:
                gate.Add(finder.source.encode("latin-1"))
            gate.Compile()
            self._gate = gate._set  # the binding: the wrapper's str handling costs a call
        custom.sort(key=lambda rule: rule.validate is not None)
        self._custom = ([_Pass.combined(custom)] if custom else []) + alone
        self._custom_trigger: re.Pattern[str] | None = None
        extras = [p for p in chosen if not isinstance(p, _Builtin)]
        if extras and all(p.trigger for p in extras):
            # One-character alternatives: sre folds them into one set and scans with it.
            self._custom_trigger = re.compile("|".join(f"[{p.trigger}]" for p in extras))

        self._clean: dict[str, None] = {}  # see _text
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API

    def redact_text(self, text: str) -> str:
        """Return ``text`` with the matches of every enabled pattern replaced.

        Also what the exporter can use on a stream name or any other string.

        >>> Redactor().redact_text("card 4111 1111 1111 1111, order ORD-2024-000123")
        'card [CREDIT_CARD_REDACTED], order ORD-2024-000123'
        """
        tally: dict[str, int] = {}
        out = self._text(text, tally)
        if tally:
            self._merge(tally)
        return out

    def redact_event(self, event: Mapping[str, Any], skip: Container[str] = ()) -> dict[str, Any]:
        """Return a redacted copy of ``event``; the input and its children are left alone.

        Values under a sensitive key become ``"[REDACTED]"``, whatever their type; other
        strings are scanned; dicts, lists, tuples, sets and dataclasses are walked;
        bytes and other objects are scanned as the text they would be logged as
        (``repr``), and replaced by that text only when it had something to mask.  Keys
        themselves are never rewritten.  Top-level keys in ``skip`` are copied
        unscanned (the handler skips the fields it wrote itself).

        >>> Redactor().redact_event({"auth": {"Api-Key": 123}, "to": ["a@b.io"]})
        {'auth': {'Api-Key': '[REDACTED]'}, 'to': ['[EMAIL_REDACTED]']}
        """
        tally: dict[str, int] = {}
        out = self._mapping(event, tally, 0, skip)
        if tally:
            self._merge(tally)
        return out

    def redact_event_in_place(
        self, event: MutableMapping[str, Any], skip: Container[str] = ()
    ) -> None:
        """Redact the top-level values of ``event`` itself; for a dict nobody else holds.

        Masks exactly what :meth:`redact_event` masks, without copying the event (nested
        containers are still copied, as there).  The handler uses it on the event dict it
        has just built.

        >>> event = {"msg": "to a@b.io", "n": 1}
        >>> Redactor().redact_event_in_place(event)
        >>> event
        {'msg': 'to [EMAIL_REDACTED]', 'n': 1}
        """
        tally: dict[str, int] = {}
        self._in_place(event, tally, 0, skip)
        if tally:
            self._merge(tally)

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """Be a structlog processor: ``structlog.configure(processors=[..., Redactor()])``.

        >>> Redactor()(None, "info", {"event": "hi bob@example.com"})
        {'event': 'hi [EMAIL_REDACTED]'}
        """
        return self.redact_event(event_dict)

    def stats(self) -> dict[str, int]:
        """Replacements so far, per pattern name and as ``"key:<key>"`` per masked key.

        >>> r = Redactor()
        >>> _ = r.redact_event({"Token": "t", "msg": "a@b.io and c@d.io"})
        >>> r.stats()
        {'key:token': 1, 'email': 2}
        """
        with self._lock:
            return dict(self._counts)

    def is_sensitive_key(self, key: str) -> bool:
        """True when values under ``key`` are masked whole.

        >>> Redactor().is_sensitive_key("X-Api-Key"), Redactor().is_sensitive_key("max_tokens")
        (True, False)
        """
        return self._key_verdict(key)

    # ------------------------------------------------------------------ internals

    def _merge(self, tally: dict[str, int]) -> None:
        # One lock per call that found something, not per hit; most calls find nothing.
        with self._lock:
            for name, count in tally.items():
                self._counts[name] = self._counts.get(name, 0) + count

    def _judge_key(self, key: str) -> bool:
        norm = _normalise_key(key)
        return norm in self._exact_keys or norm.endswith(self._suffix_keys)

    def _text(self, text: str, tally: dict[str, int]) -> str:
        short = len(text) <= _CLEAN_CACHE_LENGTH
        if short and text in self._clean:
            return text
        data = text.encode("utf-8", "surrogatepass")
        flagged = self._gate.Match(data) if self._gate is not None else []
        if self._custom:
            out = self._with_custom(text, data, flagged, tally)
        elif not flagged:
            out = text
        elif len(flagged) == 1:  # the common case, kept short
            out = _single(self._finders[flagged[0]], text, data, tally)
        else:
            out = self._apply(text, data, flagged, tally)
        if short and out is text:
            # Field values repeat (logger and thread names, hosts, ids of a few kinds),
            # so short strings found clean are remembered.  Only clean ones: the cache
            # must not become a store of the very secrets it exists to hide.
            if len(self._clean) >= _CLEAN_CACHE_SIZE:
                self._clean.clear()
            self._clean[text] = None
        return out

    def _with_custom(
        self, text: str, data: bytes, flagged: list[int], tally: dict[str, int]
    ) -> str:
        """PEM blocks and assignments, then the user's patterns, then the rest."""
        finders = self._finders
        early = [i for i in flagged if finders[i].phase < _USER_PHASE]
        out = self._apply(text, data, early, tally) if early else text
        if self._custom_trigger is None or self._custom_trigger.search(out):
            for scan in self._custom:
                out = _run(scan, out, tally)
        if out is not text:  # masks moved the text: gate it again
            data = out.encode("utf-8", "surrogatepass")
            flagged = self._gate.Match(data) if self._gate is not None else []
        late = [i for i in flagged if finders[i].phase > _USER_PHASE]
        return self._apply(out, data, late, tally) if late else out

    def _apply(self, text: str, data: bytes, flagged: list[int], tally: dict[str, int]) -> str:
        """``text`` with the matches of the ``flagged`` finders masked."""
        finders = self._finders
        chosen = [finders[i] for i in sorted(flagged)]
        hits: list[tuple[int, int, _Finder]] = []
        claimed: list[tuple[int, int]] = []  # masked spans of the phases done
        size = len(data)
        at = len(chosen) if chosen[0].phase == chosen[-1].phase else 0
        if at:  # one phase: no claims to work around
            hits = _search(chosen, data, 0, size)
        while at < len(chosen):
            phase = chosen[at].phase
            group = [f for f in chosen[at:] if f.phase == phase]
            at += len(group)
            # A later phase looks only between the spans an earlier one masked.
            found: list[tuple[int, int, _Finder]] = []
            start = 0
            for begin, end in [*claimed, (size, size)]:
                if begin > start:
                    found += _search(group, data, start, begin)
                start = max(start, end)
            if found:
                hits += found
                claimed = sorted([*claimed, *((s, e) for s, e, _ in found)])
        if not hits:
            return text
        hits.sort(key=lambda hit: hit[0])
        pieces: list[bytes] = []
        kept = 0
        for start, end, finder in hits:
            pieces.append(data[kept:start])
            if finder.fixed is None:
                masked = finder.replace(data[start:end].decode("utf-8", "replace"))
                pieces.append(masked.encode("utf-8", "surrogatepass"))
            else:
                pieces.append(finder.fixed)
            kept = end
            tally[finder.name] = tally.get(finder.name, 0) + 1
        pieces.append(data[kept:])
        return _decode(b"".join(pieces))

    def _mapping(
        self,
        event: Mapping[Any, Any],
        tally: dict[str, int],
        depth: int,
        skip: Container[str] = (),
    ) -> dict[Any, Any]:
        out = dict(event)
        self._in_place(out, tally, depth, skip)
        return out

    def _in_place(
        self,
        event: MutableMapping[Any, Any],
        tally: dict[str, int],
        depth: int,
        skip: Container[str] = (),
    ) -> None:
        verdicts = self._verdicts
        clean = self._clean
        for key, value in event.items():  # values change, keys don't: iteration is safe
            if key in skip:
                continue
            sensitive = verdicts.get(key)
            if sensitive is None:
                sensitive = isinstance(key, str) and self._key_verdict(key)
                if len(verdicts) < _VERDICT_CACHE_SIZE:
                    verdicts[key] = sensitive
            if sensitive:
                event[key] = REDACTED
                label = "key:" + key.lower().replace("-", "_")
                tally[label] = tally.get(label, 0) + 1
            elif type(value) is str:
                # Known-clean short strings skip the call; long ones are never in the cache.
                if len(value) > _CLEAN_CACHE_LENGTH or value not in clean:
                    event[key] = self._text(value, tally)
            elif type(value) not in _ATOMS or (type(value) is int and value > _CARD_SIZED):
                event[key] = self._value(value, tally, depth + 1)

    def _value(self, value: Any, tally: dict[str, int], depth: int) -> Any:
        if isinstance(value, str):
            return self._text(value, tally)
        if isinstance(value, bool | float) or value is None:
            return value
        if isinstance(value, int):
            # A card number logged as a number is still a card number.
            if self._cards and abs(value) > _CARD_SIZED:
                return self._as_text(value, str(value), tally)
            return value
        if depth > _MAX_DEPTH:
            # Too deep to inspect, or a cycle: fail closed rather than leak.
            tally["max_depth"] = tally.get("max_depth", 0) + 1
            return REDACTED
        if isinstance(value, Mapping):
            return self._mapping(value, tally, depth)
        if isinstance(value, list | tuple | set | frozenset):
            items = [self._value(item, tally, depth + 1) for item in value]
            if isinstance(value, list):
                return items
            if isinstance(value, tuple):
                make = getattr(type(value), "_make", None)  # keep a namedtuple a namedtuple
                return make(items) if make is not None else tuple(items)
            return frozenset(items) if isinstance(value, frozenset) else set(items)
        if isinstance(value, _NATIVE):
            return value  # encoded as numbers or ISO/UUID text: nothing to find
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # As orjson encodes it: its fields, without the _private ones.
            fields = {
                f.name: getattr(value, f.name, None)
                for f in dataclasses.fields(value)
                if not f.name.startswith("_")
            }
            out = self._mapping(fields, tally, depth)
            return value if out == fields else out
        return self._as_text(value, _as_logged(value), tally)

    def _as_text(self, value: Any, text: str, tally: dict[str, int]) -> Any:
        """``value`` itself, or the masked text it is logged as if that had PII in it."""
        masked = self._text(text, tally)
        return value if masked is text else masked


_CARD_SIZED: Final = 10**12 - 1  # 13 digits or more
_AGAIN_SPAN: Final = 512  # bytes
_USER_PHASE: Final = 2


def _as_logged(value: Any) -> str:
    """The text cwlogs' JSON encoder writes for a value it cannot encode natively."""
    try:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, BaseException):
            return f"{type(value).__name__}: {value}"
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, enum.Enum):
            return str(value.value)
        return repr(value)
    except Exception:  # a broken __repr__ is the encoder's problem, not a leak
        return ""


def _normalise_key(key: str) -> str:
    return key.lower().translate(_KEY_STRIP)


def _select(
    preset: str, enable: Iterable[str], disable: Iterable[str], extra: Iterable[Pattern]
) -> list[_Builtin | Pattern]:
    if preset not in PRESETS:
        raise ValueError(f"unknown redaction preset {preset!r}; the presets are {list(PRESETS)}")
    enabled, disabled = set(enable), set(disable)
    extras = list(extra)
    names = [p.name for p in extras]
    if len(set(names)) != len(names):
        raise ValueError("extra_patterns uses a name twice")
    unknown = (enabled - set(BUILTIN_PATTERN_NAMES)) | (
        disabled - set(BUILTIN_PATTERN_NAMES) - set(names)
    )
    if unknown:
        raise ValueError(
            f"unknown redaction pattern(s) {sorted(unknown)}; "
            f"the built-ins are {list(BUILTIN_PATTERN_NAMES)}"
        )
    wanted = (PRESETS[preset] | enabled) - disabled - set(names)
    kept: list[_Builtin | Pattern] = [p for p in _BUILTINS if p.name in wanted]
    return kept + [p for p in extras if p.name not in disabled]


# ------------------------------------------------------------------------ RE2 engine

_UNANCHORED: Final = _re2.RE2.Anchor.UNANCHORED
_NATIVE: Final = (datetime.date, datetime.time, datetime.timedelta, uuid.UUID)


def _options() -> re2.Options:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.log_errors = False  # never write to stderr from a logging handler's worker
    options.max_mem = 64 << 20  # room for the gate's DFA on any input
    return options


@functools.lru_cache(maxsize=256)
def _compile_re2(source: str) -> Any:
    # Redactors with the same options share their compiled regexes.
    regex = _re2.RE2(source.encode("latin-1"), _options())
    if not regex.ok():  # a bug in a built-in, not a user error
        raise ValueError(f"redaction regex does not compile: {regex.error()}: {source}")
    return regex


@dataclass(frozen=True, eq=False)
class _Finder:
    """One RE2 regex of a built-in: group 1 is the match, groups 2... its secret parts."""

    name: str
    regex: Any  # re2's _re2.RE2
    source: str  # also its entry in the gate
    context: bool  # group 1 starts after one consumed character of context
    phase: int
    replace: Callable[[str], str]
    check: _Check | None
    needles: tuple[bytes, ...]
    retreat: bool
    fixed: bytes | None  # the replacement, when it is a fixed string
    again: Callable[[bytes, int], bool] | None


def _finders(
    pattern: _Builtin,
    replacement: Replacement,
    exact: Iterable[str],
    suffixes: Iterable[str],
) -> list[_Finder]:
    replace = _as_function(replacement)
    fixed = replacement.encode("utf-8", "surrogatepass") if isinstance(replacement, str) else None
    branches = pattern.branches
    if pattern.name == "secret_assignment":
        if not exact and not suffixes:
            return []
        branches = (_assignment_regex(exact, suffixes),)
    return [
        _Finder(
            pattern.name,
            _compile_re2(source),
            source,
            source.startswith("(?:[^"),
            pattern.phase,
            replace,
            pattern.checks[i] if pattern.checks else pattern.check,
            pattern.needles,
            pattern.retreat,
            fixed,
            pattern.again,
        )
        for i, source in enumerate(branches)
    ]


def _single(finder: _Finder, text: str, data: bytes, tally: dict[str, int]) -> str:
    """``text`` with the matches of one finder masked: what ``_apply`` does for one."""
    size = len(data)
    found = _find(finder, data, 0, size)
    if found is None:
        return text
    fixed = finder.fixed
    pieces: list[bytes] = []
    kept = count = 0
    while found is not None:
        _, last, spans = found
        start, end = spans[0] if len(spans) == 1 else _secret_span(spans)
        pieces.append(data[kept:start])
        if fixed is None:
            masked = finder.replace(data[start:end].decode("utf-8", "replace"))
            pieces.append(masked.encode("utf-8", "surrogatepass"))
        else:
            pieces.append(fixed)
        kept = end
        count += 1
        # Most texts hold one match: a cheap test of a short rest often spares the
        # second search, whose fixed cost is most of a search's.  (Only a short rest:
        # testing a long one after every match would cost time quadratic in the text.)
        again = finder.again
        if again is not None and size - last <= _AGAIN_SPAN and not again(data, last):
            break
        found = _find(finder, data, last, size)
    pieces.append(data[kept:])
    tally[finder.name] = tally.get(finder.name, 0) + count
    return _decode(b"".join(pieces))


def _search(
    finders: list[_Finder], data: bytes, start: int, end: int
) -> list[tuple[int, int, _Finder]]:
    """Secret spans of the leftmost matches in ``data[start:end]``, earlier finders
    first at the same position, each search going on after the last match."""
    nxt = [_find(f, data, start, end) for f in finders]
    hits: list[tuple[int, int, _Finder]] = []
    while True:
        best = -1
        for i, cand in enumerate(nxt):
            if cand is not None and (best < 0 or cand[0] < nxt[best][0]):  # type: ignore[index]
                best = i
        if best < 0:
            return hits
        _, pos, spans = nxt[best]  # type: ignore[misc]
        hits.append((*_secret_span(spans), finders[best]))
        for i, cand in enumerate(nxt):
            if cand is not None and cand[0] < pos:
                nxt[i] = _find(finders[i], data, pos, end)


def _find(finder: _Finder, data: bytes, pos: int, end: int) -> tuple[int, int, _Spans] | None:
    """The first match of ``finder`` in ``data[:end]`` whose group 1 starts at ``pos`` or
    later and that its check accepts."""
    if finder.needles:
        for needle in finder.needles:  # a plain loop: no generator on the hot path
            if data.find(needle, pos, end) != -1:
                break
        else:
            return None
    match = finder.regex.Match
    check = finder.check
    # A regex with context consumes the character before its match.
    context = finder.context
    at = pos - 1 if context and pos > 0 else pos
    while True:
        spans = match(_UNANCHORED, data, at, end)
        first, last = spans[1] if context else spans[0]
        if first == -1:
            return None
        if first < pos:  # "^" matched at 0 where the context could not
            at = pos
            continue
        if check is None or check(data, spans):
            if not finder.retreat or _LOCAL_PART_THEN_AT.match(data, last) is None:
                return first, last, spans
            # A phone runs into an email's local part ("+1 555 123 4567 0@x.io"): it may
            # still end before that part, which is the email's.
            email = _local_part_start(data, last, first)
            if first < email:
                spans = match(_UNANCHORED, data, at, email)
                if spans[1][0] == first and (check is None or check(data, spans)):
                    return first, spans[1][1], spans
        pos = first + 1
        at = first if context else pos


_LOCAL_BYTES: Final = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.%+-"
)


def _local_part_start(data: bytes, end: int, floor: int) -> int:
    """Where the run of email local-part characters that reaches ``end`` starts."""
    at = end
    while at > floor and data[at - 1] in _LOCAL_BYTES:
        at -= 1
    return at


def _compiled(pattern: Pattern) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern.regex)
    except re.error as exc:
        raise ValueError(f"redaction pattern {pattern.name!r} does not compile: {exc}") from exc
    if compiled.match("") is not None:
        raise ValueError(f"redaction pattern {pattern.name!r} matches the empty string")
    return compiled


_SCOPED_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
    (re.ASCII, "a"),
)


def _inline(compiled: re.Pattern[str]) -> str:
    flags = "".join(letter for flag, letter in _SCOPED_FLAGS if compiled.flags & flag)
    return f"(?{flags}:{compiled.pattern})" if flags else f"(?:{compiled.pattern})"


def _as_function(replacement: Replacement) -> Callable[[str], str]:
    if isinstance(replacement, str):
        return lambda _matched: replacement
    return replacement


_T = TypeVar("_T")


def _fail_closed(fn: Callable[[str], _T], fallback: _T) -> Callable[[str], _T]:
    """Run user code so that a failure masks instead of raising on the handler's worker."""

    def guarded(text: str) -> _T:
        try:
            return fn(text)
        except Exception:
            return fallback

    return guarded


# ------------------------------------------------------------- the user's patterns (re)

_SECRET_GROUP: Final = re.compile(r"\(\?P<(secret[0-9]*)>")


@functools.lru_cache(maxsize=128)
def _compile(source: str) -> re.Pattern[str]:
    # Redactors with the same options share their (large) regexes, whatever else
    # churns the re module's own cache.
    return re.compile(source)


@dataclass(frozen=True, eq=False)
class _Rule:
    name: str
    alternatives: tuple[str, ...]
    replace: Callable[[str], str]
    validate: Callable[[str], bool] | None = None


@dataclass(frozen=True, eq=False)
class _Branch:
    rule: _Rule
    secrets: tuple[str, ...]  # groups holding the secret; the first that matched wins
    fallback: re.Pattern[str] | None  # the branches after this one, tried after a veto


class _Pass:
    """One compiled regex and, per marker group, the branch that produced a match."""

    __slots__ = ("branches", "regex")

    def __init__(self, regex: re.Pattern[str], branches: dict[str, _Branch]) -> None:
        self.regex = regex
        self.branches = branches

    @classmethod
    def combined(cls, rules: list[_Rule]) -> _Pass:
        # Each alternative ends in an empty marker group, which closes last, so
        # ``m.lastgroup`` names the branch.
        numbered = [
            (f"_p{i}_{j}", rule, alt)
            for i, rule in enumerate(rules)
            for j, alt in enumerate(rule.alternatives)
        ]
        branches: dict[str, _Branch] = {}
        for k, (marker, rule, alt) in enumerate(numbered):
            fallback = None
            if rule.validate is not None and k + 1 < len(numbered):
                # After a veto the later branches have not been tried at that position.
                fallback = _compile(_alternation(numbered[k + 1 :]))
            secrets = tuple(marker + name for name in _SECRET_GROUP.findall(alt))
            branches[marker] = _Branch(rule, secrets, fallback)
        return cls(_compile(_alternation(numbered)), branches)

    @classmethod
    def alone(cls, rule: _Rule, regex: re.Pattern[str]) -> _Pass:
        # The marker goes last, so the pattern's own groups keep their numbers.
        wrapped = re.compile(f"(?:{regex.pattern})(?P<_cwlogs_alone>)", regex.flags)
        return cls(wrapped, {"_cwlogs_alone": _Branch(rule, _secret_groups(regex), None)})


def _secret_groups(regex: re.Pattern[str]) -> tuple[str, ...]:
    named = sorted(regex.groupindex.items(), key=lambda item: item[1])
    return tuple(name for name, _ in named if re.fullmatch("secret[0-9]*", name))


def _alternation(numbered: list[tuple[str, _Rule, str]]) -> str:
    branches = []
    for marker, _rule, alt in numbered:

        def renamed(m: re.Match[str], marker: str = marker) -> str:
            # Several alternatives name a group "secret"; in one regex names must differ.
            return f"(?P<{marker}{m.group(1)}>"

        branches.append(f"{_SECRET_GROUP.sub(renamed, alt)}(?P<{marker}>)")
    return "(?:" + "|".join(branches) + ")"


def _run(scan: _Pass, text: str, tally: dict[str, int]) -> str:
    search = scan.regex.search
    pieces: list[str] = []
    kept_from, at = 0, 0
    while (m := search(text, at)) is not None:
        hit = _accept(scan, text, m)
        if hit is None or hit[0] == hit[1]:
            at = m.start() + 1
            continue
        _, end, secret_start, secret_end, rule = hit
        pieces += (text[kept_from:secret_start], rule.replace(text[secret_start:secret_end]))
        pieces.append(text[secret_end:end])
        tally[rule.name] = tally.get(rule.name, 0) + 1
        kept_from = at = end
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _accept(scan: _Pass, text: str, m: re.Match[str]) -> tuple[int, int, int, int, _Rule] | None:
    """Start, end, secret start, secret end and rule of the match at ``m``, after vetoes."""
    start = m.start()
    while True:
        branch = scan.branches[m.lastgroup or ""]
        rule = branch.rule
        end = m.end()
        if rule.validate is None or rule.validate(text[start:end]):
            for name in branch.secrets:
                if m.start(name) != -1:
                    return (start, end, *m.span(name), rule)
            return start, end, start, end, rule
        retry = branch.fallback
        nxt = retry.match(text, start) if retry is not None else None
        if nxt is None:
            return None
        m = nxt
