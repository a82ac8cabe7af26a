"""The UI's adapter to the read API: saved queries by name, endpoint health."""

from __future__ import annotations

import pytest

from cwlogs.errors import InvalidParameterError
from cwlogs.ui._source import Health, saved_query


class TestSavedQuery:
    def test_a_name_and_arguments_give_the_saved_query(self) -> None:
        """`slow_requests 250` runs the saved query with its threshold."""
        assert "duration_ms > 250" in saved_query("slow_requests 250")

    def test_an_id_stays_text(self) -> None:
        """A numeric-looking trace id is passed as text, not as a number."""
        assert 'trace_id = "12345"' in saved_query("one_trace 12345")

    def test_anything_else_is_the_query_itself(self) -> None:
        """Text that names no saved query is run as written."""
        assert saved_query("fields @message | limit 5") == "fields @message | limit 5"

    def test_a_bad_argument_is_a_clear_error(self) -> None:
        """A non-number where a number is due names the parameter."""
        with pytest.raises(InvalidParameterError, match="threshold_ms must be a number"):
            saved_query("slow_requests soon")


class TestHealth:
    def test_states(self) -> None:
        """Answers, throttling and silence read as the state bar shows them."""
        health = Health()
        assert health.text() == "connecting…"
        health.record(400, "ThrottlingException")
        assert health.text().startswith("throttled (ThrottlingException), backing off")
        health.record(None)
        assert health.text().startswith("unreachable (no connection), backing off")
        assert health.failures == 2
        health.record(200)
        assert (health.text(), health.failures) == ("endpoint ok", 0)
