"""Handler benchmark: cwlogs against watchtower, stdlib floors and a raw boto3 ceiling.

One run starts a moto server, then runs every handler variant in its own subprocess
(``_workload.py``) so that CPU time and peak RSS belong to that variant alone. Each
subprocess logs N ~200-byte records with three extras from 1 and from 4 threads, waits
until the handler reports everything delivered, and reports its timings; this process
then reads the stream back from moto and counts lost and duplicated events.

    .venv/bin/python benchmarks/bench_handlers.py              # full: 200,000 events, <= 3 repeats
    .venv/bin/python benchmarks/bench_handlers.py --quick      # 20,000 events, 1 repeat, < 1 min
    .venv/bin/python benchmarks/bench_handlers.py --only cwlogs-tuned,watchtower

Prints a table and the target ratios; writes ``benchmarks/results/handlers.json``.
See ``docs/benchmarks.md`` for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _workload import AWS_ENV, REGION, RESULT_PREFIX  # noqa: E402 - needs the path above

DEFAULT_OUTPUT = HERE / "results" / "handlers.json"
SEQ_RE = re.compile(r"seq=(\d+)")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # cwlogs | watchtower | null | stream | raw
    options: dict[str, Any] = field(default_factory=dict)
    stored: bool = True  # does it deliver to CloudWatch (so lost/dup can be checked)?
    serial_only: bool = False  # the raw ceiling has no logging threads
    note: str = ""


VARIANTS: tuple[Variant, ...] = (
    Variant("cwlogs", "cwlogs", note="defaults: 10 MiB queue, drop_oldest, redaction on"),
    Variant(
        "cwlogs-tuned",
        "cwlogs",
        {"max_queue_bytes": 256 * MIB},
        note="max_queue_bytes=256 MiB, redaction on",
    ),
    Variant(
        "cwlogs-noredact",
        "cwlogs",
        {"max_queue_bytes": 256 * MIB, "redact": False},
        note="tuned + redact=False (redaction cost)",
    ),
    Variant("watchtower", "watchtower", note="defaults (send_interval=60, 10k/1 MiB batches)"),
    Variant(
        "watchtower-tuned",
        "watchtower",
        {
            "send_interval": 1,
            "max_batch_count": 10_000,
            "max_batch_size": 1_048_576,
            "client_config": {"parameter_validation": False},
        },
        note="send_interval=1, full batches, boto3 Config(parameter_validation=False)",
    ),
    Variant("NullHandler", "null", stored=False, note="caller-cost floor; nothing stored"),
    Variant(
        "QueueHandler",
        "queue",
        stored=False,
        note="stdlib QueueHandler + QueueListener(NullHandler): queue + thread, nothing sent",
    ),
    Variant(
        "StreamHandler+json",
        "stream",
        stored=False,
        note="StreamHandler(os.devnull) + json.dumps formatter",
    ),
    Variant(
        "raw-boto3",
        "raw",
        serial_only=True,
        note="serial put_log_events of pre-built full batches (ceiling)",
    ),
)


# --------------------------------------------------------------------------- one run


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CWLOGS_"))}
    env.update(AWS_ENV)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _read_back(client: Any, group: str) -> tuple[Counter[int], int, int]:
    """Every ``seq=`` found in the group's streams, the stored count and unparseable count."""
    seqs: Counter[int] = Counter()
    stored = unparsed = 0
    streams: list[str] = []
    for page in client.get_paginator("describe_log_streams").paginate(logGroupName=group):
        streams.extend(s["logStreamName"] for s in page["logStreams"])
    for stream in streams:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
                "limit": 10_000,
            }
            if token is not None:
                kwargs["nextToken"] = token
            page = client.get_log_events(**kwargs)
            for event in page["events"]:
                stored += 1
                match = SEQ_RE.search(event["message"])
                if match is None:
                    unparsed += 1
                else:
                    seqs[int(match.group(1))] += 1
            # At the end of the stream GetLogEvents hands back the token it was given.
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
    return seqs, stored, unparsed


def run_once(
    moto: Any,
    client: Any,
    variant: Variant,
    threads: int,
    events: int,
    run_tag: str,
    timeout: float,
) -> dict[str, Any]:
    """Run ``variant`` once in a fresh subprocess and check what reached moto."""
    moto.reset()
    group = f"/bench/{run_tag}/{variant.name}/{threads}t/{uuid.uuid4().hex[:8]}"
    spec = {
        "kind": variant.kind,
        "options": variant.options,
        "threads": threads,
        "events": events,
        "endpoint": moto.url,
        "group": group,
        "stream": "bench",
    }
    command = [sys.executable, str(HERE / "_workload.py"), json.dumps(spec)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s", "stderr_tail": err[-2000:]}
    wall = time.perf_counter() - started
    lines = [line for line in out.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        return {
            "error": f"exit code {proc.returncode}, no result line",
            "stderr_tail": err[-2000:],
        }
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    result["process_wall_s"] = wall
    result["load_avg_1m_before"] = load
    result["stderr_lines"] = len(err.splitlines())
    result["stderr_tail"] = err.splitlines()[-3:]
    if variant.stored:
        read_started = time.perf_counter()
        seqs, stored, unparsed = _read_back(client, group)
        distinct = set(seqs)
        expected = range(events)
        result["stored"] = stored
        result["stored_unique"] = sum(1 for s in distinct if 0 <= s < events)
        result["lost"] = events - result["stored_unique"]
        result["duplicated"] = sum(seqs.values()) - len(distinct)
        result["unexpected"] = sum(1 for s in distinct if s not in expected) + unparsed
        result["lost_ranges"] = _ranges(s for s in expected if s not in distinct)[:5]
        result["read_back_s"] = time.perf_counter() - read_started
    return result


def _ranges(numbers: Iterable[int]) -> list[list[int]]:
    """Sorted integers as inclusive ``[first, last]`` runs: where the losses are."""
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


# --------------------------------------------------------------------------- aggregation


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def aggregate(
    variant: Variant, threads: int, runs: list[dict[str, Any]], events: int
) -> dict[str, Any]:
    """One table row: medians over the repeats, worst repeat for lost/duplicated."""
    ok = [r for r in runs if "error" not in r]
    row: dict[str, Any] = {
        "variant": variant.name,
        "kind": variant.kind,
        "threads": threads,
        "note": variant.note,
        "repeats": len(runs),
        "errors": [r["error"] for r in runs if "error" in r],
    }
    if not ok:
        return row
    loop = _median(r["loop_s"] for r in ok)
    loop_cpu = _median(r.get("loop_thread_cpu_s") for r in ok)
    e2e = _median(r["e2e_s"] for r in ok)
    if variant.stored:
        rates = [r["stored_unique"] / r["e2e_s"] for r in ok]
    else:
        rates = [events / r["e2e_s"] for r in ok]
    puts = _median(r.get("puts") for r in ok)
    put_events = _median(r.get("put_events") for r in ok)
    row.update(
        caller_us=None if loop is None else loop / events * 1e6,
        caller_cpu_us=None if loop_cpu is None else loop_cpu / events * 1e6,
        cpu_us_per_event=statistics.median(r["cpu_s"] for r in ok) / events * 1e6,
        e2e_s=e2e,
        events_per_s=statistics.median(rates),
        puts=puts,
        events_per_put=(put_events / puts) if puts and put_events is not None else None,
        peak_rss_mib=statistics.median(r["max_rss_kib"] for r in ok) / 1024,
        setup_cpu_s=_median(r.get("setup_cpu_s") for r in ok),
        load_avg_1m=_median(r.get("load_avg_1m_before") for r in ok),
        rss_growth_mib=statistics.median(r["max_rss_kib"] - r["rss_before_kib"] for r in ok) / 1024,
    )
    if variant.stored:
        # Worst repeat, not the median: one lossy run is a lossy handler.
        row["lost"] = max(r["lost"] for r in ok)
        row["duplicated"] = max(r["duplicated"] for r in ok)
        row["unexpected"] = max(r["unexpected"] for r in ok)
    dropped: Counter[str] = Counter()
    put_errors: Counter[str] = Counter()
    for r in ok:
        dropped.update((r.get("handler_stats") or {}).get("dropped") or {})
        put_errors.update(r.get("put_errors") or {})
    dropped = +dropped  # drop zero counts
    if dropped:
        row["cwlogs_dropped_total"] = dict(dropped)
    if put_errors:
        row["put_errors_total"] = dict(put_errors)
    if variant.kind == "cwlogs":
        row["flush_ok"] = all(r.get("flush_ok") for r in ok)
    warnings_seen: Counter[str] = Counter()
    for r in ok:
        warnings_seen.update(r.get("warnings") or {})
    if warnings_seen:
        row["warnings_total"] = dict(warnings_seen)
    return row


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


TARGETS: dict[str, tuple[str, float]] = {
    "caller_vs_null": ("<=", 2.0),
    "caller_vs_watchtower": ("<=", 0.4),
    "cpu_vs_watchtower": ("<=", 0.4),
    "eps_vs_raw": (">=", 1.0),
    "rss_vs_watchtower": ("<=", 1.0),
}


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every cwlogs row against NullHandler, watchtower (default and tuned) and raw boto3."""
    by_key = {(r["variant"], r["threads"]): r for r in rows}
    raw = by_key.get(("raw-boto3", 1), {})
    out = []
    for row in rows:
        if row["kind"] != "cwlogs" or "caller_us" not in row:
            continue
        t = row["threads"]
        null = by_key.get(("NullHandler", t), {})
        entry: dict[str, Any] = {"variant": row["variant"], "threads": t}
        for suffix, wt_name in (("", "watchtower"), ("_tuned", "watchtower-tuned")):
            wt = by_key.get((wt_name, t), {})
            entry["caller_vs_watchtower" + suffix] = _ratio(row["caller_us"], wt.get("caller_us"))
            entry["cpu_vs_watchtower" + suffix] = _ratio(
                row["cpu_us_per_event"], wt.get("cpu_us_per_event")
            )
            entry["rss_vs_watchtower" + suffix] = _ratio(
                row["peak_rss_mib"], wt.get("peak_rss_mib")
            )
        entry["caller_vs_null"] = _ratio(row["caller_us"], null.get("caller_us"))
        # Informational: the logging thread's own CPU, without waits for the GIL.
        entry["caller_cpu_vs_null"] = _ratio(row.get("caller_cpu_us"), null.get("caller_cpu_us"))
        entry["eps_vs_raw"] = _ratio(row["events_per_s"], raw.get("events_per_s"))
        entry["lost"] = row.get("lost")
        entry["duplicated"] = row.get("duplicated")
        entry["meets"] = _meets(entry)
        out.append(entry)
    return out


def floor_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stdlib QueueHandler's caller cost against NullHandler: the ``caller_vs_null``
    of a handler that only copies a record to a queue read by a thread doing nothing."""
    by_key = {(r["variant"], r["threads"]): r for r in rows}
    out = []
    for (name, t), row in by_key.items():
        if name != "QueueHandler":
            continue
        null = by_key.get(("NullHandler", t), {})
        out.append(
            {
                "variant": name,
                "threads": t,
                "caller_vs_null": _ratio(row.get("caller_us"), null.get("caller_us")),
            }
        )
    return out


def _meets(entry: dict[str, Any]) -> dict[str, bool | None]:
    met: dict[str, bool | None] = {}
    for key, (op, bound) in TARGETS.items():
        value = entry.get(key)
        met[key] = None if value is None else (value <= bound if op == "<=" else value >= bound)
    if entry["threads"] != 1:
        met["eps_vs_raw"] = None  # the target is for one thread; more is informational
    lost, dup = entry.get("lost"), entry.get("duplicated")
    met["lost_dup_zero"] = None if lost is None else (lost == 0 and dup == 0)
    return met


# --------------------------------------------------------------------------- output


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


COLUMNS: tuple[tuple[str, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("variant", "<", lambda r: r["variant"]),
    ("thr", ">", lambda r: r["threads"]),
    ("caller us/call", ">", lambda r: _fmt(r.get("caller_us"))),
    ("caller CPU us", ">", lambda r: _fmt(r.get("caller_cpu_us"))),
    ("CPU us/event", ">", lambda r: _fmt(r.get("cpu_us_per_event"))),
    ("e2e s", ">", lambda r: _fmt(r.get("e2e_s"))),
    ("events/s", ">", lambda r: _fmt(r.get("events_per_s"), ",.0f")),
    ("puts", ">", lambda r: _fmt(r.get("puts"), ".0f")),
    ("events/put", ">", lambda r: _fmt(r.get("events_per_put"), ",.0f")),
    ("peak RSS MiB", ">", lambda r: _fmt(r.get("peak_rss_mib"), ".1f")),
    ("lost", ">", lambda r: _fmt(r.get("lost"), ".0f") if "lost" in r else "n/a"),
    ("dup", ">", lambda r: _fmt(r.get("duplicated"), ".0f") if "lost" in r else "n/a"),
)


def render_table(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    cells = [[str(get(r)) for _, _, get in COLUMNS] for r in rows]
    heads = [name for name, _, _ in COLUMNS]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(heads)]

    def line(values: list[str]) -> str:
        parts = [
            v.ljust(w) if align == "<" else v.rjust(w)
            for v, w, (_, align, _) in zip(values, widths, COLUMNS, strict=True)
        ]
        return ("| " + " | ".join(parts) + " |") if markdown else "  ".join(parts)

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if a == ">" else ("-" * (w + 2))
            for w, (_, a, _) in zip(widths, COLUMNS, strict=True)
        )
        + "|"
        if markdown
        else "  ".join("-" * w for w in widths)
    )
    return "\n".join([line(heads), rule, *(line(c) for c in cells)])


RATIO_COLUMNS: tuple[tuple[str, str], ...] = (
    ("caller/Null (<=2)", "caller_vs_null"),
    ("caller/wt (<=0.4)", "caller_vs_watchtower"),
    ("CPU/wt (<=0.4)", "cpu_vs_watchtower"),
    ("eps/raw (>=1)", "eps_vs_raw"),
    ("RSS/wt (<=1)", "rss_vs_watchtower"),
)


def render_ratios(entries: list[dict[str, Any]], markdown: bool = False) -> str:
    if not entries:
        return "(no cwlogs row to compare)"
    heads = ["cwlogs row", "thr", *(h for h, _ in RATIO_COLUMNS), "lost/dup (=0)"]
    rows = []
    for e in entries:
        cells = [e["variant"], str(e["threads"])]
        for _, key in RATIO_COLUMNS:
            value = e.get(key)
            mark = "" if e["meets"].get(key) is not False else " MISS"
            tuned = e.get(key + "_tuned")
            text = _fmt(value)
            if tuned is not None:
                text += f" ({_fmt(tuned)})"
            cells.append(text + mark)
        lost_ok = e["meets"]["lost_dup_zero"]
        cells.append(
            f"{_fmt(e['lost'], '.0f')}/{_fmt(e['duplicated'], '.0f')}"
            + ("" if lost_ok is not False else " MISS")
        )
        rows.append(cells)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]
    if markdown:
        out = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out += [
            "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in rows
        ]
        return "\n".join(out)
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            models = [ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor()
    except OSError:
        info["cpu_model"] = platform.processor()
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 1024**3, 1)
        info["load_avg_at_start"] = [round(x, 2) for x in psutil.getloadavg()]
    except Exception:  # psutil is a dev dependency; the info is optional
        pass
    versions = {}
    for dist in ("cwlogs", "watchtower", "boto3", "botocore", "moto", "orjson"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    info["versions"] = versions
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
        info["git_commit"] = commit or None
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.splitlines()
        # Results describe the working tree, which may hold uncommitted library changes.
        info["src_uncommitted_changes"] = len(changed)
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=None, help="records per run (200,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per row (up to 3)")
    parser.add_argument(
        "--budget",
        type=float,
        default=540.0,
        help="seconds; no further repeat round is started that would likely end after it "
        "(the first round always runs)",
    )
    parser.add_argument("--quick", action="store_true", help="20,000 events, 1 repeat")
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts")
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results path")
    parser.add_argument(
        "--markdown", action="store_true", help="also print the tables as Markdown (for docs)"
    )
    args = parser.parse_args(argv)
    args.events = args.events or (20_000 if args.quick else 200_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import boto3

    from cwlogs.testing import MotoServer

    selected = [v for v in VARIANTS if not args.only or v.name in args.only.split(",")]
    if not selected:
        print(f"no variant matches --only {args.only!r}", file=sys.stderr)
        return 2
    plan = [
        (variant, threads)
        for variant in selected
        for threads in ([1] if variant.serial_only else args.thread_counts)
    ]
    timeout = 60 + args.events / 1000
    run_tag = time.strftime("%Y%m%dT%H%M%S")
    print(
        f"handler benchmark: {args.events:,} events x {args.repeats} repeat(s), "
        f"{len(plan)} rows, threads {args.thread_counts}",
        flush=True,
    )
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 0.5:
        print(
            f"warning: 1-minute load average is {os.getloadavg()[0]:.2f}; other processes "
            "share the CPUs and will inflate wall and CPU times",
            flush=True,
        )
    bench_started = time.perf_counter()
    completed = 0
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {
        key: [] for key in ((v.name, t) for v, t in plan)
    }
    moto = MotoServer().start()
    try:
        client = boto3.client(
            "logs",
            endpoint_url=moto.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # Round-robin over the rows so slow drift (thermal, noisy neighbours) hits all alike.
        for repeat in range(args.repeats):
            spent = time.perf_counter() - bench_started
            if repeat and spent / repeat * (repeat + 1) > args.budget:
                print(
                    f"  stopping after {repeat} repeat round(s): another would end after "
                    f"the {args.budget:.0f} s budget",
                    flush=True,
                )
                break
            completed = repeat + 1
            for variant, threads in plan:
                result = run_once(moto, client, variant, threads, args.events, run_tag, timeout)
                runs[(variant.name, threads)].append(result)
                _progress(repeat, variant, threads, result, args.events)
    finally:
        moto.stop()
    rows = [aggregate(v, t, runs[(v.name, t)], args.events) for v, t in plan]
    ratio_entries = ratios(rows)
    elapsed = time.perf_counter() - bench_started

    print()
    print(render_table(rows))
    print()
    print("ratios (vs watchtower default; watchtower-tuned in parentheses):")
    print(render_ratios(ratio_entries))
    floors = floor_ratios(rows)
    for entry in floors:
        print(
            f"floor: stdlib QueueHandler+QueueListener(NullHandler) {entry['threads']}t "
            f"caller/Null = {_fmt(entry['caller_vs_null'])}"
        )
    _print_notes(rows)
    if args.markdown:
        print()
        print(render_table(rows, markdown=True))
        print()
        print(render_ratios(ratio_entries, markdown=True))
    print(f"\ntotal {elapsed:.0f} s")

    report = {
        "benchmark": "handlers",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            "events": args.events,
            "repeats_requested": args.repeats,
            "repeats_completed": completed,
            "budget_s": args.budget,
            "threads": args.thread_counts,
            "quick": args.quick,
            "message_bytes": 200,
            "extras": ["order_id", "user", "region"],
        },
        "machine": machine_info(),
        "targets": {k: f"{op} {bound}" for k, (op, bound) in TARGETS.items()}
        | {"lost_dup_zero": "== 0"},
        "rows": rows,
        "ratios": ratio_entries,
        "floor": floors,
        "runs": {f"{name}/{t}t": rs for (name, t), rs in runs.items()},
        "elapsed_s": elapsed,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.output}")
    return 1 if any(r["errors"] for r in rows) else 0


def _progress(
    repeat: int, variant: Variant, threads: int, result: dict[str, Any], events: int
) -> None:
    if "error" in result:
        detail = f"ERROR {result['error']}"
    else:
        detail = f"e2e {result['e2e_s']:.2f} s, CPU {result['cpu_s'] / events * 1e6:.2f} us/ev"
        if "lost" in result:
            detail += f", lost {result['lost']}, dup {result['duplicated']}"
    print(f"  [{repeat + 1}] {variant.name:<20} {threads}t  {detail}", flush=True)


def _print_notes(rows: list[dict[str, Any]]) -> None:
    notes = []
    for row in rows:
        bits = []
        if row.get("errors"):
            bits.append(f"errors: {row['errors']}")
        if row.get("cwlogs_dropped_total"):
            bits.append(f"cwlogs dropped (all repeats): {row['cwlogs_dropped_total']}")
        if row.get("put_errors_total"):
            bits.append(f"failed PutLogEvents (all repeats): {row['put_errors_total']}")
        if row.get("flush_ok") is False:
            bits.append("flush(timeout=120) returned False")
        if row.get("unexpected"):
            bits.append(f"{row['unexpected']} stored events without a valid seq")
        if bits:
            notes.append(f"  {row['variant']} {row['threads']}t: " + "; ".join(bits))
    if notes:
        print("\nnotes:")
        print("\n".join(notes))


if __name__ == "__main__":
    sys.exit(main())
