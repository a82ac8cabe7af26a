"""The ``cwlogs`` command, run for real in a subprocess against the test endpoint."""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from cwlogs.cli import main
from cwlogs.cli.display import format_time
from cwlogs.client import make_client
from cwlogs.testing import Fault, StrictProxy, free_port

_SCRIPT = shutil.which("cwlogs", path=str(Path(sys.executable).parent))
_COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "cwlogs"]
_TRACEBACK = "Traceback (most recent call last)"
_STACK = 'Traceback (most recent call last):\n  File "pay.py", line 9, in pay\nValueError: declined'


@dataclass
class Cli:
    """Runs the installed ``cwlogs`` script with a clean environment and config directory."""

    endpoint_url: str
    cwd: Path
    env: dict[str, str]

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [*_COMMAND, "--endpoint-url", self.endpoint_url, *args]

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.argv(args),
            cwd=self.cwd,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        # No command may ever show a Python traceback, whatever it exits with.
        assert _TRACEBACK not in done.stderr, done.stderr
        return done

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.ok(*args, "--format", "json").splitlines()]

    def pretty(self, *args: str) -> str:
        return self.ok(*args, "--format", "pretty", "--no-color")

    def many(self, *argvs: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Run several commands at once (each is ~0.5 s of start-up); results in order."""
        started = [(argv, self.popen(*argv)) for argv in argvs]
        done = []
        for argv, process in started:
            out, err = process.communicate(timeout=30)
            assert _TRACEBACK not in err, err
            done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
        return done

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(args),
            cwd=self.cwd,
            env=env or self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


class Lines:
    """A subprocess's stdout lines, read on a thread so a test can wait with a deadline."""

    def __init__(self, process: subprocess.Popen[str], *, stderr: bool = False) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        stream = process.stderr if stderr else process.stdout
        assert stream is not None
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                seen = self.seen
                raise AssertionError(f"no matching line within {timeout} s; saw {seen}") from None
            if line is None:
                raise AssertionError(f"output ended; saw {self.seen}")
            self.seen.append(line)
            if predicate(line):
                return line


def _interrupt(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        code = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    return code, process.stderr.read()


@pytest.fixture(scope="module")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bytecode for the CLI subprocesses, kept outside the source tree."""
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def cli(endpoint: Any, tmp_path: Path, pycache: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CWLOGS_CONFIG")}
    # Named sources come only from files a test writes, never from the developer's home.
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    # With PYTHONDONTWRITEBYTECODE every subprocess would compile cwlogs afresh (~0.2 s each).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return Cli(endpoint.url, tmp_path, env)


@dataclass(frozen=True)
class Shop:
    base: str
    api: str
    worker: str


@pytest.fixture(scope="module")
def shop(endpoint: Any) -> Shop:
    """Two groups with a few events each, written once for the module (reads do not change them)."""
    base = f"/cwlogs-test/cli-{uuid.uuid4().hex[:8]}"
    api, worker = f"{base}/api", f"{base}/worker"
    client = make_client(endpoint_url=endpoint.url)
    now = int(time.time() * 1000)

    def put(group: str, stream: str, ago_s: int, message: Any) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        client.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now - ago_s * 1000, "message": text}],
        )

    for group, streams in ((api, ("web-1", "web-2")), (worker, ("job-1",))):
        client.create_log_group(logGroupName=group)
        for stream in streams:
            client.create_log_stream(logGroupName=group, logStreamName=stream)
    client.put_retention_policy(logGroupName=api, retentionInDays=30)
    put(api, "web-1", 100, {"level": "info", "message": "GET /orders", "trace_id": "tr-1"})
    put(worker, "job-1", 90, {"level": "info", "message": "picked job 7", "trace_id": "tr-1"})
    put(api, "web-2", 80, {"level": "error", "message": "payment failed", "trace_id": "tr-1",
                           "exception": {"type": "ValueError", "stack": _STACK}})  # fmt: skip
    put(worker, "job-1", 70, "WARNING queue is deep")
    put(api, "web-1", 60, {"level": "info", "message": "GET /health", "trace_id": "tr-2"})
    return Shop(base, api, worker)


def _messages(events: list[dict[str, Any]]) -> list[str]:
    return [(e["fields"] or {}).get("message", e["message"]) for e in events]


class TestGroups:
    def test_pretty_table_shows_last_event_time(self, cli: Cli, shop: Shop, endpoint: Any) -> None:
        """`groups` shows each group's newest event time, the newest across its streams."""
        lines = cli.pretty("groups", shop.base).splitlines()
        header = lines[0]
        rows = {line.split()[0]: line for line in lines[1:]}
        client = make_client(endpoint_url=endpoint.url)
        streams = client.describe_log_streams(logGroupName=shop.api)["logStreams"]
        newest = max(s["lastEventTimestamp"] for s in streams)
        column = header.index("LAST EVENT")
        assert rows[shop.api][column:].split()[0] == format_time(newest)

    def test_pretty_table_shows_size_and_retention(self, cli: Cli, shop: Shop) -> None:
        """`groups PREFIX` prints a table with stored bytes and retention per group."""
        lines = cli.pretty("groups", shop.base).splitlines()
        assert lines[0].split() == [
            "LOG", "GROUP", "STORED", "RETENTION", "CLASS", "LAST", "EVENT", "CREATED"
        ]  # fmt: skip
        rows = {line.split()[0]: line for line in lines[1:]}
        assert (set(rows), "30 d" in rows[shop.api], "never expires" in rows[shop.worker]) == (
            {shop.api, shop.worker},
            True,
            True,
        )

    def test_json_is_one_group_per_line(self, cli: Cli, shop: Shop) -> None:
        """`groups --format json` prints the DescribeLogGroups entries as NDJSON."""
        groups = cli.json("groups", shop.base)
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [
            (shop.api, 30),
            (shop.worker, None),
        ]

    def test_raw_lists_names_matching_a_wildcard(self, cli: Cli, shop: Shop) -> None:
        """`groups 'PREFIX/w*' --format raw` prints just the matching names."""
        assert cli.ok("groups", f"{shop.base}/w*", "--format", "raw").split() == [shop.worker]


class TestStreams:
    def test_pretty_table_shows_last_event_time(self, cli: Cli, shop: Shop) -> None:
        """`streams GROUP` prints each stream with its last event time."""
        lines = cli.pretty("streams", shop.api).splitlines()
        assert lines[0].split()[:4] == ["LOG", "STREAM", "LAST", "EVENT"]
        assert [line.split()[0] for line in lines[1:]] == ["web-1", "web-2"]
        assert all(line.split()[1].endswith("Z") for line in lines[1:])

    def test_json_streams_carry_timestamps(self, cli: Cli, shop: Shop) -> None:
        """`streams --format json` prints the DescribeLogStreams entries as NDJSON."""
        streams = cli.json("streams", shop.api, "web-2")
        assert [(s["logStreamName"], "lastEventTimestamp" in s) for s in streams] == [
            ("web-2", True)
        ]

    def test_unknown_group_exits_3_with_a_suggestion(self, cli: Cli, shop: Shop) -> None:
        """A misspelt group exits 3 and suggests the close match."""
        done = cli.run("streams", shop.api + "x")
        assert (done.returncode, f"did you mean {shop.api}" in done.stderr) == (3, True)


class TestTail:
    def test_pretty_interleaves_groups_with_labels(self, cli: Cli, shop: Shop) -> None:
        """Several groups print in time order, each line labelled with its group."""
        lines = cli.pretty("tail", shop.api, shop.worker).splitlines()
        heads = [(line.split()[1], line.split()[2]) for line in lines if not line.startswith(" ")]
        assert heads == [
            ("api", "INFO"),
            ("worker", "INFO"),
            ("api", "ERROR"),
            ("worker", "WARN"),
            ("api", "INFO"),
        ]

    def test_pretty_keeps_the_stack_trace_whole(self, cli: Cli, shop: Shop) -> None:
        """An exception's stack follows its event line, every line of it, indented."""
        text = cli.pretty("tail", shop.api)
        assert (
            "payment failed trace_id=tr-1\n"
            + "\n".join("    " + line for line in _STACK.splitlines())
            in text
        )

    def test_json_is_one_event_per_line(self, cli: Cli, shop: Shop) -> None:
        """`tail --format json` prints NDJSON events with their group and stream."""
        events = cli.json("tail", shop.api, shop.worker)
        assert [(e["group"], e["stream"]) for e in events] == [
            (shop.api, "web-1"),
            (shop.worker, "job-1"),
            (shop.api, "web-2"),
            (shop.worker, "job-1"),
            (shop.api, "web-1"),
        ]

    def test_wildcard_argument_expands(self, cli: Cli, shop: Shop) -> None:
        """A quoted wildcard is expanded with DescribeLogGroups; --since takes ISO-8601 too."""
        events = cli.json("tail", f"{shop.base}/*er", "--since", "2000-01-01T00:00:00Z")
        assert {e["group"] for e in events} == {shop.worker}

    def test_stream_prefix_narrows_a_group(self, cli: Cli, shop: Shop) -> None:
        """GROUP:STREAM_PREFIX reads only the matching streams."""
        events = cli.json("tail", f"{shop.api}:web-2")
        assert _messages(events) == ["payment failed"]

    def test_grep_and_grepv_filter_messages(self, cli: Cli, shop: Shop) -> None:
        """--grep keeps matching messages and --grepv drops them."""
        events = cli.json("tail", shop.api, "--grep", "GET", "--grepv", "health")
        assert _messages(events) == ["GET /orders"]

    def test_filter_pattern_is_applied(self, cli: Cli, shop: Shop) -> None:
        """--filter passes a CloudWatch filter pattern through."""
        events = cli.json("tail", shop.api, shop.worker, "--filter", '{ $.trace_id = "tr-2" }')
        assert _messages(events) == ["GET /health"]

    def test_named_source_from_pyproject(self, cli: Cli, shop: Shop) -> None:
        """`tail @name` expands to the groups configured in [tool.cwlogs.sources]."""
        (cli.cwd / "pyproject.toml").write_text(
            f'[tool.cwlogs.sources]\nbackend = ["{shop.worker}", "{shop.api}:web-2"]\n'
        )
        assert _messages(cli.json("tail", "@backend")) == [
            "picked job 7",
            "payment failed",
            "WARNING queue is deep",
        ]

    def test_unknown_named_source_is_a_usage_error(self, cli: Cli, shop: Shop) -> None:
        """An @name nobody configured exits 2 and names the configured sources."""
        config = cli.cwd / "xdg" / "cwlogs" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[sources]\napi = "{shop.api}"\n')
        done = cli.run("tail", "@apo")
        assert (done.returncode, "did you mean @api?" in done.stderr) == (2, True)

    def test_malformed_filter_is_a_usage_error(self, cli: Cli, shop: Shop) -> None:
        """A malformed filter pattern exits 2 with a caret under the problem."""
        done = cli.run("tail", shop.api, "--filter", "{ $.a = }")
        assert (done.returncode, "invalid filter pattern" in done.stderr, "^" in done.stderr) == (
            2,
            True,
            True,
        )


class TestTailFollow:
    def _start(
        self, cli: Cli, group: str, handler: Any, logger: logging.Logger, *args: str
    ) -> tuple[subprocess.Popen[str], Lines]:
        logger.addHandler(handler)
        logger.info("before start")
        assert handler.flush(timeout=10)
        process = cli.popen("tail", group, "--follow", "--since", "5m", "--interval", "0.5", *args)
        lines = Lines(process)
        return process, lines

    def test_json_picks_up_new_events_and_stops_on_sigint(
        self, cli: Cli, group: str, make_handler: Any, app_logger: logging.Logger
    ) -> None:
        """`tail -f` prints events a handler writes while it runs; Ctrl-C ends it with 130."""
        handler = make_handler()
        process, lines = self._start(cli, group, handler, app_logger, "--format", "json", "--debug")
        try:
            lines.wait_for(lambda line: "before start" in line)
            app_logger.warning("while following", extra={"order": 7})
            assert handler.flush(timeout=10)
            found = orjson.loads(lines.wait_for(lambda line: "while following" in line))
        finally:
            code, stderr = _interrupt(process)
        assert (found["level"], found["fields"]["order"], code) == ("warning", 7, 130)
        # moto's Live Tail sends one snapshot and ends: tail must have switched to polling.
        assert "polling FilterLogEvents" in stderr
        assert _TRACEBACK not in stderr

    def test_pretty_follow_prints_lines_as_they_come(
        self, cli: Cli, group: str, make_handler: Any, app_logger: logging.Logger
    ) -> None:
        """Pretty output is flushed per event even into a pipe, and SIGINT stops it cleanly."""
        handler = make_handler()
        process, lines = self._start(
            cli, group, handler, app_logger, "--format", "pretty", "--no-color", "--mode", "poll"
        )
        try:
            lines.wait_for(lambda line: line.endswith("before start logger=" + app_logger.name))
            app_logger.error("it broke")
            assert handler.flush(timeout=10)
            line = lines.wait_for(lambda line: "it broke" in line)
        finally:
            code, stderr = _interrupt(process)
        # One group: the label is the stream, then the level.
        assert (line.split()[2], code, stderr) == ("ERROR", 130, "")

    def test_follow_survives_throttling(
        self,
        cli: Cli,
        proxy: StrictProxy,
        group: str,
        make_handler: Any,
        app_logger: logging.Logger,
    ) -> None:
        """Throttled FilterLogEvents calls slow `tail -f` down but do not end it."""
        handler = make_handler()
        process, lines = self._start(
            cli, group, handler, app_logger, "--format", "raw", "--mode", "poll"
        )
        try:
            lines.wait_for(lambda line: "before start" in line)
            proxy.inject("FilterLogEvents", Fault.throttle(), times=2)
            app_logger.info("after throttling")
            assert handler.flush(timeout=10)
            lines.wait_for(lambda line: "after throttling" in line)
            throttled = proxy.stats()["faults"]
        finally:
            code, _ = _interrupt(process)
        assert (throttled, code) == ({"ThrottlingException": 2}, 130)


class TestSearch:
    def test_pretty_finds_matches_across_groups(self, cli: Cli, shop: Shop) -> None:
        """`search PATTERN -g G -g G2` prints every group's matches, labelled, in time order."""
        lines = cli.pretty("search", "job", "-g", shop.api, "-g", shop.worker).splitlines()
        assert [line.split(maxsplit=3)[1:] for line in lines] == [
            ["worker", "INFO", "picked job 7 trace_id=tr-1"]
        ]

    def test_json_with_a_json_pattern(self, cli: Cli, shop: Shop) -> None:
        """A JSON filter pattern selects events across a group prefix."""
        events = cli.json("search", '{ $.trace_id = "tr-1" }', "-g", shop.base + "/")
        assert _messages(events) == ["GET /orders", "picked job 7", "payment failed"]

    def test_no_matching_group_exits_3(self, cli: Cli, shop: Shop) -> None:
        """A --group that matches nothing exits 3."""
        assert cli.run("search", "x", "-g", shop.base + "/nothing-here").returncode == 3


class TestQuery:
    QUERY = "fields @timestamp, @message | sort @timestamp asc | limit 2"

    def test_pretty_prints_a_table(self, cli: Cli, shop: Shop) -> None:
        """`query` prints the result rows as a table with the fields as columns."""
        lines = cli.pretty("query", self.QUERY, "-g", shop.worker).splitlines()
        assert (lines[0].split(), len(lines), lines[2].endswith("WARNING queue is deep")) == (
            ["@timestamp", "@message"],
            3,
            True,
        )

    def test_json_prints_one_row_per_line(self, cli: Cli, shop: Shop) -> None:
        """`query --format json` prints each row as an object."""
        rows = cli.json("query", self.QUERY, "-g", shop.worker)
        assert [row["@message"] for row in rows][1:] == ["WARNING queue is deep"]

    def test_saved_query_runs_with_params(self, cli: Cli, shop: Shop) -> None:
        """`--saved NAME --param K=V` runs a saved query."""
        rows = cli.json("query", "--saved", "slow_requests", "--param", "limit=1", "-g", shop.api)
        assert len(rows) == 1

    def test_saved_queries_are_listed(self, cli: Cli) -> None:
        """`--list-saved` names the saved queries and their parameters."""
        text = cli.pretty("query", "--list-saved")
        assert "one_trace" in text and "trace_id [field_name=trace_id]" in text

    def test_saved_query_without_its_param_is_a_usage_error(self, cli: Cli, shop: Shop) -> None:
        """A saved query missing a required parameter exits 2 naming it."""
        done = cli.run("query", "--saved", "one_trace", "-g", shop.api)
        assert (done.returncode, "--param trace_id=" in done.stderr) == (2, True)

    def test_malformed_query_is_a_usage_error(
        self, cli: Cli, proxy: StrictProxy, shop: Shop
    ) -> None:
        """The service's MalformedQueryException exits 2 with its message."""
        proxy.inject("StartQuery", Fault.error("MalformedQueryException", 400, "bad token |"))
        done = cli.run("query", "fields | |", "-g", shop.api)
        assert (done.returncode, "bad token |" in done.stderr) == (2, True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def in_process(
    endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run ``main()`` in this process with a terminal-like stderr; the logger is restored."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CWLOGS_CONFIG", raising=False)
    logger = logging.getLogger("cwlogs")
    saved = (list(logger.handlers), logger.level, logger.propagate)

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), _Terminal()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        code = main(["--endpoint-url", endpoint.url, *args])
        return code, out.getvalue(), err.getvalue()

    yield run
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


class TestQueryProgress:
    def test_terminal_shows_each_polled_status(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """On a terminal, `query` redraws its status line from every GetQueryResults poll."""
        code, _, err = in_process("query", TestQuery.QUERY, "-g", shop.worker, "--format", "json")
        assert (0, True) == (code, "complete: query on 1 log group(s)" in err)

    def test_timeout_is_a_deadline_when_a_poll_hangs(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop, proxy: StrictProxy
    ) -> None:
        """A hung GetQueryResults ends at --timeout: StopQuery sent, one line, spinner gone."""
        proxy.inject("GetQueryResults", Fault.hang(6))
        began = time.monotonic()
        code, _, err = in_process("query", TestQuery.QUERY, "-g", shop.worker, "--timeout", "1")
        took = time.monotonic() - began
        last = err.rsplit("\r", 1)[-1]
        assert (True, 1, True, 1, True) == (
            code != 0,
            last.count("\n"),
            "within 1 s" in last,
            len(proxy.calls("StopQuery")),
            took < 4,
        ), err

    def test_unknown_saved_query_suggests_a_built_in_when_the_account_lookup_fails(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop, proxy: StrictProxy
    ) -> None:
        """A failed DescribeQueryDefinitions still ends in "did you mean one_trace?" (exit 2)."""
        proxy.inject("DescribeQueryDefinitions", Fault.internal(), times=10)
        code, _, err = in_process("query", "--saved", "one_trac", "-g", shop.api)
        assert (2, True, False) == (code, "did you mean one_trace?" in err, "500" in err), err


class TestInterruptedRead:
    def test_ctrl_c_while_reading_clears_the_progress_line(
        self, endpoint: Any, shop: Shop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Ctrl-C during `tail` (no -f) erases the page count, as `query` does."""

        class InterruptedTerminal(_Terminal):
            def write(self, text: str) -> int:
                if "read 2 page" in text:
                    raise KeyboardInterrupt
                return super().write(text)

        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        err = InterruptedTerminal()
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        monkeypatch.setattr(sys, "stderr", err)
        code = main(["--endpoint-url", endpoint.url, "tail", shop.api, shop.worker])
        shown = err.getvalue()
        assert (130, True) == (code, shown.endswith("read 1 page(s), 3 event(s)…\r\x1b[K\n")), repr(
            shown
        )


class TestTrace:
    def test_pretty_shows_the_trace_across_groups(self, cli: Cli, shop: Shop) -> None:
        """`trace ID -g ...` prints the trace's events from every group in time order."""
        text = cli.pretty("trace", "tr-1", "-g", shop.api, "-g", shop.worker)
        heads = [line.split()[1:4] for line in text.splitlines() if not line.startswith(" ")]
        assert heads == [
            ["api", "INFO", "GET"],
            ["worker", "INFO", "picked"],
            ["api", "ERROR", "payment"],
        ]

    def test_json_events_carry_the_trace_id(self, cli: Cli, shop: Shop) -> None:
        """`trace --format json` prints only events of that trace."""
        events = cli.json("trace", "tr-2", "-g", shop.base + "/*")
        assert [(e["group"], e["fields"]["trace_id"]) for e in events] == [(shop.api, "tr-2")]


class TestRetention:
    def test_set_show_and_remove(self, cli: Cli, logs: Any, group: str) -> None:
        """`retention G 7` sets it, `retention G` shows it, `--remove` keeps events forever."""
        logs.create_log_group(logGroupName=group)
        set_text = cli.pretty("retention", group, "7")
        shown = cli.json("retention", group)
        removed = cli.pretty("retention", group, "--remove")
        assert (set_text, shown, removed) == (
            f"{group}: retention set; events kept for 7 days\n",
            [{"group": group, "retention_days": 7}],
            f"{group}: retention removed; events kept forever\n",
        )

    def test_invalid_days_are_a_usage_error(self, cli: Cli, logs: Any, group: str) -> None:
        """Days the service does not accept exit 2 and list the valid values."""
        logs.create_log_group(logGroupName=group)
        done = cli.run("retention", group, "8")
        assert (done.returncode, "valid values: 1, 3, 5" in done.stderr) == (2, True)


class TestApply:
    def test_dry_run_then_apply(self, cli: Cli, logs: Any, group: str) -> None:
        """`apply --dry-run` shows the plan and changes nothing; `apply` then creates it."""
        config = cli.cwd / "logs.toml"
        config.write_text(f'[[groups]]\nname = "{group}"\nretention_days = 14\n')
        dry_run = cli.run("apply", str(config), "--dry-run", "--format", "pretty", "--no-color")
        planned = dry_run.stdout if dry_run.returncode == 5 else dry_run.stderr  # 5: pending
        exists_after_dry_run = bool(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"])
        applied = cli.json("apply", str(config))
        stored = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert f"+ create log group {group}: retention 14 d" in planned
        assert (exists_after_dry_run, applied[0]["changed"], stored[0]["retentionInDays"]) == (
            False,
            True,
            14,
        )


class TestLocal:
    @pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_serves_logs_and_stops_cleanly(self, cli: Cli, sig: int) -> None:
        """`local` prints the env to use, serves CloudWatch Logs there, and exits 0 on a signal."""
        port = free_port()
        process = cli.popen("local", "--port", str(port), "--format", "pretty")
        try:
            export = Lines(process).wait_for(lambda line: line.startswith("export "), timeout=30)
            env = dict(item.split("=", 1) for item in export.split()[1:])
            client = make_client(endpoint_url=env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"])
            client.create_log_group(logGroupName="/local/demo")
            names = [g["logGroupName"] for g in client.describe_log_groups()["logGroups"]]
        finally:
            code, stderr = _interrupt(process, sig)
        # AWS_DEFAULT_REGION too: older SDKs and the AWS CLI v1 read only that one.
        assert (
            env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"],
            env.get("AWS_DEFAULT_REGION"),
            names,
            code,
        ) == (
            f"http://127.0.0.1:{port}",
            "us-east-1",
            ["/local/demo"],
            0,
        )
        assert _TRACEBACK not in stderr
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # moto was stopped with the command

    def test_a_busy_port_fails_before_printing_an_endpoint(self, cli: Cli) -> None:
        """Another server on the port: `local` says so and exits 1, never printing success."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            done = subprocess.run(
                [sys.executable, "-m", "cwlogs", "local", "--port", str(port)],
                env=cli.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        assert (done.returncode, done.stdout) == (1, "")
        assert "address already in use" in done.stderr
        assert "Ctrl-C to stop" not in done.stderr

    def test_missing_extra_gives_an_install_hint(self, cli: Cli) -> None:
        """Without moto installed, `local` prints a one-line install hint and exits 1."""
        code = (
            "import sys; sys.modules['moto'] = None\n"
            "from cwlogs.cli import main\n"
            "raise SystemExit(main(['local']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], env=cli.env, capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stderr) == (
            1,
            "cwlogs: `cwlogs local` needs the moto server: pip install 'cwlogs[local]'\n",
        )


class TestErrors:
    def test_missing_credentials_exit_4(self, cli: Cli, tmp_path: Path) -> None:
        """No credentials anywhere exits 4 with a hint on how to provide them."""
        env = {k: v for k, v in cli.env.items() if not k.startswith("AWS_")}
        env.update(
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
            AWS_CONFIG_FILE=str(tmp_path / "none"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_REGION="us-east-1",
        )
        done = cli.run("groups", env=env)
        assert (done.returncode, "no usable AWS credentials" in done.stderr) == (4, True)

    def test_unknown_profile_exits_4(self, cli: Cli) -> None:
        """--profile naming no profile exits 4."""
        done = cli.run("--profile", f"nope-{uuid.uuid4().hex[:6]}", "groups")
        assert (done.returncode, "could not be found" in done.stderr) == (4, True)

    def test_unreachable_endpoint_exits_1(self, cli: Cli) -> None:
        """An endpoint nobody listens on exits 1 with the connection error."""
        done = cli.run("groups", "--endpoint-url", f"http://127.0.0.1:{free_port()}")
        assert (done.returncode, "Could not connect" in done.stderr) == (1, True)

    def test_usage_errors_exit_2(self, cli: Cli) -> None:
        """Missing arguments exit 2 with argparse's usage line."""
        done = cli.run("tail")
        assert (done.returncode, done.stderr.startswith("usage: cwlogs tail")) == (2, True)

    def test_python_dash_m_runs_the_same_cli(self) -> None:
        """`python -m cwlogs` is the same command."""
        argv = [sys.executable, "-m", "cwlogs", "--version"]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        assert done.stdout.startswith("cwlogs ")


# --------------------------------------------------------------------------- on call (issue 14)


class TestFollowReportsItsState:
    def test_outage_back_off_recovery_and_a_deleted_group_are_reported(
        self,
        cli: Cli,
        proxy: StrictProxy,
        logs: Any,
        group: str,
        make_handler: Any,
        app_logger: logging.Logger,
    ) -> None:
        """`tail -f` says when the endpoint is gone, when it retries and when it is back;
        a deleted group ends it with exit 3 naming the group."""
        handler = make_handler()
        app_logger.addHandler(handler)
        app_logger.info("before the outage")
        assert handler.flush(timeout=10)
        process = cli.popen(
            "tail", group, "-f", "--mode", "poll", "--interval", "0.2", "--format", "raw"
        )
        out, err = Lines(process), Lines(process, stderr=True)
        try:
            out.wait_for(lambda line: "before the outage" in line)
            proxy.set_down(True)
            down = err.wait_for(lambda line: "endpoint unreachable" in line)
            proxy.set_down(False)
            back = err.wait_for(lambda line: "reachable again" in line)
            logs.delete_log_group(logGroupName=group)
            code = process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        gone = err.wait_for(lambda line: "error" in line)
        delay = float(re.search(r"retrying in ([\d.]+) s", down).group(1))  # type: ignore[union-attr]
        assert (code, group in gone, "not found" in gone, delay <= 10, "following" in back) == (
            3,
            True,
            True,
            True,
            True,
        )


class TestMessagesAndLimits:
    def test_grep_level_and_grep_raw(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """--grep matches the message shown, --grep-raw the stored JSON, --level a floor."""
        found = [
            [orjson.loads(line) for line in in_process(
                "tail", shop.api, shop.worker, "--format", "json", *extra)[1].splitlines()]
            for extra in (("--grep", "^(GET|picked)"), ("--level", "warning"),
                          ("--grep-raw", '"trace_id": "tr-2"'))
        ]  # fmt: skip
        assert [_messages(events) for events in found] == [
            ["GET /orders", "picked job 7", "GET /health"],
            ["payment failed", "WARNING queue is deep"],
            ["GET /health"],
        ]

    def test_grep_matches_the_traceback_shown_below_an_event(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """--grep finds an event by the exception text pretty output prints under it."""
        code, out, _ = in_process(
            "tail", shop.api, shop.worker, "--format", "json", "--grep", "ValueError: declined"
        )
        assert (0, ["payment failed"]) == (
            code,
            _messages([orjson.loads(line) for line in out.splitlines()]),
        )

    def test_limit_keeps_the_newest_and_says_how_many_more(self, cli: Cli, shop: Shop) -> None:
        """`search --limit 2` prints the newest two and names how many more matched."""
        done = cli.run("search", "", "-g", shop.base + "/", "--limit", "2", "--format", "json")
        events = [orjson.loads(line) for line in done.stdout.splitlines()]
        assert (_messages(events), "3 more event(s) matched" in done.stderr) == (
            ["WARNING queue is deep", "GET /health"],
            True,
        )

    def test_out_of_range_arguments_are_usage_errors_naming_the_range(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """Limits, empty ranges and empty group names exit 2 and say what is allowed."""
        cases = [
            (("query", "fields @message", "-g", shop.api, "--limit", "0"), "1 to 10,000"),
            (("query", "fields @message", "-g", shop.api, "--limit", "20000"), "1 to 10,000"),
            (("search", "x", "-g", shop.api, "--limit", "-5"), "1 to 1,000,000,000"),
            (("tail", shop.api, "--limit", "9" * 20), "1 to 1,000,000,000"),
            (("tail", shop.api, "--since", "10m", "--until", "1h"), "is not before --until"),
            (("tail", ""), "empty log group name"),
        ]
        found = []
        for argv, text in cases:
            try:
                code, _, err = in_process(*argv)
            except SystemExit as exc:  # argparse's own usage errors
                code, err = int(exc.code or 0), sys.stderr.getvalue()
            found.append((code, text in err))
        assert found == [(2, True)] * len(cases)

    def test_interrupted_query_prints_one_clean_line(
        self, cli: Cli, proxy: StrictProxy, shop: Shop
    ) -> None:
        """Ctrl-C during a query: exit 130, one line, no HTML page, no traceback."""
        proxy.inject("GetQueryResults", Fault.hang(10))
        process = cli.popen("query", "fields @message", "-g", shop.api)
        deadline = time.monotonic() + 15
        while not proxy.calls("GetQueryResults"):
            assert time.monotonic() < deadline, "the query never polled"
            time.sleep(0.05)
        code, stderr = _interrupt(process)
        assert (code, stderr.count("\n"), "<" in stderr, "interrupted" in stderr) == (
            130,
            1,
            False,
            True,
        )


class TestOutputShape:
    def test_json_message_is_human_text_with_raw_aside_and_z_times(
        self, cli: Cli, shop: Shop
    ) -> None:
        """NDJSON events: `message` is the text shown, `raw` the stored JSON, times end in Z."""
        events = cli.json("tail", shop.api, "--grep", "payment")
        (event,) = events
        assert (
            event["message"],
            orjson.loads(event["raw"])["message"],
            event["timestamp"].endswith("Z"),
            event["trace_id"],
        ) == ("payment failed", "payment failed", True, "tr-1")

    def test_completion_and_did_you_mean(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """Commands, options and log group names complete; a mistyped command gets a hint."""
        _, commands, _ = in_process("_complete", "ta")
        _, options, _ = in_process("_complete", "tail", "--gre")
        _, groups, _ = in_process("_complete", "tail", shop.base + "/w")
        _, script, _ = in_process("completion", "bash")
        hints = []
        for argv in (("tial", shop.api), ("tail", shop.api, "--gerp", "x")):
            with pytest.raises(SystemExit):
                in_process(*argv)
            hints.append(sys.stderr.getvalue().strip().rsplit(";", 1)[-1])
        assert (
            commands.split(),
            options.split(),
            groups.split(),
            "complete -o default -F" in script,
            [h.split(" or ")[0].rstrip("?") for h in hints],  # the closest comes first
        ) == (
            ["tail"],
            ["--grep", "--grep-raw", "--grepv"],
            [shop.worker],
            True,
            [" did you mean tail", " did you mean --grep"],
        )

    def test_hints_name_the_chosen_commands_options_and_hide_internals(
        self, in_process: Callable[..., tuple[int, str, str]]
    ) -> None:
        """An option of another command is named as such; `_complete` is never offered."""
        errors = []
        for argv in (
            ("groups", "--limit", "0"),
            ("search", "x", "-g", "G", "--limt", "3"),
            ("nosuch",),
        ):
            with pytest.raises(SystemExit):
                in_process(*argv)
            errors.append(sys.stderr.getvalue().strip().splitlines()[-1])
        assert [
            (
                "--limit is not an option of groups" in errors[0],
                "did you mean --limit" in errors[0],
            ),
            ("did you mean --limit?" in errors[1], "not an option" in errors[1]),
            ("invalid choice" in errors[2], "_complete" in errors[2]),
        ] == [(True, False), (True, False), (True, False)], errors


class TestTimesInTheUsersZone:
    def test_naive_times_are_read_in_tz(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop, monkeypatch: Any
    ) -> None:
        """With TZ set, a naive --since is that zone's wall time, not UTC."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        _, everything, _ = in_process("tail", shop.api, shop.worker, "--format", "json")
        third = [orjson.loads(line) for line in everything.splitlines()][2]["timestamp_ms"]
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        since = datetime.fromtimestamp(third / 1000, ZoneInfo("Asia/Tokyo"))
        code, out, _ = in_process(
            "tail", shop.api, shop.worker, "--since", since.strftime("%Y-%m-%d %H:%M:%S"),
            "--format", "json",
        )  # fmt: skip
        events = [orjson.loads(line) for line in out.splitlines()]
        assert (code, _messages(events)) == (
            0,
            ["payment failed", "WARNING queue is deep", "GET /health"],
        )

    def test_a_time_of_day_until_is_the_one_after_since(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop, monkeypatch: Any
    ) -> None:
        """`--since 08:00 --until 09:00` typed at 08:40 reads up to today's 09:00."""
        from datetime import datetime, timedelta, timezone

        monkeypatch.delenv("TZ", raising=False)
        now = datetime.now(timezone.utc)
        since, until = ((now + timedelta(minutes=m)).strftime("%H:%M") for m in (-20, 20))
        code, out, err = in_process(
            "tail", shop.api, "--since", since, "--until", until, "--format", "json"
        )
        assert (0, ["GET /orders", "payment failed", "GET /health"]) == (
            code,
            _messages([orjson.loads(line) for line in out.splitlines()]),
        ), err


class TestTraceOrRequest:
    def test_a_request_id_or_a_short_trace_id_is_found(
        self, cli: Cli, logs: Any, group: str
    ) -> None:
        """`trace ID` finds events by request_id when no trace_id matches, and by the
        8-character trace id that pretty output shows."""
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[
                {
                    "timestamp": now - 2,
                    "message": json.dumps({"message": "in", "request_id": "r-77"}),
                },
                {
                    "timestamp": now - 1,
                    "message": json.dumps({"message": "x", "request_id": "r-78"}),
                },
            ],
        )
        done = cli.run("trace", "r-77", "-g", group, "--format", "json")
        events = [orjson.loads(line) for line in done.stdout.splitlines()]
        assert (done.returncode, _messages(events), "request_id" in done.stderr) == (
            0,
            ["in"],
            True,
        )


class TestSourcesAcrossRegions:
    def test_one_tail_reads_two_regions(self, cli: Cli, endpoint: Any) -> None:
        """Named sources carrying a region read each Region with its own client."""
        name = f"/cwlogs-test/regions-{uuid.uuid4().hex[:8]}"
        now = int(time.time() * 1000)
        for offset, region in enumerate(("us-east-1", "us-west-2")):
            client = make_client(endpoint_url=endpoint.url, region=region)
            client.create_log_group(logGroupName=name)
            client.create_log_stream(logGroupName=name, logStreamName="s")
            client.put_log_events(
                logGroupName=name,
                logStreamName="s",
                logEvents=[{"timestamp": now - 1000 + offset, "message": f"from {region}"}],
            )
        (cli.cwd / "pyproject.toml").write_text(
            "[tool.cwlogs.sources]\n"
            f'east = {{ groups = ["{name}"], region = "us-east-1" }}\n'
            f'west = {{ groups = ["{name}"], region = "us-west-2" }}\n'
        )
        pretty, js = cli.many(
            ("tail", "@east", "@west", "--format", "pretty", "--no-color"),
            ("tail", "@east", "@west", "--format", "json"),
        )
        labels = [line.split()[1] for line in pretty.stdout.splitlines()]
        assert (
            [orjson.loads(line)["message"] for line in js.stdout.splitlines()],
            labels,
        ) == (
            ["from us-east-1", "from us-west-2"],
            [f"us-east-1:{name}", f"us-west-2:{name}"],
        )

    def test_one_source_with_a_region_names_it_in_json(self, cli: Cli, endpoint: Any) -> None:
        """NDJSON `source` says which Region a single named source was read from."""
        name = f"/cwlogs-test/region-{uuid.uuid4().hex[:8]}"
        client = make_client(endpoint_url=endpoint.url, region="us-west-2")
        client.create_log_group(logGroupName=name)
        client.create_log_stream(logGroupName=name, logStreamName="s")
        client.put_log_events(
            logGroupName=name,
            logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000) - 1000, "message": "hello"}],
        )
        (cli.cwd / "pyproject.toml").write_text(
            f'[tool.cwlogs.sources]\nwest = {{ groups = ["{name}"], region = "us-west-2" }}\n'
        )
        assert [f"us-west-2:{name}"] == [e["source"] for e in cli.json("tail", "@west")]


class TestReadProgress:
    def test_terminal_stderr_shows_pages_and_events_read(
        self, in_process: Callable[..., tuple[int, str, str]], shop: Shop
    ) -> None:
        """On a terminal, `tail` shows pages and events read on stderr, then clears the line."""
        code, out, err = in_process("tail", shop.api, shop.worker, "--format", "json")
        assert (code, len(out.splitlines()), "read 2 page(s), 5 event(s)" in err,
                err.endswith("\r\x1b[K")) == (0, 5, True, True)  # fmt: skip
