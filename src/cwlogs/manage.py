"""Manage log groups, streams, retention, metric and subscription filters; provision declaratively.

Every function takes an optional ``client=`` (default: :func:`cwlogs.client.make_client`
resolved from the environment) and raises the :mod:`cwlogs.errors` taxonomy, never a
raw botocore error. :func:`apply` makes an account match a TOML/YAML/dict description
and reports what it created or changed; running it twice changes nothing the second time.

>>> create_log_group("/shop/staging/api", retention_days=30)  # doctest: +SKIP
True
>>> get_retention("/shop/staging/api")  # doctest: +SKIP
30
"""

from __future__ import annotations

import importlib
import json
import os
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

import boto3

from cwlogs._shipping.limits import RETENTION_DAYS
from cwlogs.client import call_api, paginate, resolve_client
from cwlogs.errors import (
    ConfigurationError,
    InvalidParameterError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from cwlogs.filterpattern import validate_pattern

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "AlarmSpec",
    "Change",
    "GroupSpec",
    "MetricFilterSpec",
    "Plan",
    "QuerySpec",
    "apply",
    "call_api",
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
    "resolve_client",
    "set_retention",
    "status_5xx_filter",
    "tag_log_group",
    "validate_retention",
]

# --------------------------------------------------------------------------- plumbing


def _is_aws_endpoint(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def _sibling_client(logs: CloudWatchLogsClient, service: str) -> Any:
    """A client for another service in the same region, on the same endpoint when it is local.

    moto and LocalStack serve every service on one port, so a logs client pointed at
    one of them implies where CloudWatch and SNS live too.
    """
    endpoint = logs.meta.endpoint_url
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=logs.meta.region_name,
        endpoint_url=None if _is_aws_endpoint(endpoint) else endpoint,
    )


# --------------------------------------------------------------------------- log groups


def describe_log_group(
    name: str, *, client: CloudWatchLogsClient | None = None
) -> dict[str, Any] | None:
    """The DescribeLogGroups entry for exactly ``name``, or None if it does not exist.

    >>> describe_log_group("/shop/staging/api")["retentionInDays"]  # doctest: +SKIP
    30
    """
    for group in list_log_groups(name, client=client):
        if group["logGroupName"] == name:
            return group
    return None


def log_group_exists(name: str, *, client: CloudWatchLogsClient | None = None) -> bool:
    """Whether the log group ``name`` exists.

    >>> log_group_exists("/shop/staging/api")  # doctest: +SKIP
    True
    """
    return describe_log_group(name, client=client) is not None


def list_log_groups(
    prefix: str | None = None,
    *,
    page_size: int | None = None,
    client: CloudWatchLogsClient | None = None,
) -> Iterator[dict[str, Any]]:
    """Every log group whose name starts with ``prefix``, across all pages.

    Uses DescribeLogGroups, which every endpoint implements (moto lacks ListLogGroups).

    >>> [g["logGroupName"] for g in list_log_groups("/shop/")]  # doctest: +SKIP
    ['/shop/production/api', '/shop/staging/api']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {}
    if prefix:
        kwargs["logGroupNamePrefix"] = prefix
    if page_size is not None:
        kwargs["limit"] = page_size
    yield from paginate("DescribeLogGroups", c.describe_log_groups, "logGroups", kwargs)


def create_log_group(
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    kms_key_id: str | None = None,
    log_group_class: Literal["STANDARD", "INFREQUENT_ACCESS"] | str | None = None,
    retention_days: int | None = None,
    exist_ok: bool = False,
    client: CloudWatchLogsClient | None = None,
) -> bool:
    """Create a log group; returns False if it already existed and ``exist_ok`` is set.

    Retention is validated before anything is created, so a bad value leaves nothing behind.

    >>> create_log_group("/shop/staging/api", tags={"team": "shop"})  # doctest: +SKIP
    True
    """
    if retention_days is not None:
        validate_retention(retention_days)
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"logGroupName": name}
    if tags:
        kwargs["tags"] = dict(tags)
    if kms_key_id:
        kwargs["kmsKeyId"] = kms_key_id
    if log_group_class:
        kwargs["logGroupClass"] = log_group_class
    try:
        call_api("CreateLogGroup", lambda: c.create_log_group(**kwargs))
    except ResourceAlreadyExistsError:
        if not exist_ok:
            raise
        return False
    if retention_days is not None:
        set_retention(name, retention_days, client=c)
    return True


def delete_log_group(
    name: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a log group and its events; returns False if it was already gone and ``missing_ok``.

    >>> delete_log_group("/shop/staging/api", missing_ok=True)  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        call_api("DeleteLogGroup", lambda: c.delete_log_group(logGroupName=name))
    except ResourceNotFoundError:
        if not missing_ok:
            raise
        return False
    return True


def _group_arn(name: str, client: CloudWatchLogsClient) -> str:
    group = describe_log_group(name, client=client)
    if group is None:
        raise ResourceNotFoundError(
            f"log group {name!r} does not exist", code="ResourceNotFoundException"
        )
    arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
    return str(arn)


def log_group_tags(name: str, *, client: CloudWatchLogsClient | None = None) -> dict[str, str]:
    """The tags on a log group.

    >>> log_group_tags("/shop/staging/api")  # doctest: +SKIP
    {'team': 'shop'}
    """
    c = resolve_client(client)
    arn = _group_arn(name, c)
    response = call_api("ListTagsForResource", lambda: c.list_tags_for_resource(resourceArn=arn))
    return dict(response.get("tags", {}))


def tag_log_group(
    name: str, tags: Mapping[str, str], *, client: CloudWatchLogsClient | None = None
) -> None:
    """Add or overwrite ``tags`` on a log group; other tags are kept.

    >>> tag_log_group("/shop/staging/api", {"owner": "ops"})  # doctest: +SKIP
    """
    c = resolve_client(client)
    arn = _group_arn(name, c)
    call_api("TagResource", lambda: c.tag_resource(resourceArn=arn, tags=dict(tags)))


# --------------------------------------------------------------------------- streams


def create_log_stream(
    group: str, stream: str, *, exist_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Create a log stream; returns False if it already existed and ``exist_ok`` is set.

    >>> create_log_stream("/shop/staging/api", "web-1")  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        call_api(
            "CreateLogStream",
            lambda: c.create_log_stream(logGroupName=group, logStreamName=stream),
        )
    except ResourceAlreadyExistsError:
        if not exist_ok:
            raise
        return False
    return True


def delete_log_stream(
    group: str, stream: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a log stream; returns False if it was already gone and ``missing_ok`` is set.

    >>> delete_log_stream("/shop/staging/api", "web-1")  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        call_api(
            "DeleteLogStream",
            lambda: c.delete_log_stream(logGroupName=group, logStreamName=stream),
        )
    except ResourceNotFoundError:
        if not missing_ok:
            raise
        return False
    return True


def last_event_time(group: str, *, client: CloudWatchLogsClient | None = None) -> int | None:
    """Epoch ms of the newest event in ``group`` (None for an empty group).

    DescribeLogGroups does not say; the streams do. Asks for the streams ordered by last
    event and takes the maximum of the first page itself, so an endpoint that ignores
    the ordering (moto) still answers right for groups of up to 50 streams.

    >>> last_event_time("/shop/staging/api")  # doctest: +SKIP
    1795465056348
    """
    c = resolve_client(client)
    page = call_api(
        "DescribeLogStreams",
        lambda: c.describe_log_streams(
            logGroupName=group, orderBy="LastEventTime", descending=True, limit=50
        ),
    )
    times = [s.get("lastEventTimestamp") for s in page.get("logStreams", [])]
    latest = max((t for t in times if t), default=None)
    return int(latest) if latest is not None else None


def list_log_streams(
    group: str,
    prefix: str | None = None,
    *,
    page_size: int | None = None,
    client: CloudWatchLogsClient | None = None,
) -> Iterator[dict[str, Any]]:
    """Every stream of ``group`` whose name starts with ``prefix``, across all pages.

    >>> [s["logStreamName"] for s in list_log_streams("/shop/staging/api")]  # doctest: +SKIP
    ['web-1', 'web-2']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"logGroupName": group}
    if prefix:
        kwargs["logStreamNamePrefix"] = prefix
    if page_size is not None:
        kwargs["limit"] = page_size
    yield from paginate("DescribeLogStreams", c.describe_log_streams, "logStreams", kwargs)


def ensure_log_stream(
    group: str,
    stream: str,
    *,
    create_group: bool = True,
    client: CloudWatchLogsClient | None = None,
) -> bool:
    """Make sure ``group``/``stream`` exist (the group too, if allowed); True if any was created.

    >>> ensure_log_stream("/shop/staging/api", "replay")  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        return create_log_stream(group, stream, exist_ok=True, client=c)
    except ResourceNotFoundError:
        if not create_group:
            raise
    create_log_group(group, exist_ok=True, client=c)
    create_log_stream(group, stream, exist_ok=True, client=c)
    return True


# --------------------------------------------------------------------------- retention


def validate_retention(days: int) -> int:
    """Return ``days`` if PutRetentionPolicy accepts it, else raise listing the valid values.

    >>> validate_retention(30)
    30
    """
    if isinstance(days, bool) or not isinstance(days, int) or days not in RETENTION_DAYS:
        valid = ", ".join(str(d) for d in RETENTION_DAYS)
        raise InvalidParameterError(
            f"retention of {days!r} days is not accepted by CloudWatch Logs; valid values: {valid}",
            code="InvalidParameterException",
            operation="PutRetentionPolicy",
        )
    return days


def set_retention(group: str, days: int, *, client: CloudWatchLogsClient | None = None) -> None:
    """Keep ``group``'s events for ``days`` (one of :data:`cwlogs.limits.RETENTION_DAYS`).

    >>> set_retention("/shop/staging/api", 30)  # doctest: +SKIP
    """
    validate_retention(days)
    c = resolve_client(client)
    call_api(
        "PutRetentionPolicy",
        lambda: c.put_retention_policy(logGroupName=group, retentionInDays=days),
    )


def remove_retention(group: str, *, client: CloudWatchLogsClient | None = None) -> None:
    """Keep ``group``'s events forever.

    >>> remove_retention("/shop/staging/api")  # doctest: +SKIP
    """
    c = resolve_client(client)
    call_api("DeleteRetentionPolicy", lambda: c.delete_retention_policy(logGroupName=group))


def get_retention(group: str, *, client: CloudWatchLogsClient | None = None) -> int | None:
    """Days ``group`` keeps events, or None for forever.

    >>> get_retention("/shop/staging/api")  # doctest: +SKIP
    30
    """
    found = describe_log_group(group, client=client)
    if found is None:
        raise ResourceNotFoundError(
            f"log group {group!r} does not exist", code="ResourceNotFoundException"
        )
    days = found.get("retentionInDays")
    return int(days) if days is not None else None


# --------------------------------------------------------------------------- metric filters


@dataclass(frozen=True)
class MetricFilterSpec:
    """A metric filter: events matching ``pattern`` add ``value`` to ``namespace/metric_name``.

    >>> error_count_filter("Shop/api").pattern
    '{ $.level = "error" }'
    """

    name: str
    pattern: str
    metric_name: str
    namespace: str
    value: str = "1"
    default_value: float | None = None
    unit: str | None = None
    dimensions: Mapping[str, str] | None = None

    def transformation(self) -> dict[str, Any]:
        """The ``metricTransformations`` entry the service expects."""
        out: dict[str, Any] = {
            "metricName": self.metric_name,
            "metricNamespace": self.namespace,
            "metricValue": self.value,
        }
        if self.default_value is not None:
            out["defaultValue"] = self.default_value
        if self.unit is not None:
            out["unit"] = self.unit
        if self.dimensions:
            out["dimensions"] = dict(self.dimensions)
        return out


def error_count_filter(
    namespace: str, *, name: str = "error-count", metric_name: str = "ErrorCount"
) -> MetricFilterSpec:
    """Counts events whose JSON ``level`` is ``error``.

    >>> error_count_filter("Shop/api").metric_name
    'ErrorCount'
    """
    return MetricFilterSpec(name, '{ $.level = "error" }', metric_name, namespace, default_value=0)


def status_5xx_filter(
    namespace: str, *, name: str = "5xx-count", metric_name: str = "Status5xxCount"
) -> MetricFilterSpec:
    """Counts events whose JSON ``status`` is 500 or more.

    >>> status_5xx_filter("Shop/api").pattern
    '{ $.status >= 500 }'
    """
    return MetricFilterSpec(name, "{ $.status >= 500 }", metric_name, namespace, default_value=0)


def request_count_filter(
    namespace: str, *, name: str = "request-count", metric_name: str = "RequestCount"
) -> MetricFilterSpec:
    """Counts events that carry a numeric JSON ``status``: one per request served.

    >>> request_count_filter("Shop/api").pattern
    '{ $.status > 0 }'
    """
    return MetricFilterSpec(name, "{ $.status > 0 }", metric_name, namespace, default_value=0)


def put_metric_filter(
    group: str, spec: MetricFilterSpec, *, client: CloudWatchLogsClient | None = None
) -> None:
    """Create or replace a metric filter; the pattern is validated locally first.

    >>> put_metric_filter("/shop/staging/api", error_count_filter("Shop/api"))  # doctest: +SKIP
    """
    validate_pattern(spec.pattern)
    c = resolve_client(client)
    transformation: Any = spec.transformation()
    call_api(
        "PutMetricFilter",
        lambda: c.put_metric_filter(
            logGroupName=group,
            filterName=spec.name,
            filterPattern=spec.pattern,
            metricTransformations=[transformation],
        ),
    )


def describe_metric_filters(
    group: str, *, prefix: str | None = None, client: CloudWatchLogsClient | None = None
) -> list[dict[str, Any]]:
    """The metric filters on ``group`` (names starting with ``prefix``), across all pages.

    >>> [f["filterName"] for f in describe_metric_filters("/shop/staging/api")]  # doctest: +SKIP
    ['error-count']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"logGroupName": group}
    if prefix:
        kwargs["filterNamePrefix"] = prefix
    return list(
        paginate("DescribeMetricFilters", c.describe_metric_filters, "metricFilters", kwargs)
    )


def delete_metric_filter(
    group: str, name: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a metric filter; returns False if it was already gone and ``missing_ok`` is set.

    >>> delete_metric_filter("/shop/staging/api", "error-count")  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        call_api(
            "DeleteMetricFilter",
            lambda: c.delete_metric_filter(logGroupName=group, filterName=name),
        )
    except ResourceNotFoundError:
        if not missing_ok:
            raise
        return False
    return True


# --------------------------------------------------------------------------- subscriptions


def put_subscription_filter(
    group: str,
    name: str,
    pattern: str,
    destination_arn: str,
    *,
    role_arn: str | None = None,
    distribution: Literal["ByLogStream", "Random"] | None = None,
    client: CloudWatchLogsClient | None = None,
) -> None:
    """Stream events matching ``pattern`` to Kinesis, Firehose or Lambda (at most 2 per group).

    >>> put_subscription_filter("/shop/api", "errors", "ERROR", kinesis_arn)  # doctest: +SKIP
    """
    validate_pattern(pattern)
    c = resolve_client(client)
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "filterName": name,
        "filterPattern": pattern,
        "destinationArn": destination_arn,
    }
    if role_arn:
        kwargs["roleArn"] = role_arn
    if distribution:
        kwargs["distribution"] = distribution
    call_api("PutSubscriptionFilter", lambda: c.put_subscription_filter(**kwargs))


def describe_subscription_filters(
    group: str, *, prefix: str | None = None, client: CloudWatchLogsClient | None = None
) -> list[dict[str, Any]]:
    """The subscription filters on ``group``.

    >>> [f["filterName"] for f in describe_subscription_filters("/shop/api")]  # doctest: +SKIP
    ['errors']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"logGroupName": group}
    if prefix:
        kwargs["filterNamePrefix"] = prefix
    return list(
        paginate(
            "DescribeSubscriptionFilters",
            c.describe_subscription_filters,
            "subscriptionFilters",
            kwargs,
        )
    )


def delete_subscription_filter(
    group: str, name: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a subscription filter; returns False if it was already gone and ``missing_ok``.

    >>> delete_subscription_filter("/shop/staging/api", "errors")  # doctest: +SKIP
    True
    """
    c = resolve_client(client)
    try:
        call_api(
            "DeleteSubscriptionFilter",
            lambda: c.delete_subscription_filter(logGroupName=group, filterName=name),
        )
    except ResourceNotFoundError:
        if not missing_ok:
            raise
        return False
    return True


# --------------------------------------------------------------------------- saved queries


def list_query_definitions(
    prefix: str | None = None, *, client: CloudWatchLogsClient | None = None
) -> Iterator[dict[str, Any]]:
    """The account's saved Logs Insights queries (query definitions) whose names start with
    ``prefix``: what the console's "Saved queries" shows, shared with the whole team.

    >>> [d["name"] for d in list_query_definitions("shop/")]  # doctest: +SKIP
    ['shop/errors', 'shop/slow']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"maxResults": 1000}
    if prefix:
        kwargs["queryDefinitionNamePrefix"] = prefix
    yield from paginate(
        "DescribeQueryDefinitions", c.describe_query_definitions, "queryDefinitions", kwargs
    )


def get_query_definition(
    name: str, *, client: CloudWatchLogsClient | None = None
) -> dict[str, Any] | None:
    """The saved query named exactly ``name`` (``queryString``, ``logGroupNames``, ...), or None.

    >>> get_query_definition("shop/errors")["queryString"]  # doctest: +SKIP
    'fields @timestamp, @message | filter level = "error"'
    """
    if not name:
        raise InvalidParameterError("a saved query needs a name", code="InvalidParameterException")
    # The name is used as a prefix, so "errors" also lists "errors-old": keep the exact one.
    return next(
        (d for d in list_query_definitions(name, client=client) if d.get("name") == name), None
    )


def put_query_definition(
    name: str,
    query: str,
    *,
    groups: Sequence[str] = (),
    definition_id: str | None = None,
    client: CloudWatchLogsClient | None = None,
) -> str:
    """Save (or, with ``definition_id``, replace) a Logs Insights query; returns its ID.

    >>> put_query_definition("shop/errors", "fields @message", groups=["/a"])  # doctest: +SKIP
    'a1b2c3d4-...'
    """
    if isinstance(groups, str):
        raise InvalidParameterError(
            f"groups must be a list of log group names, not the string {groups!r}",
            code="InvalidParameterException",
        )
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"name": name, "queryString": query}
    if groups:
        kwargs["logGroupNames"] = list(groups)
    if definition_id:
        kwargs["queryDefinitionId"] = definition_id
    response = call_api("PutQueryDefinition", lambda: c.put_query_definition(**kwargs))
    return str(response.get("queryDefinitionId", ""))


# --------------------------------------------------------------------------- provisioning

#: Retention each environment gets unless the configuration says otherwise.
DEFAULT_ENVIRONMENTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "staging": {"retention_days": 30},
    "production": {"retention_days": 90},
}

_BUILTIN_FILTERS: Final[dict[str, Callable[[str], MetricFilterSpec]]] = {
    "error_count": error_count_filter,
    "5xx_count": status_5xx_filter,
    "request_count": request_count_filter,
}
_GROUP_KEYS: Final = frozenset(
    {"name", "retention_days", "kms_key_id", "log_group_class", "tags", "metric_filters",
     "namespace", "alarms"}
)  # fmt: skip
_SETTING_KEYS: Final = frozenset(
    {"retention_days", "kms_key_id", "log_group_class", "tags", "namespace", "alarms"}
)
_TOP_KEYS: Final = _SETTING_KEYS | {"environment", "environments", "groups", "queries"}
_QUERY_KEYS: Final = frozenset({"name", "query", "groups"})
_ALARM_KEYS: Final = frozenset({"sns_topic", "error_count_per_minute", "error_rate_5xx_percent"})
_PLACEHOLDERS: Final = ("environment", "env")


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm, as the keyword arguments of ``PutMetricAlarm``."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class GroupSpec:
    """What one log group should look like after :func:`apply`."""

    name: str
    retention_days: int | None = None
    kms_key_id: str | None = None
    log_group_class: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metric_filters: tuple[MetricFilterSpec, ...] = ()
    alarms: tuple[AlarmSpec, ...] = ()
    sns_topic: str | None = None


@dataclass(frozen=True)
class QuerySpec:
    """A saved Logs Insights query (a CloudWatch query definition) that :func:`apply` keeps."""

    name: str
    query: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One thing :func:`apply` did (or, in a dry run, would do).

    ``action`` is ``create``, ``update`` or ``drift`` (differs, but cannot be changed in place).
    """

    action: Literal["create", "update", "drift"]
    kind: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        mark = {"create": "+", "update": "~", "drift": "!"}[self.action]
        text = f"{mark} {self.action} {self.kind} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class Plan:
    """The outcome of :func:`apply`: what changed (or would), and how much was already right."""

    environment: str | None
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when the account did not already match (drift alone counts as unchanged)."""
        return any(c.action != "drift" for c in self.changes)

    @property
    def pending(self) -> int:
        """How many changes were made (or, in a dry run, would be); drift is not counted."""
        return sum(c.action != "drift" for c in self.changes)

    def __str__(self) -> str:
        """The plan of a dry run, or the confirmation of a real one: the first line says which."""
        env = self.environment or "no environment"
        if self.dry_run:
            head = f"cwlogs plan ({env}) [dry run: nothing was changed]"
            foot = f"{self.pending} to change, {self.unchanged} unchanged"
        elif self.pending:
            head = f"cwlogs applied ({env})"
            foot = f"applied {self.pending} change(s); {self.unchanged} already matched"
        else:
            head = f"cwlogs applied ({env})"
            foot = f"nothing to change; {self.unchanged} already matched"
        return "\n".join([head, *(f"  {c}" for c in self.changes), f"  {foot}"])


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read a provisioning description: a dict, or a ``.toml``, ``.json`` or ``.yaml`` file.

    TOML is read with ``tomllib`` (``tomli`` on Python 3.10, a cwlogs dependency there);
    YAML needs PyYAML, which cwlogs does not install.

    >>> load_config({"groups": [{"name": "/app"}]})["groups"][0]["name"]
    '/app'
    """
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError("config", f"cannot read {path}: {exc}") from exc
    if suffix == ".toml":
        toml = _toml_module()
        try:
            loaded: Any = toml.loads(raw.decode("utf-8"))
        except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                "config",
                f"{path} is YAML, which needs PyYAML (pip install pyyaml); "
                "or use TOML, JSON or a dict",
            ) from exc
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    elif suffix == ".json":
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    else:
        raise ConfigurationError("config", f"{path}: use a .toml, .json, .yaml file or a dict")
    if not isinstance(loaded, dict):
        raise ConfigurationError("config", f"{path}: the top level must be a table/mapping")
    return loaded


def _toml_module() -> Any:
    """``tomllib`` (Python 3.11+), else ``tomli``, the same parser, installed on 3.10."""
    try:
        import tomllib

        return tomllib
    except ImportError:
        pass
    try:
        # By name: mypy checks for 3.11, where tomli need not be installed.
        return importlib.import_module("tomli")
    except ImportError as exc:
        raise ConfigurationError(
            "config", "reading TOML on Python < 3.11 needs tomli (pip install tomli)"
        ) from exc


def _check_keys(where: str, given: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigurationError(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key in ("tags", "alarms") and isinstance(value, Mapping):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def _expand_name(template: str, environment: str | None, where: str) -> str:
    """``{environment}`` (or ``{env}``) filled in; any other or unset placeholder refused.

    Left to ``str.format``, an unset environment would silently name a group ``/svc/x-``.
    """
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigurationError(
            where, f"{template!r}: {exc}; write a literal brace as {{{{ or }}}}"
        ) from exc
    for placeholder in fields:
        if placeholder not in _PLACEHOLDERS:
            raise ConfigurationError(
                where,
                f"{template!r} uses {{{placeholder}}}; the only placeholders are "
                + " and ".join(f"{{{p}}}" for p in _PLACEHOLDERS),
            )
        if not environment:
            raise ConfigurationError(
                where,
                f"{template!r} uses {{{placeholder}}} but no environment is set; "
                'pass environment= (CLI: --env) or set environment = "..." in the file',
            )
    return template.format(environment=environment or "", env=environment or "")


def _namespace_for(group: str) -> str:
    # Metric names are the same in every group, so the namespace keeps groups apart.
    return "LogMetrics/" + group.strip("/")


def _alarm_specs(
    group: str, namespace: str, alarms: Mapping[str, Any], topic: str
) -> list[AlarmSpec]:
    out: list[AlarmSpec] = []
    common = {"AlarmActions": [topic], "TreatMissingData": "notBreaching", "EvaluationPeriods": 1}
    per_minute = alarms.get("error_count_per_minute")
    if per_minute is not None:
        name = f"{group} error-count"
        out.append(
            AlarmSpec(
                name,
                {
                    "AlarmName": name,
                    "AlarmDescription": f"more than {per_minute} errors per minute in {group}",
                    "Namespace": namespace,
                    "MetricName": "ErrorCount",
                    "Statistic": "Sum",
                    "Period": 60,
                    "Threshold": float(per_minute),
                    "ComparisonOperator": "GreaterThanThreshold",
                    **common,
                },
            )
        )
    percent = alarms.get("error_rate_5xx_percent")
    if percent is not None:
        name = f"{group} 5xx-rate"

        def stat(metric_id: str, metric: str) -> dict[str, Any]:
            return {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }

        out.append(
            AlarmSpec(
                name,
                {
                    "AlarmName": name,
                    "AlarmDescription": f"more than {percent}% of requests answered 5xx in {group}",
                    "Metrics": [
                        {
                            "Id": "rate",
                            "Expression": "100 * errors / requests",
                            "Label": "5xx rate (%)",
                            "ReturnData": True,
                        },
                        stat("errors", "Status5xxCount"),
                        stat("requests", "RequestCount"),
                    ],
                    "Threshold": float(percent),
                    "ComparisonOperator": "GreaterThanThreshold",
                    **common,
                },
            )
        )
    return out


def _group_specs(config: Mapping[str, Any], environment: str | None) -> list[GroupSpec]:
    _check_keys("config", config, _TOP_KEYS)
    environments = config.get("environments") or {}
    known = sorted({*DEFAULT_ENVIRONMENTS, *environments})
    if environment is not None and environment not in known:
        raise ConfigurationError(
            "environment",
            f"{environment!r} is not one of {known} (built in: {sorted(DEFAULT_ENVIRONMENTS)})",
        )
    env_layer = dict(environments.get(environment, {})) if environment else {}
    _check_keys(f"environments.{environment}", env_layer, _SETTING_KEYS)
    base = _merge(
        DEFAULT_ENVIRONMENTS.get(environment or "", {}),
        {k: v for k, v in config.items() if k in _SETTING_KEYS},
        env_layer,
    )
    groups = config.get("groups")
    if groups is None and config.get("queries"):
        return []  # a file of saved queries only
    if not isinstance(groups, list) or not groups:
        raise ConfigurationError("groups", "list at least one group ([[groups]] name = ...)")
    specs: list[GroupSpec] = []
    for index, raw in enumerate(groups):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise ConfigurationError(f"groups[{index}]", "each group needs a name")
        _check_keys(f"groups[{index}]", raw, _GROUP_KEYS)
        merged = _merge(base, raw)
        name = _expand_name(str(merged["name"]), environment, f"groups[{index}].name")
        retention = merged.get("retention_days")
        if retention is not None:
            validate_retention(retention)
        namespace = str(merged.get("namespace") or _namespace_for(name))
        wanted: list[Any] = list(merged.get("metric_filters") or [])
        alarms = dict(merged.get("alarms") or {})
        _check_keys(f"{name}.alarms", alarms, _ALARM_KEYS)
        # An alarm is useless without the metric it watches, so alarms bring their filters.
        if alarms.get("error_count_per_minute") is not None:
            wanted.append("error_count")
        if alarms.get("error_rate_5xx_percent") is not None:
            wanted += ["5xx_count", "request_count"]
        filters: dict[str, MetricFilterSpec] = {}
        for item in wanted:
            spec = _filter_spec(name, namespace, item)
            filters.setdefault(spec.name, spec)
        alarm_specs: list[AlarmSpec] = []
        topic = alarms.get("sns_topic")
        if alarms.keys() - {"sns_topic"}:
            if not topic:
                raise ConfigurationError(f"{name}.alarms", "alarms need an sns_topic (name or ARN)")
            # The ARN is filled in once the topic is resolved; the name stands in until then.
            alarm_specs = _alarm_specs(name, namespace, alarms, str(topic))
        tags = merged.get("tags") or {}
        specs.append(
            GroupSpec(
                name=name,
                retention_days=retention,
                kms_key_id=merged.get("kms_key_id"),
                log_group_class=merged.get("log_group_class"),
                tags={str(k): str(v) for k, v in tags.items()},
                metric_filters=tuple(filters.values()),
                alarms=tuple(alarm_specs),
                sns_topic=str(topic) if alarm_specs else None,
            )
        )
    return specs


def _query_specs(config: Mapping[str, Any], environment: str | None) -> list[QuerySpec]:
    raw = config.get("queries") or []
    if not isinstance(raw, list):
        raise ConfigurationError(
            "queries", "a list of tables ([[queries]] name = ..., query = ...)"
        )
    specs: list[QuerySpec] = []
    for index, item in enumerate(raw):
        where = f"queries[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigurationError(where, f"not a table: {item!r}")
        _check_keys(where, item, _QUERY_KEYS)
        name, query, groups = item.get("name"), item.get("query"), item.get("groups", [])
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"{where}.name", "each saved query needs a name")
        if not isinstance(query, str) or not query.strip():
            raise ConfigurationError(f"{where}.query", f"{name!r} needs a query string")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ConfigurationError(f"{where}.groups", "a list of log group names")
        specs.append(
            QuerySpec(
                name=_expand_name(name, environment, f"{where}.name"),
                query=query,
                groups=tuple(_expand_name(g, environment, f"{where}.groups") for g in groups),
            )
        )
    return specs


def _filter_spec(group: str, namespace: str, item: Any) -> MetricFilterSpec:
    if isinstance(item, str):
        make = _BUILTIN_FILTERS.get(item)
        if make is None:
            raise ConfigurationError(
                f"{group}.metric_filters",
                f"unknown built-in {item!r}; use one of {sorted(_BUILTIN_FILTERS)} or a table",
            )
        return make(namespace)
    if isinstance(item, Mapping):
        try:
            spec = MetricFilterSpec(
                name=str(item["name"]),
                pattern=str(item["pattern"]),
                metric_name=str(item["metric_name"]),
                namespace=str(item.get("namespace", namespace)),
                value=str(item.get("value", "1")),
                default_value=item.get("default_value"),
                unit=item.get("unit"),
                dimensions=item.get("dimensions"),
            )
        except KeyError as exc:
            raise ConfigurationError(
                f"{group}.metric_filters", f"a metric filter table needs {exc.args[0]!r}"
            ) from exc
        validate_pattern(spec.pattern)
        return spec
    raise ConfigurationError(f"{group}.metric_filters", f"not a filter: {item!r}")


def _subset_equal(wanted: Any, actual: Any) -> bool:
    """Whether all of ``wanted`` is in ``actual``: services add defaults we never asked for."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            _subset_equal(v, actual.get(k)) for k, v in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(wanted) == len(actual)
            and all(_subset_equal(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    if isinstance(wanted, int | float) and isinstance(actual, int | float):
        return float(wanted) == float(actual)
    return bool(wanted == actual)


class _Provisioner:
    def __init__(
        self,
        plan: Plan,
        logs: CloudWatchLogsClient,
        cloudwatch: Any,
        sns: Any,
    ) -> None:
        self.plan = plan
        self.logs = logs
        self.cloudwatch = cloudwatch
        self.sns = sns
        self._topics: dict[str, str] = {}

    def change(
        self, action: Literal["create", "update", "drift"], kind: str, name: str, detail: str = ""
    ) -> None:
        self.plan.changes.append(Change(action, kind, name, detail))

    @property
    def live(self) -> bool:
        return not self.plan.dry_run

    def group(self, spec: GroupSpec) -> None:
        current = describe_log_group(spec.name, client=self.logs)
        if current is None:
            days = spec.retention_days
            parts = [f"retention {days} d" if days else "no retention"]
            if spec.kms_key_id:
                parts.append("KMS")
            if spec.tags:
                parts.append(f"{len(spec.tags)} tag(s)")
            self.change("create", "log group", spec.name, ", ".join(parts))
            if self.live:
                create_log_group(
                    spec.name,
                    tags=spec.tags,
                    kms_key_id=spec.kms_key_id,
                    log_group_class=spec.log_group_class,
                    retention_days=spec.retention_days,
                    client=self.logs,
                )
        else:
            self._existing_group(spec, current)
        for mf in spec.metric_filters:
            self.metric_filter(spec.name, mf, exists=current is not None)
        for alarm in spec.alarms:
            self.alarm(alarm, spec.sns_topic or "")

    def _existing_group(self, spec: GroupSpec, current: Mapping[str, Any]) -> None:
        have = current.get("retentionInDays")
        if spec.retention_days is not None and have != spec.retention_days:
            detail = f"{have or 'forever'} -> {spec.retention_days} d"
            self.change("update", "retention", spec.name, detail)
            if self.live:
                set_retention(spec.name, spec.retention_days, client=self.logs)
        else:
            self.plan.unchanged += 1
        if spec.kms_key_id and current.get("kmsKeyId") != spec.kms_key_id:
            self.change("update", "kms key", spec.name, f"-> {spec.kms_key_id}")
            if self.live:
                key = spec.kms_key_id
                call_api(
                    "AssociateKmsKey",
                    lambda: self.logs.associate_kms_key(logGroupName=spec.name, kmsKeyId=key),
                )
        have_class = current.get("logGroupClass")
        if spec.log_group_class and have_class and have_class != spec.log_group_class:
            self.change(
                "drift",
                "log group class",
                spec.name,
                f"is {have_class}, wanted {spec.log_group_class}; the class is fixed at creation",
            )
        if spec.tags:
            tags = log_group_tags(spec.name, client=self.logs)
            missing = {k: v for k, v in spec.tags.items() if tags.get(k) != v}
            if missing:
                detail = ", ".join(f"{k}={v}" for k, v in missing.items())
                self.change("update", "tags", spec.name, detail)
                if self.live:
                    tag_log_group(spec.name, missing, client=self.logs)
            else:
                self.plan.unchanged += 1

    def metric_filter(self, group: str, spec: MetricFilterSpec, *, exists: bool) -> None:
        current = None
        if exists:
            current = next(
                (
                    f
                    for f in describe_metric_filters(group, prefix=spec.name, client=self.logs)
                    if f.get("filterName") == spec.name
                ),
                None,
            )
        if current is None:
            self.change("create", "metric filter", f"{group}:{spec.name}", spec.pattern)
        elif current.get("filterPattern") != spec.pattern or not _subset_equal(
            [spec.transformation()], current.get("metricTransformations")
        ):
            self.change("update", "metric filter", f"{group}:{spec.name}", spec.pattern)
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            put_metric_filter(group, spec, client=self.logs)

    def query(self, spec: QuerySpec) -> None:
        current = get_query_definition(spec.name, client=self.logs)
        detail = f"{len(spec.groups)} log group(s)" if spec.groups else "no default log groups"
        if current is None:
            self.change("create", "saved query", spec.name, detail)
        elif current.get("queryString") != spec.query or sorted(
            current.get("logGroupNames") or []
        ) != sorted(spec.groups):
            self.change("update", "saved query", spec.name, detail)
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            put_query_definition(
                spec.name,
                spec.query,
                groups=spec.groups,
                definition_id=current.get("queryDefinitionId") if current else None,
                client=self.logs,
            )

    def topic_arn(self, topic: str) -> str:
        if topic.startswith("arn:"):
            return topic
        if topic in self._topics:
            return self._topics[topic]
        arn = self._find_topic(topic)
        if arn is None:
            self.change("create", "sns topic", topic)
            if self.live:
                arn = str(
                    call_api("CreateTopic", lambda: self.sns.create_topic(Name=topic))["TopicArn"]
                )
            else:
                arn = f"arn:aws:sns:{self.logs.meta.region_name}:<account>:{topic}"
        self._topics[topic] = arn
        return arn

    def _find_topic(self, name: str) -> str | None:
        kwargs: dict[str, Any] = {}
        while True:
            page = call_api("ListTopics", lambda: self.sns.list_topics(**kwargs))
            for entry in page.get("Topics", []):
                arn = str(entry.get("TopicArn", ""))
                if arn.rsplit(":", 1)[-1] == name:
                    return arn
            token = page.get("NextToken")
            if not token:
                return None
            kwargs["NextToken"] = token

    def alarm(self, spec: AlarmSpec, topic: str) -> None:
        params = {**spec.params, "AlarmActions": [self.topic_arn(topic)]}
        found = call_api(
            "DescribeAlarms", lambda: self.cloudwatch.describe_alarms(AlarmNames=[spec.name])
        ).get("MetricAlarms", [])
        if not found:
            self.change("create", "alarm", spec.name, str(params.get("AlarmDescription", "")))
        elif not _subset_equal(params, found[0]):
            self.change("update", "alarm", spec.name, str(params.get("AlarmDescription", "")))
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            call_api("PutMetricAlarm", lambda: self.cloudwatch.put_metric_alarm(**params))


def apply(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    environment: str | None = None,
    dry_run: bool = False,
    client: CloudWatchLogsClient | None = None,
    cloudwatch_client: Any = None,
    sns_client: Any = None,
) -> Plan:
    """Make the account match ``config`` (a dict or a TOML/JSON/YAML path); report what changed.

    Idempotent: a second run with the same config returns a plan with no changes. Groups
    and tags not in the config are left alone. ``dry_run`` changes nothing. Nothing is
    printed: ``str(plan)`` is the plan of a dry run or the confirmation of a real one.
    See the README for the configuration format.

    >>> plan = apply("logs.toml", environment="staging")  # doctest: +SKIP
    >>> plan.changed  # doctest: +SKIP
    True
    """
    loaded = load_config(config)
    env = environment or loaded.get("environment")
    specs = _group_specs(loaded, env)
    queries = _query_specs(loaded, env)
    logs = resolve_client(client)
    needs_alarms = any(spec.alarms for spec in specs)
    cloudwatch = cloudwatch_client
    sns = sns_client
    if needs_alarms:
        cloudwatch = cloudwatch or _sibling_client(logs, "cloudwatch")
        sns = sns or _sibling_client(logs, "sns")
    plan = Plan(environment=env, dry_run=dry_run)
    provisioner = _Provisioner(plan, logs, cloudwatch, sns)
    for spec in specs:
        provisioner.group(spec)
    for query in queries:
        provisioner.query(query)
    return plan
