"""The user's extra patterns: Python regexes run with :mod:`re`, after the PEM and
assignment phases of the built-ins and before the rest.

Patterns without groups share one combined :class:`Pass` (an alternation whose marker
groups name the branch that matched); one with groups gets a pass of its own.  User code
(replacement functions, validators) runs fail-closed: an exception masks, never raises
on the handler's worker.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

from cwlogs.redaction._pattern import Pattern, Replacement, as_function

_SECRET_GROUP: Final = re.compile(r"\(\?P<(secret[0-9]*)>")
_SCOPED_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
    (re.ASCII, "a"),
)
_T = TypeVar("_T")


def passes(patterns: Iterable[tuple[Pattern, Replacement]]) -> list[Pass]:
    """The scans for these patterns, each with its replacement: the combined one (rules
    without a validator first), then one per pattern with groups.  Raises ValueError
    for a regex that does not compile or matches the empty string."""
    combined: list[_Rule] = []
    alone: list[Pass] = []
    for pattern, replacement in patterns:
        compiled = _compiled(pattern)
        token = f"[{pattern.name.upper()}_REDACTED]"
        replace = _fail_closed(as_function(replacement), token)
        validate = pattern.validate
        if validate is not None:
            validate = _fail_closed(validate, True)
        rule = _Rule(pattern.name, (_inline(compiled),), replace, validate)
        if compiled.groups:
            alone.append(Pass.alone(rule, compiled))
        else:
            combined.append(rule)
    combined.sort(key=lambda rule: rule.validate is not None)
    return ([Pass.combined(combined)] if combined else []) + alone


def trigger(patterns: list[Pattern]) -> re.Pattern[str] | None:
    """A regex that every match of ``patterns`` contains a match of, when each pattern
    has a ``trigger``: text without one skips their scans.  None otherwise."""
    if not patterns or not all(p.trigger for p in patterns):
        return None
    # One-character alternatives: sre folds them into one set and scans with it.
    return re.compile("|".join(f"[{p.trigger}]" for p in patterns))


def _compiled(pattern: Pattern) -> re.Pattern[str]:
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


def _fail_closed(fn: Callable[[str], _T], fallback: _T) -> Callable[[str], _T]:
    """Run user code so that a failure masks instead of raising on the handler's worker."""

    def guarded(text: str) -> _T:
        try:
            return fn(text)
        except Exception:
            return fallback

    return guarded


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


class Pass:
    """One compiled regex and, per marker group, the branch that produced a match."""

    __slots__ = ("branches", "regex")

    def __init__(self, regex: re.Pattern[str], branches: dict[str, _Branch]) -> None:
        self.regex = regex
        self.branches = branches

    @classmethod
    def combined(cls, rules: list[_Rule]) -> Pass:
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
    def alone(cls, rule: _Rule, regex: re.Pattern[str]) -> Pass:
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


def run(scan: Pass, text: str, tally: dict[str, int]) -> str:
    """``text`` with the matches of one pass masked, counted in ``tally``."""
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


def _accept(scan: Pass, text: str, m: re.Match[str]) -> tuple[int, int, int, int, _Rule] | None:
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
