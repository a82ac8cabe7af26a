"""Service limits as pure functions."""

from __future__ import annotations

import pytest

from cwlogs._shipping.limits import (
    MAX_AGE_MS,
    MAX_BATCH_BYTES,
    MAX_BATCH_SPAN_MS,
    MAX_FUTURE_MS,
    check_timestamp,
    plan_batch,
    rejected_indexes,
    sanitize_stream_name,
    truncate_utf8,
)


class TestPlanBatch:
    def test_count_limit(self) -> None:
        """No more than 10,000 events go in one call."""
        assert plan_batch([(1, 10)] * 10_001) == 10_000

    def test_byte_limit_counts_26_bytes_per_event(self) -> None:
        """The batch size includes 26 bytes of overhead per event, up to exactly 1 MiB."""
        size = MAX_BATCH_BYTES // 4 - 26
        assert plan_batch([(1, size)] * 5) == 4
        assert plan_batch([(1, size + 1)] * 5) == 3

    def test_span_limit(self) -> None:
        """A batch stops before an event 24 h or more after its first event."""
        events = [(0, 1), (MAX_BATCH_SPAN_MS - 1, 1), (MAX_BATCH_SPAN_MS, 1)]
        assert plan_batch(events) == 2

    def test_single_event_always_progresses(self) -> None:
        """An event that fills the batch alone is still sent alone."""
        assert plan_batch([(1, MAX_BATCH_BYTES - 26), (2, 1)]) == 1

    def test_empty(self) -> None:
        """Nothing to send plans nothing."""
        assert plan_batch([]) == 0


class TestTruncate:
    @pytest.mark.parametrize("limit", range(0, 12))
    def test_never_splits_a_character(self, limit: int) -> None:
        """Cut text always decodes as UTF-8 and fits the limit."""
        data = "aé€😀b".encode()
        cut = truncate_utf8(data, limit)
        assert len(cut) <= limit
        assert data.startswith(cut)
        cut.decode("utf-8")

    def test_short_input_is_unchanged(self) -> None:
        """Text under the limit is returned as is."""
        assert truncate_utf8(b"abc", 10) == b"abc"


class TestTimestamps:
    def test_windows(self) -> None:
        """Too old, too new, expired by retention and fine are told apart."""
        now = 10 * MAX_AGE_MS
        assert check_timestamp(now, now) is None
        assert check_timestamp(now - MAX_AGE_MS - 1, now) == "too_old"
        assert check_timestamp(now + MAX_FUTURE_MS + 1, now) == "too_new"
        assert check_timestamp(now - 2 * 86_400_000, now, retention_days=1) == "expired"
        assert check_timestamp(now - MAX_AGE_MS, now) is None

    def test_rejected_indexes_follow_the_service_model(self) -> None:
        """tooOld/expired ends are exclusive; tooNew start is inclusive."""
        info = {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4}
        got = rejected_indexes(info, 6)
        assert (list(got["too_old"]), list(got["too_new"])) == ([0, 1], [4, 5])
        assert rejected_indexes(None, 3) == {}
        expired = rejected_indexes({"expiredLogEventEndIndex": 3}, 5)
        assert list(expired["expired"]) == [0, 1, 2]


def test_stream_names_lose_refused_characters() -> None:
    """Colons and asterisks, refused by CloudWatch, become underscores."""
    assert sanitize_stream_name("a:b*c/d") == "a_b_c/d"
    assert sanitize_stream_name("") == "default"
    assert len(sanitize_stream_name("x" * 600)) == 512


def test_rejected_indexes_that_are_not_numbers_say_nothing() -> None:
    """A malformed rejectedLogEventsInfo in a 200 refuses nothing (resending would store twice)."""
    from cwlogs._shipping.limits import rejected_indexes

    assert rejected_indexes({"tooOldLogEventEndIndex": None}, 10) == {}
    assert rejected_indexes({"tooNewLogEventStartIndex": "x"}, 10) == {}
    assert rejected_indexes("garbage", 10) == {}  # type: ignore[arg-type]
    assert rejected_indexes({"tooOldLogEventEndIndex": 2}, 10) == {"too_old": range(0, 2)}
