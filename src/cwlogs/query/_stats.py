"""Event counts by level, minute, hour or stream: Logs Insights ``stats``, or counted here.

>>> stats_key(LogEvent.from_message('{"level": "WARN"}', 0), "level")
'warning'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, Literal

from cwlogs._aws.client import resolve_client
from cwlogs.errors import CwlogsError, InvalidParameterError
from cwlogs.query._args import renamed_times
from cwlogs.query._insights import insights, insights_time
from cwlogs.query._model import LogEvent, normalise_level
from cwlogs.query._reads import filter_events
from cwlogs.timeparse import TimeLike

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_log = logging.getLogger(__name__)

StatsKey = Literal["level", "minute", "hour", "stream"]
_STATS_BY: Final[Mapping[str, str]] = {
    "level": "level",
    "minute": "bin(1m)",
    "hour": "bin(1h)",
    "stream": "@logStream",
}


def _bucket(ms: int, width_s: int) -> str:
    floored = ms // (width_s * 1000) * width_s
    return datetime.fromtimestamp(floored, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stats_key(event: LogEvent, by: str) -> str:
    if by == "level":
        return event.level or "unknown"
    if by == "minute":
        return _bucket(event.timestamp_ms, 60)
    if by == "hour":
        return _bucket(event.timestamp_ms, 3600)
    return event.stream


def statistics(
    group: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    by: StatsKey = "level",
    use_insights: bool | Literal["auto"] = "auto",
    timeout: float = 30.0,
    client: CloudWatchLogsClient | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> dict[str, int]:
    """Event counts grouped by ``level``, ``minute``, ``hour`` (UTC bucket starts) or ``stream``.

    Uses Insights ``stats count(*) by ...`` where the endpoint evaluates it; when the
    results lack the stats columns (moto ignores ``stats``) the counts are computed from
    FilterLogEvents instead. Keys are sorted.

    >>> import json
    >>> from cwlogs.simulate import replay
    >>> levels = ["info", "error", "info", "warning", "info"]
    >>> _ = replay([json.dumps({"level": lv}) for lv in levels], "/shop/prod/api", time_scale=0)
    >>> statistics("/shop/prod/api", since="1h", by="level")
    {'error': 1, 'info': 3, 'warning': 1}
    """
    since, until = renamed_times("statistics", since, until, start, end)
    begin: TimeLike = since if since is not None else "1h"
    if by not in _STATS_BY:
        raise InvalidParameterError(f"by must be one of {sorted(_STATS_BY)}, not {by!r}")
    c = resolve_client(client)
    if use_insights is not False:
        counted = _statistics_insights(group, begin, until, by, timeout, c)
        if counted is not None:
            return counted
    counts: dict[str, int] = {}
    for event in filter_events(group, since=begin, until=until, client=c):
        key = stats_key(event, by)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _statistics_insights(
    group: str,
    start: TimeLike,
    end: TimeLike | None,
    by: str,
    timeout: float,
    client: CloudWatchLogsClient,
) -> dict[str, int] | None:
    column = _STATS_BY[by]
    query = f"stats count(*) as events by {column}"
    try:
        result = insights(group, query, since=start, until=end, timeout=timeout, client=client)
    except CwlogsError as err:
        _log.debug("statistics: Insights unavailable (%s); counting client-side", err)
        return None
    # An endpoint that ignored `stats` returns raw rows, or nothing: neither has the columns.
    if not result.rows or not all("events" in row for row in result.rows):
        return None
    counts: dict[str, int] = {}
    for row in result.rows:
        raw_key = row.get(column)
        if by == "level":
            key = normalise_level(raw_key) or "unknown"
        elif by in ("minute", "hour"):
            ms = insights_time(raw_key or "")
            if ms is None:
                return None
            key = _bucket(ms, 60 if by == "minute" else 3600)
        else:
            key = raw_key or ""
        try:
            counts[key] = counts.get(key, 0) + int(float(row["events"]))
        except ValueError:
            return None
    return dict(sorted(counts.items()))
