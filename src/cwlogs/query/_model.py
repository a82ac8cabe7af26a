"""The typed event every read returns (:class:`LogEvent`), and the level table.

The level table (the JSON keys a level is read from, the aliases, the order from least to
most severe) is the one cwlogs reads levels with, here and in the CLI.

>>> normalise_level("WARN")
'warning'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

import orjson

from cwlogs.timeparse import from_epoch_ms

# --------------------------------------------------------------------------- the level table

#: Levels from least to most severe, as :func:`normalise_level` names them.
LEVELS: Final = ("trace", "debug", "info", "notice", "warning", "error", "critical")
#: The JSON keys a level is read from, in order.
LEVEL_KEYS: Final = ("level", "levelname", "severity", "log.level", "lvl")
_LEVEL_ALIASES: Final = {"warn": "warning", "err": "error", "fatal": "critical", "crit": "critical"}
#: A level word at the start of a plain-text message (``ERROR ...``, ``[WARN] ...``).
_TEXT_LEVEL_RE: Final = re.compile(
    r"^\W{0,3}(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL)\b", re.IGNORECASE
)


def normalise_level(value: object) -> str | None:
    """A level value as cwlogs names it: lower case, aliases resolved; None when empty.

    >>> normalise_level("FATAL"), normalise_level(" Info "), normalise_level("")
    ('critical', 'info', None)
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    return _LEVEL_ALIASES.get(text, text) or None


# --------------------------------------------------------------------------- events

_SERVICE_KEYS: Final = ("service", "service_name", "serviceName", "service.name")
_TRACE_KEYS: Final = ("trace_id", "traceId", "xray_trace_id")
_REQUEST_KEYS: Final = ("request_id", "requestId", "aws_request_id")
_MESSAGE_KEYS: Final = ("message", "msg", "event")


def parse_fields(message: str) -> dict[str, Any] | None:
    """The message's JSON object, or None when the message is not one.

    >>> parse_fields('{"level": "error"}')
    {'level': 'error'}
    """
    text = message.lstrip()
    if not text.startswith("{"):
        return None
    try:
        loaded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None


@dataclass(frozen=True)
class LogEvent:
    """One stored log event, with its JSON fields parsed when the message is a JSON object.

    >>> ev = LogEvent.from_message('{"level": "ERROR", "service": "api"}', 1714564800000)
    >>> (ev.level, ev.service, ev.timestamp.isoformat())
    ('error', 'api', '2024-05-01T12:00:00+00:00')
    """

    timestamp: datetime
    message: str
    group: str = ""
    stream: str = ""
    event_id: str | None = None
    ingestion_time: datetime | None = None
    # Derived from ``message``, so it takes no part in equality (and dicts do not hash).
    fields: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    #: Which named source (account or Region) it was read from, when several were read.
    source: str = field(default="", compare=False)

    @classmethod
    def from_message(
        cls,
        message: str,
        timestamp_ms: int,
        group: str = "",
        stream: str = "",
        event_id: str | None = None,
        ingestion_ms: int | None = None,
    ) -> LogEvent:
        """Build an event from raw API values, parsing the JSON fields once."""
        return cls(
            timestamp=from_epoch_ms(timestamp_ms),
            message=message,
            group=group,
            stream=stream,
            event_id=event_id,
            ingestion_time=from_epoch_ms(ingestion_ms) if ingestion_ms is not None else None,
            fields=parse_fields(message),
        )

    @property
    def timestamp_ms(self) -> int:
        """Epoch milliseconds, as the service stores them."""
        return round(self.timestamp.timestamp() * 1000)

    def get(self, key: str, default: Any = None) -> Any:
        """A JSON field by name or dotted path (``"http.status"``); ``default`` when absent.

        >>> LogEvent.from_message('{"http": {"status": 503}}', 0).get("http.status")
        503
        """
        if self.fields is None:
            return default
        if key in self.fields:
            return self.fields[key]
        node: Any = self.fields
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def _first(self, keys: Sequence[str]) -> Any:
        for key in keys:
            value = self.get(key)
            if value is not None:
                return value
        return None

    @property
    def level(self) -> str | None:
        """Lower-cased level from the JSON fields, or from a leading ``ERROR``-like word."""
        if self.fields is not None:
            found = self._first(LEVEL_KEYS)
            if found is not None:
                return normalise_level(found)
        match = _TEXT_LEVEL_RE.match(self.message)
        return normalise_level(match.group(1)) if match else None

    @property
    def service(self) -> str | None:
        value = self._first(_SERVICE_KEYS)
        return str(value) if value is not None else None

    @property
    def trace_id(self) -> str | None:
        value = self._first(_TRACE_KEYS)
        return str(value) if value is not None else None

    @property
    def request_id(self) -> str | None:
        value = self._first(_REQUEST_KEYS)
        return str(value) if value is not None else None

    @property
    def text(self) -> str:
        """The human message: a JSON event's ``message`` (or ``msg``, ``event``), else the raw text.

        >>> LogEvent.from_message('{"message": "paid", "order": 42}', 0).text
        'paid'
        """
        if self.fields is not None:
            for key in _MESSAGE_KEYS:
                value = self.fields.get(key)
                if isinstance(value, str):
                    return value
        return self.message.rstrip("\n")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view, the shape of the CLI's NDJSON output.

        ``message`` is the human text (:attr:`text`), ``raw`` the stored text, ``fields``
        the parsed JSON object (or None); times are UTC ISO-8601 ending in ``Z``.
        """
        return {
            "timestamp": _iso_z(self.timestamp),
            "timestamp_ms": self.timestamp_ms,
            "group": self.group,
            "stream": self.stream,
            "event_id": self.event_id,
            "level": self.level,
            "service": self.service,
            "trace_id": self.trace_id,
            "request_id": self.request_id,
            "message": self.text,
            "raw": self.message,
            "fields": self.fields,
            "source": self.source or None,
        }


def _iso_z(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: UTC, milliseconds, ``Z`` (one form everywhere)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sort_key(event: LogEvent) -> tuple[datetime, str]:
    """Merge order for a stable sort: time, then group; ties keep the order they were read in.

    Event ids are not a tie-breaker: they do not sort as text (moto's "10" precedes "9").
    """
    return (event.timestamp, event.group)
