"""``cwlogs ui``: sources, streams, live logs, traces and Logs Insights in one terminal.

Network work runs in Textual worker threads through :class:`cwlogs.ui._source.Source`;
the UI thread only moves received events into a bounded ring and repaints what is
visible, a few times a second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Final

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
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

from cwlogs.cli.display import format_bytes, format_time
from cwlogs.errors import CwlogsError
from cwlogs.filterpattern import FilterPatternError
from cwlogs.insights import QueryResult
from cwlogs.query import LogEvent
from cwlogs.timeparse import TimeLike
from cwlogs.ui._source import QueryCancelled, Source, Target, check_pattern, saved_query_names
from cwlogs.ui.logview import LogView
from cwlogs.ui.screens import HelpScreen, TraceScreen
from cwlogs.ui.state import (
    LEVELS,
    EventBuffer,
    Pins,
    detail_text,
    fuzzy_score,
    make_filter,
    state_path,
)

__all__ = ["CwlogsApp"]

_TICK: Final = 0.1  # seconds between moving received events onto the screen
_PAGE: Final = 50  # log groups per DescribeLogGroups page
_MAX_GROUPS_HELD: Final = 5000  # groups kept for fuzzy search before asking for a prefix
_ROWS_SHOWN: Final = 200
_WANT_MATCHES: Final = 20  # fetch more pages while a search finds fewer than this
_FILTER_HERE: Final = 5000  # events re-filtered on the UI thread; more go to a worker

def _when(ms: int | None) -> str:
    return format_time(ms)[:19].replace("T", " ") if ms else "—"


class CwlogsApp(App[None]):
    """The interactive viewer. ``sources`` are (group, stream prefix) pairs to follow."""

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
        self.targets: list[Target] = list(targets)
        self.since = since
        self.buffer = EventBuffer(capacity)
        self.pins = Pins(pins_path or state_path())
        self.min_level = ""
        self._pattern: Callable[[str], bool] | None = None
        self._incoming: deque[LogEvent] = deque()
        self._stop_follow = threading.Event()
        self._follow_error = ""
        # Log groups: an iterator over DescribeLogGroups pages, and what it gave so far.
        self._group_pages: Iterator[dict[str, Any]] | None = None
        self._groups: dict[str, dict[str, Any]] = {}
        self._groups_done = False
        self._pages_lock = threading.Lock()
        self._last_event: dict[str, int | None] = {}
        self._streams_of: str | None = None
        self._query_cancel: threading.Event | None = None
        self._rows_wanted = 0  # rows the user scrolled towards in the Sources table
        self._query_started = 0.0
        self._state_text = ""
        self.ui_thread: int | None = None

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
        # Widgets are looked up on the main screen even while the trace or help is on top.
        self._main = self.screen
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

    # ------------------------------------------------------------------ sources

    def _reload_groups(self) -> None:
        self._group_pages = None
        self._groups = {}
        self._groups_done = False
        self._load_groups()

    @work(thread=True, exclusive=True, group="groups")
    def _load_groups(self) -> None:
        """Fetch pages of log groups while the search finds too few (bounded by what is held)."""
        worker = get_current_worker()
        if self._group_pages is None:
            self._group_pages = self.source.groups()
        pages = self._group_pages
        while not worker.is_cancelled:
            try:
                # A cancelled loader may still be mid-page: one generator, one reader at a time.
                with self._pages_lock:
                    page = list(islice(pages, _PAGE))
            except CwlogsError as err:
                self._from_thread(self.notify, f"listing log groups: {err}", severity="error")
                self._group_pages = None
                return
            try:
                more = self.call_from_thread(self._groups_loaded, page, len(page) < _PAGE)
            except (RuntimeError, NoMatches):  # the app is closing
                return
            if not more:
                return

    def _from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the UI thread, unless the app is already closing."""
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except (RuntimeError, NoMatches):  # the app is closing
            pass

    def _groups_loaded(self, page: list[dict[str, Any]], done: bool) -> bool:
        """Take a page in; whether another page is wanted."""
        for group in page:
            self._groups[str(group["logGroupName"])] = group
        self._groups_done = done
        self._render_groups()
        return self._want_more() and len(self._groups) < _MAX_GROUPS_HELD

    @work(thread=True, exclusive=True, group="last-event")
    def _fetch_last(self, names: list[str]) -> None:
        """Last event times for the rows on screen (DescribeLogGroups does not say)."""
        worker = get_current_worker()
        for name in names:
            if worker.is_cancelled:
                return
            try:
                last = self.source.last_event_ms(name)
            except CwlogsError:
                continue
            self._last_event[name] = last
            self._from_thread(self._set_last, name, last)

    def _want_more(self) -> bool:
        wanted = max(_WANT_MATCHES, self._rows_wanted)
        return not self._groups_done and len(self._matching_groups()) < wanted

    @on(DataTable.RowHighlighted, "#groups")
    def _near_the_end(self, message: DataTable.RowHighlighted) -> None:
        """Scrolling towards the last rows loads the next page (never all at once)."""
        table = message.data_table
        if self._groups_done or message.cursor_row < table.row_count - 5:
            return
        self._rows_wanted = table.row_count + _PAGE
        self._load_groups()

    def _matching_groups(self) -> list[str]:
        query = self._main.query_one("#group-search", Input).value
        names = list(dict.fromkeys([*self.pins.names, *self._groups]))
        if not query.strip():
            return names
        scored = [(fuzzy_score(query, name), name) for name in names]
        ranked = sorted(((s, n) for s, n in scored if s is not None), key=lambda x: -x[0])
        return [name for _, name in ranked]

    def _render_groups(self) -> None:
        table = self._main.query_one("#groups", DataTable)
        table.clear()
        shown = self._matching_groups()[:_ROWS_SHOWN]
        for name in shown:
            info = self._groups.get(name, {})
            retention = info.get("retentionInDays")
            table.add_row(
                "★" if name in self.pins else " ",
                name,
                format_bytes(info.get("storedBytes")) if info else "",
                (f"{retention} d" if retention else "never") if info else "",
                _when(self._last_event.get(name)),
                key=name,
            )
        unknown = [n for n in shown[:30] if n in self._groups and n not in self._last_event]
        if unknown:
            self._fetch_last(unknown)

    def _set_last(self, name: str, last: int | None) -> None:
        table = self._main.query_one("#groups", DataTable)
        if name in table.rows:
            table.update_cell(name, "last", _when(last), update_width=True)

    @on(Input.Changed, "#group-search")
    def _search_changed(self) -> None:
        self._render_groups()
        if self._want_more():
            self._load_groups()

    @on(Input.Submitted, "#group-search")
    def _search_submitted(self) -> None:
        matches = self._matching_groups()
        if matches:
            self._open([(matches[0], None)])

    @on(DataTable.RowSelected, "#groups")
    def _group_selected(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value:
            self._open([(message.row_key.value, None)])

    def _highlighted_group(self) -> str | None:
        table = self._main.query_one("#groups", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return key.value

    def action_pin(self) -> None:
        if self._tab() not in ("sources", "logs"):
            return
        name = self._highlighted_group() if self._tab() == "sources" else None
        if name is None and self.targets:
            name = self.targets[0][0]
        if name is None:
            return
        try:
            pinned = self.pins.toggle(name)
        except ValueError as err:
            self.notify(str(err), severity="warning")
            return
        except OSError as err:
            self.notify(f"could not save pins: {err}", severity="error")
            return
        self.notify(f"{'pinned' if pinned else 'unpinned'} {name}")
        self._render_groups()

    def action_add_source(self) -> None:
        if self._tab() != "sources":  # the Sources table is hidden: nothing is highlighted
            return
        name = self._highlighted_group()
        if name and all(g != name for g, _ in self.targets):
            self._open([*self.targets, (name, None)], switch=False)
            self.notify(f"following {len(self.targets)} log groups")

    # ------------------------------------------------------------------ streams

    def _load_streams(self, group: str) -> None:
        self._streams_of = group
        self._main.query_one("#stream-table", DataTable).clear()
        self._fetch_streams(group, self._main.query_one("#stream-prefix", Input).value)

    @work(thread=True, exclusive=True, group="streams")
    def _fetch_streams(self, group: str, prefix: str) -> None:
        try:
            found = self.source.streams(group, prefix)
        except CwlogsError as err:
            self._from_thread(self.notify, f"listing streams: {err}", severity="error")
            return
        self._from_thread(self._streams_loaded, group, found)

    def _streams_loaded(self, group: str, streams: list[dict[str, Any]]) -> None:
        table = self._main.query_one("#stream-table", DataTable)
        table.clear()
        for s in streams:
            name = str(s["logStreamName"])
            table.add_row(
                name, _when(s.get("lastEventTimestamp")), _when(s.get("firstEventTimestamp")),
                key=name,
            )  # fmt: skip
        table.border_title = group

    @on(Input.Submitted, "#stream-prefix")
    def _prefix_submitted(self, message: Input.Submitted) -> None:
        if self._streams_of:
            self._open([(self._streams_of, message.value or None)])

    @on(Input.Changed, "#stream-prefix")
    def _prefix_changed(self, message: Input.Changed) -> None:
        if self._streams_of:
            self._fetch_streams(self._streams_of, message.value)

    @on(DataTable.RowSelected, "#stream-table")
    def _stream_selected(self, message: DataTable.RowSelected) -> None:
        if self._streams_of and message.row_key.value:
            self._open([(self._streams_of, message.row_key.value)])

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

    # ------------------------------------------------------------------ trace

    def action_trace(self) -> None:
        event = self._main.query_one("#log", LogView).selected
        if event is None:
            self.notify("select an event first (↑/↓ or a click)", severity="warning")
            return
        if not (event.trace_id or event.request_id):
            self.notify("this event has no trace_id or request_id", severity="warning")
            return
        self.notify("looking up the trace…")
        self._fetch_trace(event, [g for g, _ in self.targets] or [event.group])

    @work(thread=True, exclusive=True, group="trace")
    def _fetch_trace(self, event: LogEvent, groups: list[str]) -> None:
        try:
            key, value, events = self.source.trace(groups, event, since=self.since)
        except CwlogsError as err:
            self._from_thread(self.notify, f"trace: {err}", severity="error")
            return
        title = f"{key} {value}: {len(events)} event(s) in {len(groups)} log group(s) — Esc back"
        self._from_thread(self.push_screen, TraceScreen(title, events, groups))

    # ------------------------------------------------------------------ query

    @on(Input.Submitted, "#query-text")
    def _query_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        groups = list(dict.fromkeys(g for g, _ in self.targets))
        if not groups:
            self._query_status("open a source first: the query runs over the sources in view")
            return
        if self._query_cancel is not None:
            self._query_cancel.set()
        self._query_cancel = threading.Event()
        self._query_started = time.monotonic()
        self._query_status(f"starting query on {len(groups)} log group(s)…")
        self._run_query(groups, text, self._query_cancel)

    @work(thread=True, exclusive=True, group="query")
    def _run_query(self, groups: list[str], text: str, cancel: threading.Event) -> None:
        def progress(status: str, stats: Mapping[str, float]) -> None:
            scanned = stats.get("recordsScanned")
            records = f", {int(scanned)} records scanned" if scanned is not None else ""
            elapsed = time.monotonic() - self._query_started
            text = f"{status.lower()}{records}… {elapsed:.0f}s (Esc cancels)"
            self._from_thread(self._query_status, text)

        try:
            result = self.source.query(
                groups, text, since=self.since, progress=progress, cancel=cancel
            )
        except QueryCancelled:
            self._from_thread(self._query_ended, "cancelled")
            return
        except CwlogsError as err:
            self._from_thread(self._query_ended, f"query failed: {err}")
            return
        self._from_thread(self._query_done, result)

    def _query_ended(self, text: str) -> None:
        """A query that produced no results: Esc must not wait for it, old rows go."""
        self._query_cancel = None
        self._main.query_one("#results", DataTable).clear(columns=True)
        self._query_status(text)

    def _query_status(self, text: str) -> None:
        self._main.query_one("#query-status", Static).update(Text(text))

    def _query_done(self, result: QueryResult) -> None:
        self._query_cancel = None
        table = self._main.query_one("#results", DataTable)
        table.clear(columns=True)
        columns = list(dict.fromkeys(key for row in result.rows for key in row))
        for column in columns:
            table.add_column(column, key=column)
        for row in result.rows:
            cells = [row.get(c, "") for c in columns]
            cells = [
                _when(int(v)) if c in ("@timestamp", "@ingestionTime") and v.isdigit() else v
                for c, v in zip(columns, cells, strict=True)
            ]
            table.add_row(*[escape(c) for c in cells])
        stats = result.statistics
        scanned = stats.get("recordsScanned")
        extra = f", {int(scanned)} records scanned" if scanned is not None else ""
        self._query_status(f"{result.status.lower()}: {len(result.rows)} row(s){extra}")

    # ------------------------------------------------------------------ global keys

    def _tab(self) -> str:
        return str(self._main.query_one(TabbedContent).active)

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
