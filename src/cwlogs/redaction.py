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


# Each digit in a doubled position, replaced by the digit sum of its double.
_DOUBLED: Final = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """True when an all-ASCII-digit string passes the Luhn checksum.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits.isascii() or not digits.isdigit():
        return False
    return sum(map(int, digits[-1::-2] + digits[-2::-2].translate(_DOUBLED))) % 10 == 0


def _valid_card(text: str) -> bool:
    # A card followed by more digit groups ("4111 1111 1111 1111 123") still counts, so
    # leading runs of whole groups are tried too; a card *preceded* by groups is found
    # anyway, because after a veto the scan restarts at the next group.
    digits = ""
    for group in text.replace("-", " ").split(" "):
        digits += group
        if len(digits) > 19:
            return False
        if len(digits) >= 13 and luhn_valid(digits):
            return True
    return False


def _valid_ipv4(text: str) -> bool:
    octets = [int(part) for part in text.split(".")]
    # Loopback and "any" identify nobody, and masking them hides useful bind addresses.
    return max(octets) <= 255 and octets[0] != 127 and octets != [0, 0, 0, 0]


def _valid_ipv6(text: str) -> bool:
    try:
        addr = ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
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
    ``"partial"`` (without one, ``replacement`` is used).  ``validate`` gets the whole
    match and can veto it.  ``trigger`` is a regex character-class body such that every
    match contains one of its characters; when every enabled pattern has one, text
    without any of those characters is returned without being scanned.

    A regex without capturing groups joins the single combined scan.  One with groups
    gets a pass of its own (merging would renumber them); in it, a group named
    ``secret`` (or ``secret2``, ``secret3``...) marks the part to replace, and the first
    such group that took part in the match is replaced while the rest is kept.

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

    @property
    def token(self) -> str:
        """The default fixed replacement, ``[<NAME>_REDACTED]``."""
        return f"[{self.name.upper()}_REDACTED]"


def _at_start(first: str, not_after: str) -> str:
    # Why each alternative starts with its first character and only then looks behind:
    # sre skips an alternative whose first opcode is a literal or a character class
    # without entering it, so at most positions the combined regex costs one cheap
    # test per alternative instead of a look-behind per alternative.
    return f"{first}(?<!{not_after}{first})"


# Every repetition is bounded, and a run never contains a position where the same
# pattern could start again (the look-behinds forbid it), so a failed attempt costs at
# most the length of its own run and each position starts at most one attempt per
# alternative: the scan stays linear in the input whatever the input is.
_END_NUMBER = r"(?![\w-]|\.[0-9])"  # a trailing "." may end a sentence, ".5" may not
_US_TAIL = r"[0-9]{3}[ .-][0-9]{4}" + _END_NUMBER
_AWS_SECRET_TAIL = (
    r"[\s\"':=>,]{{1,8}}(?P<{group}>(?=[a-z]{{0,39}}[A-Z0-9/+])[A-Za-z0-9/+]{{40}})"
    r"(?![A-Za-z0-9/+=])"
)
_PEM_LABEL = r"(?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----"
_KEY_CHARS = r"[\w.-]"
_ASSIGNMENT_PUNCTUATION = "\"' \t:="  # what may follow a key before its value
_VALUE = r"[^\s\"',;&)}\]]{1,1024}"


@dataclass(frozen=True)
class _Builtin:
    name: str
    alternatives: tuple[str, ...]
    trigger: str
    replacement: Replacement | None = None
    partial: Replacement | None = None
    validate: Callable[[str], bool] | None = None
    # A second regex matched right after an accepted match, holding the secret; used
    # so that "key=" is judged before a long value is read (see secret_assignment).
    tail: str | None = None

    @property
    def regex(self) -> str:
        return "|".join(self.alternatives) + (f"(?:{self.tail})" if self.tail else "")


_BUILTINS: Final[tuple[_Builtin, ...]] = (
    _Builtin(
        "private_key",
        # The body may not contain "-----", so a BEGIN without an END stops at the next
        # armour line instead of reading on; a missing END (a truncated log) still masks
        # the body.  Backslash is allowed for keys inside JSON-escaped text ("\n").
        (
            rf"-----BEGIN {_PEM_LABEL}(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----)){{0,20000}}"
            rf"(?:-----END {_PEM_LABEL})?",
        ),
        trigger="-",
    ),
    _Builtin(
        "url_password",
        # ":" ends the password so "a://b:" repeated cannot make each start read far.
        (
            _at_start("[A-Za-z]", r"[\w+.-]")
            + r"[A-Za-z0-9+.-]{0,31}://[^\s:/?#@\[\]]{0,256}:(?P<secret>[^\s:/?#]{1,256})@",
        ),
        trigger="@",
    ),
    _Builtin(
        "jwt",
        (
            _at_start("e", r"[\w-]")
            + r"yJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,8192}",
        ),
        trigger=".",
    ),
    _Builtin(
        "bearer_token",
        # The token must hold something besides lower-case letters, so that prose like
        # "bearer credentials" survives; real tokens practically always do.
        (
            _at_start("[Bb]", r"[\w-]")
            + r"(?i:earer)[ \t]{1,3}"
            r"(?P<secret>(?=[a-z]{0,4096}[A-Z0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,4096})",
        ),
        trigger="A-Z0-9._~+/=-",
    ),
    _Builtin(
        "aws_access_key_id",
        (_at_start("A", "[A-Za-z0-9]") + r"(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])",),
        trigger="A",
    ),
    _Builtin(
        "aws_secret_access_key",
        # Only next to its keyword: a bare 40-character string is as likely a hash.
        (
            _at_start("[Aa]", "[A-Za-z0-9]")
            + r"(?i:ws[_-]?secret(?:[_-]?access)?(?:[_-]?key)?)"
            + _AWS_SECRET_TAIL.format(group="secret"),
            _at_start("[Ss]", "[A-Za-z0-9]")
            + r"(?i:ecret[_-]?access[_-]?key)"
            + _AWS_SECRET_TAIL.format(group="secret2"),
        ),
        trigger="A-Z0-9/+",
    ),
    _Builtin(
        "api_key",
        # No right boundary: a token longer than the bound is masked up to it, not missed.
        (
            _at_start("s", r"[\w-]")
            + r"k(?:_(?:live|test)_[A-Za-z0-9]{10,247}|-[A-Za-z0-9_-]{20,250})",
            _at_start("[pr]", r"[\w-]") + r"k_(?:live|test)_[A-Za-z0-9]{10,247}",
            _at_start("g", r"[\w-]")
            + r"(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,244}"
            r"|lpat-[A-Za-z0-9_-]{20,250})",
            _at_start("x", r"[\w-]") + r"ox[abposr]-[A-Za-z0-9-]{10,250}",
            _at_start("A", r"[\w-]") + r"Iza[0-9A-Za-z_-]{35}",
            _at_start("n", r"[\w-]") + r"pm_[A-Za-z0-9]{36}",
            _at_start("S", r"[\w-]") + r"G\.[\w-]{22}\.[\w-]{43}",
        ),
        trigger="_.A-",
    ),
    _Builtin(
        "email",
        (
            _at_start(r"[\w.%+-]", r"[\w.%+-]")
            + r"[\w.%+-]{0,63}@[^\W_][\w-]{0,62}(?:\.[\w-]{1,63}){0,8}\.[^\W\d_]{2,63}",
        ),
        trigger="@",
        partial=mask_email,
    ),
    _Builtin(
        "us_ssn",
        (
            _at_start("[0-9]", r"[\w-]")
            + r"(?!(?<=0)00|(?<=6)66)[0-9]{2}(?P<_ssn_sep>[- ])(?!00)[0-9]{2}(?P=_ssn_sep)"
            r"(?!0000)[0-9]{4}(?![\w-])",
        ),
        trigger="0-9",
        partial=mask_partial,
    ),
    _Builtin(
        "ipv4",
        (_at_start("[0-9]", r"[\w.]") + r"[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?!\w|\.[0-9])",),
        trigger="0-9",
        partial=mask_ipv4,
        validate=_valid_ipv4,
    ),
    _Builtin(
        "ipv6",
        # The shape test ("::", or eight groups) keeps clock times and MAC addresses
        # away from the (slow) ipaddress validator.
        (
            _at_start("[0-9A-Fa-f:]", r"[\w:.]")
            + r"(?:(?<=:)(?=:)|(?=[0-9A-Fa-f:]{0,37}::)"
            r"|(?<=[0-9A-Fa-f])(?=[0-9A-Fa-f]{0,3}:(?:[0-9A-Fa-f]{1,4}:){6}))"
            r"[0-9A-Fa-f:]{1,38}(?:(?<=:)(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?:%[\w.-]{1,16})?"
            r"(?![\w:]|\.[0-9])",
        ),
        trigger=":",
        partial=mask_ipv6,
        validate=_valid_ipv6,
    ),
    _Builtin(
        "phone",
        (
            _at_start(r"\+", r"[\w+]")
            + r"(?:[0-9]{7,15}|[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-][0-9]{1,6}){1,6})"
            + _END_NUMBER,
            _at_start(r"\(", r"[\w+.-]") + r"[0-9]{3}\)[ .-]?" + _US_TAIL,
            _at_start("[0-9]", r"[\w+.-]")
            + r"(?:(?<=1)[ .-](?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])|[0-9]{2}[ .-])"
            + _US_TAIL,
        ),
        trigger="0-9",
        partial=mask_partial,
        validate=_valid_phone,
    ),
    _Builtin(
        "credit_card",
        # Issuer digits 2-6 cover Mastercard, Visa, Amex, Discover, JCB, Diners, UnionPay
        # and Maestro; leaving out 1 and 7-9 keeps millisecond timestamps unmasked.  A
        # grouped number needs a separator between groups so no digit run splits two ways.
        (
            _at_start("[2-6]", r"[\w.+-]")
            + r"(?:[0-9]{12,18}|[0-9]{2,5}(?:[ -][0-9]{3,6}){1,5})"
            + _END_NUMBER,
        ),
        trigger="0-9",
        partial=mask_card,
        validate=_valid_card,
    ),
    _Builtin(
        "secret_assignment",
        # Any `key: value` or key=value is a candidate; the key is judged (against the
        # redactor's key set) before the value is read, so logfmt stays cheap.
        (
            _at_start("[A-Za-z_]", _KEY_CHARS)
            + _KEY_CHARS
            + r"{0,63}[\"']?[ \t]{0,3}[:=][ \t]{0,3}",
        ),
        trigger=":=",
        replacement=REDACTED,
        tail=(
            r"\"(?P<secret>[^\"\r\n]{0,1024})\"|'(?P<secret2>[^'\r\n]{0,1024})'"
            r"|(?P<secret3>(?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?"
            rf"{_VALUE}(?:;[ ]?{_VALUE}){{0,32}})"
        ),
    ),
)

#: Names of the built-in patterns, in the order they are tried at one position.
DEFAULT_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in _BUILTINS)

_SCOPED_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
    (re.ASCII, "a"),
)
# Inside a word, one look-behind rejects every word-start alternative at once; most
# positions in real text are inside a word.
_WORD_START_GUARD: Final = "(?<![A-Za-z0-9])(?:{})"
_SECRET_GROUP: Final = re.compile(r"\(\?P<(secret[0-9]*)>")
_MAX_DEPTH: Final = 64


@dataclass(frozen=True, eq=False)
class _Rule:
    name: str
    alternatives: tuple[str, ...]
    replace: Callable[[str], str]
    validate: Callable[[str], bool] | None
    tail: re.Pattern[str] | None = None
    tail_secrets: tuple[str, ...] = ()
    word_start: bool = False  # never starts right after an ASCII letter or digit


@dataclass(frozen=True, eq=False)
class _Branch:
    rule: _Rule
    secrets: tuple[str, ...]  # group names holding the secret, first that matched wins
    fallback: re.Pattern[str] | None  # the branches after this one, for after a veto


class _Pass:
    """One compiled regex and, per marker group, the branch that produced a match."""

    __slots__ = ("branches", "regex")

    def __init__(self, regex: re.Pattern[str], branches: dict[str, _Branch]) -> None:
        self.regex = regex
        self.branches = branches

    @classmethod
    def combined(cls, rules: list[_Rule]) -> _Pass:
        # Each alternative ends in an empty marker group: it closes last, so
        # ``m.lastgroup`` names the branch, and the alternative still starts with its
        # own first character (see _at_start).
        numbered = [
            (f"_p{i}_{j}", rule, alt)
            for i, rule in enumerate(rules)
            for j, alt in enumerate(rule.alternatives)
        ]
        branches: dict[str, _Branch] = {}
        for k, (marker, rule, alt) in enumerate(numbered):
            later = numbered[k + 1 :]
            fallback = None
            if rule.validate is not None or rule.tail is not None:
                # After a veto at some position, the later branches have not been tried
                # there yet; this regex tries exactly those.
                fallback = re.compile(_alternation(later)) if later else None
            secrets = tuple(marker + name for name in _SECRET_GROUP.findall(alt))
            branches[marker] = _Branch(rule, secrets, fallback)
        return cls(re.compile(_alternation(numbered)), branches)

    @classmethod
    def alone(cls, rule: _Rule, regex: re.Pattern[str]) -> _Pass:
        # The marker goes last, so the pattern's own groups keep their numbers.
        wrapped = re.compile(f"(?:{regex.pattern})(?P<_cwlogs_alone>)", regex.flags)
        return cls(wrapped, {"_cwlogs_alone": _Branch(rule, _secret_groups(regex), None)})


def _secret_groups(regex: re.Pattern[str]) -> tuple[str, ...]:
    named = sorted(regex.groupindex.items(), key=lambda item: item[1])
    return tuple(name for name, _ in named if re.fullmatch("secret[0-9]*", name))


def _alternation(numbered: list[tuple[str, _Rule, str]]) -> str:
    parts: list[str] = []
    run: list[str] = []  # consecutive word-start alternatives
    for marker, rule, alt in numbered:
        renamed = _SECRET_GROUP.sub(lambda m, p=marker: f"(?P<{p}{m.group(1)}>", alt)
        branch = f"{renamed}(?P<{marker}>)"
        if rule.word_start:
            run.append(branch)
            continue
        if run:
            parts.append(_WORD_START_GUARD.format("|".join(run)))
            run = []
        parts.append(branch)
    if run:
        parts.append(_WORD_START_GUARD.format("|".join(run)))
    return "|".join(parts)


def _source_of(pattern: Pattern) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern.regex)
    except re.error as exc:
        raise ValueError(f"redaction pattern {pattern.name!r} does not compile: {exc}") from exc
    if compiled.match("") is not None:
        raise ValueError(f"redaction pattern {pattern.name!r} matches the empty string")
    return compiled


def _inline(compiled: re.Pattern[str]) -> str:
    flags = "".join(letter for flag, letter in _SCOPED_FLAGS if compiled.flags & flag)
    return f"(?{flags}:{compiled.pattern})" if flags else f"(?:{compiled.pattern})"


def _as_function(replacement: Replacement) -> Callable[[str], str]:
    if isinstance(replacement, str):
        return lambda _secret: replacement
    return replacement


class Redactor:
    """Masks PII in text and in structured events; an instance is also a structlog processor.

    ``disable`` names built-in patterns to turn off.  ``extra_patterns`` are added after
    the built-ins; one that reuses a built-in's name replaces it.  ``style`` picks fixed
    tokens or partial masks for every pattern, ``styles`` overrides it per pattern name.
    ``keys`` replaces :data:`DEFAULT_SENSITIVE_KEYS`, ``extra_keys`` adds to it.
    Bad configuration raises :class:`ValueError` here; redacting never raises.

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
        entries = {*(DEFAULT_SENSITIVE_KEYS if keys is None else keys), *extra_keys}
        self._exact_keys = frozenset(_normalise_key(k) for k in entries if k[:1] != "*")
        self._suffix_keys = tuple(
            sorted({_normalise_key(k[1:]) for k in entries if k[:1] == "*"} - {""})
        )
        # Event keys repeat endlessly; remembering each verdict keeps dict walks cheap.
        self._key_verdict = functools.lru_cache(maxsize=4096)(self._judge_key)

        chosen = _select(disable, extra_patterns)
        styles = dict(styles or {})
        for name, value in [*styles.items(), ("style", style)]:
            if value not in ("token", "partial"):
                raise ValueError(f"style for {name!r} must be 'token' or 'partial'")
        unknown = set(styles) - {p.name for p in chosen}
        if unknown:
            raise ValueError(f"styles names no enabled pattern: {sorted(unknown)}")

        shared: list[_Rule] = []
        vetoable: list[_Rule] = []
        self._passes: list[_Pass] = []
        for pattern in chosen:
            wanted = styles.get(pattern.name, style)
            replacement = pattern.replacement
            if wanted == "partial" and pattern.partial is not None:
                replacement = pattern.partial
            replace = _as_function(f"[{pattern.name.upper()}_REDACTED]"
                                   if replacement is None else replacement)
            validate = pattern.validate
            if isinstance(pattern, _Builtin):
                if pattern.name == "secret_assignment":
                    validate = self._is_sensitive_assignment
                tail = re.compile(pattern.tail) if pattern.tail else None
                tail_secrets = _secret_groups(tail) if tail is not None else ()
                rule = _Rule(
                    pattern.name,
                    pattern.alternatives,
                    replace,
                    validate,
                    tail,
                    tail_secrets,
                    word_start=pattern.name != "private_key",
                )
            else:
                compiled = _source_of(pattern)
                rule = _Rule(pattern.name, (_inline(compiled),), replace, validate)
                if compiled.groups:
                    self._passes.append(_Pass.alone(rule, compiled))
                    continue
            (shared if validate is None and rule.tail is None else vetoable).append(rule)
        # Vetoable rules go last so that at any one position every other pattern has
        # had its chance before a veto moves the scan on.
        if shared or vetoable:
            self._passes.insert(0, _Pass.combined(shared + vetoable))

        self._trigger: re.Pattern[str] | None = None
        triggers = [p.trigger for p in chosen]
        if chosen and all(t is not None for t in triggers):
            # One-character alternatives: sre folds them into a single set.
            self._trigger = re.compile("|".join(f"[{t}]" for t in triggers if t))

        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

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
        """Return a redacted copy of ``event``; the input and its children are left alone.

        Values under a sensitive key become ``"[REDACTED]"`` whatever their type; other
        strings are scanned; dicts, lists, tuples and sets are walked; anything else is
        kept as is.  Keys themselves are never rewritten.

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
        """structlog processor: ``structlog.configure(processors=[..., Redactor(), ...])``.

        >>> Redactor()(None, "info", {"event": "hi bob@example.com"})
        {'event': 'hi [EMAIL_REDACTED]'}
        """
        return self.redact_event(event_dict)

    def stats(self) -> dict[str, int]:
        """Replacements so far: per pattern name, and ``"key:<key>"`` per masked key.

        ``<key>`` is the key lower-cased with ``-`` written ``_``.

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

    def _is_sensitive_assignment(self, matched: str) -> bool:
        return self._key_verdict(matched.rstrip(_ASSIGNMENT_PUNCTUATION))

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
            # Too deep to inspect, or a cycle: fail closed rather than leak.
            tally["max_depth"] = tally.get("max_depth", 0) + 1
            return REDACTED
        if isinstance(value, Mapping):
            return self._mapping(value, tally, depth)
        items = [self._value(item, tally, depth + 1) for item in value]
        if isinstance(value, list):
            return items
        if isinstance(value, tuple):
            make = getattr(type(value), "_make", None)  # keep a namedtuple a namedtuple
            return make(items) if make is not None else tuple(items)
        return frozenset(items) if isinstance(value, frozenset) else set(items)


def _select(disable: Iterable[str], extra: Iterable[Pattern]) -> list[_Builtin | Pattern]:
    disabled = set(disable)
    extras = list(extra)
    names = [p.name for p in extras]
    if len(set(names)) != len(names):
        raise ValueError("extra_patterns uses a name twice")
    unknown = disabled - set(DEFAULT_PATTERN_NAMES) - set(names)
    if unknown:
        raise ValueError(
            f"unknown redaction pattern(s) {sorted(unknown)}; "
            f"the built-ins are {list(DEFAULT_PATTERN_NAMES)}"
        )
    kept: list[_Builtin | Pattern] = [
        p for p in _BUILTINS if p.name not in disabled and p.name not in names
    ]
    return kept + [p for p in extras if p.name not in disabled]


def _run(scan: _Pass, text: str, tally: dict[str, int]) -> str:
    search = scan.regex.search
    pieces: list[str] = []
    kept_from = at = 0
    while (m := search(text, at)) is not None:
        hit = _accept(scan, text, m)
        if hit is None or hit[0] == m.start():
            at = m.start() + 1
            continue
        end, secret_start, secret_end, rule = hit
        pieces += (text[kept_from:secret_start], rule.replace(text[secret_start:secret_end]))
        pieces.append(text[secret_end:end])
        tally[rule.name] = tally.get(rule.name, 0) + 1
        kept_from = at = end
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _accept(scan: _Pass, text: str, m: re.Match[str]) -> tuple[int, int, int, _Rule] | None:
    """Where the match at ``m``'s position ends and what to replace, once vetoes are heard."""
    start = m.start()
    while True:
        branch = scan.branches[m.lastgroup or ""]
        rule = branch.rule
        if rule.validate is None or rule.validate(m.group()):
            if rule.tail is None:
                return (m.end(), *_secret_span(m, branch.secrets), rule)
            tail = rule.tail.match(text, m.end())
            if tail is not None:
                return (tail.end(), *_secret_span(tail, rule.tail_secrets), rule)
        nxt = branch.fallback.match(text, start) if branch.fallback is not None else None
        if nxt is None:
            return None
        m = nxt


def _secret_span(m: re.Match[str], groups: tuple[str, ...]) -> tuple[int, int]:
    for name in groups:
        if m.start(name) != -1:
            return m.span(name)
    return m.span()
