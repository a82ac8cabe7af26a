"""`cwlogs ui` driven headlessly (App.run_test + pilot) against the moto endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TabbedContent

from cwlogs.ui import CwlogsApp, Source
from cwlogs.ui.logview import LogView
from cwlogs.ui.screens import HelpScreen, TraceScreen
from tests.conftest import now_ms

pytestmark = [pytest.mark.usefixtures("fast_reads"), pytest.mark.timeout(60)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOTS_ENV = "CWLOGS_UI_SCREENSHOTS"  # set to 1 to refresh docs/*.svg from the tests


def put(logs: Any, group: str, stream: str, messages: list[str | dict[str, Any]],
        start_ms: int | None = None, step: int = 1) -> None:  # fmt: skip
    """Write ``messages`` to group/stream, ``step`` ms apart, creating both as needed."""
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    base = start_ms if start_ms is not None else now_ms()
    events = [
        {"timestamp": base + i * step, "message": m if isinstance(m, str) else json.dumps(m)}
        for i, m in enumerate(messages)
    ]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


@pytest.fixture
def shop() -> str:
    """A group-name prefix unique to this test that reads well in the docs' screenshots."""
    return f"/demo-{uuid.uuid4().hex[:6]}/shop"


def make_app(logs: Any, tmp_path: Path, **kwargs: Any) -> CwlogsApp:
    source = Source.create(logs, mode="poll", poll_interval=0.2, max_backoff=0.4)
    kwargs.setdefault("since", "5m")
    return CwlogsApp(source, pins_path=tmp_path / "ui.json", **kwargs)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)


def messages(app: CwlogsApp) -> list[str]:
    return [e.message for e in app.buffer.view]


def state_bar(app: CwlogsApp) -> str:
    return str(app._main.query_one("#state", Static).render())


async def screenshot(app: CwlogsApp, pilot: Pilot[Any], name: str, tmp_path: Path) -> None:
    # The state bar is current before the picture is taken.
    await until(pilot, lambda: f"│ {len(app.buffer)}/" in state_bar(app))
    path = Path(app.save_screenshot(f"{name}.svg", str(tmp_path)))
    assert path.stat().st_size > 1000
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        shutil.copy(path, DOCS / f"{name}.svg")


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def test_open_a_source_by_fuzzy_search(logs: Any, shop: str, tmp_path: Path) -> None:
    """Typing part of a group's name and Enter opens that group and shows its events."""
    api, worker = f"{shop}/checkout-api", f"{shop}/worker"
    put(logs, api, "web-1", ["api started", "GET /cart 200"])
    put(logs, worker, "w-1", ["worker started"])
    tag = shop.split("/")[1]

    async def scenario() -> None:
        app = make_app(logs, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*f"{tag}shop")
            table = app.query_one("#groups", DataTable)
            await until(pilot, lambda: table.row_count == 2)
            await pilot.press(*"chkapi")
            await until(pilot, lambda: table.row_count == 1)
            await screenshot(app, pilot, "ui-sources", tmp_path)
            await pilot.press("enter")
            assert app.targets == [(api, None)]
            assert app.query_one(TabbedContent).active == "logs"
            await until(pilot, lambda: len(app.buffer) == 2)
            assert messages(app) == ["api started", "GET /cart 200"]
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)

    run(scenario())


def test_events_written_while_running_appear_in_order(
    logs: Any, group: str, tmp_path: Path
) -> None:
    """Events of two groups written while the viewer runs show up interleaved by time."""
    a, b = f"{group}/a", f"{group}/b"
    put(logs, a, "s", ["a-old"])
    put(logs, b, "s", ["b-old"])

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(a, None), (b, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 2)
            base = now_ms()
            put(logs, a, "s", ["a-1", "a-2"], start_ms=base, step=2)
            put(logs, b, "s", ["b-1", "b-2"], start_ms=base + 1, step=2)
            await until(pilot, lambda: len(app.buffer) == 6)
            new = messages(app)[2:]
            assert new == ["a-1", "b-1", "a-2", "b-2"]
            view = app.query_one(LogView)
            shown = [view.render_line(y).text for y in range(view.size.height)]
            assert any("b-2" in line for line in shown), "the newest event is on screen"
            assert state_bar(app).startswith("following")

    run(scenario())


def test_a_late_event_of_a_slower_group_is_not_lost(
    logs: Any, group: str, tmp_path: Path
) -> None:
    """An event written after a newer one of another group (a slower writer) still shows,
    in time order."""
    a, b = f"{group}/a", f"{group}/b"
    put(logs, a, "s", ["a-old"])
    put(logs, b, "s", ["b-old"])

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(a, None), (b, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 2)
            base = now_ms()
            put(logs, a, "s", ["a-new"], start_ms=base + 50)
            await until(pilot, lambda: len(app.buffer) == 3)
            put(logs, b, "s", ["b-late"], start_ms=base)  # older than a-new, arrives after
            await until(pilot, lambda: len(app.buffer) == 4)
            assert messages(app)[2:] == ["b-late", "a-new"]

    run(scenario())


def test_no_color_draws_the_log_view(
    logs: Any, group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: the view draws (errors in bold, no colours) instead of crashing."""
    monkeypatch.setenv("NO_COLOR", "1")
    put(logs, group, "s", [{"level": "error", "message": "boom"}, "plain"])

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 2)
            await pilot.pause(0.2)
            view = app.query_one(LogView)
            shown = " ".join(view.render_line(y).text for y in range(view.size.height))
            assert "boom" in shown and "plain" in shown

    run(scenario())


def test_filter_as_you_type_and_level(
    logs: Any, group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/` filters with the filter-pattern syntax; a bad pattern shows a caret, `l` sets a level."""
    # Re-filter in the worker thread, as with a full buffer, not inline as for a few events.
    monkeypatch.setattr("cwlogs.ui.app._FILTER_HERE", 0)
    put(logs, group, "s", [
        {"level": "info", "message": "GET / 200", "status": 200},
        {"level": "error", "message": "db down", "status": 503},
        {"level": "warning", "message": "slow", "status": 200},
        "plain text line",
    ])  # fmt: skip

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 4)
            await pilot.press("slash")
            box = app.query_one("#filter", Input)
            assert app.focused is box
            box.value = "{ $.status >= 5"  # incomplete: nothing filtered yet
            await pilot.press(*"00 }")
            await until(pilot, lambda: len(app.buffer) == 1)
            assert "db down" in messages(app)[0]
            # A pattern broken mid-typing keeps the last good filter and says where it breaks.
            await pilot.press("backspace", "backspace")
            error = app.query_one("#filter-error", Static)
            assert error.has_class("shown")
            assert "^" in str(error.render())
            assert len(app.buffer) == 1
            app.query_one("#filter", Input).value = ""
            await until(pilot, lambda: len(app.buffer) == 4)
            assert not error.has_class("shown")
            await pilot.press("escape")  # back to the list, where `l` is a key
            await pilot.press("l", "l", "l", "l")  # all -> debug -> info -> warning -> error
            await until(pilot, lambda: [e.level for e in app.buffer.view] == ["error"])

    run(scenario())


def test_enter_on_a_stream_narrows_the_view(logs: Any, group: str, tmp_path: Path) -> None:
    """The Streams tab lists the source's streams newest first; Enter shows only that one."""
    put(logs, group, "web-1", ["from web-1"], start_ms=now_ms() - 2000)
    put(logs, group, "web-2", ["from web-2"])

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 2)
            await pilot.press("2")
            table = app.query_one("#stream-table", DataTable)
            await until(pilot, lambda: table.row_count == 2)
            assert [table.get_row_at(i)[0] for i in range(2)] == ["web-2", "web-1"]
            await pilot.press("down", "enter")
            assert app.targets == [(group, "web-1")]
            await until(pilot, lambda: messages(app) == ["from web-1"])

    run(scenario())


def test_pin_survives_a_restart(logs: Any, group: str, tmp_path: Path) -> None:
    """`p` pins the highlighted group; a new session lists it first, starred."""
    name = f"{group}/pinned"
    put(logs, name, "s", ["x"])
    tag = group.rsplit("/", 1)[-1]

    async def first() -> None:
        app = make_app(logs, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*f"{tag}pinned")
            table = app.query_one("#groups", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            await pilot.press("down")  # into the table
            assert app.focused is table
            await pilot.press("p")
            assert name in app.pins

    async def second() -> None:
        app = make_app(logs, tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one("#groups", DataTable)
            await until(pilot, lambda: table.row_count >= 1)
            assert table.get_row_at(0)[:2] == ["★", name]

    run(first())
    assert json.loads((tmp_path / "ui.json").read_text()) == {"pins": [name]}
    run(second())


def test_trace_of_the_selected_event(logs: Any, shop: str, tmp_path: Path) -> None:
    """`t` on an event opens every event with its trace_id across the sources, by time."""
    api, pay = f"{shop}/api", f"{shop}/payments"
    base = now_ms() - 10_000
    put(logs, api, "web-1", [
        {"level": "info", "message": "GET /cart 200", "trace_id": "t-0", "duration_ms": 12},
        {"level": "info", "message": "POST /checkout", "trace_id": "t-1", "user": "u-42"},
        {"level": "warning", "message": "slow inventory call", "trace_id": "t-2"},
    ], start_ms=base, step=4)  # fmt: skip
    put(logs, pay, "pay-1", [
        {"level": "info", "message": "charge card", "trace_id": "t-1", "amount": 42.5},
        {"level": "error", "message": "card declined", "trace_id": "t-1",
         "exception": "Traceback (most recent call last):\n  File \"pay.py\", line 7, in charge"
                      "\n    raise ValueError(\"no\")\nValueError: no"},
    ], start_ms=base + 5)  # fmt: skip

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(api, None), (pay, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 5)
            view = app.query_one(LogView)
            view.focus()
            await pilot.press("home", "down", "enter")  # the second event, and its detail
            detail = str(app.query_one("#detail", Static).render())
            assert '"trace_id": "t-1"' in detail
            await screenshot(app, pilot, "ui-logs", tmp_path)
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TraceScreen))
            trace = app.screen
            assert isinstance(trace, TraceScreen)
            found = [(e.group, e.get("message")) for e in trace.buffer.view]
            assert found == [(api, "POST /checkout"), (pay, "charge card"), (pay, "card declined")]
            await pilot.press("down", "down")
            text = str(trace.query_one("#trace-detail", Static).render())
            assert 'line 7, in charge\n    raise ValueError("no")\nValueError: no' in text
            await screenshot(app, pilot, "ui-trace", tmp_path)
            # The follow goes on underneath the trace.
            put(logs, pay, "s", [{"level": "info", "message": "later"}])
            await until(pilot, lambda: len(app.buffer) == 6)
            await pilot.press("escape")
            assert not isinstance(app.screen, TraceScreen)

    run(scenario())


def test_query_runs_and_shows_a_table(logs: Any, shop: str, tmp_path: Path) -> None:
    """A Logs Insights query over the sources in view ends as a results table."""
    group = f"{shop}/api"
    put(logs, group, "s", ["one", "two", "three"], start_ms=now_ms() - 60_000)

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            box = app.query_one("#query-text", Input)
            assert app.focused is box
            box.value = "fields @timestamp, @message | sort @timestamp asc | limit 2"
            await pilot.press("enter")
            table = app.query_one("#results", DataTable)
            await until(pilot, lambda: table.row_count == 2)
            column = [str(c) for c in table.get_column("@message")]
            assert column == ["one", "two"]
            assert "2 row(s)" in str(app.query_one("#query-status", Static).render())
            await screenshot(app, pilot, "ui-query", tmp_path)

    run(scenario())


def test_survives_the_endpoint_going_away(
    logs: Any, group: str, tmp_path: Path, proxy: Any
) -> None:
    """With the endpoint down the state bar says so; back up, new events still arrive."""
    put(logs, group, "s", ["before"])

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.buffer) == 1)
            proxy.set_down(True)
            await until(pilot, lambda: "unreachable" in state_bar(app))
            proxy.set_down(False)
            put(logs, group, "s", ["after"])
            await until(pilot, lambda: messages(app) == ["before", "after"], timeout=15)
            await until(pilot, lambda: app.source.health.text() == "endpoint ok")

    run(scenario())


def test_cli_opens_the_ui_on_resolved_sources(
    endpoint: Any, logs: Any, shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cwlogs ui PREFIX` resolves the prefix like `tail` and opens the viewer on the groups."""
    from cwlogs.cli import main

    put(logs, f"{shop}/api", "s", ["x"])
    put(logs, f"{shop}/worker", "s", ["y"])
    opened: list[CwlogsApp] = []
    monkeypatch.setattr(CwlogsApp, "run", lambda self, **_: opened.append(self))
    assert main(["ui", f"{shop}/", "--since", "1h", "--mode", "poll"]) == 0
    (app,) = opened
    assert sorted(app.targets) == [(f"{shop}/api", None), (f"{shop}/worker", None)]
    assert (app.since, app.source.mode) == ("1h", "poll")


def test_esc_cancels_a_running_query(
    logs: Any, shop: str, tmp_path: Path, proxy: Any
) -> None:
    """Esc while a query runs stops it in the service and says it was cancelled."""
    from cwlogs.testing import Fault

    group = f"{shop}/api"
    put(logs, group, "s", ["one"])
    # Hold the first poll of the results long enough to press Esc while it runs.
    proxy.inject("GetQueryResults", Fault.delay(1.0))

    async def scenario() -> None:
        app = make_app(logs, tmp_path, targets=[(group, None)])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            app.query_one("#query-text", Input).value = "recent_errors"
            await pilot.press("enter")
            status = app.query_one("#query-status", Static)
            await until(pilot, lambda: proxy.calls("StartQuery") != [])
            await pilot.press("escape")
            await until(pilot, lambda: str(status.render()) == "cancelled")
            assert app.query_one("#results", DataTable).row_count == 0
            assert [c.operation for c in proxy.calls("StopQuery")] == ["StopQuery"]

    run(scenario())
