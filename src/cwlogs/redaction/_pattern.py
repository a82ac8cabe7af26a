"""What a user hands a :class:`~cwlogs.redaction.Redactor`: a :class:`Pattern`, a
replacement, a mask style; and the one fixed token, :data:`REDACTED`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

#: A fixed replacement (used literally: no ``\1`` expansion), or a function of the
#: matched text.
Replacement: TypeAlias = "str | Callable[[str], str]"
#: How a pattern's matches are masked: a fixed token, or a partial mask that keeps a
#: little of the text (the last four digits of a card, the first letter of a mailbox).
MaskStyle: TypeAlias = Literal["token", "partial"]

#: What the value of a sensitive key, or of a ``password=...`` assignment, becomes.
REDACTED: Final = "[REDACTED]"


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

    >>> from cwlogs.redaction import Redactor
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


def as_function(replacement: Replacement) -> Callable[[str], str]:
    """``replacement`` as a function of the matched text."""
    if isinstance(replacement, str):
        return lambda _matched: replacement
    return replacement
