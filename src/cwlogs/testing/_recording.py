"""What the strict proxy records: a :class:`RecordedRequest` per request, and the
helpers that read an operation, a batch and upstream's answer off the wire."""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import orjson

from cwlogs.testing._validate import EVENT_OVERHEAD_BYTES, utf8_len

_TOO_NEW_MS: Final = 2 * 60 * 60 * 1000


@dataclass(frozen=True)
class RecordedRequest:
    """What the proxy saw and did for one request.

    ``status`` is 0 when no HTTP response was sent (reset, hang, client gone).
    ``accepted`` is the ``(start, stop)`` slice of events upstream ingested, from the
    response's ``rejectedLogEventsInfo``; ``(0, 0)`` when the call failed.

    >>> call = RecordedRequest("PutLogEvents", 200, messages=("a", "b"), accepted=(1, 2))
    >>> call.accepted_messages  # upstream refused "a" (too old, say)
    ('b',)
    """

    operation: str
    status: int
    n_events: int = 0
    batch_bytes: int = 0
    rejected_reason: str | None = None
    fault: str | None = None
    group: str | None = None
    stream: str | None = None
    timestamps: tuple[int, ...] = ()
    messages: tuple[str, ...] | None = None
    accepted: tuple[int, int] = (0, 0)
    seconds: float = field(default=0.0, compare=False)

    @property
    def accepted_messages(self) -> tuple[str, ...]:
        if self.messages is None:
            return ()
        start, stop = self.accepted
        return self.messages[start:stop]


def operation_of(target: str | None, method: str, path: str) -> str:
    if target:
        return target.rpartition(".")[2]
    # moto's own API (reset, dashboard) carries no target; name it by method and path.
    return f"{method} {path.split('?', 1)[0]}"


def request_seen(operation: str, body: Mapping[str, Any], record_bodies: bool) -> RecordedRequest:
    """What a request carries, before it is answered (``status`` 0): its group and
    stream, and for PutLogEvents its batch, tolerating what strict mode rejects."""
    group = body.get("logGroupName")
    stream = body.get("logStreamName")
    seen = RecordedRequest(
        operation,
        0,
        group=group if isinstance(group, str) else None,
        stream=stream if isinstance(stream, str) else None,
    )
    if operation != "PutLogEvents":
        return seen
    events = body.get("logEvents")
    events = events if isinstance(events, list) else []
    batch_bytes, timestamps, messages = _summarize(events, record_bodies)
    return replace(
        seen,
        n_events=len(events),
        batch_bytes=batch_bytes,
        timestamps=timestamps,
        messages=messages,
    )


def _summarize(
    events: list[Any], record_bodies: bool
) -> tuple[int, tuple[int, ...], tuple[str, ...] | None]:
    """Batch bytes, timestamps and messages, tolerating the malformed bodies strict mode rejects."""
    total = 0
    timestamps: list[int] = []
    messages: list[str] = []
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        timestamp = event.get("timestamp") if isinstance(event, dict) else None
        text = message if isinstance(message, str) else ""
        try:
            total += utf8_len(text) + EVENT_OVERHEAD_BYTES
        except UnicodeEncodeError:
            total += len(text.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
        timestamps.append(timestamp if type(timestamp) is int else 0)
        if record_bodies:
            messages.append(text)
    return total, tuple(timestamps), tuple(messages) if record_bodies else None


def accepted_slice(payload: bytes, timestamps: tuple[int, ...]) -> tuple[int, int]:
    n_events = len(timestamps)
    try:
        response = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        return 0, n_events
    info = response.get("rejectedLogEventsInfo") if isinstance(response, dict) else None
    if not isinstance(info, dict):
        return 0, n_events
    start = 0
    for key in ("tooOldLogEventEndIndex", "expiredLogEventEndIndex"):
        end = info.get(key)
        if isinstance(end, int):
            start = max(start, end + 1)
    stop = info.get("tooNewLogEventStartIndex")
    if isinstance(stop, int):
        # moto 5.2.5 reports the *last* too-new index, not the first; an accepted call is
        # chronological, so the first event past now + 2 h is where rejection really starts.
        too_new_after = int(time.time() * 1000) + _TOO_NEW_MS
        stop = min(stop, bisect.bisect_right(timestamps, too_new_after))
    else:
        stop = n_events
    return start, max(start, stop)
