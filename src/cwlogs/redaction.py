"""PII redaction for log events: regex patterns for text, and masking by key for dicts.

The handler runs a :class:`Redactor` on its worker thread, over the message and every
string in the structured event.  All the built-in patterns that start a word share one
combined regex; PEM blocks and ``key=value`` assignments get a regex each, run only when
a substring test says they could match.  So a string is scanned at most three times
however many patterns are on, and since every repetition is bounded, no input can make
a scan worse than linear.

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
from collections.abc import Callable, Container, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, TypeVar

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
_SHAPE_MAX_LENGTH: Final = 1024  # characters
_SHAPE_CACHE_SIZE: Final = 2048  # entries, so at most ~2-8 MB; emptied when full


@dataclass(frozen=True)
class Pattern:
    """A named regex and what to replace its matches with.

    ``replacement`` defaults to ``[<NAME>_REDACTED]``; a callable gets the matched text.
    ``partial`` replaces instead when the redactor's style for this pattern is
    ``"partial"`` (without one, ``replacement`` is used).  ``validate`` gets the matched
    text and can veto it.  ``trigger`` is a regex character-class body such that every
    match contains one of its characters; when every enabled pattern has one, text
    without any of them is returned without being scanned.

    A regex without capturing groups joins a combined scan.  One with groups gets a scan
    of its own (merging would renumber them); there a group named ``secret`` (or
    ``secret2``, ``secret3``...) marks what to replace: the first such group that took
    part in the match is replaced and the rest of the match is kept.

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
    local, _, domain = text.rpartition("@")
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
    if luhn_valid(text.replace(" ", "").replace("-", "")):
        return True
    # "4111 1111 1111 1111 123": a card followed by one more group still counts.  (One
    # *preceded* by a group is found anyway: after a veto the scan restarts there.)
    head = text.replace("-", " ").rpartition(" ")[0].replace(" ", "")
    return luhn_valid(head)


def _valid_ipv4(text: str) -> bool:
    octets = [int(part) for part in text.split(".")]
    # Loopback and "any" identify nobody, and masking them hides useful bind addresses.
    return max(octets) <= 255 and octets[0] != 127 and octets != [0, 0, 0, 0]


def _valid_ipv6(text: str) -> bool:
    addr = text.split("%", 1)[0]
    # Cheap shape checks first: ipaddress reports bad text by raising, which is slow,
    # and a long run of near misses would pay that at every one.
    groups = addr.split(":")
    if addr.count("::") > 1 or len(groups) > 9 or any(len(g) > 4 for g in groups[:-1]):
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


# --------------------------------------------------------------------------- built-ins


def _at_start(first: str, not_after: str) -> str:
    # An alternative starts with its own first character and only then looks behind,
    # because sre skips an alternative whose first opcode is a literal or a character
    # class without entering it: one cheap test instead of a look-behind.
    return f"{first}(?<!{not_after}{first})"


# Every repetition is bounded, and a run never covers a position where the same
# pattern could start again (the look-behinds forbid it), so a failed attempt costs at
# most its own run and each position starts at most one attempt per alternative: a scan
# stays linear in the input, whatever the input.
_END_NUMBER = r"(?![\w-]|\.[0-9])"  # a trailing "." may end a sentence, ".5" may not
# A phone ends before an email's local part, never in it: "+1 555 123 4567 0@x.io" is a
# phone and the email "0@x.io", where a phone taking " 0" would leave "@x.io" behind.
_END_PHONE = _END_NUMBER + r"(?![\w.%+-]*@)"
_US_TAIL = r"[0-9]{3}[ .-][0-9]{4}" + _END_PHONE
_AWS_SECRET_TAIL = (
    r"[\s\"':=>,]{{1,8}}(?P<{group}>(?=[a-z]{{0,39}}[A-Z0-9/+])[A-Za-z0-9/+]{{40}})"
    r"(?![A-Za-z0-9/+=])"
)
_PEM_LABEL = r"(?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----"
_KEY_CHARS = r"[\w.-]"
_VALUE = r"[^\s\"',;&)}\]]{1,1024}"
# What follows a sensitive key in text: separators, a closing quote, ":" or "=", then a
# quoted value, or a bare one (with an auth scheme word, and cookie-style "; k=v" parts).
# A value that is already a mask is left alone, so that redacting twice (a structlog
# processor, then the handler) changes nothing and counts nothing the second time.
_NOT_MASKED = r"(?![\"']?\[[A-Z0-9_]*REDACTED\])"
_ASSIGNED_VALUE = (
    rf"[-_.]{{0,3}}[\"']?[ \t]{{0,3}}[:=][ \t]{{0,3}}{_NOT_MASKED}(?:"
    r"\"(?P<secret>[^\"\r\n]{0,1024})\"|'(?P<secret2>[^'\r\n]{0,1024})'"
    r"|(?P<secret3>(?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?"
    rf"{_VALUE}(?:;[ ]?{_VALUE}){{0,32}}))"
)


@dataclass(frozen=True)
class _Builtin:
    name: str
    alternatives: tuple[str, ...]
    trigger: str
    replacement: Replacement | None = None
    partial: Replacement | None = None
    validate: Callable[[str], bool] | None = None
    word_start: bool = True  # never starts right after an ASCII letter or digit
    needs_at: bool = False  # every match contains "@"


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
        word_start=False,
    ),
    _Builtin(
        "url_password",
        # ":" ends the password so "a://b:" repeated cannot make each start read far.
        (
            _at_start("[A-Za-z]", r"[\w+.-]")
            + r"[A-Za-z0-9+.-]{0,31}://[^\s:/?#@\[\]]{0,256}:"
            + _NOT_MASKED
            + r"(?P<secret>[^\s:/?#]{1,256})@",
        ),
        trigger="@",
        needs_at=True,
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
            _at_start("[Bb]", r"[\w-]") + r"(?i:earer)[ \t]{1,3}"
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
        needs_at=True,
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
            + r"(?=[0-9A-Fa-f]{0,3}:)(?:(?<=:)(?=:)|(?=[0-9A-Fa-f:]{0,37}::)"
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
            + _END_PHONE,
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
        # and Maestro; leaving out 1 and 7-9 keeps millisecond timestamps unmasked.
        # Grouped numbers take the printed layouts: 4-4-4-4 (13 to 19 digits by the
        # last groups) and Amex/Diners 4-6-5 / 4-6-4.
        (
            _at_start("[2-6]", r"[\w.+-]") + r"(?:[0-9]{12,18}"
            r"|[0-9]{3}(?:[ -][0-9]{4}){2}[ -][0-9]{1,4}(?:[ -][0-9]{3})?"
            r"|[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5})" + _END_NUMBER,
        ),
        trigger="0-9",
        partial=mask_card,
        validate=_valid_card,
    ),
    _Builtin(
        "secret_assignment",
        (),  # built from each redactor's key set by _assignment_rule
        trigger=":=",
        replacement=REDACTED,
        word_start=False,
    ),
)

#: Names of the built-in patterns, each of which ``disable`` accepts.
DEFAULT_PATTERN_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in _BUILTINS)


def _assignment_rule(
    exact: Iterable[str], suffixes: Iterable[str], replace: Callable[[str], str]
) -> _Rule | None:
    """A rule matching ``key=value`` and ``key: value`` for the sensitive keys.

    The key is judged inside the regex (not by a validator afterwards), so the many
    harmless ``k=v`` pairs of logfmt text never leave the C scanner.  A key matches as
    in :meth:`Redactor.is_sensitive_key`: in any case, with ``-``, ``_`` or ``.``
    between any two letters, after leading ``-`` or ``_`` ("--password=").  A suffix
    match (``db_password``) starts at the suffix, so no word is read twice to find where
    its suffix begins.

    The regex starts by consuming one character from a single set (a key's first
    letter, a suffix's first letter, or a leading separator), so sre hops between
    candidates in C; look-behinds then tell which it was.  It gets a pass of its own
    because that trick only works when it is the whole regex.
    """
    exact_tree, suffix_tree = _trie(exact), _trie(suffixes)
    paths = []
    firsts = {ch for ch in [*exact_tree, *suffix_tree] if ch}
    if exact_tree:
        paths.append(rf"(?<![\w.-].){_dispatch(exact_tree)}")
        paths.append(rf"(?<=[-_])(?<![\w.-][-_])[-_]{{0,2}}{_whole(exact_tree)}")
        firsts |= {"-", "_"}
    if suffix_tree:
        paths.append(rf"(?<=[\w.-].){_dispatch(suffix_tree)}")
    if not paths:
        return None
    chars = "".join(sorted({c for ch in firsts for c in (ch.lower(), ch.upper())}))
    regex = f"[{re.escape(chars)}](?:{'|'.join(paths)}){_ASSIGNED_VALUE}"
    return _Rule("secret_assignment", (regex,), replace, needles=(":", "="))


_Trie: TypeAlias = "dict[str, _Trie]"


def _trie(words: Iterable[str]) -> _Trie:
    root: _Trie = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here
    return root


def _letter(ch: str) -> str:
    return f"[{ch.upper()}{ch}]" if ch.upper() != ch else re.escape(ch)


def _dispatch(tree: _Trie) -> str:
    """The rest of a word of ``tree`` whose first letter was just consumed."""
    heads = [f"(?<={_letter(ch)}){_after(child)}" for ch, child in sorted(tree.items()) if ch]
    return f"(?:{'|'.join(heads)})"


def _whole(node: _Trie) -> str:
    """Any whole word of the tree under ``node``."""
    branches = [_letter(ch) + _after(child) for ch, child in sorted(node.items()) if ch]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


def _after(node: _Trie) -> str:
    """What may follow once the letters leading to ``node`` have been read."""
    if not any(node):
        return ""
    rest = f"[-_.]?{_whole(node)}"
    return f"(?:{rest})?" if "" in node else rest


# Every built-in word pattern's match contains one of the literals in _word_gate or
# matches one of these shapes (see each _Builtin), so text with none of them skips the
# word pass.  Under CPython the gate's cost is the number of passes over the text, and
# sre tries a leading character class at every position through a function call (~50
# instructions a character), so no shape test starts with one: the IPv4 and IPv6 tests
# start with a literal, which sre finds in a tight loop, and digit runs are found by a
# byte translation, a table lookup a character.
#: Every IPv4 match holds a dot followed by two more dotted digit groups.
_GATE_IPV4: Final = re.compile(r"\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
#: Every IPv6 form has two colons at most one hex group apart.
_GATE_IPV6: Final = re.compile(r":[0-9A-Fa-f]{0,4}:")
#: Phone, card and SSN matches each lie inside one run of digits and the separators
#: " .()+-" holding at least seven digits.  With digits made "0" and those separators
#: deleted, such a run always leaves "0000000" behind.
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"0123456789", b"0" * 10)
_NUMBER_SEPARATORS: Final = b" .()+-"
_SEVEN_DIGITS: Final = b"0" * 7


def _word_gate(text: str) -> bool:
    """False when no built-in word pattern can match ``text`` (a superset test).

    Each test is one C loop over the text, and a test for a rare character guards the
    tests for the literals that contain it.
    """
    if "@" in text:  # email, url_password
        return True
    if "_" in text and (
        "k_live_" in text or "k_test_" in text or "npm_" in text or "github_pat_" in text
        or "ghp_" in text or "gho_" in text or "ghu_" in text or "ghs_" in text or "ghr_" in text
    ):  # fmt: skip
        return True
    if "-" in text and ("sk-" in text or "glpat-" in text or "xox" in text):
        return True
    if "." in text and ("SG." in text or _GATE_IPV4.search(text) is not None):
        return True
    if "J" in text and "eyJ" in text:
        return True
    if "A" in text and ("AKIA" in text or "ASIA" in text or "AIza" in text):
        return True
    low = text.lower()
    if "\u017f" in low:  # U+017F, the long s, is an "s" to the case-insensitive regexes
        low = low.replace("\u017f", "s")
    if "bearer" in low or "secret" in low:
        return True
    digits = text.encode("ascii", "replace").translate(_DIGITS_AS_ZERO, _NUMBER_SEPARATORS)
    if _SEVEN_DIGITS in digits:
        return True
    return ":" in text and _GATE_IPV6.search(text) is not None


_GATEABLE_KEY: Final = re.compile(r"\w{1,30}")
#: In reversed text, what may follow a sign (blanks, a quote, separators), then the key.
_REVERSED_KEY: Final = re.compile(r"[ \t]{0,3}[\"']?[-_.]{0,3}([\w.-]{1,64})")


# ---------------------------------------------------------------------------- Redactor


class Redactor:
    """Masks PII in text and in structured events; an instance is also a structlog processor.

    ``disable`` names built-in patterns to turn off.  ``extra_patterns`` are added to the
    built-ins; one that reuses a built-in's name replaces it.  ``style`` picks fixed
    tokens or partial masks for every pattern, ``styles`` overrides it per pattern name.
    ``keys`` replaces :data:`DEFAULT_SENSITIVE_KEYS`, ``extra_keys`` adds to it.  Bad
    configuration raises :class:`ValueError` here; redacting itself never raises.

    :meth:`stats` counts replacements per pattern name, and masked keys as
    ``"key:<key>"`` (lower-cased, ``-`` written ``_``).

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
        # The same, for keys found reversed in text (see _has_sensitive_assignment).
        self._reversed_verdicts: dict[str, bool] = {}

        chosen = _select(disable, extra_patterns)
        styles = dict(styles or {})
        for name, value in [*styles.items(), ("style", style)]:
            if value not in ("token", "partial"):
                raise ValueError(f"style for {name!r} must be 'token' or 'partial'")
        unknown = set(styles) - {p.name for p in chosen}
        if unknown:
            raise ValueError(f"styles names no enabled pattern: {sorted(unknown)}")

        rules: list[_Rule] = []
        assignment: _Rule | None = None
        self._first: list[_Pass] = []  # passes run before the word pass
        for pattern in chosen:
            replacement = pattern.replacement
            if styles.get(pattern.name, style) == "partial" and pattern.partial is not None:
                replacement = pattern.partial
            if replacement is None:
                replacement = f"[{pattern.name.upper()}_REDACTED]"
            replace = _as_function(replacement)
            if isinstance(pattern, _Builtin) and pattern.name == "secret_assignment":
                assignment = _assignment_rule(self._exact_keys, self._suffix_keys, replace)
            elif isinstance(pattern, _Builtin):
                rules.append(
                    _Rule(
                        pattern.name,
                        pattern.alternatives,
                        replace,
                        pattern.validate,
                        word_start=pattern.word_start,
                        needs_at=pattern.needs_at,
                        needles=("-----BEGIN",) if pattern.name == "private_key" else (),
                    )
                )
            else:
                compiled = _compiled(pattern)
                replace = _fail_closed(replace, f"[{pattern.name.upper()}_REDACTED]")
                validate = pattern.validate
                if validate is not None:
                    validate = _fail_closed(validate, True)
                rule = _Rule(pattern.name, (_inline(compiled),), replace, validate)
                if compiled.groups:
                    self._first.append(_Pass.alone(rule, compiled))
                else:
                    rules.append(rule)

        # Vetoable rules go last, so that at any one position every other pattern has
        # had its chance before a veto moves the scan on.
        rules.sort(key=lambda rule: rule.validate is not None)
        pem = [rule for rule in rules if rule.name == "private_key" and rule.needles]
        custom = [rule for rule in rules if not rule.word_start and rule not in pem]
        words = [rule for rule in rules if rule.word_start]
        # PEM blocks, then `key=value`, then the user's patterns: each is claimed whole
        # before later passes could cut into it (or mask it twice).
        ahead = [[assignment] if assignment is not None else [], custom]
        self._first[:0] = [_Pass.combined(group, words=False) for group in [pem, *ahead] if group]
        self._assignment_pass = next(
            (p for p in self._first if any(b.rule is assignment for b in p.branches.values())),
            None,
        )
        self._words = _Pass.combined(words, words=True) if words else None
        # Text without "@" (most text) is scanned without the "@" patterns, whose
        # local-part runs are the dearest thing to try at every word.
        self._words_no_at = self._words
        if any(rule.needs_at for rule in words):
            rest = [rule for rule in words if not rule.needs_at]
            self._words_no_at = _Pass.combined(rest, words=True) if rest else None

        # Cheap necessary conditions, checked before the costly passes (built-ins only: a
        # user's pattern has no known shape, so with one of those every string is scanned).
        # The word gate is a superset of what any built-in word pattern can match; the
        # assignment gate finds each "key:" / "key=" and asks is_sensitive_key about it,
        # the same judgement the assignment regex makes.
        builtin_only = all(isinstance(p, _Builtin) for p in chosen)
        self._word_gate = _word_gate if builtin_only else None
        # The gate reads at most 64 key characters of [\w.-] before a sign: a key with
        # other characters, or long enough to reach past that with separators in it,
        # turns it off.
        self._assignment_gate = builtin_only and all(
            _GATEABLE_KEY.fullmatch(key) for key in self._exact_keys
        )

        self._trigger: re.Pattern[str] | None = None
        triggers = [p.trigger for p in chosen]
        if chosen and all(t is not None for t in triggers):
            # One-character alternatives: sre folds them into one set and scans with it.
            self._trigger = re.compile("|".join(f"[{t}]" for t in triggers if t))

        self._clean: dict[str, None] = {}  # see _text
        # Also see _text.  Only where every pre-check is exact about digits: with a user's
        # pattern there are none, and a sensitive key with a digit in it ("pin2") could
        # share its shape with a harmless one ("pin3").
        no_digit_keys = not any(ch.isdigit() for key in self._exact_keys for ch in key)
        self._shapes: dict[bytes, None] | None = (
            {} if builtin_only and no_digit_keys else None
        )
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API

    def redact_text(self, text: str) -> str:
        """Return ``text`` with the matches of every enabled pattern replaced.

        >>> Redactor().redact_text("card 4111 1111 1111 1111, order ORD-2024-000123")
        'card [CREDIT_CARD_REDACTED], order ORD-2024-000123'
        """
        tally: dict[str, int] = {}
        out = self._text(text, tally)
        if tally:
            self._merge(tally)
        return out

    def redact_event(
        self, event: Mapping[str, Any], skip: Container[str] = ()
    ) -> dict[str, Any]:
        """Return a redacted copy of ``event``; the input and its children are left alone.

        Values under a sensitive key become ``"[REDACTED]"``, whatever their type; other
        strings are scanned; dicts, lists, tuples and sets are walked; anything else is
        kept as is.  Keys themselves are never rewritten.  Top-level keys in ``skip``
        are copied unscanned (the handler skips the fields it wrote itself).

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
        if self._word_gate is None and self._trigger is not None and not self._trigger.search(text):
            return text
        shape: bytes | None = None
        shapes = self._shapes
        if shapes is not None and len(text) <= _SHAPE_MAX_LENGTH:
            # Log lines repeat their template with other numbers in it.  No pre-check
            # looks at which digit stands where, only at where digits stand, so a text
            # whose digits-as-"0" form was ruled out before is ruled out again.
            shape = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO)
            if shape in shapes:
                return text
        out = text
        scanned = False
        for scan in self._first:
            if scan.needles:
                for needle in scan.needles:  # a plain loop: no generator on the hot path
                    if needle in out:
                        break
                else:
                    continue
            if scan is self._assignment_pass and not self._has_sensitive_assignment(out):
                continue
            out = _run(scan, out, tally)
            scanned = True
        words = self._words if "@" in out else self._words_no_at
        if words is not None and (self._word_gate is None or self._word_gate(out)):
            out = _run(words, out, tally)
            scanned = True
        if shapes is not None and shape is not None and not scanned:
            # Only shapes the pre-checks ruled out: a scan that found nothing (a number
            # failing its Luhn check, say) says nothing about other digits in its place.
            if len(shapes) >= _SHAPE_CACHE_SIZE:
                shapes.clear()
            shapes[shape] = None
        if short and out is text:
            # Field values repeat (logger and thread names, hosts, ids of a few kinds),
            # so short strings found clean are remembered.  Only clean ones: the cache
            # must not become a store of the very secrets it exists to hide.
            if len(self._clean) >= _CLEAN_CACHE_SIZE:
                self._clean.clear()
            self._clean[text] = None
        return out

    def _has_sensitive_assignment(self, text: str) -> bool:
        """False when no ``key=value`` or ``key: value`` in ``text`` has a sensitive key."""
        if not self._assignment_gate:
            return True
        # The key sits before its sign: reversed once, the text reads sign then key, so
        # each key is one anchored match, and the cost follows the number of signs.
        backwards = text[::-1]
        known = self._reversed_verdicts
        for sign in ":=":
            at = backwards.find(sign)
            while at != -1:
                m = _REVERSED_KEY.match(backwards, at + 1)
                if m is not None:
                    key = m.group(1)
                    sensitive = known.get(key)
                    if sensitive is None:
                        sensitive = self._key_verdict(key[::-1])
                        if len(known) < _VERDICT_CACHE_SIZE:
                            known[key] = sensitive
                    if sensitive:
                        return True
                at = backwards.find(sign, at + 1)
        return False

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
            elif type(value) not in _ATOMS:
                event[key] = self._value(value, tally, depth + 1)

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


def _normalise_key(key: str) -> str:
    return key.lower().translate(_KEY_STRIP)


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


# ------------------------------------------------------------------------------ engine

_WORD_START: Final = "[^A-Za-z0-9]"  # consumed by a word pass, see _Pass
_SENTINEL: Final = "\n"
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
    word_start: bool = False
    needs_at: bool = False
    needles: tuple[str, ...] = ()  # every match contains one of these


@dataclass(frozen=True, eq=False)
class _Branch:
    rule: _Rule
    secrets: tuple[str, ...]  # groups holding the secret; the first that matched wins
    fallback: re.Pattern[str] | None  # the branches after this one, tried after a veto


class _Pass:
    """One compiled regex and, per marker group, the branch that produced a match.

    A word pass holds patterns that only start after a character that is not an ASCII
    letter or digit.  Its regex *consumes* that character first, so sre hops from one
    such character to the next in a tight C loop instead of trying every alternative
    at every position; the text gets a one-character sentinel in front so that a match
    at position 0 has something to consume.
    """

    __slots__ = ("branches", "needles", "regex", "skip")

    def __init__(
        self,
        regex: re.Pattern[str],
        branches: dict[str, _Branch],
        skip: int,
        needles: tuple[str, ...] = (),
    ) -> None:
        self.regex = regex
        self.branches = branches
        self.skip = skip  # characters consumed before the real match: 1 in a word pass
        # Text containing none of these cannot match; a substring test is far cheaper
        # than starting the regex engine on every short field value.  Empty: always run.
        self.needles = needles

    @classmethod
    def combined(cls, rules: list[_Rule], *, words: bool) -> _Pass:
        # Each alternative ends in an empty marker group, which closes last, so
        # ``m.lastgroup`` names the branch while the alternative still starts with its
        # own first character (see _at_start).
        numbered = [
            (f"_p{i}_{j}", rule, alt)
            for i, rule in enumerate(rules)
            for j, alt in enumerate(rule.alternatives)
        ]
        prefix = _WORD_START if words else ""
        branches: dict[str, _Branch] = {}
        for k, (marker, rule, alt) in enumerate(numbered):
            fallback = None
            if rule.validate is not None and k + 1 < len(numbered):
                # After a veto the later branches have not been tried at that position.
                fallback = _compile(prefix + _alternation(numbered[k + 1 :]))
            secrets = tuple(marker + name for name in _SECRET_GROUP.findall(alt))
            branches[marker] = _Branch(rule, secrets, fallback)
        needles = tuple(n for rule in rules for n in rule.needles)
        if not all(rule.needles for rule in rules):
            needles = ()
        regex = _compile(prefix + _alternation(numbered))
        return cls(regex, branches, int(words), needles)

    @classmethod
    def alone(cls, rule: _Rule, regex: re.Pattern[str]) -> _Pass:
        # The marker goes last, so the pattern's own groups keep their numbers.
        wrapped = re.compile(f"(?:{regex.pattern})(?P<_cwlogs_alone>)", regex.flags)
        return cls(wrapped, {"_cwlogs_alone": _Branch(rule, _secret_groups(regex), None)}, 0)


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
    skip = scan.skip
    subject = _SENTINEL + text if skip else text
    search = scan.regex.search
    pieces: list[str] = []
    kept_from, at = skip, 0
    while (m := search(subject, at)) is not None:
        hit = _accept(scan, subject, m)
        if hit is None or hit[0] == hit[1]:
            at = m.start() + 1
            continue
        _, end, secret_start, secret_end, rule = hit
        pieces += (subject[kept_from:secret_start], rule.replace(subject[secret_start:secret_end]))
        pieces.append(subject[secret_end:end])
        tally[rule.name] = tally.get(rule.name, 0) + 1
        kept_from = end
        at = end - skip  # a word pass may consume the last character of this match
    if not pieces:
        return text
    pieces.append(subject[kept_from:])
    return "".join(pieces)


def _accept(scan: _Pass, subject: str, m: re.Match[str]) -> tuple[int, int, int, int, _Rule] | None:
    """Start, end, secret start, secret end and rule of the match at ``m``, after vetoes."""
    consumed = m.start()
    start = consumed + scan.skip
    while True:
        branch = scan.branches[m.lastgroup or ""]
        rule = branch.rule
        end = m.end()
        if rule.validate is None or rule.validate(subject[start:end]):
            for name in branch.secrets:
                if m.start(name) != -1:
                    return (start, end, *m.span(name), rule)
            return start, end, start, end, rule
        retry = branch.fallback
        nxt = retry.match(subject, consumed) if retry is not None else None
        if nxt is None:
            return None
        m = nxt
