"""Redaction benchmark: cost per typical event, and throughput against input size.

Measures, in one process and on the CPU clock, what the handler's worker pays to redact:

* a typical ~250-byte event (a message and a few fields, as ``to_event_dict`` builds
  it), encoded with orjson with redaction off and on, for events without PII and with
  some; every event differs, as in real traffic;
* ``redact_text`` over mixed log text of 1 KB, 10 KB, 100 KB and 1 MB, to show that
  the cost per byte does not grow with the size;
* the same for two pathological inputs (a megabyte of dots, and of card-shaped digit
  groups that each cost a Luhn check), the worst cases found while building it.

    .venv/bin/python benchmarks/bench_redaction.py            # about 30 s
    .venv/bin/python benchmarks/bench_redaction.py --quick    # about 5 s

Prints a table; writes ``benchmarks/results/redaction.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from cwlogs.formatting import _OWN_FIELDS as OWN_FIELDS
from cwlogs.redaction import Redactor

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "redaction.json"
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def clean_event(i: int) -> dict[str, Any]:
    """A typical event without PII; timestamp, id and message differ for every ``i``."""
    return {
        "timestamp": f"2024-05-01T12:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d}Z",
        "level": "info",
        "message": f"order {81723 + i} placed: {i % 7 + 1} items, total {i % 90}.90 EUR",
        "logger": "shop.orders",
        "thread": "MainThread",
        "request_id": str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4)),
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


_WORDS = [
    "request",
    "completed",
    "user",
    "session",
    "cache",
    "miss",
    "retry",
    "upstream",
    "timeout",
    "order",
    "placed",
    "GET",
    "POST",
    "/api/v1/orders",
    "status=200",
    "latency_ms=35",
    "region=eu-west-1",
    "worker-7",
    "2024-05-01T12:30:45Z",
    "level=info",
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


def best_seconds(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best per-call CPU time over ``repeat`` runs of ``number`` calls (timeit's advice)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


def bench_events(repeat: int, number: int) -> list[dict[str, Any]]:
    """Per-event cost over ``number`` distinct events, each run with a fresh Redactor.

    Distinct events matter: the redactor remembers short strings it found clean, so
    one event encoded over and over would measure a cache.  Here only what really
    repeats between events (level, logger, thread) can hit it.
    """
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


def bench_sizes(
    redactor: Redactor, make: Callable[[int], str], repeat: int, budget: float
) -> list[dict[str, Any]]:
    rows = []
    for size in SIZES:
        text = make(size)
        # Enough calls per run to take about ``budget`` seconds, at least one.
        once = best_seconds(lambda t=text: redactor.redact_text(t), 1, 1)
        number = max(1, int(budget / max(once, 1e-6)))
        seconds = best_seconds(lambda t=text: redactor.redact_text(t), number, repeat)
        rows.append(
            {
                "bytes": size,
                "ms": seconds * 1e3,
                "ns_per_byte": seconds / size * 1e9,
                "mb_per_s": size / seconds / 1e6,
            }
        )
    return rows


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"Redaction benchmark ({report['machine']['python']}, CPU time, best of runs)\n")
    print("Typical event, orjson-encoded          bytes   off µs    on µs   redaction µs")
    for row in report["events"]:
        print(
            f"  {row['event']:<35}{row['bytes']:>7}{row['off_us']:>9.1f}"
            f"{row['on_us']:>9.1f}{row['redaction_us']:>15.1f}"
        )
    for key, title in (
        ("mixed_text", "redact_text on mixed log text"),
        ("dots", "pathological: dots"),
        ("card_groups", "pathological: card-shaped digit groups"),
    ):
        print(f"\n{title:<39}bytes       ms   ns/byte     MB/s")
        for row in report[key]:
            print(
                f"  {'':<35}{row['bytes']:>7}{row['ms']:>9.2f}"
                f"{row['ns_per_byte']:>10.0f}{row['mb_per_s']:>9.1f}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, about 5 s")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeat, number, budget = (3, 2_000, 0.05) if args.quick else (7, 10_000, 0.3)
    redactor = Redactor()
    report = {
        "machine": machine(),
        "method": f"time.process_time, best of {repeat} runs",
        "events": bench_events(repeat, number),
        "mixed_text": bench_sizes(redactor, mixed_text, repeat, budget),
        "dots": bench_sizes(redactor, lambda n: "." * n, repeat, budget),
        "card_groups": bench_sizes(redactor, lambda n: ("4111 " * (n // 5 + 1))[:n], 1, budget),
    }
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
