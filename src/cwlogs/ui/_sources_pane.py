"""The Sources and Streams tabs: log groups loaded page by page, fuzzy search, pins, streams.

Listing runs in worker threads; a page is fetched only while the search finds too few
rows or the user scrolls towards the end, never the whole account at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import islice
from typing import Any, Final

from textual import on, work
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input
from textual.worker import get_current_worker

from cwlogs.cli.display import format_bytes
from cwlogs.errors import CwlogsError
from cwlogs.ui._pane import Pane, when
from cwlogs.ui.state import fuzzy_score

_PAGE: Final = 50  # log groups per DescribeLogGroups page
_MAX_GROUPS_HELD: Final = 5000  # groups kept for fuzzy search before asking for a prefix
_ROWS_SHOWN: Final = 200
_WANT_MATCHES: Final = 20  # fetch more pages while a search finds fewer than this


class SourcesPane(Pane):
    """Behaviour of the Sources and Streams tabs (their widgets are laid out by the app)."""

    # Log groups: an iterator over DescribeLogGroups pages, and what it gave so far.
    _group_pages: Iterator[dict[str, Any]] | None
    _groups: dict[str, dict[str, Any]]
    _groups_done: bool
    _pages_lock: threading.Lock
    _last_event: dict[str, int | None]
    _streams_of: str | None
    _rows_wanted: int  # rows the user scrolled towards in the Sources table

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
                when(self._last_event.get(name)),
                key=name,
            )
        unknown = [n for n in shown[:30] if n in self._groups and n not in self._last_event]
        if unknown:
            self._fetch_last(unknown)

    def _set_last(self, name: str, last: int | None) -> None:
        table = self._main.query_one("#groups", DataTable)
        if name in table.rows:
            table.update_cell(name, "last", when(last), update_width=True)

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
                name, when(s.get("lastEventTimestamp")), when(s.get("firstEventTimestamp")),
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
