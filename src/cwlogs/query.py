"""Read CloudWatch Logs back: typed events, pagination done right, merged reads, tail.

Every function takes an optional ``client=`` (default: the shared
:func:`~cwlogs.client.make_client` client) and time arguments in any form
:mod:`cwlogs.timeparse` accepts (``"15m"``, ``"1h ago"``, ISO-8601, epoch ms, datetimes).
Filter patterns are validated locally before they are sent and applied again to what
comes back, so an endpoint that ignores a pattern (moto, LocalStack) never returns strangers.
Logs Insights, correlation, statistics and the saved queries live in :mod:`cwlogs.insights`
and are re-exported here.

>>> for event in filter_events("/shop/api", '{ $.level = "error" }', start="15m"):  # doctest: +SKIP
...     print(event.timestamp, event.service, event.message)
"""

from __future__ import annotations

import difflib
import fnmatch
import heapq
import logging
import os
import random
import re
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import orjson
from botocore.config import Config

from cwlogs.client import call_api, make_client, resolve_client
from cwlogs.errors import (
    ConfigurationError,
    CwlogsError,
    InvalidParameterError,
    RateLimitError,
    ResourceNotFoundError,
    ServerError,
    map_exception,
)
from cwlogs.filterpattern import FilterPattern, compile_pattern
from cwlogs.manage import _is_aws_endpoint, list_log_groups
from cwlogs.timeparse import TimeLike, from_epoch_ms, parse_duration, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

    from cwlogs.insights import (
        SAVED_QUERIES,
        QueryProgress,
        QueryResult,
        SavedQuery,
        StatsKey,
        by_request_id,
        by_trace_id,
        correlate,
        error_count_by_tenant,
        insights,
        one_trace,
        recent_errors,
        responses_5xx,
        slow_requests,
        statistics,
        top_error_messages,
    )

__all__ = [
    "SAVED_QUERIES",
    "LogEvent",
    "QueryProgress",
    "QueryResult",
    "RateLimiter",
    "SavedQuery",
    "StatsKey",
    "TailStatus",
    "by_request_id",
    "by_trace_id",
    "correlate",
    "error_count_by_tenant",
    "expand_groups",
    "filter_events",
    "find_log_groups",
    "get_events",
    "insights",
    "merged_events",
    "not_found_error",
    "one_trace",
    "parse_fields",
    "read_groups",
    "read_limiter",
    "recent_errors",
    "responses_5xx",
    "search",
    "set_read_rate",
    "slow_requests",
    "statistics",
    "suggest_groups",
    "tail",
    "top_error_messages",
]

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- typed events

_LEVEL_KEYS: Final = ("level", "levelname", "severity", "log.level", "lvl")
_SERVICE_KEYS: Final = ("service", "service_name", "serviceName", "service.name")
_TRACE_KEYS: Final = ("trace_id", "traceId", "xray_trace_id")
_REQUEST_KEYS: Final = ("request_id", "requestId", "aws_request_id")
_MESSAGE_KEYS: Final = ("message", "msg", "event")
_LEVEL_ALIASES: Final = {"warn": "warning", "err": "error", "fatal": "critical", "crit": "critical"}
_TEXT_LEVEL_RE: Final = re.compile(
    r"^\W{0,3}(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL)\b", re.IGNORECASE
)


def _normalise_level(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return _LEVEL_ALIASES.get(text, text) or None


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
            found = self._first(_LEVEL_KEYS)
            if found is not None:
                return _normalise_level(found)
        match = _TEXT_LEVEL_RE.match(self.message)
        return _normalise_level(match.group(1)) if match else None

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


def _sort_key(event: LogEvent) -> tuple[datetime, str]:
    """Merge order for a stable sort: time, then group; ties keep the order they were read in.

    Event ids are not a tie-breaker: they do not sort as text (moto's "10" precedes "9").
    """
    return (event.timestamp, event.group)


# --------------------------------------------------------------------------- rate limiting


class RateLimiter:
    """A token bucket: ``rate`` calls per second on average, bursts of up to ``burst``.

    Thread-safe; callers that find the bucket empty reserve their token and wait for it,
    so concurrent readers share the rate fairly. ``clock`` and ``sleep`` are injectable.

    >>> limiter = RateLimiter(rate=5.0)
    >>> limiter.acquire()
    True
    """

    def __init__(
        self,
        rate: float = 5.0,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.rate = 1.0
        self.burst = 1.0
        self.configure(rate, burst)
        self._tokens = self.burst
        self._stamp = clock()

    def configure(self, rate: float, burst: float | None = None) -> None:
        """Change the rate (calls per second) and burst size; takes effect at once."""
        if rate <= 0:
            raise InvalidParameterError(f"rate must be positive, got {rate!r}")
        with self._lock:
            self.rate = float(rate)
            self.burst = float(burst) if burst is not None else max(1.0, float(rate))

    def acquire(self, timeout: float | None = None) -> bool:
        """Take one token, waiting as long as needed (or up to ``timeout``; then False)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if timeout is not None and wait > timeout:
                return False
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return True


_limiter_lock = threading.Lock()
_read_limiter: RateLimiter | None = None


def read_limiter() -> RateLimiter:
    """The process-wide limiter for FilterLogEvents/GetLogEvents (``CWLOGS_READ_TPS``, default 5).

    >>> read_limiter().rate  # doctest: +SKIP
    5.0
    """
    global _read_limiter
    with _limiter_lock:
        if _read_limiter is None:
            raw = os.environ.get("CWLOGS_READ_TPS", "5")
            try:
                rate = float(raw)
            except ValueError:
                rate = 0.0
            if rate <= 0:
                raise InvalidParameterError(
                    f"CWLOGS_READ_TPS must be a positive number, got {raw!r}"
                )
            _read_limiter = RateLimiter(rate)
        return _read_limiter


def set_read_rate(rate: float, burst: float | None = None) -> None:
    """Change the shared read rate (the account's quota is about 5 TPS per Region).

    >>> set_read_rate(10)  # doctest: +SKIP
    """
    read_limiter().configure(rate, burst)


# --------------------------------------------------------------------------- reading


def _compile(pattern: str | None) -> FilterPattern | None:
    if pattern is None or not pattern.strip():
        return None
    compiled = compile_pattern(pattern)
    return None if compiled.kind == "all" else compiled


def _renamed_times(
    function: str,
    since: TimeLike | None,
    until: TimeLike | None,
    start: TimeLike | None,
    end: TimeLike | None,
) -> tuple[TimeLike | None, TimeLike | None]:
    """``since``/``until`` from the new names, or the old ``start``/``end`` with a warning."""
    pairs = (("start", "since", start, since), ("end", "until", end, until))
    for old, new, value, current in pairs:
        if value is None:
            continue
        if current is not None:
            raise TypeError(f"{function}() got both {new}= and its old name {old}=; use {new}=")
        warnings.warn(
            f"{function}(): {old}= is deprecated; use {new}= (the CLI's --{new})",
            DeprecationWarning,
            stacklevel=3,
        )
    return (since if since is not None else start), (until if until is not None else end)


def _name_list(value: object, parameter: str, function: str) -> None:
    """Refuse a ``str`` where a list of names is meant: iterating it would yield characters."""
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{function}(): {parameter} must be a list of names, not the string {value!r}; "
            "times are keyword-only (since=..., until=...)"
        )


def _group_specs(specs: object, function: str) -> list[str]:
    """The group names, prefixes or wildcards in ``specs``; empty ones refused.

    An empty name is a prefix of every group, so reading it would read the whole account.
    """
    if isinstance(specs, bytes):
        _name_list(specs, "groups", function)
    if not isinstance(specs, str) and not isinstance(specs, Iterable):
        raise TypeError(f"{function}(): groups must be a name or a list of names, not {specs!r}")
    items: list[object] = [specs] if isinstance(specs, str) else list(specs)
    if not items:
        raise ConfigurationError("groups", f"{function}() needs at least one log group name")
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{function}(): log group names must be strings, not {item!r}")
        if not item.strip():
            raise ConfigurationError(
                "groups",
                f"{function}(): empty log group name in {specs!r} "
                "(it would match every group; name a group, a prefix or a wildcard)",
            )
    return [str(item) for item in items]


def get_events(
    group: str,
    stream: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    from_head: bool = True,
    page_size: int | None = None,
    limit: int | None = None,
    client: CloudWatchLogsClient | None = None,
    rate_limiter: RateLimiter | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> Iterator[LogEvent]:
    """Every event of one stream, oldest first (newest first with ``from_head=False``).

    Stops when GetLogEvents hands back the token it was given, which is how the service
    says "no more". ``limit`` caps the events yielded; ``page_size`` the events per call.

    >>> [e.message for e in get_events("/shop/api", "web-1", limit=2)]  # doctest: +SKIP
    ['started', 'GET / 200']
    """
    since, until = _renamed_times("get_events", since, until, start, end)
    c = resolve_client(client)
    limiter = rate_limiter or read_limiter()
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "logStreamName": stream,
        "startFromHead": from_head,
    }
    if since is not None:
        kwargs["startTime"] = to_epoch_ms(since)
    if until is not None:
        kwargs["endTime"] = to_epoch_ms(until)
    if page_size is not None:
        kwargs["limit"] = page_size
    return _get_pages(c, limiter, kwargs, group, stream, from_head, limit)


def _get_pages(
    c: CloudWatchLogsClient,
    limiter: RateLimiter,
    kwargs: dict[str, Any],
    group: str,
    stream: str,
    from_head: bool,
    limit: int | None,
) -> Iterator[LogEvent]:
    token_key = "nextForwardToken" if from_head else "nextBackwardToken"
    if limit is not None and limit <= 0:
        return
    yielded = 0
    while True:
        limiter.acquire()
        try:
            page = call_api("GetLogEvents", lambda: c.get_log_events(**kwargs))
        except ResourceNotFoundError as err:
            raise _named_not_found(err, group, stream, c) from err
        raw = page.get("events", [])
        # A backward page is still in chronological order internally.
        for item in raw if from_head else reversed(raw):
            yield LogEvent.from_message(
                item.get("message", ""),
                item.get("timestamp", 0),
                group,
                stream,
                None,
                item.get("ingestionTime"),
            )
            yielded += 1
            if limit is not None and yielded >= limit:
                return
        token = page.get(token_key)
        if not token or token == kwargs.get("nextToken"):
            return
        kwargs["nextToken"] = token


def _filter_kwargs(
    group: str,
    pattern: str | None,
    streams: Sequence[str] | None,
    stream_prefix: str | None,
    start_ms: int | None,
    end_ms: int | None,
    page_size: int | None,
) -> dict[str, Any]:
    if streams and stream_prefix:
        raise InvalidParameterError(
            "give streams or stream_prefix, not both (FilterLogEvents accepts one)",
            operation="FilterLogEvents",
        )
    # logGroupIdentifier is ignored by moto; the name works everywhere.
    kwargs: dict[str, Any] = {"logGroupName": group}
    if pattern and pattern.strip():
        kwargs["filterPattern"] = pattern
    if streams:
        kwargs["logStreamNames"] = list(streams)
    if stream_prefix:
        kwargs["logStreamNamePrefix"] = stream_prefix
    if start_ms is not None:
        kwargs["startTime"] = start_ms
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    if page_size is not None:
        kwargs["limit"] = page_size
    return kwargs


def filter_events(
    group: str,
    pattern: str | None = None,
    streams: Sequence[str] | None = None,
    *,
    stream_prefix: str | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    page_size: int | None = None,
    limit: int | None = None,
    client: CloudWatchLogsClient | None = None,
    rate_limiter: RateLimiter | None = None,
    retry: bool = True,
    on_page: Callable[[int], None] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> Iterator[LogEvent]:
    """Events of ``group`` matching ``pattern``, oldest first, across all pages.

    Empty pages that still carry a token are followed (the service returns them); a
    repeated token ends the scan. The pattern is checked locally against every event.
    Throttled calls are retried per :func:`cwlogs.errors.policy_for` unless ``retry=False``.
    ``limit`` keeps the newest ``limit`` events (the whole range is read; memory holds
    ``limit`` events). ``on_page(n)`` is called with each page's event count. A missing
    group raises :class:`~cwlogs.errors.ResourceNotFoundError` naming it and close names.
    Arguments are checked at the call, not at the first ``next()``.

    >>> errors = list(filter_events("/api", "{ $.status >= 500 }", since="1h"))  # doctest: +SKIP
    """
    since, until = _renamed_times("filter_events", since, until, start, end)
    _name_list(streams, "streams", "filter_events")
    if not isinstance(group, str) or not group.strip():
        raise InvalidParameterError(f"filter_events(): give a log group name, not {group!r}")
    if limit is not None and limit < 1:
        raise InvalidParameterError(f"limit must be at least 1, got {limit!r}")
    matcher = _compile(pattern)
    start_ms = to_epoch_ms(since) if since is not None else None
    end_ms = to_epoch_ms(until) if until is not None else None
    _check_order(start_ms, end_ms)
    kwargs = _filter_kwargs(group, pattern, streams, stream_prefix, start_ms, end_ms, page_size)
    c = resolve_client(client)
    limiter = rate_limiter or read_limiter()
    events = _filter_pages(
        c, limiter, kwargs, group, matcher, streams, stream_prefix, start_ms, end_ms, retry,
        on_page,
    )  # fmt: skip
    return events if limit is None else _newest(events, limit)


def _newest(events: Iterable[LogEvent], limit: int) -> Iterator[LogEvent]:
    """The last ``limit`` events of ``events``; memory holds ``limit`` events, not the range."""
    yield from deque(events, maxlen=limit)


def _check_order(start_ms: int | None, end_ms: int | None) -> None:
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise InvalidParameterError(
            f"since ({from_epoch_ms(start_ms).isoformat()}) is after until "
            f"({from_epoch_ms(end_ms).isoformat()})"
        )


def _named_not_found(
    err: ResourceNotFoundError, group: str, stream: str | None, client: CloudWatchLogsClient
) -> ResourceNotFoundError:
    """The service's bare "The specified log group does not exist." with the name and hints."""
    if stream is not None and "stream" in str(err).lower():
        return ResourceNotFoundError(
            f"log stream {stream!r} not found in log group {group!r}",
            code="ResourceNotFoundException",
        )
    return not_found_error(group, client=client)


def _filter_pages(
    c: CloudWatchLogsClient,
    limiter: RateLimiter,
    kwargs: dict[str, Any],
    group: str,
    matcher: FilterPattern | None,
    streams: Sequence[str] | None,
    stream_prefix: str | None,
    start_ms: int | None,
    end_ms: int | None,
    retry: bool,
    on_page: Callable[[int], None] | None,
) -> Iterator[LogEvent]:
    # moto ignores logStreamNamePrefix (and a lenient server may ignore any filter):
    # the stream selection is checked locally like the pattern and the time range.
    wanted_streams = frozenset(streams) if streams else None
    seen_tokens: set[str] = set()
    while True:
        limiter.acquire()
        try:
            page = call_api("FilterLogEvents", lambda: c.filter_log_events(**kwargs), retry=retry)
        except ResourceNotFoundError as err:
            raise _named_not_found(err, group, None, c) from err
        raw = page.get("events", [])
        if on_page is not None:
            on_page(len(raw))
        batch = []
        for item in raw:
            event = _from_filtered(item, group)
            if not _wanted(event, matcher, start_ms, end_ms):
                continue
            if wanted_streams is not None and event.stream not in wanted_streams:
                continue
            if stream_prefix and not event.stream.startswith(stream_prefix):
                continue
            batch.append(event)
        # A page is in time order on AWS; a lenient endpoint (moto) returns it stream by
        # stream. Sorting each page (stable) keeps the merge of groups in time order.
        batch.sort(key=_sort_key)
        yield from batch
        token = page.get("nextToken")
        if not token or token in seen_tokens:
            return
        seen_tokens.add(token)
        kwargs["nextToken"] = token


def _from_filtered(item: Mapping[str, Any], group: str) -> LogEvent:
    return LogEvent.from_message(
        item.get("message", ""),
        item.get("timestamp", 0),
        group,
        item.get("logStreamName", ""),
        item.get("eventId"),
        item.get("ingestionTime"),
    )


def _wanted(
    event: LogEvent, matcher: FilterPattern | None, start_ms: int | None, end_ms: int | None
) -> bool:
    ts = event.timestamp_ms
    if start_ms is not None and ts < start_ms:
        return False
    if end_ms is not None and ts > end_ms:
        return False
    return matcher is None or matcher.matches(event.message)


#: A group to read: its name, or ``(name, stream_prefix)`` with ``None`` for every stream.
Source: TypeAlias = str | tuple[str, str | None]


def _sources(sources: str | Iterable[Source], function: str = "read") -> dict[str, str | None]:
    """Group name -> stream prefix (None: the whole group), first-seen order."""
    if isinstance(sources, bytes):
        _name_list(sources, "groups", function)
    items: Iterable[Source] = [sources] if isinstance(sources, str) else sources
    out: dict[str, str | None] = {}
    for item in items:
        group, prefix = (item, None) if isinstance(item, str) else item
        if not isinstance(group, str) or not group.strip():
            raise InvalidParameterError(f"{function}(): empty log group name in {sources!r}")
        prefix = prefix or None
        if group not in out:
            out[group] = prefix
        elif out[group] is not None and prefix is not None and out[group] != prefix:
            # FilterLogEvents takes one stream prefix per group.
            raise InvalidParameterError(
                f"{group}: give at most one stream prefix per group, got "
                f"{out[group]!r} and {prefix!r}"
            )
        elif prefix is None:
            out[group] = None  # asking for a whole group wins over asking for part of it
    if not out:
        raise InvalidParameterError("name at least one log group")
    return out


def _expand_sources(
    wanted: Mapping[str, str | None], client: CloudWatchLogsClient
) -> dict[str, str | None]:
    """Wildcards (``/aws/lambda/*``) and prefixes ending in ``/`` become the groups they match.

    Any other name is read as an exact group name (one call fewer); a name that does not
    exist raises a not-found error naming it and close names.
    """
    out: dict[str, str | None] = {}
    for spec, prefix in wanted.items():
        expand = _is_glob(spec) or spec.endswith("/")
        names = expand_groups(spec, client=client) if expand else [spec]
        for name in names:
            if name not in out or prefix is None:
                out[name] = prefix
    return out


#: Called with ``(group, events_in_page)`` after each page a read fetches.
PageProgress: TypeAlias = Callable[[str, int], None]


def merged_events(
    sources: str | Iterable[Source],
    pattern: str | None = None,
    *,
    since: TimeLike = "1h",
    until: TimeLike | None = None,
    client: CloudWatchLogsClient | None = None,
    rate_limiter: RateLimiter | None = None,
    on_page: PageProgress | None = None,
    page_size: int | None = None,
) -> Iterator[LogEvent]:
    """Events of several groups between ``since`` and ``until``, merged by time as they arrive.

    Each group is read page by page and the pages are merged with a heap, so the first
    event is yielded after each group's first page and memory holds about one page per
    group, whatever the range. Ties on timestamp order by group; events of one group in
    the same millisecond keep their stored order. Sources are as for :func:`read_groups`.
    ``on_page(group, n)`` is called after each page; ``page_size`` caps the events per call.

    >>> for event in merged_events(["/shop/api", "/shop/worker"], since="1d"):  # doctest: +SKIP
    ...     print(event.group, event.message)
    """
    wanted = _sources(sources, "merged_events")
    _compile(pattern)
    start_ms = to_epoch_ms(since)
    end_ms = to_epoch_ms(until) if until is not None else None
    _check_order(start_ms, end_ms)
    c = resolve_client(client)
    expanded = _expand_sources(wanted, c)
    return _merge(expanded, pattern, start_ms, end_ms, c, rate_limiter, on_page, page_size)


def _merge(
    wanted: Mapping[str, str | None],
    pattern: str | None,
    start_ms: int,
    end_ms: int | None,
    client: CloudWatchLogsClient,
    rate_limiter: RateLimiter | None,
    on_page: PageProgress | None,
    page_size: int | None,
) -> Iterator[LogEvent]:
    def reader(group: str, prefix: str | None) -> Iterator[LogEvent]:
        def counted(n: int) -> None:
            if on_page is not None:
                on_page(group, n)

        return filter_events(
            group,
            pattern,
            stream_prefix=prefix,
            since=start_ms,
            until=end_ms,
            client=client,
            rate_limiter=rate_limiter,
            on_page=counted,
            page_size=page_size,
        )

    yield from heapq.merge(*(reader(g, p) for g, p in wanted.items()), key=_sort_key)


def read_groups(
    sources: str | Iterable[Source],
    pattern: str | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    limit: int | None = None,
    client: CloudWatchLogsClient | None = None,
    rate_limiter: RateLimiter | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> list[LogEvent]:
    """Events of several groups between ``since`` (default 1 h ago) and ``until``, oldest first.

    Each source is a group name, a wildcard or a prefix ending in ``/`` (expanded like
    the CLI does), or ``(group, stream_prefix)``. The reads are merged by (timestamp,
    group) as in :func:`merged_events` (which streams instead of building a list).
    ``limit`` keeps the newest ``limit`` events, like the CLI's ``--limit``.

    >>> read_groups(["/shop/api", ("/shop/worker", "i-0")], "ERROR", since="2h")  # doctest: +SKIP
    """
    since, until = _renamed_times("read_groups", since, until, start, end)
    if limit is not None and limit < 1:
        raise InvalidParameterError(f"limit must be at least 1, got {limit!r}")
    events = merged_events(
        sources,
        pattern,
        since=since if since is not None else "1h",
        until=until,
        client=client,
        rate_limiter=rate_limiter,
    )
    return list(events) if limit is None else list(deque(events, maxlen=limit))


# --------------------------------------------------------------------------- tail


class _Seen:
    """Keys of recently yielded events, pruned by timestamp so memory stays bounded."""

    def __init__(self) -> None:
        self._keys: dict[tuple[Any, ...], int] = {}

    @staticmethod
    def keys(event: LogEvent) -> list[tuple[Any, ...]]:
        # Live Tail events carry no eventId, so content identifies an event across both
        # sources; the eventId is the reliable key between polls.
        out: list[tuple[Any, ...]] = [
            ("content", event.group, event.stream, event.timestamp_ms, event.message)
        ]
        if event.event_id:
            out.append(("id", event.group, event.event_id))
        return out

    def add(self, event: LogEvent) -> bool:
        """Record ``event``; False if it was seen before."""
        keys = self.keys(event)
        if any(k in self._keys for k in keys):
            return False
        for key in keys:
            self._keys[key] = event.timestamp_ms
        return True

    def prune(self, before_ms: int) -> None:
        if len(self._keys) > 1000:
            self._keys = {k: ts for k, ts in self._keys.items() if ts >= before_ms}


def _live_client(client: CloudWatchLogsClient) -> CloudWatchLogsClient:
    # StartLiveTail's endpoint carries a host prefix ("streaming-") that only AWS's DNS
    # resolves; a local endpoint needs the prefix off, so build a sibling client for it.
    endpoint = client.meta.endpoint_url
    if _is_aws_endpoint(endpoint):
        return client
    return make_client(
        region=client.meta.region_name,
        endpoint_url=endpoint,
        boto_config=Config(inject_host_prefix=False),
    )


def _group_from_identifier(identifier: str, arns: Mapping[str, str]) -> str:
    bare = identifier.removesuffix(":*")
    if bare in arns:
        return arns[bare]
    return bare.split(":log-group:", 1)[-1] if ":log-group:" in bare else bare


@dataclass(frozen=True)
class TailStatus:
    """What :func:`tail` is doing when it is not printing events, for ``on_status``.

    ``state`` is ``"unreachable"`` (the endpoint failed or answered with a server error),
    ``"throttled"`` (the service asked us to slow down), ``"recovered"`` (a poll
    succeeded after failures) or ``"reopening"`` (with ``mode="live"``, a Live Tail
    session ended early and is opened again; reported once). ``retry_in`` is the wait
    before the next try, in seconds.

    >>> TailStatus("unreachable", "connection refused", 2.0, 1).describe()
    'endpoint unreachable (connection refused); retrying in 2.0 s'
    """

    state: Literal["unreachable", "throttled", "recovered", "reopening"]
    error: str = ""
    retry_in: float | None = None
    failures: int = 0

    def describe(self) -> str:
        """One line for a person following the logs."""
        if self.state == "recovered":
            return f"endpoint reachable again after {self.failures} failed attempt(s); following"
        if self.state == "reopening":
            wait = f" in {self.retry_in:.1f} s" if self.retry_in is not None else ""
            return f"{self.error}; reopening it{wait}, with back-off while sessions end early"
        what = "endpoint unreachable" if self.state == "unreachable" else "throttled"
        wait = f"; retrying in {self.retry_in:.1f} s" if self.retry_in is not None else ""
        return f"{what} ({self.error}){wait}"


class _Tail:
    def __init__(
        self,
        groups: Mapping[str, str | None],
        pattern: str | None,
        since_ms: int,
        *,
        mode: Literal["auto", "live", "poll"],
        poll_interval: float,
        lookback_ms: int,
        stop: threading.Event,
        deadline: float | None,
        client: CloudWatchLogsClient,
        live_client: CloudWatchLogsClient | None,
        limiter: RateLimiter,
        live_min_session: float,
        max_backoff: float,
        rng: Callable[[], float],
        on_status: Callable[[TailStatus], None] | None,
    ) -> None:
        self.on_status = on_status
        self.groups = list(groups)
        self.prefixes = dict(groups)
        self.pattern = pattern
        self.matcher = _compile(pattern)
        self.since_ms = since_ms
        self.mode = mode
        self.poll_interval = poll_interval
        self.lookback_ms = lookback_ms
        self.stop = stop
        self.deadline = deadline
        self.client = client
        self.live_client = live_client
        self.limiter = limiter
        self.live_min_session = live_min_session
        self.max_backoff = max_backoff
        self.rng = rng
        self.seen = _Seen()
        self.cursor = dict.fromkeys(groups, since_ms)
        self.failures = 0
        self.short_sessions = 0

    def finished(self) -> bool:
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    def wait(self, seconds: float) -> None:
        if self.deadline is not None:
            seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
        self.stop.wait(seconds)

    def run(self) -> Iterator[LogEvent]:
        if self.mode != "poll":
            use_live = yield from self.live()
            if not use_live and self.mode == "live":
                return
        while not self.finished():
            batch = self.poll_or_back_off()
            if batch is None:
                continue
            yield from batch
            if not self.finished():
                self.wait(self.poll_interval)

    def poll_or_back_off(self) -> list[LogEvent] | None:
        """One poll; on throttling or a server error, wait (with jitter) and return None."""
        try:
            batch = self.poll()
        except (RateLimitError, ServerError) as err:
            # Throttling or an outage is a reason to wait, not to quit: say so and retry.
            self.failures += 1
            delay = min(self.max_backoff, self.poll_interval * 2 ** min(self.failures, 30))
            delay *= 0.5 + self.rng() / 2
            state: Literal["unreachable", "throttled"] = (
                "throttled" if isinstance(err, RateLimitError) else "unreachable"
            )
            reason = str(err).removeprefix("cwlogs: ").split("\n", 1)[0]
            self.report(TailStatus(state, reason, delay, self.failures))
            self.wait(delay)
            return None
        if self.failures:
            self.report(TailStatus("recovered", failures=self.failures))
        self.failures = 0
        return batch

    def report(self, status: TailStatus) -> None:
        _log.debug("tail: %s", status.describe())
        if self.on_status is not None:
            self.on_status(status)

    def poll(self) -> list[LogEvent]:
        fresh: list[LogEvent] = []
        for group in self.groups:
            start = max(self.since_ms, self.cursor[group] - self.lookback_ms)
            for event in filter_events(
                group,
                self.pattern,
                stream_prefix=self.prefixes.get(group),
                since=start,
                client=self.client,
                rate_limiter=self.limiter,
                retry=False,  # tail backs off itself, interruptibly
            ):
                if self.seen.add(event):
                    fresh.append(event)
                    self.cursor[group] = max(self.cursor[group], event.timestamp_ms)
        self.seen.prune(min(self.cursor.values()) - self.lookback_ms)
        fresh.sort(key=_sort_key)
        return fresh

    def live(self) -> Generator[LogEvent, None, bool]:
        """Follow with StartLiveTail; returns whether Live Tail should be used again."""
        lc = self.live_client or _live_client(self.client)
        arns = {}
        for group in self.groups:
            found = next(
                (
                    g
                    for g in list_log_groups(group, client=self.client)
                    if g["logGroupName"] == group
                ),
                None,
            )
            if found is None:
                raise not_found_error(group, client=self.client)
            arn = str(found.get("logGroupArn") or str(found.get("arn", "")).removesuffix(":*"))
            arns[arn] = group
        kwargs: dict[str, Any] = {"logGroupIdentifiers": list(arns)}
        if self.pattern and self.pattern.strip():
            kwargs["logEventFilterPattern"] = self.pattern
        while not self.finished():
            opened = time.monotonic()
            try:
                response = call_api("StartLiveTail", lambda: lc.start_live_tail(**kwargs))
            except CwlogsError as err:
                if self.mode == "live":
                    raise
                _log.info("tail: Live Tail unavailable (%s); polling FilterLogEvents", err)
                return False
            stream = response["responseStream"]
            try:
                # Live Tail shows only what arrives after it starts: backfill from `since`.
                backfill = None
                while backfill is None and not self.finished():
                    backfill = self.poll_or_back_off()
                yield from backfill or []
                for item in stream:
                    update = item.get("sessionUpdate")
                    if update:
                        for result in update.get("sessionResults", []):
                            event = self.from_live(result, arns)
                            if event is not None:
                                yield event
                    if self.finished():
                        return True
            except CwlogsError:
                raise
            except Exception as exc:
                if self.mode == "live":
                    raise map_exception(exc, "StartLiveTail") from exc
                _log.info("tail: Live Tail stream failed (%s); polling FilterLogEvents", exc)
                return False
            finally:
                stream.close()
            if time.monotonic() - opened >= self.live_min_session:
                self.short_sessions = 0
                continue
            # Real sessions last up to 3 h; one that ends at once (moto sends a single
            # snapshot) would turn into a busy loop: poll instead, or, when Live Tail was
            # asked for, reopen it with back-off and say so once.
            if self.mode != "live":
                _log.info("tail: Live Tail session ended early; polling FilterLogEvents")
                return False
            self.short_sessions += 1
            delay = min(self.max_backoff, self.poll_interval * 2 ** min(self.short_sessions, 30))
            delay *= 0.5 + self.rng() / 2
            status = TailStatus("reopening", "Live Tail session ended", delay, self.short_sessions)
            if self.short_sessions == 1:
                self.report(status)
            else:
                _log.debug("tail: %s", status.describe())
            self.wait(delay)
        return True

    def from_live(self, result: Mapping[str, Any], arns: Mapping[str, str]) -> LogEvent | None:
        group = _group_from_identifier(str(result.get("logGroupIdentifier", "")), arns)
        if group not in self.prefixes:
            # An endpoint may send results for groups we did not ask for (moto sends all).
            return None
        event = LogEvent.from_message(
            result.get("message", ""),
            result.get("timestamp", 0),
            group,
            result.get("logStreamName", ""),
            None,
            result.get("ingestionTime"),
        )
        if event.timestamp_ms < self.since_ms or not _wanted(event, self.matcher, None, None):
            return None
        prefix = self.prefixes.get(group)
        if prefix is not None and not event.stream.startswith(prefix):
            return None
        if not self.seen.add(event):
            return None
        if group in self.cursor:
            self.cursor[group] = max(self.cursor[group], event.timestamp_ms)
        return event


def tail(
    groups: str | Iterable[Source],
    pattern: str | None = None,
    *,
    since: TimeLike = "1m",
    mode: Literal["auto", "live", "poll"] = "auto",
    poll_interval: float = 2.0,
    lookback: float = 10.0,
    stop: threading.Event | None = None,
    duration: float | str | None = None,
    client: CloudWatchLogsClient | None = None,
    live_client: CloudWatchLogsClient | None = None,
    rate_limiter: RateLimiter | None = None,
    live_min_session: float = 60.0,
    max_backoff: float = 10.0,
    rng: Callable[[], float] = random.random,
    on_status: Callable[[TailStatus], None] | None = None,
) -> Iterator[LogEvent]:
    """Follow one or more groups: events since ``since``, then new ones as they arrive.

    ``mode="auto"`` uses StartLiveTail where the endpoint supports it and falls back to
    FilterLogEvents polling (every ``poll_interval`` s, paced by the shared read limiter,
    backing off on throttling instead of exiting). Events are de-duplicated, and polling
    re-reads ``lookback`` seconds so late-ingested events are not missed. Ends when
    ``stop`` is set, after ``duration``, or when the caller stops iterating. A group given
    as ``(group, stream_prefix)`` is followed only in streams whose names start with it;
    wildcards and prefixes ending in ``/`` are expanded as in :func:`read_groups`.
    While the endpoint is unreachable or throttling, ``tail`` retries with back-off
    (at most ``max_backoff`` s between tries) and calls ``on_status`` with a
    :class:`TailStatus` for each failure and once on recovery. A group that stops
    existing raises :class:`~cwlogs.errors.ResourceNotFoundError` naming it.

    >>> for event in tail(["/shop/prod/api", "/shop/prod/worker"], "ERROR"):  # doctest: +SKIP
    ...     print(event.group, event.message)
    """
    names = _sources(groups, "tail")
    if mode not in ("auto", "live", "poll"):
        raise InvalidParameterError(f"mode must be 'auto', 'live' or 'poll', not {mode!r}")
    # A zero interval would poll in a busy loop; a negative lookback would skip events.
    if not poll_interval > 0:
        raise InvalidParameterError(f"tail(): poll_interval must be > 0 s, got {poll_interval!r}")
    if not lookback >= 0:
        raise InvalidParameterError(f"tail(): lookback must be >= 0 s, got {lookback!r}")
    deadline = None
    if duration is not None:
        deadline = time.monotonic() + parse_duration(duration).total_seconds()
    c = resolve_client(client)
    # Validate now, not at the first next(): a bad pattern is the caller's mistake.
    _compile(pattern)
    names = _expand_sources(names, c)
    return _Tail(
        names,
        pattern,
        to_epoch_ms(since),
        mode=mode if len(names) <= 10 else "poll",
        poll_interval=poll_interval,
        lookback_ms=int(lookback * 1000),
        stop=stop or threading.Event(),
        deadline=deadline,
        client=c,
        live_client=live_client,
        limiter=rate_limiter or read_limiter(),
        live_min_session=live_min_session,
        max_backoff=max_backoff,
        rng=rng,
        on_status=on_status,
    ).run()


# --------------------------------------------------------------------------- group discovery

_GLOB_CHARS: Final = "*?["


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def _literal_prefix(spec: str) -> str:
    """The part of a wildcard before its first ``*``, ``?`` or ``[``."""
    return re.split(r"[*?\[]", spec, maxsplit=1)[0]


def find_log_groups(
    spec: str | None = None, *, client: CloudWatchLogsClient | None = None
) -> Iterator[dict[str, Any]]:
    """DescribeLogGroups entries whose names start with ``spec``, or match it as a wildcard.

    The service filters by prefix only, so a wildcard (``/aws/lambda/*-prod``) is listed
    from its literal part and matched here with :func:`fnmatch.fnmatchcase`.

    >>> [g["logGroupName"] for g in find_log_groups("/aws/lambda/*-prod")]  # doctest: +SKIP
    ['/aws/lambda/checkout-prod']
    """
    if not spec or not _is_glob(spec):
        return list_log_groups(spec or None, client=client)
    literal = _literal_prefix(spec)
    return (
        g
        for g in list_log_groups(literal or None, client=client)
        if fnmatch.fnmatchcase(str(g["logGroupName"]), spec)
    )


def suggest_groups(
    name: str, *, n: int = 3, client: CloudWatchLogsClient | None = None
) -> list[str]:
    """Existing group names close to ``name`` (a typo, a missing segment), best first.

    Looks among the siblings first, then under the top-level segment, then everywhere
    (at most 2,000 names each).

    >>> suggest_groups("/shop/prod/apii")  # doctest: +SKIP
    ['/shop/prod/api']
    """
    stem = _literal_prefix(name)
    parent = stem.rsplit("/", 1)[0] + "/" if "/" in stem.strip("/") else None
    top = "/" + stem.strip("/").split("/", 1)[0] if stem.startswith("/") else None
    c = resolve_client(client)
    for prefix in dict.fromkeys((parent, top, None)):
        candidates = [
            str(g["logGroupName"]) for g in islice(list_log_groups(prefix, client=c), 2000)
        ]
        found = difflib.get_close_matches(stem, candidates, n=n, cutoff=0.6)
        if found:
            return found
    return []


def not_found_error(
    name: str, *, what: str = "log group", client: CloudWatchLogsClient | None = None
) -> ResourceNotFoundError:
    """A :class:`~cwlogs.errors.ResourceNotFoundError` for ``name`` naming close matches.

    >>> raise not_found_error("/shop/prod/apii")  # doctest: +SKIP
    ResourceNotFoundError: log group '/shop/prod/apii' not found; did you mean /shop/prod/api?
    """
    message = f"{what} {name!r} not found"
    try:
        close = suggest_groups(name, client=client)
    except CwlogsError:
        close = []
    if close:
        message += "; did you mean " + ", ".join(close) + "?"
    return ResourceNotFoundError(message, code="ResourceNotFoundException")


def expand_groups(
    specs: str | Iterable[str], *, client: CloudWatchLogsClient | None = None
) -> list[str]:
    """Distinct group names for exact names, name prefixes and wildcards, in the order given.

    An exact name means that group alone, even when it is also a prefix of others. A spec
    that matches nothing raises :class:`~cwlogs.errors.ResourceNotFoundError` naming the
    closest existing groups (:func:`suggest_groups`).

    >>> expand_groups(["/shop/prod/", "/aws/lambda/*-prod"])  # doctest: +SKIP
    ['/shop/prod/api', '/shop/prod/worker', '/aws/lambda/checkout-prod']
    """
    given = _group_specs(specs, "expand_groups")
    c = resolve_client(client)
    out: dict[str, None] = {}
    for spec in given:
        names = [str(g["logGroupName"]) for g in find_log_groups(spec, client=c)]
        if not names:
            raise not_found_error(spec, client=c)
        out.update(dict.fromkeys([spec] if spec in names else names))
    return list(out)


# --------------------------------------------------------------------------- search


def search(
    group_prefixes: str | Iterable[str],
    pattern: str | None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    limit: int = 1000,
    max_groups: int = 50,
    client: CloudWatchLogsClient | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> list[LogEvent]:
    """One pattern across every group whose name starts with one of ``group_prefixes``.

    A prefix may also be a wildcard (``/aws/lambda/*-prod``). Results are merged by time;
    past ``limit`` the newest ``limit`` are kept. More than ``max_groups`` matching groups
    is an error (narrow the prefixes) rather than a silent cut.

    >>> search(["/shop/prod/"], '{ $.level = "error" }', since="30m")  # doctest: +SKIP
    """
    since, until = _renamed_times("search", since, until, start, end)
    if limit < 1:
        raise InvalidParameterError(f"limit must be at least 1, got {limit!r}")
    prefixes = [group_prefixes] if isinstance(group_prefixes, str) else list(group_prefixes)
    if not prefixes or not all(isinstance(p, str) and p.strip() for p in prefixes):
        raise InvalidParameterError(f"search(): give non-empty group prefixes, not {prefixes!r}")
    c = resolve_client(client)
    _compile(pattern)
    names: list[str] = []
    for prefix in prefixes:
        for group in find_log_groups(prefix, client=c):
            name = str(group["logGroupName"])
            if name not in names:
                names.append(name)
            if len(names) > max_groups:
                raise InvalidParameterError(
                    f"more than {max_groups} log groups match {prefixes}; narrow the prefixes "
                    "or raise max_groups"
                )
    if not names:
        return []
    events = merged_events(
        names, pattern, since=since if since is not None else "1h", until=until, client=c
    )
    return list(deque(events, maxlen=limit))


# --------------------------------------------------------------------------- re-exports


# Logs Insights, correlation, statistics and the saved queries moved to cwlogs.insights,
# which imports this module; they are re-exported lazily (PEP 562) so that importing
# either module first works.
def __getattr__(name: str) -> Any:
    if not name.startswith("_"):
        from cwlogs import insights as _insights

        if name in _insights.__all__:
            return getattr(_insights, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
