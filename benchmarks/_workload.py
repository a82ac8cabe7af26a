"""The measured side of ``bench_handlers.py``: one handler variant, one workload, one process.

``bench_handlers.py`` runs ``python benchmarks/_workload.py '<json spec>'`` once per
variant, thread count and repeat, so that RSS and CPU belong to that variant alone. This
process logs ``events`` records, waits until the handler says everything is delivered,
and prints one line ``RESULT {json}`` on stdout; the parent reads the stream back.

Every stored message starts with ``seq=<n>``, which is how the parent counts lost and
duplicated events whatever the handler's output format (plain text or JSON).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
import resource
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

RESULT_PREFIX = "RESULT "
LOGGER_NAME = "bench.orders"
# The formatted message is 200 bytes; ``seq=`` is first so a reader can find it in any
# output format, and the rest is plain text that no default redaction pattern matches.
MESSAGE_FORMAT = (
    "seq=%06d order #%06d placed by user u42 in eu-west-1: 3 items, total 129.90 EUR, "
    "carrier dhl-express, warehouse fra-7, payment captured, invoice pending, %s"
)
_PAD = "x" * (200 - len(MESSAGE_FORMAT % (0, 0, "")))
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
REGION = "us-east-1"
# CloudWatch's PutLogEvents limits, for the raw ceiling's pre-built batches.
MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576
EVENT_OVERHEAD = 26


def message(i: int) -> str:
    """The message the workload logs for sequence number ``i`` (200 bytes)."""
    return MESSAGE_FORMAT % (i, i, _PAD)


def extras(i: int) -> dict[str, Any]:
    return {"order_id": i, "user": "u42", "region": "eu-west-1"}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _max_rss_kib() -> int:
    """Peak RSS of this process image in KiB.

    ``ru_maxrss`` survives ``execve``: a child forked from a 80 MiB parent reports at
    least 80 MiB. Linux's ``VmHWM`` is reset by ``execve``, so it is used where it exists.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


# --------------------------------------------------------------------------- the loop


def _log_range(logger: logging.Logger, start: int, stop: int) -> None:
    info = logger.info
    fmt, pad = MESSAGE_FORMAT, _PAD
    for i in range(start, stop):
        info(fmt, i, i, pad, extra={"order_id": i, "user": "u42", "region": "eu-west-1"})


def run_loop(logger: logging.Logger, events: int, threads: int) -> tuple[float, float]:
    """Log ``events`` records from ``threads`` threads.

    Returns the loop's wall seconds and the CPU seconds the logging threads themselves
    spent (``time.thread_time``: without the handler's worker thread and GIL waits).
    """
    if threads == 1:
        cpu0 = time.thread_time()
        start = time.perf_counter()
        _log_range(logger, 0, events)
        wall = time.perf_counter() - start
        return wall, time.thread_time() - cpu0
    bounds = [(k * events // threads, (k + 1) * events // threads) for k in range(threads)]
    barrier = threading.Barrier(threads + 1)
    spent: list[float] = []

    def work(lo: int, hi: int) -> None:
        barrier.wait()
        cpu0 = time.thread_time()
        _log_range(logger, lo, hi)
        spent.append(time.thread_time() - cpu0)

    workers = [
        threading.Thread(target=work, args=b, name=f"bench-{k}") for k, b in enumerate(bounds)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, sum(spent)


# --------------------------------------------------------------------------- handlers


class JsonLineFormatter(logging.Formatter):
    """A small JSON formatter: ``json.dumps`` of the record's core fields and extras."""

    _reserved = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
        "message",
        "asctime",
        "taskName",
    }

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": record.created,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._reserved:
                out[key] = value
        return json.dumps(out, default=repr)


class _PutCounter:
    """Wraps a boto3 client's ``put_log_events`` to count calls, successes and events."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        self.ok = 0
        self.events_ok = 0
        self.errors: Counter[str] = Counter()
        self._put = client.put_log_events
        self._lock = threading.Lock()
        client.put_log_events = self

    def __call__(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        try:
            response = self._put(**kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            with self._lock:
                self.errors[code] += 1
            raise
        with self._lock:
            self.ok += 1
            self.events_ok += len(kwargs.get("logEvents", ()))
        return response

    def summary(self) -> dict[str, Any]:
        return {
            "put_attempts": self.calls,
            "puts": self.ok,
            "put_events": self.events_ok,
            "put_errors": dict(self.errors),
        }


def _build(spec: dict[str, Any]) -> tuple[logging.Handler, Callable[[], dict[str, Any]]]:
    """The handler for ``spec`` and a function that drains it and returns delivery facts."""
    kind, options = spec["kind"], dict(spec.get("options") or {})
    if kind == "null":
        return logging.NullHandler(), dict
    if kind == "queue":
        # The stdlib's own non-blocking pair, with a listener that discards: what a
        # record copy, a queue and a second thread cost before any encoding or sending.
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(records, logging.NullHandler())
        listener.start()

        def drain_queue() -> dict[str, Any]:
            listener.stop()
            return {}

        return logging.handlers.QueueHandler(records), drain_queue
    if kind == "stream":
        stream = open(os.devnull, "w")  # noqa: SIM115 - closed with the handler
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonLineFormatter())

        def drain_stream() -> dict[str, Any]:
            handler.flush()
            handler.close()
            stream.close()
            return {}

        return handler, drain_stream
    if kind == "cwlogs":
        import cwlogs

        cw = cwlogs.CloudWatchHandler(
            log_group=spec["group"],
            log_stream=spec["stream"],
            endpoint_url=spec["endpoint"],
            region=REGION,
            **options,
        )
        # cwlogs builds its boto3 client lazily on the worker; watchtower's is built before
        # its handler. Build this one now too, so neither pays ~0.5 s of botocore model
        # loading inside the measured window (the cost is reported as setup_cpu_s).
        cw.client  # noqa: B018 - the property builds the client

        def drain_cwlogs() -> dict[str, Any]:
            flushed = cw.flush(timeout=120)
            cw.close()
            stats = cw.stats()
            return {
                "flush_ok": flushed,
                "puts": stats["batches"],
                "put_attempts": stats["batches"] + stats["retried"],
                "put_events": stats["sent"],
                "handler_stats": stats,
            }

        return cw, drain_cwlogs
    if kind == "watchtower":
        import boto3
        import watchtower
        from botocore.config import Config

        client_options = options.pop("client_config", None)
        client = boto3.client(
            "logs",
            endpoint_url=spec["endpoint"],
            region_name=REGION,
            config=Config(**client_options) if client_options else None,
        )
        wt = watchtower.CloudWatchLogHandler(
            log_group_name=spec["group"],
            log_stream_name=spec["stream"],
            boto3_client=client,
            create_log_group=True,
            **options,
        )
        counter = _PutCounter(client)

        def drain_watchtower() -> dict[str, Any]:
            wt.flush()
            wt.close()
            return counter.summary()

        return wt, drain_watchtower
    raise ValueError(f"unknown handler kind {kind!r}")


# --------------------------------------------------------------------------- runs


def _count_warnings() -> Counter[str]:
    """Count warnings by their first words instead of printing one per record."""
    seen: Counter[str] = Counter()

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        seen[f"{category.__name__}: {str(message)[:60]}"] += 1

    warnings.simplefilter("always")
    warnings.showwarning = show
    return seen


def run_handler(spec: dict[str, Any]) -> dict[str, Any]:
    events, threads = int(spec["events"]), int(spec["threads"])
    seen_warnings = _count_warnings()
    setup0 = _cpu_seconds()
    handler, drain = _build(spec)
    setup_cpu_s = _cpu_seconds() - setup0
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    rss_before = _max_rss_kib()
    cpu0 = _cpu_seconds()
    wall0 = time.perf_counter()
    loop_s, loop_cpu_s = run_loop(logger, events, threads)
    delivery = drain()
    e2e_s = time.perf_counter() - wall0
    cpu_s = _cpu_seconds() - cpu0
    logger.removeHandler(handler)
    return {
        "loop_s": loop_s,
        "loop_thread_cpu_s": loop_cpu_s,
        "e2e_s": e2e_s,
        "cpu_s": cpu_s,
        "setup_cpu_s": setup_cpu_s,
        "rss_before_kib": rss_before,
        "max_rss_kib": _max_rss_kib(),
        "warnings": dict(seen_warnings),
        **delivery,
    }


def _raw_batches(events: int) -> list[list[dict[str, Any]]]:
    """Full PutLogEvents batches of cwlogs-shaped JSON messages, built before timing."""
    import orjson

    now_ms = int(time.time() * 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now_ms / 1000))
    batches: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for i in range(events):
        text = orjson.dumps(
            {
                "timestamp": stamp,
                "level": "info",
                "message": message(i),
                "logger": LOGGER_NAME,
                **extras(i),
            }
        ).decode()
        cost = len(text.encode()) + EVENT_OVERHEAD
        if batch and (len(batch) == MAX_EVENTS_PER_CALL or size + cost > MAX_BYTES_PER_CALL):
            batches.append(batch)
            batch, size = [], 0
        batch.append({"timestamp": now_ms, "message": text})
        size += cost
    if batch:
        batches.append(batch)
    return batches


def run_raw(spec: dict[str, Any]) -> dict[str, Any]:
    """The ceiling: serial ``put_log_events`` of pre-built full batches, nothing else."""
    import boto3

    setup0 = _cpu_seconds()
    client = boto3.client("logs", endpoint_url=spec["endpoint"], region_name=REGION)
    setup_cpu_s = _cpu_seconds() - setup0
    client.create_log_group(logGroupName=spec["group"])
    client.create_log_stream(logGroupName=spec["group"], logStreamName=spec["stream"])
    batches = _raw_batches(int(spec["events"]))
    rss_before = _max_rss_kib()
    cpu0 = _cpu_seconds()
    wall0 = time.perf_counter()
    for batch in batches:
        client.put_log_events(
            logGroupName=spec["group"], logStreamName=spec["stream"], logEvents=batch
        )
    e2e_s = time.perf_counter() - wall0
    cpu_s = _cpu_seconds() - cpu0
    return {
        "loop_s": None,
        "e2e_s": e2e_s,
        "cpu_s": cpu_s,
        "setup_cpu_s": setup_cpu_s,
        "rss_before_kib": rss_before,
        "max_rss_kib": _max_rss_kib(),
        "puts": len(batches),
        "put_attempts": len(batches),
        "put_events": sum(map(len, batches)),
        "warnings": {},
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    result = run_raw(spec) if spec["kind"] == "raw" else run_handler(spec)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
