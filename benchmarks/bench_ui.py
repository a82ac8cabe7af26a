"""`cwlogs ui` benchmark: does the log view stay responsive with 100,000 events in view?

Measures, headless (Textual's ``App.run_test``, no network: events are pre-built and fed
to the follow's inbox the way the follow thread does):

* appending 100,000 events: the ring alone, and through the app's UI tick (``_drain``),
  in batches as a follow delivers them;
* the memory the ring holds per event (``tracemalloc``; the events themselves are the
  reader's, the ring adds only references);
* the cost of one frame: rendering every visible line of the list, and a full-screen
  render of the app, with 100 events held and with 100,000 (the ratio is the point:
  a virtualised list costs the same whatever it holds);
* re-filtering 100,000 held events when the user types a filter pattern.

    .venv/bin/python benchmarks/bench_ui.py            # about 20 s
    .venv/bin/python benchmarks/bench_ui.py --quick    # 20,000 events

Prints a table; writes ``benchmarks/results/ui.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import orjson

from cwlogs.client import make_client
from cwlogs.filterpattern import compile_pattern
from cwlogs.query import LogEvent
from cwlogs.ui import CwlogsApp, Source
from cwlogs.ui.logview import LogView
from cwlogs.ui.state import EventBuffer, make_filter

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "ui.json"
LEVELS = ("debug", "info", "info", "info", "warning", "error")
SIZE = (120, 40)


def make_events(count: int) -> list[LogEvent]:
    """Typical JSON events (~200 bytes) of three groups, in time order."""
    base = 1_780_000_000_000
    out = []
    for i in range(count):
        message = orjson.dumps({
            "level": LEVELS[i % len(LEVELS)], "message": f"GET /orders/{i} 200",
            "service": "api", "status": 500 if i % 97 == 0 else 200,
            "duration_ms": i % 500, "trace_id": f"{i:032x}",
        }).decode()  # fmt: skip
        out.append(LogEvent.from_message(message, base + i, f"/shop/prod/g{i % 3}", "web-1"))
    return out


def best(samples: list[float]) -> float:
    return min(samples)


def bench_ring(events: list[LogEvent]) -> dict[str, float]:
    appends = []
    for _ in range(3):
        buffer = EventBuffer(capacity=len(events))
        started = time.perf_counter()
        buffer.extend(events)
        appends.append(time.perf_counter() - started)
    append_s = best(appends)
    # Memory on its own pass: tracemalloc slows every allocation it watches.
    del buffer
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    buffer = EventBuffer(capacity=len(events))
    buffer.extend(events)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(s.size_diff for s in after.compare_to(before, "filename"))
    pattern = compile_pattern("{ $.status >= 500 }")
    keep = make_filter(pattern.matches, "")
    assert keep is not None
    started = time.perf_counter()
    buffer.set_filter(keep)
    refilter_s = time.perf_counter() - started
    # What the UI thread pays when the worker has done the checking.
    events_held, received = buffer.snapshot()
    kept = [e for e in events_held if keep(e)]
    started = time.perf_counter()
    buffer.set_filter(keep, kept, received)
    install_s = time.perf_counter() - started
    started = time.perf_counter()
    buffer.snapshot()
    snapshot_s = time.perf_counter() - started
    return {
        "refilter_install_s": install_s,
        "refilter_snapshot_s": snapshot_s,
        "ring_append_s": append_s,
        "ring_bytes_per_event": held / len(events),
        "refilter_s": refilter_s,
        "refilter_kept": float(len(buffer)),
    }


async def bench_app(events: list[LogEvent], batch: int) -> dict[str, float]:
    # No network: the client is never called (no follow is started: no sources given).
    source = Source.create(make_client(endpoint_url="http://127.0.0.1:9", region="us-east-1"))
    app = CwlogsApp(source, capacity=len(events), pins_path=Path("/nonexistent/ui.json"))
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        app._reload_groups = lambda: None  # type: ignore[method-assign]
        app.action_tab("logs")
        await pilot.pause()
        view = app.query_one("#log", LogView)

        def frame() -> float:
            assert view.size.height > 10, view.size
            started = time.perf_counter()
            for y in range(view.size.height):
                view.render_line(y)
            return time.perf_counter() - started

        def screen() -> float:
            started = time.perf_counter()
            app.export_screenshot()
            return time.perf_counter() - started

        small = events[:100]
        app._incoming.extend(small)
        app._drain()
        await pilot.pause()
        out["frame_100_s"] = best([frame() for _ in range(50)])
        out["screen_100_s"] = best([screen() for _ in range(5)])
        app.buffer.clear()
        view.reset()
        ticks: list[float] = []
        for i in range(0, len(events), batch):
            app._incoming.extend(events[i : i + batch])
            started = time.perf_counter()
            app._drain()
            ticks.append(time.perf_counter() - started)
        await pilot.pause()
        assert len(app.buffer) == len(events), len(app.buffer)
        out["app_append_s"] = sum(ticks)
        out["tick_median_s"] = statistics.median(ticks)
        out["tick_max_s"] = max(ticks)
        out["frame_full_s"] = best([frame() for _ in range(50)])
        out["screen_full_s"] = best([screen() for _ in range(5)])
        # Reading back from the middle of the ring costs the same as at its end.
        view.move_to(len(events) // 2)
        await pilot.pause()
        out["frame_middle_s"] = best([frame() for _ in range(50)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="20,000 events instead of 100,000")
    parser.add_argument("--batch", type=int, default=1000, help="events per UI tick")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    count = 20_000 if args.quick else 100_000
    tracemalloc.start()
    events = make_events(count)
    event_bytes = tracemalloc.get_traced_memory()[0] / count
    tracemalloc.stop()
    results: dict[str, Any] = {"events": count, "batch": args.batch, "size": list(SIZE),
                               "event_bytes": event_bytes}  # fmt: skip
    results.update(bench_ring(events))
    results.update(asyncio.run(bench_app(events, args.batch)))
    results["frame_ratio_full_vs_100"] = results["frame_full_s"] / results["frame_100_s"]
    results["screen_ratio_full_vs_100"] = results["screen_full_s"] / results["screen_100_s"]
    results["python"] = sys.version.split()[0]
    results["platform"] = platform.platform()
    ui_share = results["refilter_snapshot_s"] + results["refilter_install_s"]
    rows = [
        ("events held", f"{count:,}"),
        ("append, ring alone", f"{results['ring_append_s'] * 1000:.0f} ms"),
        ("append through the UI tick", f"{results['app_append_s'] * 1000:.0f} ms "
         f"({args.batch}/tick; median tick {results['tick_median_s'] * 1000:.2f} ms, "
         f"max {results['tick_max_s'] * 1000:.1f} ms)"),
        ("ring memory per event", f"{results['ring_bytes_per_event']:.1f} bytes "
         f"(+ the event itself: {results['event_bytes']:.0f} bytes)"),
        ("visible lines, 100 held", f"{results['frame_100_s'] * 1000:.2f} ms"),
        ("visible lines, all held", f"{results['frame_full_s'] * 1000:.2f} ms "
         f"(x{results['frame_ratio_full_vs_100']:.2f})"),
        ("visible lines, mid-ring", f"{results['frame_middle_s'] * 1000:.2f} ms"),
        ("full screen, 100 held", f"{results['screen_100_s'] * 1000:.1f} ms"),
        ("full screen, all held", f"{results['screen_full_s'] * 1000:.1f} ms "
         f"(x{results['screen_ratio_full_vs_100']:.2f})"),
        ("re-filter all held (worker)", f"{results['refilter_s'] * 1000:.0f} ms "
         f"({int(results['refilter_kept'])} kept)"),
        ("re-filter, UI thread's share", f"{ui_share * 1000:.1f} ms (snapshot + install)"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
