"""The ``cwlogs`` command: a thin layer over :mod:`cwlogs.query` and :mod:`cwlogs.manage`.

Each sub-command parses its arguments, resolves group arguments (names, prefixes,
wildcards, ``@named`` sources), calls the library, and prints through
:mod:`cwlogs.render`. Errors from the library are mapped to documented exit codes
(:data:`EXIT_CODES`) and one-line messages, never tracebacks.

>>> main(["--version"])  # doctest: +SKIP
cwlogs 0.1.0
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import heapq
import importlib.util
import inspect
import logging
import os
import queue
import re
import shutil
import signal
import sys
import threading
import time
import typing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ParamValidationError, ProfileNotFound

from cwlogs import __version__, cliconfig
from cwlogs.client import make_client
from cwlogs.errors import (
    AuthenticationError,
    ConfigurationError,
    CwlogsError,
    InvalidParameterError,
    MalformedQueryError,
    ResourceNotFoundError,
)
from cwlogs.insights import MAX_QUERY_LIMIT
from cwlogs.manage import (
    apply,
    get_query_definition,
    get_retention,
    last_event_time,
    list_log_streams,
    remove_retention,
    set_retention,
)
from cwlogs.query import (
    SAVED_QUERIES,
    LogEvent,
    TailStatus,
    by_trace_id,
    expand_groups,
    find_log_groups,
    insights,
    merged_events,
    not_found_error,
    tail,
)
from cwlogs.render import (
    FORMATS,
    Column,
    EventRenderer,
    Format,
    Progress,
    Style,
    compact_time,
    default_format,
    format_bytes,
    format_time,
    ndjson,
    source_labels,
    table,
    trace_text,
    use_color,
)
from cwlogs.timeparse import TimeParseError, local_zone, to_epoch_ms, until_ms

if TYPE_CHECKING:
    from datetime import tzinfo

    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PENDING",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
EXIT_AUTH: Final = 4
EXIT_PENDING: Final = 5  # `apply --dry-run` found changes: CI tells drift from success and failure
EXIT_INTERRUPTED: Final = 130

#: Exit code -> meaning, as documented in docs/cli.md.
EXIT_CODES: Final = {
    EXIT_OK: "success",
    EXIT_ERROR: "runtime or service error (throttled past retries, endpoint unreachable, ...)",
    EXIT_USAGE: "usage error: bad arguments, malformed filter pattern, query, time or config",
    EXIT_NOT_FOUND: "log group, stream or named source not found",
    EXIT_AUTH: "missing, invalid or expired credentials, unknown profile, access denied",
    EXIT_PENDING: "changes pending (apply --dry-run)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_DEFAULT_SINCE: Final = "10m"
_DEFAULT_RANGE: Final = "1h"
_LOCAL_EXTRA_HINT: Final = "`cwlogs local` needs the moto server: pip install 'cwlogs[local]'"
_CREDENTIALS_HINT: Final = (
    "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws configure`, "
    "or pass --profile; a local endpoint (`cwlogs local`) accepts any values"
)
_GLOB_CHARS: Final = "*?["
#: Levels from least to most severe, for ``--level``.
_LEVELS: Final = ("trace", "debug", "info", "notice", "warning", "error", "critical")
_LEVEL_ALIASES: Final = {"warn": "warning", "err": "error", "fatal": "critical", "crit": "critical"}
#: A shortened hex id (what pretty output shows), searched for as a prefix.
_SHORT_HEX_RE: Final = re.compile(r"^[0-9a-f]{6,31}$")
_HTML_RE: Final = re.compile(r"<\s*(?:!doctype|html|head|body|title)\b", re.IGNORECASE)

_log = logging.getLogger("cwlogs")


class UsageError(Exception):
    """A command-line mistake found after parsing; exits with :data:`EXIT_USAGE`."""


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    """What every command needs: parsed options, output streams and the clients."""

    args: argparse.Namespace
    out: IO[str]
    err: IO[str]
    _clients: dict[cliconfig.SourceLocation, CloudWatchLogsClient] = dataclasses.field(
        default_factory=dict
    )
    _sources: cliconfig.SourceConfig | None = None

    def opt(self, name: str, default: Any = None) -> Any:
        # Global options use SUPPRESS so they work before and after the sub-command.
        return getattr(self.args, name, default)

    @property
    def format(self) -> Format:
        chosen: Format | None = self.opt("format")
        return chosen or default_format(self.out)

    @property
    def color(self) -> bool:
        force = True if self.opt("color") else (False if self.opt("no_color") else None)
        return use_color(self.out, force=force)

    @property
    def client(self) -> CloudWatchLogsClient:
        """The client for --profile/--region (or the environment's)."""
        return self.client_for(cliconfig.SourceLocation())

    def client_for(self, where: cliconfig.SourceLocation) -> CloudWatchLogsClient:
        """A client per profile and Region: a named source may live in another account."""
        found = self._clients.get(where)
        if found is not None:
            return found
        region = where.region or self.opt("region")
        profile = where.profile or self.opt("profile")
        if where == cliconfig.SourceLocation():
            # Clients the library builds on its own (Live Tail on a local endpoint, the
            # CloudWatch/SNS clients of `apply`) read the environment; keep them on the
            # same profile and region as this one.
            if profile:
                os.environ["AWS_PROFILE"] = profile
            if region:
                os.environ["AWS_REGION"] = region
        client = make_client(region=region, profile=profile, endpoint_url=self.opt("endpoint_url"))
        self._clients[where] = client
        return client

    @property
    def sources(self) -> cliconfig.SourceConfig:
        if self._sources is None:
            self._sources = cliconfig.load(self.opt("config"))
        return self._sources

    @property
    def width(self) -> int | None:
        """The terminal's width when printing to one (tables fit it), else None."""
        return shutil.get_terminal_size().columns if self.out.isatty() else None

    @property
    def zone(self) -> tzinfo | None:
        """The zone naive times are read in: the user's with --local-time or TZ, else UTC."""
        if self.opt("local_time") or os.environ.get("TZ"):
            return local_zone()
        return None

    def time(self, value: str | None, flag: str) -> int | None:
        """A --since/--until value as epoch milliseconds, read in :attr:`zone`."""
        if value is None:
            return None
        try:
            return to_epoch_ms(value, tz=self.zone)
        except TimeParseError as exc:
            raise UsageError(f"{flag}: {str(exc).removeprefix('cwlogs: ')}") from None

    def window(self, args: argparse.Namespace) -> tuple[int, int | None]:
        """``(since_ms, until_ms)`` from --since/--until; since must come before until."""
        since = self.time(args.since or _DEFAULT_RANGE, "--since") or 0
        until = None
        if args.until is not None:
            try:
                until = until_ms(args.until, since, tz=self.zone)
            except TimeParseError as exc:
                raise UsageError(f"--until: {str(exc).removeprefix('cwlogs: ')}") from None
        if until is not None and since >= until:
            raise UsageError(
                f"--since {args.since!r} ({format_time(since)}) is not before --until "
                f"{args.until!r} ({format_time(until)}); the range would be empty"
            )
        return since, until

    def print(self, text: str, *, flush: bool = False) -> None:
        self.out.write(text + "\n")
        if flush:
            self.out.flush()

    def note(self, text: str) -> None:
        """A remark for the person at the terminal; stderr, so pipes stay clean."""
        self.err.write(f"cwlogs: {text}\n")
        self.err.flush()

    def events(self, groups: Sequence[str]) -> EventRenderer:
        labels = source_labels(groups) if len(set(groups)) > 1 else {}
        return EventRenderer(
            self.format,
            color=self.color,
            labels=labels,
            expand=bool(self.opt("expand")),
            local_time=bool(self.opt("local_time")),
            wide=bool(self.opt("wide")),
            fields=_csv(self.opt("fields")),
            hide=_csv(self.opt("hide")),
        )

    def emit_rows(
        self,
        columns: Sequence[Column],
        rows: Sequence[Mapping[str, Any]],
        *,
        raw: str,
        json_rows: Sequence[Any] | None = None,
    ) -> None:
        """Rows in the chosen format: a table fitting the terminal, NDJSON, or the ``raw`` key."""
        if self.format == "json":
            for row in rows if json_rows is None else json_rows:
                self.print(ndjson(row))
        elif self.format == "raw":
            for row in rows:
                self.print(str(row[raw]))
        elif rows:
            self.print(table(columns, rows, color=self.color, max_width=None, width=self.width))


def _csv(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for v in values or () for part in v.split(",") if part.strip())


# --------------------------------------------------------------------------- group arguments


_DEFAULT_LOCATION: Final = cliconfig.SourceLocation()


@dataclass(frozen=True)
class _Target:
    group: str
    stream_prefix: str | None = None
    where: cliconfig.SourceLocation = _DEFAULT_LOCATION


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def _resolve(
    ctx: _Context, specs: Sequence[str], *, max_groups: int, streams: bool = True
) -> list[_Target]:
    """``GROUP[:STREAM_PREFIX]``, prefixes, wildcards and ``@sources`` -> distinct targets."""
    targets: dict[tuple[cliconfig.SourceLocation, str], _Target] = {}
    for spec in specs:
        if not spec.strip() or spec.strip() == "@":
            raise UsageError("an empty log group name would match every group; name one")
        if spec.startswith("@"):
            expanded = ctx.sources.expand(spec[1:])
            where = ctx.sources.location(spec[1:])
        else:
            expanded, where = (spec,), cliconfig.SourceLocation()
        for item in expanded:
            # Log group names cannot contain ':', so the first one starts a stream prefix.
            group_spec, _, prefix = item.partition(":")
            if not group_spec.strip():
                raise UsageError(f"{item!r}: the log group name is empty")
            if prefix and not streams:
                raise UsageError(f"{item!r}: this command cannot narrow to streams")
            names = expand_groups(group_spec, client=ctx.client_for(where))
            if not _is_glob(group_spec) and not group_spec.endswith("/") and names != [group_spec]:
                ctx.note(f"{group_spec!r} is a prefix of {len(names)} log group(s)")
            for name in names:
                known = targets.get((where, name))
                if known is not None and prefix and known.stream_prefix not in (None, prefix):
                    # FilterLogEvents takes one stream prefix per group.
                    raise UsageError(f"{name}: give at most one stream prefix per group")
                # Asking for a whole group wins over asking for part of it.
                if known is None or not prefix:
                    targets[(where, name)] = _Target(name, prefix or None, where)
    if len(targets) > max_groups:
        raise UsageError(
            f"{len(targets)} log groups match; narrow the arguments or raise --max-groups "
            f"(now {max_groups})"
        )
    return list(targets.values())


def _by_location(
    targets: Sequence[_Target],
) -> dict[cliconfig.SourceLocation, list[_Target]]:
    out: dict[cliconfig.SourceLocation, list[_Target]] = {}
    for target in targets:
        out.setdefault(target.where, []).append(target)
    return out


def _where_label(where: cliconfig.SourceLocation) -> str:
    return ":".join(part for part in (where.profile, where.region) if part) or "default"


def _source_keys(targets: Sequence[_Target]) -> list[str]:
    """What labels events in pretty output: the group, or ``profile:region:group`` when
    the groups come from several accounts or Regions."""
    if len(_by_location(targets)) < 2:
        return [t.group for t in targets]
    return [f"{_where_label(t.where)}:{t.group}" for t in targets]


def _tags_sources(located: Mapping[cliconfig.SourceLocation, Any]) -> bool:
    """Whether events carry ``source``: read from several places, or from a named
    source's own profile or Region (JSON readers must be able to tell which account)."""
    return len(located) > 1 or any(where != _DEFAULT_LOCATION for where in located)


def _tagged(events: Iterable[LogEvent], where: cliconfig.SourceLocation) -> Iterator[LogEvent]:
    label = _where_label(where)
    for event in events:
        yield dataclasses.replace(event, source=f"{label}:{event.group}")


# --------------------------------------------------------------------------- reading


class _PageCount:
    """Pages and events read so far, shown on a terminal's stderr while reading."""

    def __init__(self, ctx: _Context) -> None:
        self.progress = Progress(ctx.err)
        self.pages = 0
        self.events = 0
        self._clear_before_print = ctx.out.isatty()

    def __call__(self, group: str, n: int) -> None:
        self.pages += 1
        self.events += n
        self.progress.update(f"read {self.pages} page(s), {self.events} event(s)…")

    def before_print(self) -> None:
        if self._clear_before_print:
            self.progress.clear()


def _read(
    ctx: _Context,
    targets: Sequence[_Target],
    pattern: str | None,
    window: tuple[int, int | None],
    count: _PageCount | None = None,
) -> Iterator[LogEvent]:
    """Events of every target in the window, merged in time order as pages arrive."""
    located = _by_location(targets)
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
        streams.append(_tagged(events, where) if _tags_sources(located) else events)
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
    floor = _LEVELS.index(level) if level else None
    if not (keep or drop or raw or floor is not None):
        return None

    def wanted(event: LogEvent) -> bool:
        # LogEvent.level is already normalised ("warn" -> "warning"); no level, no match.
        if floor is not None and (event.level not in _LEVELS or _LEVELS.index(event.level) < floor):
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


def _print_events(
    ctx: _Context,
    events: Iterable[LogEvent],
    groups: Sequence[str],
    *,
    wanted: Callable[[LogEvent], bool] | None = None,
    flush: bool = False,
    limit: int | None = None,
    count: _PageCount | None = None,
) -> int:
    """Print events as they come (or, with ``limit``, the newest ``limit`` at the end)."""
    renderer = ctx.events(groups)
    selected = events if wanted is None else (e for e in events if wanted(e))
    matched = 0
    printed = 0
    try:
        if limit is not None:
            newest: deque[LogEvent] = deque(maxlen=limit)
            for event in selected:
                newest.append(event)
                matched += 1
            selected = newest
        for event in selected:
            if count is not None:
                count.before_print()
            ctx.print(renderer.render(event), flush=flush)
            printed += 1
    finally:
        # Also on Ctrl-C or an error: the shell prompt must not land on the progress line.
        if count is not None:
            count.progress.clear()
    if limit is not None and matched > printed:
        ctx.note(
            f"{matched - printed} more event(s) matched; showing the newest {printed} "
            "(raise --limit for more)"
        )
    return printed


# --------------------------------------------------------------------------- commands


def _cmd_groups(ctx: _Context, args: argparse.Namespace) -> int:
    prefix: str | None = args.prefix
    groups = list(find_log_groups(prefix, client=ctx.client))
    rows: list[dict[str, Any]] = [{"name": g["logGroupName"]} for g in groups]
    if ctx.format == "pretty":
        local = bool(ctx.opt("local_time"))
        rows = [
            {
                "name": g["logGroupName"],
                "stored": format_bytes(g.get("storedBytes")),
                "retention": _retention_text(g.get("retentionInDays")),
                "class": g.get("logGroupClass"),
                "last": format_time(
                    last_event_time(g["logGroupName"], client=ctx.client), local=local
                ),
                "created": format_time(g.get("creationTime"), local=local),
            }
            for g in groups
        ]
    columns = [
        Column("name", "LOG GROUP"),
        Column("stored", "STORED", right=True),
        Column("retention", "RETENTION", right=True),
        Column("class", "CLASS", drop=1),
        Column("last", "LAST EVENT", compact=compact_time),
        Column("created", "CREATED", drop=2, compact=compact_time),
    ]
    ctx.emit_rows(columns, rows, raw="name", json_rows=groups)
    if not groups:
        ctx.note("no log groups" + (f" match {prefix!r}" if prefix else ""))
    return EXIT_OK


def _retention_text(days: int | None) -> str:
    return "never expires" if days is None else f"{days} d"


def _cmd_streams(ctx: _Context, args: argparse.Namespace) -> int:
    try:
        streams = list(list_log_streams(args.group, args.prefix, client=ctx.client))
    except ResourceNotFoundError:
        raise not_found_error(args.group, client=ctx.client) from None
    local = bool(ctx.opt("local_time"))
    rows = [
        {
            "name": s["logStreamName"],
            "last": format_time(s.get("lastEventTimestamp"), local=local),
            "first": format_time(s.get("firstEventTimestamp"), local=local),
            "stored": format_bytes(s.get("storedBytes")),
            "created": format_time(s.get("creationTime"), local=local),
        }
        for s in streams
    ]
    columns = [
        Column("name", "LOG STREAM"),
        Column("last", "LAST EVENT", compact=compact_time),
        Column("first", "FIRST EVENT", drop=1, compact=compact_time),
        Column("stored", "STORED", right=True),
        Column("created", "CREATED", drop=2, compact=compact_time),
    ]
    ctx.emit_rows(columns, rows, raw="name", json_rows=streams)
    if not streams:
        matching = f" match {args.prefix!r}" if args.prefix else ""
        ctx.note(f"no log streams in {args.group!r}{matching}")
    return EXIT_OK


def _cmd_tail(ctx: _Context, args: argparse.Namespace) -> int:
    if args.follow and args.until:
        raise UsageError("--until ends a fixed range; it cannot be combined with --follow")
    if args.follow and args.limit:
        raise UsageError("--limit keeps the newest N of a fixed range; drop it with --follow")
    window = ctx.window(args)
    targets = _resolve(ctx, args.sources, max_groups=args.max_groups)
    keys = _source_keys(targets)
    wanted = _line_filter(args)
    if not args.follow:
        count = _PageCount(ctx)
        events = _read(ctx, targets, args.filter, window, count)
        _print_events(ctx, events, keys, wanted=wanted, limit=args.limit, count=count)
        return EXIT_OK
    stop = threading.Event()
    try:
        # Flushed per event: whoever reads a pipe from `tail -f` wants lines as they come.
        _print_events(ctx, _follow(ctx, targets, args, window[0], stop), keys, wanted=wanted,
                      flush=True)  # fmt: skip
    finally:
        stop.set()
    return EXIT_OK


def _follow(
    ctx: _Context,
    targets: Sequence[_Target],
    args: argparse.Namespace,
    since_ms: int,
    stop: threading.Event,
) -> Iterator[LogEvent]:
    """Follow every target; sources in several accounts or Regions follow on threads."""
    located = _by_location(targets)

    def reported(where: cliconfig.SourceLocation) -> Callable[[TailStatus], None]:
        prefix = f"{_where_label(where)}: " if len(located) > 1 else ""
        return lambda status: ctx.note(prefix + status.describe())

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
        yield from _tagged(events, where) if _tags_sources(followers) else events
        return
    merged: queue.Queue[LogEvent | BaseException | None] = queue.Queue()

    def pump(where: cliconfig.SourceLocation, events: Iterator[LogEvent]) -> None:
        try:
            for event in _tagged(events, where):
                merged.put(event)
        except BaseException as exc:  # handed to the main thread, which raises it
            merged.put(exc)
        merged.put(None)

    for where, events in followers.items():
        threading.Thread(target=pump, args=(where, events), daemon=True,
                         name=f"cwlogs-follow-{_where_label(where)}").start()  # fmt: skip
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


def _cmd_search(ctx: _Context, args: argparse.Namespace) -> int:
    window = ctx.window(args)
    targets = _resolve(ctx, args.group, max_groups=args.max_groups)
    count = _PageCount(ctx)
    events = _read(ctx, targets, args.pattern, window, count)
    printed = _print_events(ctx, events, _source_keys(targets), wanted=_line_filter(args),
                            limit=args.limit, count=count)  # fmt: skip
    if printed == 0 and ctx.format == "pretty":
        ctx.note(f"no events match in {len(targets)} log group(s)")
    return EXIT_OK


def _saved_query(args: argparse.Namespace) -> str:
    factory = SAVED_QUERIES.get(args.saved)
    if factory is None:
        close = difflib.get_close_matches(args.saved, list(SAVED_QUERIES), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "see `cwlogs query --list-saved`"
        raise UsageError(f"no saved query {args.saved!r}; {hint}")
    hints = typing.get_type_hints(factory)
    kwargs: dict[str, Any] = {}
    for item in args.param or ():
        key, sep, value = item.partition("=")
        if not sep or key not in inspect.signature(factory).parameters:
            names = ", ".join(inspect.signature(factory).parameters) or "none"
            raise UsageError(f"--param {item!r}: {args.saved} takes KEY=VALUE with KEY in: {names}")
        convert = hints.get(key, str)
        try:
            kwargs[key] = convert(value) if convert in (int, float) else value
        except ValueError:
            raise UsageError(f"--param {key}: {value!r} is not a {convert.__name__}") from None
    try:
        return factory(**kwargs).query
    except TypeError:
        missing = [
            name
            for name, p in inspect.signature(factory).parameters.items()
            if p.default is inspect.Parameter.empty and name not in kwargs
        ]
        needed = " ".join(f"--param {m}=..." for m in missing)
        raise UsageError(f"saved query {args.saved} needs {needed}") from None


def _list_saved(ctx: _Context) -> int:
    rows = []
    for name, factory in SAVED_QUERIES.items():
        params = inspect.signature(factory).parameters
        rows.append(
            {
                "name": name,
                "params": " ".join(
                    f"{p}" if v.default is inspect.Parameter.empty else f"[{p}={v.default}]"
                    for p, v in params.items()
                ),
                "description": (inspect.getdoc(factory) or "").split("\n", 1)[0].replace("``", ""),
            }
        )
    columns = [Column("name", "NAME"), Column("params", "PARAMS"),
               Column("description", "DESCRIPTION")]  # fmt: skip
    ctx.emit_rows(columns, rows, raw="name")
    return EXIT_OK


def _cmd_query(ctx: _Context, args: argparse.Namespace) -> int:
    if args.list_saved:
        return _list_saved(ctx)
    if args.saved and args.query:
        raise UsageError("give a query or --saved NAME, not both")
    if args.saved and args.saved not in SAVED_QUERIES:
        # Not a built-in template: a query saved in the account (by `apply`, or the console).
        try:
            found = get_query_definition(args.saved, client=ctx.client)
        except CwlogsError as err:
            # Not being able to look is no reason to hide the likely typo of a built-in.
            _log.debug("query: could not look up saved query %r: %s", args.saved, err)
            found = None
        query_string = found["queryString"] if found else _saved_query(args)  # raises: unknown
        args.group = args.group or (found or {}).get("logGroupNames")
    elif args.saved:
        query_string = _saved_query(args)
    elif args.query:
        query_string = args.query
    else:
        raise UsageError("give a Logs Insights query, or --saved NAME (see --list-saved)")
    if not args.group:
        raise UsageError("name the log groups to query with --group")
    window = ctx.window(args)
    targets = _resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
    if len(_by_location(targets)) > 1:
        raise UsageError("one query reads one account and Region; query each source apart")
    client = ctx.client_for(targets[0].where)
    progress = Progress(ctx.err)
    started = time.monotonic()

    def polled(status: str, stats: Mapping[str, float]) -> None:
        # Called after each GetQueryResults poll, so no thread is needed for the indicator.
        scanned = stats.get("recordsScanned")
        records = f", {int(scanned)} records scanned" if scanned is not None else ""
        progress.update(f"{status.lower()}: query on {len(targets)} log group(s){records}… "
                        f"{time.monotonic() - started:.0f}s")  # fmt: skip

    progress.update("starting query…")
    try:
        result = insights(
            [t.group for t in targets],
            query_string,
            since=window[0],
            until=window[1],
            limit=args.limit,
            timeout=args.timeout,
            client=client,
            progress=polled,
        )
    except KeyboardInterrupt:
        progress.clear()
        ctx.note("query interrupted; asked the service to stop it")
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
    columns = list(dict.fromkeys(key for row in result.rows for key in row))
    local = bool(ctx.opt("local_time"))
    shown = [
        {**dict.fromkeys(columns, ""), **{k: _insights_value(k, v, local) for k, v in row.items()}}
        for row in result.rows
    ]
    for row, stored in zip(shown, result.rows, strict=True):
        row["\t"] = "\t".join(stored.get(c, "") for c in columns)
    ctx.emit_rows([Column(c, c) for c in columns], shown, raw="\t", json_rows=result.rows)
    if ctx.format != "pretty":
        return EXIT_OK
    stats = result.statistics
    summary = f"{len(result.rows)} row(s)"
    if "recordsScanned" in stats:
        summary += f", {int(stats['recordsScanned'])} records scanned"
    if "bytesScanned" in stats:
        summary += f", {format_bytes(int(stats['bytesScanned']))} scanned"
    ctx.err.write(Style(ctx.color and ctx.err.isatty()).paint(summary, "dim") + "\n")
    return EXIT_OK


def _insights_value(key: str, value: str, local: bool) -> str:
    # Some endpoints (moto) print @timestamp as epoch milliseconds; show it like AWS does.
    if key in ("@timestamp", "@ingestionTime") and value.isdigit():
        return format_time(int(value), local=local)
    return value


def _cmd_trace(ctx: _Context, args: argparse.Namespace) -> int:
    since, until = ctx.window(args)
    targets = _resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
    if len(_by_location(targets)) > 1:
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
                ctx.note(f"{len(ids)} {field_name}(s) start with {args.trace_id!r}: "
                         + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))  # fmt: skip
            elif field_name != fields[0]:
                ctx.note(f"{args.trace_id!r} is a {field_name}; showing that request")
            break
    if not events:
        tried = " or ".join(fields)
        ctx.note(f"no events with {tried} {args.trace_id!r} in {len(groups)} log group(s)")
        return EXIT_OK
    _print_events(ctx, events, groups, wanted=_line_filter(args))
    return EXIT_OK


def _cmd_retention(ctx: _Context, args: argparse.Namespace) -> int:
    group: str = args.group
    if args.remove and args.days is not None:
        raise UsageError("give DAYS or --remove, not both")
    try:
        if args.remove:
            remove_retention(group, client=ctx.client)
        elif args.days is not None:
            set_retention(group, args.days, client=ctx.client)
        days = get_retention(group, client=ctx.client)
    except ResourceNotFoundError:
        raise not_found_error(group, client=ctx.client) from None
    if ctx.format == "json":
        ctx.print(ndjson({"group": group, "retention_days": days}))
    elif ctx.format == "raw":
        ctx.print("" if days is None else str(days))
    else:
        kept = "events kept forever" if days is None else f"events kept for {days} days"
        changed = "retention removed; " if args.remove else ("retention set; " if args.days else "")
        ctx.print(f"{group}: {changed}{kept}")
    return EXIT_OK


def _cmd_apply(ctx: _Context, args: argparse.Namespace) -> int:
    plan = apply(args.config_file, environment=args.env, dry_run=args.dry_run, client=ctx.client)
    # Only a dry run reports drift by its exit code; a real run that made changes succeeded.
    code = EXIT_PENDING if args.dry_run and plan.changed else EXIT_OK
    if ctx.format == "json":
        ctx.print(ndjson({**dataclasses.asdict(plan), "changed": plan.changed}))
        return code
    style = Style(ctx.color)
    marks = {"+": "green", "~": "yellow", "!": "red"}
    for line in str(plan).split("\n"):
        mark = line.strip()[:1]
        ctx.print(style.paint(line, marks[mark]) if mark in marks else line)
    return code


def _cmd_iam(ctx: _Context, args: argparse.Namespace) -> int:
    import json

    from cwlogs.iam import ROLES, policy_for

    options = {
        "region": ctx.opt("region") or "*",
        "account": args.account,
        "create_group": not args.no_create_group,
        "create_stream": not args.no_create_stream,
        "retention": args.retention,
        "tags": args.tags,
        "kms": args.kms,
    }
    # "handler" is what users call the writer: the role is the CloudWatchHandler's.
    role = "writer" if args.role == "handler" else args.role
    roles = ROLES if role == "all" else tuple(r for r in ROLES if r == role)
    policies = {r: policy_for(r, args.groups, **options) for r in roles}
    # Plain JSON whatever --format says: it goes to `aws iam put-role-policy` or a template.
    document = policies if role == "all" else policies[roles[0]]
    ctx.print(json.dumps(document, indent=2))
    return EXIT_OK


def _cmd_local(ctx: _Context, args: argparse.Namespace) -> int:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        ctx.note(_LOCAL_EXTRA_HINT)
        return EXIT_ERROR
    from cwlogs.testing import MotoServer

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = MotoServer(args.host, args.port)
    try:
        try:
            server.start()
        except RuntimeError as exc:
            ctx.note(f"could not start the local endpoint: {str(exc).splitlines()[0]}")
            return EXIT_ERROR
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        url = f"http://{host}:{server.port}"
        env = {
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            # Older SDKs and the AWS CLI v1 read only this one.
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        if ctx.format == "json":
            ctx.print(ndjson({"endpoint_url": url, "env": env}), flush=True)
        else:
            ctx.print("export " + " ".join(f"{k}={v}" for k, v in env.items()), flush=True)
            ctx.note(f"local CloudWatch Logs endpoint on {url}; Ctrl-C to stop")
            ctx.err.flush()
        while not stop.wait(0.5):
            if not server.running:
                ctx.note("the local endpoint exited unexpectedly:\n" + server.log_tail(10))
                return EXIT_ERROR
        return EXIT_OK
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cmd_sources(ctx: _Context, args: argparse.Namespace) -> int:
    config = ctx.sources
    rows: list[dict[str, Any]] = [
        {
            "name": f"@{name}",
            "groups": list(specs),
            "profile": config.location(name).profile,
            "region": config.location(name).region,
            "where": _where_label(config.location(name)).replace("default", "-"),
            "origin": config.origins.get(name, ""),
        }
        for name, specs in sorted(config.sources.items())
    ]
    shown = [{**row, "groups": " ".join(row["groups"])} for row in rows]
    columns = [Column("name", "SOURCE"), Column("where", "PROFILE:REGION"),
               Column("groups", "GROUPS"), Column("origin", "FROM")]  # fmt: skip
    ctx.emit_rows(columns, shown, raw="name", json_rows=rows)
    if not rows:
        ctx.note(
            f"no named sources; add a [sources] table to {cliconfig.user_config_path()} "
            "or [tool.cwlogs.sources] to pyproject.toml"
        )
    return EXIT_OK


def _cmd_ui(ctx: _Context, args: argparse.Namespace) -> int:
    # Textual is an extra: say how to get it rather than fail with an import traceback.
    try:
        from cwlogs.ui import run
    except ImportError as exc:
        if not (exc.name or "").startswith("textual"):
            raise
        ctx.err.write("cwlogs: `cwlogs ui` needs Textual: pip install 'cwlogs[ui]'\n")
        return EXIT_ERROR
    targets = _resolve(ctx, args.sources, max_groups=args.max_groups) if args.sources else []
    return run([(t.group, t.stream_prefix) for t in targets], since=args.since,
               client=ctx.client, mode=args.mode)  # fmt: skip


# --------------------------------------------------------------------------- parser


def _global_options() -> argparse.ArgumentParser:
    # SUPPRESS keeps an option given before the sub-command from being reset to its
    # default by the sub-parser, so `cwlogs --format json tail G` and `cwlogs tail G
    # --format json` both work.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    aws = common.add_argument_group("AWS")
    aws.add_argument("--region", help="AWS Region (default: AWS_REGION, the profile, us-east-1)")
    aws.add_argument("--profile", help="named AWS profile (default: AWS_PROFILE)")
    aws.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="CloudWatch Logs endpoint (default: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS)",
    )
    out = common.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=FORMATS,
        help="pretty (default on a terminal), json (NDJSON, default when piped), raw",
    )
    out.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    out.add_argument("--color", action="store_true", help="colours even when not a terminal")
    out.add_argument("--local-time", action="store_true", help="show times in the local zone")
    common.add_argument(
        "--config", metavar="PATH", help="named-sources file (default: user and project config)"
    )
    common.add_argument("--debug", action="store_true", help="log library details to stderr")
    return common


#: The most events --limit keeps in memory; beyond it a deque cannot even be sized.
_MAX_EVENT_LIMIT: Final = 10**9


def _count(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high], else a usage error naming the range."""
    allowed = f"{low:,} to {high:,}" if high is not None else f"at least {low:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range; allowed: {allowed}")
        return value

    parse.__name__ = "count"
    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range; allowed: more than 0")
    return value


def _level(text: str) -> str:
    level = _LEVEL_ALIASES.get(text.lower(), text.lower())
    if level not in _LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level; allowed: {', '.join(_LEVELS)}")
    return level


def _time_options(parser: argparse.ArgumentParser, since: str) -> None:
    parser.add_argument(
        "--since",
        default=since,
        metavar="TIME",
        help=f"start: '15m', '2h', '1d', '05:00', 'today', '2026-12-01 05:00', ISO-8601 or "
        f"epoch ms; naive times are UTC unless --local-time or TZ (default: {since})",
    )
    parser.add_argument("--until", metavar="TIME", help="end, same forms (default: now)")


def _event_options(parser: argparse.ArgumentParser, *, max_groups: int = 50) -> None:
    """Options of every command that prints events: display filters and layout."""
    parser.add_argument(
        "--grep", action="append", metavar="REGEX", help="only events whose shown message matches"
    )
    parser.add_argument(
        "--grepv", action="append", metavar="REGEX", help="drop events whose shown message matches"
    )
    parser.add_argument(
        "--grep-raw", action="append", metavar="REGEX",
        help="only events whose stored text (the raw JSON) matches",
    )  # fmt: skip
    parser.add_argument(
        "--level", type=_level, metavar="LEVEL",
        help="only events at this level or above (" + ", ".join(_LEVELS) + ")",
    )  # fmt: skip
    parser.add_argument(
        "--fields", action="append", metavar="A,B", help="pretty: show only these JSON fields"
    )
    parser.add_argument(
        "--hide", action="append", metavar="A,B", help="pretty: leave out these JSON fields"
    )
    parser.add_argument(
        "--wide", action="store_true",
        help="pretty: every field on every line, full ids (default: fold repeats, short ids)",
    )  # fmt: skip
    parser.add_argument(
        "-x", "--expand", action="store_true", help="pretty-print JSON messages (pretty format)"
    )
    parser.add_argument(
        "--max-groups", type=_count(1), default=max_groups, metavar="N",
        help=f"refuse when more groups match (default: {max_groups})",
    )  # fmt: skip


def _group_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty log group name would match every group")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The ``cwlogs`` argument parser (exposed for documentation and tests)."""
    common = _global_options()
    parser = _Parser(
        prog="cwlogs",
        description="Read, search, query and manage AWS CloudWatch Logs.",
        parents=[common],
        epilog="Exit codes: "
        + "; ".join(f"{code} {text.split(' (')[0]}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"cwlogs {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser
    )
    sub.required = True

    def command(name: str, help_text: str, func: Callable[[_Context, argparse.Namespace], int],
                **kwargs: Any) -> argparse.ArgumentParser:  # fmt: skip
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], **kwargs)
        p.set_defaults(func=func)
        return p

    p = command("groups", "list log groups with size, retention and class", _cmd_groups)
    p.add_argument("prefix", nargs="?", help="name prefix or wildcard ('/aws/lambda/*')")

    p = command("streams", "list a log group's streams with their last event time", _cmd_streams)
    p.add_argument("group", type=_group_name, help="log group name")
    p.add_argument("prefix", nargs="?", help="stream name prefix")

    p = command(
        "tail",
        "print (and with -f follow) events of one or more log groups, interleaved in time",
        _cmd_tail,
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="GROUP[:STREAM_PREFIX]",
        help="log group name, prefix, wildcard ('/aws/lambda/*') or @named source",
    )
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    _time_options(p, _DEFAULT_SINCE)
    p.add_argument("--filter", metavar="PATTERN", help="CloudWatch filter pattern")
    p.add_argument(
        "--limit", type=_count(1, _MAX_EVENT_LIMIT), metavar="N",
        help="print only the newest N events (1 to 10**9; says how many more matched)",
    )  # fmt: skip
    p.add_argument(
        "--mode", choices=("auto", "live", "poll"), default="auto",
        help="follow with Live Tail, polling, or Live Tail falling back to polling (default)",
    )  # fmt: skip
    p.add_argument(
        "--interval", type=_positive, default=2.0, metavar="SECONDS",
        help="polling interval when following (default: 2)",
    )  # fmt: skip
    _event_options(p)

    p = command("search", "find events matching a filter pattern across log groups", _cmd_search)
    p.add_argument("pattern", help="CloudWatch filter pattern, e.g. ERROR or '{ $.status >= 500 }'")
    p.add_argument(
        "-g", "--group", action="append", required=True, metavar="GROUP[:STREAM_PREFIX]",
        help="log group, prefix, wildcard or @source (repeatable)",
    )  # fmt: skip
    _time_options(p, _DEFAULT_RANGE)
    p.add_argument(
        "--limit", type=_count(1, _MAX_EVENT_LIMIT), metavar="N",
        help="print only the newest N events (1 to 10**9; says how many more matched)",
    )  # fmt: skip
    _event_options(p)

    p = command("query", "run a Logs Insights query and print the results as a table", _cmd_query)
    p.add_argument("query", nargs="?", help="Logs Insights query string")
    p.add_argument(
        "-g", "--group", action="append", metavar="GROUP",
        help="log group, prefix, wildcard or @source (repeatable; at most 10 groups)",
    )  # fmt: skip
    _time_options(p, _DEFAULT_RANGE)
    p.add_argument(
        "--saved", metavar="NAME",
        help="run a saved query: a template (see --list-saved) or one saved in the account",
    )  # fmt: skip
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="a saved query's parameter"
    )
    p.add_argument("--list-saved", action="store_true", help="list the saved queries")
    p.add_argument(
        "--limit", type=_count(1, MAX_QUERY_LIMIT), metavar="N",
        help=f"most rows to return (1 to {MAX_QUERY_LIMIT:,})",
    )  # fmt: skip
    p.add_argument(
        "--timeout", type=_positive, default=60.0, metavar="SECONDS",
        help="stop the query after this long (default: 60)",
    )  # fmt: skip
    p.add_argument("--max-groups", type=_count(1), default=10, help=argparse.SUPPRESS)

    p = command(
        "trace", "every event of one trace (or request) across services, in time order",
        _cmd_trace,
    )  # fmt: skip
    p.add_argument("trace_id", help="a trace id, or a request id (X-Request-ID)")
    p.add_argument(
        "-g", "--group", action="append", required=True, metavar="GROUP",
        help="log group, prefix, wildcard or @source (repeatable)",
    )  # fmt: skip
    _time_options(p, _DEFAULT_RANGE)
    p.add_argument(
        "--field",
        help="JSON field holding the id (default: trace_id, then request_id if nothing found)",
    )
    _event_options(p)

    p = command("retention", "show or change how long a log group keeps events", _cmd_retention)
    p.add_argument("group", type=_group_name, help="log group name")
    p.add_argument("days", nargs="?", type=int, help="keep events this many days (1, 3, 5, ...)")
    p.add_argument("--remove", action="store_true", help="keep events forever")

    p = command(
        "apply", "make log groups, retention, filters and alarms match a config file", _cmd_apply
    )
    p.add_argument("config_file", metavar="CONFIG", help="provisioning file (.toml, .json, .yaml)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help=f"print the plan, change nothing; exit {EXIT_PENDING} if there are changes to make",
    )
    p.add_argument("--env", metavar="ENVIRONMENT", help="environment section to apply")

    p = command(
        "iam",
        "print a least-privilege IAM policy for the handler, a reader, or apply",
        _cmd_iam,
        epilog="Actions without resource-level permissions (DescribeLogGroups, StopQuery, "
        "the query-definition actions) get Resource \"*\"; see the README's Production set-up.",
    )
    p.add_argument(
        "role", choices=("writer", "handler", "reader", "apply", "all"),
        help="writer (or handler): the CloudWatchHandler; reader: tail, search, query, trace; "
        "apply: cwlogs apply; all: the three, keyed by role",
    )  # fmt: skip
    p.add_argument(
        "groups", nargs="+", metavar="GROUP",
        help="log group name or pattern (* and ?; a trailing / means every group under it)",
    )  # fmt: skip
    p.add_argument("--account", default="*", help="12-digit account ID (default: *)")
    p.add_argument("--no-create-group", action="store_true",
                   help="writer: the handler has create_log_group=False")  # fmt: skip
    p.add_argument("--no-create-stream", action="store_true",
                   help="writer: the handler has create_log_stream=False")  # fmt: skip
    p.add_argument("--retention", action="store_true",
                   help="writer: the handler sets retention_days on groups it creates")  # fmt: skip
    p.add_argument("--tags", action="store_true",
                   help="writer: the handler tags groups it creates (log_group_tags)")  # fmt: skip
    p.add_argument("--kms", action="store_true", help="apply: the config sets kms_key_id")

    p = command(
        "local", "run a local CloudWatch Logs endpoint (moto) in the foreground", _cmd_local
    )
    p.add_argument(
        "--port", type=_count(0, 65535), default=4566,
        help="port to listen on, 0 for any free one (default: 4566)",
    )  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")

    p = command("ui", "interactive viewer: sources, streams, live logs, traces, queries", _cmd_ui)
    p.add_argument("sources", nargs="*", metavar="GROUP[:STREAM_PREFIX]",
                   help="log groups to open, as for tail (none: pick them in the UI)")  # fmt: skip
    _time_options(p, _DEFAULT_SINCE)
    p.add_argument("--mode", choices=("auto", "live", "poll"), default="auto",
                   help="follow with Live Tail, polling, or Live Tail then polling")  # fmt: skip
    p.add_argument("--max-groups", type=int, default=50, metavar="N", help=argparse.SUPPRESS)

    command(
        "sources",
        "list the named sources (@name) from the config files",
        _cmd_sources,
        epilog=(
            "Named sources live in ~/.config/cwlogs/config.toml ([sources] table; "
            "$CWLOGS_CONFIG names another file) or in pyproject.toml ([tool.cwlogs.sources]); "
            "each maps a name to a group spec or a list of them, e.g. "
            'api = ["/shop/prod/api", "/shop/prod/worker:web-"], or to a table that also '
            'names the account and Region: eu = { groups = ["/shop/prod/api"], '
            'profile = "prod", region = "eu-west-1" }. Then `cwlogs tail @api @eu`.'
        ),
    )

    p = command(
        "completion",
        'print a shell completion script: eval "$(cwlogs completion bash)"',
        _cmd_completion,
    )
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell to complete in")
    p = sub.add_parser("_complete", parents=[common], add_help=False)
    p.set_defaults(func=_cmd_complete)
    p.add_argument("words", nargs=argparse.REMAINDER)
    # Hidden from the help: the completion scripts call it.
    sub._choices_actions = [a for a in sub._choices_actions if a.dest != "_complete"]
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for a mistyped command or option."""

    _argv: list[str] | None = None

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Kept so error() can tell which command an unknown option was given to.
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self._argv, namespace)

    def error(self, message: str) -> typing.NoReturn:
        commands = {k: v for k, v in _commands(self).items() if not k.startswith("_")}
        # The hidden completion helper is not a choice to offer.
        message = re.sub(r",\s*'?_complete'?(?=\s*[,)])", "", message)
        choice = re.search(r"invalid choice: '([^']*)'", message)
        unknown = re.search(r"unrecognized arguments: (-[^\s=]+)", message)
        if choice:
            close = difflib.get_close_matches(choice.group(1), list(commands), n=2, cutoff=0.5)
            if close:
                message += "; did you mean " + " or ".join(close) + "?"
        elif unknown:
            message += self._option_hint(unknown.group(1), commands)
        super().error(message)

    def _option_hint(self, option: str, commands: Mapping[str, argparse.ArgumentParser]) -> str:
        name = self._command_name(commands)
        chosen = commands.get(name or "")
        own = {o for p in (self, chosen) if p is not None for a in p._actions
               for o in a.option_strings if o.startswith("--")}  # fmt: skip
        close = [o for o in difflib.get_close_matches(option, sorted(own), n=2, cutoff=0.6)
                 if o != option]  # fmt: skip
        if close:
            return f"; did you mean {close[0]}?"
        if name:
            return f"; {option} is not an option of {name} (see cwlogs {name} --help)"
        return ""

    def _command_name(self, commands: Mapping[str, argparse.ArgumentParser]) -> str | None:
        if self._argv is None:
            return None
        try:
            # Parsing succeeded up to the unknown arguments, so this cannot fail again.
            namespace, _ = super().parse_known_args(self._argv)
        except SystemExit:
            return None
        name = getattr(namespace, "command", None)
        return name if name in commands else None


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# --------------------------------------------------------------------------- completion

_BASH_SCRIPT: Final = """# cwlogs completion for bash: eval "$(cwlogs completion bash)"
_cwlogs_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(COMP_CWORD=$COMP_CWORD cwlogs _complete "${COMP_WORDS[@]:1:$COMP_CWORD}" \\
                 2>/dev/null))
}
complete -o default -F _cwlogs_complete cwlogs
"""
_ZSH_SCRIPT: Final = (
    """# cwlogs completion for zsh: eval "$(cwlogs completion zsh)"
autoload -U +X bashcompinit && bashcompinit
"""
    + _BASH_SCRIPT
)


def _cmd_completion(ctx: _Context, args: argparse.Namespace) -> int:
    ctx.print(_BASH_SCRIPT if args.shell == "bash" else _ZSH_SCRIPT)
    return EXIT_OK


def _cmd_complete(ctx: _Context, args: argparse.Namespace) -> int:
    """Candidates for the last word: commands, options, choices or log group names."""
    words: list[str] = list(args.words) or [""]
    current, before = words[-1], words[:-1]
    parser = build_parser()
    commands = {k: v for k, v in _commands(parser).items() if not k.startswith("_")}
    command = next((w for w in before if w in commands), None)
    target = commands[command] if command else parser
    previous = before[-1] if before else ""
    action = next((a for a in target._actions if previous in a.option_strings), None)
    if action is not None and action.nargs != 0:
        candidates = [str(c) for c in action.choices or ()]
        if not candidates and action.dest in ("group", "sources", "prefix"):
            candidates = _group_names(ctx, current)
    elif current.startswith("-"):
        candidates = [o for a in target._actions for o in a.option_strings if o.startswith("--")]
    elif command is None:
        candidates = list(commands)
    elif command in ("tail", "streams", "retention", "groups"):
        candidates = _group_names(ctx, current)
    else:
        candidates = []
    for candidate in sorted(c for c in candidates if c.startswith(current)):
        ctx.print(candidate)
    return EXIT_OK


def _group_names(ctx: _Context, prefix: str) -> list[str]:
    if prefix.startswith("@"):
        return [f"@{name}" for name in ctx.sources.sources]
    try:
        return [str(g["logGroupName"]) for g in find_log_groups(prefix or None, client=ctx.client)]
    except (CwlogsError, BotoCoreError):
        return []  # completion must never print an error into the command line


# --------------------------------------------------------------------------- errors and main


def _exit_code(err: BaseException) -> int:
    if isinstance(err, UsageError | ConfigurationError | MalformedQueryError):
        return EXIT_USAGE
    if isinstance(err, AuthenticationError | ProfileNotFound):
        return EXIT_AUTH
    if isinstance(err, ResourceNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(err, InvalidParameterError | ParamValidationError):
        return EXIT_USAGE
    return EXIT_ERROR


def _message(err: BaseException) -> str:
    text = (str(err) or type(err).__name__).removeprefix("cwlogs: ")
    if _HTML_RE.search(text):
        # An emulator's error page: its HTML says nothing a terminal can show.
        code = getattr(err, "code", None) or type(err).__name__
        operation = getattr(err, "operation", None)
        text = f"{operation or 'the call'} failed ({code}; the endpoint answered with an HTML page)"
    if isinstance(err, AuthenticationError) and err.code in (
        "NoCredentialsError",
        "PartialCredentialsError",
    ):
        return f"no usable AWS credentials ({text}); {_CREDENTIALS_HINT}"
    if isinstance(err, AuthenticationError):
        return f"{text}\n  check the credentials or role in use; {_CREDENTIALS_HINT}"
    if isinstance(err, ProfileNotFound):
        return f"{text}; see `aws configure list-profiles`"
    return text


def _configure_logging(debug: bool, err: IO[str]) -> None:
    # Without this the library's warnings would go through logging.lastResort with no
    # prefix; with --debug they show what the library did (fallbacks, retries).
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("cwlogs: %(message)s"))
    _log.handlers[:] = [handler]
    _log.setLevel(logging.DEBUG if debug else logging.WARNING)
    _log.propagate = False


def _fail(ctx: _Context, err: BaseException, code: int) -> int:
    style = Style(use_color(ctx.err, force=False if ctx.opt("no_color") else None))
    ctx.err.write(f"{style.paint('cwlogs: error:', 'red', 'bold')} {_message(err)}\n")
    if ctx.opt("debug"):
        import traceback

        traceback.print_exception(err, file=ctx.err)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cwlogs`` command line; returns the exit code (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = _Context(args, sys.stdout, sys.stderr)
    _configure_logging(bool(ctx.opt("debug")), ctx.err)
    try:
        code: int = args.func(ctx, args)
    except KeyboardInterrupt:
        ctx.err.write("\n" if ctx.err.isatty() else "")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except (CwlogsError, UsageError, BotoCoreError) as err:
        return _fail(ctx, err, _exit_code(err))
    try:
        ctx.out.flush()
    except BrokenPipeError:
        _quiet_stdout()
    return code


def _quiet_stdout() -> None:
    # The reader went away (`cwlogs tail G | head`); point stdout at /dev/null so the
    # interpreter's own flush at exit does not complain about the closed pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
