"""Values as text for people: times, byte counts, compact JSON, flattened fields, short
ids and group labels, and how many terminal cells a text takes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Final

import orjson

from cwlogs.timeparse import from_epoch_ms, local_zone


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


def is_id(key: str) -> bool:
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


def cut(text: str, cells: int) -> str:
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


def pad(text: str, cells: int, *, right: bool = False) -> str:
    gap = " " * max(0, cells - display_width(text))
    return gap + text if right else text + gap
