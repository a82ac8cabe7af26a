"""Time arguments: every accepted form, and the mistakes users make with them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cwlogs.errors import InvalidParameterError
from cwlogs.timeparse import (
    TimeParseError,
    from_epoch_ms,
    parse_duration,
    parse_time,
    time_range,
    to_epoch_ms,
    until_ms,
)

NOW = datetime(2024, 5, 1, 12, 30, 15, tzinfo=timezone.utc)
NOW_MS = 1714566615000


class TestParseTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("15m", NOW - timedelta(minutes=15)),
            ("2h", NOW - timedelta(hours=2)),
            ("1d", NOW - timedelta(days=1)),
            ("30s", NOW - timedelta(seconds=30)),
            ("1w", NOW - timedelta(weeks=1)),
            ("1h ago", NOW - timedelta(hours=1)),
            ("90 minutes ago", NOW - timedelta(minutes=90)),
            ("1h30m", NOW - timedelta(minutes=90)),
            ("1.5h", NOW - timedelta(minutes=90)),
            (" 2 HOURS ", NOW - timedelta(hours=2)),
        ],
    )
    def test_relative_forms_count_back_from_now(self, text: str, expected: datetime) -> None:
        """Durations mean that long before now."""
        assert expected == parse_time(text, now=NOW)

    def test_now(self) -> None:
        """'now' is the injected clock."""
        assert NOW == parse_time("now", now=NOW)

    def test_yesterday_is_the_previous_utc_midnight(self) -> None:
        """'yesterday' starts at 00:00 UTC of the day before."""
        assert datetime(2024, 4, 30, tzinfo=timezone.utc) == parse_time("yesterday", now=NOW)

    def test_today_is_this_utc_midnight(self) -> None:
        """'today' starts at 00:00 UTC."""
        assert datetime(2024, 5, 1, tzinfo=timezone.utc) == parse_time("today", now=NOW)

    def test_epoch_milliseconds_int(self) -> None:
        """Integers are epoch milliseconds."""
        assert NOW == parse_time(NOW_MS)

    def test_epoch_milliseconds_string(self) -> None:
        """A digit string is epoch milliseconds too."""
        assert NOW == parse_time(str(NOW_MS))

    def test_iso_with_z(self) -> None:
        """ISO-8601 with Z is UTC."""
        assert NOW == parse_time("2024-05-01T12:30:15Z")

    def test_iso_with_offset_keeps_the_instant(self) -> None:
        """An offset is honoured, so the instant is the same."""
        assert NOW == parse_time("2024-05-01T14:30:15+02:00")

    def test_iso_date_only_is_midnight_utc(self) -> None:
        """A bare date means midnight UTC."""
        assert datetime(2024, 5, 1, tzinfo=timezone.utc) == parse_time("2024-05-01")

    def test_insights_timestamp_format(self) -> None:
        """Logs Insights' '2024-05-01 12:30:15.000' parses as UTC."""
        assert NOW == parse_time("2024-05-01 12:30:15.000")

    def test_naive_datetime_is_utc(self) -> None:
        """A naive datetime is read as UTC, not the machine's zone."""
        assert NOW == parse_time(datetime(2024, 5, 1, 12, 30, 15))

    def test_aware_datetime_is_returned_as_is(self) -> None:
        """An aware datetime passes through."""
        assert NOW == parse_time(NOW)

    def test_date_object_is_midnight(self) -> None:
        """A date is its midnight, UTC."""
        assert datetime(2024, 5, 1, tzinfo=timezone.utc) == parse_time(date(2024, 5, 1))

    def test_timedelta_counts_back(self) -> None:
        """A timedelta means that long ago."""
        assert NOW - timedelta(minutes=5) == parse_time(timedelta(minutes=5), now=NOW)

    def test_epoch_seconds_are_refused_with_a_hint(self) -> None:
        """Epoch seconds are a common slip: the error suggests the millisecond value."""
        with pytest.raises(TimeParseError, match="1714566615000"):
            parse_time(1714566615)

    @pytest.mark.parametrize("bad", ["soon", "15 parsecs", "", "2024-13-45", True])
    def test_unparseable_values_raise_the_taxonomy_error(self, bad: object) -> None:
        """Garbage raises InvalidParameterError naming the accepted forms."""
        with pytest.raises(InvalidParameterError):
            parse_time(bad)  # type: ignore[arg-type]


class TestUsersZone:
    NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)  # 12:00 in Tokyo
    TOKYO = timezone(timedelta(hours=9))

    def test_naive_today_and_yesterday_are_read_in_the_zone(self) -> None:
        """With a zone, naive times and midnights are that zone's wall time."""
        found = [
            parse_time(v, now=self.NOW, tz=self.TOKYO).astimezone(timezone.utc)
            for v in ("2026-12-01 05:00", "today", "yesterday")
        ]
        assert found == [
            datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc),
            datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc),
            datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc),
        ]

    def test_time_of_day_is_its_latest_occurrence(self) -> None:
        """`05:00` is today's when it has passed, else yesterday's; seconds are accepted."""
        found = [
            parse_time(v, now=self.NOW, tz=self.TOKYO).isoformat() for v in ("05:00", "13:00:30")
        ]
        assert found == ["2026-12-02T05:00:00+09:00", "2026-12-01T13:00:30+09:00"]

    @pytest.mark.parametrize(
        "text", ["2026-12-01T05:00", "2026-12-01 05:00", "2026/12/01 05:00", "Dec 1 05:00",
                 "1 Dec 2026 05:00", "Dec 1, 2026 05:00"],
    )  # fmt: skip
    def test_absolute_dates_in_common_forms(self, text: str) -> None:
        """Written dates mean the same moment (UTC without a zone)."""
        assert parse_time(text, now=self.NOW) == datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)

    @pytest.mark.parametrize(
        ("since", "until", "expected"),
        [
            ("2026-12-02T08:00", "09:00", "2026-12-02T09:00:00+00:00"),
            ("2026-12-01T23:00", "01:00", "2026-12-02T01:00:00+00:00"),
            ("2026-12-02T08:00", "08:00", "2026-12-03T08:00:00+00:00"),
            ("2026-12-02T08:00", "2026-12-01T09:00", "2026-12-01T09:00:00+00:00"),
        ],
    )
    def test_time_of_day_until_is_its_first_occurrence_after_since(
        self, since: str, until: str, expected: str
    ) -> None:
        """An end given as a time of day follows the start; other forms are read as usual."""
        end = until_ms(until, to_epoch_ms(since))
        assert expected == from_epoch_ms(end).isoformat()

    def test_impossible_time_of_day_is_refused(self) -> None:
        """`25:00` is an error naming the allowed range, not a silent guess."""
        with pytest.raises(TimeParseError, match="00:00-23:59"):
            parse_time("25:00", now=self.NOW)


class TestToEpochMs:
    def test_round_trips_with_from_epoch_ms(self) -> None:
        """Milliseconds survive the trip through a datetime."""
        assert NOW_MS == to_epoch_ms(from_epoch_ms(NOW_MS))

    @given(st.integers(min_value=100_000_000_000, max_value=4_000_000_000_000))
    def test_every_plausible_epoch_ms_is_kept(self, ms: int) -> None:
        """Any epoch-ms integer comes back unchanged."""
        assert ms == to_epoch_ms(ms)

    def test_relative(self) -> None:
        """'1m' is 60,000 ms before now."""
        assert NOW_MS - 60_000 == to_epoch_ms("1m", now=NOW)


class TestParseDuration:
    def test_compound(self) -> None:
        """Units add up."""
        assert timedelta(hours=1, minutes=30, seconds=5) == parse_duration("1h30m5s")

    def test_number_is_seconds(self) -> None:
        """A bare number is seconds."""
        assert timedelta(seconds=2.5) == parse_duration(2.5)

    def test_unknown_unit_is_named(self) -> None:
        """An unknown unit is named in the error."""
        with pytest.raises(TimeParseError, match="fortnights"):
            parse_duration("2 fortnights")


class TestTimeRange:
    def test_defaults_to_the_last_hour(self) -> None:
        """No start and no end means the last hour."""
        assert (NOW_MS - 3_600_000, NOW_MS) == time_range(None, None, now=NOW)

    def test_start_after_end_is_refused(self) -> None:
        """A reversed range raises rather than returning nothing."""
        with pytest.raises(TimeParseError, match="after end"):
            time_range("5m", "1h", now=NOW)
