"""Time arguments for the read API: datetimes, epoch milliseconds, ISO-8601 and ``"15m"``.

Every reading function takes ``start``/``end`` through :func:`to_epoch_ms`, so they all
accept the same forms. Relative forms always count back from ``now``; ``now`` is
injectable so the parsing is testable without a clock.

>>> from datetime import datetime, timezone
>>> now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
>>> parse_time("15m", now=now).isoformat()
'2024-05-01T11:45:00+00:00'
>>> to_epoch_ms("2024-05-01T12:00:00Z")
1714564800000
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Final, TypeAlias

from cwlogs.errors import InvalidParameterError

__all__ = [
    "TimeLike",
    "TimeParseError",
    "from_epoch_ms",
    "parse_duration",
    "parse_time",
    "time_range",
    "to_epoch_ms",
]

#: What every ``start``/``end``/``since`` argument accepts.
TimeLike: TypeAlias = "datetime | date | int | float | str | timedelta"

_UNIT_SECONDS: Final[dict[str, float]] = {
    "ms": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
# "15m", "1.5h", "2 hours", "30 minutes ago", "1h30m ago".
_PART: Final = r"(\d+(?:\.\d+)?)\s*([a-z]+)"
_DURATION_RE: Final = re.compile(rf"^\s*((?:{_PART}\s*)+?)(?:\s+ago|ago)?\s*$", re.IGNORECASE)
_PART_RE: Final = re.compile(_PART, re.IGNORECASE)
_DIGITS_RE: Final = re.compile(r"^-?\d+$")
# Epoch milliseconds after 1973 are 12+ digits; smaller numbers are almost surely seconds,
# which is a common slip, so name it instead of silently reading 1970.
_MIN_PLAUSIBLE_MS: Final = 100_000_000_000


class TimeParseError(InvalidParameterError, ValueError):
    """A time argument in none of the accepted forms."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    # A naive datetime is read as UTC, like the service's own epoch timestamps; the
    # machine's local zone would make the same script mean different things on CI.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def from_epoch_ms(ms: int | float) -> datetime:
    """An aware UTC datetime for epoch milliseconds.

    >>> from_epoch_ms(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A length of time: ``"15m"``, ``"2h"``, ``"1d"``, ``"1h30m"``; numbers are seconds.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise TimeParseError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = value.strip().lower()
    match = _DURATION_RE.match(text)
    if match is None:
        raise TimeParseError(
            f"not a duration: {value!r}; use e.g. '30s', '15m', '2h', '1d', '1w' or '1h30m'"
        )
    seconds = 0.0
    for amount, unit in _PART_RE.findall(match.group(1)):
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            raise TimeParseError(f"unknown time unit {unit!r} in {value!r}; use s, m, h, d or w")
        seconds += float(amount) * factor
    return timedelta(seconds=seconds)


def parse_time(value: TimeLike, *, now: datetime | None = None) -> datetime:
    """An aware datetime for any accepted time form.

    Accepts a datetime (naive means UTC), a date (its midnight, UTC), epoch milliseconds
    (int, float or digit string), ISO-8601 (``2024-05-01T12:00:00Z``, ``2024-05-01``),
    a duration meaning that long ago (``"15m"``, ``"2h"``, ``"1d"``, ``"1h ago"``, a
    ``timedelta``), and ``"now"``, ``"today"``, ``"yesterday"`` (midnights, UTC).

    >>> parse_time(1714564800000).isoformat()
    '2024-05-01T12:00:00+00:00'
    """
    current = _aware(now) if now is not None else _utc_now()
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0), timezone.utc)
    if isinstance(value, timedelta):
        return current - value
    if isinstance(value, bool):
        raise TimeParseError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return _from_number(value, repr(value))
    if not isinstance(value, str):
        raise TimeParseError(f"not a time: {value!r} ({type(value).__name__})")
    text = value.strip()
    lowered = text.lower()
    if lowered == "now":
        return current
    if lowered in ("today", "yesterday"):
        midnight = datetime.combine(current.astimezone(timezone.utc).date(), time(0), timezone.utc)
        return midnight if lowered == "today" else midnight - timedelta(days=1)
    if _DIGITS_RE.match(text):
        return _from_number(int(text), repr(value))
    iso = _parse_iso(text)
    if iso is not None:
        return iso
    try:
        return current - parse_duration(lowered)
    except TimeParseError:
        pass
    raise TimeParseError(
        f"not a time: {value!r}; use a datetime, epoch milliseconds, ISO-8601 "
        "('2024-05-01T12:00:00Z'), a duration ago ('15m', '2h', '1d', '1h ago'), "
        "'now', 'today' or 'yesterday'"
    )


def _from_number(ms: int | float, shown: str) -> datetime:
    if 0 < ms < _MIN_PLAUSIBLE_MS:
        raise TimeParseError(
            f"{shown} looks like epoch seconds; cwlogs takes epoch milliseconds "
            f"(did you mean {int(ms * 1000)}?)"
        )
    return from_epoch_ms(ms)


def _parse_iso(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        # Insights prints "2024-05-01 12:00:00.000"; fromisoformat on 3.10 wants 0/3/6 digits.
        try:
            parsed = datetime.strptime(candidate, "%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            return None
    return _aware(parsed)


def to_epoch_ms(value: TimeLike, *, now: datetime | None = None) -> int:
    """Epoch milliseconds for any form :func:`parse_time` accepts.

    >>> to_epoch_ms("1970-01-01T00:00:01Z")
    1000
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= _MIN_PLAUSIBLE_MS:
        return value
    moment = parse_time(value, now=now)
    return int(moment.timestamp() * 1000)


def time_range(
    start: TimeLike | None,
    end: TimeLike | None,
    *,
    default_start: TimeLike = "1h",
    now: datetime | None = None,
) -> tuple[int, int]:
    """``(start_ms, end_ms)``: ``start`` defaults to ``default_start`` ago, ``end`` to now.

    >>> time_range(1714564800000, "2024-05-01T12:00:01Z")
    (1714564800000, 1714564801000)
    """
    current = _aware(now) if now is not None else _utc_now()
    start_ms = to_epoch_ms(default_start if start is None else start, now=current)
    end_ms = to_epoch_ms(current if end is None else end, now=current)
    if start_ms > end_ms:
        raise TimeParseError(
            f"start ({from_epoch_ms(start_ms).isoformat()}) is after end "
            f"({from_epoch_ms(end_ms).isoformat()})"
        )
    return start_ms, end_ms
