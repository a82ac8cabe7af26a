"""Metric filters (with the built-in ones cwlogs' alarms use) and subscription filters.

Patterns are validated locally (:mod:`cwlogs.filterpattern`) before they are sent.

>>> error_count_filter("Shop/api").transformation()["metricName"]
'ErrorCount'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cwlogs._aws.calls import call_api, call_idempotent, paginate
from cwlogs._aws.client import resolve_client
from cwlogs.errors import ResourceNotFoundError
from cwlogs.filterpattern import validate_pattern

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

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

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/staging/api")
    True
    >>> put_metric_filter("/shop/staging/api", error_count_filter("Shop/api"))
    >>> describe_metric_filters("/shop/staging/api")[0]["filterPattern"]
    '{ $.level = "error" }'
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

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/staging/api")
    True
    >>> put_metric_filter("/shop/staging/api", error_count_filter("Shop/api"))
    >>> put_metric_filter("/shop/staging/api", status_5xx_filter("Shop/api"))
    >>> sorted(f["filterName"] for f in describe_metric_filters("/shop/staging/api"))
    ['5xx-count', 'error-count']
    >>> [f["filterName"] for f in describe_metric_filters("/shop/staging/api", prefix="error")]
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

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/staging/api")
    True
    >>> put_metric_filter("/shop/staging/api", error_count_filter("Shop/api"))
    >>> delete_metric_filter("/shop/staging/api", "error-count")
    True
    >>> describe_metric_filters("/shop/staging/api")
    []
    """
    c = resolve_client(client)
    return call_idempotent(
        "DeleteMetricFilter",
        lambda: c.delete_metric_filter(logGroupName=group, filterName=name),
        ResourceNotFoundError,
        tolerate=missing_ok,
    )


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

    To a Kinesis stream, with a role that lets CloudWatch Logs put records in it:

    >>> import boto3
    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/api")
    True
    >>> kinesis = boto3.client("kinesis")
    >>> _ = kinesis.create_stream(StreamName="shop-errors", ShardCount=1)
    >>> kinesis.get_waiter("stream_exists").wait(StreamName="shop-errors")
    >>> described = kinesis.describe_stream(StreamName="shop-errors")
    >>> kinesis_arn = described["StreamDescription"]["StreamARN"]
    >>> role_arn = "arn:aws:iam::123456789012:role/CWLtoKinesisRole"
    >>> put_subscription_filter("/shop/api", "errors", "ERROR", kinesis_arn, role_arn=role_arn)
    >>> [(f["filterName"], f["destinationArn"]) for f in describe_subscription_filters("/shop/api")]
    [('errors', 'arn:aws:kinesis:us-east-1:...:stream/shop-errors')]
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

    A group starts with none (:func:`put_subscription_filter` adds one):

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/api")
    True
    >>> describe_subscription_filters("/shop/api")
    []
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

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/staging/api")
    True
    >>> delete_subscription_filter("/shop/staging/api", "errors", missing_ok=True)
    False
    """
    c = resolve_client(client)
    return call_idempotent(
        "DeleteSubscriptionFilter",
        lambda: c.delete_subscription_filter(logGroupName=group, filterName=name),
        ResourceNotFoundError,
        tolerate=missing_ok,
    )
