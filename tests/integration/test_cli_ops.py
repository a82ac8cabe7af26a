"""`cwlogs apply` and `cwlogs iam`, run for real in a subprocess against the test endpoint."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cwlogs.cli import main

_SCRIPT = shutil.which("cwlogs", path=str(Path(sys.executable).parent))
_COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "cwlogs"]


@pytest.fixture
def run(endpoint: Any, tmp_path: Path) -> Any:
    """Run the installed ``cwlogs`` on the test endpoint; no traceback is ever acceptable."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CWLOGS_CONFIG")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")

    def cwlogs(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*_COMMAND, "--endpoint-url", endpoint.url, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert "Traceback (most recent call last)" not in done.stderr, done.stderr
        return done

    return cwlogs


@pytest.fixture
def in_process(endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``main()`` here (a subprocess costs ~1 s); the cwlogs logger is restored."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CWLOGS_CONFIG", raising=False)

    def cwlogs(*args: str) -> tuple[int, str, str]:
        logger = logging.getLogger("cwlogs")
        saved = (list(logger.handlers), logger.level, logger.propagate)
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        try:
            code = main(["--endpoint-url", endpoint.url, *args])
        finally:
            logger.handlers[:] = saved[0]
            logger.setLevel(saved[1])
            logger.propagate = saved[2]
        return code, out.getvalue(), err.getvalue()

    return cwlogs


class TestApplyInCI:
    def test_dry_run_exit_code_tells_drift_from_sync(
        self, run: Any, logs: Any, group: str, tmp_path: Path
    ) -> None:
        """`--dry-run` exits 5 while changes are pending and 0 once the account matches."""
        config = tmp_path / "logs.toml"
        config.write_text(f'[[groups]]\nname = "{group}"\nretention_days = 14\n')
        pending = run("apply", str(config), "--dry-run", "--format", "pretty")
        applied = run("apply", str(config), "--format", "pretty", "--no-color")
        in_sync = run("apply", str(config), "--dry-run", "--format", "json")
        assert (pending.returncode, applied.returncode, in_sync.returncode) == (5, 0, 0)
        assert applied.stdout.splitlines()[0] == "cwlogs applied (no environment)"
        assert "applied 1 change(s)" in applied.stdout
        assert pending.stdout.splitlines()[0].endswith("[dry run: nothing was changed]")

    def test_built_in_production_with_only_staging_defined(
        self, in_process: Any, logs: Any, group: str, tmp_path: Path
    ) -> None:
        """`--env production` works when the file defines only `[environments.staging]`."""
        config = tmp_path / "logs.toml"
        config.write_text(
            "[environments.staging]\nretention_days = 7\n"
            f'[[groups]]\nname = "{group}/{{environment}}"\n'
        )
        code, _, _ = in_process("apply", str(config), "--env", "production", "--format", "json")
        stored = logs.describe_log_groups(logGroupNamePrefix=f"{group}/")["logGroups"]
        assert (code, [(g["logGroupName"], g["retentionInDays"]) for g in stored]) == (
            0,
            [(f"{group}/production", 90)],
        )

    def test_unset_placeholder_is_a_usage_error(
        self, in_process: Any, logs: Any, group: str, tmp_path: Path
    ) -> None:
        """An unset `{environment}` exits 2 naming the placeholder, and creates nothing."""
        config = tmp_path / "logs.toml"
        config.write_text(f'[[groups]]\nname = "{group}/svc-{{environment}}"\n')
        code, _, err = in_process("apply", str(config))
        created = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert (code, "{environment}" in err, created) == (2, True, [])
