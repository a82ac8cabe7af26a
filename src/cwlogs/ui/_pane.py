"""What every tab's behaviour shares: the app's common state and the UI-thread plumbing.

:class:`cwlogs.ui.app.CwlogsApp` inherits the tabs' behaviour from subclasses of
:class:`Pane` (``_sources_pane``, ``_query_pane``). They are :class:`textual.app.App`
subclasses, not plain mixins, because Textual collects ``@on`` handlers per class
through the App's metaclass: a plain mixin's handlers would never be called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import TabbedContent

from cwlogs.cli.display import format_time
from cwlogs.timeparse import TimeLike
from cwlogs.ui._source import Source, Target
from cwlogs.ui.state import Pins


def when(ms: int | None) -> str:
    """A timestamp (epoch ms) as a table cell, to the second; ``—`` when unknown.

    >>> when(1714564800123)
    '2024-05-01 12:00:00'
    >>> when(None)
    '—'
    """
    return format_time(ms)[:19].replace("T", " ") if ms else "—"


class Pane(App[None]):
    """The state the tabs share; :class:`cwlogs.ui.app.CwlogsApp` sets it up."""

    source: Source
    targets: list[Target]
    since: TimeLike
    pins: Pins
    ui_thread: int | None
    # Widgets are looked up on the main screen even while the trace or help is on top.
    _main: Screen[Any]

    if TYPE_CHECKING:  # defined by CwlogsApp (the Logs tab)

        def _open(self, targets: Sequence[Target], *, switch: bool = True) -> None: ...

    def _from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the UI thread, unless the app is already closing."""
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except (RuntimeError, NoMatches):  # the app is closing
            pass

    def _tab(self) -> str:
        return str(self._main.query_one(TabbedContent).active)
