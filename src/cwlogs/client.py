"""The one place that builds the boto3 ``logs`` client: handler, query API and CLI share it.

An explicit argument beats an environment variable, which beats a default; region,
profile and endpoint fall back to boto3's own resolution (``AWS_REGION``,
``AWS_PROFILE``, ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` / ``AWS_ENDPOINT_URL``).

>>> client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:5000")
>>> client.meta.region_name
'us-east-1'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["DEFAULT_REGION", "NO_RETRIES", "make_client"]

#: Used when neither an argument, the environment nor the profile names a region,
#: so that a local endpoint works without any AWS configuration.
DEFAULT_REGION = "us-east-1"

#: cwlogs retries with tenacity; botocore's own layer is off so every attempt is counted.
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
