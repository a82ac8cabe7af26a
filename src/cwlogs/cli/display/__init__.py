"""Terminal display: log events as pretty text (colours, flattened JSON), NDJSON or raw;
aligned tables, times, byte counts, colour and a progress line.

Pure presentation: nothing here talks to AWS, decides which events to show, or writes
to a stream except :class:`Progress`. The command line prints through
``cwlogs.cli._output.Output``, which builds one :class:`EventRenderer` per run; the UI
(``cwlogs.ui``) uses the value formatters. Not to be confused with
``cwlogs._shipping.encode``, which encodes events for the wire.

Inside: ``_terminal`` (default format, colour, :class:`Painter`, :class:`Progress`),
``_text`` (values as text, cell widths), ``_events`` (:class:`EventRenderer`) and
``_tables`` (:func:`table`).

>>> from cwlogs.query import LogEvent
>>> ev = LogEvent.from_message('{"level": "info", "message": "paid", "order": 42}', 0, "/shop/api")
>>> EventRenderer("pretty", color=False).render(ev)
'1970-01-01T00:00:00.000Z INFO  paid order=42'
"""

from cwlogs.cli.display._events import EventRenderer, trace_text
from cwlogs.cli.display._tables import Column, compact_time, table
from cwlogs.cli.display._terminal import (
    FORMATS,
    Format,
    Painter,
    Progress,
    default_format,
    use_color,
)
from cwlogs.cli.display._text import (
    display_width,
    flatten,
    format_bytes,
    format_time,
    ndjson,
    source_labels,
)

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
