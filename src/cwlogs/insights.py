"""Logs Insights, cross-group correlation, statistics and the saved queries.

The public face of those parts of :mod:`cwlogs.query` (``_insights``, ``_saved``,
``_stats``), which exports every name here too. Where an endpoint cannot run Insights,
or ignores part of a query (moto ignores ``filter`` and ``stats``), correlation and
statistics fall back to FilterLogEvents and check every event client-side.

>>> slow_requests(500).pattern
'{ $.duration_ms > 500 }'
"""

from __future__ import annotations

from cwlogs.query import (
    MAX_QUERY_LIMIT,
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
    "MAX_QUERY_LIMIT",
    "SAVED_QUERIES",
    "QueryProgress",
    "QueryResult",
    "SavedQuery",
    "StatsKey",
    "by_request_id",
    "by_trace_id",
    "correlate",
    "error_count_by_tenant",
    "insights",
    "one_trace",
    "recent_errors",
    "responses_5xx",
    "slow_requests",
    "statistics",
    "top_error_messages",
]
