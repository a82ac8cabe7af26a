"""Terminal display: log events as pretty text (colours, flattened JSON), NDJSON or raw;
aligned tables, times, byte counts, colour and a progress line.

Pure presentation: nothing here talks to AWS, decides which events to show, or writes
to a stream except :class:`Progress`. The command line prints through
``cwlogs.cli._output.Output``, which builds one :class:`EventRenderer` per run; the UI
(``cwlogs.ui``) uses the value formatters. Not to be confused with
:func:`cwlogs.formatting.render`, which encodes events for the wire.

One concern, 600-odd lines: the event layout, the table fitting and the cell-width
arithmetic they share would only be harder to follow split apart.

>>> from cwlogs.query import LogEvent
>>> ev = LogEvent.from_message('{"level": "info", "message": "paid", "order": 42}', 0, "/shop/api")
>>> EventRenderer("pretty", color=False).render(ev)
'1970-01-01T00:00:00.000Z INFO  paid order=42'
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, Final, Literal

import orjson

from cwlogs.query import LogEvent
from cwlogs.timeparse import from_epoch_ms, local_zone

__all__ = [
    "FORMATS",
    "Column",
    "EventRenderer",
    "Format",
    "Painter",
    "Progress",
    "compact_time",
    "default_format",
    "display_width",
    "flatten",
    "format_bytes",
    "format_time",
    "ndjson",
    "source_labels",
    "table",
    "trace_text",
    "use_color",
]

Format = Literal["pretty", "json", "raw"]
FORMATS: Final[tuple[Format, ...]] = ("pretty", "json", "raw")

# --------------------------------------------------------------------------- terminal


def default_format(stream: IO[str]) -> Format:
    """``pretty`` for a terminal, ``json`` (NDJSON) when piped or redirected.

    >>> import io
    >>> default_format(io.StringIO())
    'json'
    """
    return "pretty" if _isatty(stream) else "json"


def use_color(
    stream: IO[str], *, force: bool | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether to colour ``stream``: an explicit choice, else not under ``NO_COLOR``, else a tty.

    >>> import io
    >>> use_color(io.StringIO(), force=True)
    True
    >>> use_color(io.StringIO(), environ={"NO_COLOR": "1"})
    False
    """
    if force is not None:
        return force
    env = os.environ if environ is None else environ
    # https://no-color.org: present and not empty means no colour.
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


class Painter:
    """Paints text for a terminal: ANSI SGR sequences, or nothing at all when colour is off.

    >>> Painter(False).paint("x", "red")
    'x'
    >>> Painter(True).paint("x", "red")
    '\\x1b[31mx\\x1b[0m'
    """

    CODES: Final[Mapping[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "magenta": "35",
        "cyan": "36",
        "bright_red": "91",
        "bright_green": "92",
        "bright_yellow": "93",
        "bright_blue": "94",
        "bright_magenta": "95",
        "bright_cyan": "96",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def paint(self, text: str, *styles: str) -> str:
        """``text`` wrapped in the given styles (names from :attr:`CODES`)."""
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


# --------------------------------------------------------------------------- values


def format_time(moment: datetime | int | None, *, local: bool = False) -> str:
    """ISO-8601 with milliseconds: ``2024-05-01T12:00:00.000Z`` (UTC) or with the local offset.

    Accepts an aware datetime or epoch milliseconds; None prints as ``-``.

    >>> format_time(1714564800123)
    '2024-05-01T12:00:00.123Z'
    """
    if moment is None:
        return "-"
    if isinstance(moment, int):
        moment = from_epoch_ms(moment)
    if local:
        text = moment.astimezone(local_zone()).isoformat(timespec="milliseconds")
        # UTC is written one way whichever option asked for it.
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def format_bytes(size: int | None) -> str:
    """A byte count for people: ``0 B``, ``1.5 KiB``, ``3.2 GiB``; None prints as ``-``.

    >>> format_bytes(1536)
    '1.5 KiB'
    """
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def ndjson(obj: Any) -> str:
    """One compact JSON line; anything orjson cannot encode falls back to ``str``.

    >>> ndjson({"a": 1})
    '{"a":1}'
    """
    return orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


# A W3C trace id (32 hex), span id (16 hex) or dashless UUID: the first 8 tell them apart.
_LONG_ID_RE: Final = re.compile(r"^(?:[0-9a-f]{16}|[0-9a-f]{32})$")
_SHORT_ID: Final = 8


def _is_id(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return leaf.lower().endswith(("_id", "id")) and leaf.lower() != "pid"


def short_id(value: str) -> str:
    """The first 8 characters of a long hex id (trace, span); anything else unchanged.

    >>> short_id("4bf92f3577b34da6a3ce929d0e0e4736"), short_id("r-1")
    ('4bf92f35', 'r-1')
    """
    return value[:_SHORT_ID] if _LONG_ID_RE.match(value) else value


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        # Quote only what would be ambiguous in key=value output.
        if value and not any(ch.isspace() or ch in '="' for ch in value):
            return value
        return orjson.dumps(value).decode()
    return ndjson(value)


def flatten(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested JSON as ``(dotted.key, text)`` pairs; lists stay compact JSON.

    >>> flatten({"http": {"status": 503, "path": "/a b"}, "ok": False})
    [('http.status', '503'), ('http.path', '"/a b"'), ('ok', 'false')]
    """
    out: list[tuple[str, str]] = []
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.extend(flatten(value, f"{name}."))
        else:
            out.append((name, _scalar(value)))
    return out


def source_labels(groups: Sequence[str]) -> dict[str, str]:
    """Short, distinct labels for log groups: their common ``/``-prefix removed.

    >>> source_labels(["/shop/prod/api", "/shop/prod/worker"])
    {'/shop/prod/api': 'api', '/shop/prod/worker': 'worker'}
    """
    names = list(dict.fromkeys(groups))
    if len(names) < 2:
        return {name: name for name in names}
    # Whole "/"-separated parts only: "/shop/api" and "/shop/auth" must not become "pi"/"uth".
    parts = [name.split("/") for name in names]
    shared = 0
    while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return {name: "/".join(p[shared:]) for name, p in zip(names, parts, strict=True)}


# --------------------------------------------------------------------------- events

_LEVEL_TAGS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "trace": ("TRACE", ("dim",)),
    "debug": ("DEBUG", ("dim",)),
    "info": ("INFO", ("green",)),
    "notice": ("NOTE", ("cyan",)),
    "warning": ("WARN", ("yellow", "bold")),
    "error": ("ERROR", ("red", "bold")),
    "critical": ("CRIT", ("bright_red", "bold")),
}
# Blues, cyans and magentas only: green, yellow and red already mean a level.
_LABEL_COLORS: Final = ("cyan", "magenta", "blue", "bright_cyan", "bright_magenta",
                        "bright_blue")  # fmt: skip
_MESSAGE_KEYS: Final = ("message", "msg", "event")
_LEVEL_KEYS: Final = frozenset({"level", "levelname", "severity", "lvl", "log.level"})
_TIME_KEYS: Final = frozenset({"timestamp", "time", "@timestamp", "asctime"})
#: Keys whose text is a stack trace: printed whole, below the event line.
_TRACE_KEYS: Final = ("exception", "exc_info", "stack", "stack_trace", "traceback", "stacktrace")
_INDENT: Final = "    "


@dataclass
class EventRenderer:
    """Turns one :class:`LogEvent` into text in the chosen format.

    ``labels`` maps a group to the prefix shown in pretty output (see :func:`source_labels`);
    a group without a label shows the event's stream instead. ``expand`` pretty-prints
    JSON messages instead of flattening them to ``key=value``. Pretty lines are compact
    unless ``wide``: a ``key=value`` equal to the previous event's of the same group is
    left out (folded) and long hex ids show their first 8 characters. ``fields`` keeps
    only the named keys, ``hide`` drops them.
    """

    format: Format = "pretty"
    color: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    expand: bool = False
    local_time: bool = False
    wide: bool = False
    fields: Sequence[str] = ()
    hide: Sequence[str] = ()

    def __post_init__(self) -> None:
        self._painter = Painter(self.color)
        self._width = max((display_width(v) for v in self.labels.values()), default=0)
        self._previous: dict[str, dict[str, str]] = {}

    def render(self, event: LogEvent) -> str:
        """The event as text, without a trailing newline (it may span several lines)."""
        if self.format == "json":
            return ndjson(event.to_dict())
        if self.format == "raw":
            # The message a person reads; the stored JSON is `raw` in --format json.
            return event.text.rstrip("\n")
        return self._pretty(event)

    def _label(self, event: LogEvent) -> str:
        text = self.labels.get(event.source or "") or self.labels.get(event.group)
        if text is None:
            text = event.stream
            width = display_width(text)
        else:
            width = self._width
        if not text:
            return ""
        # A stable colour per source, so interleaved groups are easy to tell apart.
        colour = _LABEL_COLORS[zlib.crc32(text.encode()) % len(_LABEL_COLORS)]
        return self._painter.paint(_pad(text, width), colour) + " "

    def _level(self, level: str | None) -> str:
        tag, styles = _LEVEL_TAGS.get(level or "", ((level or "").upper()[:5], ()))
        return self._painter.paint(tag.ljust(5), *styles) if tag else " " * 5

    def _pretty(self, event: LogEvent) -> str:
        paint = self._painter.paint
        head = (
            paint(format_time(event.timestamp, local=self.local_time), "dim")
            + " "
            + self._label(event)
            + self._level(event.level)
            + " "
        )
        fields = event.fields
        if fields is None:
            first, _, rest = event.message.rstrip("\n").partition("\n")
            plain = [head + self._message(first, event.level)]
            plain.extend(_INDENT + line for line in rest.split("\n") if rest)
            return "\n".join(plain)
        message = ""
        remaining = dict(fields)
        for key in _MESSAGE_KEYS:
            value = remaining.get(key)
            if isinstance(value, str):
                message = remaining.pop(key)
                break
        traces = [(key, remaining.pop(key)) for key in _TRACE_KEYS if key in remaining]
        for key in (*_LEVEL_KEYS, *_TIME_KEYS):
            remaining.pop(key, None)
        first, _, rest = message.partition("\n")
        line = head + self._message(first, event.level)
        lines: list[str] = []
        if self.expand:
            lines.append(line)
            if remaining:
                body = orjson.dumps(remaining, default=str, option=orjson.OPT_INDENT_2).decode()
                lines.extend(_INDENT + part for part in body.splitlines())
        else:
            shown = self._compact(event.group, flatten(remaining))
            pairs = " ".join(paint(key + "=", "dim") + value for key, value in shown)
            lines.append(f"{line} {pairs}" if pairs and first else line + pairs)
        lines.extend(_INDENT + part for part in rest.split("\n") if rest)
        for _key, value in traces:
            lines.extend(_INDENT + paint(part, "dim") for part in _trace_lines(value))
        return "\n".join(lines)

    def _compact(self, group: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if self.fields:
            pairs = [(k, v) for k, v in pairs if k in self.fields or k.split(".")[0] in self.fields]
        if self.hide:
            pairs = [
                (k, v) for k, v in pairs if k not in self.hide and k.split(".")[0] not in self.hide
            ]
        if self.wide:
            return pairs
        previous = self._previous.get(group, {})
        self._previous[group] = dict(pairs)
        # Ids stay on every line (they are what one greps for), shortened; context such
        # as logger, service or environment is shown when it changes.
        return [(k, short_id(v)) for k, v in pairs if _is_id(k) or previous.get(k) != v]

    def _message(self, text: str, level: str | None) -> str:
        if level in ("error", "critical"):
            return self._painter.paint(text, "bold")
        return text


def trace_text(fields: Mapping[str, Any] | None) -> str:
    """The stack traces pretty output prints below an event, as one text ("" if none).

    >>> trace_text({"exception": {"type": "ZeroDivisionError", "message": "division by zero"}})
    'ZeroDivisionError: division by zero'
    """
    if not fields:
        return ""
    return "\n".join(
        line for key in _TRACE_KEYS if key in fields for line in _trace_lines(fields[key])
    )


def _trace_lines(value: Any) -> list[str]:
    """A stack trace's lines, whole: a string, or the handler's ``{type, message, stack}``."""
    if isinstance(value, Mapping):
        stack = value.get("stack")
        if isinstance(stack, str) and stack:
            return stack.rstrip("\n").split("\n")
        kind, message = value.get("type"), value.get("message")
        if kind or message:
            return [f"{kind or 'Exception'}: {message or ''}"]
        return [ndjson(value)]
    if isinstance(value, list):
        return [str(item).rstrip("\n") for item in value]
    return str(value).rstrip("\n").split("\n")


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One table column: the row key, its heading, and whether numbers align right.

    When a table does not fit its ``width``, columns ranked ``drop`` 2 or more are left
    out (highest first), then ``compact`` shortens cells (e.g. :func:`compact_time`), then
    columns ranked 1 are left out, and only then are the widest cells cut.
    """

    key: str
    heading: str
    right: bool = False
    drop: int = 0
    compact: Callable[[str], str] | None = None


_ISO_RE: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"
)


def compact_time(text: str) -> str:
    """A :func:`format_time` string to the minute, for narrow tables; others unchanged.

    >>> compact_time("2024-05-01T12:00:59.123Z"), compact_time("-")
    ('2024-05-01 12:00Z', '-')
    """
    match = _ISO_RE.match(text)
    if match is None:
        return text
    day, minute, zone = match.groups()
    return f"{day} {minute}{zone or ''}"


def table(
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    *,
    color: bool = False,
    max_width: int | None = 60,
    width: int | None = None,
) -> str:
    """An aligned table with a heading line, measured in terminal cells (CJK, emoji are 2).

    Cells longer than ``max_width`` are cut (the last column is exempt). With ``width``
    (a terminal's columns) the widest columns are narrowed until every line fits.

    >>> print(table([Column("name", "NAME"), Column("n", "N", right=True)],
    ...             [{"name": "a", "n": 10}, {"name": "bb", "n": 2}]))
    NAME   N
    a     10
    bb     2
    """
    columns, cells = _layout(columns, list(rows), max_width, width)
    last = len(columns) - 1
    widths = _widths(columns, cells)
    if width is not None and columns:
        widths = _fit(widths, [display_width(c.heading) for c in columns], width)
        cells = [[_cut(value, widths[i]) for i, value in enumerate(line)] for line in cells]
    painter = Painter(color)

    def join(values: Sequence[str], heading: bool = False) -> str:
        parts = []
        for i, (col, value) in enumerate(zip(columns, values, strict=True)):
            if col.right:
                text = _pad(value, widths[i], right=True)
            else:
                text = value if i == last else _pad(value, widths[i])
            parts.append(painter.paint(text, "bold") if heading else text)
        return "  ".join(parts).rstrip()

    out = [join([c.heading for c in columns], heading=True)]
    out.extend(join(line) for line in cells)
    return "\n".join(out)


def _widths(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> list[int]:
    return [
        max([display_width(c.heading), *(display_width(line[i]) for line in cells)])
        for i, c in enumerate(columns)
    ]


def _span(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> int:
    """Cells a table's widest line takes, gaps included."""
    return sum(_widths(columns, cells)) + 2 * max(0, len(columns) - 1)


def _cells(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    max_width: int | None,
    compact: bool,
) -> list[list[str]]:
    last = len(columns) - 1
    out = []
    for row in rows:
        line = []
        for i, c in enumerate(columns):
            value = _cell(row.get(c.key), None if i == last else max_width)
            line.append(c.compact(value) if compact and c.compact else value)
        out.append(line)
    return out


def _layout(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    max_width: int | None,
    width: int | None,
) -> tuple[list[Column], list[list[str]]]:
    """The columns kept and their cells: to fit ``width``, columns ranked ``drop`` >= 2 go
    first, then cells are compacted, then columns ranked 1 go (before anything is cut)."""
    kept = list(columns)
    if width is None:
        return kept, _cells(kept, rows, max_width, compact=False)
    ranked = sorted((c for c in columns if c.drop), key=lambda c: -c.drop)
    compact = False
    for step in [*(c for c in ranked if c.drop >= 2), None, *(c for c in ranked if c.drop < 2)]:
        if _span(kept, _cells(kept, rows, max_width, compact)) <= width:
            break
        if step is None:
            compact = True
        else:
            kept.remove(step)
    return kept, _cells(kept, rows, max_width, compact)


def _fit(widths: list[int], headings: list[int], total: int) -> list[int]:
    """Column widths narrowed, widest first, until they and the gaps fit ``total`` cells."""
    out = list(widths)
    floor = [max(4, min(h, 12)) for h in headings]
    excess = sum(out) + 2 * (len(out) - 1) - total
    while excess > 0:
        candidates = [i for i, w in enumerate(out) if w > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: out[i])
        out[widest] -= 1
        excess -= 1
    return out


def display_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK, emoji) count 2, combining marks 0.

    >>> display_width("abc"), display_width("日本"), display_width("e\u0301")
    (3, 4, 1)
    """
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200d\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _cut(text: str, cells: int) -> str:
    """``text`` cut to ``cells`` terminal cells, ending in ``…`` when something was cut."""
    if display_width(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, cells: int, *, right: bool = False) -> str:
    gap = " " * max(0, cells - display_width(text))
    return gap + text if right else text + gap


def _cell(value: Any, max_width: int | None) -> str:
    text = "-" if value is None or value == "" else str(value)
    text = text.replace("\n", " ").replace("\t", " ")
    return text if max_width is None else _cut(text, max_width)


# --------------------------------------------------------------------------- progress


class Progress:
    """A one-line status on a terminal (``stderr``), redrawn in place; silent elsewhere.

    >>> import io
    >>> p = Progress(io.StringIO())
    >>> p.update("running")
    >>> p.enabled
    False
    """

    FRAMES: Final = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self._frame = 0
        self._shown = False

    def update(self, text: str) -> None:
        """Replace the status line with a spinner frame and ``text``."""
        if not self.enabled:
            return
        frame = self.FRAMES[self._frame % len(self.FRAMES)]
        self._frame += 1
        self.stream.write(f"\r\x1b[K{frame} {text}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the status line, so results print on a clean line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
