"""Argument checks the read functions share: names, times, patterns, sources.

Each raises at the call (not at the first ``next()`` of a generator), naming the function.

>>> parse_sources(["/a", ("/b", "web-")])
{'/a': None, '/b': 'web-'}
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TypeAlias

from cwlogs.errors import ConfigurationError, InvalidParameterError
from cwlogs.filterpattern import FilterPattern, compile_pattern
from cwlogs.timeparse import TimeLike, from_epoch_ms


def compile_filter(pattern: str | None) -> FilterPattern | None:
    """The pattern compiled for the local check (raising if it is invalid); None: keep all."""
    if pattern is None or not pattern.strip():
        return None
    compiled = compile_pattern(pattern)
    return None if compiled.kind == "all" else compiled


def renamed_times(
    function: str,
    since: TimeLike | None,
    until: TimeLike | None,
    start: TimeLike | None,
    end: TimeLike | None,
) -> tuple[TimeLike | None, TimeLike | None]:
    """``since``/``until`` from the new names, or the old ``start``/``end`` with a warning."""
    pairs = (("start", "since", start, since), ("end", "until", end, until))
    for old, new, value, current in pairs:
        if value is None:
            continue
        if current is not None:
            raise TypeError(f"{function}() got both {new}= and its old name {old}=; use {new}=")
        warnings.warn(
            f"{function}(): {old}= is deprecated; use {new}= (the CLI's --{new})",
            DeprecationWarning,
            stacklevel=3,
        )
    return (since if since is not None else start), (until if until is not None else end)


def name_list(value: object, parameter: str, function: str) -> None:
    """Refuse a ``str`` where a list of names is meant: iterating it would yield characters."""
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{function}(): {parameter} must be a list of names, not the string {value!r}; "
            "times are keyword-only (since=..., until=...)"
        )


def group_specs(specs: object, function: str) -> list[str]:
    """The group names, prefixes or wildcards in ``specs``; empty ones refused.

    An empty name is a prefix of every group, so reading it would read the whole account.
    """
    if isinstance(specs, bytes):
        name_list(specs, "groups", function)
    if not isinstance(specs, str) and not isinstance(specs, Iterable):
        raise TypeError(f"{function}(): groups must be a name or a list of names, not {specs!r}")
    items: list[object] = [specs] if isinstance(specs, str) else list(specs)
    if not items:
        raise ConfigurationError("groups", f"{function}() needs at least one log group name")
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{function}(): log group names must be strings, not {item!r}")
        if not item.strip():
            raise ConfigurationError(
                "groups",
                f"{function}(): empty log group name in {specs!r} "
                "(it would match every group; name a group, a prefix or a wildcard)",
            )
    return [str(item) for item in items]


def check_order(start_ms: int | None, end_ms: int | None) -> None:
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise InvalidParameterError(
            f"since ({from_epoch_ms(start_ms).isoformat()}) is after until "
            f"({from_epoch_ms(end_ms).isoformat()})"
        )


#: A group to read: its name, or ``(name, stream_prefix)`` with ``None`` for every stream.
Source: TypeAlias = str | tuple[str, str | None]


def parse_sources(sources: str | Iterable[Source], function: str = "read") -> dict[str, str | None]:
    """Group name -> stream prefix (None: the whole group), first-seen order."""
    if isinstance(sources, bytes):
        name_list(sources, "groups", function)
    items: Iterable[Source] = [sources] if isinstance(sources, str) else sources
    out: dict[str, str | None] = {}
    for item in items:
        group, prefix = (item, None) if isinstance(item, str) else item
        if not isinstance(group, str) or not group.strip():
            raise InvalidParameterError(f"{function}(): empty log group name in {sources!r}")
        prefix = prefix or None
        if group not in out:
            out[group] = prefix
        elif out[group] is not None and prefix is not None and out[group] != prefix:
            # FilterLogEvents takes one stream prefix per group.
            raise InvalidParameterError(
                f"{group}: give at most one stream prefix per group, got "
                f"{out[group]!r} and {prefix!r}"
            )
        elif prefix is None:
            out[group] = None  # asking for a whole group wins over asking for part of it
    if not out:
        raise InvalidParameterError("name at least one log group")
    return out
