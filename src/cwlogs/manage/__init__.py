"""Manage log groups, streams, retention, metric and subscription filters; provision declaratively.

Every function takes an optional ``client=`` (default: :func:`cwlogs.client.make_client`
resolved from the environment) and raises the :mod:`cwlogs.errors` taxonomy, never a
raw botocore error. :func:`apply` makes an account match a TOML/YAML/dict description
and reports what it created or changed; running it twice changes nothing the second time.

The API wrappers live in ``_groups`` (groups, tags, retention), ``_streams``,
``_filters`` (metric and subscription filters) and ``_query_definitions``; ``apply`` in
``_config`` (reading the description), ``_plan`` (what changes) and ``_apply`` (doing it).

>>> create_log_group("/shop/staging/api", retention_days=30)
True
>>> get_retention("/shop/staging/api")
30
"""

from __future__ import annotations

from cwlogs.manage._apply import apply
from cwlogs.manage._config import (
    DEFAULT_ENVIRONMENTS,
    AlarmSpec,
    GroupSpec,
    QuerySpec,
    load_config,
)
from cwlogs.manage._filters import (
    MetricFilterSpec,
    delete_metric_filter,
    delete_subscription_filter,
    describe_metric_filters,
    describe_subscription_filters,
    error_count_filter,
    put_metric_filter,
    put_subscription_filter,
    request_count_filter,
    status_5xx_filter,
)
from cwlogs.manage._groups import (
    create_log_group,
    delete_log_group,
    describe_log_group,
    get_retention,
    list_log_groups,
    log_group_exists,
    log_group_tags,
    remove_retention,
    set_retention,
    tag_log_group,
    validate_retention,
)
from cwlogs.manage._plan import Change, Plan
from cwlogs.manage._query_definitions import (
    get_query_definition,
    list_query_definitions,
    put_query_definition,
)
from cwlogs.manage._streams import (
    create_log_stream,
    delete_log_stream,
    ensure_log_stream,
    last_event_time,
    list_log_streams,
)

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "AlarmSpec",
    "Change",
    "GroupSpec",
    "MetricFilterSpec",
    "Plan",
    "QuerySpec",
    "apply",
    "create_log_group",
    "create_log_stream",
    "delete_log_group",
    "delete_log_stream",
    "delete_metric_filter",
    "delete_subscription_filter",
    "describe_log_group",
    "describe_metric_filters",
    "describe_subscription_filters",
    "ensure_log_stream",
    "error_count_filter",
    "get_query_definition",
    "get_retention",
    "last_event_time",
    "list_log_groups",
    "list_log_streams",
    "list_query_definitions",
    "load_config",
    "log_group_exists",
    "log_group_tags",
    "put_metric_filter",
    "put_query_definition",
    "put_subscription_filter",
    "remove_retention",
    "request_count_filter",
    "set_retention",
    "status_5xx_filter",
    "tag_log_group",
    "validate_retention",
]
