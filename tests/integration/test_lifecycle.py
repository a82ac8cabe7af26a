"""Process lifecycle: exit, logging.shutdown, dead endpoints, fork and multiprocessing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import orjson
import pytest

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


def _run_file(
    tmp_path: Any, script: str, *args: str, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as a file: spawn and forkserver children re-import their main module."""
    path = tmp_path / "app.py"
    path.write_text(_PRELUDE + textwrap.dedent(script))
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
        check=False,
    )


_WORKERS = """
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
# A generous no-progress bound: these tests are about delivery, not timing, and CI
# machines are shared.
h = cwlogs.CloudWatchHandler(
    log_group=group, log_stream="mp-{pid}", flush_interval=3600, shutdown_timeout=20
)
log.addHandler(h)

def work(n):
    for i in range(n):
        log.info("w%d %d", os.getpid(), i)
    return os.getpid()
"""


class TestProcesses:
    @pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
    def test_workers_of_every_start_method_deliver_when_they_exit(
        self, tmp_path: Any, logs: Any, group: str, method: str
    ) -> None:
        """multiprocessing children leave through os._exit: their logs still arrive."""
        proc = _run_file(
            tmp_path,
            _WORKERS
            + """
if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[2])
    p = ctx.Process(target=work, args=(300,))
    p.start()
    p.join(60)
    print(p.pid, p.exitcode)
""",
            group,
            method,
        )
        assert proc.returncode == 0, proc.stderr
        pid, exitcode = proc.stdout.split()
        assert exitcode == "0"
        assert _messages(logs, group, f"mp-{pid}") == [f"w{pid} {i}" for i in range(300)]

    def test_process_pool_executor_workers_deliver(
        self, tmp_path: Any, logs: Any, group: str
    ) -> None:
        """ProcessPoolExecutor (spawn): every task's records arrive after the pool shuts down."""
        proc = _run_file(
            tmp_path,
            _WORKERS
            + """
if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        pids = set(pool.map(work, [100] * 4))
    print(" ".join(map(str, sorted(pids))))
""",
            group,
        )
        assert proc.returncode == 0, proc.stderr
        stored = _messages(logs, group)
        assert len(stored) == 400
        assert {m.split()[0][1:] for m in stored} == set(proc.stdout.split())

    def test_a_terminated_pool_delivers_with_flush_on_sigterm(
        self, tmp_path: Any, logs: Any, group: str
    ) -> None:
        """`with Pool() as p` terminates its workers (SIGTERM): the initializer saves their logs."""
        proc = _run_file(
            tmp_path,
            _WORKERS
            + """
if __name__ == "__main__":
    with mp.get_context("fork").Pool(2, initializer=cwlogs.flush_on_sigterm) as pool:
        pool.map(work, [100] * 4)
""",
            group,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(_messages(logs, group)) == 400


class TestReconfiguration:
    def test_dictconfig_twice_is_bounded_and_keeps_the_first_configurations_records(
        self, tmp_path: Any, logs: Any, group: str
    ) -> None:
        """The second dictConfig closes our handler holding logging's lock, which botocore
        on our worker needs: it returns at once, the worker drains, then stops."""
        proc = _run_file(
            tmp_path,
            """
import json, logging.config
cfg = {
    "version": 1,
    "handlers": {"cw": {"class": "cwlogs.CloudWatchHandler", "log_group": group,
                         "flush_interval": 3600, "shutdown_timeout": 3}},
    "loggers": {"proc": {"handlers": ["cw"], "level": "INFO", "propagate": False}},
}
logging.config.dictConfig(cfg)
logging.getLogger("botocore").setLevel(logging.DEBUG)  # its logging needs the module lock
first = log.handlers[0]
for i in range(3000):
    log.info("first %d", i)
t0 = time.monotonic()
logging.config.dictConfig(cfg)
took = time.monotonic() - t0
for i in range(100):
    log.info("second %d", i)
assert log.handlers[0].flush(30)
worker = first._batcher._thread
worker.join(30)
print(json.dumps({"took": took, "alive": worker.is_alive(), "stats": first.stats()}))
""",
            group,
        )
        assert proc.returncode == 0, proc.stderr
        out = orjson.loads(proc.stdout.strip().splitlines()[-1])
        assert out["took"] < 3.0
        assert not out["alive"]
        stats = out["stats"]
        assert stats["dropped"] == {} and stats["queue_depth"] == 0
        assert stats["sent"] == 3000
        stored = set(_messages(logs, group))
        assert {f"first {i}" for i in range(3000)} <= stored
        assert {f"second {i}" for i in range(100)} <= stored

    def test_logging_from_a_signal_handler_never_deadlocks(self, logs: Any, group: str) -> None:
        """A signal handler that logs can interrupt a log call inside the queue's lock."""
        proc = _run(
            """
import json, signal
h = cwlogs.CloudWatchHandler(
    log_group=group, flush_interval=0.2, max_queue_bytes=256 * 1024 * 1024
)
log.addHandler(h)
fired = [0]
def on_alarm(signum, frame):
    fired[0] += 1
    log.info("signal %d", fired[0])
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
for i in range(20000):
    log.info("main %d", i)
signal.setitimer(signal.ITIMER_REAL, 0)
assert h.flush(30)
print(json.dumps({"fired": fired[0], "stats": h.stats()}))
""",
            group,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        out = orjson.loads(proc.stdout.strip().splitlines()[-1])
        assert out["fired"] > 0
        assert out["stats"]["sent"] == 20000 + out["fired"]
        assert len(_messages(logs, group)) == 20000 + out["fired"]


class TestBursts:
    def test_a_burst_from_four_threads_loses_nothing_with_defaults(
        self, logs: Any, group: str
    ) -> None:
        """25,000 records of ~730 bytes (twice the default queue) from 4 threads: the
        callers wait for a healthy endpoint instead of dropping."""
        proc = _run(
            """
import json, threading
h = cwlogs.CloudWatchHandler(log_group=group)
log.addHandler(h)
pad = "x" * 700
def burst(t):
    for i in range(6250):
        log.info("t%d %05d %s", t, i, pad)
threads = [threading.Thread(target=burst, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert h.flush(60)
print(json.dumps(h.stats()))
""",
            group,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        stats = orjson.loads(proc.stdout.strip().splitlines()[-1])
        assert stats["dropped"] == {} and stats["sent"] == 25_000
        assert stats["blocked"] > 0  # the queue did fill: backpressure, not luck
        assert len(_messages(logs, group)) == 25_000

    def test_exit_delivers_a_healthy_backlog_longer_than_shutdown_timeout(
        self, logs: Any, group: str
    ) -> None:
        """At exit, a big backlog keeps draining while the endpoint accepts it (the engine
        test of flush shows the same against a deterministic slow endpoint)."""
        proc = _run(
            """
h = cwlogs.CloudWatchHandler(
    log_group=group, max_queue_bytes=256 * 1024 * 1024, flush_interval=3600,
    shutdown_timeout=1.0,
)
log.addHandler(h)
for i in range(40000):
    log.info("backlog %05d", i)
t0 = time.monotonic()
logging.shutdown()
print(time.monotonic() - t0, h.stats()["sent"], h.stats()["dropped"])
""",
            group,
        )
        assert proc.returncode == 0, proc.stderr
        took, sent, dropped = proc.stdout.split(maxsplit=2)
        assert float(took) < 60
        assert sent == "40000" and dropped.strip() == "{}"
        assert len(_messages(logs, group)) == 40000
