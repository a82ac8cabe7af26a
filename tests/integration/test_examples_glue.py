"""The integration examples run as written and their events arrive correlated and redacted.

Each example resolves the endpoint from AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (set by the
``endpoint`` fixture) and its log group from CWLOGS_LOG_GROUP.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import read_events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _by_logger(logs: Any, group: str) -> dict[str, list[dict[str, Any]]]:
    """Stored events grouped by logger, after checking that none holds the mailbox in any form."""
    stored = read_events(logs, group)
    assert not [e["message"] for e in stored if "jane" in e["message"]]
    out: dict[str, list[dict[str, Any]]] = {}
    for raw in stored:
        event = orjson.loads(raw["message"])
        out.setdefault(event["logger"], []).append(event)
    return out


def _run_example(name: str, group: str, **env: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env={**os.environ, "CWLOGS_LOG_GROUP": group, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def fastapi_example(
    endpoint: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """examples/fastapi_app.py imported as an app would be; its root handler removed after."""
    pytest.importorskip("fastapi", reason="FastAPI is not installed")
    monkeypatch.setenv("CWLOGS_LOG_GROUP", group)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    spec = importlib.util.spec_from_file_location("fastapi_example", EXAMPLES / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def test_fastapi_app(fastapi_example: ModuleType, logs: Any, group: str) -> None:
    """A request's app line and access line carry its IDs; the email arrives masked."""
    headers = {
        "X-Request-ID": "glue-fastapi",
        "X-Tenant-ID": "acme",
        "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
    }

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=fastapi_example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/orders/42", json={"email": "jane@example.com"}, headers=headers
            )

    response = asyncio.run(post())
    assert (200, "glue-fastapi") == (response.status_code, response.headers["x-request-id"])
    assert fastapi_example.handler.flush(timeout=10)
    events = _by_logger(logs, group)
    (app_line,) = events["orders"]
    (access,) = events["access"]
    assert "order 42 placed for [EMAIL_REDACTED]" == app_line["message"]
    for line in (app_line, access):
        assert ("glue-fastapi", "acme", TRACE) == (
            line["request_id"],
            line["tenant_id"],
            line["trace_id"],
        )
    assert ("POST", "/orders/42", 200) == (access["method"], access["path"], access["status"])


def test_django_project(endpoint: Any, logs: Any, group: str) -> None:
    """The one-file Django project ships a correlated app line and access line via LOGGING."""
    pytest.importorskip("django", reason="Django is not installed")
    assert "200 request id demo-django-1" in _run_example("django_settings.py", group)
    events = _by_logger(logs, group)
    (app_line,) = events["shop"]
    (access,) = events["shop.access"]
    assert "order 42 viewed by [EMAIL_REDACTED]" == app_line["message"]
    assert {("demo-django-1", "acme", "shop")} == {
        (e["request_id"], e["tenant_id"], e["service"]) for e in (app_line, access)
    }
    assert ("GET", "/orders/42", 200) == (access["method"], access["path"], access["status"])


def test_structlog_app(endpoint: Any, logs: Any, group: str) -> None:
    """structlog events arrive in the cwlogs schema, correlated, with the email masked."""
    pytest.importorskip("structlog", reason="structlog is an optional extra")
    assert "flushed: True" in _run_example("structlog_app.py", group)
    sent, retry = _by_logger(logs, group)["billing"]
    assert ("info", "invoice sent to [EMAIL_REDACTED]", 7) == (
        sent["level"],
        sent["message"],
        sent["invoice_id"],
    )
    assert ("error", "TimeoutError") == (retry["level"], retry["exception"]["type"])
    assert {("demo-structlog-1", "acme", "billing")} == {
        (e["request_id"], e["tenant_id"], e["service"]) for e in (sent, retry)
    }


def test_lambda_handler(endpoint: Any, logs: Any, group: str) -> None:
    """Two invocations: request IDs, cold_start true then false, the X-Ray root, PII masked."""
    _run_example(
        "lambda_handler.py",
        group,
        AWS_LAMBDA_FUNCTION_NAME="thumbnails",
        _X_AMZN_TRACE_ID=XRAY_HEADER,
    )
    first, second = _by_logger(logs, group)["thumbnails"]
    assert [("demo-lambda-1", True), ("demo-lambda-2", False)] == [
        (e["request_id"], e["cold_start"]) for e in (first, second)
    ]
    assert {"1-5759e988-bd862e3fe1be46a994272793"} == {e["xray_trace_id"] for e in (first, second)}
    assert "resizing cat-1.png for [EMAIL_REDACTED]" == first["message"]
