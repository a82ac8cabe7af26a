"""Partial masks: keep a little of a match (the last four digits of a card, the first
letter of a mailbox) so that a masked log line still tells cases apart."""

from __future__ import annotations

import ipaddress


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
