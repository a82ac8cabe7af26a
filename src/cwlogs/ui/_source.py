"""Every call the UI makes into cwlogs' read API, in one place.

The read API's signatures are still moving (time arguments, streaming reads); the rest
of the UI talks only to :class:`Source`, so a rename is a one-place fix here. Everything
in this module blocks on the network and runs in worker threads, never on the UI thread.
"""

from __future__ import annotations

import inspect
import threading
import time
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, Literal

from cwlogs.client import make_client
from cwlogs.errors import CwlogsError, InvalidParameterError
from cwlogs.filterpattern import FilterPattern, compile_pattern
from cwlogs.insights import SAVED_QUERIES, QueryResult, by_request_id, by_trace_id, insights
from cwlogs.manage import last_event_time, list_log_groups, list_log_streams
from cwlogs.query import LogEvent, tail
from cwlogs.timeparse import TimeLike, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["Health", "QueryCancelled", "Source", "Target"]

#: A group to read, and the stream prefix it is narrowed to (None: every stream).
Target = tuple[str, str | None]

_STREAMS_SHOWN: Final = 1000
_THROTTLE_CODES: Final = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "LimitExceededException",
     "ServiceQuotaExceededException", "RequestLimitExceeded"}
)  # fmt: skip


_RESTART_LOOKBACK_MS: Final = 60_000  # a restarted follow re-reads this much


class QueryCancelled(KeyboardInterrupt):
    """Raised from the query's progress callback to cancel it.

    A KeyboardInterrupt, because that is what :func:`cwlogs.insights.insights` answers by
    stopping the query in the service before re-raising.
    """


class Health:
    """What the endpoint's last answers say: reachable, throttled, backing off.

    Fed by botocore's ``after-call`` events on the UI's client, so it sees every attempt,
    including the ones the read API retries or backs off from on its own. Thread-safe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.state: Literal["unknown", "ok", "throttled", "unreachable", "error"] = "unknown"
        self.detail = ""
        self.failures = 0
        self.calls = 0

    def record(self, status: int | None, code: str = "") -> None:
        """One attempt's outcome: an HTTP status, or None when no answer came at all."""
        with self._lock:
            self.calls += 1
            if status is not None and status < 300:
                self.state, self.detail, self.failures = "ok", "", 0
                return
            self.failures += 1
            if status is None:
                self.state = "unreachable"
            elif code in _THROTTLE_CODES or status == 429:
                self.state = "throttled"
            else:
                self.state = "error" if status < 500 else "unreachable"
            self.detail = code or (f"HTTP {status}" if status else "no connection")

    def text(self) -> str:
        """One short phrase for the state bar."""
        with self._lock:
            if self.state == "ok":
                return "endpoint ok"
            if self.state == "unknown":
                return "connecting…"
            if self.state == "error":
                return f"endpoint error: {self.detail}"
            # Throttled or unreachable: the readers back off and retry by themselves.
            return f"{self.state} ({self.detail}), backing off (failure {self.failures})"

    def attach(self, client: CloudWatchLogsClient) -> None:
        """Listen to every call ``client`` makes."""
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"after-call.{service}", self._after_call)
        client.meta.events.register(f"after-call-error.{service}", self._after_error)

    def _after_call(self, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
        status = getattr(http_response, "status_code", None)
        code = ""
        if isinstance(parsed, Mapping):
            code = str(parsed.get("Error", {}).get("Code", ""))
        self.record(int(status) if status is not None else None, code)

    def _after_error(self, **_: Any) -> None:
        self.record(None)


@dataclass
class Source:
    """The UI's view of CloudWatch Logs: one client, its health, and the reads the UI needs."""

    client: CloudWatchLogsClient
    health: Health
    mode: Literal["auto", "live", "poll"] = "auto"
    poll_interval: float = 2.0
    max_backoff: float = 30.0

    @classmethod
    def create(
        cls,
        client: CloudWatchLogsClient | None = None,
        *,
        endpoint_url: str | None = None,
        **options: Any,
    ) -> Source:
        """A source on ``client`` (or a new client), with health tracking attached."""
        health = Health()
        c = client or make_client(endpoint_url=endpoint_url)
        health.attach(c)
        return cls(c, health, **options)

    # ------------------------------------------------------------------ groups and streams

    def groups(self, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        """Log groups page by page (DescribeLogGroups, 50 a page), fetched as consumed."""
        return list_log_groups(prefix or None, page_size=50, client=self.client)

    def last_event_ms(self, group: str) -> int | None:
        """Epoch ms of the newest event in ``group``."""
        return last_event_time(group, client=self.client)

    def streams(self, group: str, prefix: str | None = None) -> list[dict[str, Any]]:
        """Up to 1,000 streams of ``group``, newest last event first."""
        found = list(
            islice(list_log_streams(group, prefix or None, client=self.client), _STREAMS_SHOWN)
        )
        found.sort(key=lambda s: s.get("lastEventTimestamp") or 0, reverse=True)
        return found

    # ------------------------------------------------------------------ events

    def follow(
        self,
        targets: Sequence[Target],
        *,
        since: TimeLike,
        stop: threading.Event,
        on_error: Callable[[CwlogsError], None] | None = None,
    ) -> Iterator[LogEvent]:
        """Events of ``targets`` since ``since``, then new ones, until ``stop`` is set.

        :func:`cwlogs.query.tail` backs off from throttling and 5xx by itself; an error it
        gives up on (the endpoint gone while listing groups, say) is reported through
        ``on_error`` and the follow restarts where it left off.
        """
        start_ms = to_epoch_ms(since)
        newest = start_ms
        # Keys of what was shown, kept for the window a restart re-reads: within one run
        # tail() de-duplicates and orders by itself, and an event from a slower group may
        # arrive after a newer one from another group (it must not be skipped).
        seen: dict[tuple[Any, ...], int] = {}
        failures = 0
        while not stop.is_set():
            try:
                for event in tail(
                    list(targets),
                    since=start_ms,
                    mode=self.mode,
                    poll_interval=self.poll_interval,
                    max_backoff=self.max_backoff,
                    stop=stop,
                    client=self.client,
                ):
                    key = (event.group, event.stream, event.event_id, event.message)
                    if key in seen:
                        continue  # re-read after a restart
                    ts = event.timestamp_ms
                    seen[key] = ts
                    newest = max(newest, ts)
                    if len(seen) > 50_000:
                        floor = newest - _RESTART_LOOKBACK_MS
                        seen = {k: t for k, t in seen.items() if t >= floor}
                    failures = 0
                    yield event
                return
            except CwlogsError as err:
                failures += 1
                if on_error is not None:
                    on_error(err)
                # Restart a little before the newest event shown, to catch late arrivals.
                start_ms = max(start_ms, newest - _RESTART_LOOKBACK_MS)
                stop.wait(min(self.max_backoff, self.poll_interval * 2**failures))

    def trace(
        self, groups: Sequence[str], event: LogEvent, *, since: TimeLike
    ) -> tuple[str, str, list[LogEvent]]:
        """Every event sharing ``event``'s trace_id (else request_id) across ``groups``.

        Returns the field used, its value and the events merged by time.
        """
        start = min(to_epoch_ms(since), event.timestamp_ms - 3_600_000)
        if event.trace_id:
            found = by_trace_id(list(groups), event.trace_id, since=start, client=self.client)
            return "trace_id", event.trace_id, found
        if event.request_id:
            found = by_request_id(list(groups), event.request_id, since=start, client=self.client)
            return "request_id", event.request_id, found
        raise InvalidParameterError("this event has no trace_id or request_id")

    # ------------------------------------------------------------------ Logs Insights

    def query(
        self,
        groups: Sequence[str],
        text: str,
        *,
        since: TimeLike,
        until: TimeLike | None = None,
        progress: Callable[[str, Mapping[str, float]], None],
        cancel: threading.Event,
    ) -> QueryResult:
        """Run a Logs Insights query (or a saved query by name); ``cancel`` stops it."""

        def polled(status: str, stats: Mapping[str, float]) -> None:
            progress(status, stats)
            if cancel.is_set():
                raise QueryCancelled

        return insights(
            list(groups),
            saved_query(text),
            since=since,
            until=until,
            progress=polled,
            client=self.client,
        )


def saved_query(text: str) -> str:
    """``text`` itself, or the query of the saved query it names (``slow_requests 500``)."""
    name, *args = text.split()
    factory = SAVED_QUERIES.get(name) if name else None
    if factory is None:
        return text
    hints = typing.get_type_hints(factory)
    params = list(inspect.signature(factory).parameters)
    values: list[Any] = []
    for name_, arg in zip(params, args, strict=False):
        kind = hints.get(name_)
        try:
            values.append(kind(arg) if kind in (int, float) else arg)
        except ValueError:
            raise InvalidParameterError(f"saved query {name}: {name_} must be a number") from None
    if len(args) > len(params):
        raise InvalidParameterError(f"saved query {name} takes {len(params)} argument(s)")
    try:
        return factory(*values).query
    except TypeError as exc:
        raise InvalidParameterError(f"saved query {name}: {exc}") from None


def saved_query_names() -> list[str]:
    """The saved queries' names, for the query pane's hint."""
    return list(SAVED_QUERIES)


def check_pattern(text: str) -> FilterPattern | None:
    """The compiled filter pattern (None for an empty one); raises FilterPatternError."""
    if not text.strip():
        return None
    return compile_pattern(text)
