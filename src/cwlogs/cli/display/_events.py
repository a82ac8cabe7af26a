"""One log event as text: pretty (a time, a source label, a coloured level, the message
and its fields as ``key=value``, stack traces below), NDJSON or raw."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from cwlogs.cli.display._terminal import Format, Painter
from cwlogs.cli.display._text import (
    display_width,
    flatten,
    format_time,
    is_id,
    ndjson,
    pad,
    short_id,
)
from cwlogs.query import LEVEL_KEYS, LogEvent

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
        return self._painter.paint(pad(text, width), colour) + " "

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
        for key in (*LEVEL_KEYS, *_TIME_KEYS):
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
        return [(k, short_id(v)) for k, v in pairs if is_id(k) or previous.get(k) != v]

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
    """A stack trace's lines, whole: a string, or the handler's ``{type, message, stack}``;
    none for an empty one (``"exception": null`` is no exception).

    >>> _trace_lines(None), _trace_lines({"type": "ValueError", "message": "x"})
    ([], ['ValueError: x'])
    """
    if value is None or value == "":
        return []
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
