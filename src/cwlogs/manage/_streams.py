"""Log streams: create, delete, list, ensure, and the newest event time of a group.

>>> ensure_log_stream("/shop/staging/api", "replay")
True
>>> [s["logStreamName"] for s in list_log_streams("/shop/staging/api")]
['replay']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cwlogs._aws.calls import call_api, call_idempotent, paginate
from cwlogs._aws.client import resolve_client
from cwlogs.errors import ResourceAlreadyExistsError, ResourceNotFoundError
from cwlogs.manage._groups import create_log_group

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


def create_log_stream(
    group: str, stream: str, *, exist_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Create a log stream; returns False if it already existed and ``exist_ok`` is set.

    >>> create_log_group("/shop/staging/api")
    True
    >>> create_log_stream("/shop/staging/api", "web-1")
    True
    >>> create_log_stream("/shop/staging/api", "web-1", exist_ok=True)
    False
    """
    c = resolve_client(client)
    return call_idempotent(
        "CreateLogStream",
        lambda: c.create_log_stream(logGroupName=group, logStreamName=stream),
        ResourceAlreadyExistsError,
        tolerate=exist_ok,
    )


def delete_log_stream(
    group: str, stream: str, *, missing_ok: bool = False, client: CloudWatchLogsClient | None = None
) -> bool:
    """Delete a log stream; returns False if it was already gone and ``missing_ok`` is set.

    >>> ensure_log_stream("/shop/staging/api", "web-1")
    True
    >>> delete_log_stream("/shop/staging/api", "web-1")
    True
    >>> delete_log_stream("/shop/staging/api", "web-1", missing_ok=True)
    False
    """
    c = resolve_client(client)
    return call_idempotent(
        "DeleteLogStream",
        lambda: c.delete_log_stream(logGroupName=group, logStreamName=stream),
        ResourceNotFoundError,
        tolerate=missing_ok,
    )


def last_event_time(group: str, *, client: CloudWatchLogsClient | None = None) -> int | None:
    """Epoch ms of the newest event in ``group`` (None for an empty group).

    DescribeLogGroups does not say; the streams do. Asks for the streams ordered by last
    event and takes the maximum of the first page itself, so an endpoint that ignores
    the ordering (moto) still answers right for groups of up to 50 streams.

    >>> ensure_log_stream("/shop/staging/api", "web-1")
    True
    >>> last_event_time("/shop/staging/api") is None
    True

    Once the group has events (AWS updates a stream's last event time within about an
    hour of ingestion, so the answer can lag):

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

    >>> for stream in ("web-2", "web-1", "worker-1"):
    ...     _ = ensure_log_stream("/shop/staging/api", stream)
    >>> [s["logStreamName"] for s in list_log_streams("/shop/staging/api", "web-")]
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

    >>> ensure_log_stream("/shop/staging/api", "replay")
    True
    >>> ensure_log_stream("/shop/staging/api", "replay")
    False
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
