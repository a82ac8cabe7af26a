"""`cwlogs iam` policies cover exactly what cwlogs calls: checked against the calls the
strict proxy records while the handler writes, a reader reads and `apply` provisions."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from cwlogs.cli import main
from cwlogs.errors import ConfigurationError
from cwlogs.iam import RESOURCE_KIND, allows, policy_for, resource_arn
from cwlogs.manage import apply
from cwlogs.testing import RecordedRequest, StrictProxy

REGION, ACCOUNT = "us-east-1", "123456789012"
_SCRIPT = shutil.which("cwlogs", path=str(Path(sys.executable).parent))
_COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "cwlogs"]


def _denied(policy: dict[str, Any], calls: Iterable[RecordedRequest], group: str) -> list[str]:
    """The recorded calls the policy would not allow, as ``Operation resource`` strings.

    A call that names no group (StartQuery names several, GetQueryResults none) is
    checked against the test's group: the only one the test touched. A log-group action
    must be allowed on both ARN forms AWS documents (bare and with ``:*``).
    """
    denied = []
    for call in calls:
        if call.operation not in RESOURCE_KIND:
            denied.append(f"{call.operation} (not in cwlogs.iam.RESOURCE_KIND)")
            continue
        arn = resource_arn(
            call.operation, call.group or group, call.stream, region=REGION, account=ACCOUNT
        )
        forms = [arn, f"{arn}:*"] if RESOURCE_KIND[call.operation] == "group" else [arn]
        denied += [
            f"{call.operation} {r}"
            for r in forms
            if not allows(policy, f"logs:{call.operation}", r)
        ]
    return denied


def _cli(endpoint: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_COMMAND, "--endpoint-url", endpoint.url, *args],
        env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CWLOGS_CONFIG")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return env


class TestPolicyDocuments:
    def test_cli_prints_the_library_policy(self, endpoint: Any, tmp_path: Path) -> None:
        """`cwlogs iam ROLE GROUP --region --account` prints policy_for(...) as JSON."""
        # A real subprocess: its stdout is what a user pipes into `aws iam`.
        done = _cli(
            endpoint, tmp_path, "iam", "writer", "/shop/prod/", "--region", "eu-west-1",
            "--account", ACCOUNT, "--retention", "--no-create-stream",
        )  # fmt: skip
        expected = policy_for(
            "writer", ["/shop/prod/"], region="eu-west-1", account=ACCOUNT, retention=True,
            create_stream=False,
        )  # fmt: skip
        assert (done.returncode, json.loads(done.stdout)) == (0, expected)

    def test_handler_is_the_writer(
        self, endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`cwlogs iam handler` prints the writer's policy (what the handler needs)."""
        code, out, _ = _run_main(endpoint, tmp_path, monkeypatch, "iam", "handler", "/shop/api")
        assert (0, policy_for("writer", ["/shop/api"])) == (code, json.loads(out))

    def test_bad_pattern_is_a_usage_error(
        self, endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A character class cannot be expressed in IAM: exit 2 saying so."""
        code, _, err = _run_main(endpoint, tmp_path, monkeypatch, "iam", "reader", "/shop/[ab]pi")
        assert (code, "no [...] classes" in err) == (2, True)

    @pytest.mark.parametrize(
        ("groups", "message"),
        [("/shop/api", "not the string"), ([], "at least one"), (["/a b"], "IAM patterns")],
    )
    def test_bad_groups_are_refused(self, groups: Any, message: str) -> None:
        """A bare string, no group or a name IAM cannot match is a clear error."""
        with pytest.raises(ConfigurationError, match=message):
            policy_for("reader", groups)

    def test_account_wide_actions_get_star(self) -> None:
        """Actions without resource-level permissions are in a Resource "*" statement only."""
        policy = policy_for("reader", ["/shop/api"], region=REGION, account=ACCOUNT)
        (wide,) = [s for s in policy["Statement"] if s["Resource"] == ["*"]]
        assert wide["Action"] == [
            "logs:DescribeLogGroups", "logs:DescribeQueryDefinitions", "logs:StopQuery"
        ]  # fmt: skip

    def test_scope_excludes_other_groups_and_accounts(self) -> None:
        """The writer may write to its group's streams, not to another group or account."""
        policy = policy_for("writer", ["/shop/api"], region=REGION, account=ACCOUNT)
        ok = resource_arn("PutLogEvents", "/shop/api", "s", region=REGION, account=ACCOUNT)
        other = resource_arn("PutLogEvents", "/shop/apix", "s", region=REGION, account=ACCOUNT)
        elsewhere = ok.replace(ACCOUNT, "210987654321")
        assert [True, False, False] == [
            allows(policy, "logs:PutLogEvents", arn) for arn in (ok, other, elsewhere)
        ]


@pytest.mark.proxy
class TestPoliciesCoverRealCalls:
    def test_writer_policy_covers_the_handler(
        self, make_handler: Any, app_logger: Any, proxy: StrictProxy, group: str
    ) -> None:
        """A handler that creates its group (with retention and tags) and streams is allowed."""
        handler = make_handler(retention_days=7, log_group_tags={"team": "shop"})
        app_logger.addHandler(handler)
        app_logger.info("one")
        app_logger.warning("two")
        assert handler.flush(timeout=10)
        calls = proxy.calls()
        policy = policy_for(
            "writer", [group], region=REGION, account=ACCOUNT, retention=True, tags=True
        )
        assert {"CreateLogGroup", "PutRetentionPolicy", "CreateLogStream", "PutLogEvents"} <= {
            c.operation for c in calls
        }
        assert _denied(policy, calls, group) == []

    def test_writer_policy_without_creation_is_put_only(
        self, make_handler: Any, app_logger: Any, logs: Any, proxy: StrictProxy, group: str
    ) -> None:
        """A handler told not to create anything calls PutLogEvents only, which is allowed."""
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="app")
        proxy.clear()
        handler = make_handler(create_log_group=False, create_log_stream=False, log_stream="app")
        app_logger.addHandler(handler)
        app_logger.info("one")
        assert handler.flush(timeout=10)
        policy = policy_for(
            "writer", [group], region=REGION, account=ACCOUNT, create_group=False,
            create_stream=False,
        )  # fmt: skip
        calls = proxy.calls()
        assert ({c.operation for c in calls}, _denied(policy, calls, group)) == (
            {"PutLogEvents"},
            [],
        )

    def test_reader_policy_covers_tail_search_query_trace(
        self,
        endpoint: Any,
        logs: Any,
        proxy: StrictProxy,
        group: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """tail, tail -f, search, query, trace and streams make only allowed calls."""
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="web")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="web",
            logEvents=[
                {"timestamp": now - 2000, "message": '{"trace_id": "t-1", "message": "hi"}'},
                {"timestamp": now - 1000, "message": "ERROR boom"},
            ],
        )
        proxy.clear()
        runs = [
            ("tail", group, "--since", "10m"),
            ("search", "ERROR", "-g", group, "--since", "10m"),
            ("query", "fields @message", "-g", group, "--since", "10m"),
            ("trace", "t-1", "-g", group, "--since", "10m"),
            ("streams", group),
        ]
        # In this process (a subprocess costs ~1 s to start), except `tail -f`, which
        # needs a real Ctrl-C.
        codes = [_main(endpoint, tmp_path, monkeypatch, *args) for args in runs]
        followed = _follow_one_event(endpoint, tmp_path, group)
        calls = proxy.calls()
        policy = policy_for("reader", [group], region=REGION, account=ACCOUNT)
        assert (codes, followed) == ([0] * 5, True)
        assert {
            "FilterLogEvents", "StartQuery", "GetQueryResults", "DescribeLogStreams",
            "StartLiveTail",
        } <= {c.operation for c in calls}  # fmt: skip
        assert _denied(policy, calls, group) == []

    def test_apply_policy_covers_apply(self, logs: Any, proxy: StrictProxy, group: str) -> None:
        """A dry run, a creating run and a repairing run of apply make only allowed calls."""
        config = {
            "tags": {"team": "shop"},
            "groups": [
                {"name": f"{group}/api", "retention_days": 30, "metric_filters": ["error_count"]},
                {"name": f"{group}/worker", "retention_days": 7},
            ],
        }
        apply(config, dry_run=True, client=logs)
        apply(config, client=logs)
        logs.put_retention_policy(logGroupName=f"{group}/api", retentionInDays=1)
        logs.untag_resource(resourceArn=_arn(logs, f"{group}/api"), tagKeys=["team"])
        proxy.clear()
        plan = apply(config, client=logs)
        policy = policy_for("apply", [f"{group}/"], region=REGION, account=ACCOUNT)
        calls = proxy.calls()
        assert plan.pending == 2  # the retention and the tag were put back
        # Tagging calls name the group by ARN, which the proxy does not record: any group
        # under the prefix stands in for them.
        assert _denied(policy, calls, f"{group}/api") == []


def _main(endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """``cwlogs ARGS --format json`` run by ``main()`` here; returns the exit code."""
    return _run_main(endpoint, tmp_path, monkeypatch, *args, "--format", "json")[0]


def _run_main(
    endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """``cwlogs ARGS`` run by ``main()`` in this process; the cwlogs logger is restored."""
    logger = logging.getLogger("cwlogs")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CWLOGS_CONFIG", raising=False)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    try:
        code = main(["--endpoint-url", endpoint.url, *args])
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
    return code, out.getvalue(), err.getvalue()


def _arn(logs: Any, group: str) -> str:
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][:1]
    return str(found["logGroupArn"])


def _follow_one_event(endpoint: Any, tmp_path: Path, group: str) -> bool:
    """`tail -f` until its first event is printed, then Ctrl-C; True if it printed one.

    How `tail -f` ends is tested with the CLI; here only its calls matter, so a process
    slow to stop is killed rather than waited for.
    """
    process = subprocess.Popen(
        [*_COMMAND, "--endpoint-url", endpoint.url, "tail", "-f", group, "--since", "10m",
         "--format", "json"],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        printed = bool(process.stdout.readline().strip())
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        return printed
    except subprocess.TimeoutExpired:
        return printed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
