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

The parts, each in a private module: the user's :class:`Pattern` (``_pattern``), the
partial masks (``_masks``), the validators (``_validators``), the built-in catalogue
and presets (``_catalogue``), the RE2 gate (``_gate``), the pass engine (``_engine``),
the user's patterns' scans (``_custom``), and the :class:`Redactor` (``_redactor``).
"""

from cwlogs.redaction._catalogue import (
    BUILTIN_PATTERN_NAMES,
    DEFAULT_PATTERN_NAMES,
    DEFAULT_SENSITIVE_KEYS,
    PRESETS,
)
from cwlogs.redaction._masks import (
    mask_card,
    mask_email,
    mask_ipv4,
    mask_ipv6,
    mask_name,
    mask_partial,
)
from cwlogs.redaction._pattern import REDACTED, MaskStyle, Pattern, Replacement
from cwlogs.redaction._redactor import Redactor
from cwlogs.redaction._validators import luhn_valid

__all__ = [
    "BUILTIN_PATTERN_NAMES",
    "DEFAULT_PATTERN_NAMES",
    "DEFAULT_SENSITIVE_KEYS",
    "PRESETS",
    "REDACTED",
    "MaskStyle",
    "Pattern",
    "Redactor",
    "Replacement",
    "luhn_valid",
    "mask_card",
    "mask_email",
    "mask_ipv4",
    "mask_ipv6",
    "mask_name",
    "mask_partial",
]
