"""Aligned tables measured in terminal cells, narrowed to fit a terminal's width."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cwlogs.cli.display._terminal import Painter
from cwlogs.cli.display._text import cut, display_width, pad


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
        cells = [[cut(value, widths[i]) for i, value in enumerate(line)] for line in cells]
    painter = Painter(color)

    def join(values: Sequence[str], heading: bool = False) -> str:
        parts = []
        for i, (col, value) in enumerate(zip(columns, values, strict=True)):
            if col.right:
                text = pad(value, widths[i], right=True)
            else:
                text = value if i == last else pad(value, widths[i])
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


def _cell(value: Any, max_width: int | None) -> str:
    text = "-" if value is None or value == "" else str(value)
    text = text.replace("\n", " ").replace("\t", " ")
    return text if max_width is None else cut(text, max_width)
