"""What AWS would reject: :func:`validate_put_log_events` and the service limits it checks.

The proxy checks the library, so it keeps its own copy of the service limits instead of
importing :mod:`cwlogs.limits`: a wrong constant there must fail the tests, not pass them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MAX_EVENTS_PER_CALL: Final = 10_000
EVENT_OVERHEAD_BYTES: Final = 26
MAX_BATCH_BYTES: Final = 1_048_576
MAX_EVENT_BYTES: Final = 1_048_576  # message bytes + overhead, like the batch limit
MAX_MESSAGE_BYTES: Final = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES
MAX_SPAN_MS: Final = 24 * 60 * 60 * 1000


def utf8_len(message: str) -> int:
    # Most log lines are ASCII, where the character count is the byte count; skipping the
    # encode keeps the proxy well above the ~50k events/s moto can take.
    return len(message) if message.isascii() else len(message.encode("utf-8"))


def validate_put_log_events(body: Mapping[str, Any]) -> str | None:
    """Return why AWS would reject this PutLogEvents request body, or None if it would accept it.

    >>> validate_put_log_events({"logGroupName": "g", "logStreamName": "s", "logEvents": []})
    'logEvents: at least one event is required'
    """
    for key in ("logGroupName", "logStreamName"):
        name = body.get(key)
        if not isinstance(name, str) or not name:
            return f"{key}: required and must be a non-empty string"
    events = body.get("logEvents")
    if not isinstance(events, list | tuple) or not events:
        return "logEvents: at least one event is required"
    if len(events) > MAX_EVENTS_PER_CALL:
        return (
            f"logEvents: {len(events)} events exceed the limit of "
            f"{MAX_EVENTS_PER_CALL} events per call"
        )
    total = 0
    first: int | None = None
    previous: int | None = None
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            return f"logEvents[{index}]: an event must be an object"
        timestamp = event.get("timestamp")
        # bool is an int subclass; JSON true is not a timestamp.
        if type(timestamp) is not int:
            return f"logEvents[{index}].timestamp: required and must be an integer"
        message = event.get("message")
        if not isinstance(message, str) or not message:
            return f"logEvents[{index}].message: required and must be at least 1 character"
        try:
            size = utf8_len(message) + EVENT_OVERHEAD_BYTES
        except UnicodeEncodeError:
            return f"logEvents[{index}].message: not encodable as UTF-8"
        if size > MAX_EVENT_BYTES:
            return (
                f"logEvents[{index}]: log event too large: {size} bytes (message + "
                f"{EVENT_OVERHEAD_BYTES}) exceeds the limit of {MAX_EVENT_BYTES}"
            )
        if previous is not None and timestamp < previous:
            return (
                f"logEvents[{index}]: log events in a single PutLogEvents request must be "
                "in chronological order"
            )
        if first is None:
            first = timestamp
        previous = timestamp
        total += size
    if total > MAX_BATCH_BYTES:
        return (
            f"logEvents: upload too large: {total} bytes (sum of message + "
            f"{EVENT_OVERHEAD_BYTES} per event) exceeds the limit of {MAX_BATCH_BYTES}"
        )
    assert first is not None  # the list is non-empty
    assert previous is not None
    if previous - first >= MAX_SPAN_MS:
        return (
            f"logEvents: the batch spans {previous - first} ms; the events of one "
            f"PutLogEvents request must span less than 24 hours ({MAX_SPAN_MS} ms)"
        )
    return None
