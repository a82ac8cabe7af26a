"""``cwlogs ui``: sources, streams, live logs, traces and Logs Insights in one terminal.

Network work runs in Textual worker threads through :class:`cwlogs.ui._source.Source`;
the UI thread only moves received events into a bounded ring and repaints what is
visible, a few times a second.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, Final

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, get_current_worker

from cwlogs.errors import CwlogsError
from cwlogs.filterpattern import FilterPatternError
from cwlogs.query import LogEvent
from cwlogs.timeparse import TimeLike
from cwlogs.ui._query_pane import QueryPane
from cwlogs.ui._source import Source, Target, check_pattern, saved_query_names
from cwlogs.ui._sources_pane import SourcesPane
from cwlogs.ui.logview import LogView
from cwlogs.ui.screens import HelpScreen
from cwlogs.ui.state import (
    LEVELS,
    EventBuffer,
    Pins,
    detail_text,
    make_filter,
    state_path,
)

__all__ = ["CwlogsApp"]

_TICK: Final = 0.1  # seconds between moving received events onto the screen
_FILTER_HERE: Final = 5000  # events re-filtered on the UI thread; more go to a worker


class CwlogsApp(SourcesPane, QueryPane):
    """The interactive viewer. ``sources`` are (group, stream prefix) pairs to follow.

    The Sources/Streams and Query tabs' behaviour comes from :class:`SourcesPane` and
    :class:`QueryPane`; the layout, the Logs tab and the keys that span tabs live here.
    """

    TITLE = "cwlogs"
    CSS = """
    #tabs { height: 1fr; }
    #state { height: 1; background: $boost; color: $text; padding: 0 1; }
    Input { height: 3; }
    #filter-bar { height: 3; }
    #filter { width: 1fr; }
    #level { width: 14; content-align: center middle; height: 3; }
    #filter-error { color: $error; height: auto; display: none; }
    #filter-error.shown { display: block; }
    #detail-pane { height: 45%; border-top: solid $accent; display: none; }
    #detail-pane.shown { display: block; }
    #trace-log { height: 30%; }
    #trace-detail-pane { height: 1fr; border-top: solid $accent; }
    #trace-title { height: 1; background: $boost; padding: 0 1; }
    #query-status { height: auto; padding: 0 1; }
    DataTable { height: 1fr; }
    TabPane { padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("slash", "filter", "Filter"),
        Binding("p", "pin", "Pin"),
        Binding("t", "trace", "Trace"),
        Binding("l", "level", "Level"),
        Binding("ctrl+r", "refresh", "Refresh"),
        Binding("a", "add_source", "Add", show=False),
        Binding("escape", "escape", "Close", show=False),
        Binding("down", "into_list", "List", show=False),
        Binding("1", "tab('sources')", "Sources", show=False),
        Binding("2", "tab('streams')", "Streams", show=False),
        Binding("3", "tab('logs')", "Logs", show=False),
        Binding("4", "tab('query')", "Query", show=False),
    ]

    def __init__(
        self,
        source: Source,
        *,
        targets: Sequence[Target] = (),
        since: TimeLike = "15m",
        capacity: int = 100_000,
        pins_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.targets = list(targets)
        self.since = since
        self.buffer = EventBuffer(capacity)
        self.pins = Pins(pins_path or state_path())
        self.min_level = ""
        self._pattern: Callable[[str], bool] | None = None
        self._incoming: deque[LogEvent] = deque()
        self._stop_follow = threading.Event()
        self._follow_error = ""
        # The Sources/Streams tabs' state (see SourcesPane).
        self._group_pages = None
        self._groups = {}
        self._groups_done = False
        self._pages_lock = threading.Lock()
        self._last_event = {}
        self._streams_of = None
        self._rows_wanted = 0
        # The Query tab's state (see QueryPane).
        self._query_cancel = None
        self._query_started = 0.0
        self._state_text = ""
        self.ui_thread = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="logs" if self.targets else "sources", id="tabs"):
            with TabPane("Sources", id="sources"):
                yield Input(placeholder="fuzzy search log groups; Enter opens", id="group-search")
                yield DataTable(cursor_type="row", id="groups")
            with TabPane("Streams", id="streams"):
                yield Input(placeholder="stream prefix; Enter narrows to it", id="stream-prefix")
                yield DataTable(cursor_type="row", id="stream-table")
            with TabPane("Logs", id="logs"):
                with Horizontal(id="filter-bar"):
                    yield Input(
                        placeholder="filter: ERROR, { $.status >= 500 }, [ip, user, ...]",
                        id="filter",
                    )
                    yield Static("level: all", id="level")
                yield Static(id="filter-error")
                yield LogView(self.buffer, id="log")
                with VerticalScroll(id="detail-pane"):
                    yield Static(id="detail")
            with TabPane("Query", id="query"):
                names = ", ".join(saved_query_names())
                yield Input(placeholder=f"Logs Insights query, or saved: {names}", id="query-text")
                yield Static("Enter runs the query over the sources in view; Esc cancels.",
                             id="query-status")  # fmt: skip
                yield DataTable(id="results")
        yield Static(id="state")
        yield Footer()

    def on_mount(self) -> None:
        self._main = self.screen  # the main screen, even while the trace or help is on top
        self.ui_thread = threading.get_ident()
        # Tab moves between the panes' own widgets; on the tab strip, letters typed for a
        # search would fire commands (q quits). The strip stays clickable and 1-4 switch.
        for strip in self._main.query(Tabs):
            strip.can_focus = False
        groups = self._main.query_one("#groups", DataTable)
        groups.add_column("★", key="pin", width=1)
        groups.add_column("log group", key="name")
        groups.add_column("stored", key="stored")
        groups.add_column("retention", key="retention")
        groups.add_column("last event", key="last")
        streams = self._main.query_one("#stream-table", DataTable)
        streams.add_column("log stream", key="name")
        streams.add_column("last event", key="last")
        streams.add_column("first event", key="first")
        if self.pins.error:
            self.notify(self.pins.error, severity="warning")
        self.set_interval(_TICK, self._tick(self._drain))
        # Every tick: cheap, and repainted only when the text changes.
        self.set_interval(_TICK, self._tick(self._show_state))
        self._reload_groups()
        if self.targets:
            self._open(self.targets)
        else:
            self._main.query_one("#group-search", Input).focus()
        self._show_state()

    @staticmethod
    def _tick(callback: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                callback()
            except NoMatches:  # a tick that lands while the app closes: nothing to draw
                pass

        return run

    def on_unmount(self) -> None:
        self._stop_follow.set()
        if self._query_cancel is not None:
            self._query_cancel.set()

    # ------------------------------------------------------------------ state bar

    def _show_state(self) -> None:
        view = self._main.query_one("#log", LogView)
        names = ", ".join(g + (f":{p}" if p else "") for g, p in self.targets) or "no source"
        if not self.targets:
            follow = "idle"
        elif view.paused:
            follow = f"paused (+{view.pending} new)" if view.pending else "paused"
        else:
            follow = "following"
        shown = f"{len(self.buffer)}/{self.buffer.received}"
        health = self._follow_error or self.source.health.text()
        # Most urgent first: a narrow terminal cuts the end.
        text = f"{follow} │ {health} │ {shown} ev │ since {self.since} │ {names}"
        if text != self._state_text:
            self._state_text = text
            bar = self._main.query_one("#state", Static)
            bar.update(Text(text, no_wrap=True, overflow="ellipsis"))

    # ------------------------------------------------------------------ logs

    def _open(self, targets: Sequence[Target], *, switch: bool = True) -> None:
        """Follow ``targets`` from ``since``: a fresh buffer and a fresh follow worker."""
        self.targets = list(targets)
        self.buffer.clear()
        view = self._main.query_one("#log", LogView)
        view.set_groups([g for g, _ in self.targets])
        view.cursor = -1
        view.paused = False
        view.reset()
        self._hide_detail()
        self._start_follow()
        group = self.targets[0][0]
        if group != self._streams_of:
            self._load_streams(group)
        if switch:
            self._main.query_one(TabbedContent).active = "logs"
            view.focus()
        self._show_state()

    def _start_follow(self) -> None:
        self._stop_follow.set()
        self._stop_follow = threading.Event()
        # Each follow gets its own inbox: a stopping one cannot leak into the next.
        self._incoming = deque()
        self._follow_error = ""
        self._follow(list(self.targets), self._stop_follow, self._incoming)

    @work(thread=True, group="follow")
    def _follow(
        self, targets: list[Target], stop: threading.Event, inbox: deque[LogEvent]
    ) -> None:
        def failed(err: CwlogsError) -> None:
            self._follow_error = f"follow failed: {err}; retrying"

        try:
            for event in self.source.follow(targets, since=self.since, stop=stop, on_error=failed):
                inbox.append(event)
                self._follow_error = ""
        except Exception as err:  # the follow must end visibly, never silently
            self._follow_error = f"follow stopped: {err}"

    def _drain(self) -> None:
        """Move what the follow received onto the screen: one repaint per tick, not per event."""
        inbox = self._incoming
        if not inbox:
            return
        batch = [inbox.popleft() for _ in range(len(inbox))]
        shown = self.buffer.extend(batch)
        view = self._main.query_one("#log", LogView)
        view.added(shown)

    def _apply_filter(self) -> None:
        keep = make_filter(self._pattern, self.min_level)
        if len(self.buffer.all) <= _FILTER_HERE:
            self.buffer.set_filter(keep)
            self._filtered()
            return
        # 100k events take a few hundred ms to re-check: not on the UI thread, and not
        # once per keystroke (exclusive: a newer filter cancels the older one).
        events, received = self.buffer.snapshot()
        self._refilter(keep, events, received)

    @work(thread=True, exclusive=True, group="filter")
    def _refilter(
        self, keep: Callable[[LogEvent], bool] | None, events: list[LogEvent], received: int
    ) -> None:
        worker = get_current_worker()
        kept = []
        for i, event in enumerate(events):
            if i % 4096 == 0 and worker.is_cancelled:
                return
            if keep is None or keep(event):
                kept.append(event)
        self._from_thread(self._install_filter, worker, keep, kept, received)

    def _install_filter(
        self,
        worker: Worker[None],
        keep: Callable[[LogEvent], bool] | None,
        kept: list[LogEvent],
        received: int,
    ) -> None:
        if worker.is_cancelled:
            return
        self.buffer.set_filter(keep, kept, received)
        self._filtered()

    def _filtered(self) -> None:
        self._main.query_one("#log", LogView).reset()
        self._show_state()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        error = self._main.query_one("#filter-error", Static)
        try:
            compiled = check_pattern(message.value)
        except FilterPatternError as exc:
            # Checked locally as the user types: show where it breaks, keep the last good one.
            caret = " " * (exc.position + 2) + "^ " + exc.reason
            error.update(Text(f"  {exc.pattern}\n{caret}"))
            error.add_class("shown")
            return
        error.remove_class("shown")
        self._pattern = compiled.matches if compiled is not None else None
        self._apply_filter()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._main.query_one("#log", LogView).focus()

    def action_filter(self) -> None:
        self._main.query_one(TabbedContent).active = "logs"
        self._main.query_one("#filter", Input).focus()

    def action_level(self) -> None:
        self.min_level = LEVELS[(LEVELS.index(self.min_level) + 1) % len(LEVELS)]
        self._main.query_one("#level", Static).update(f"level: {self.min_level or 'all'}")
        self._apply_filter()

    @on(LogView.Opened, "#log")
    def _event_opened(self, message: LogView.Opened) -> None:
        pane = self._main.query_one("#detail-pane")
        if pane.has_class("shown"):
            self._hide_detail()
        else:
            pane.add_class("shown")
            self._main.query_one("#detail", Static).update(Text(detail_text(message.event)))

    @on(LogView.CursorMoved, "#log")
    def _cursor_moved(self, message: LogView.CursorMoved) -> None:
        if message.event is not None and self._main.query_one("#detail-pane").has_class("shown"):
            self._main.query_one("#detail", Static).update(Text(detail_text(message.event)))

    def _hide_detail(self) -> None:
        self._main.query_one("#detail-pane").remove_class("shown")

    # ------------------------------------------------------------------ global keys

    def action_tab(self, name: str) -> None:
        self._main.query_one(TabbedContent).active = name
        focus = {"sources": "#groups", "streams": "#stream-table", "logs": "#log",
                 "query": "#query-text"}[name]  # fmt: skip
        self._main.query_one(focus).focus()

    def action_into_list(self) -> None:
        """Down from a search box goes into the list under it."""
        below = {"group-search": "#groups", "stream-prefix": "#stream-table",
                 "filter": "#log", "query-text": "#results"}  # fmt: skip
        focused = self.focused
        if focused is not None and focused.id in below:
            self._main.query_one(below[focused.id]).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_escape(self) -> None:
        if self._query_cancel is not None and self._tab() == "query":
            self._query_cancel.set()
            self._query_status("cancelling…")
            return
        if self._main.query_one("#detail-pane").has_class("shown"):
            self._hide_detail()
            return
        if isinstance(self.focused, Input):
            self._main.query_one("#log" if self._tab() == "logs" else "#groups").focus()

    def action_refresh(self) -> None:
        self._last_event.clear()
        self._reload_groups()
        if self._streams_of:
            self._load_streams(self._streams_of)
        if self.targets:
            self._open(self.targets, switch=False)
        self.notify("refreshed")
