"""Simulation and replay for users' tests: realistic events, replay at any speed.

:func:`generate_events` makes structured events that look like a small service mesh
(levels, latencies, HTTP statuses, trace ids shared across services).
:func:`replay` moves events from a log group, a stream, an NDJSON file or a list into a
log group, a :class:`~cwlogs.testing.MemoryLogStream` or a callback, keeping their
spacing scaled by ``time_scale``.  :class:`~cwlogs.testing.MemoryLogStream` and
:func:`~cwlogs.testing.capture` live in :mod:`cwlogs.testing` (the test kit) and are
importable from here too, where they were first documented.

>>> stream = MemoryLogStream()
>>> result = replay(generate_events(5, seed=1), stream, time_scale=0)
>>> len(stream)
5
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import orjson

from cwlogs._aws.calls import call_api
from cwlogs._aws.client import resolve_client
from cwlogs._shipping.encode import encode, iso_timestamp
from cwlogs._shipping.limits import MAX_BATCH_EVENTS, plan_batch, sanitize_stream_name
from cwlogs.errors import InvalidParameterError
from cwlogs.manage import ensure_log_stream
from cwlogs.query import LogEvent, filter_events, get_events
from cwlogs.testing import MemoryLogStream, capture
from cwlogs.timeparse import TimeLike, from_epoch_ms, time_range, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "DEFAULT_SERVICES",
    "DEFAULT_TEMPLATES",
    "MemoryLogStream",
    "ReplayResult",
    "capture",
    "generate_events",
    "read_ndjson",
    "replay",
    "write_ndjson",
]

# --------------------------------------------------------------------------- generation

DEFAULT_SERVICES: Final = ("api", "payments", "worker")

#: Message templates per level; ``{name}`` placeholders are filled from the event's fields.
DEFAULT_TEMPLATES: Final[Mapping[str, Sequence[str]]] = {
    "debug": ("cache lookup for {path}", "loaded tenant settings for {tenant_id}"),
    "info": (
        "{method} {path} -> {status} in {duration_ms} ms",
        "handled {method} {path} for {tenant_id}",
    ),
    "warning": (
        "slow {method} {path}: {duration_ms} ms",
        "retrying call to {dependency} (attempt {attempt})",
    ),
    "error": (
        "{method} {path} failed with {status}: {error}",
        "call to {dependency} failed: {error}",
    ),
}

_PATHS: Final = ("/orders", "/orders/{id}", "/cart", "/checkout", "/users/{id}", "/health")
_METHODS: Final = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_TENANTS: Final = ("acme", "globex", "initech", "umbrella")
_DEPENDENCIES: Final = ("postgres", "redis", "stripe", "s3")
_ERRORS: Final = ("timeout", "connection reset", "upstream 503", "deadlock detected")
_OK_STATUSES: Final = (200, 200, 200, 201, 204, 304, 400, 404)
_ERROR_STATUSES: Final = (500, 502, 503, 504)


class _Defaults(dict[str, Any]):
    # A template naming a field the event lacks renders it as "-" instead of failing.
    def __missing__(self, key: str) -> str:
        return "-"


def generate_events(
    count: int,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    services: Sequence[str] = DEFAULT_SERVICES,
    templates: Mapping[str, Sequence[str]] | None = None,
    error_rate: float = 0.05,
    seed: int | None = None,
    *,
    environment: str = "test",
    group: str = "simulated",
) -> list[LogEvent]:
    """``count`` realistic JSON events between ``start`` (default 10 minutes ago) and ``end`` (now).

    Requests enter at the first service and fan out to others under one ``trace_id``;
    about ``error_rate`` of events are errors with 5xx statuses. Each event's stream is
    ``<service>/i-<n>``. The same ``seed`` with explicit ``start``/``end`` gives the same events.

    >>> evs = generate_events(20, start="2024-05-01T00:00:00Z", end="2024-05-01T00:01:00Z", seed=1)
    >>> len(evs), evs[0].service
    (20, 'api')
    """
    if count < 0:
        raise InvalidParameterError(f"count must be >= 0, not {count}")
    if not 0.0 <= error_rate <= 1.0:
        raise InvalidParameterError(f"error_rate must be between 0 and 1, not {error_rate}")
    if not services:
        raise InvalidParameterError("services must name at least one service")
    start_ms, end_ms = time_range(start, end, default_start="10m")
    rng = random.Random(seed)
    chosen = dict(DEFAULT_TEMPLATES)
    if templates:
        chosen.update(templates)
    out: list[LogEvent] = []
    while len(out) < count:
        out.extend(_trace(rng, start_ms, end_ms, services, chosen, error_rate, environment, group))
    del out[count:]
    out.sort(key=lambda e: e.timestamp)
    return out


def _trace(
    rng: random.Random,
    start_ms: int,
    end_ms: int,
    services: Sequence[str],
    templates: Mapping[str, Sequence[str]],
    error_rate: float,
    environment: str,
    group: str,
) -> list[LogEvent]:
    trace_id = f"{rng.getrandbits(128):032x}"
    request_id = f"req-{rng.getrandbits(48):012x}"
    tenant = rng.choice(_TENANTS)
    method = rng.choice(_METHODS)
    path = rng.choice(_PATHS).replace("{id}", str(rng.randint(1, 9999)))
    hops = [services[0], *rng.sample(list(services[1:]), rng.randint(0, len(services) - 1))]
    at = rng.randint(start_ms, max(start_ms, end_ms))
    out: list[LogEvent] = []
    for hop in hops:
        roll = rng.random()
        if roll < error_rate:
            level = "error"
        elif roll < error_rate + 0.08:
            level = "warning"
        elif roll < error_rate + 0.15:
            level = "debug"
        else:
            level = "info"
        # Log-normal latencies: mostly tens of ms, with the long tail real services have.
        duration = round(rng.lognormvariate(3.5, 0.8) * (6 if level == "warning" else 1), 1)
        status = rng.choice(_ERROR_STATUSES if level == "error" else _OK_STATUSES)
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration,
            "tenant_id": tenant,
            "dependency": rng.choice(_DEPENDENCIES),
            "attempt": rng.randint(1, 3),
            "error": rng.choice(_ERRORS) if level == "error" else None,
        }
        message = rng.choice(list(templates.get(level) or DEFAULT_TEMPLATES[level]))
        ts = min(at, end_ms)
        body: dict[str, Any] = {
            "timestamp": iso_timestamp(ts),
            "level": level,
            "message": message.format_map(_Defaults(fields)),
            "logger": f"{hop}.http",
            "service": hop,
            "environment": environment,
            "trace_id": trace_id,
            "span_id": f"{rng.getrandbits(64):016x}",
            "request_id": request_id,
            **{k: v for k, v in fields.items() if v is not None and k != "attempt"},
        }
        stream = f"{hop}/i-{rng.randint(1, 3)}"
        out.append(LogEvent.from_message(encode(body).decode(), ts, group, stream))
        at += max(1, int(duration))
    return out


# --------------------------------------------------------------------------- NDJSON


def _as_event(item: LogEvent | Mapping[str, Any] | str, now_ms: int) -> LogEvent:
    if isinstance(item, LogEvent):
        return item
    if isinstance(item, str):
        return LogEvent.from_message(item, now_ms)
    ts_raw = item.get("timestamp_ms", item.get("timestamp"))
    message = item.get("message")
    # An envelope ({"timestamp", "message", ...}) carries the message as text; anything
    # else is itself the event body (a cwlogs JSON event), timestamped by its own field.
    if isinstance(message, str) and ("timestamp_ms" in item or not _is_iso(ts_raw)):
        ts = to_epoch_ms(ts_raw) if ts_raw is not None else now_ms
        ingestion = item.get("ingestion_time")
        return LogEvent.from_message(
            message,
            ts,
            str(item.get("group") or ""),
            str(item.get("stream") or ""),
            item.get("event_id"),
            to_epoch_ms(ingestion) if ingestion is not None else None,
        )
    ts = to_epoch_ms(ts_raw) if ts_raw is not None else now_ms
    return LogEvent.from_message(encode(dict(item)).decode(), ts)


def _is_iso(value: object) -> bool:
    return isinstance(value, str) and not value.strip().isdigit()


def read_ndjson(path: str | os.PathLike[str]) -> list[LogEvent]:
    """Events from NDJSON: per line, an envelope (``timestamp`` + ``message``) or a JSON event.

    >>> from pathlib import Path
    >>> _ = Path("incident.ndjson").write_text(
    ...     '{"timestamp": "2024-05-01T12:00:00Z", "level": "error", "message": "boom"}\\n'
    ...     '{"timestamp": 1714564801000, "message": "retrying"}\\n')
    >>> events = read_ndjson("incident.ndjson")
    >>> events[0].message
    '{"timestamp":"2024-05-01T12:00:00Z","level":"error","message":"boom"}'
    >>> events[1].message, events[1].timestamp.isoformat()
    ('retrying', '2024-05-01T12:00:01+00:00')
    """
    now_ms = to_epoch_ms("now")
    out: list[LogEvent] = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidParameterError(f"{path}:{number}: not JSON: {exc}") from exc
            if not isinstance(item, dict):
                raise InvalidParameterError(f"{path}:{number}: expected a JSON object")
            out.append(_as_event(item, now_ms))
    return out


def write_ndjson(events: Iterable[LogEvent], path: str | os.PathLike[str]) -> int:
    """Write events as NDJSON envelopes that :func:`read_ndjson` and :func:`replay` read back.

    >>> write_ndjson(generate_events(10), "sample.ndjson")
    10
    >>> len(read_ndjson("sample.ndjson"))
    10
    """
    written = 0
    with open(path, "wb") as handle:
        for event in events:
            envelope = {
                "timestamp_ms": event.timestamp_ms,
                "group": event.group,
                "stream": event.stream,
                "event_id": event.event_id,
                "message": event.message,
            }
            handle.write(orjson.dumps(envelope) + b"\n")
            written += 1
    return written


# --------------------------------------------------------------------------- replay

Source: TypeAlias = (
    "str | os.PathLike[str] | tuple[str, str] | MemoryLogStream "
    "| Iterable[LogEvent | Mapping[str, Any] | str]"
)
Target: TypeAlias = "str | tuple[str, str] | MemoryLogStream | Callable[[LogEvent], Any]"

_NDJSON_SUFFIXES: Final = (".ndjson", ".jsonl", ".json")


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` did: delivered, dropped by ``transform``, refused by the service."""

    replayed: int
    dropped: int
    rejected: int
    seconds: float


def _load_source(
    source: Source,
    start: TimeLike | None,
    end: TimeLike | None,
    client: CloudWatchLogsClient | None,
) -> list[LogEvent]:
    if isinstance(source, MemoryLogStream):
        return source.all()
    if isinstance(source, tuple):
        group, stream = source
        return list(get_events(group, stream, since=start, until=end, client=client))
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and (source.endswith(_NDJSON_SUFFIXES) or os.path.isfile(source))
    ):
        return read_ndjson(source)
    if isinstance(source, str):
        return list(filter_events(source, since=start, until=end, client=client))
    now_ms = to_epoch_ms("now")
    return [_as_event(item, now_ms) for item in source]


class _GroupWriter:
    """Buffers events per stream and sends them with PutLogEvents within the service limits."""

    def __init__(self, group: str, stream: str | None, client: CloudWatchLogsClient) -> None:
        self.group = group
        self.stream = stream
        self.client = client
        self.buffers: dict[str, list[LogEvent]] = {}
        self.ready: set[str] = set()
        self.sent = 0
        self.rejected = 0

    def add(self, event: LogEvent) -> None:
        stream = sanitize_stream_name(self.stream or event.stream or "replay")
        buffer = self.buffers.setdefault(stream, [])
        buffer.append(event)
        if len(buffer) >= MAX_BATCH_EVENTS:
            self.flush()

    def flush(self) -> None:
        for stream, events in self.buffers.items():
            if events:
                self._send(stream, events)
        self.buffers = {}

    def _send(self, stream: str, events: list[LogEvent]) -> None:
        if stream not in self.ready:
            ensure_log_stream(self.group, stream, client=self.client)
            self.ready.add(stream)
        # plan_batch knows every PutLogEvents limit: count, bytes and the 24 h span.
        messages = [e.message or " " for e in events]
        sizes = [
            (e.timestamp_ms, len(m.encode("utf-8"))) for e, m in zip(events, messages, strict=True)
        ]
        at = 0
        while at < len(sizes):
            take = plan_batch(sizes[at : at + MAX_BATCH_EVENTS])
            batch = [
                {"timestamp": sizes[i][0], "message": messages[i]} for i in range(at, at + take)
            ]
            self._put(stream, batch)
            at += take

    def _put(self, stream: str, batch: list[dict[str, Any]]) -> None:
        c = self.client
        group = self.group
        response = call_api(
            "PutLogEvents",
            lambda: c.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=batch,  # type: ignore[arg-type]
            ),
        )
        info = response.get("rejectedLogEventsInfo") or {}
        refused = 0
        if "tooNewLogEventStartIndex" in info:
            refused += len(batch) - int(info["tooNewLogEventStartIndex"])
        too_old = int(info.get("tooOldLogEventEndIndex", 0))
        refused += max(too_old, int(info.get("expiredLogEventEndIndex", 0)))
        self.rejected += refused
        self.sent += len(batch) - refused


def replay(
    source: Source,
    target: Target,
    time_scale: float = 1.0,
    transform: Callable[[LogEvent], LogEvent | None] | None = None,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    stream: str | None = None,
    rebase: bool = False,
    client: CloudWatchLogsClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayResult:
    """Replay events in time order, waiting ``time_scale`` x the original gap between them.

    ``source``: a log group name, a ``(group, stream)`` tuple, an NDJSON path, a
    :class:`MemoryLogStream` or an iterable of events/dicts/messages. ``target``: a log
    group name (streams kept, or ``stream``), a ``(group, stream)`` tuple, a
    :class:`MemoryLogStream` or a callback. ``time_scale=0`` replays as fast as possible;
    ``0.5`` at double speed. ``transform`` may change an event or drop it (return None).
    ``rebase`` shifts timestamps so the first event is stamped with the replay's start.

    >>> write_ndjson(generate_events(120), "incident.ndjson")
    120
    >>> replay("incident.ndjson", "/test/replayed", time_scale=0)
    ReplayResult(replayed=120, dropped=0, rejected=0, seconds=...)
    """
    if time_scale < 0:
        raise InvalidParameterError(f"time_scale must be >= 0, not {time_scale}")
    events = sorted(_load_source(source, start, end, client), key=lambda e: e.timestamp)
    began = clock()
    writer: _GroupWriter | None = None
    deliver: Callable[[LogEvent], Any]
    if isinstance(target, MemoryLogStream):
        deliver = target.put
    elif isinstance(target, str | tuple):
        group, fixed = (target, stream) if isinstance(target, str) else target
        writer = _GroupWriter(group, fixed, resolve_client(client))
        deliver = writer.add
    elif callable(target):
        deliver = target
    else:
        raise InvalidParameterError(f"cannot replay into {type(target).__name__}")
    if not events:
        return ReplayResult(0, 0, 0, 0.0)
    first_ms = events[0].timestamp_ms
    shift_ms = to_epoch_ms("now") - first_ms if rebase else 0
    replayed = dropped = 0
    for event in events:
        if time_scale > 0:
            due = began + (event.timestamp_ms - first_ms) / 1000 * time_scale
            wait = due - clock()
            if wait > 0:
                if writer is not None:
                    writer.flush()  # what is due now must not wait for what comes later
                sleep(wait)
        moved = event
        if shift_ms:
            moved = replace(event, timestamp=from_epoch_ms(event.timestamp_ms + shift_ms))
        changed = transform(moved) if transform is not None else moved
        if changed is None:
            dropped += 1
            continue
        deliver(changed)
        replayed += 1
    rejected = 0
    if writer is not None:
        writer.flush()
        rejected = writer.rejected
        replayed -= rejected
    return ReplayResult(replayed, dropped, rejected, clock() - began)
