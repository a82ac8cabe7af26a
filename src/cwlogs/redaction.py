"""PII redaction for log events: regex patterns for text, and masking by key for dicts.

The handler runs a :class:`Redactor` on its worker thread, over the message and every
string in the structured event.  All enabled patterns are compiled into one alternation,
so a string is scanned once however many patterns are on, and every repetition is
bounded, so no input can make the scan quadratic or worse.

>>> r = Redactor()
>>> r.redact_text("mail jane@example.com from 203.0.113.7")
'mail [EMAIL_REDACTED] from [IPV4_REDACTED]'
>>> r.redact_event({"user": "jane", "password": "hunter2"})
{'user': 'jane', 'password': '[REDACTED]'}
"""

from __future__ import annotations

import functools
import ipaddress
import re
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "DEFAULT_PATTERN_NAMES",
    "DEFAULT_SENSITIVE_KEYS",
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

#: A fixed replacement string (used literally, no ``\1`` expansion), or a function of the
#: matched secret text.
Replacement: TypeAlias = "str | Callable[[str], str]"
Style: TypeAlias = Literal["token", "partial"]

#: What the value of a sensitive key, or a ``password=...`` assignment, becomes.
REDACTED: Final = "[REDACTED]"

#: Matched after normalising: lower-cased, with ``-``, ``_``, ``.`` and spaces removed,
#: so ``X-Api-Key``, ``x_api_key`` and ``xApiKey`` are the same key.  A leading ``*``
#: makes an entry a suffix (``*password`` covers ``db_password``); suffixes are kept to
#: words that never mean anything else, which is why ``token`` is exact-only
#: (``max_tokens`` and ``next_token`` are not secrets).
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

_KEY_STRIP: Final = str.maketrans("", "", "-_. ")


def _normalise_key(key: str) -> str:
    return key.lower().translate(_KEY_STRIP)


# ---------------------------------------------------------------------- partial masks


def mask_partial(
    text: str,
    *,
    keep_start: int = 0,
    keep_end: int = 4,
    mask_char: str = "*",
    separators: str = " -./()+:",
) -> str:
    """Mask every character but the first ``keep_start`` and last ``keep_end``, keeping separators.

    Separators are neither masked nor counted, so the layout of the input survives.

    >>> mask_partial("4111-1111-1111-1234")
    '****-****-****-1234'
    """
    positions = [i for i, ch in enumerate(text) if ch not in separators]
    if len(positions) <= keep_start + keep_end:
        # Too short to show anything without showing everything.
        return "".join(ch if ch in separators else mask_char for ch in text)
    hidden = set(positions[keep_start : len(positions) - keep_end])
    return "".join(mask_char if i in hidden else ch for i, ch in enumerate(text))


def mask_card(text: str) -> str:
    """Keep the last four digits of a card number (PCI DSS allows showing them).

    >>> mask_card("4111-1111-1111-1234")
    '****-****-****-1234'
    """
    return mask_partial(text, keep_end=4)


def mask_email(text: str) -> str:
    """Keep the first letter of the mailbox and the top-level domain.

    >>> mask_email("john.doe@example.com")
    'j***@***.com'
    """
    local, _, domain = text.rpartition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@***" + (f".{tld}" if tld else "")


def mask_name(text: str) -> str:
    """Keep the first name and the initial of every other name.

    >>> mask_name("John Doe")
    'John D***'
    """
    first, *rest = text.split()
    if not rest:
        return f"{first[:1]}***"
    return " ".join([first, *(f"{part[:1]}***" for part in rest)])


def mask_ipv4(text: str) -> str:
    """Hide the host octet, as analytics tools do to anonymise an address.

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


_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """True when an all-ASCII-digit string passes the Luhn checksum.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits.isascii() or not digits.isdigit():
        return False
    total = sum(map(int, digits[-1::-2]))
    total += sum(_DOUBLED[int(ch)] for ch in digits[-2::-2])
    return total % 10 == 0


def _valid_card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _valid_ipv6(text: str) -> bool:
    try:
        addr = ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
    # Loopback and "any" identify nobody, and masking them hides useful bind addresses.
    return not (addr.is_loopback or addr.is_unspecified)


def _valid_phone(text: str) -> bool:
    # E.164 caps a number at 15 digits; below 7 it is a score or a count, not a phone.
    return 7 <= sum(ch.isdigit() for ch in text) <= 15


# ---------------------------------------------------------------------------- patterns


@dataclass(frozen=True)
class Pattern:
    """A named regex and what to replace its matches with.

    ``replacement`` defaults to ``[<NAME>_REDACTED]``; a callable gets the matched text.
    ``partial`` is used instead when the redactor's style for this pattern is
    ``"partial"`` (patterns without one fall back to ``replacement``).  If the regex has a
    group named ``secret`` (or ``secret2``, ``secret3``...), only the first such group that
    took part in the match is replaced and the rest of the match is kept.  ``validate``
    gets the whole match and can veto it (Luhn for cards).  ``trigger`` is a regex
    character-class body such that every match contains one of its characters; when
    every enabled pattern has one, text without any of them is skipped unscanned.

    A regex without capturing groups shares the single combined scan; one with groups
    is scanned in a pass of its own, because merging it would renumber its groups.

    >>> Pattern("order", r"ORD-[0-9]{6}", "[ORDER]").name
    'order'
    """

    name: str
    regex: str | re.Pattern[str]
    replacement: Replacement | None = None
    partial: Replacement | None = None
    validate: Callable[[str], bool] | None = None
    trigger: str | None = None

    @property
    def token(self) -> str:
        """The default fixed replacement, ``[<NAME>_REDACTED]``."""
        return f"[{self.name.upper()}_REDACTED]"


# Every built-in except the PEM block starts where the previous character is not an
# ASCII letter or digit.  The combined regex checks that once for all of them (see
# _alternation), so a position in the middle of a word costs one look-behind instead of
# a dozen failed branches.  Each pattern still states its own, stricter look-behind.
#
# Every repetition is bounded, and adjacent repetitions use disjoint classes or a
# mandatory separator, so a failed attempt backtracks over at most a few hundred
# characters and each start position is tried once: the scan is linear in the input.

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = r"[0-9A-Fa-f]"
_EMAIL_RE = (
    r"(?<![\w.%+-])[\w.%+-]{1,64}@[^\W_][\w-]{0,62}(?:\.[\w-]{1,63}){0,8}\.[^\W\d_]{2,63}"
)
# 127/8 and 0.0.0.0 identify nobody; a right-hand "." followed by a digit means a longer
# dotted number (a 5-part version), which is not an address.
_IPV4_RE = (
    rf"(?<![\w.])(?!127\.|0\.0\.0\.0(?![0-9]))(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])"
)
# A cheap shape test first ("::" somewhere, or eight groups) so that clock times and
# MAC addresses are not handed to the ipaddress validator at every colon.
_IPV6_RE = (
    rf"(?<![\w:.])(?=[0-9A-Fa-f:]{{0,39}}::|(?:{_HEX}{{1,4}}:){{7}})"
    rf"(?:{_HEX}{{1,4}})?(?::{_HEX}{{0,4}}){{2,8}}"
    r"(?:(?<=:)(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?:%[\w.-]{1,16})?(?![\w:]|\.[0-9])"
)
# Issuer ranges 2-6 cover Mastercard, Visa, Amex, Discover, JCB, Diners, UnionPay and
# Maestro; leaving out 1 and 7-9 keeps millisecond timestamps and most ids unmasked.
# Grouped numbers need a separator between groups so no digit run splits two ways.
_CARD_RE = (
    r"(?<![\w.+-])[2-6](?:[0-9]{12,18}|[0-9]{2,5}(?:[ -][0-9]{3,6}){1,5})(?![\w-]|\.[0-9])"
)
_SSN_RE = (
    r"(?<![\w-])(?!000|666)[0-9]{3}(?P<_ssn_sep>[- ])(?!00)[0-9]{2}(?P=_ssn_sep)"
    r"(?!0000)[0-9]{4}(?![\w-])"
)
_PHONE_RE = (
    r"(?<![\w+.-])(?:"
    r"(?:1[ .-])?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    r"|\+(?:[0-9]{7,15}|[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-][0-9]{1,6}){1,6})"
    r")(?![\w-]|\.[0-9])"
)
_AWS_KEY_ID_RE = r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"
_AWS_SECRET_RE = (
    r"(?<![A-Za-z0-9])"
    r"(?i:aws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?|secret[_-]?access[_-]?key)"
    r"[\s\"':=>,]{1,8}"
    r"(?P<secret>(?=[a-z]{0,39}[A-Z0-9/+])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
# No right boundary: a token longer than the bound is masked up to it rather than missed.
_API_KEY_RE = (
    r"(?<![\w-])(?:"
    r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}"
    r"|gh[pousr]_[A-Za-z0-9]{36,251}"
    r"|github_pat_[A-Za-z0-9_]{22,244}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,250}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|sk-[A-Za-z0-9_-]{20,250}"
    r"|glpat-[A-Za-z0-9_-]{20,250}"
    r"|npm_[A-Za-z0-9]{36}"
    r"|SG\.[\w-]{22}\.[\w-]{43}"
    r")"
)
# The token must hold something other than lower-case letters, so prose such as
# "bearer credentials" stays readable; real tokens practically always do.
_BEARER_RE = (
    r"(?<![\w-])(?i:bearer)[ \t]{1,3}"
    r"(?P<secret>(?=[a-z]{0,4096}[A-Z0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,4096})"
)
_JWT_RE = (
    r"(?<![\w-])eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,8192}"
)
# The body may not contain "-----", so a BEGIN without an END stops at the next armour
# line instead of scanning ahead; a missing END (a truncated log) still masks the body.
# Backslash is allowed so keys inside JSON-escaped text ("\n") are covered.
_PEM_LABEL = r"(?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----"
_PRIVATE_KEY_RE = (
    rf"-----BEGIN {_PEM_LABEL}(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----)){{0,20000}}"
    rf"(?:-----END {_PEM_LABEL})?"
)
# The password may contain a raw "@", so it runs to the last "@" before the host.
_URL_PASSWORD_RE = (
    r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/?#@\[\]]{0,256}:"
    r"(?P<secret>[^\s/?#]{1,256})@"
)
# Any "key: value" or key=value is a candidate; the validator keeps it only when the key
# is sensitive, so one regex serves every key spelling (and the user's extra keys).
_ASSIGNMENT_VALUE = r"[^\s\"',;&)}\]]{1,1024}"
_SECRET_ASSIGNMENT_RE = (
    r"(?<![\w-])[A-Za-z_][\w.-]{0,63}[\"']?[ \t]{0,3}[:=][ \t]{0,3}(?:"
    r"\"(?P<secret>[^\"\r\n]{0,1024})\"|'(?P<secret2>[^'\r\n]{0,1024})'"
    r"|(?P<secret3>(?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?"
    rf"{_ASSIGNMENT_VALUE}(?:;[ ]?{_ASSIGNMENT_VALUE}){{0,32}}))"
)

_DIGITS = "0-9"
_BUILTINS: Final[tuple[Pattern, ...]] = (
    Pattern("private_key", _PRIVATE_KEY_RE, trigger="-"),
    Pattern("url_password", _URL_PASSWORD_RE, "[URL_PASSWORD_REDACTED]", trigger="@"),
    Pattern("jwt", _JWT_RE, trigger="."),
    Pattern("bearer_token", _BEARER_RE, trigger="A-Z0-9._~+/=-"),
    Pattern("aws_access_key_id", _AWS_KEY_ID_RE, trigger="A"),
    Pattern("aws_secret_access_key", _AWS_SECRET_RE, trigger="A-Z0-9/+"),
    Pattern("api_key", _API_KEY_RE, trigger="_.A-"),
    Pattern("email", _EMAIL_RE, partial=mask_email, trigger="@"),
    Pattern("ipv4", _IPV4_RE, partial=mask_ipv4, trigger=_DIGITS),
    Pattern("us_ssn", _SSN_RE, partial=mask_partial, trigger=_DIGITS),
    Pattern("ipv6", _IPV6_RE, partial=mask_ipv6, validate=_valid_ipv6, trigger=":"),
    Pattern("phone", _PHONE_RE, partial=mask_partial, validate=_valid_phone, trigger=_DIGITS),
    Pattern("credit_card", _CARD_RE, partial=mask_card, validate=_valid_card, trigger=_DIGITS),
    # secret_assignment's validator is bound to each Redactor's key set in __init__.
    Pattern("secret_assignment", _SECRET_ASSIGNMENT_RE, REDACTED, trigger=":="),
)
_BUILTIN_IDS: Final = frozenset(id(p) for p in _BUILTINS)
_WORD_START: Final = frozenset(id(p) for p in _BUILTINS if p.name != "private_key")

#: Names of the built-in patterns, in the order they are tried at one position.
DEFAULT_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in _BUILTINS)

_SCOPED_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
    (re.ASCII, "a"),
)
_SECRET_GROUP = re.compile(r"\(\?P<(secret[0-9]*)>")
_MAX_DEPTH: Final = 64


@dataclass(frozen=True, eq=False)
class _Rule:
    name: str
    source: str  # inline-flagged regex text, with secret groups renamed
    groups: tuple[str, ...]  # names of the secret groups, first match wins
    replace: Callable[[str], str]
    validate: Callable[[str], bool] | None
    word_start: bool


class _Pass:
    """One compiled regex and how to dispatch its matches back to rules."""

    __slots__ = ("by_group", "fallback", "regex", "single")

    def __init__(self, rules: list[_Rule], *, single: bool = False) -> None:
        self.single = rules[0] if single else None
        self.regex = re.compile(rules[0].source if single else _alternation(rules, 0))
        self.by_group = {f"_p{i}": rule for i, rule in enumerate(rules)}
        # When a validator vetoes branch i at some position, the branches after it have
        # not been tried there yet; this regex tries exactly those.
        self.fallback: dict[str, re.Pattern[str]] = {}
        if not single:
            for i, rule in enumerate(rules):
                if rule.validate is not None and i + 1 < len(rules):
                    self.fallback[f"_p{i}"] = re.compile(_alternation(rules, i + 1))


def _alternation(rules: list[_Rule], first: int) -> str:
    parts: list[str] = []
    word_run: list[str] = []
    for i in range(first, len(rules)):
        branch = f"(?P<_p{i}>{_renamed(rules[i], i)})"
        if rules[i].word_start:
            word_run.append(branch)
            continue
        if word_run:
            parts.append(r"(?<![A-Za-z0-9])(?:" + "|".join(word_run) + ")")
            word_run = []
        parts.append(branch)
    if word_run:
        parts.append(r"(?<![A-Za-z0-9])(?:" + "|".join(word_run) + ")")
    return "|".join(parts)


def _renamed(rule: _Rule, index: int) -> str:
    # Several built-ins name a group "secret"; in one alternation each name must be unique.
    return _SECRET_GROUP.sub(lambda m: f"(?P<_p{index}{m.group(1)}>", rule.source)


def _source_of(pattern: Pattern) -> tuple[str, int]:
    try:
        compiled = re.compile(pattern.regex)
    except re.error as exc:
        raise ValueError(f"redaction pattern {pattern.name!r} does not compile: {exc}") from exc
    if compiled.match("") is not None:
        raise ValueError(f"redaction pattern {pattern.name!r} matches the empty string")
    flags = "".join(letter for flag, letter in _SCOPED_FLAGS if compiled.flags & flag)
    source = compiled.pattern
    return (f"(?{flags}:{source})" if flags else source), compiled.groups


def _as_function(replacement: Replacement) -> Callable[[str], str]:
    if isinstance(replacement, str):
        return lambda _secret: replacement
    return replacement


class Redactor:
    """Masks PII in text and in structured events; also a structlog processor.

    ``disable`` names built-in patterns to turn off.  ``extra_patterns`` are added after
    the built-ins; one that reuses a built-in's name replaces it.  ``style`` picks fixed
    tokens or partial masks for every pattern, ``styles`` per pattern name.  ``keys``
    replaces :data:`DEFAULT_SENSITIVE_KEYS`, ``extra_keys`` adds to it.

    :meth:`stats` counts replacements per pattern name, and values masked because of
    their key as ``"key:<key>"`` (the key lower-cased, ``-`` written ``_``).

    >>> Redactor(disable={"ipv4"}, style="partial").redact_text("jane@example.com 10.1.2.3")
    'j***@***.com 10.1.2.3'
    """

    def __init__(
        self,
        *,
        disable: Iterable[str] = (),
        extra_patterns: Iterable[Pattern] = (),
        style: Style = "token",
        styles: Mapping[str, Style] | None = None,
        keys: Iterable[str] | None = None,
        extra_keys: Iterable[str] = (),
    ) -> None:
        key_entries = {*(DEFAULT_SENSITIVE_KEYS if keys is None else keys), *extra_keys}
        self._exact_keys = frozenset(_normalise_key(k) for k in key_entries if k[:1] != "*")
        self._suffix_keys = tuple(
            sorted({_normalise_key(k[1:]) for k in key_entries if k[:1] == "*"} - {""})
        )
        # Event keys repeat endlessly; remembering the verdict keeps dict walks cheap.
        self._key_verdict = functools.lru_cache(maxsize=4096)(self._judge_key)

        patterns = self._select(disable, extra_patterns)
        styles = dict(styles or {})
        unknown = set(styles) - {p.name for p in patterns}
        if unknown:
            raise ValueError(f"styles name no enabled pattern: {sorted(unknown)}")
        for name, chosen in styles.items():
            if chosen not in ("token", "partial"):
                raise ValueError(f"style for {name!r} must be 'token' or 'partial'")
        if style not in ("token", "partial"):
            raise ValueError("style must be 'token' or 'partial'")

        combined: list[_Rule] = []
        checked: list[_Rule] = []
        self._passes: list[_Pass] = []
        for pattern in patterns:
            source, n_groups = _source_of(pattern)
            secret_groups = tuple(_SECRET_GROUP.findall(source))
            wanted = styles.get(pattern.name, style)
            chosen_replacement = (
                pattern.partial if wanted == "partial" and pattern.partial is not None
                else pattern.replacement
            )  # fmt: skip
            validate = pattern.validate
            if pattern.name == "secret_assignment" and pattern.validate is None:
                validate = self._is_sensitive_assignment
            rule = _Rule(
                name=pattern.name,
                source=source,
                groups=secret_groups,
                replace=_as_function(
                    pattern.token if chosen_replacement is None else chosen_replacement
                ),
                validate=validate,
                word_start=id(pattern) in _WORD_START,
            )
            if n_groups > len(secret_groups) and id(pattern) not in _BUILTIN_IDS:
                self._passes.append(_Pass([rule], single=True))
            elif validate is not None:
                checked.append(rule)
            else:
                combined.append(rule)
        # Validated rules go last so that, at any one position, every unvalidated
        # pattern has already had its chance before a veto moves the scan on.
        if combined or checked:
            self._passes.insert(0, _Pass(combined + checked))

        triggers = [p.trigger for p in patterns]
        self._trigger: re.Pattern[str] | None = None
        if patterns and all(t is not None for t in triggers):
            # Single-character branches: sre folds them into one set and scans with it.
            self._trigger = re.compile("|".join(f"[{t}]" for t in triggers if t))

        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _select(disable: Iterable[str], extra: Iterable[Pattern]) -> list[Pattern]:
        disabled = set(disable)
        unknown = disabled - set(DEFAULT_PATTERN_NAMES)
        extras = list(extra)
        unknown -= {p.name for p in extras}
        if unknown:
            raise ValueError(
                f"unknown redaction pattern(s) {sorted(unknown)}; "
                f"built-ins are {list(DEFAULT_PATTERN_NAMES)}"
            )
        extra_names = [p.name for p in extras]
        if len(set(extra_names)) != len(extra_names):
            raise ValueError("extra_patterns contains a name twice")
        replaced = set(extra_names)
        kept = [p for p in _BUILTINS if p.name not in disabled and p.name not in replaced]
        return kept + [p for p in extras if p.name not in disabled]

    # ------------------------------------------------------------------ public API

    def redact_text(self, text: str) -> str:
        """Return ``text`` with every enabled pattern's matches replaced.

        >>> Redactor().redact_text("card 4111 1111 1111 1111, order ORD-2024-000123")
        'card [CREDIT_CARD_REDACTED], order ORD-2024-000123'
        """
        tally: dict[str, int] = {}
        out = self._text(text, tally)
        if tally:
            self._merge(tally)
        return out

    def redact_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Return a redacted copy of ``event``; the input and its children are not changed.

        Values under a sensitive key become ``"[REDACTED]"`` whatever their type; other
        strings are scanned, dicts, lists, tuples and sets are walked, and anything else
        is returned as is.  Keys are never rewritten.

        >>> Redactor().redact_event({"auth": {"Api-Key": 123}, "to": ["a@b.io"]})
        {'auth': {'Api-Key': '[REDACTED]'}, 'to': ['[EMAIL_REDACTED]']}
        """
        tally: dict[str, int] = {}
        out = self._mapping(event, tally, 0)
        if tally:
            self._merge(tally)
        return out

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """structlog processor: ``structlog.configure(processors=[..., Redactor(), ...])``."""
        return self.redact_event(event_dict)

    def stats(self) -> dict[str, int]:
        """Replacements so far: per pattern name, and ``"key:<key>"`` per masked key.

        >>> r = Redactor()
        >>> _ = r.redact_event({"token": "t", "msg": "a@b.io and c@d.io"})
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
        # One lock per call with hits, not per hit: most calls have none.
        with self._lock:
            for name, count in tally.items():
                self._counts[name] = self._counts.get(name, 0) + count

    def _judge_key(self, key: str) -> bool:
        norm = _normalise_key(key)
        return norm in self._exact_keys or norm.endswith(self._suffix_keys)

    def _is_sensitive_assignment(self, matched: str) -> bool:
        end = 0
        while end < len(matched) and (matched[end].isalnum() or matched[end] in "_.-"):
            end += 1
        return self._key_verdict(matched[:end])

    def _text(self, text: str, tally: dict[str, int]) -> str:
        if self._trigger is not None and self._trigger.search(text) is None:
            return text
        for scan in self._passes:
            text = _run(scan, text, tally)
        return text

    def _mapping(self, event: Mapping[Any, Any], tally: dict[str, int], depth: int) -> Any:
        out: dict[Any, Any] = {}
        for key, value in event.items():
            if isinstance(key, str) and self._key_verdict(key):
                out[key] = REDACTED
                label = "key:" + key.lower().replace("-", "_")
                tally[label] = tally.get(label, 0) + 1
            else:
                out[key] = self._value(value, tally, depth + 1)
        return out

    def _value(self, value: Any, tally: dict[str, int], depth: int) -> Any:
        if isinstance(value, str):
            return self._text(value, tally)
        if not isinstance(value, Mapping | list | tuple | set | frozenset):
            return value
        if depth > _MAX_DEPTH:
            # Too deep to inspect (or a cycle): fail closed rather than leak.
            tally["max_depth"] = tally.get("max_depth", 0) + 1
            return REDACTED
        if isinstance(value, Mapping):
            return self._mapping(value, tally, depth)
        items = [self._value(item, tally, depth + 1) for item in value]
        if isinstance(value, list):
            return items
        if isinstance(value, tuple):
            make = getattr(type(value), "_make", None)  # keep namedtuples named
            return make(items) if make is not None else tuple(items)
        return frozenset(items) if isinstance(value, frozenset) else set(items)


def _run(scan: _Pass, text: str, tally: dict[str, int]) -> str:
    search = scan.regex.search
    pieces: list[str] = []
    kept_from = 0
    at = 0
    while (m := search(text, at)) is not None:
        start = m.start()
        accepted = _accept(scan, text, m)
        if accepted is None or accepted[0].end() == start:
            at = start + 1
            continue
        m, rule = accepted
        end = m.end()
        sec_start, sec_end = start, end
        for group in rule.groups:
            name = group if scan.single is not None else f"{m.lastgroup}{group}"
            if m.start(name) != -1:
                sec_start, sec_end = m.span(name)
                break
        pieces += (text[kept_from:sec_start], rule.replace(text[sec_start:sec_end]))
        pieces.append(text[sec_end:end])
        tally[rule.name] = tally.get(rule.name, 0) + 1
        kept_from = at = end
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _accept(scan: _Pass, text: str, m: re.Match[str]) -> tuple[re.Match[str], _Rule] | None:
    """The match to use at ``m``'s position, after validators have had their say."""
    if scan.single is not None:
        rule = scan.single
        return (m, rule) if rule.validate is None or rule.validate(m.group()) else None
    while True:
        group = m.lastgroup or ""
        rule = scan.by_group[group]
        if rule.validate is None or rule.validate(m.group()):
            return m, rule
        retry = scan.fallback.get(group)
        nxt = retry.match(text, m.start()) if retry is not None else None
        if nxt is None:
            return None
        m = nxt
