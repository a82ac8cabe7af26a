"""The README's examples run as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import read_events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_logs_and_reads_back(endpoint: Any, logs: Any, group: str) -> None:
    """quickstart.py delivers every event it logs, from 4 threads, correlated and redacted."""
    env = {**os.environ, "CWLOGS_LOG_GROUP": group}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "read back 404 events" in proc.stdout
    stored = read_events(logs, group)
    assert len(stored) == 404
    assert not any("jane@example.com" in e["message"] for e in stored)
    assert all('"tenant_id":"acme"' in e["message"] for e in stored)


def test_make_demo_script_runs_on_its_own_endpoint() -> None:
    """examples/demo.py (what `make demo` runs) starts a local endpoint and succeeds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "local CloudWatch Logs endpoint: http://127.0.0.1:" in proc.stdout
    assert "read back 404 events" in proc.stdout
