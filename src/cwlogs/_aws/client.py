"""Building boto3 clients: the ``logs`` client cwlogs uses, the shared default one, siblings.

:func:`make_client` (public as :func:`cwlogs.client.make_client`) builds one with
botocore's retries off; :func:`resolve_client` is what every API function uses when given
no client, rebuilt when the endpoint, region or profile variables change;
:func:`sibling_client` builds CloudWatch and SNS clients beside a logs client.

>>> make_client(region="eu-west-1", endpoint_url="http://127.0.0.1:5000").meta.endpoint_url
'http://127.0.0.1:5000'
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

#: Used when neither an argument, the environment nor the profile names a region,
#: so that a local endpoint works without any AWS configuration.
DEFAULT_REGION = "us-east-1"

#: cwlogs retries in :func:`cwlogs._aws.retry.call_with_retries`; botocore's own layer is off so
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


# --------------------------------------------------------------------------- the shared client

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

    >>> resolve_client().meta.service_model.service_name
    'logs'
    >>> resolve_client() is resolve_client()
    True
    """
    global _default_client
    if client is not None:
        return client
    key = tuple(os.environ.get(name) for name in _ENV_KEYS)
    with _default_lock:
        if _default_client is None or _default_client[0] != key:
            _default_client = (key, make_client())
        return _default_client[1]


def is_aws_endpoint(url: str | None) -> bool:
    """Whether ``url`` is AWS's own endpoint (under amazonaws.com or api.aws), not an emulator's.

    >>> is_aws_endpoint("https://logs.eu-west-1.amazonaws.com")
    True
    >>> is_aws_endpoint("http://127.0.0.1:5000")
    False
    """
    host = urlsplit(url or "").hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def sibling_client(logs: CloudWatchLogsClient, service: str) -> Any:
    """A client for another service in the same region, on the same endpoint when it is local.

    moto and LocalStack serve every service on one port, so a logs client pointed at
    one of them implies where CloudWatch and SNS live too.
    """
    endpoint = logs.meta.endpoint_url
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=logs.meta.region_name,
        endpoint_url=None if is_aws_endpoint(endpoint) else endpoint,
    )
