"""The measured side of ``bench_handlers.py``: one contender, one workload, one process.

``bench_handlers.py`` runs ``python benchmarks/_workload.py '<json spec>'`` once per
contender, workload, thread count and repeat, so that CPU time and peak RSS belong to
that contender alone. This process builds the handler, logs ``events`` records from
``threads`` threads (timing every call), waits until the handler says everything is
delivered, and prints one line ``RESULT {json}`` on stdout.

Every message carries ``seq=<n>`` exactly once, which is how the parent counts lost and
duplicated events whatever the handler's output format (plain text or JSON).

The workloads (``WORKLOADS``) are the line shapes of issue 12; every line differs (the
counters go into ids, sizes, addresses), as in real traffic.
"""

from __future__ import annotations

import faulthandler
import gc
import itertools
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
import warnings
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RESULT_PREFIX = "RESULT "
LOGGER_NAME = "bench.app"
REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}
# CloudWatch's PutLogEvents limits, for the raw ceiling's pre-built batches.
MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576
EVENT_OVERHEAD = 26

Call = tuple[str, tuple[Any, ...], dict[str, Any]]


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    """One line shape: ``call(i)`` gives the format, args and extras for record ``i``."""

    key: str
    name: str
    call: Callable[[int], Call]
    #: Every ``error_every``-th record is logged with ``logger.exception`` in a real except.
    error_every: int = 0

    def is_error(self, i: int) -> bool:
        return bool(self.error_every) and i % self.error_every == self.error_every // 2


_IP_MIX = 2654435761  # Knuth's multiplicative hash: consecutive i, scattered values
_MIX_160 = 0x9E3779B97F4A7C15F39CC0605CEDC8341082276B  # odd: (i + 1) * it fills 160 bits


def _access(i: int) -> Call:
    h = i * _IP_MIX
    return (
        "request completed method=GET path=/api/v1/orders/%d/items status=200 bytes=%d "
        "duration_ms=%d client=10.0.3.17 ua=Mozilla/5.0 (X11; Linux x86_64) region=us-east-1 "
        "cache=miss user=u-%06d seq=%d",
        (100_000 + h % 900_000, 512 + h % 60_000, 1 + h % 900, h % 1_000_000, i),
        {
            "client_ip": f"10.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255}",
            "request_id": f"req-{h % 10**12:012d}",
            "status_code": 200,
            "route": "orders.items",
        },
    )


_FIRST = ("anna", "bram", "chen", "dana", "eli", "femi", "greta", "hugo")
_LAST = ("smith", "novak", "garcia", "okafor", "jensen", "tanaka", "rossi", "kowalski")
_DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "example.co.uk")
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")


def _uuid4_text(h: int) -> str:
    return (
        f"{h & 0xFFFFFFFF:08x}-{h >> 32 & 0xFFFF:04x}-4{h >> 48 & 0xFFF:03x}-"
        f"{8 | (h >> 60 & 3):x}{h >> 62 & 0xFFF:03x}-{(h >> 74) ^ (h * 31) & 0xFFFFFFFFFFFF:012x}"
    )


def _email_uuid(i: int) -> Call:
    h = (i + 1) * _MIX_160 & (1 << 122) - 1
    email = f"{_FIRST[i % 8]}.{_LAST[i // 8 % 8]}{i % 997}@{_DOMAINS[i // 64 % 4]}"
    return (
        "password reset email sent to %s for account %s via web (expires in %d min) seq=%d",
        (email, _uuid4_text(h), 15 + i % 45, i),
        {"tenant": _TENANTS[i % 5], "attempt": 1 + i % 3},
    )


def _hex_kv(i: int) -> Call:
    h = (i + 1) * _MIX_160 & (1 << 160) - 1
    return (
        "cache refresh object=%024x commit=%040x size=%d items=%d ratio=%.3f "
        "shard=%d node=ip-10-0-%d-%d status=ok retries=%d seq=%d",
        (
            h >> 17 & (1 << 96) - 1,
            h,
            4096 + h % 1_000_000,
            h % 5000,
            (h % 1000) / 997,
            i % 64,
            i % 7,
            i % 251,
            i % 3,
            i,
        ),
        {"shard": i % 64, "elapsed_ms": round((h % 100_000) / 37, 3)},
    )


class PaymentError(Exception):
    pass


def _gateway_call(order: int) -> None:
    raise PaymentError(f"gateway declined payment for order {order}: code=05 do_not_honor")


def _authorize(order: int, amount: int) -> None:
    if amount >= 0:
        _gateway_call(order)


def process_payment(order: int) -> None:
    """Fails a few frames deep, so the logged traceback looks like a real one."""
    _authorize(order, order % 50_000)


def _error_tb(i: int) -> Call:
    order = 700_000 + i * 7 % 300_000
    args = (order, i % 500, i % 100, i)
    extra = {"order_id": order, "psp": "adyen"}
    if i % 50 == 25:
        return "payment failed order=%d amount=%d.%02d currency=EUR seq=%d", args, extra
    return (
        "payment authorized order=%d amount=%d.%02d currency=EUR method=card psp=adyen seq=%d",
        args,
        extra,
    )


# The line of the project's first benchmark: 200 bytes that no redaction pattern matches.
_NOMATCH = (
    "seq=%06d order #%06d placed by user u42 in eu-west-1: 3 items, total 129.90 EUR, "
    "carrier dhl-express, warehouse fra-7, payment captured, invoice pending, %s"
)
_NOMATCH_PAD = "x" * (200 - len(_NOMATCH % (0, 0, "")))


def _nomatch(i: int) -> Call:
    return _NOMATCH, (i, i, _NOMATCH_PAD), {"order_id": i, "user": "u42", "region": "eu-west-1"}


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload("a", "access log (IP, user agent, 4 extras)", _access),
        Workload("b", "email + UUID", _email_uuid),
        Workload("c", "numbers, 24/40-hex ids, key=value tail", _hex_kv),
        Workload("d", "error with traceback, 1 in 50", _error_tb, error_every=50),
        Workload("e", "no-match line (the old benchmark's)", _nomatch),
    )
}


# --------------------------------------------------------------------------- measuring


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_kib() -> int:
    """Peak RSS of this process image in KiB.

    ``ru_maxrss`` survives ``execve``: a child spawned from a 100 MiB parent reports at
    least 100 MiB. Linux's ``VmHWM`` is reset by ``execve``, so it is used where it exists.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


class GcWatch:
    """Counts full (generation 2) collections and their pauses during the measured window."""

    def __init__(self) -> None:
        self.full = 0
        self.full_ms: list[float] = []
        self._started = 0
        self.active = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.active or info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter_ns()
        else:
            self.full += 1
            self.full_ms.append((time.perf_counter_ns() - self._started) / 1e6)


def log_range(
    logger: logging.Logger, workload: Workload, lo: int, hi: int, lat: array[int]
) -> None:
    """Log records ``lo`` .. ``hi - 1``; the nanoseconds of each call go to ``lat``."""
    info, exception = logger.info, logger.exception
    ns = time.perf_counter_ns
    call = workload.call
    is_error = workload.is_error if workload.error_every else None
    for j, i in enumerate(range(lo, hi)):
        fmt, args, extra = call(i)  # the application's work: not timed
        if is_error is not None and is_error(i):
            try:
                process_payment(i)
            except PaymentError:
                t0 = ns()
                exception(fmt, *args, extra=extra)
                lat[j] = ns() - t0
        else:
            t0 = ns()
            info(fmt, *args, extra=extra)
            lat[j] = ns() - t0


def run_loop(
    logger: logging.Logger, workload: Workload, events: int, threads: int, timeout: float
) -> tuple[float, array[int]]:
    """Log ``events`` records from ``threads`` threads; the loop's wall seconds and latencies."""
    bounds = [(k * events // threads, (k + 1) * events // threads) for k in range(threads)]
    lats = [array("q", bytes(8 * (hi - lo))) for lo, hi in bounds]
    if threads == 1:
        start = time.perf_counter()
        log_range(logger, workload, 0, events, lats[0])
        return time.perf_counter() - start, lats[0]
    barrier = threading.Barrier(threads + 1, timeout=timeout)
    failed: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait()
            log_range(logger, workload, *bounds[k], lats[k])
        except BaseException as exc:  # reported, never a silent short run
            failed.append(exc)

    workers = [threading.Thread(target=work, args=(k,), name=f"bench-{k}") for k in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join(timeout)
        if worker.is_alive():
            raise TimeoutError(f"{worker.name} still logging after {timeout:.0f} s")
    if failed:
        raise RuntimeError(f"a logging thread failed: {failed[0]!r}")
    wall = time.perf_counter() - start
    merged = array("q")
    for lat in lats:
        merged.extend(lat)
    return wall, merged


def latency_summary(lat: array[int]) -> dict[str, Any]:
    ordered = sorted(lat)
    n = len(ordered)
    if not n:
        return {}
    return {
        "caller_mean_us": sum(ordered) / n / 1e3,
        "caller_p50_us": ordered[n // 2] / 1e3,
        "caller_p99_us": ordered[min(n - 1, n * 99 // 100)] / 1e3,
        "caller_p999_us": ordered[min(n - 1, n * 999 // 1000)] / 1e3,
        "caller_max_us": ordered[-1] / 1e3,
        "calls_over_1ms": n - _bisect_left(ordered, 1_000_000),
    }


def _bisect_left(ordered: list[int], value: int) -> int:
    import bisect

    return bisect.bisect_left(ordered, value)


# --------------------------------------------------------------------------- contenders


class SelfCheckFilter(logging.Filter):
    """Drops every 97th record and emits every 89th one twice (unless dropped).

    Used by the ``selfcheck`` contender, to prove the read-back counts losses and
    duplicates: the parent knows exactly how many of each to expect.
    """

    DROP_EVERY = 97
    DUP_EVERY = 89

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self._handler = handler
        self._count = itertools.count()  # next() is atomic under the GIL

    def filter(self, record: logging.LogRecord) -> bool:
        k = next(self._count)
        if k % self.DROP_EVERY == 0:
            return False
        if k % self.DUP_EVERY == 0:
            self._handler.emit(record)
        return True

    @classmethod
    def expected(cls, events: int) -> tuple[int, int]:
        """``(lost, duplicated)`` this filter causes over ``events`` records."""
        lost = len(range(0, events, cls.DROP_EVERY))
        dup = sum(1 for k in range(0, events, cls.DUP_EVERY) if k % cls.DROP_EVERY)
        return lost, dup


def _build(spec: dict[str, Any]) -> tuple[logging.Handler, Callable[[float], dict[str, Any]]]:
    """The handler for ``spec`` and a function that drains it (within a timeout)."""
    kind, options = spec["kind"], dict(spec.get("options") or {})
    if kind == "null":
        return logging.NullHandler(), lambda timeout: {}
    if kind == "cwlogs":
        import cwlogs

        cw = cwlogs.CloudWatchHandler(
            log_group=spec["group"],
            log_stream=spec["stream"],
            endpoint_url=spec["endpoint"],
            region=REGION,
            **options,
        )
        if spec.get("selfcheck"):
            cw.addFilter(SelfCheckFilter(cw))
        # cwlogs builds its boto3 client lazily on the worker; watchtower's is built before
        # its handler. Build this one now too, so neither pays botocore's model loading
        # inside the measured window.
        cw.client  # noqa: B018 - the property builds the client

        def drain_cwlogs(timeout: float) -> dict[str, Any]:
            flushed = cw.flush(timeout=timeout)
            cw.close()
            stats = cw.stats()
            return {"flush_ok": flushed, "handler_stats": stats}

        return cw, drain_cwlogs
    if kind == "watchtower":
        import boto3
        import watchtower

        client = boto3.client("logs", endpoint_url=spec["endpoint"], region_name=REGION)
        wt = watchtower.CloudWatchLogHandler(
            log_group_name=spec["group"],
            log_stream_name=spec["stream"],
            boto3_client=client,
            **options,
        )

        def drain_watchtower(timeout: float) -> dict[str, Any]:
            # watchtower's flush has no timeout; the parent's process timeout bounds it.
            wt.flush()
            wt.close()
            return {}

        return wt, drain_watchtower
    raise ValueError(f"unknown contender kind {kind!r}")


def run_handler(spec: dict[str, Any]) -> dict[str, Any]:
    events, threads = int(spec["events"]), int(spec["threads"])
    timeout = float(spec["timeout"])
    workload = WORKLOADS[spec["workload"]]
    seen_warnings = _count_warnings()
    handler, drain = _build(spec)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    watch = GcWatch()
    gc.callbacks.append(watch)
    gc.collect()
    rss_before = max_rss_kib()
    watch.active = True
    cpu0 = _cpu_seconds()
    wall0 = time.perf_counter()
    loop_s, lat = run_loop(logger, workload, events, threads, timeout)
    delivery = drain(timeout)
    e2e_s = time.perf_counter() - wall0
    cpu_s = _cpu_seconds() - cpu0
    watch.active = False
    logger.removeHandler(handler)
    return {
        "loop_s": loop_s,
        "e2e_s": e2e_s,
        "cpu_s": cpu_s,
        "rss_before_kib": rss_before,
        "max_rss_kib": max_rss_kib(),
        "gc_full": watch.full,
        "gc_full_ms_total": sum(watch.full_ms),
        "gc_full_ms_max": max(watch.full_ms, default=0.0),
        "warnings": dict(seen_warnings),
        **latency_summary(lat),
        **delivery,
    }


def _count_warnings() -> Counter[str]:
    """Count warnings by their first words instead of printing one per record."""
    seen: Counter[str] = Counter()

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        seen[f"{category.__name__}: {str(message)[:60]}"] += 1

    warnings.simplefilter("always")
    warnings.showwarning = show
    return seen


# --------------------------------------------------------------------------- raw ceiling


def _sample_traceback() -> dict[str, str]:
    try:
        process_payment(700_025)
    except PaymentError as exc:
        return {
            "type": "PaymentError",
            "message": str(exc),
            "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        }
    raise AssertionError("process_payment must raise")


def raw_batches(workload: Workload, events: int) -> list[list[dict[str, Any]]]:
    """Full PutLogEvents batches of cwlogs-shaped JSON messages, built before timing."""
    import orjson

    now_ms = int(time.time() * 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now_ms / 1000))
    exc = _sample_traceback()
    batches: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for i in range(events):
        fmt, args, extra = workload.call(i)
        error = workload.is_error(i)
        event: dict[str, Any] = {
            "timestamp": stamp,
            "level": "error" if error else "info",
            "message": fmt % args,
            "logger": LOGGER_NAME,
            **extra,
        }
        if error:
            event["exception"] = exc
        text = orjson.dumps(event).decode()
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
    """The ceiling: serial ``put_log_events`` of pre-built full batches, retries off."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "logs",
        endpoint_url=spec["endpoint"],
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.create_log_group(logGroupName=spec["group"])
    client.create_log_stream(logGroupName=spec["group"], logStreamName=spec["stream"])
    batches = raw_batches(WORKLOADS[spec["workload"]], int(spec["events"]))
    gc.collect()
    rss_before = max_rss_kib()
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
        "rss_before_kib": rss_before,
        "max_rss_kib": max_rss_kib(),
        "warnings": {},
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    # A hang anywhere (a flush that never returns, a deadlock) prints every thread's stack
    # and ends the process, so the parent reports it instead of waiting forever.
    faulthandler.dump_traceback_later(float(spec["timeout"]) * 2 + 10, exit=True)
    for name, value in AWS_ENV.items():
        os.environ.setdefault(name, value)
    result = run_raw(spec) if spec["kind"] == "raw" else run_handler(spec)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
