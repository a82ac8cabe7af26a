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

import os
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Final, TypeAlias

from cwlogs.errors import InvalidParameterError

__all__ = [
    "TimeLike",
    "TimeParseError",
    "from_epoch_ms",
    "local_zone",
    "parse_duration",
    "parse_time",
    "time_range",
    "to_epoch_ms",
    "until_ms",
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
_TIME_OF_DAY_RE: Final = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
# Absolute dates beyond ISO-8601, as people type them; a missing year is the latest past one.
_DATE_FORMATS: Final = (
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%b %d %Y %H:%M:%S",
    "%b %d %Y %H:%M",
    "%b %d %Y",
)
_YEARLESS_FORMATS: Final = ("%b %d %H:%M:%S", "%b %d %H:%M", "%b %d", "%d %b %H:%M", "%d %b")
# Epoch milliseconds after 1973 are 12+ digits; smaller numbers are almost surely seconds,
# which is a common slip, so name it instead of silently reading 1970.
_MIN_PLAUSIBLE_MS: Final = 100_000_000_000


class TimeParseError(InvalidParameterError, ValueError):
    """A time argument in none of the accepted forms."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime, tz: tzinfo | None = None) -> datetime:
    # A naive datetime is read as UTC unless a zone is asked for, like the service's own
    # epoch timestamps; the machine's zone would make one script mean different things on CI.
    return value.replace(tzinfo=tz or timezone.utc) if value.tzinfo is None else value


def local_zone(environ: dict[str, str] | None = None) -> tzinfo:
    """The user's zone: ``$TZ`` as an IANA name when it is one, else the system's zone.

    >>> local_zone({"TZ": "Europe/Paris"})
    zoneinfo.ZoneInfo(key='Europe/Paris')
    """
    env = os.environ if environ is None else environ
    name = env.get("TZ", "").lstrip(":")
    if name:
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(name)
        except (KeyError, ValueError, OSError):
            pass  # a POSIX rule such as "EST5EDT"; the C library applies it below
    found = datetime.now().astimezone().tzinfo
    return found if found is not None else timezone.utc


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


def parse_time(
    value: TimeLike, *, now: datetime | None = None, tz: tzinfo | None = None
) -> datetime:
    """An aware datetime for any accepted time form.

    Accepts a datetime, a date (its midnight), epoch milliseconds (int, float or digit
    string), ISO-8601 (``2024-05-01T12:00:00Z``, ``2024-05-01``, ``2024-05-01 05:00``),
    common written dates (``2024/05/01 05:00``, ``May 1 05:00``, ``1 May 2024``), a time
    of day (``05:00``, ``05:00:30``: its latest occurrence, today or yesterday), a
    duration meaning that long ago (``"15m"``, ``"2h"``, ``"1d"``, ``"1h ago"``, a
    ``timedelta``), and ``"now"``, ``"today"``, ``"yesterday"`` (midnights). Anything
    without an offset is read in ``tz`` (default UTC; the CLI passes the user's zone
    with ``--local-time`` or ``TZ``).

    >>> parse_time(1714564800000).isoformat()
    '2024-05-01T12:00:00+00:00'
    >>> now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    >>> parse_time("05:00", now=now).isoformat()
    '2024-05-01T05:00:00+00:00'
    """
    zone = tz or timezone.utc
    current = _aware(now) if now is not None else _utc_now()
    if isinstance(value, datetime):
        return _aware(value, zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0), zone)
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
        today = current.astimezone(zone).date()
        day = today if lowered == "today" else today - timedelta(days=1)
        return datetime.combine(day, time(0), zone)
    if _DIGITS_RE.match(text):
        return _from_number(int(text), repr(value))
    clock = _TIME_OF_DAY_RE.match(text)
    if clock is not None:
        return _time_of_day(clock, current, zone, repr(value))
    iso = _parse_iso(text, zone) or _parse_written(text, current, zone)
    if iso is not None:
        return iso
    try:
        return current - parse_duration(lowered)
    except TimeParseError:
        pass
    raise TimeParseError(
        f"not a time: {value!r}; use a duration ago ('15m', '2h', '1d', '1h ago'), a time "
        "of day ('05:00'), a date ('2024-05-01', '2024-05-01 05:00', 'May 1 05:00', "
        "'2024-05-01T12:00:00Z'), epoch milliseconds, 'now', 'today' or 'yesterday'"
    )


def _time_of_day(match: re.Match[str], current: datetime, zone: tzinfo, shown: str) -> datetime:
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    micro = int((match.group(4) or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        raise TimeParseError(f"not a time of day: {shown}; use HH:MM or HH:MM:SS (00:00-23:59)")
    local_now = current.astimezone(zone)
    moment = datetime.combine(local_now.date(), time(hour, minute, second, micro), zone)
    # The latest such moment: "05:00" typed at 03:00 means yesterday's.
    return moment - timedelta(days=1) if moment > local_now else moment


def _from_number(ms: int | float, shown: str) -> datetime:
    if not ms >= 0:  # also NaN
        # The service refuses times before 1970 with a botocore validation error.
        raise TimeParseError(
            f"{shown} is not a time: epoch milliseconds cannot be negative "
            "(for a time ago write a duration such as '5m')"
        )
    if 0 < ms < _MIN_PLAUSIBLE_MS:
        raise TimeParseError(
            f"{shown} looks like epoch seconds; cwlogs takes epoch milliseconds "
            f"(did you mean {int(ms * 1000)}?)"
        )
    return from_epoch_ms(ms)


def _parse_written(text: str, current: datetime, zone: tzinfo) -> datetime | None:
    squeezed = " ".join(text.replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(squeezed, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    local_now = current.astimezone(zone)
    for fmt in _YEARLESS_FORMATS:
        try:
            # A year in the string keeps strptime from rejecting Feb 29 in a common year.
            parsed = datetime.strptime(f"{local_now.year} {squeezed}", f"%Y {fmt}")
        except ValueError:
            continue
        moment = parsed.replace(tzinfo=zone)
        if moment > local_now:  # "Dec 31" typed in January means last year's
            moment = moment.replace(year=moment.year - 1)
        return moment
    return None


def _parse_iso(text: str, zone: tzinfo = timezone.utc) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        # Insights prints "2024-05-01 12:00:00.000"; fromisoformat on 3.10 wants 0/3/6 digits.
        try:
            parsed = datetime.strptime(candidate, "%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            return None
    return _aware(parsed, zone)


def to_epoch_ms(value: TimeLike, *, now: datetime | None = None, tz: tzinfo | None = None) -> int:
    """Epoch milliseconds for any form :func:`parse_time` accepts.

    >>> to_epoch_ms("1970-01-01T00:00:01Z")
    1000
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= _MIN_PLAUSIBLE_MS:
        return value
    moment = parse_time(value, now=now, tz=tz)
    return int(moment.timestamp() * 1000)


def until_ms(value: TimeLike, since_ms: int, *, tz: tzinfo | None = None) -> int:
    """The end of a range starting at ``since_ms``, in epoch milliseconds.

    A time of day means its first occurrence after the start (``--since 08:00 --until
    09:00`` typed at 08:40 means today's 09:00, not yesterday's); any other form is read
    as :func:`to_epoch_ms` reads it.

    >>> start = to_epoch_ms("2024-05-01T23:00:00Z")
    >>> from_epoch_ms(until_ms("01:00", start)).isoformat()
    '2024-05-02T01:00:00+00:00'
    """
    clock = _TIME_OF_DAY_RE.match(value.strip()) if isinstance(value, str) else None
    if clock is None:
        return to_epoch_ms(value, tz=tz)
    zone = tz or timezone.utc
    start = from_epoch_ms(since_ms)
    # The latest occurrence at or before start + 1 day is the first one after start.
    moment = _time_of_day(clock, start + timedelta(days=1), zone, repr(value))
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
