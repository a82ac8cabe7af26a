"""The commands that print log events: ``tail`` (and ``tail -f``), ``search``, ``trace``,
and ``ui``, which opens the same sources in the interactive viewer."""

from __future__ import annotations

import argparse
import heapq
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from cwlogs.cli._context import Context
from cwlogs.cli._errors import EXIT_ERROR, EXIT_OK, UsageError
from cwlogs.cli._targets import (
    Target,
    by_location,
    resolve,
    source_keys,
    tagged,
    tags_sources,
    where_label,
)
from cwlogs.cli.display import Progress, trace_text
from cwlogs.cli.sources import SourceLocation
from cwlogs.query import LEVELS, LogEvent, TailStatus, by_trace_id, merged_events, tail

#: Levels from least to most severe, for ``--level``.
#: A shortened hex id (what pretty output shows), searched for as a prefix.
_SHORT_HEX_RE: Final = re.compile(r"^[0-9a-f]{6,31}$")


class _PageCount:
    """Pages and events read so far, shown on a terminal's stderr while reading."""

    def __init__(self, ctx: Context) -> None:
        self.progress = Progress(ctx.out.stderr)
        self.pages = 0
        self.events = 0

    def __call__(self, group: str, n: int) -> None:
        self.pages += 1
        self.events += n
        self.progress.update(f"read {self.pages} page(s), {self.events} event(s)…")


def _read(
    ctx: Context,
    targets: Sequence[Target],
    pattern: str | None,
    window: tuple[int, int | None],
    count: _PageCount | None = None,
) -> Iterator[LogEvent]:
    """Events of every target in the window, merged in time order as pages arrive."""
    located = by_location(targets)
    streams = []
    for where, items in located.items():
        events = merged_events(
            [(t.group, t.stream_prefix) for t in items],
            pattern,
            since=window[0],
            until=window[1],
            client=ctx.client_for(where),
            on_page=count,
        )
        streams.append(tagged(events, where) if tags_sources(located) else events)
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda e: (e.timestamp, e.source))


def _line_filter(args: argparse.Namespace) -> Callable[[LogEvent], bool] | None:
    """--grep/--grepv (on the message shown), --grep-raw (on the stored text), --level."""
    try:
        keep = [re.compile(p) for p in getattr(args, "grep", None) or ()]
        drop = [re.compile(p) for p in getattr(args, "grepv", None) or ()]
        raw = [re.compile(p) for p in getattr(args, "grep_raw", None) or ()]
    except re.error as exc:
        raise UsageError(f"invalid --grep/--grepv/--grep-raw regex {exc.pattern!r}: {exc}") from exc
    level = getattr(args, "level", None)
    floor = LEVELS.index(level) if level else None
    if not (keep or drop or raw or floor is not None):
        return None

    def wanted(event: LogEvent) -> bool:
        # LogEvent.level is already normalised ("warn" -> "warning"); no level, no match.
        if floor is not None and (event.level not in LEVELS or LEVELS.index(event.level) < floor):
            return False
        text = event.text
        if keep or drop:
            # What pretty output shows includes the traceback below the line.
            trace = trace_text(event.fields)
            text = f"{text}\n{trace}" if trace else text
        return (
            all(r.search(text) for r in keep)
            and not any(r.search(text) for r in drop)
            and all(r.search(event.message) for r in raw)
        )

    return wanted


def _shown(
    events: Iterable[LogEvent], wanted: Callable[[LogEvent], bool] | None
) -> Iterable[LogEvent]:
    """``events`` through the display filter (see :func:`_line_filter`), if any."""
    return events if wanted is None else (e for e in events if wanted(e))


def cmd_tail(ctx: Context, args: argparse.Namespace) -> int:
    if args.follow and args.until:
        raise UsageError("--until ends a fixed range; it cannot be combined with --follow")
    if args.follow and args.limit:
        raise UsageError("--limit keeps the newest N of a fixed range; drop it with --follow")
    window = ctx.window(args)
    targets = resolve(ctx, args.sources, max_groups=args.max_groups)
    keys = source_keys(targets)
    wanted = _line_filter(args)
    if not args.follow:
        count = _PageCount(ctx)
        events = _read(ctx, targets, args.filter, window, count)
        ctx.out.events(_shown(events, wanted), keys, limit=args.limit, progress=count.progress)
        return EXIT_OK
    stop = threading.Event()
    try:
        # Flushed per event: whoever reads a pipe from `tail -f` wants lines as they come.
        followed = _follow(ctx, targets, args, window[0], stop)
        ctx.out.events(_shown(followed, wanted), keys, flush=True)
    finally:
        stop.set()
    return EXIT_OK


def _follow(
    ctx: Context,
    targets: Sequence[Target],
    args: argparse.Namespace,
    since_ms: int,
    stop: threading.Event,
) -> Iterator[LogEvent]:
    """Follow every target; sources in several accounts or Regions follow on threads."""
    located = by_location(targets)

    def reported(where: SourceLocation) -> Callable[[TailStatus], None]:
        prefix = f"{where_label(where)}: " if len(located) > 1 else ""
        return lambda status: ctx.out.note(prefix + status.describe())

    followers = {
        where: tail(
            [(t.group, t.stream_prefix) for t in items],
            args.filter,
            since=since_ms,
            mode=args.mode,
            poll_interval=args.interval,
            stop=stop,
            client=ctx.client_for(where),
            on_status=reported(where),
        )
        for where, items in located.items()
    }
    if len(followers) == 1:
        ((where, events),) = followers.items()
        yield from tagged(events, where) if tags_sources(followers) else events
        return
    merged: queue.Queue[LogEvent | BaseException | None] = queue.Queue()

    def pump(where: SourceLocation, events: Iterator[LogEvent]) -> None:
        try:
            for event in tagged(events, where):
                merged.put(event)
        except BaseException as exc:  # handed to the main thread, which raises it
            merged.put(exc)
        merged.put(None)

    for where, events in followers.items():
        threading.Thread(target=pump, args=(where, events), daemon=True,
                         name=f"cwlogs-follow-{where_label(where)}").start()  # fmt: skip
    running = len(followers)
    while running:
        try:
            item = merged.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
        except queue.Empty:
            continue
        if item is None:
            running -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    window = ctx.window(args)
    targets = resolve(ctx, args.group, max_groups=args.max_groups)
    count = _PageCount(ctx)
    events = _read(ctx, targets, args.pattern, window, count)
    shown = _shown(events, _line_filter(args))
    printed = ctx.out.events(shown, source_keys(targets), limit=args.limit, progress=count.progress)
    if printed == 0 and ctx.out.pretty:
        ctx.out.note(f"no events match in {len(targets)} log group(s)")
    return EXIT_OK


def cmd_trace(ctx: Context, args: argparse.Namespace) -> int:
    since, until = ctx.window(args)
    targets = resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
    if len(by_location(targets)) > 1:
        raise UsageError("trace reads one account and Region; trace each source apart")
    client = ctx.client_for(targets[0].where)
    groups = [t.group for t in targets]
    # Without --field, the id may be a trace id or a request id (the middleware binds
    # X-Request-ID to request_id): look for a trace first, then for a request, then for
    # traces whose id starts with it (pretty output shows ids cut to 8 characters).
    fields = [args.field] if args.field else ["trace_id", "request_id"]
    attempts = [(name, False) for name in fields]
    if _SHORT_HEX_RE.match(args.trace_id):
        attempts.append((fields[0], True))
    events: list[LogEvent] = []
    for field_name, prefix in attempts:
        events = by_trace_id(groups, args.trace_id, since=since, until=until,
                             field_name=field_name, prefix=prefix, client=client)  # fmt: skip
        if events:
            if prefix:
                ids = sorted({str(e.get(field_name)) for e in events})
                ctx.out.note(f"{len(ids)} {field_name}(s) start with {args.trace_id!r}: "
                             + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))  # fmt: skip
            elif field_name != fields[0]:
                ctx.out.note(f"{args.trace_id!r} is a {field_name}; showing that request")
            break
    if not events:
        tried = " or ".join(fields)
        ctx.out.note(f"no events with {tried} {args.trace_id!r} in {len(groups)} log group(s)")
        return EXIT_OK
    ctx.out.events(_shown(events, _line_filter(args)), groups)
    return EXIT_OK


def cmd_ui(ctx: Context, args: argparse.Namespace) -> int:
    # Textual is an extra: say how to get it rather than fail with an import traceback.
    try:
        from cwlogs.ui import run
    except ImportError as exc:
        if not (exc.name or "").startswith("textual"):
            raise
        ctx.out.note("`cwlogs ui` needs Textual: pip install 'cwlogs[ui]'")
        return EXIT_ERROR
    targets = resolve(ctx, args.sources, max_groups=args.max_groups) if args.sources else []
    return run([(t.group, t.stream_prefix) for t in targets], since=args.since,
               client=ctx.client, mode=args.mode)  # fmt: skip
