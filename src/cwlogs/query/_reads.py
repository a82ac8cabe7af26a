"""Reading events back: one stream, one group, several groups merged by time, a search.

Every function takes an optional ``client=`` and times in any form :mod:`cwlogs.timeparse`
accepts; patterns are validated locally and applied again to what comes back.

>>> from cwlogs.simulate import replay
>>> _ = replay(["started", "ERROR card declined"], ("/shop/api", "web-1"), time_scale=0)
>>> [e.message for e in filter_events("/shop/api", "ERROR", since="15m")]
['ERROR card declined']
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from cwlogs._aws.calls import call_api
from cwlogs._aws.client import resolve_client
from cwlogs.errors import InvalidParameterError, ResourceNotFoundError
from cwlogs.filterpattern import FilterPattern
from cwlogs.query._args import (
    Source,
    check_order,
    compile_filter,
    name_list,
    parse_sources,
    renamed_times,
)
from cwlogs.query._groups import expand_sources, find_log_groups, not_found_error
from cwlogs.query._model import LogEvent, sort_key
from cwlogs.query._ratelimit import RateLimiter, read_limiter
from cwlogs.timeparse import TimeLike, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


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

    >>> from cwlogs.simulate import replay
    >>> messages = ["started", "GET / 200", "GET /cart 200"]
    >>> _ = replay(messages, ("/shop/api", "web-1"), time_scale=0)
    >>> [e.message for e in get_events("/shop/api", "web-1", limit=2)]
    ['started', 'GET / 200']
    """
    since, until = renamed_times("get_events", since, until, start, end)
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
    Throttled calls are retried (policy table in :mod:`cwlogs._aws.retry`) unless ``retry=False``.
    ``limit`` keeps the newest ``limit`` events (the whole range is read; memory holds
    ``limit`` events). ``on_page(n)`` is called with each page's event count. A missing
    group raises :class:`~cwlogs.errors.ResourceNotFoundError` naming it and close names.
    Arguments are checked at the call, not at the first ``next()``.

    >>> from cwlogs.simulate import replay
    >>> messages = ['{"status": 200, "path": "/"}', '{"status": 502, "path": "/cart"}']
    >>> _ = replay(messages, ("/api", "web-1"), time_scale=0)
    >>> errors = list(filter_events("/api", "{ $.status >= 500 }", since="1h"))
    >>> [(e.stream, e.get("status"), e.get("path")) for e in errors]
    [('web-1', 502, '/cart')]
    """
    since, until = renamed_times("filter_events", since, until, start, end)
    name_list(streams, "streams", "filter_events")
    if not isinstance(group, str) or not group.strip():
        raise InvalidParameterError(f"filter_events(): give a log group name, not {group!r}")
    if limit is not None and limit < 1:
        raise InvalidParameterError(f"limit must be at least 1, got {limit!r}")
    matcher = compile_filter(pattern)
    start_ms = to_epoch_ms(since) if since is not None else None
    end_ms = to_epoch_ms(until) if until is not None else None
    check_order(start_ms, end_ms)
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
            if not is_wanted(event, matcher, start_ms, end_ms):
                continue
            if wanted_streams is not None and event.stream not in wanted_streams:
                continue
            if stream_prefix and not event.stream.startswith(stream_prefix):
                continue
            batch.append(event)
        # A page is in time order on AWS; a lenient endpoint (moto) returns it stream by
        # stream. Sorting each page (stable) keeps the merge of groups in time order.
        batch.sort(key=sort_key)
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


def is_wanted(
    event: LogEvent, matcher: FilterPattern | None, start_ms: int | None, end_ms: int | None
) -> bool:
    ts = event.timestamp_ms
    if start_ms is not None and ts < start_ms:
        return False
    if end_ms is not None and ts > end_ms:
        return False
    return matcher is None or matcher.matches(event.message)


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

    >>> from cwlogs.simulate import replay
    >>> _ = replay(["GET /cart 200"], ("/shop/api", "web-1"), time_scale=0)
    >>> _ = replay(["job 7 done"], ("/shop/worker", "i-0"), time_scale=0)
    >>> _ = replay(["POST /pay 201"], ("/shop/api", "web-1"), time_scale=0)
    >>> for event in merged_events(["/shop/api", "/shop/worker"], since="1d"):
    ...     print(event.group, event.message)
    /shop/api GET /cart 200
    /shop/worker job 7 done
    /shop/api POST /pay 201
    """
    wanted = parse_sources(sources, "merged_events")
    compile_filter(pattern)
    start_ms = to_epoch_ms(since)
    end_ms = to_epoch_ms(until) if until is not None else None
    check_order(start_ms, end_ms)
    c = resolve_client(client)
    expanded = expand_sources(wanted, c)
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

    yield from heapq.merge(*(reader(g, p) for g, p in wanted.items()), key=sort_key)


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

    >>> from cwlogs.simulate import replay
    >>> _ = replay(["ERROR card declined", "GET / 200"], ("/shop/api", "web-1"), time_scale=0)
    >>> _ = replay(["ERROR job 7 failed"], ("/shop/worker", "i-0"), time_scale=0)
    >>> _ = replay(["ERROR disk full"], ("/shop/worker", "i-1"), time_scale=0)
    >>> found = read_groups(["/shop/api", ("/shop/worker", "i-0")], "ERROR", since="2h")
    >>> [(e.group, e.stream, e.message) for e in found]
    [('/shop/api', 'web-1', 'ERROR card declined'), ('/shop/worker', 'i-0', 'ERROR job 7 failed')]
    """
    since, until = renamed_times("read_groups", since, until, start, end)
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

    >>> from cwlogs.simulate import replay
    >>> api = ['{"level": "error", "msg": "card declined"}', '{"level": "info", "msg": "ok"}']
    >>> _ = replay(api, ("/shop/prod/api", "web-1"), time_scale=0)
    >>> worker = ['{"level": "error", "msg": "job failed"}']
    >>> _ = replay(worker, ("/shop/prod/worker", "i-0"), time_scale=0)
    >>> found = search(["/shop/prod/"], '{ $.level = "error" }', since="30m")
    >>> [(e.group, e.text) for e in found]
    [('/shop/prod/api', 'card declined'), ('/shop/prod/worker', 'job failed')]
    """
    since, until = renamed_times("search", since, until, start, end)
    if limit < 1:
        raise InvalidParameterError(f"limit must be at least 1, got {limit!r}")
    prefixes = [group_prefixes] if isinstance(group_prefixes, str) else list(group_prefixes)
    if not prefixes or not all(isinstance(p, str) and p.strip() for p in prefixes):
        raise InvalidParameterError(f"search(): give non-empty group prefixes, not {prefixes!r}")
    c = resolve_client(client)
    compile_filter(pattern)
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
