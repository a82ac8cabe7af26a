"""Shared fixtures: a real CloudWatch Logs endpoint over HTTP for every integration test.

By default a moto server is started in a separate process and fronted by cwlogs'
StrictProxy, which rejects what AWS would reject and can inject faults. Set
``CWLOGS_TEST_ENDPOINT`` to run the same tests against LocalStack (``http://...``,
still behind the proxy) or real AWS (``https://logs.<region>.amazonaws.com``, no
proxy: tests that need fault injection are skipped with that reason).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cwlogs.client import make_client
from cwlogs.testing import MotoServer, StrictProxy

ENDPOINT_ENV = "CWLOGS_TEST_ENDPOINT"


@dataclass
class Endpoint:
    url: str
    proxy: StrictProxy | None
    real_aws: bool


@pytest.fixture(scope="session")
def endpoint() -> Iterator[Endpoint]:
    given = os.environ.get(ENDPOINT_ENV)
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
    if given and given.startswith("https://"):
        yield Endpoint(given, None, True)
        return
    if not given:
        # moto accepts any credentials; set them so a developer's real ones are never used.
        for key, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
        ):
            os.environ[key] = value
        os.environ.pop("AWS_PROFILE", None)
    server = None if given else MotoServer().start()
    upstream = given or server.url  # type: ignore[union-attr]
    proxy = StrictProxy(upstream).start()
    # Anything that resolves the endpoint from the environment (examples, CLI) finds it too.
    os.environ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = proxy.url
    try:
        yield Endpoint(proxy.url, proxy, False)
    finally:
        proxy.stop()
        if server is not None:
            server.stop()


@pytest.fixture
def proxy(endpoint: Endpoint) -> Iterator[StrictProxy]:
    """The strict recording proxy, cleared of records and faults for this test."""
    if endpoint.proxy is None:
        pytest.skip("needs the strict recording proxy; CWLOGS_TEST_ENDPOINT points at real AWS")
    endpoint.proxy.clear_faults()
    endpoint.proxy.clear()
    if endpoint.proxy.is_down:
        endpoint.proxy.set_down(False)
    yield endpoint.proxy
    endpoint.proxy.clear_faults()
    if endpoint.proxy.is_down:
        endpoint.proxy.set_down(False)


@pytest.fixture(scope="session")
def logs(endpoint: Endpoint) -> Any:
    """A boto3 logs client on the test endpoint (botocore retries off); one per session,
    since building one costs ~0.3 s."""
    return make_client(endpoint_url=endpoint.url)


@pytest.fixture
def fast_reads() -> Iterator[None]:
    """Lift the shared read rate limiter (5 TPS, the account quota) for a test: the local
    endpoint has no such quota. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from cwlogs.query import read_limiter

    limiter = read_limiter()
    saved = (limiter.rate, limiter.burst)
    limiter.configure(10_000)
    yield
    limiter.configure(*saved)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


@pytest.fixture
def group(request: pytest.FixtureRequest) -> str:
    """A log group name unique to this test."""
    name = re.sub(r"[^A-Za-z0-9_\-]", "-", request.node.name)[:80]
    return f"/cwlogs-test/{name}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_handler(endpoint: Endpoint, group: str) -> Iterator[Callable[..., Any]]:
    """Build CloudWatchHandlers on the test endpoint; each is closed after the test."""
    from cwlogs import CloudWatchHandler

    made: list[CloudWatchHandler] = []

    def factory(**kwargs: Any) -> CloudWatchHandler:
        kwargs.setdefault("log_group", group)
        kwargs.setdefault("endpoint_url", endpoint.url)
        kwargs.setdefault("shutdown_timeout", 10.0)
        handler = CloudWatchHandler(**kwargs)
        made.append(handler)
        return handler

    yield factory
    for handler in made:
        handler.close()


@pytest.fixture
def app_logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger private to this test that does not propagate to the root."""
    logger = logging.getLogger(f"app.{uuid.uuid4().hex[:8]}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    for h in list(logger.handlers):
        logger.removeHandler(h)


def read_events(client: Any, group: str, stream: str | None = None) -> list[dict[str, Any]]:
    """Every stored event of ``group`` (or one stream), in stream then time order."""
    if stream is None:
        streams: list[str] = []
        for page in client.get_paginator("describe_log_streams").paginate(logGroupName=group):
            streams.extend(s["logStreamName"] for s in page["logStreams"])
    else:
        streams = [stream]
    out: list[dict[str, Any]] = []
    for name in streams:
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": name,
                "startFromHead": True,
                "limit": 10_000,
            }
            if token:
                kwargs["nextToken"] = token
            page = client.get_log_events(**kwargs)
            for ev in page["events"]:
                out.append({**ev, "logStreamName": name})
            if page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    return out
