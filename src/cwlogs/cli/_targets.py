"""Group arguments: ``GROUP[:STREAM_PREFIX]``, prefixes, wildcards and ``@sources``
resolved to the log groups to read, and where (which profile and Region) each lives.

>>> where_label(SourceLocation("prod", "eu-west-1")), where_label(SourceLocation())
('prod:eu-west-1', 'default')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cwlogs.cli._context import Context
from cwlogs.cli._errors import UsageError
from cwlogs.cli.sources import SourceLocation
from cwlogs.query import LogEvent, expand_groups, is_glob

DEFAULT_LOCATION: Final = SourceLocation()


@dataclass(frozen=True)
class Target:
    """One log group to read, narrowed to a stream prefix or not, and where it lives."""

    group: str
    stream_prefix: str | None = None
    where: SourceLocation = DEFAULT_LOCATION


def resolve(
    ctx: Context, specs: Sequence[str], *, max_groups: int, streams: bool = True
) -> list[Target]:
    """``GROUP[:STREAM_PREFIX]``, prefixes, wildcards and ``@sources`` -> distinct targets."""
    targets: dict[tuple[SourceLocation, str], Target] = {}
    for spec in specs:
        if not spec.strip() or spec.strip() == "@":
            raise UsageError("an empty log group name would match every group; name one")
        if spec.startswith("@"):
            expanded = ctx.sources.expand(spec[1:])
            where = ctx.sources.location(spec[1:])
        else:
            expanded, where = (spec,), SourceLocation()
        for item in expanded:
            # Log group names cannot contain ':', so the first one starts a stream prefix.
            group_spec, _, prefix = item.partition(":")
            if not group_spec.strip():
                raise UsageError(f"{item!r}: the log group name is empty")
            if prefix and not streams:
                raise UsageError(f"{item!r}: this command cannot narrow to streams")
            names = expand_groups(group_spec, client=ctx.client_for(where))
            if not is_glob(group_spec) and not group_spec.endswith("/") and names != [group_spec]:
                ctx.out.note(f"{group_spec!r} is a prefix of {len(names)} log group(s)")
            for name in names:
                known = targets.get((where, name))
                if known is not None and prefix and known.stream_prefix not in (None, prefix):
                    # FilterLogEvents takes one stream prefix per group.
                    raise UsageError(f"{name}: give at most one stream prefix per group")
                # Asking for a whole group wins over asking for part of it.
                if known is None or not prefix:
                    targets[(where, name)] = Target(name, prefix or None, where)
    if len(targets) > max_groups:
        raise UsageError(
            f"{len(targets)} log groups match; narrow the arguments or raise --max-groups "
            f"(now {max_groups})"
        )
    return list(targets.values())


def by_location(targets: Sequence[Target]) -> dict[SourceLocation, list[Target]]:
    """Targets grouped by the profile and Region they are read with."""
    out: dict[SourceLocation, list[Target]] = {}
    for target in targets:
        out.setdefault(target.where, []).append(target)
    return out


def where_label(where: SourceLocation) -> str:
    """``profile:region`` (either part left out when unset), or ``default``."""
    return ":".join(part for part in (where.profile, where.region) if part) or "default"


def source_keys(targets: Sequence[Target]) -> list[str]:
    """What labels events in pretty output: the group, or ``profile:region:group`` when
    the groups come from several accounts or Regions."""
    if len(by_location(targets)) < 2:
        return [t.group for t in targets]
    return [f"{where_label(t.where)}:{t.group}" for t in targets]


def tags_sources(located: Mapping[SourceLocation, Any]) -> bool:
    """Whether events carry ``source``: read from several places, or from a named
    source's own profile or Region (JSON readers must be able to tell which account)."""
    return len(located) > 1 or any(where != DEFAULT_LOCATION for where in located)


def tagged(events: Iterable[LogEvent], where: SourceLocation) -> Iterator[LogEvent]:
    """``events`` with ``source`` set to ``profile:region:group``."""
    label = where_label(where)
    for event in events:
        yield dataclasses.replace(event, source=f"{label}:{event.group}")
