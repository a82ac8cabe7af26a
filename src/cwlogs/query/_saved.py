"""The saved queries: named Logs Insights queries, each with its filter-pattern twin.

>>> sorted(SAVED_QUERIES)[:2]
['error_count_by_tenant', 'one_trace']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from cwlogs.query._insights import check_correlation, quote


@dataclass(frozen=True)
class SavedQuery:
    """A named Logs Insights query plus, where one exists, the equivalent filter pattern.

    The pattern lets the same question be asked of FilterLogEvents (and checked locally)
    where Insights is unavailable.

    >>> q = slow_requests(500)
    >>> q.pattern
    '{ $.duration_ms > 500 }'
    """

    name: str
    query: str
    pattern: str | None
    description: str


def recent_errors(limit: int = 100) -> SavedQuery:
    """The latest error events."""
    return SavedQuery(
        "recent_errors",
        "fields @timestamp, @log, @logStream, service, message, trace_id"
        ' | filter level = "error" or level = "critical"'
        f" | sort @timestamp desc | limit {int(limit)}",
        '{ $.level = "error" || $.level = "critical" }',
        "the latest error and critical events",
    )


def one_trace(trace_id: str, field_name: str = "trace_id") -> SavedQuery:
    """Every event of one trace, oldest first."""
    check_correlation(field_name, trace_id, "one_trace")
    return SavedQuery(
        "one_trace",
        "fields @timestamp, @log, service, level, message"
        f" | filter {field_name} = {quote(trace_id)} | sort @timestamp asc",
        f"{{ $.{field_name} = {quote(trace_id)} }}",
        f"all events with {field_name} {trace_id}",
    )


def slow_requests(threshold_ms: float = 1000, limit: int = 100) -> SavedQuery:
    """Requests whose ``duration_ms`` is over ``threshold_ms``, slowest first."""
    threshold = f"{threshold_ms:g}"
    return SavedQuery(
        "slow_requests",
        "fields @timestamp, service, path, status, duration_ms, trace_id"
        f" | filter duration_ms > {threshold} | sort duration_ms desc | limit {int(limit)}",
        f"{{ $.duration_ms > {threshold} }}",
        f"requests slower than {threshold} ms",
    )


def error_count_by_tenant() -> SavedQuery:
    """Error counts per ``tenant_id``, most first."""
    return SavedQuery(
        "error_count_by_tenant",
        'filter level = "error" | stats count(*) as errors by tenant_id | sort errors desc',
        '{ $.level = "error" && $.tenant_id = * }',
        "errors per tenant",
    )


def responses_5xx(limit: int = 100) -> SavedQuery:
    """Requests answered with a 5xx status."""
    return SavedQuery(
        "responses_5xx",
        "fields @timestamp, service, method, path, status, trace_id"
        f" | filter status >= 500 | sort @timestamp desc | limit {int(limit)}",
        "{ $.status >= 500 }",
        "responses with status 500-599",
    )


def top_error_messages(limit: int = 10) -> SavedQuery:
    """The most frequent error messages."""
    return SavedQuery(
        "top_error_messages",
        'filter level = "error" | stats count(*) as occurrences by message'
        f" | sort occurrences desc | limit {int(limit)}",
        '{ $.level = "error" }',
        "the most frequent error messages",
    )


#: The saved queries by name, for menus and tools.
SAVED_QUERIES: Final[Mapping[str, Callable[..., SavedQuery]]] = {
    "recent_errors": recent_errors,
    "one_trace": one_trace,
    "slow_requests": slow_requests,
    "error_count_by_tenant": error_count_by_tenant,
    "responses_5xx": responses_5xx,
    "top_error_messages": top_error_messages,
}
