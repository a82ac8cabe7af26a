"""``cwlogs query``: a Logs Insights query (typed, a built-in template, or one saved in the
account) printed as rows."""

from __future__ import annotations

import argparse
import difflib
import inspect
import logging
import time
import typing
from collections.abc import Mapping
from typing import Any

from cwlogs.cli._context import Context
from cwlogs.cli._errors import EXIT_INTERRUPTED, EXIT_OK, UsageError
from cwlogs.cli._targets import by_location, resolve
from cwlogs.cli.display import Column, Progress, format_bytes
from cwlogs.errors import CwlogsError
from cwlogs.manage import get_query_definition
from cwlogs.query import SAVED_QUERIES, insights

_log = logging.getLogger("cwlogs")


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


def _list_saved(ctx: Context) -> int:
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
    ctx.out.rows(columns, rows, raw="name")
    return EXIT_OK


def cmd_query(ctx: Context, args: argparse.Namespace) -> int:
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
    targets = resolve(ctx, args.group, max_groups=args.max_groups, streams=False)
    if len(by_location(targets)) > 1:
        raise UsageError("one query reads one account and Region; query each source apart")
    client = ctx.client_for(targets[0].where)
    progress = Progress(ctx.out.stderr)
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
        ctx.out.note("query interrupted; asked the service to stop it")
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
    columns = list(dict.fromkeys(key for row in result.rows for key in row))
    shown = [
        {**dict.fromkeys(columns, ""), **{k: _insights_value(ctx, k, v) for k, v in row.items()}}
        for row in result.rows
    ]
    for row, stored in zip(shown, result.rows, strict=True):
        row["\t"] = "\t".join(stored.get(c, "") for c in columns)
    ctx.out.rows([Column(c, c) for c in columns], shown, raw="\t", json_rows=result.rows)
    stats = result.statistics
    summary = f"{len(result.rows)} row(s)"
    if "recordsScanned" in stats:
        summary += f", {int(stats['recordsScanned'])} records scanned"
    if "bytesScanned" in stats:
        summary += f", {format_bytes(int(stats['bytesScanned']))} scanned"
    ctx.out.summary(summary)
    return EXIT_OK


def _insights_value(ctx: Context, key: str, value: str) -> str:
    # Some endpoints (moto) print @timestamp as epoch milliseconds; show it like AWS does.
    if key in ("@timestamp", "@ingestionTime") and value.isdigit():
        return ctx.out.time(int(value))
    return value
