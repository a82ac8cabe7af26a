"""The UI's state that needs no terminal: event ring, fuzzy match, pins, event text.

Pure and synchronous, so it is tested and benchmarked without Textual.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

import orjson

from cwlogs.cli.sources import user_config_path
from cwlogs.query import LogEvent

__all__ = [
    "LEVELS",
    "MAX_PINS",
    "EventBuffer",
    "Pins",
    "Ring",
    "detail_text",
    "fuzzy_score",
    "level_rank",
    "state_path",
]

#: Most pinned favourites kept.
MAX_PINS: Final = 5
#: Minimum-level filter steps, lowest first ("" shows everything, events without a level too).
LEVELS: Final = ("", "debug", "info", "warning", "error")
_RANK: Final = {"trace": 0, "debug": 1, "info": 2, "notice": 2, "warning": 3, "error": 4,
                "critical": 5}  # fmt: skip
# Fields that hold a stack trace: shown whole, as text, under the JSON.
_TRACE_KEYS: Final = ("exception", "exc_info", "stack", "stack_trace", "traceback", "stacktrace")
_WORD_STARTS: Final = "/-_.: "
# How far back a late event is moved to its place; further than this it is shown where
# it arrived (a ring of 100k events must not be shifted per event).
_MAX_WALK: Final = 10_000

T = TypeVar("T")


class Ring(Generic[T]):
    """A fixed-capacity sequence: appending past capacity evicts the oldest; O(1) indexing."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: list[T] = []
        self._start = 0

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> T:
        size = len(self._items)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return self._items[(self._start + index) % size]

    def __iter__(self) -> Any:
        size = len(self._items)
        return (self._items[(self._start + i) % size] for i in range(size))

    def append(self, item: T) -> bool:
        """Add ``item``; True when that evicted the oldest."""
        if len(self._items) < self.capacity:
            self._items.append(item)
            return False
        self._items[self._start] = item
        self._start = (self._start + 1) % self.capacity
        return True

    def settle_last(self, key: Callable[[T], Any], max_walk: int) -> None:
        """Move the newest item back past those with a larger ``key`` (stable, bounded walk)."""
        size = len(self._items)
        items, start = self._items, self._start
        i = size - 1
        item = items[(start + i) % size]
        k = key(item)
        stop = max(0, i - max_walk)
        while i > stop and key(items[(start + i - 1) % size]) > k:
            items[(start + i) % size] = items[(start + i - 1) % size]
            i -= 1
        items[(start + i) % size] = item

    def clear(self) -> None:
        self._items = []
        self._start = 0


def _timestamp(event: LogEvent) -> int:
    return event.timestamp_ms


def level_rank(level: str | None) -> int:
    """Order of a level for the minimum-level filter; -1 for none or unknown."""
    return _RANK.get(level or "", -1)


class EventBuffer:
    """The events in view: every event received (bounded), and those the filter keeps.

    Both are rings of ``capacity`` events, so memory stays bounded however long the
    follow runs; ``evicted`` counts the events the view let go of since the last
    :meth:`take_evicted`, so a paused viewer can keep its place.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.all: Ring[LogEvent] = Ring(capacity)
        self.view: Ring[LogEvent] = Ring(capacity)
        self.received = 0
        self._newest = 0
        self._keep: Callable[[LogEvent], bool] | None = None
        self._evicted = 0

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, index: int) -> LogEvent:
        return self.view[index]

    def extend(self, events: Iterable[LogEvent]) -> int:
        """Add events in time order; returns how many the filter let into the view.

        An event older than the newest held (a late poll, another group's slower page)
        is moved back into place, so groups stay interleaved by time.
        """
        keep = self._keep
        shown = 0
        newest = self._newest
        for event in events:
            ts = event.timestamp_ms
            late = ts < newest
            newest = max(newest, ts)
            self.all.append(event)
            if late:
                self.all.settle_last(_timestamp, _MAX_WALK)
            self.received += 1
            if keep is None or keep(event):
                shown += 1
                if self.view.append(event):
                    self._evicted += 1
                if late:
                    self.view.settle_last(_timestamp, _MAX_WALK)
        self._newest = newest
        return shown

    def set_filter(
        self,
        keep: Callable[[LogEvent], bool] | None,
        kept: Sequence[LogEvent] | None = None,
        checked: int | None = None,
    ) -> None:
        """Show only the events ``keep`` accepts (None: all).

        Re-checks every event held, unless ``kept`` gives the result of checking the
        first ``checked`` events received (:meth:`snapshot`, done off the UI thread);
        then only the events received since are checked here.
        """
        self._keep = keep
        self.view.clear()
        self._evicted = 0
        if kept is None or checked is None:
            candidates: Iterable[LogEvent] = self.all
        else:
            for event in kept:
                self.view.append(event)
            late = min(len(self.all), self.received - checked)
            candidates = [self.all[i] for i in range(len(self.all) - late, len(self.all))]
        for event in candidates:
            if keep is None or keep(event):
                self.view.append(event)
        self._evicted = 0

    def snapshot(self) -> tuple[list[LogEvent], int]:
        """The events held, and how many had been received, to filter elsewhere."""
        return list(self.all), self.received

    def clear(self) -> None:
        self.all.clear()
        self.view.clear()
        self.received = 0  # a new source: its counts start again
        self._evicted = 0
        self._newest = 0

    def take_evicted(self) -> int:
        """Events dropped from the front of the view since the last call."""
        count, self._evicted = self._evicted, 0
        return count


def make_filter(
    matches: Callable[[str], bool] | None, min_level: str
) -> Callable[[LogEvent], bool] | None:
    """The view's predicate from a compiled pattern's ``matches`` and a minimum level."""
    floor = level_rank(min_level) if min_level else None
    if matches is None and floor is None:
        return None

    def keep(event: LogEvent) -> bool:
        if floor is not None and level_rank(event.level) < floor:
            return False
        return matches is None or matches(event.message)

    return keep


def fuzzy_score(query: str, text: str) -> int | None:
    """How well ``query``'s characters appear in order in ``text``; None if they do not.

    Consecutive characters, word starts (after ``/``, ``-``, ``_``, ``.``) and a plain
    substring score higher, so ``"shapi"`` ranks ``/shop/api`` above ``/shop/mail/pie``.

    >>> fuzzy_score("spi", "/shop/prod/api") is not None, fuzzy_score("x", "/shop")
    (True, None)
    """
    q = query.lower().strip()
    if not q:
        return 0
    t = text.lower()
    score = 0
    pos = 0
    previous = -2
    for ch in q:
        found = t.find(ch, pos)
        if found < 0:
            return None
        score += 1
        if found == previous + 1:
            score += 4
        if found == 0 or t[found - 1] in _WORD_STARTS:
            score += 3
        previous = found
        pos = found + 1
    if q in t:
        score += 10 + (5 if t.endswith(q) else 0)
    return score * 100 - len(t)


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the UI keeps its state: ``ui.json`` next to the user's cwlogs config file.

    Follows :func:`cwlogs.cli.sources.user_config_path`, so ``$XDG_CONFIG_HOME`` and
    ``$CWLOGS_CONFIG`` move it too.
    """
    return user_config_path(environ).parent / "ui.json"


class Pins:
    """Up to :data:`MAX_PINS` favourite log groups, saved in :func:`state_path`.

    A missing or unreadable file means no pins (``error`` says why), never a crash.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: list[str] = []
        self.error: str | None = None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pins = data.get("pins", []) if isinstance(data, dict) else []
            self.names = [p for p in pins if isinstance(p, str)][:MAX_PINS]
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.error = f"could not read pins from {path}: {exc}"

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def toggle(self, name: str) -> bool:
        """Pin or unpin ``name`` and save; returns whether it is now pinned.

        Raises ValueError when :data:`MAX_PINS` are already pinned, OSError if saving fails.
        """
        if name in self.names:
            self.names.remove(name)
        elif len(self.names) >= MAX_PINS:
            raise ValueError(f"at most {MAX_PINS} pins; unpin one first")
        else:
            self.names.append(name)
        self.save()
        return name in self.names

    def save(self) -> None:
        """Write the pins atomically (a crash mid-write leaves the old file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ui-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"pins": self.names}, handle, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _trace_text(value: Any) -> str:
    if isinstance(value, Mapping):
        stack = value.get("stack")
        if isinstance(stack, str) and stack:
            return stack.rstrip("\n")
        return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode()
    if isinstance(value, list):
        return "\n".join(str(item).rstrip("\n") for item in value)
    return str(value).rstrip("\n")


def detail_text(event: LogEvent) -> str:
    """The selected event in full: where it came from, its JSON indented, its traceback whole."""
    head = f"{event.timestamp.isoformat()}  {event.group}  {event.stream}"
    if event.fields is None:
        return f"{head}\n\n{event.message.rstrip()}"
    fields = dict(event.fields)
    traces = [(key, fields.pop(key)) for key in _TRACE_KEYS if key in fields]
    body = orjson.dumps(fields, default=str, option=orjson.OPT_INDENT_2).decode()
    parts = [head, "", body]
    for key, value in traces:
        parts += ["", f"{key}:", _trace_text(value)]
    return "\n".join(parts)
