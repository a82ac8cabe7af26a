"""Following groups: :func:`tail`, with Live Tail or polling, and what it reports.

>>> TailStatus("throttled", "Rate exceeded", 1.5).describe()
'throttled (Rate exceeded); retrying in 1.5 s'
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.config import Config

from cwlogs._aws.awserrors import map_exception
from cwlogs._aws.calls import call_api
from cwlogs._aws.client import is_aws_endpoint, make_client, resolve_client
from cwlogs.errors import CwlogsError, InvalidParameterError, RateLimitError, ServerError
from cwlogs.manage import list_log_groups
from cwlogs.query._args import Source, compile_filter, parse_sources
from cwlogs.query._groups import expand_sources, not_found_error
from cwlogs.query._model import LogEvent, sort_key
from cwlogs.query._ratelimit import RateLimiter, read_limiter
from cwlogs.query._reads import filter_events, is_wanted
from cwlogs.timeparse import TimeLike, parse_duration, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_log = logging.getLogger(__name__)


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
    if is_aws_endpoint(endpoint):
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
        self.matcher = compile_filter(pattern)
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
        fresh.sort(key=sort_key)
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
        if event.timestamp_ms < self.since_ms or not is_wanted(event, self.matcher, None, None):
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
    names = parse_sources(groups, "tail")
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
    compile_filter(pattern)
    names = expand_sources(names, c)
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
