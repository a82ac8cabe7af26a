"""The Query tab and the trace view: Logs Insights queries and trace lookups, in workers.

A running query reports progress to the status line and stops when Esc sets its
cancel event; a trace opens :class:`cwlogs.ui.screens.TraceScreen` over the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.widgets import DataTable, Input, Static

from cwlogs.errors import CwlogsError
from cwlogs.insights import QueryResult
from cwlogs.query import LogEvent
from cwlogs.ui._pane import Pane, when
from cwlogs.ui._source import QueryCancelled
from cwlogs.ui.logview import LogView
from cwlogs.ui.screens import TraceScreen


class QueryPane(Pane):
    """Behaviour of the Query tab and of ``t`` (trace) on the Logs tab."""

    _query_cancel: threading.Event | None
    _query_started: float

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
                when(int(v)) if c in ("@timestamp", "@ingestionTime") and v.isdigit() else v
                for c, v in zip(columns, cells, strict=True)
            ]
            table.add_row(*[escape(c) for c in cells])
        stats = result.statistics
        scanned = stats.get("recordsScanned")
        extra = f", {int(scanned)} records scanned" if scanned is not None else ""
        self._query_status(f"{result.status.lower()}: {len(result.rows)} row(s){extra}")
