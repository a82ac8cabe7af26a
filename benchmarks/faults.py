"""Lose-nothing scenarios: bursts, faults, exit, reconfiguration, processes, big records.

Each scenario runs a small program in its own process against a moto server behind the
strict proxy (which injects the faults), with default handler settings unless the
scenario names one, then reads the group back and counts what was lost or stored twice.
These are the measurements behind the handler's delivery guarantees (docs/handler.md).

    .venv/bin/python benchmarks/faults.py            # every scenario (about 2-3 minutes)
    .venv/bin/python benchmarks/faults.py --only burst-4-threads,exit-backlog

Prints a table and writes ``benchmarks/results/faults.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "results" / "faults.json"

PRELUDE = """
import json, logging, os, resource, sys, threading, time
import cwlogs
group = sys.argv[1]
log = logging.getLogger("app")
log.setLevel(logging.INFO)
log.propagate = False
def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
def report(**fields):
    print("RESULT " + json.dumps(fields), flush=True)
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    script: str
    expected: int  # records the program logs
    setup: Callable[[Any], None] | None = None


ACCESS = (
    '"request completed method=GET path=/api/v1/orders/%d/items status=200 bytes=%d '
    'duration_ms=%d client=10.0.3.17 ua=Mozilla/5.0 (X11; Linux x86_64) region=us-east-1 '
    'cache=miss user=u-%06d seq=%d"'
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "burst-4-threads",
        "25,000 records of ~730 bytes from 4 threads",
        """
        h = cwlogs.CloudWatchHandler(log_group=group)
        log.addHandler(h)
        pad = "x" * 700
        def run(t):
            for i in range(6250):
                log.info("seq=%d %s", t * 6250 + i, pad)
        ts = [threading.Thread(target=run, args=(t,)) for t in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
        ok = h.flush(120)
        report(flushed=ok, stats=h.stats())
        """,
        25_000,
    ),
    Scenario(
        "500s-8-threads",
        "8 threads x 10,000 records, 10 % of PutLogEvents answered HTTP 500",
        """
        h = cwlogs.CloudWatchHandler(log_group=group)
        log.addHandler(h)
        def run(t):
            for i in range(10000):
                log.info("seq=%d worker %d", t * 10000 + i, t)
        ts = [threading.Thread(target=run, args=(t,)) for t in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        ok = h.flush(120)
        report(flushed=ok, stats=h.stats())
        """,
        80_000,
        setup=lambda proxy: proxy.inject_random(
            "PutLogEvents", _fault().internal(), probability=0.10, seed=7
        ),
    ),
    Scenario(
        "access-200k-1-thread",
        "200,000 access-log lines from 1 thread",
        f"""
        h = cwlogs.CloudWatchHandler(log_group=group)
        log.addHandler(h)
        t0 = time.perf_counter()
        for i in range(200000):
            log.info({ACCESS}, i % 977, 512 + i % 4096, i % 300, i % 100000, i,
                     extra={{"route": "orders", "status": 200, "tenant": "t-1", "shard": i % 8}})
        logged = time.perf_counter() - t0
        ok = h.flush(180)
        report(flushed=ok, stats=h.stats(), seconds=time.perf_counter() - t0, logging=logged)
        """,
        200_000,
    ),
    Scenario(
        "exit-backlog",
        "200,000 records queued (max_queue_bytes=256 MiB), then exit without flush",
        """
        h = cwlogs.CloudWatchHandler(log_group=group, max_queue_bytes=256 * 1024 * 1024,
                                     flush_interval=3600)
        log.addHandler(h)
        for i in range(200000):
            log.info("seq=%d backlog", i)
        t0 = time.monotonic()
        logging.shutdown()
        report(exit_seconds=time.monotonic() - t0, stats=h.stats())
        """,
        200_000,
    ),
    Scenario(
        "big-extras-hang",
        "200 records with 600 KB extras, 1 MiB bound, endpoint hanging",
        """
        h = cwlogs.CloudWatchHandler(log_group=group, max_queue_bytes=1024 * 1024,
                                     shutdown_timeout=1)
        log.addHandler(h)
        before = rss_mib()
        for i in range(200):
            log.info("seq=%d big", i, extra={"blob": "y" * 600_000, "n": i})
        grown = rss_mib() - before
        h.close()
        report(rss_growth_mib=grown, stats=h.stats())
        """,
        200,
        setup=lambda proxy: proxy.inject("PutLogEvents", _fault().hang(30), times=50),
    ),
    Scenario(
        "huge-message",
        "3,000 records queued, then one 6 MB message",
        """
        h = cwlogs.CloudWatchHandler(log_group=group, flush_interval=3600)
        log.addHandler(h)
        for i in range(3000):
            log.info("seq=%d before", i)
        log.info("seq=3000 " + "z" * 6_000_000)
        ok = h.flush(60)
        report(flushed=ok, stats=h.stats())
        """,
        3001,
    ),
    Scenario(
        "dictconfig-twice",
        "dictConfig twice with 3,000 records queued (botocore at DEBUG)",
        """
        import logging.config
        cfg = {"version": 1,
               "handlers": {"cw": {"class": "cwlogs.CloudWatchHandler", "log_group": group,
                                   "flush_interval": 3600}},
               "loggers": {"app": {"handlers": ["cw"], "level": "INFO", "propagate": False}}}
        logging.config.dictConfig(cfg)
        logging.getLogger("botocore").setLevel(logging.DEBUG)
        first = log.handlers[0]
        for i in range(3000):
            log.info("seq=%d first", i)
        t0 = time.monotonic()
        logging.config.dictConfig(cfg)
        took = time.monotonic() - t0
        worker = first._batcher._thread
        worker.join(60)
        report(reconfigure_seconds=took, worker_alive=worker.is_alive(), stats=first.stats())
        """,
        3000,
    ),
    Scenario(
        "forkserver-workers",
        "multiprocessing forkserver: 4 workers x 250 records, no flush",
        """
        import multiprocessing as mp
        h = cwlogs.CloudWatchHandler(log_group=group, log_stream="w-{pid}")
        log.addHandler(h)
        def work(k):
            for i in range(250):
                log.info("seq=%d worker", k * 250 + i)
        if __name__ == "__main__":
            ctx = mp.get_context("forkserver")
            ps = [ctx.Process(target=work, args=(k,)) for k in range(4)]
            [p.start() for p in ps]; [p.join(60) for p in ps]
            report(exitcodes=[p.exitcode for p in ps])
        """,
        1000,
    ),
    Scenario(
        "outage-8s",
        "8 s outage while logging 2,500 records/s: slowest logging call",
        """
        h = cwlogs.CloudWatchHandler(log_group=group)
        log.addHandler(h)
        slowest = 0.0
        t_end = time.monotonic() + 10
        i = 0
        while time.monotonic() < t_end:
            t0 = time.perf_counter()
            log.info("seq=%d during outage", i)
            slowest = max(slowest, time.perf_counter() - t0)
            i += 1
            time.sleep(0.0004)
        ok = h.flush(120)
        report(slowest_call_ms=slowest * 1000, logged=i, flushed=ok, stats=h.stats())
        """,
        -1,
        setup=lambda proxy: _outage(proxy, 1.0, 8.0),
    ),
    Scenario(
        "unrenderable",
        "records whose message cannot be rendered, then normal ones",
        """
        class Hostile:
            def __str__(self): raise RuntimeError("no str")
            def __repr__(self): raise RuntimeError("no repr")
        h = cwlogs.CloudWatchHandler(log_group=group, redact=False)
        log.addHandler(h)
        for i in range(100):
            log.info(Hostile())
            log.info("seq=%d %s %s", i)
            log.info("seq=%d ok", i)
        ok = h.flush(60)
        report(flushed=ok, stats=h.stats())
        """,
        300,
    ),
)


def _fault() -> Any:
    from cwlogs.testing import Fault

    return Fault


def _outage(proxy: Any, start_after: float, seconds: float) -> None:
    import threading

    def run() -> None:
        time.sleep(start_after)
        proxy.set_down(True)
        time.sleep(seconds)
        proxy.set_down(False)

    threading.Thread(target=run, daemon=True).start()


def run(scenario: Scenario, proxy: Any, client: Any, workdir: Path) -> dict[str, Any]:
    group = f"/cwlogs-faults/{scenario.name}/{uuid.uuid4().hex[:8]}"
    path = workdir / f"{scenario.name}.py"
    path.write_text(PRELUDE + textwrap.dedent(scenario.script))
    proxy.clear_faults()
    if proxy.is_down:
        proxy.set_down(False)
    if scenario.setup is not None:
        scenario.setup(proxy)
    env = os.environ.copy()
    env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = proxy.url
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(path), group],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    wall = time.monotonic() - t0
    proxy.clear_faults()
    if proxy.is_down:
        proxy.set_down(False)
    result: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    seqs = _read_back(client, group)
    expected = scenario.expected
    if expected < 0:
        expected = int(result.get("logged", 0))
    stored = sum(seqs.values())
    distinct = len(seqs)
    stats = result.get("stats", {})
    return {
        "scenario": scenario.name,
        "what": scenario.what,
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        "logged": expected,
        "stored": stored,
        "lost": expected - distinct,
        "duplicated": stored - distinct,
        "dropped": stats.get("dropped"),
        "rejected": stats.get("rejected"),
        "counted": sum((stats.get("dropped") or {}).values())
        + sum((stats.get("rejected") or {}).values()),
        "extra": {k: v for k, v in result.items() if k != "stats"},
        "stderr_tail": proc.stderr.strip().splitlines()[-3:],
    }


def _read_back(client: Any, group: str) -> Counter[int]:
    seqs: Counter[int] = Counter()
    try:
        pages = client.get_paginator("filter_log_events").paginate(logGroupName=group)
        for page in pages:
            for ev in page["events"]:
                try:
                    message = orjson.loads(ev["message"]).get("message", "")
                except orjson.JSONDecodeError:
                    message = ev["message"]
                head = str(message).split(" ", 1)[0]
                if head.startswith("seq=") and head[4:].isdigit():
                    seqs[int(head[4:])] += 1
                else:
                    seqs[-len(seqs) - 1] += 1  # a marked record: counts once
    except client.exceptions.ResourceNotFoundException:
        pass
    return seqs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenario names")
    args = parser.parse_args(argv)
    from cwlogs.client import make_client
    from cwlogs.testing import MotoServer, StrictProxy

    for key, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ[key] = value
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"cwlogs-faults-{uuid.uuid4().hex[:6]}"
    workdir.mkdir(parents=True)
    rows = []
    with MotoServer() as moto, StrictProxy(moto.url) as proxy:
        client = make_client(endpoint_url=moto.url)
        for scenario in chosen:
            row = run(scenario, proxy, client, workdir)
            rows.append(row)
            print(
                f"{row['scenario']:<22} lost {row['lost']:>7,}  dup {row['duplicated']:>5,}  "
                f"counted {row['counted']:>7,}  {row['dropped']}  {row['extra']}",
                flush=True,
            )
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(rows, indent=2))
    print("\n| scenario | logged | stored | lost | duplicated | counted drops | notes |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        notes = ", ".join(f"{k}={_short(v)}" for k, v in row["extra"].items())
        print(
            f"| {row['what']} | {row['logged']:,} | {row['stored']:,} | {row['lost']:,} | "
            f"{row['duplicated']:,} | {row['counted']:,} {row['dropped'] or ''} | {notes} |"
        )
    return 0


def _short(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
