"""The one place that builds the boto3 ``logs`` client: handler, query API and CLI share it.

An explicit argument beats an environment variable, which beats a default; region,
profile and endpoint fall back to boto3's own resolution (``AWS_REGION``,
``AWS_PROFILE``, ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` / ``AWS_ENDPOINT_URL``).

>>> client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:5000")
>>> client.meta.region_name
'us-east-1'
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

import boto3
from botocore.config import Config

from cwlogs.awserrors import map_exception
from cwlogs.errors import CwlogsError
from cwlogs.retry import call_with_retries

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["DEFAULT_REGION", "NO_RETRIES", "call_api", "make_client", "paginate", "resolve_client"]

_T = TypeVar("_T")

#: Used when neither an argument, the environment nor the profile names a region,
#: so that a local endpoint works without any AWS configuration.
DEFAULT_REGION = "us-east-1"

#: cwlogs retries in :func:`cwlogs.retry.call_with_retries`; botocore's own layer is off so
#: every attempt is counted.
#: ``max_attempts=1`` would still retry once; ``total_max_attempts=1`` does not.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def make_client(
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    boto3_session: boto3.Session | None = None,
    boto_config: Config | None = None,
    retries: bool = False,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
    max_pool_connections: int = 10,
    **config_kwargs: Any,
) -> CloudWatchLogsClient:
    """Build a CloudWatch Logs client.

    ``retries=False`` (the default) turns botocore's retries off; the caller owns retrying.
    A user's ``boto_config`` is merged on top of cwlogs' defaults, so its settings win.
    """
    session = boto3_session or boto3.Session(profile_name=profile)
    base = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        user_agent_extra="cwlogs/0.1",
        **config_kwargs,
    )
    if not retries:
        base = base.merge(NO_RETRIES)
    if boto_config is not None:
        base = base.merge(boto_config)
    resolved_region = region or session.region_name or DEFAULT_REGION
    return session.client(
        "logs", region_name=resolved_region, endpoint_url=endpoint_url, config=base
    )


# --------------------------------------------------------------------------- shared plumbing

_ENV_KEYS: Final = (
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
)
_default_lock = threading.Lock()
_default_client: tuple[tuple[str | None, ...], CloudWatchLogsClient] | None = None


def resolve_client(client: CloudWatchLogsClient | None = None) -> CloudWatchLogsClient:
    """``client`` if given, else one shared :func:`make_client` client.

    The shared client is rebuilt when the endpoint, region or profile variables change,
    so a test that points ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` elsewhere is honoured.

    >>> resolve_client().meta.service_model.service_name  # doctest: +SKIP
    'logs'
    """
    global _default_client
    if client is not None:
        return client
    key = tuple(os.environ.get(name) for name in _ENV_KEYS)
    with _default_lock:
        if _default_client is None or _default_client[0] != key:
            _default_client = (key, make_client())
        return _default_client[1]


@contextmanager
def _mapped(operation: str) -> Iterator[None]:
    try:
        yield
    except CwlogsError:
        raise
    except Exception as exc:
        raise map_exception(exc, operation) from exc


def call_api(
    operation: str,
    call: Callable[[], _T],
    *,
    retry: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> _T:
    """Run one AWS call, mapping errors to the taxonomy and retrying per
    :func:`cwlogs.retry.policy_for` in the one retry loop the sender uses too.

    botocore's retries are off in :func:`make_client`, so this is the only retry layer.

    >>> call_api("DescribeLogGroups", lambda: client.describe_log_groups())  # doctest: +SKIP
    """

    def mapped() -> _T:
        with _mapped(operation):
            return call()

    return call_with_retries(mapped, sleep=sleep, rng=rng, retry=retry)


def paginate(
    operation: str,
    method: Callable[..., Mapping[str, Any]],
    items_key: str,
    kwargs: Mapping[str, Any],
) -> Iterator[dict[str, Any]]:
    """Every item of a ``nextToken``-paginated call, each page through :func:`call_api`.

    Stops on a missing or repeated token (some endpoints repeat the last one).

    >>> names = [g["logGroupName"] for g in paginate(
    ...     "DescribeLogGroups", client.describe_log_groups, "logGroups", {})]  # doctest: +SKIP
    """
    args = dict(kwargs)
    seen: set[str] = set()
    while True:
        page = call_api(operation, lambda: method(**args))
        for item in page.get(items_key, []):
            yield dict(item)
        token = page.get("nextToken")
        if not token or token in seen:
            return
        seen.add(token)
        args["nextToken"] = token
