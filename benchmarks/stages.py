"""Per-stage cost of one log event in CPU instructions (callgrind), worker and caller side.

For one workload line (see ``_workload.py``) this prepares N records, then drives each
stage of the handler's path over all of them in turn: on the worker, building the Event
from the queued item, ``msg % args``, the event dict, redaction, encoding, batch
planning, the request body, SigV4 signing and the send; on the caller, one logging call
through ``CloudWatchHandler`` (its worker idle) against one through ``NullHandler``.

It runs itself under ``valgrind --tool=callgrind`` with collection switched on only
inside ``PyRun_SimpleStringFlags``, the C function each stage is started through, and a
dump after each: every dump holds exactly one stage's instructions. A no-op stage over
the same N items gives the harness's own loop cost, which is subtracted.

    .venv/bin/python benchmarks/stages.py                      # workload a, 2,000 records
    .venv/bin/python benchmarks/stages.py --workloads a,b,c,d,e --records 1000
    .venv/bin/python benchmarks/stages.py --no-valgrind        # wall ns instead (no valgrind)

Prints a Markdown table; writes ``benchmarks/results/stages-<time>.json``.
Every call into cwlogs' internals is in the ADAPTER section below: when the engine is
rewritten, that is the only part to follow it.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _workload import AWS_ENV, REGION, WORKLOADS, PaymentError, process_payment  # noqa: E402

RESULTS_DIR = HERE / "results"
STAGES_PREFIX = "STAGES "
MARKER = "PyRun_SimpleStringFlags"
GROUP, STREAM = "/bench/stages", "stages"
CALLER_RECORDS = 1500

# =========================================================================== ADAPTER
# Every call into cwlogs' engine. Each function takes what the previous stage produced.
# If a name moved, fix it here; the rest of the file only calls these. The names are
# bound once, here, so the stages do not pay for an import statement per event.

import orjson  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

from cwlogs import CloudWatchHandler  # noqa: E402
from cwlogs._shipping.encode import OWN_FIELDS, fit_message, item_event_dict, render_item  # noqa: E402
from cwlogs._shipping.encode import encode as to_json  # noqa: E402
from cwlogs._shipping.limits import check_timestamp, plan_batch  # noqa: E402
from cwlogs._shipping.put import FastPut  # noqa: E402
from cwlogs._shipping.snapshot import ITEM_TS, snapshot_fields  # noqa: E402
from cwlogs.client import make_client  # noqa: E402
from cwlogs.handler import make_redactor as handler_redactor  # noqa: E402

STATIC: dict[str, Any] = {}  # the handler's static fields by default (none)


def snapshot(record: logging.LogRecord) -> Any:
    """Caller side: what the handler queues for ``record`` (without the sequence number)."""
    return snapshot_fields(record, None, False)


def queued_item(seq: int, fields: Any) -> Any:
    return (seq, *fields)


def event_dict(item: Any) -> dict[str, Any]:
    """The event dict straight from the queued tuple, the deferred ``msg % args`` included."""
    return item_event_dict(item, STATIC)


def event_ts(item: Any) -> int:
    """The event's timestamp in epoch milliseconds."""
    return int(item[ITEM_TS])


def make_redactor() -> Any:
    return handler_redactor(True)  # what the handler's default ``redact=None`` resolves to


def redact(redactor: Any, as_dict: dict[str, Any]) -> dict[str, Any]:
    in_place = getattr(redactor, "redact_event_in_place", None)
    if in_place is not None:
        in_place(as_dict, OWN_FIELDS)
        return as_dict
    return dict(redactor.redact_event(as_dict, OWN_FIELDS))


def encode(as_dict: dict[str, Any]) -> bytes:
    """The event's final bytes: orjson, the size check, the exact-size copy (as render does)."""
    data, _ = fit_message(to_json(as_dict), as_dict)
    return bytes(memoryview(data))


def render(item: Any, redactor: Any) -> bytes:
    """The whole per-event worker path in one call (a cross-check of the stages above)."""
    return bytes(render_item(item, STATIC, redactor)[0])


def plan_batches(events: list[tuple[int, bytes]]) -> list[list[tuple[int, bytes]]]:
    """The worker's batch bookkeeping: timestamp checks, chronological order, limits."""
    now_ms = int(time.time() * 1000)
    ok = [e for e in events if check_timestamp(e[0], now_ms, None) is None]
    ok.sort(key=lambda e: e[0])
    out = []
    while ok:
        n = plan_batch([(ts, len(data)) for ts, data in ok])
        out.append(ok[:n])
        ok = ok[n:]
    return out


def make_sender(endpoint: str) -> Any:
    """The transport's fast PutLogEvents path (its signer, URL and HTTP session)."""
    from types import SimpleNamespace

    client = make_client(region=REGION, endpoint_url=endpoint)
    # The signer holds only a weak reference to the client's event hooks: keep the client.
    return SimpleNamespace(fast=FastPut(client), client=client)


def request_body(sender: Any, batch: list[tuple[int, bytes]]) -> bytes:
    return orjson.dumps(
        {
            "logGroupName": GROUP,
            "logStreamName": STREAM,
            "logEvents": [{"timestamp": ts, "message": data.decode()} for ts, data in batch],
        }
    )


def sign(sender: Any, body: bytes) -> Any:
    request = AWSRequest(
        method="POST",
        url=sender.fast.url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Logs_20140328.PutLogEvents",
            "User-Agent": sender.fast.user_agent,
        },
    )
    sender.fast.signer.sign("PutLogEvents", request)
    return request


def send(sender: Any, request: Any) -> int:
    response = sender.fast.http.send(request.prepare())
    if response.status_code != 200:
        raise RuntimeError(f"PutLogEvents answered {response.status_code}: {response.content!r}")
    return int(response.status_code)


def caller_handler(endpoint: str) -> logging.Handler:
    """A default CloudWatchHandler whose worker stays idle while the caller stage runs."""
    return CloudWatchHandler(
        log_group=GROUP,
        log_stream=STREAM,
        endpoint_url=endpoint,
        region=REGION,
        flush_interval=86_400,  # the worker sleeps: only the caller's instructions count
        max_queue_bytes=1 << 30,
    )


def worker_was_idle(handler: Any) -> bool:
    """True if the handler sent nothing yet (its worker did not run during the stage)."""
    return int(handler.stats().get("batches", 0)) == 0


# =========================================================================== the runner


def _noop(x: Any) -> Any:
    return x


def _noop_call(fmt: str, *args: Any, **kwargs: Any) -> None:
    return None


class Runner:
    """Runs each stage once over all its inputs, through the marker when under callgrind."""

    def __init__(self, under_valgrind: bool) -> None:
        self.under_valgrind = under_valgrind
        self.stages: list[dict[str, Any]] = []
        self._pythonapi = ctypes.pythonapi
        self._pythonapi.PyRun_SimpleString.argtypes = [ctypes.c_char_p]
        self._pythonapi.PyRun_SimpleString.restype = ctypes.c_int

    def stage(self, name: str, per: str, units: int, fn: Callable[[], Any]) -> Any:
        import __main__

        gc.collect()
        box: dict[str, Any] = {}

        def body() -> None:
            box["out"] = fn()

        __main__._bench_stage = body  # type: ignore[attr-defined]
        started = time.perf_counter_ns()
        rc = self._pythonapi.PyRun_SimpleString(b"_bench_stage()")
        elapsed = time.perf_counter_ns() - started
        entry: dict[str, Any] = {"stage": name, "per": per, "units": units, "wall_ns": elapsed}
        if rc != 0 or "out" not in box:
            entry["error"] = "the stage raised (traceback on stderr)"
        self.stages.append(entry)
        return box.get("out")


def _records(
    workload_key: str, n: int, start: int = 0
) -> tuple[list[logging.LogRecord], list[Any]]:
    """N LogRecords as ``logger.info``/``logger.exception`` would make them, and the calls."""
    workload = WORKLOADS[workload_key]
    logger = logging.getLogger("bench.app")
    records, calls = [], []
    for i in range(start, start + n):
        fmt, args, extra = workload.call(i)
        level, exc_info = logging.INFO, None
        if workload.is_error(i):
            try:
                process_payment(i)
            except PaymentError:
                level, exc_info = logging.ERROR, sys.exc_info()
        records.append(
            logger.makeRecord(logger.name, level, __file__, 1, fmt, args, exc_info, None, extra)
        )
        calls.append((level, fmt, args, extra, exc_info))
    return records, calls


def run_stages(spec: dict[str, Any]) -> list[dict[str, Any]]:
    n = int(spec["records"])
    runner = Runner(spec["valgrind"])
    records, calls = _records(spec["workload"], n)
    # Fewer calls than a full batch's worth of queued cost, so the worker never wakes.
    calls = calls[:CALLER_RECORDS]
    redactor = make_redactor()
    sender = make_sender(spec["endpoint"])
    # Warm every path once (imports, caches, lazy compiles) before anything is counted.
    warm = queued_item(1, snapshot(records[0]))
    encode(redact(redactor, event_dict(warm)))
    render(queued_item(1, snapshot(records[0])), redactor)

    def per_record(fn: Callable[[Any], Any], items: list[Any]) -> Callable[[], list[Any]]:
        return lambda: [fn(x) for x in items]

    runner.stage("loop (subtracted)", "event", n, per_record(_noop, records))
    fields = runner.stage("caller: snapshot_fields", "event", n, per_record(snapshot, records))
    items = [queued_item(seq, f) for seq, f in enumerate(fields, 1)]
    dicts = runner.stage(
        "format + event dict (from the tuple)", "event", n, per_record(event_dict, items)
    )
    dicts = runner.stage("redaction", "event", n, per_record(lambda d: redact(redactor, d), dicts))
    datas = runner.stage("encode (orjson)", "event", n, per_record(encode, dicts))
    # Other lines than the stages saw, so the redactor's caches are no warmer than theirs.
    others, _ = _records(spec["workload"], n, start=n)
    fresh = [queued_item(seq, snapshot(r)) for seq, r in enumerate(others, 1)]
    runner.stage(
        "cross-check: render() all in one",
        "event",
        n,
        per_record(lambda ev: render(ev, redactor), fresh),
    )
    pairs = [(event_ts(item), d) for item, d in zip(items, datas, strict=True)]
    batches = runner.stage("batch planning", "event", n, lambda: plan_batches(pairs))
    bodies = runner.stage(
        "request body", "event", n, lambda: [request_body(sender, b) for b in batches]
    )
    requests = runner.stage("SigV4 signing", "event", n, lambda: [sign(sender, b) for b in bodies])
    runner.stage("send (HTTP)", "event", n, lambda: [send(sender, r) for r in requests])
    runner.stages[-1]["batches"] = [len(b) for b in batches or ()]

    # The caller path last: a CloudWatchHandler's worker thread exists from here on.
    def calls_through(handler: logging.Handler, name: str) -> Callable[[], None]:
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        log = logger.log

        def loop() -> None:
            for level, fmt, args, extra, exc_info in calls:
                log(level, fmt, *args, exc_info=exc_info, extra=extra)

        return loop

    def call_baseline() -> None:
        for level, fmt, args, extra, exc_info in calls:
            _noop_call(level, fmt, *args, exc_info=exc_info, extra=extra)

    m = len(calls)
    runner.stage("caller loop (subtracted)", "record", m, call_baseline)
    runner.stage("caller: NullHandler", "record", m, calls_through(logging.NullHandler(), "b.null"))
    cw = caller_handler(spec["endpoint"])
    cw_loop = calls_through(cw, "b.cw")
    logging.getLogger("b.cw").info("warm-up: starts the worker thread")
    runner.stage("caller: CloudWatchHandler", "record", m, cw_loop)
    if not worker_was_idle(cw):
        runner.stages[-1]["error"] = "the handler's worker sent during the caller stage"
    return runner.stages


# =========================================================================== the parent


def _totals(dump: str) -> int:
    with open(dump) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise ValueError(f"no totals in {dump}")


def measure(
    workload: str, records: int, endpoint: str, valgrind: bool, timeout: float
) -> dict[str, Any]:
    spec = {"workload": workload, "records": records, "endpoint": endpoint, "valgrind": valgrind}
    env = {**os.environ, **AWS_ENV, "PYTHONHASHSEED": "0"}
    command = [sys.executable, str(Path(__file__).resolve()), "--run", json.dumps(spec)]
    outdir = tempfile.mkdtemp(prefix="cwlogs-stages-")
    try:
        if valgrind:
            command = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={outdir}/cg.out",
                "--collect-atstart=no",
                f"--toggle-collect={MARKER}",
                f"--dump-after={MARKER}",
                *command,
            ]
        proc = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(STAGES_PREFIX)]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"stage run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        stages: list[dict[str, Any]] = json.loads(lines[-1][len(STAGES_PREFIX) :])
        if valgrind:
            dumps = sorted(glob.glob(f"{outdir}/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
            if len(dumps) != len(stages):
                raise RuntimeError(f"{len(dumps)} callgrind dumps for {len(stages)} stages")
            for stage, dump in zip(stages, dumps, strict=True):
                stage["instructions"] = _totals(dump)
        return {"workload": workload, "records": records, "stages": stages}
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


WORKER_STAGES = (
    "format + event dict (from the tuple)",
    "redaction",
    "encode (orjson)",
    "batch planning",
    "request body",
    "SigV4 signing",
    "send (HTTP)",
)


def per_event(result: dict[str, Any], key: str) -> dict[str, float]:
    """Cost per event (``key``: instructions or wall_ns), the harness loop subtracted."""
    stages = {s["stage"]: s for s in result["stages"]}
    loop = stages["loop (subtracted)"]
    call_loop = stages["caller loop (subtracted)"]
    out: dict[str, float] = {}
    for name, s in stages.items():
        if "subtracted" in name:
            continue
        if s["per"] == "record":
            base = call_loop[key] / call_loop["units"]
        else:
            base = 0 if name in _BATCH_STAGES else loop[key] / loop["units"]
        out[name] = s[key] / s["units"] - base
    out["worker total (stages above)"] = sum(out[name] for name in WORKER_STAGES)
    null = max(out["caller: NullHandler"], 1e-9)
    out["caller: CloudWatchHandler / NullHandler"] = out["caller: CloudWatchHandler"] / null
    # Issue 12's target: redacting one line costs at most one NullHandler logging call.
    out["redaction / NullHandler call"] = out["redaction"] / null
    return out


#: Stages that loop over a few batches, not over the N events: no per-event loop to subtract.
_BATCH_STAGES = frozenset({"batch planning", "request body", "SigV4 signing", "send (HTTP)"})

ORDER = (
    "caller: NullHandler",
    "caller: CloudWatchHandler",
    "caller: CloudWatchHandler / NullHandler",
    "caller: snapshot_fields",
    *WORKER_STAGES,
    "worker total (stages above)",
    "cross-check: render() all in one",
    "redaction / NullHandler call",
)


def render_table(results: list[dict[str, Any]], key: str) -> str:
    tables = {r["workload"]: per_event(r, key) for r in results}
    unit = "instructions" if key == "instructions" else "wall ns"
    heads = ["stage", *(f"{w}: {unit}/event" for w in tables)]
    cells = []
    for name in ORDER:
        row = [name]
        for values in tables.values():
            value = values.get(name)
            if value is None:
                row.append("-")
            elif "/ NullHandler" in name:
                row.append(f"{value:.2f}x")
            else:
                row.append(f"{value / 1000:,.1f}k" if key == "instructions" else f"{value:,.0f}")
        cells.append(row)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
    lines.append(
        "|"
        + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths))
        + "|"
    )
    for c in cells:
        lines.append(
            "| "
            + " | ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            )
            + " |"
        )
    return "\n".join(lines)


def _stage(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["stages"] if s["stage"] == name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--workloads", default="a", help=f"some of {','.join(WORKLOADS)}")
    parser.add_argument("--records", type=int, default=2000, help="records per stage")
    parser.add_argument("--no-valgrind", action="store_true", help="wall time, no callgrind")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per workload")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # the measured child
    args = parser.parse_args(argv)
    if args.run:
        stages = run_stages(json.loads(args.run))
        sys.stdout.write(STAGES_PREFIX + json.dumps(stages) + "\n")
        sys.stdout.flush()
        os._exit(0)  # skip the handler's exit-time flush: nothing after this is measured
    valgrind = not args.no_valgrind
    if valgrind and shutil.which("valgrind") is None:
        parser.error("valgrind is not installed; use --no-valgrind for wall times")
    keys = [k.strip() for k in args.workloads.split(",") if k.strip()]
    if any(k not in WORKLOADS for k in keys):
        parser.error(f"unknown workload in {args.workloads!r}")

    import boto3

    from cwlogs.testing import MotoServer

    results = []
    started = time.perf_counter()
    with MotoServer() as moto:
        client = boto3.client(
            "logs",
            endpoint_url=moto.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        for key in keys:
            print(
                f"workload {key}: {WORKLOADS[key].name}, {args.records:,} records ...", flush=True
            )
            results.append(measure(key, args.records, moto.url, valgrind, args.timeout))
    metric = "instructions" if valgrind else "wall_ns"
    print()
    print(render_table(results, metric))
    for r in results:
        for stage in r["stages"]:
            if "error" in stage:
                print(f"warning: workload {r['workload']}, {stage['stage']}: {stage['error']}")
    sizes = {r["workload"]: _stage(r, "send (HTTP)").get("batches") for r in results}
    print(
        f"\n{'callgrind instructions' if valgrind else 'wall ns (noisy)'} per event, the "
        "harness's own loop subtracted. Batch stages are divided by the events of the "
        f"batches planned for the N records (sizes: {sizes}); send counts this process "
        f"only, not the server. {time.perf_counter() - started:.0f} s"
    )
    report = {
        "benchmark": "stages",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metric": metric,
        "records": args.records,
        "python": sys.version.split()[0],
        "results": results,
        "per_event": {r["workload"]: per_event(r, metric) for r in results},
    }
    output = args.output or RESULTS_DIR / f"stages-{time.strftime('%Y%m%dT%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
