"""Process lifecycle: exit, logging.shutdown, dead endpoints, fork and multiprocessing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import orjson

from cwlogs.testing import Fault, free_port
from tests.conftest import read_events

_PRELUDE = """
import logging, os, sys, time
import cwlogs
group = sys.argv[1]
log = logging.getLogger("proc")
log.setLevel(logging.INFO)
log.propagate = False
"""


def _run(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    code = _PRELUDE + textwrap.dedent(script)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
        check=False,
    )


def _messages(logs: Any, group: str, stream: str | None = None) -> list[str]:
    return [orjson.loads(e["message"])["message"] for e in read_events(logs, group, stream)]


class TestExit:
    def test_interpreter_exit_delivers_queued_events(self, logs: Any, group: str) -> None:
        """Events still queued when the program ends are delivered by the exit hook."""
        proc = _run(
            """
            h = cwlogs.CloudWatchHandler(log_group=group, flush_interval=3600)
            log.addHandler(h)
            for i in range(1000):
                log.info("exit %d", i)
            """,
            group,
        )
        assert proc.returncode == 0, proc.stderr
        assert sorted(_messages(logs, group)) == sorted(f"exit {i}" for i in range(1000))

    def test_logging_shutdown_delivers_queued_events(self, logs: Any, group: str) -> None:
        """logging.shutdown() (as called by frameworks) drains the handler."""
        proc = _run(
            """
            h = cwlogs.CloudWatchHandler(log_group=group, flush_interval=3600)
            log.addHandler(h)
            for i in range(300):
                log.info("shutdown %d", i)
            logging.shutdown()
            os._exit(0)  # skip the atexit hook: logging.shutdown alone must be enough
            """,
            group,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(_messages(logs, group)) == 300

    def test_dead_endpoint_cannot_hold_exit(self, group: str) -> None:
        """With nothing listening, exit waits at most shutdown_timeout and reports the loss."""
        url = f"http://127.0.0.1:{free_port()}"
        proc = _run(
            """
            h = cwlogs.CloudWatchHandler(
                log_group=group, endpoint_url=sys.argv[2], shutdown_timeout=1.0
            )
            log.addHandler(h)
            for i in range(200):
                log.info("lost %d", i)
            print(time.time(), flush=True)
            """,
            group,
            url,
        )
        ended = time.time()
        assert proc.returncode == 0, proc.stderr
        started_exit = float(proc.stdout.strip())
        assert ended - started_exit < 1.0 + 1.0
        assert "shutdown" in proc.stderr and "dropped 200" in proc.stderr

    def test_hanging_endpoint_cannot_hold_exit(self, group: str, proxy: Any) -> None:
        """An endpoint that accepts but never answers holds exit no longer than shutdown_timeout."""
        proxy.inject("PutLogEvents", Fault.hang(20), times=5)
        proc = _run(
            """
            h = cwlogs.CloudWatchHandler(log_group=group, shutdown_timeout=1.5)
            log.addHandler(h)
            for i in range(50):
                log.info("stuck %d", i)
            print(time.time(), flush=True)
            """,
            group,
        )
        ended = time.time()
        assert proc.returncode == 0, proc.stderr
        assert ended - float(proc.stdout.strip()) < 1.5 + 1.0
        assert "dropped 50 event(s): shutdown" in proc.stderr


class TestFork:
    def test_fork_child_gets_its_own_stream_and_nothing_is_sent_twice(
        self, logs: Any, group: str
    ) -> None:
        """After os.fork the child ships only its own events, to its own {pid} stream."""
        proc = _run(
            """
            h = cwlogs.CloudWatchHandler(log_group=group, log_stream="s-{pid}", flush_interval=3600)
            log.addHandler(h)
            log.info("warm up")
            assert h.flush(10)
            for i in range(100):
                log.info("parent-before %d", i)
            pid = os.fork()
            if pid == 0:
                for i in range(50):
                    log.info("child %d", i)
                os._exit(0 if h.flush(10) else 3)
            _, status = os.waitpid(pid, 0)
            for i in range(10):
                log.info("parent-after %d", i)
            assert h.flush(10)
            print(os.getpid(), pid, status)
            """,
            group,
        )
        assert proc.returncode == 0, proc.stderr
        parent, child, status = proc.stdout.split()
        assert status == "0"
        parent_msgs = _messages(logs, group, f"s-{parent}")
        child_msgs = _messages(logs, group, f"s-{child}")
        assert parent_msgs == ["warm up"] + [f"parent-before {i}" for i in range(100)] + [
            f"parent-after {i}" for i in range(10)
        ]
        assert child_msgs == [f"child {i}" for i in range(50)]

    def test_multiprocessing_fork_worker_delivers_without_flush(
        self, logs: Any, group: str
    ) -> None:
        """A multiprocessing worker (fork start method) leaves via os._exit and still delivers."""
        proc = _run(
            """
            import multiprocessing as mp
            h = cwlogs.CloudWatchHandler(
                log_group=group, log_stream="mp-{pid}", flush_interval=3600
            )
            log.addHandler(h)

            def work(n):
                for i in range(n):
                    log.info("mp %d", i)

            ctx = mp.get_context("fork")
            p = ctx.Process(target=work, args=(200,))
            p.start()
            p.join(30)
            print(p.pid, p.exitcode)
            """,
            group,
        )
        assert proc.returncode == 0, proc.stderr
        pid, exitcode = proc.stdout.split()
        assert exitcode == "0"
        assert _messages(logs, group, f"mp-{pid}") == [f"mp {i}" for i in range(200)]
