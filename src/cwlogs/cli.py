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
import importlib.util
import inspect
import io
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from cwlogs.manage import (
    apply,
    get_retention,
    last_event_time,
    list_log_streams,
    remove_retention,
    set_retention,
)
from cwlogs.query import (
    SAVED_QUERIES,
    LogEvent,
    by_trace_id,
    expand_groups,
    find_log_groups,
    insights,
    not_found_error,
    read_groups,
    tail,
)
from cwlogs.render import (
    FORMATS,
    Column,
    EventRenderer,
    Format,
    Progress,
    Style,
    default_format,
    format_bytes,
    format_time,
    ndjson,
    source_labels,
    table,
    use_color,
)

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
EXIT_AUTH: Final = 4
EXIT_INTERRUPTED: Final = 130

#: Exit code -> meaning, as documented in docs/cli.md.
EXIT_CODES: Final = {
    EXIT_OK: "success",
    EXIT_ERROR: "runtime or service error (throttled past retries, endpoint unreachable, ...)",
    EXIT_USAGE: "usage error: bad arguments, malformed filter pattern, query, time or config",
    EXIT_NOT_FOUND: "log group, stream or named source not found",
    EXIT_AUTH: "missing, invalid or expired credentials, unknown profile, access denied",
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

_log = logging.getLogger("cwlogs")


class UsageError(Exception):
    """A command-line mistake found after parsing; exits with :data:`EXIT_USAGE`."""


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    """What every command needs: parsed options, output streams and the shared client."""

    args: argparse.Namespace
    out: IO[str]
    err: IO[str]
    _client: CloudWatchLogsClient | None = None
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
        if self._client is None:
            region, profile = self.opt("region"), self.opt("profile")
            # Clients the library builds on its own (Live Tail on a local endpoint, the
            # CloudWatch/SNS clients of `apply`) read the environment; keep them on the
            # same profile and region as this one.
            if profile:
                os.environ["AWS_PROFILE"] = profile
            if region:
                os.environ["AWS_REGION"] = region
            self._client = make_client(
                region=region, profile=profile, endpoint_url=self.opt("endpoint_url")
            )
        return self._client

    @property
    def sources(self) -> cliconfig.SourceConfig:
        if self._sources is None:
            self._sources = cliconfig.load(self.opt("config"))
        return self._sources

    @property
    def width(self) -> int | None:
        """The terminal's width when printing to one (tables fit it), else None."""
        return shutil.get_terminal_size().columns if self.out.isatty() else None

    def print(self, text: str, *, flush: bool = False) -> None:
        self.out.write(text + "\n")
        if flush:
            self.out.flush()

    def note(self, text: str) -> None:
        """A remark for the person at the terminal; stderr, so pipes stay clean."""
        self.err.write(f"cwlogs: {text}\n")

    def events(self, groups: Sequence[str]) -> EventRenderer:
        labels = source_labels(groups) if len(set(groups)) > 1 else {}
        return EventRenderer(
            self.format,
            color=self.color,
            labels=labels,
            expand=bool(self.opt("expand")),
            local_time=bool(self.opt("local_time")),
        )


# --------------------------------------------------------------------------- group arguments


@dataclass(frozen=True)
class _Target:
    group: str
    stream_prefix: str | None = None


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def _resolve(
    ctx: _Context, specs: Sequence[str], *, max_groups: int, streams: bool = True
) -> list[_Target]:
    """``GROUP[:STREAM_PREFIX]``, prefixes, wildcards and ``@sources`` -> distinct targets."""
    targets: dict[str, _Target] = {}
    for spec in specs:
        expanded = ctx.sources.expand(spec[1:]) if spec.startswith("@") else (spec,)
        for item in expanded:
            # Log group names cannot contain ':', so the first one starts a stream prefix.
            group_spec, _, prefix = item.partition(":")
            if prefix and not streams:
                raise UsageError(f"{item!r}: this command cannot narrow to streams")
            names = expand_groups(group_spec, client=ctx.client)
            if not _is_glob(group_spec) and not group_spec.endswith("/") and names != [group_spec]:
                ctx.note(f"{group_spec!r} is a prefix of {len(names)} log group(s)")
            for name in names:
                known = targets.get(name)
                if known is not None and prefix and known.stream_prefix not in (None, prefix):
                    # FilterLogEvents takes one stream prefix per group.
                    raise UsageError(f"{name}: give at most one stream prefix per group")
                # Asking for a whole group wins over asking for part of it.
                if known is None or not prefix:
                    targets[name] = _Target(name, prefix or None)
    if len(targets) > max_groups:
        raise UsageError(
            f"{len(targets)} log groups match; narrow the arguments or raise --max-groups "
            f"(now {max_groups})"
        )
    return list(targets.values())


# --------------------------------------------------------------------------- reading


def _read(
    ctx: _Context,
    targets: Sequence[_Target],
    pattern: str | None,
    start: str,
    end: str | None,
    limit: int | None = None,
) -> list[LogEvent]:
    """Events of every target between ``start`` and ``end``, interleaved in time order."""
    sources = [(t.group, t.stream_prefix) for t in targets]
    return read_groups(sources, pattern, start, end, limit=limit, client=ctx.client)


def _line_filter(args: argparse.Namespace) -> Callable[[LogEvent], bool]:
    """``--grep``/``--grepv`` as a predicate on the message: a display filter, like grep(1)."""
    try:
        keep = [re.compile(p) for p in args.grep or ()]
        drop = [re.compile(p) for p in args.grepv or ()]
    except re.error as exc:
        raise UsageError(f"invalid --grep/--grepv regex {exc.pattern!r}: {exc}") from exc

    def wanted(event: LogEvent) -> bool:
        text = event.message
        return all(r.search(text) for r in keep) and not any(r.search(text) for r in drop)

    return wanted


def _print_events(
    ctx: _Context,
    events: Iterable[LogEvent],
    groups: Sequence[str],
    *,
    wanted: Callable[[LogEvent], bool] | None = None,
    flush: bool = False,
) -> int:
    renderer = ctx.events(groups)
    count = 0
    for event in events:
        if wanted is not None and not wanted(event):
            continue
        ctx.print(renderer.render(event), flush=flush)
        count += 1
    return count


# --------------------------------------------------------------------------- commands


def _cmd_groups(ctx: _Context, args: argparse.Namespace) -> int:
    prefix: str | None = args.prefix
    groups = list(find_log_groups(prefix, client=ctx.client))
    if ctx.format == "json":
        for group in groups:
            ctx.print(ndjson(group))
    elif ctx.format == "raw":
        for group in groups:
            ctx.print(str(group["logGroupName"]))
    elif groups:
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
            Column("class", "CLASS"),
            Column("last", "LAST EVENT"),
            Column("created", "CREATED"),
        ]
        ctx.print(table(columns, rows, color=ctx.color, max_width=None))
    else:
        ctx.note("no log groups" + (f" match {prefix!r}" if prefix else ""))
    return EXIT_OK


def _retention_text(days: int | None) -> str:
    return "never expires" if days is None else f"{days} d"


def _cmd_streams(ctx: _Context, args: argparse.Namespace) -> int:
    try:
        streams = list(list_log_streams(args.group, args.prefix, client=ctx.client))
    except ResourceNotFoundError:
        raise not_found_error(args.group, client=ctx.client) from None
    if ctx.format == "json":
        for stream in streams:
            ctx.print(ndjson(stream))
    elif ctx.format == "raw":
        for stream in streams:
            ctx.print(str(stream["logStreamName"]))
    elif streams:
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
            Column("last", "LAST EVENT"),
            Column("first", "FIRST EVENT"),
            Column("stored", "STORED", right=True),
            Column("created", "CREATED"),
        ]
        ctx.print(table(columns, rows, color=ctx.color, max_width=None))
    else:
        matching = f" match {args.prefix!r}" if args.prefix else ""
        ctx.note(f"no log streams in {args.group!r}{matching}")
    return EXIT_OK


def _cmd_tail(ctx: _Context, args: argparse.Namespace) -> int:
    if args.follow and args.until:
        raise UsageError("--until ends a fixed range; it cannot be combined with --follow")
    targets = _resolve(ctx, args.sources, max_groups=args.max_groups)
    groups = [t.group for t in targets]
    wanted = _line_filter(args)
    if not args.follow:
        _print_events(ctx, _read(ctx, targets, args.filter, args.since, args.until), groups,
                      wanted=wanted)  # fmt: skip
        return EXIT_OK
    stop = threading.Event()
    events = tail(
        [(t.group, t.stream_prefix) for t in targets],
        args.filter,
        since=args.since,
        mode=args.mode,
        poll_interval=args.interval,
        stop=stop,
        client=ctx.client,
    )
    try:
        # Flushed per event: whoever reads a pipe from `tail -f` wants lines as they come.
        _print_events(ctx, events, groups, wanted=wanted, flush=True)
    finally:
        stop.set()
    return EXIT_OK


def _cmd_search(ctx: _Context, args: argparse.Namespace) -> int:
    targets = _resolve(ctx, args.group, max_groups=args.max_groups)
    events = _read(ctx, targets, args.pattern, args.since, args.until, args.limit or None)
    count = _print_events(ctx, events, [t.group for t in targets])
    if count == 0 and ctx.format == "pretty":
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
    if ctx.format == "json":
        for row in rows:
            ctx.print(ndjson(row))
    elif ctx.format == "raw":
        for row in rows:
            ctx.print(row["name"])
    else:
        columns = [Column("name", "NAME"), Column("params", "PARAMS"),
                   Column("description", "DESCRIPTION")]  # fmt: skip
        ctx.print(table(columns, rows, color=ctx.color, max_width=None))
    return EXIT_OK


def _cmd_query(ctx: _Context, args: argparse.Namespace) -> int:
    if args.list_saved:
        return _list_saved(ctx)
    if args.saved and args.query:
        raise UsageError("give a query or --saved NAME, not both")
    if args.saved:
        query_string = _saved_query(args)
    elif args.query:
        query_string = args.query
    else:
        raise UsageError("give a Logs Insights query, or --saved NAME (see --list-saved)")
    if not args.group:
        raise UsageError("name the log groups to query with --group")
    targets = _resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
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
            args.since,
            args.until,
            limit=args.limit,
            timeout=args.timeout,
            client=ctx.client,
            progress=polled,
        )
    finally:
        progress.clear()
    if ctx.format == "json":
        for row in result.rows:
            ctx.print(ndjson(row))
        return EXIT_OK
    columns = list(dict.fromkeys(key for row in result.rows for key in row))
    if ctx.format == "raw":
        for row in result.rows:
            ctx.print("\t".join(row.get(c, "") for c in columns))
        return EXIT_OK
    if result.rows:
        local = bool(ctx.opt("local_time"))
        shown = [{k: _insights_value(k, v, local) for k, v in row.items()} for row in result.rows]
        ctx.print(table([Column(c, c) for c in columns], shown, color=ctx.color, width=ctx.width))
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
    targets = _resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
    groups = [t.group for t in targets]
    events = by_trace_id(
        groups, args.trace_id, args.since, args.until, field_name=args.field, client=ctx.client
    )
    if not events:
        ctx.note(f"no events with {args.field} {args.trace_id!r} in {len(groups)} log group(s)")
        return EXIT_OK
    _print_events(ctx, events, groups)
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
    # apply() prints only dry runs; capture that and print every plan the same way here.
    plan = apply(
        args.config_file,
        environment=args.env,
        dry_run=args.dry_run,
        client=ctx.client,
        out=io.StringIO(),
    )
    if ctx.format == "json":
        ctx.print(ndjson({**dataclasses.asdict(plan), "changed": plan.changed}))
        return EXIT_OK
    style = Style(ctx.color)
    marks = {"+": "green", "~": "yellow", "!": "red"}
    for line in str(plan).split("\n"):
        mark = line.strip()[:1]
        ctx.print(style.paint(line, marks[mark]) if mark in marks else line)
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
            ctx.note(f"could not start the local endpoint on {args.host}:{args.port}: "
                     f"{str(exc).splitlines()[0]}")  # fmt: skip
            return EXIT_ERROR
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        url = f"http://{host}:{server.port}"
        env = {
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
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
    rows = [
        {"name": f"@{name}", "groups": list(specs), "origin": config.origins.get(name, "")}
        for name, specs in sorted(config.sources.items())
    ]
    if ctx.format == "json":
        for row in rows:
            ctx.print(ndjson(row))
    elif ctx.format == "raw":
        for row in rows:
            ctx.print(str(row["name"]))
    elif rows:
        shown = [{**row, "groups": " ".join(row["groups"])} for row in rows]
        columns = [Column("name", "SOURCE"), Column("groups", "GROUPS"), Column("origin", "FROM")]
        ctx.print(table(columns, shown, color=ctx.color, max_width=None))
    else:
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


def _time_options(parser: argparse.ArgumentParser, since: str) -> None:
    parser.add_argument(
        "--since",
        default=since,
        metavar="TIME",
        help=f"start: '15m', '2h', '1d', ISO-8601 or epoch ms (default: {since})",
    )
    parser.add_argument("--until", metavar="TIME", help="end (default: now)")


def _event_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-x", "--expand", action="store_true", help="pretty-print JSON messages (pretty format)"
    )
    parser.add_argument(
        "--max-groups", type=int, default=50, metavar="N",
        help="refuse when more groups match (default: 50)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``cwlogs`` argument parser (exposed for documentation and tests)."""
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="cwlogs",
        description="Read, search, query and manage AWS CloudWatch Logs.",
        parents=[common],
        epilog="Exit codes: "
        + "; ".join(f"{code} {text.split(' (')[0]}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"cwlogs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, help_text: str, func: Callable[[_Context, argparse.Namespace], int],
                **kwargs: Any) -> argparse.ArgumentParser:  # fmt: skip
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], **kwargs)
        p.set_defaults(func=func)
        return p

    p = command("groups", "list log groups with size, retention and class", _cmd_groups)
    p.add_argument("prefix", nargs="?", help="name prefix or wildcard ('/aws/lambda/*')")

    p = command("streams", "list a log group's streams with their last event time", _cmd_streams)
    p.add_argument("group", help="log group name")
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
    p.add_argument("--grep", action="append", metavar="REGEX", help="only messages matching")
    p.add_argument("--grepv", action="append", metavar="REGEX", help="drop messages matching")
    p.add_argument(
        "--mode", choices=("auto", "live", "poll"), default="auto",
        help="follow with Live Tail, polling, or Live Tail falling back to polling (default)",
    )  # fmt: skip
    p.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS",
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
    p.add_argument("--limit", type=int, metavar="N", help="stop after N events")
    _event_options(p)

    p = command("query", "run a Logs Insights query and print the results as a table", _cmd_query)
    p.add_argument("query", nargs="?", help="Logs Insights query string")
    p.add_argument(
        "-g", "--group", action="append", metavar="GROUP",
        help="log group, prefix, wildcard or @source (repeatable; at most 10 groups)",
    )  # fmt: skip
    _time_options(p, _DEFAULT_RANGE)
    p.add_argument("--saved", metavar="NAME", help="run a saved query (see --list-saved)")
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="a saved query's parameter"
    )
    p.add_argument("--list-saved", action="store_true", help="list the saved queries")
    p.add_argument("--limit", type=int, metavar="N", help="most rows to return")
    p.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS",
        help="stop the query after this long (default: 60)",
    )  # fmt: skip
    p.add_argument("--max-groups", type=int, default=10, help=argparse.SUPPRESS)

    p = command("trace", "every event of one trace across services, in time order", _cmd_trace)
    p.add_argument("trace_id", help="the trace id to follow")
    p.add_argument(
        "-g", "--group", action="append", required=True, metavar="GROUP",
        help="log group, prefix, wildcard or @source (repeatable)",
    )  # fmt: skip
    _time_options(p, _DEFAULT_RANGE)
    p.add_argument(
        "--field", default="trace_id", help="JSON field holding the trace id (default: trace_id)"
    )
    _event_options(p)

    p = command("retention", "show or change how long a log group keeps events", _cmd_retention)
    p.add_argument("group", help="log group name")
    p.add_argument("days", nargs="?", type=int, help="keep events this many days (1, 3, 5, ...)")
    p.add_argument("--remove", action="store_true", help="keep events forever")

    p = command(
        "apply", "make log groups, retention, filters and alarms match a config file", _cmd_apply
    )
    p.add_argument("config_file", metavar="CONFIG", help="provisioning file (.toml, .json, .yaml)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--env", metavar="ENVIRONMENT", help="environment section to apply")

    p = command(
        "local", "run a local CloudWatch Logs endpoint (moto) in the foreground", _cmd_local
    )
    p.add_argument("--port", type=int, default=4566, help="port to listen on (default: 4566)")
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
            'api = ["/shop/prod/api", "/shop/prod/worker:web-"]. '
            "Then `cwlogs tail @api`."
        ),
    )
    return parser


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
