"""Read CloudWatch Logs back: typed events, pagination done right, merged reads, tail, Insights.

Every function takes an optional ``client=`` (default: the shared
:func:`~cwlogs.client.make_client` client) and time arguments in any form
:mod:`cwlogs.timeparse` accepts (``"15m"``, ``"1h ago"``, ISO-8601, epoch ms, datetimes).
Filter patterns are validated locally before they are sent and applied again to what
comes back, so an endpoint that ignores a pattern (moto, LocalStack) never returns strangers.

The parts: ``_model`` (:class:`LogEvent`, the level table), ``_ratelimit`` (the shared
read pace), ``_groups`` (prefixes, wildcards, close names), ``_reads`` (get, filter,
merged reads, search), ``_tail`` (following), ``_insights`` (Logs Insights and
correlation), ``_saved`` (the saved queries) and ``_stats`` (counts). Logs Insights is
also importable as :mod:`cwlogs.insights`.

>>> from cwlogs.simulate import replay
>>> messages = ['{"level": "info", "service": "api", "message": "GET /cart"}',
...             '{"level": "error", "service": "api", "message": "card declined"}']
>>> _ = replay(messages, "/shop/api", time_scale=0)
>>> for event in filter_events("/shop/api", '{ $.level = "error" }', since="15m"):
...     print(event.timestamp, event.service, event.text)
20... api card declined
"""

from __future__ import annotations

from cwlogs.query._args import Source
from cwlogs.query._groups import (
    expand_groups,
    find_log_groups,
    is_glob,
    not_found_error,
    suggest_groups,
)
from cwlogs.query._insights import (
    MAX_QUERY_LIMIT,
    QueryProgress,
    QueryResult,
    by_request_id,
    by_trace_id,
    correlate,
    insights,
)
from cwlogs.query._model import LEVEL_KEYS, LEVELS, LogEvent, normalise_level, parse_fields
from cwlogs.query._ratelimit import RateLimiter, read_limiter, set_read_rate
from cwlogs.query._reads import (
    PageProgress,
    filter_events,
    get_events,
    merged_events,
    read_groups,
    search,
)
from cwlogs.query._saved import (
    SAVED_QUERIES,
    SavedQuery,
    error_count_by_tenant,
    one_trace,
    recent_errors,
    responses_5xx,
    slow_requests,
    top_error_messages,
)
from cwlogs.query._stats import StatsKey, statistics
from cwlogs.query._tail import TailStatus, tail

__all__ = [
    "LEVELS",
    "LEVEL_KEYS",
    "MAX_QUERY_LIMIT",
    "SAVED_QUERIES",
    "LogEvent",
    "PageProgress",
    "QueryProgress",
    "QueryResult",
    "RateLimiter",
    "SavedQuery",
    "Source",
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
    "is_glob",
    "merged_events",
    "normalise_level",
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
