"""Formatting on the caller's thread: :class:`JsonFormatter`, for any handler, and the
text a user's own formatter makes of a record (:func:`record_to_event`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cwlogs._shipping.encode import encode, to_event_dict
from cwlogs._shipping.event import Event, snapshot
from cwlogs._shipping.snapshot import careful_fields
from cwlogs._shipping.text import safe_str


def record_to_event(
    record: logging.LogRecord,
    formatter: logging.Formatter | None,
    context: Mapping[str, Any] | None,
    *,
    with_thread: bool = False,
) -> Event:
    """The caller-thread half of a handler's ``emit``: a JSON snapshot, or a user
    formatter's text when one (other than :class:`JsonFormatter`) is set."""
    if formatter is None or type(formatter) is JsonFormatter:
        return snapshot(record, context, with_thread=with_thread)
    try:
        return Event(
            record.created,
            record.levelno,
            record.levelname,
            record.name,
            formatter.format(record),
            None,
            None,
            preformatted=True,
        )
    except RecursionError:
        raise
    except Exception as exc:  # the formatter (or the record) failed: ship it marked
        fields = careful_fields(record, None, False, exc)
        reason = f"{type(exc).__name__}: {safe_str(exc)}"
        text = f"{fields[7]} [formatter {type(formatter).__name__} failed: {reason}]"
        created, levelno, levelname, name = fields[4], fields[2], fields[5], fields[6]
        return Event(created, levelno, levelname, name, text, None, None, preformatted=True)


class JsonFormatter(logging.Formatter):
    """A ``logging.Formatter`` producing the cwlogs JSON schema, for any handler.

    Attached to a ``CloudWatchHandler`` it is recognised and the JSON work moves to
    the worker thread; elsewhere it formats on the spot.

    >>> fmt = JsonFormatter(static_fields={"service": "api"})
    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi", (), None)
    >>> b'"service":"api"' in fmt.format(rec).encode()
    True
    """

    def __init__(
        self,
        static_fields: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        environment: str | None = None,
        context_provider: Callable[[], Mapping[str, Any] | None] | None = None,
    ) -> None:
        super().__init__()
        fields = dict(static_fields or {})
        if service:
            fields["service"] = service
        if environment:
            fields["environment"] = environment
        self.static_fields = fields
        self.context_provider = context_provider

    def format(self, record: logging.LogRecord) -> str:
        ctx = self.context_provider() if self.context_provider else None
        return encode(to_event_dict(snapshot(record, ctx), self.static_fields)).decode()
