"""A virtualised event list: renders only the lines on screen, from a bounded ring.

Appending events costs O(events) bookkeeping and one repaint of the visible lines per
UI tick, whatever the number of events held; memory is bounded by the ring's capacity.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cwlogs.cli.display import source_labels
from cwlogs.query import LogEvent
from cwlogs.ui.state import EventBuffer

__all__ = ["LogView", "group_colours"]

# Blues, cyans and magentas: green, yellow and red already mean a level.
_PALETTE: Final = ("cyan", "magenta", "bright_blue", "bright_cyan", "bright_magenta", "blue")
_LEVELS: Final[Mapping[str, tuple[str, Style]]] = {
    "trace": ("TRACE", Style(dim=True)),
    "debug": ("DEBUG", Style(dim=True)),
    "info": ("INFO ", Style(color="green")),
    "notice": ("NOTE ", Style(color="cyan")),
    "warning": ("WARN ", Style(color="yellow", bold=True)),
    "error": ("ERROR", Style(color="red", bold=True)),
    "critical": ("CRIT ", Style(color="bright_red", bold=True, reverse=True)),
}
_TIME_STYLE: Final = Style(dim=True)
_CURSOR: Final = Style(reverse=True)


def group_colours(groups: Sequence[str]) -> dict[str, Style]:
    """A distinct colour per group, stable for a given set of groups."""
    ordered = list(dict.fromkeys(groups))
    if len(ordered) <= len(_PALETTE):
        return {g: Style(color=_PALETTE[i]) for i, g in enumerate(ordered)}
    return {g: Style(color=_PALETTE[zlib.crc32(g.encode()) % len(_PALETTE)]) for g in ordered}


class LogView(ScrollView, can_focus=True):
    """The live event list. Follows the newest event unless paused or scrolled back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "Oldest", show=False),
        Binding("end,G", "newest", "Newest"),
        Binding("space", "pause", "Pause"),
        Binding("enter", "open", "Detail"),
    ]

    DEFAULT_CSS = """
    LogView { height: 1fr; overflow-x: hidden; }
    """

    class CursorMoved(Message):
        """The selected event changed (None: nothing selected)."""

        def __init__(self, view: LogView, event: LogEvent | None) -> None:
            self.view = view
            self.event = event
            super().__init__()

        @property
        def control(self) -> LogView:
            return self.view

    class Opened(Message):
        """Enter (or a double click) on an event."""

        def __init__(self, view: LogView, event: LogEvent) -> None:
            self.view = view
            self.event = event
            super().__init__()

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, buffer: EventBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.cursor = -1
        self.paused = False
        self.pending = 0  # events added while paused
        self._labels: dict[str, str] = {}
        self._colours: dict[str, Style] = {}
        self._label_width = 0

    # ------------------------------------------------------------------ feeding

    def set_groups(self, groups: Sequence[str]) -> None:
        """The groups on screen: each gets a short label and its own colour."""
        self._labels = source_labels(groups) if len(set(groups)) > 1 else {}
        self._label_width = max((len(v) for v in self._labels.values()), default=0)
        self._colours = group_colours(groups)

    def reset(self) -> None:
        """The buffer was cleared or refiltered: start again at the newest event."""
        self.cursor = min(self.cursor, len(self.buffer) - 1)
        self.pending = 0
        self._sync(follow=not self.paused)
        self.refresh()

    def added(self, count: int) -> None:
        """``count`` events entered the view: grow, keep the place, follow if following."""
        evicted = self.buffer.take_evicted()
        if evicted and self.cursor >= 0:
            self.cursor = max(0, self.cursor - evicted)
        if self.paused:
            self.pending += count
            if evicted:
                # The ring dropped lines above: move with the text rather than let it slide.
                self.scroll_to(y=max(0, self.scroll_offset.y - evicted), animate=False)
        self._sync(follow=not self.paused)
        self.refresh()

    def _sync(self, *, follow: bool) -> None:
        self.virtual_size = Size(self.size.width, len(self.buffer))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if not 0 <= index < len(self.buffer):
            return Strip.blank(width, Style())
        strip = Strip(self._segments(self.buffer[index]), None)
        if index == self.cursor:
            strip = strip.apply_style(_CURSOR)
        return strip.crop_extend(0, width, Style())

    def _segments(self, event: LogEvent) -> list[Segment]:
        out = [Segment(event.timestamp.strftime("%H:%M:%S.%f")[:-3] + " ", _TIME_STYLE)]
        if self._labels:
            label = self._labels.get(event.group, event.group).ljust(self._label_width)
            out.append(Segment(label + " ", self._colours.get(event.group) or Style()))
        tag, style = _LEVELS.get(event.level or "", ("     ", Style()))
        out.append(Segment(tag + " ", style))
        text = event.message
        if event.fields is not None:
            found = event.get("message", event.get("msg"))
            if isinstance(found, str):
                text = found
        first = text.strip().split("\n", 1)[0]
        bold = event.level in ("error", "critical")
        # Never a None style: Textual's NO_COLOR filter reads every segment's colour.
        out.append(Segment(first, Style(bold=True) if bold else Style()))
        return out

    # ------------------------------------------------------------------ moving

    @property
    def selected(self) -> LogEvent | None:
        """The event under the cursor."""
        if 0 <= self.cursor < len(self.buffer):
            return self.buffer[self.cursor]
        return None

    def move_to(self, index: int) -> None:
        """Put the cursor on ``index`` (clamped) and keep it on screen."""
        if not len(self.buffer):
            return
        index = max(0, min(index, len(self.buffer) - 1))
        old, self.cursor = self.cursor, index
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        for line in (old, index):
            self.refresh_line(line)
        self.post_message(self.CursorMoved(self, self.selected))

    def action_cursor(self, delta: int) -> None:
        start = self.cursor if self.cursor >= 0 else len(self.buffer)
        if delta < 0 and not self.paused:
            self.paused = True  # reading back: stop the lines moving under the reader
        self.move_to(start + delta)

    def action_page(self, direction: int) -> None:
        if direction < 0:
            self.paused = True
        step = max(1, self.size.height - 1)
        start = self.cursor if self.cursor >= 0 else len(self.buffer) - 1
        self.move_to(start + direction * step)

    def action_first(self) -> None:
        self.paused = True
        self.move_to(0)

    def action_newest(self) -> None:
        """Jump to the newest event and follow again."""
        self.paused = False
        self.pending = 0
        self._sync(follow=True)
        self.move_to(len(self.buffer) - 1)

    def action_pause(self) -> None:
        if self.paused:
            self.action_newest()
        else:
            self.paused = True

    def action_open(self) -> None:
        event = self.selected
        if event is not None:
            self.post_message(self.Opened(self, event))

    def on_click(self, click: Click) -> None:
        index = self.scroll_offset.y + click.y
        if 0 <= index < len(self.buffer):
            self.paused = True
            self.move_to(index)
            if click.chain >= 2:
                self.action_open()
