"""The one way a command prints: results, rows and log events in the chosen format.

``--format`` is decided once per run (pretty on a terminal, NDJSON when piped, or what
the user asked for) and every command prints through :class:`Output`, so no command
branches on the format itself: it hands over its data and the text a person reads.
Remarks for that person go to stderr, so pipes stay clean.

>>> import io
>>> out = Output(io.StringIO(), io.StringIO(), format="json")
>>> out.result({"group": "/shop/api", "retention_days": 7}, "/shop/api: events kept for 7 days")
>>> out.stdout.getvalue()
'{"group":"/shop/api","retention_days":7}\\n'
"""

from __future__ import annotations

import argparse
import shutil
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from cwlogs.cli.display import (
    Column,
    EventRenderer,
    Format,
    Painter,
    Progress,
    default_format,
    format_time,
    ndjson,
    source_labels,
    table,
    use_color,
)
from cwlogs.query import LogEvent


@dataclass
class Output:
    """Where and how a run prints: the streams, the format and the display options."""

    stdout: IO[str]
    stderr: IO[str]
    format: Format = "pretty"
    color: bool = False
    no_color: bool = False
    local_time: bool = False
    expand: bool = False
    wide: bool = False
    fields: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()

    @classmethod
    def for_args(cls, args: argparse.Namespace, stdout: IO[str], stderr: IO[str]) -> Output:
        """The output the global and event options ask for."""

        def opt(name: str) -> Any:
            # Global options use SUPPRESS so they work before and after the sub-command.
            return getattr(args, name, None)

        force = True if opt("color") else (False if opt("no_color") else None)
        return cls(
            stdout,
            stderr,
            format=opt("format") or default_format(stdout),
            color=use_color(stdout, force=force),
            no_color=bool(opt("no_color")),
            local_time=bool(opt("local_time")),
            expand=bool(opt("expand")),
            wide=bool(opt("wide")),
            fields=_csv(opt("fields")),
            hide=_csv(opt("hide")),
        )

    @property
    def pretty(self) -> bool:
        """Whether a person reads this (the ``pretty`` format): tables, notes, summaries."""
        return self.format == "pretty"

    @property
    def width(self) -> int | None:
        """The terminal's width when printing to one (tables fit it), else None."""
        return shutil.get_terminal_size().columns if self.stdout.isatty() else None

    def paint(self, text: str, *styles: str) -> str:
        """``text`` in the given styles when stdout is coloured (see :class:`Painter`)."""
        return Painter(self.color).paint(text, *styles)

    def time(self, moment: int | None) -> str:
        """Epoch milliseconds as shown in tables: UTC, or the local zone with --local-time."""
        return format_time(moment, local=self.local_time)

    def line(self, text: str, *, flush: bool = False) -> None:
        """One line of text on stdout, whatever the format (a script, a policy, a plan)."""
        self.stdout.write(text + "\n")
        if flush:
            self.stdout.flush()

    def note(self, text: str) -> None:
        """A remark for the person at the terminal; stderr, so pipes stay clean."""
        self.stderr.write(f"cwlogs: {text}\n")
        self.stderr.flush()

    def summary(self, text: str) -> None:
        """A closing line after pretty results (row counts, bytes scanned): dim, on stderr."""
        if self.pretty:
            painter = Painter(self.color and self.stderr.isatty())
            self.stderr.write(painter.paint(text, "dim") + "\n")

    def error(self, text: str) -> None:
        """``cwlogs: error: text`` on stderr, in red on a terminal unless --no-color."""
        painter = Painter(use_color(self.stderr, force=False if self.no_color else None))
        self.stderr.write(f"{painter.paint('cwlogs: error:', 'red', 'bold')} {text}\n")

    def result(self, data: Any, text: str, *, raw: str | None = None, flush: bool = False) -> None:
        """One result: ``data`` as an NDJSON line, else ``text`` (``raw`` for --format raw)."""
        if self.format == "json":
            self.line(ndjson(data), flush=flush)
        elif self.format == "raw" and raw is not None:
            self.line(raw, flush=flush)
        else:
            self.line(text, flush=flush)

    def rows(
        self,
        columns: Sequence[Column],
        rows: Sequence[Mapping[str, Any]],
        *,
        raw: str,
        json_rows: Sequence[Any] | None = None,
    ) -> None:
        """Rows in the chosen format: a table fitting the terminal, NDJSON, or the ``raw`` key.

        ``json_rows`` (default: ``rows``) are what NDJSON prints: the service's records
        rather than the cells formatted for people.
        """
        if self.format == "json":
            for row in rows if json_rows is None else json_rows:
                self.line(ndjson(row))
        elif self.format == "raw":
            for row in rows:
                self.line(str(row[raw]))
        elif rows:
            self.line(table(columns, rows, color=self.color, max_width=None, width=self.width))

    def renderer(self, groups: Sequence[str]) -> EventRenderer:
        """The renderer for events of ``groups`` (labelled when there are several)."""
        labels = source_labels(groups) if len(set(groups)) > 1 else {}
        return EventRenderer(
            self.format,
            color=self.color,
            labels=labels,
            expand=self.expand,
            local_time=self.local_time,
            wide=self.wide,
            fields=self.fields,
            hide=self.hide,
        )

    def events(
        self,
        events: Iterable[LogEvent],
        groups: Sequence[str],
        *,
        flush: bool = False,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Print events as they come (or, with ``limit``, the newest ``limit`` at the end).

        A ``progress`` line is cleared before each event when both share the terminal,
        and at the end. Returns how many events were printed.
        """
        renderer = self.renderer(groups)
        clear_first = progress is not None and self.stdout.isatty()
        matched = 0
        printed = 0
        try:
            if limit is not None:
                newest: deque[LogEvent] = deque(maxlen=limit)
                for event in events:
                    newest.append(event)
                    matched += 1
                events = newest
            for event in events:
                if clear_first and progress is not None:
                    progress.clear()
                self.line(renderer.render(event), flush=flush)
                printed += 1
        finally:
            # Also on Ctrl-C or an error: the shell prompt must not land on the progress line.
            if progress is not None:
                progress.clear()
        if limit is not None and matched > printed:
            self.note(
                f"{matched - printed} more event(s) matched; showing the newest {printed} "
                "(raise --limit for more)"
            )
        return printed


def _csv(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for v in values or () for part in v.split(",") if part.strip())
