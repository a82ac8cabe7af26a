"""cwlogs.cli.display: the command line's pretty, NDJSON and raw output, tables and progress."""

from __future__ import annotations

import io
import re
from typing import Any

import orjson
import pytest

from cwlogs.cli.display import (
    Column,
    EventRenderer,
    Painter,
    Progress,
    compact_time,
    default_format,
    display_width,
    flatten,
    format_bytes,
    format_time,
    ndjson,
    source_labels,
    table,
    use_color,
)
from cwlogs.query import LogEvent

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TS = 1714564800123  # 2024-05-01T12:00:00.123Z


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _event(
    message: str | dict[str, Any], group: str = "/shop/api", stream: str = "web-1"
) -> LogEvent:
    text = message if isinstance(message, str) else orjson.dumps(message).decode()
    return LogEvent.from_message(text, TS, group, stream, "1")


def _pretty(event: LogEvent, **kwargs: Any) -> str:
    return EventRenderer("pretty", **kwargs).render(event)


class TestDefaultFormat:
    def test_terminal_gets_pretty(self) -> None:
        """A terminal gets the pretty format."""
        assert "pretty" == default_format(_Tty())

    def test_pipe_gets_json(self) -> None:
        """Anything that is not a terminal gets NDJSON."""
        assert "json" == default_format(io.StringIO())


class TestUseColor:
    def test_terminal_is_coloured(self) -> None:
        """A terminal is coloured when nothing says otherwise."""
        assert use_color(_Tty(), environ={}) is True

    def test_pipe_is_not_coloured(self) -> None:
        """A pipe is not coloured."""
        assert use_color(io.StringIO(), environ={}) is False

    def test_no_color_env_wins_over_terminal(self) -> None:
        """NO_COLOR turns colour off even on a terminal."""
        assert use_color(_Tty(), environ={"NO_COLOR": "1"}) is False

    def test_empty_no_color_is_ignored(self) -> None:
        """An empty NO_COLOR does not count, as no-color.org specifies."""
        assert use_color(_Tty(), environ={"NO_COLOR": ""}) is True

    def test_dumb_terminal_is_not_coloured(self) -> None:
        """TERM=dumb gets no escape sequences."""
        assert use_color(_Tty(), environ={"TERM": "dumb"}) is False

    def test_explicit_choice_beats_environment(self) -> None:
        """--color beats NO_COLOR; --no-color beats a terminal."""
        assert (True, False) == (
            use_color(io.StringIO(), force=True, environ={"NO_COLOR": "1"}),
            use_color(_Tty(), force=False, environ={}),
        )


class TestPainter:
    def test_disabled_returns_text_unchanged(self) -> None:
        """With colour off, paint is the identity."""
        assert "x" == Painter(False).paint("x", "red", "bold")

    def test_enabled_combines_codes(self) -> None:
        """Several styles become one SGR sequence, reset afterwards."""
        assert "\x1b[31;1mx\x1b[0m" == Painter(True).paint("x", "red", "bold")


class TestValues:
    def test_time_is_utc_iso_with_milliseconds(self) -> None:
        """Epoch milliseconds print as UTC ISO-8601 with a Z."""
        assert "2024-05-01T12:00:00.123Z" == format_time(TS)

    def test_missing_time_is_a_dash(self) -> None:
        """A missing time prints as a dash, so table columns stay aligned."""
        assert "-" == format_time(None)

    def test_local_time_in_utc_ends_in_z_like_the_default(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--local-time in a UTC zone prints Z, not +00:00: one way to write UTC."""
        monkeypatch.setenv("TZ", "UTC")
        assert format_time(TS) == format_time(TS, local=True)

    def test_local_time_carries_an_offset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Local times outside UTC show their UTC offset instead of Z."""
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        assert "2024-05-01T21:00:00.123+09:00" == format_time(TS, local=True)

    @pytest.mark.parametrize(
        ("size", "text"),
        [(None, "-"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")],
    )
    def test_bytes_for_people(self, size: int | None, text: str) -> None:
        """Byte counts use binary units with one decimal."""
        assert text == format_bytes(size)

    def test_ndjson_is_one_line_and_never_fails(self) -> None:
        """Unserialisable values fall back to str instead of raising."""
        assert '{"a":[1],"b":"x"}' == ndjson({"a": [1], "b": _Str()})


class _Str:
    def __str__(self) -> str:
        return "x"


class TestFlatten:
    def test_nested_keys_are_dotted(self) -> None:
        """Nested objects become dotted keys."""
        assert [("http.status", "503"), ("http.path", "/a")] == flatten(
            {"http": {"status": 503, "path": "/a"}}
        )

    def test_ambiguous_strings_are_quoted(self) -> None:
        """Strings with spaces, '=' or quotes are JSON-quoted; plain ones are not."""
        assert [("a", '"x y"'), ("b", '"k=v"'), ("c", "plain"), ("d", '""')] == flatten(
            {"a": "x y", "b": "k=v", "c": "plain", "d": ""}
        )

    def test_lists_and_literals_stay_json(self) -> None:
        """Lists stay compact JSON; booleans and null are JSON literals."""
        assert [("l", "[1,2]"), ("t", "true"), ("n", "null"), ("e", "{}")] == flatten(
            {"l": [1, 2], "t": True, "n": None, "e": {}}
        )


class TestSourceLabels:
    def test_common_path_is_removed(self) -> None:
        """Groups are labelled by what differs after their shared path."""
        assert {"/shop/prod/api": "api", "/shop/prod/worker": "worker"} == source_labels(
            ["/shop/prod/api", "/shop/prod/worker"]
        )

    def test_only_whole_segments_are_removed(self) -> None:
        """A shared partial segment is kept: /shop/api and /shop/auth are not 'pi' and 'uth'."""
        assert {"/shop/api": "api", "/shop/auth": "auth"} == source_labels(
            ["/shop/api", "/shop/auth"]
        )

    def test_group_nested_in_another_keeps_a_label(self) -> None:
        """A group that is also a parent path still gets a non-empty label."""
        assert {"/shop": "shop", "/shop/api": "shop/api"} == source_labels(["/shop", "/shop/api"])

    def test_one_group_is_its_own_label(self) -> None:
        """A single group is labelled with its full name."""
        assert {"/a": "/a"} == source_labels(["/a", "/a"])


class TestPrettyEvents:
    def test_json_message_is_flattened(self) -> None:
        """A JSON event shows time, stream, level, message, then the other fields as key=value."""
        event = _event({"level": "info", "message": "paid", "order": {"id": 42}, "timestamp": "t"})
        assert "2024-05-01T12:00:00.123Z web-1 INFO  paid order.id=42" == _pretty(event)

    def test_label_replaces_stream_and_pads(self) -> None:
        """With labels, each line is prefixed with its group's label, padded to the widest."""
        labels = {"/shop/api": "api", "/shop/worker": "worker"}
        line = _pretty(_event({"level": "warning", "message": "slow"}), labels=labels)
        assert "2024-05-01T12:00:00.123Z api    WARN  slow" == line

    def test_msg_and_event_keys_are_messages_too(self) -> None:
        """'msg' (pino, zap) and 'event' (structlog) are shown as the message."""
        assert ["hi", "done"] == [
            _pretty(_event({"msg": "hi"})).split()[-1],
            _pretty(_event({"event": "done"})).split()[-1],
        ]

    def test_stack_trace_is_kept_whole_below_the_line(self) -> None:
        """The handler's exception stack is printed whole, one indented line per frame line."""
        stack = 'Traceback (most recent call last):\n  File "a.py", line 1\nValueError: no'
        event = _event({"level": "error", "message": "boom", "exception": {"stack": stack}})
        lines = _pretty(event).split("\n")
        assert ["    " + s for s in stack.split("\n")] == lines[1:]
        assert "exception" not in lines[0]

    def test_a_null_exception_prints_nothing_below_the_line(self) -> None:
        """``"exception": null`` (a formatter's empty field) is no trace: one line, no "None"."""
        assert "None" not in _pretty(_event({"message": "ok", "exception": None}))
        assert len(_pretty(_event({"message": "ok", "exception": None})).split("\n")) == 1

    def test_string_stack_is_kept_whole(self) -> None:
        """A plain-string 'stack_trace' field is printed whole as well."""
        event = _event({"message": "x", "stack_trace": "a\nb"})
        assert ["    a", "    b"] == _pretty(event).split("\n")[1:]

    def test_plain_multiline_message_is_indented_not_split(self) -> None:
        """A multi-line text message stays one event, continuation lines indented."""
        text = _pretty(_event("ERROR failed\n  at x\n  at y"))
        assert text.endswith("ERROR ERROR failed\n      at x\n      at y")

    def test_expand_pretty_prints_the_fields(self) -> None:
        """--expand shows the remaining fields as indented JSON instead of key=value."""
        text = _pretty(_event({"message": "m", "a": {"b": 1}}), expand=True)
        expected = ["    {", '      "a": {', '        "b": 1', "      }", "    }"]
        assert expected == text.split("\n")[1:]

    def test_unknown_level_is_blank(self) -> None:
        """An event without a level keeps the column aligned with blanks."""
        assert "2024-05-01T12:00:00.123Z web-1       hello" == _pretty(_event("hello"))

    def test_colour_marks_level_and_no_colour_has_no_escapes(self) -> None:
        """Colour adds escape sequences around the level; without colour there are none."""
        event = _event({"level": "error", "message": "boom"})
        coloured, plain = _pretty(event, color=True), _pretty(event, color=False)
        assert ("\x1b[31;1mERROR\x1b[0m" in coloured, ANSI.search(plain)) == (True, None)

    def test_colour_does_not_change_the_text(self) -> None:
        """Stripping the escapes from coloured output gives the plain output."""
        event = _event({"level": "info", "message": "m", "k": "v"})
        assert _pretty(event) == ANSI.sub("", _pretty(event, color=True))


class TestJsonAndRawEvents:
    def test_json_is_one_line_per_event(self) -> None:
        """The json format is one NDJSON line holding the event's fields."""
        line = EventRenderer("json").render(_event({"level": "info", "message": "a\nb"}))
        parsed = orjson.loads(line)
        assert ("\n" not in line, parsed["group"], parsed["fields"]["message"]) == (
            True,
            "/shop/api",
            "a\nb",
        )

    def test_json_message_is_the_text_shown_and_raw_is_kept(self) -> None:
        """One JSON shape: `message` is the human text, `raw` the stored one, `Z` times."""
        event = orjson.loads(EventRenderer("json").render(_event({"msg": "paid", "n": 1})))
        assert (event["message"], event["raw"], event["timestamp"]) == (
            "paid",
            '{"msg":"paid","n":1}',
            "2024-05-01T12:00:00.123Z",
        )

    def test_repeated_context_is_folded_and_long_ids_are_short(self) -> None:
        """A field equal to the previous line's is left out; ids stay, cut to 8 characters."""
        renderer = EventRenderer("pretty")
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        lines = [
            renderer.render(
                _event({"level": "info", "message": m, "service": "api", "trace_id": trace})
            )
            for m in ("one", "two")
        ]
        assert [line.split(" ", 1)[1] for line in lines] == [
            "web-1 INFO  one service=api trace_id=4bf92f35",
            "web-1 INFO  two trace_id=4bf92f35",
        ]

    def test_fields_hide_and_wide(self) -> None:
        """--fields keeps named keys, --hide drops them, --wide shows everything in full."""
        event = _event(
            {"level": "info", "message": "m", "a": 1, "b": {"c": 2}, "span_id": "00f067aa0ba902b7"}
        )
        shown = [
            EventRenderer("pretty", **kw).render(event).split("INFO  m ")[1]
            for kw in ({"fields": ["b"]}, {"hide": ["a", "b"]}, {"wide": True})
        ]
        assert shown == ["b.c=2", "span_id=00f067aa", "a=1 b.c=2 span_id=00f067aa0ba902b7"]

    def test_raw_is_the_message_only(self) -> None:
        """The raw format prints a JSON event's message, else the stored text, nothing else."""
        raw = EventRenderer("raw")
        assert ["paid", '{"level":"info"}'] == [
            raw.render(_event({"level": "info", "message": "paid", "order": 42})),
            raw.render(_event({"level": "info"})),
        ]


class TestTable:
    def test_columns_align_and_numbers_go_right(self) -> None:
        """Columns are padded to the widest cell; right-aligned columns pad on the left."""
        text = table(
            [Column("name", "NAME"), Column("n", "N", right=True), Column("x", "X")],
            [{"name": "a", "n": 10, "x": "p"}, {"name": "bbb", "n": 2, "x": None}],
        )
        assert "NAME   N  X\na     10  p\nbbb    2  -" == text

    def test_long_cells_are_cut(self) -> None:
        """Cells over max_width end in an ellipsis; the last column is exempt."""
        text = table([Column("a", "A"), Column("b", "B")], [{"a": "abcdef", "b": "x" * 9}],
                     max_width=4)  # fmt: skip
        assert "A     B\nabc…  xxxxxxxxx" == text

    def test_last_column_is_cut_to_the_terminal_width(self) -> None:
        """With a width, the last column is cut so that lines fit."""
        text = table([Column("a", "A"), Column("b", "B")], [{"a": "ab", "b": "x" * 9}], width=8)
        assert ["A   B", "ab  xxx…"] == text.split("\n")

    def test_wide_characters_align_and_every_line_fits(self) -> None:
        """CJK and emoji take two cells: columns still line up and no line overflows."""
        rows = [{"a": "日本語のロググループ名", "b": "🔥 error", "c": "x" * 30},
                {"a": "ascii", "b": "ok", "c": "y"}]  # fmt: skip
        lines = table([Column("a", "A"), Column("b", "B"), Column("c", "C")], rows,
                      max_width=None, width=30).split("\n")  # fmt: skip
        starts = {display_width(line[: line.index(mark)]) for line, mark in
                  zip(lines, ("B", "🔥", "ok"), strict=True)}  # fmt: skip
        assert (max(display_width(line) for line in lines) <= 30, len(starts)) == (True, 1)

    def test_narrow_terminal_drops_and_compacts_before_cutting_the_name(self) -> None:
        """At 80 columns CREATED goes, times lose their seconds, the group name stays whole."""
        name = "/aws/lambda/checkout-service-production"
        columns = [
            Column("name", "LOG GROUP"),
            Column("stored", "STORED", right=True),
            Column("class", "CLASS", drop=1),
            Column("last", "LAST EVENT", compact=compact_time),
            Column("created", "CREATED", drop=2, compact=compact_time),
        ]
        row = {
            "name": name,
            "stored": "1.5 KiB",
            "class": "STANDARD",
            "last": "2026-12-02T08:40:12.345Z",
            "created": "2026-11-01T10:00:00.000Z",
        }
        lines = table(columns, [row], max_width=None, width=80).split("\n")
        assert (lines[0].split(), lines[1].split()) == (
            ["LOG", "GROUP", "STORED", "CLASS", "LAST", "EVENT"],
            [name, "1.5", "KiB", "STANDARD", "2026-12-02", "08:40Z"],
        )

    def test_heading_is_bold_with_colour(self) -> None:
        """With colour the heading is bold."""
        assert table([Column("a", "A")], [], color=True).startswith("\x1b[1mA")


class TestProgress:
    def test_silent_when_not_a_terminal(self) -> None:
        """Nothing is written to a pipe."""
        stream = io.StringIO()
        progress = Progress(stream)
        progress.update("running")
        progress.clear()
        assert "" == stream.getvalue()

    def test_redraws_in_place_and_clears(self) -> None:
        """On a terminal each update rewrites the line and clear erases it."""
        stream = _Tty()
        progress = Progress(stream)
        progress.update("a")
        progress.update("b")
        progress.clear()
        assert "\r\x1b[K⠋ a\r\x1b[K⠙ b\r\x1b[K" == stream.getvalue()
