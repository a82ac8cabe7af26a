"""Redaction benchmark: cost per real log line against a logging call, and linear time.

Three parts, in one process:

* **lines**: ``Redactor().redact_text`` on real line shapes (an access-log line with a
  client IP and a user agent, with an email in it or not; an email and a UUID; numbers,
  hex ids and a key=value tail; a traceback; the project's old no-match line), each
  line distinct as in real traffic, as a ratio to one ``logging.getLogger("x").info(msg)``
  call through a ``NullHandler`` measured in the same process, for the ``default`` and
  ``strict`` presets.
* **events**: a typical ~250-byte event dict as the handler redacts it, per event.
* **adversarial**: the worst inputs found (repeated separators, digit runs, near-miss
  emails, IPv6-like text, base64 with JWT-like dots, key=value chains...) at 1 KB,
  100 KB and 1 MB, in ns per byte: a constant column is linear time.

Wall-clock ratios are noisy on a shared machine; ``--instructions`` counts CPU
instructions instead (valgrind's callgrind, the difference between two run lengths, so
start-up cancels out) for the lines part, which is exact and repeatable.

    .venv/bin/python benchmarks/bench_redaction.py                 # about 1 min
    .venv/bin/python benchmarks/bench_redaction.py --quick         # about 15 s
    .venv/bin/python benchmarks/bench_redaction.py --instructions  # a few minutes

Prints tables; writes ``benchmarks/results/redaction.json``.  Runs against an older
cwlogs too (a ``Redactor`` without presets), to measure a "before".
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import platform
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from cwlogs._shipping.encode import OWN_FIELDS
from cwlogs.redaction import Redactor

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "redaction.json"
SIZES = (1_000, 100_000, 1_000_000)
PRESETS = ("default", "strict")
HAS_PRESETS = "preset" in inspect.signature(Redactor).parameters

ACCESS = (
    "request completed method=GET path=/api/v1/orders/{n}/items status=200 bytes={b}"
    " duration_ms={d} client=10.0.3.17 ua=Mozilla/5.0 (X11; Linux x86_64) region=us-east-1"
    " cache=miss user={user} seq={n}"
)
TRACEBACK = (
    "order {n} failed\nTraceback (most recent call last):\n"
    '  File "/srv/app/orders.py", line {n}, in create_order\n'
    "    total = compute_total(order)\n"
    '  File "/srv/app/pricing.py", line 42, in compute_total\n'
    "    return sum(item.price * item.qty for item in order.items)\n"
    "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'"
)


def _uuid(i: int) -> str:
    return str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))


#: name -> a function of i giving the i-th line (every line distinct, as in real logs).
LINES: dict[str, Callable[[int], str]] = {
    "access line + email (1 match)": lambda i: ACCESS.format(
        n=i, b=5000 + i % 977, d=i % 90, user="jane.doe@example.com"
    ),
    "access line (IP only; strict: 1 match)": lambda i: ACCESS.format(
        n=i, b=5000 + i % 977, d=i % 90, user=f"u-{i:06d}"
    ),
    "email + UUID": lambda i: f"login ok for user{i}@example.com request_id={_uuid(i)}",
    "numbers, hex ids, key=value tail": lambda i: (
        f"job {i} done in {i * 3 % 1000} ms commit={i * 2654435761 % 2**48:012x}"
        f" trace={_uuid(i).replace('-', '')[:16]} shard={i % 16} retries=0 queue=default"
    ),
    "traceback": lambda i: TRACEBACK.format(n=i),
    "no-match line (benchmarks/_workload.py)": lambda i: (
        f"plain text that no default redaction pattern matches {i}"
    ),
}


def _sized(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


#: name -> repeated unit.  Each was a worst case for some version of some pattern.
ADVERSARIAL: dict[str, str] = {
    '"::%" (IPv6 zone near-miss)': "::%",
    '"1::2::3 " (IPv6-like)': "1::2::3 ",
    '"fe80::1%eth0 " (valid IPv6)': "fe80::1%eth0 ",
    '"=" run': "=",
    '"@" run': "@",
    '"." run': ".",
    "digit run": "1",
    '"a@" (near-miss email)': "a@",
    '"a.a.a.a@" (near-miss email)': "a.a.a.a@",
    '"a@b.cc " (valid emails)': "a@b.cc ",
    "base64 with JWT-like dots": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.",
    '"k=v " chain': "k=v ",
    '"password=x " chain': "password=x ",
    '"Bearer " run': "Bearer ",
    "PEM headers": "-----BEGIN PRIVATE KEY-----",
    '"a://b:" (URL near-miss)': "a://b:",
    "card groups (Luhn each)": "4111 ",
    '"+1 2 " (phone near-miss)': "+1 2 ",
    '"1.2.3.4 " (IPv4)': "1.2.3.4 ",
    '"+1 555 123 4567 " (valid phones)': "+1 555 123 4567 ",
    "mixed log text": "",  # see mixed_text
}

_WORDS = [
    *("request", "completed", "user", "session", "cache", "miss", "retry", "upstream"),
    *("timeout", "order", "placed", "GET", "POST", "/api/v1/orders", "status=200"),
    *("latency_ms=35", "region=eu-west-1", "worker-7", "2024-05-01T12:30:45Z", "level=info"),
    "trace=6f1c2a9e3b7d4c1e",
]
_PII = (
    "jane.doe@example.com",
    "203.0.113.7",
    "4111 1111 1111 1111",
    "+44 20 7946 0958",
    "password=hunter2",
    "AKIAIOSFODNN7EXAMPLE",
)


def mixed_text(size: int, seed: int = 7) -> str:
    """Log-like text of exactly ``size`` characters, about one PII item per 500 bytes."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_PII) if rng.random() < 0.02 else rng.choice(_WORDS)
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)[:size]


def make_redactor(preset: str) -> Redactor:
    if HAS_PRESETS:
        return Redactor(preset=preset)  # type: ignore[call-arg,unused-ignore]
    return Redactor()  # an older cwlogs: one fixed set (which had IP addresses)


def cpu_per_call(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best per-call CPU time over ``repeat`` runs of ``number`` calls (timeit's advice)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


def null_logger() -> logging.Logger:
    logger = logging.getLogger("x")
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def bench_lines(repeat: int, number: int) -> list[dict[str, Any]]:
    """Per-line cost as a ratio to a NullHandler logging call, interleaved run by run so
    that both see the same machine load."""
    logger = null_logger()
    message = LINES["access line + email (1 match)"](1)
    rows = []
    for preset in PRESETS:
        for name, make in LINES.items():
            lines = [make(i) for i in range(number)]
            redactor = make_redactor(preset)
            redactor.redact_text(lines[0])  # compile and warm up outside the clock
            best_ratio, best_line, best_null = float("inf"), 0.0, 0.0
            for _ in range(repeat):
                null = cpu_per_call(lambda: logger.info(message), number, 1)
                feed = iter(lines)
                line = cpu_per_call(lambda r=redactor, f=feed: r.redact_text(next(f)), number, 1)
                if line / null < best_ratio:
                    best_ratio, best_line, best_null = line / null, line, null
            rows.append(
                {
                    "preset": preset,
                    "line": name,
                    "bytes": round(sum(map(len, lines)) / number),
                    "us": best_line * 1e6,
                    "null_us": best_null * 1e6,
                    "ratio": best_ratio,
                    "sample": redactor.redact_text(lines[1])[-70:],
                }
            )
    return rows


def clean_event(i: int) -> dict[str, Any]:
    """A typical event without PII; timestamp, id and message differ for every ``i``."""
    return {
        "timestamp": f"2024-05-01T12:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d}Z",
        "level": "info",
        "message": f"order {81723 + i} placed: {i % 7 + 1} items, total {i % 90}.90 EUR",
        "logger": "shop.orders",
        "thread": "MainThread",
        "request_id": _uuid(i),
        "user_id": 4242 + i,
        "duration_ms": 35.2,
    }


def pii_event(i: int) -> dict[str, Any]:
    """A typical event with an email, an IP address, a card number and a password."""
    event = clean_event(i)
    event["level"] = "warning"
    event["message"] = (
        f"payment retry for user{i}@example.com from 203.0.{i // 250 % 250}.{i % 250 + 1},"
        " card 4111 1111 1111 1111"
    )
    event["password"] = "hunter2"
    return event


def bench_events(repeat: int, number: int) -> list[dict[str, Any]]:
    """Per-event cost over ``number`` distinct events, with a fresh Redactor per run."""
    rows = []
    for name, make in (("no PII", clean_event), ("with PII", pii_event)):
        events = [make(i) for i in range(number)]
        off = on = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            for event in events:
                orjson.dumps(event)
            off = min(off, (time.process_time() - start) / number)
            redactor = Redactor()
            start = time.process_time()
            for event in events:
                # As the handler calls it: its own timestamp/level/logger are not scanned.
                orjson.dumps(redactor.redact_event(event, OWN_FIELDS))
            on = min(on, (time.process_time() - start) / number)
        rows.append(
            {
                "event": name,
                "bytes": round(sum(len(orjson.dumps(e)) for e in events) / number),
                "off_us": off * 1e6,
                "on_us": on * 1e6,
                "redaction_us": (on - off) * 1e6,
            }
        )
    return rows


def bench_adversarial(repeat: int, budget: float) -> list[dict[str, Any]]:
    rows = []
    for preset in PRESETS:
        redactor = make_redactor(preset)
        for name, unit in ADVERSARIAL.items():
            row: dict[str, Any] = {"preset": preset, "input": name}
            for size in SIZES:
                text = mixed_text(size) if not unit else _sized(unit, size)
                once = cpu_per_call(lambda t=text, r=redactor: r.redact_text(t), 1, 1)
                number = max(1, int(budget / max(once, 1e-6)))
                runs = repeat if once * number * repeat < 10 * budget else 1
                seconds = cpu_per_call(lambda t=text, r=redactor: r.redact_text(t), number, runs)
                row[f"ns_per_byte_{size}"] = seconds / size * 1e9
            rows.append(row)
    return rows


# ---------------------------------------------------------------- instruction counts

_CHILD = """
import logging, sys
sys.path[:0] = {path!r}
import bench_redaction as b
case, preset, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [b.LINES[case](i) for i in range(count)] if case != "null" else []
if case == "null":
    logger, message = b.null_logger(), b.LINES["access line + email (1 match)"](1)
    for _ in range(count):
        logger.info(message)
elif preset != "none":
    r = b.make_redactor(preset)
    r.redact_text(b.LINES[case](10**6))
    for line in lines:
        r.redact_text(line)
"""


def instructions(case: str, preset: str, short: int = 200, long: int = 1200) -> float:
    """Instructions per call: callgrind's total for ``long`` calls minus ``short`` calls."""
    path = [str(HERE), *[p for p in sys.path if p]]
    totals = []
    for count in (short, long):
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                _CHILD.format(path=path),
                case,
                preset,
                str(count),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(done.stderr[-2000:])
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (long - short)


def bench_instructions() -> list[dict[str, Any]]:
    null = instructions("null", "none")
    rows = []
    for preset in PRESETS if HAS_PRESETS else ("default",):
        for name in LINES:
            # Building the line itself is measured apart and taken off.
            build = instructions(name, "none")
            total = instructions(name, preset)
            rows.append(
                {
                    "preset": preset,
                    "line": name,
                    "instructions": total - build,
                    "null_instructions": null,
                    "ratio": (total - build) / null,
                }
            )
            print(f"  {preset:<8} {name:<42} {(total - build) / null:5.2f}", flush=True)
    return rows


# ------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "presets": HAS_PRESETS,
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"Redaction benchmark (Python {report['machine']['python']})\n")
    key = "instructions" if "instructions" in report else "lines"
    unit = "instructions" if key == "instructions" else "CPU time"
    print(f"redact_text per line, as a ratio to one NullHandler logging call ({unit})")
    for row in report[key]:
        print(f"  {row['preset']:<8} {row['line']:<42} {row['ratio']:6.2f}")
    if "events" in report:
        print("\nTypical event, orjson-encoded          bytes   off µs    on µs   redaction µs")
        for row in report["events"]:
            print(
                f"  {row['event']:<35}{row['bytes']:>7}{row['off_us']:>9.1f}"
                f"{row['on_us']:>9.1f}{row['redaction_us']:>15.1f}"
            )
    if "adversarial" in report:
        print("\nredact_text, ns per byte" + " " * 29 + "".join(f"{s:>10,}" for s in SIZES))
        for row in report["adversarial"]:
            cells = "".join(f"{row[f'ns_per_byte_{s}']:>10.1f}" for s in SIZES)
            print(f"  {row['preset']:<8} {row['input']:<42} {cells}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, about 15 s")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions for the lines (valgrind)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    if args.instructions:
        report["method"] = "callgrind instruction counts"
        report["instructions"] = bench_instructions()
    else:
        repeat, number, budget = (3, 2_000, 0.02) if args.quick else (7, 10_000, 0.1)
        report["method"] = f"time.process_time, best of {repeat} runs"
        report["lines"] = bench_lines(repeat, number)
        report["events"] = bench_events(repeat, number)
        report["adversarial"] = bench_adversarial(repeat, budget)
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
