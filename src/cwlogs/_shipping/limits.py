"""CloudWatch Logs service limits and the pure functions that enforce them.

Nothing here does I/O or keeps state, so every limit is tested without threads or
network. Values checked against botocore's service model (see shared facts).

>>> plan_batch([(1, 100), (2, 100), (3, 100)], max_events=2)
2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

MAX_BATCH_EVENTS: Final = 10_000
MAX_BATCH_BYTES: Final = 1_048_576
#: Bytes the service adds to every event when it sizes a batch.
EVENT_OVERHEAD: Final = 26
#: An event's message may use the whole batch budget, less its own overhead.
MAX_MESSAGE_BYTES: Final = MAX_BATCH_BYTES - EVENT_OVERHEAD
#: A batch must span strictly less than 24 hours (we treat the boundary as refused).
MAX_BATCH_SPAN_MS: Final = 24 * 3600 * 1000
MAX_AGE_MS: Final = 14 * 24 * 3600 * 1000
MAX_FUTURE_MS: Final = 2 * 3600 * 1000
_DAY_MS: Final = 24 * 3600 * 1000

#: The only values PutRetentionPolicy accepts.
RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def event_size(message_bytes: int) -> int:
    """Bytes an event of ``message_bytes`` UTF-8 bytes costs against the batch limit."""
    return message_bytes + EVENT_OVERHEAD


def truncate_utf8(data: bytes, max_bytes: int) -> bytes:
    """Cut UTF-8 ``data`` to at most ``max_bytes`` without splitting a character.

    >>> truncate_utf8("héllo".encode(), 2)
    b'h'
    """
    if len(data) <= max_bytes:
        return data
    if max_bytes <= 0:
        return b""
    cut = max_bytes
    # Step back over continuation bytes (10xxxxxx) to the start of the split character.
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut]


def check_timestamp(ts_ms: int, now_ms: int, retention_days: int | None = None) -> str | None:
    """Why the service would refuse an event at ``ts_ms``, or None if it is acceptable.

    Reasons are ``"too_new"`` (over 2 h ahead), ``"too_old"`` (over 14 days back) and
    ``"expired"`` (older than the group's retention, when shorter than 14 days).
    """
    if ts_ms > now_ms + MAX_FUTURE_MS:
        return "too_new"
    if ts_ms < now_ms - MAX_AGE_MS:
        return "too_old"
    if retention_days is not None and ts_ms < now_ms - retention_days * _DAY_MS:
        return "expired"
    return None


def plan_batch(
    events: Sequence[tuple[int, int]],
    *,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
    max_span_ms: int = MAX_BATCH_SPAN_MS,
) -> int:
    """How many leading ``(timestamp_ms, message_bytes)`` events fit in one PutLogEvents call.

    ``events`` must already be in chronological order. Always at least 1 for a
    non-empty input, provided the first event fits alone (callers truncate first).
    """
    if not events:
        return 0
    first_ts = events[0][0]
    total = 0
    limit = min(max_events, len(events))
    for i in range(limit):
        ts, nbytes = events[i]
        total += nbytes + EVENT_OVERHEAD
        if total > max_bytes or ts - first_ts >= max_span_ms:
            return max(i, 1)
    return limit


def rejected_indexes(info: dict[str, int] | None, count: int) -> dict[str, range]:
    """Which positions of a sent batch the service refused, by reason.

    Follows the service model: ``tooNewLogEventStartIndex`` is inclusive,
    ``tooOldLogEventEndIndex`` and ``expiredLogEventEndIndex`` are exclusive ends.
    """
    if not info or not isinstance(info, dict):
        return {}

    def index(key: str) -> int | None:
        # An index that is not a number says nothing: the batch counts as accepted
        # (it was stored; resending it would store it twice).
        value = info.get(key)
        return value if type(value) is int else None

    out: dict[str, range] = {}
    too_old, expired, too_new = (
        index("tooOldLogEventEndIndex"),
        index("expiredLogEventEndIndex"),
        index("tooNewLogEventStartIndex"),
    )
    if too_old is not None:
        out["too_old"] = range(0, max(0, min(too_old, count)))
    if expired is not None:
        end = min(expired, count)
        start = out["too_old"].stop if "too_old" in out else 0
        out["expired"] = range(start, max(start, end))
    if too_new is not None:
        out["too_new"] = range(max(0, too_new), count)
    return {k: v for k, v in out.items() if len(v)}


_STREAM_BAD = frozenset(":*")


def sanitize_stream_name(name: str) -> str:
    """Replace what CloudWatch refuses in stream names (``:`` and ``*``) and bound the length.

    >>> sanitize_stream_name("host:1/app*")
    'host_1/app_'
    """
    cleaned = "".join("_" if c in _STREAM_BAD or ord(c) < 32 else c for c in name)
    cleaned = cleaned[:512]
    return cleaned or "default"
