"""Logs Insights (:func:`insights`) and cross-group correlation (:func:`correlate`).

Where an endpoint cannot run Insights, or ignores part of a query (moto ignores
``filter``), correlation falls back to FilterLogEvents and checks every event
client-side.

>>> result = insights("/shop/prod/api", "stats count(*) by level", since="1h")  # doctest: +SKIP
>>> from cwlogs.simulate import replay
>>> _ = replay(['{"trace_id": "4bf92f35", "msg": "POST /pay"}'], "/shop/api", time_scale=0)
>>> _ = replay(['{"trace_id": "4bf92f35", "msg": "declined"}'], "/shop/payments", time_scale=0)
>>> [(e.group, e.text) for e in by_trace_id(["/shop/api", "/shop/payments"], "4bf92f35")]
[('/shop/api', 'POST /pay'), ('/shop/payments', 'declined')]
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar

from cwlogs._aws.calls import call_api
from cwlogs._aws.client import resolve_client
from cwlogs.errors import (
    CwlogsError,
    InvalidParameterError,
    QueryError,
    QueryFailedError,
    QueryTimeoutError,
)
from cwlogs.query._args import check_order, group_specs, renamed_times
from cwlogs.query._groups import expand_groups
from cwlogs.query._model import LogEvent, sort_key
from cwlogs.query._reads import filter_events
from cwlogs.timeparse import TimeLike, to_epoch_ms

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- Logs Insights

_TERMINAL: Final = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})

#: Called after each GetQueryResults poll with the query's status and its statistics
#: so far (``recordsMatched``, ``recordsScanned``, ``bytesScanned``, ...).
QueryProgress: TypeAlias = Callable[[str, Mapping[str, float]], None]


@dataclass(frozen=True)
class QueryResult:
    """What a Logs Insights query returned: rows as dicts, ``@ptr`` kept aside in ``pointers``.

    >>> result = QueryResult("q-1", "Complete", [{"level": "error", "n": "3"}], [None], {})
    >>> result.rows[0]["n"]
    '3'
    """

    query_id: str
    status: str
    rows: list[dict[str, str]]
    pointers: list[str | None]
    statistics: dict[str, float]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, str]]:
        return iter(self.rows)

    def events(self, default_group: str = "") -> list[LogEvent]:
        """Rows that carry ``@timestamp`` and ``@message``, as :class:`LogEvent`."""
        out: list[LogEvent] = []
        for row in self.rows:
            event = _row_event(row, default_group)
            if event is not None:
                out.append(event)
        return out


def insights_time(value: str) -> int | None:
    # AWS prints "2024-05-01 12:00:00.000" (UTC); moto prints epoch milliseconds.
    try:
        return to_epoch_ms(value.strip())
    except CwlogsError:
        return None


def _row_event(row: Mapping[str, str], default_group: str) -> LogEvent | None:
    ts = insights_time(row.get("@timestamp", ""))
    message = row.get("@message")
    if ts is None or message is None:
        return None
    group = row.get("@log") or default_group
    # @log reads "123456789012:/my/group" on AWS and "/my/group" on moto.
    account, sep, rest = group.partition(":")
    if sep and account.isdigit():
        group = rest
    return LogEvent.from_message(message, ts, group, row.get("@logStream", ""))


#: The most rows one Logs Insights query returns (StartQuery's ``limit``).
MAX_QUERY_LIMIT: Final = 10_000


def insights(
    groups: str | Sequence[str],
    query: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    limit: int | None = None,
    timeout: float = 60.0,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    poll_interval: float = 0.2,
    max_poll_interval: float = 2.0,
    client: CloudWatchLogsClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: QueryProgress | None = None,
) -> QueryResult:
    """Run a Logs Insights query and wait for it: StartQuery, then GetQueryResults with back-off.

    A malformed query raises :class:`~cwlogs.errors.MalformedQueryError` with the service's
    message; a ``Failed`` query :class:`~cwlogs.errors.QueryFailedError`. After ``timeout``
    seconds the query is stopped and :class:`~cwlogs.errors.QueryTimeoutError` raised
    (its message says whether stopping worked); on KeyboardInterrupt the query is
    stopped and the interrupt re-raised. ``limit`` is 1 to 10,000 rows. Not every
    endpoint evaluates every command (moto ignores ``filter`` and ``stats``): results
    are returned as served.
    ``progress(status, statistics)`` is called after every GetQueryResults poll, e.g. to
    show ``recordsScanned`` while the query runs.

    >>> result = insights("/shop/prod/api", "stats count(*) by level", since="1h")  # doctest: +SKIP
    >>> result.rows  # doctest: +SKIP
    [{'level': 'error', 'count(*)': '12'}, {'level': 'info', 'count(*)': '480'}]
    """
    since, until = renamed_times("insights", since, until, start, end)
    names = [groups] if isinstance(groups, str) else list(groups)
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise InvalidParameterError(f"insights needs log group names, not {groups!r}")
    if limit is not None and not 1 <= limit <= MAX_QUERY_LIMIT:
        raise InvalidParameterError(f"limit must be 1 to {MAX_QUERY_LIMIT:,}, got {limit!r}")
    c = resolve_client(client)
    start_ms = to_epoch_ms(since if since is not None else "1h")
    end_ms = to_epoch_ms(until if until is not None else "now")
    check_order(start_ms, end_ms)
    start_s = start_ms // 1000
    end_s = -(-end_ms // 1000)
    kwargs: dict[str, Any] = {
        "logGroupNames": names,
        "startTime": start_s,
        "endTime": end_s,
        "queryString": query,
    }
    if limit is not None:
        kwargs["limit"] = limit
    started = call_api("StartQuery", lambda: c.start_query(**kwargs), retry=False)
    query_id = started["queryId"]
    deadline = time.monotonic() + timeout
    interval = poll_interval
    try:
        while True:
            # A hung GetQueryResults would block past the deadline (botocore waits up to
            # its read timeout and retries), so each poll waits only for the time left.
            response = _within(
                lambda: call_api("GetQueryResults", lambda: c.get_query_results(queryId=query_id)),
                max(_MIN_POLL_WAIT, deadline - time.monotonic()),
            )
            if response is None:
                stopped = _stop_query(c, query_id)
                raise QueryTimeoutError(
                    f"query {query_id}: no answer from GetQueryResults within {timeout:g} s; "
                    f"{stopped}",
                    operation="GetQueryResults",
                )
            status = str(response.get("status", "Unknown"))
            if progress is not None:
                progress(status, _statistics(response))
            if status in _TERMINAL:
                return _finish(query_id, status, response)
            if time.monotonic() >= deadline:
                stopped = _stop_query(c, query_id)
                raise QueryTimeoutError(
                    f"query {query_id} still {status.lower()} after {timeout:g} s; {stopped}",
                    operation="GetQueryResults",
                )
            sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(max_poll_interval, interval * 2)
    except KeyboardInterrupt:
        _log.debug("query %s interrupted: %s", query_id, _stop_query(c, query_id))
        raise


_T = TypeVar("_T")

#: The least time a poll is given, even one made just before the deadline.
_MIN_POLL_WAIT: Final = 0.25


def _within(call: Callable[[], _T], seconds: float) -> _T | None:
    """``call()``'s result, or None if it has not returned within ``seconds``.

    The call runs on a daemon thread that is abandoned on timeout (it ends when the
    connection does); its exception, if any, is raised here.
    """
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="cwlogs-query-poll", daemon=True).start()
    if not done.wait(seconds):
        return None
    ok, value = outcome[0]
    if not ok:
        raise value
    result: _T = value
    return result


def _stop_query(client: CloudWatchLogsClient, query_id: str) -> str:
    """Ask the service to stop the query; what happened, for the caller's message."""
    try:
        call_api("StopQuery", lambda: client.stop_query(queryId=query_id), retry=False)
    except CwlogsError as err:
        # The query ends on its own within the service's limit; failing to stop it early
        # must not hide why we stopped (moto, for one, does not implement StopQuery).
        # Only the code: an emulator's error body can be a whole HTML page.
        _log.debug("could not stop Logs Insights query %s: %s", query_id, err)
        return f"could not stop it ({err.code or type(err).__name__}); the service ends it"
    return "stopped it"


def _finish(query_id: str, status: str, response: Mapping[str, Any]) -> QueryResult:
    if status == "Failed":
        raise QueryFailedError(f"query {query_id} failed", code="Failed", operation="StartQuery")
    if status == "Timeout":
        raise QueryTimeoutError(
            f"query {query_id} timed out in the service", code="Timeout", operation="StartQuery"
        )
    if status == "Cancelled":
        raise QueryError(f"query {query_id} was cancelled", code="Cancelled", operation="StopQuery")
    rows: list[dict[str, str]] = []
    pointers: list[str | None] = []
    for raw in response.get("results", []):
        row = {str(cell.get("field", "")): str(cell.get("value", "")) for cell in raw}
        pointers.append(row.pop("@ptr", None))
        rows.append(row)
    return QueryResult(query_id, status, rows, pointers, _statistics(response))


def _statistics(response: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in (response.get("statistics") or {}).items()}


# --------------------------------------------------------------------------- correlation

_FIELD_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_MAX_INSIGHTS_ROWS: Final = 10_000


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_correlation(field_name: object, value: object, function: str) -> None:
    if not isinstance(field_name, str) or not isinstance(value, str):
        # A number or a list would be quoted as its repr and silently match nothing.
        name, given = (
            ("field_name", field_name) if not isinstance(field_name, str) else ("value", value)
        )
        raise TypeError(f"{function}(): {name} must be a string, not {given!r}")
    if not _FIELD_RE.match(field_name):
        raise InvalidParameterError(f"not a JSON field name: {field_name!r}")
    if not value or any(ch in value for ch in '*"\\\n'):
        # A wildcard would match other ids in the JSON pattern; quotes cannot be escaped
        # the same way in both query languages.
        raise InvalidParameterError(f"not an id to correlate on: {value!r}")


def _verified(event: LogEvent, field_name: str, value: str, prefix: bool = False) -> bool:
    found = event.get(field_name)
    if found is None:
        return False
    return str(found).startswith(value) if prefix else str(found) == value


def correlate(
    groups: str | Sequence[str],
    field_name: str,
    value: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    use_insights: bool | Literal["auto"] = "auto",
    timeout: float = 30.0,
    client: CloudWatchLogsClient | None = None,
    prefix: bool = False,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> list[LogEvent]:
    """Every event in ``groups`` whose JSON ``field_name`` equals ``value``, sorted by time.

    With ``prefix=True`` the field need only start with ``value`` (an id shortened for
    display, such as the first 8 characters of a trace id the CLI shows).

    Tries Logs Insights first (``use_insights``); if the endpoint cannot run it, or returns
    rows that fail the client-side check (it ignored the ``filter``), it falls back to
    FilterLogEvents with ``{ $.field = "value" }`` in each group. Every returned event is
    checked client-side, so no endpoint can return strangers. Groups may be names,
    prefixes or wildcards, expanded like the CLI does (:func:`~cwlogs.query.expand_groups`).

    >>> from cwlogs.simulate import replay
    >>> api = ['{"order_id": "o-42", "msg": "order placed"}', '{"order_id": "o-7", "msg": "?"}']
    >>> _ = replay(api, ("/shop/api", "web-1"), time_scale=0)
    >>> payments = ['{"order_id": "o-42", "msg": "card charged"}']
    >>> _ = replay(payments, ("/shop/payments", "pay-1"), time_scale=0)
    >>> for e in correlate(["/shop/api", "/shop/payments"], "order_id", "o-42"):
    ...     print(e.group, e.stream, e.text)
    /shop/api web-1 order placed
    /shop/payments pay-1 card charged
    """
    since, until = renamed_times("correlate", since, until, start, end)
    group_specs(groups, "correlate")
    check_correlation(field_name, value, "correlate")
    begin: TimeLike = since if since is not None else "1h"
    c = resolve_client(client)
    names = expand_groups(groups, client=c)
    if use_insights is not False:
        found = _correlate_insights(names, field_name, value, begin, until, timeout, c, prefix)
        if found is not None:
            return found
    pattern = f"{{ $.{field_name} = {quote(value + ('*' if prefix else ''))} }}"
    out: list[LogEvent] = []
    for group in names:
        out.extend(
            e
            for e in filter_events(group, pattern, since=begin, until=until, client=c)
            if _verified(e, field_name, value, prefix)
        )
    out.sort(key=sort_key)
    return out


def _correlate_insights(
    names: list[str],
    field_name: str,
    value: str,
    start: TimeLike,
    end: TimeLike | None,
    timeout: float,
    client: CloudWatchLogsClient,
    prefix: bool = False,
) -> list[LogEvent] | None:
    # check_correlation keeps regex metacharacters other than "." out of a prefix.
    test = f"like /^{re.escape(value)}/" if prefix else f"= {quote(value)}"
    query = (
        "fields @timestamp, @message, @logStream, @log"
        f" | filter {field_name} {test}"
        f" | sort @timestamp asc | limit {_MAX_INSIGHTS_ROWS}"
    )
    try:
        result = insights(names, query, since=start, until=end, timeout=timeout, client=client)
    except CwlogsError as err:
        _log.debug("correlate: Insights unavailable (%s); using FilterLogEvents", err)
        return None
    events = result.events(names[0] if len(names) == 1 else "")
    if len(events) != len(result.rows) or len(result.rows) >= _MAX_INSIGHTS_ROWS:
        return None
    if not all(_verified(e, field_name, value, prefix) and e.group for e in events):
        _log.debug("correlate: the endpoint did not evaluate the filter; using FilterLogEvents")
        return None
    events.sort(key=sort_key)
    return events


def by_trace_id(
    groups: str | Sequence[str],
    trace_id: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    field_name: str = "trace_id",
    use_insights: bool | Literal["auto"] = "auto",
    client: CloudWatchLogsClient | None = None,
    prefix: bool = False,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> list[LogEvent]:
    """One trace across services: events from every group with ``trace_id``, merged by time.

    Groups may be names, prefixes (``/shop/prod/``) or wildcards, as on the command line.
    ``prefix=True`` finds the traces whose id starts with ``trace_id`` (a short id).

    >>> from cwlogs.simulate import replay
    >>> api = ['{"service": "api", "level": "info", "trace_id": "4bf92f35", "msg": "POST /pay"}']
    >>> _ = replay(api, "/shop/api", time_scale=0)
    >>> payments = [
    ...     '{"service": "payments", "level": "error", "trace_id": "4bf92f35", "msg": "declined"}',
    ...     '{"service": "payments", "level": "info", "trace_id": "9c0ffee1", "msg": "charged"}',
    ... ]
    >>> _ = replay(payments, "/shop/payments", time_scale=0)
    >>> for e in by_trace_id(["/shop/api", "/shop/payments"], "4bf92f35"):
    ...     print(e.timestamp, e.group, e.service, e.level, e.text)
    20... /shop/api api info POST /pay
    20... /shop/payments payments error declined
    """
    since, until = renamed_times("by_trace_id", since, until, start, end)
    group_specs(groups, "by_trace_id")
    check_correlation(field_name, trace_id, "by_trace_id")
    return correlate(
        groups, field_name, trace_id, since=since, until=until, use_insights=use_insights,
        client=client, prefix=prefix,
    )  # fmt: skip


def by_request_id(
    groups: str | Sequence[str],
    request_id: str,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    field_name: str = "request_id",
    use_insights: bool | Literal["auto"] = "auto",
    client: CloudWatchLogsClient | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> list[LogEvent]:
    """One request across services, like :func:`by_trace_id` but on ``request_id``.

    >>> from cwlogs.simulate import replay
    >>> _ = replay(['{"request_id": "r-123", "msg": "GET /cart"}'], "/shop/api", time_scale=0)
    >>> [e.text for e in by_request_id("/shop/api", "r-123", since="1d")]
    ['GET /cart']
    """
    since, until = renamed_times("by_request_id", since, until, start, end)
    return correlate(
        groups, field_name, request_id, since=since, until=until, use_insights=use_insights,
        client=client,
    )  # fmt: skip
