"""The screens on top of the main one (help, trace) and the log-to-notification bridge."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Final, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from cwlogs.query import LogEvent
from cwlogs.ui.logview import LogView
from cwlogs.ui.state import EventBuffer, detail_text

if TYPE_CHECKING:
    from cwlogs.ui.app import CwlogsApp

__all__ = ["KEYS", "HelpScreen", "NotifyHandler", "TraceScreen"]

KEYS: Final[tuple[tuple[str, str], ...]] = (
    ("↑ ↓ PgUp PgDn Home", "move; reading back pauses the follow"),
    ("Enter", "open the source / narrow to the stream / show the event's detail"),
    ("Tab, Shift+Tab", "next / previous pane"),
    ("1 2 3 4", "Sources, Streams, Logs, Query tab"),
    ("/", "filter the logs (CloudWatch filter-pattern syntax)"),
    ("l", "minimum level: all, debug, info, warning, error"),
    ("Space", "pause / resume the follow"),
    ("End, G", "jump to the newest event and follow"),
    ("p", "pin / unpin the highlighted log group (up to 5)"),
    ("a", "add the highlighted log group to the logs in view"),
    ("t", "open the trace of the selected event (trace_id, else request_id)"),
    ("Ctrl+R", "refresh: reload groups and streams, restart the follow"),
    ("Esc", "close the detail, trace or help; cancel a running query"),
    ("?", "this help"),
    ("q", "quit (Esc first when typing in a box; Ctrl+Q anywhere)"),
)


class HelpScreen(ModalScreen[None]):
    """The key table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close")
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 78; height: auto; max-height: 22; border: round $accent;
                            background: $panel; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(show_cursor=False, id="help-keys")
        table.add_columns("key", "does")
        table.add_rows(KEYS)
        with Vertical():
            yield Static("[b]cwlogs ui[/b] — keys (Esc closes)")
            yield table


class TraceScreen(Screen[None]):
    """Every event of one trace across the sources, merged by time."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,t", "app.pop_screen", "Back")]

    def __init__(self, title: str, events: Sequence[LogEvent], groups: Sequence[str]) -> None:
        super().__init__()
        self._title = title
        self.buffer = EventBuffer(max(1, len(events)))
        self.buffer.extend(events)
        self._groups = list(groups)

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="trace-title")
        view = LogView(self.buffer, id="trace-log")
        view.set_groups(self._groups)
        view.paused = True
        yield view
        with VerticalScroll(id="trace-detail-pane"):
            yield Static(id="trace-detail")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(LogView)
        view.reset()
        view.move_to(0)
        view.focus()

    @on(LogView.CursorMoved)
    def _moved(self, message: LogView.CursorMoved) -> None:
        detail = detail_text(message.event) if message.event else ""
        self.query_one("#trace-detail", Static).update(Text(detail))


class NotifyHandler(logging.Handler):
    """Shows log records as the app's notifications, from any thread."""

    def __init__(self, app: CwlogsApp, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            severity: Literal["warning", "error"] = (
                "error" if record.levelno >= logging.ERROR else "warning"
            )
            if threading.get_ident() == self.app.ui_thread:
                self.app.notify(text, severity=severity)
            else:
                self.app.call_from_thread(self.app.notify, text, severity=severity)
        except RecursionError:
            raise
        except Exception:  # not running (yet, or any more): nowhere to show it
            pass
