"""The UI's terminal-free state: ring, time order, fuzzy ranking, pins, detail text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cwlogs.query import LogEvent
from cwlogs.ui.state import (
    MAX_PINS,
    EventBuffer,
    Pins,
    Ring,
    detail_text,
    fuzzy_score,
    make_filter,
    state_path,
)


def ev(ts: int, message: str = "m", group: str = "g") -> LogEvent:
    return LogEvent.from_message(message, ts, group)


class TestRing:
    def test_evicts_the_oldest_past_capacity(self) -> None:
        """A full ring drops its oldest item and keeps indexing from the oldest held."""
        ring: Ring[int] = Ring(3)
        evicted = [ring.append(i) for i in range(5)]
        assert evicted == [False, False, False, True, True]
        assert [ring[i] for i in range(3)] == [2, 3, 4]
        assert list(ring) == [2, 3, 4]
        assert ring[-1] == 4

    def test_settle_moves_a_late_item_into_place(self) -> None:
        """settle_last moves the newest item back past larger keys, across the wrap point."""
        ring: Ring[int] = Ring(4)
        for i in (1, 3, 5, 7, 9, 4):
            ring.append(i)
        ring.settle_last(lambda x: x, 100)
        assert list(ring) == [4, 5, 7, 9]


class TestEventBuffer:
    def test_memory_is_bounded(self) -> None:
        """However many events arrive, the buffer holds at most its capacity."""
        buffer = EventBuffer(capacity=100)
        buffer.extend(ev(i) for i in range(1000))
        assert len(buffer) == 100
        assert len(buffer.all) == 100
        assert buffer.received == 1000
        assert buffer[0].timestamp_ms == 900
        assert buffer.take_evicted() == 900

    def test_late_events_are_shown_in_time_order(self) -> None:
        """An event older than the newest held is placed by its time, not its arrival."""
        buffer = EventBuffer()
        buffer.extend([ev(10, "a"), ev(30, "c")])
        buffer.extend([ev(20, "b"), ev(40, "d")])
        assert [e.message for e in buffer.view] == ["a", "b", "c", "d"]

    def test_filter_rechecks_what_is_held(self) -> None:
        """A new filter applies to the events already received, and to the next ones."""
        buffer = EventBuffer()
        buffer.extend([ev(1, '{"level": "error"}'), ev(2, '{"level": "info"}'), ev(3, "x")])
        buffer.set_filter(make_filter(None, "warning"))
        assert [e.timestamp_ms for e in buffer.view] == [1]
        buffer.extend([ev(4, "ERROR boom")])
        assert [e.timestamp_ms for e in buffer.view] == [1, 4]
        buffer.set_filter(None)
        assert len(buffer) == 4

    def test_filter_computed_elsewhere_checks_what_came_since(self) -> None:
        """A filter computed off the UI thread still checks events received meanwhile."""
        buffer = EventBuffer()
        buffer.extend([ev(1, "ERROR a"), ev(2, "ok")])
        events, received = buffer.snapshot()
        keep = make_filter(lambda m: "ERROR" in m, "")
        assert keep is not None
        kept = [e for e in events if keep(e)]
        buffer.extend([ev(3, "ERROR b"), ev(4, "ok")])  # arrives while filtering
        buffer.set_filter(keep, kept, received)
        assert [e.message for e in buffer.view] == ["ERROR a", "ERROR b"]


class TestFuzzy:
    def test_ranks_word_starts_and_substrings_first(self) -> None:
        """The group whose name holds the query's words ranks above scattered matches."""
        names = ["/shop/mail/pie", "/shop/prod/api", "/other/zzz"]
        scored = [(fuzzy_score("prodapi", n), n) for n in names]
        ranked = [n for s, n in sorted((x for x in scored if x[0] is not None), reverse=True)]
        assert ranked == ["/shop/prod/api"]
        near, far = fuzzy_score("api", "/shop/prod/api"), fuzzy_score("api", "/shop/mail/pie")
        assert near is not None and far is not None and near > far

    def test_no_match_is_none(self) -> None:
        """Characters out of order do not match."""
        assert fuzzy_score("ipa", "/api") is None


class TestPins:
    def test_at_most_five(self, tmp_path: Path) -> None:
        """A sixth pin is refused with a reason; unpinning frees a place."""
        pins = Pins(tmp_path / "ui.json")
        for i in range(MAX_PINS):
            pins.toggle(f"/g/{i}")
        with pytest.raises(ValueError, match="at most 5"):
            pins.toggle("/g/extra")
        assert pins.toggle("/g/0") is False
        assert pins.toggle("/g/extra") is True
        assert Pins(tmp_path / "ui.json").names == ["/g/1", "/g/2", "/g/3", "/g/4", "/g/extra"]

    def test_unreadable_file_means_no_pins_and_a_reason(self, tmp_path: Path) -> None:
        """A corrupt state file does not stop the UI; the error names the file."""
        path = tmp_path / "ui.json"
        path.write_text("{not json")
        pins = Pins(path)
        assert pins.names == []
        assert pins.error is not None and str(path) in pins.error

    def test_lives_in_the_cwlogs_config_folder(self, tmp_path: Path) -> None:
        """The state file follows XDG_CONFIG_HOME and CWLOGS_CONFIG like the CLI's config."""
        assert state_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "cwlogs" / "ui.json"
        other = tmp_path / "elsewhere" / "config.toml"
        assert state_path({"CWLOGS_CONFIG": str(other)}) == other.parent / "ui.json"


class TestDetail:
    def test_json_indented_and_traceback_whole(self) -> None:
        """The detail pane shows the JSON indented and the traceback as its own lines."""
        trace = 'Traceback (most recent call last):\n  File "a.py", line 1\nValueError: x'
        event = ev(0, json.dumps({"level": "error", "message": "boom", "exception": trace}))
        text = detail_text(event)
        assert '  "message": "boom"' in text
        assert text.endswith("exception:\n" + trace)


def test_cli_says_how_to_install_textual(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without Textual, `cwlogs ui` exits 1 and names the extra to install."""
    from cwlogs.cli import main

    for name in list(sys.modules):
        if name == "textual" or name.startswith(("textual.", "cwlogs.ui")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "textual", None)
    assert main(["ui"]) == 1
    assert "pip install 'cwlogs[ui]'" in capsys.readouterr().err
