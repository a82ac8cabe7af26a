"""Validators: what a built-in pattern's candidate must also pass (the Luhn checksum,
address ranges, issued SSNs) and the checks that run them on a match's spans."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Final, TypeAlias

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


def valid_card(text: str) -> bool:
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


def valid_ipv4(text: str) -> bool:
    octets = [int(part) for part in text.split(".")]
    # Loopback and "any" identify nobody, and masking them hides useful bind addresses.
    return max(octets) <= 255 and octets[0] != 127 and octets != [0, 0, 0, 0]


def valid_ipv6(text: str) -> bool:
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


def valid_phone(text: str) -> bool:
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


def valid_us_phone(text: str) -> bool:
    # "1-800-555-1234": a lone leading digit before a separator is the country code 1.
    return text[1:2].isdigit() or text[:1] == "1"


def valid_ssn(text: str) -> bool:
    # Never issued: area 000 or 666, group 00, serial 0000.  ITINs (9xx) are masked too.
    area, group, serial = text[:3], text[4:6], text[7:]
    return area not in ("000", "666") and group != "00" and serial != "0000"


def not_all_lowercase(text: str) -> bool:
    # Real tokens practically always hold an upper-case letter, a digit or a symbol;
    # prose ("bearer credentials") does not.
    return not (text.isalpha() and text.islower())


# A value that is already a mask is left alone, so that redacting twice (a structlog
# processor, then the handler) changes nothing and counts nothing the second time.
_ALREADY_MASKED: Final = re.compile(
    rb"(?:(?i:bearer|basic|digest|token|negotiate)[ ]{1,3})?\[[A-Z0-9_]*REDACTED\]"
)


# ----------------------------------------------------------------------------- checks

# A check gets the text's bytes and the spans of the regex's groups (0: the whole match
# with its context, 1: the redactable match, 2...: secret candidates; a regex without
# context has no groups, as RE2 finds spans faster without) and may veto.

Spans: TypeAlias = "list[tuple[int, int]]"
Check: TypeAlias = "Callable[[bytes, Spans], bool]"


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # a span that cut a character: never raise on the worker
        return data.decode("utf-8", "replace")


def on_match(fn: Callable[[str], bool]) -> Check:
    def check(data: bytes, spans: Spans) -> bool:
        start, end = spans[1] if len(spans) > 1 else spans[0]
        return fn(decode(data[start:end]))

    return check


def on_secret(fn: Callable[[str], bool]) -> Check:
    def check(data: bytes, spans: Spans) -> bool:
        start, end = secret_span(spans)
        return fn(decode(data[start:end]))

    return check


def unmasked(data: bytes, spans: Spans) -> bool:
    return _ALREADY_MASKED.match(data, secret_span(spans)[0]) is None


def secret_span(spans: Spans) -> tuple[int, int]:
    for span in spans[2:]:
        if span[0] != -1:
            return span
    return spans[1] if len(spans) > 1 else spans[0]
