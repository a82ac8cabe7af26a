"""Log groups: describe, list, create, delete, tags, and retention.

>>> validate_retention(30)
30
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from cwlogs._aws.calls import call_api, call_idempotent, paginate
from cwlogs._aws.client import resolve_client
from cwlogs._shipping.limits import RETENTION_DAYS
from cwlogs.errors import InvalidParameterError, ResourceAlreadyExistsError, ResourceNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


def describe_log_group(
    name: str, *, client: CloudWatchLogsClient | None = None
) -> dict[str, Any] | None:
    """The DescribeLogGroups entry for exactly ``name``, or None if it does not exist.

    >>> create_log_group("/shop/staging/api", retention_days=30)
    True
    >>> describe_log_group("/shop/staging/api")["retentionInDays"]
    30
    >>> describe_log_group("/shop/staging/ap") is None
    True
    """
    for group in list_log_groups(name, client=client):
        if group["logGroupName"] == name:
            return group
    return None


def log_group_exists(name: str, *, client: CloudWatchLogsClient | None = None) -> bool:
    """Whether the log group ``name`` exists.

    >>> log_group_exists("/shop/staging/api")
    False
    >>> create_log_group("/shop/staging/api")
    True
    >>> log_group_exists("/shop/staging/api")
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

    >>> for name in ("/shop/staging/api", "/shop/production/api", "/billing/api"):
    ...     _ = create_log_group(name)
    >>> [g["logGroupName"] for g in list_log_groups("/shop/")]
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

    >>> create_log_group("/shop/staging/api", tags={"team": "shop"})
    True
    >>> create_log_group("/shop/staging/api", exist_ok=True)
    False
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
    if not call_idempotent(
        "CreateLogGroup",
        lambda: c.create_log_group(**kwargs),
        ResourceAlreadyExistsError,
        tolerate=exist_ok,
    ):
        return False
    if retention_days is not None:
        set_retention(name, retention_days, client=c)
    return True


def delete_log_group(
    name: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a log group and its events; returns False if it was already gone and ``missing_ok``.

    >>> create_log_group("/shop/staging/api")
    True
    >>> delete_log_group("/shop/staging/api", missing_ok=True)
    True
    >>> delete_log_group("/shop/staging/api", missing_ok=True)
    False
    """
    c = resolve_client(client)
    return call_idempotent(
        "DeleteLogGroup",
        lambda: c.delete_log_group(logGroupName=name),
        ResourceNotFoundError,
        tolerate=missing_ok,
    )


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

    >>> create_log_group("/shop/staging/api", tags={"team": "shop"})
    True
    >>> log_group_tags("/shop/staging/api")
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

    >>> create_log_group("/shop/staging/api", tags={"team": "shop"})
    True
    >>> tag_log_group("/shop/staging/api", {"owner": "ops"})
    >>> log_group_tags("/shop/staging/api") == {"team": "shop", "owner": "ops"}
    True
    """
    c = resolve_client(client)
    arn = _group_arn(name, c)
    call_api("TagResource", lambda: c.tag_resource(resourceArn=arn, tags=dict(tags)))


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
    """Keep ``group``'s events for ``days`` (one of the values CloudWatch accepts).

    >>> create_log_group("/shop/staging/api")
    True
    >>> set_retention("/shop/staging/api", 30)
    >>> get_retention("/shop/staging/api")
    30
    """
    validate_retention(days)
    c = resolve_client(client)
    call_api(
        "PutRetentionPolicy",
        lambda: c.put_retention_policy(logGroupName=group, retentionInDays=days),
    )


def remove_retention(group: str, *, client: CloudWatchLogsClient | None = None) -> None:
    """Keep ``group``'s events forever.

    >>> create_log_group("/shop/staging/api", retention_days=30)
    True
    >>> remove_retention("/shop/staging/api")
    >>> get_retention("/shop/staging/api") is None
    True
    """
    c = resolve_client(client)
    call_api("DeleteRetentionPolicy", lambda: c.delete_retention_policy(logGroupName=group))


def get_retention(group: str, *, client: CloudWatchLogsClient | None = None) -> int | None:
    """Days ``group`` keeps events, or None for forever.

    >>> create_log_group("/shop/staging/api", retention_days=30)
    True
    >>> get_retention("/shop/staging/api")
    30
    """
    found = describe_log_group(group, client=client)
    if found is None:
        raise ResourceNotFoundError(
            f"log group {group!r} does not exist", code="ResourceNotFoundException"
        )
    days = found.get("retentionInDays")
    return int(days) if days is not None else None
