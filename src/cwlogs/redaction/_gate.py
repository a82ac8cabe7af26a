"""The gate and its finders: the built-ins compiled for RE2.

Each built-in becomes one :class:`Finder` per regex branch, and every finder's regex
goes into one ``re2.Set``, the gate: a single linear pass over a string says which
finders can match it at all, so only those are then searched (by :mod:`._engine`).
A redactor with no built-in enabled has no gate (``None``), and every string skips it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import re2
from re2 import _re2  # the binding itself: re2's pure-Python wrapper costs ~3 µs a call

from cwlogs.redaction._catalogue import Builtin, assignment_regex
from cwlogs.redaction._pattern import Replacement, as_function
from cwlogs.redaction._validators import Check

#: For ``Finder.regex.Match``: search, rather than match at the start position only.
UNANCHORED: Final = _re2.RE2.Anchor.UNANCHORED


@dataclass(frozen=True, eq=False)
class Finder:
    """One RE2 regex of a built-in: group 1 is the match, groups 2... its secret parts."""

    name: str
    regex: Any  # re2's _re2.RE2
    source: str  # also its entry in the gate
    context: bool  # group 1 starts after one consumed character of context
    phase: int
    replace: Callable[[str], str]
    check: Check | None
    needles: tuple[bytes, ...]
    retreat: bool
    fixed: bytes | None  # the replacement, when it is a fixed string
    again: Callable[[bytes, int], bool] | None


def finders(
    pattern: Builtin,
    replacement: Replacement,
    exact: Iterable[str],
    suffixes: Iterable[str],
) -> list[Finder]:
    """The finders of one built-in (none for ``secret_assignment`` without keys)."""
    replace = as_function(replacement)
    fixed = replacement.encode("utf-8", "surrogatepass") if isinstance(replacement, str) else None
    branches = pattern.branches
    if pattern.name == "secret_assignment":
        if not exact and not suffixes:
            return []
        branches = (assignment_regex(exact, suffixes),)
    return [
        Finder(
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


def compile_gate(found: tuple[Finder, ...]) -> Any:
    """The ``re2.Set`` binding whose ``Match(data)`` lists the numbers (places in
    ``found``) of the finders that match ``data``; None when ``found`` is empty."""
    if not found:
        return None
    gate = re2.Set.SearchSet(_options())
    for finder in found:
        gate.Add(finder.source.encode("latin-1"))
    gate.Compile()
    return gate._set  # the binding: the wrapper's str handling costs a call


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
