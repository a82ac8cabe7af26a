"""The commands that list and change the account: ``groups``, ``streams``, ``retention``,
``apply``, ``iam`` and ``sources`` (the named sources of the config files)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from cwlogs.cli._context import Context
from cwlogs.cli._errors import EXIT_OK, EXIT_PENDING, UsageError
from cwlogs.cli._targets import where_label
from cwlogs.cli.display import Column, compact_time, format_bytes
from cwlogs.cli.sources import user_config_path
from cwlogs.errors import ResourceNotFoundError
from cwlogs.manage import (
    apply,
    get_retention,
    last_event_time,
    list_log_streams,
    remove_retention,
    set_retention,
)
from cwlogs.query import find_log_groups, not_found_error


def cmd_groups(ctx: Context, args: argparse.Namespace) -> int:
    prefix: str | None = args.prefix
    groups = list(find_log_groups(prefix, client=ctx.client))
    rows: list[dict[str, Any]] = [{"name": g["logGroupName"]} for g in groups]
    if ctx.out.pretty:
        # Only a table shows more than names: the last event costs a call per group.
        rows = [
            {
                "name": g["logGroupName"],
                "stored": format_bytes(g.get("storedBytes")),
                "retention": _retention_text(g.get("retentionInDays")),
                "class": g.get("logGroupClass"),
                "last": ctx.out.time(last_event_time(g["logGroupName"], client=ctx.client)),
                "created": ctx.out.time(g.get("creationTime")),
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
    ctx.out.rows(columns, rows, raw="name", json_rows=groups)
    if not groups:
        ctx.out.note("no log groups" + (f" match {prefix!r}" if prefix else ""))
    return EXIT_OK


def _retention_text(days: int | None) -> str:
    return "never expires" if days is None else f"{days} d"


def cmd_streams(ctx: Context, args: argparse.Namespace) -> int:
    try:
        streams = list(list_log_streams(args.group, args.prefix, client=ctx.client))
    except ResourceNotFoundError:
        raise not_found_error(args.group, client=ctx.client) from None
    rows = [
        {
            "name": s["logStreamName"],
            "last": ctx.out.time(s.get("lastEventTimestamp")),
            "first": ctx.out.time(s.get("firstEventTimestamp")),
            "stored": format_bytes(s.get("storedBytes")),
            "created": ctx.out.time(s.get("creationTime")),
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
    ctx.out.rows(columns, rows, raw="name", json_rows=streams)
    if not streams:
        matching = f" match {args.prefix!r}" if args.prefix else ""
        ctx.out.note(f"no log streams in {args.group!r}{matching}")
    return EXIT_OK


def cmd_retention(ctx: Context, args: argparse.Namespace) -> int:
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
    kept = "events kept forever" if days is None else f"events kept for {days} days"
    changed = "retention removed; " if args.remove else ("retention set; " if args.days else "")
    ctx.out.result(
        {"group": group, "retention_days": days},
        f"{group}: {changed}{kept}",
        raw="" if days is None else str(days),
    )
    return EXIT_OK


def cmd_apply(ctx: Context, args: argparse.Namespace) -> int:
    plan = apply(args.config_file, environment=args.env, dry_run=args.dry_run, client=ctx.client)
    marks = {"+": "green", "~": "yellow", "!": "red"}
    lines = []
    for line in str(plan).split("\n"):
        mark = line.strip()[:1]
        lines.append(ctx.out.paint(line, marks[mark]) if mark in marks else line)
    ctx.out.result({**dataclasses.asdict(plan), "changed": plan.changed}, "\n".join(lines))
    # Only a dry run reports drift by its exit code; a real run that made changes succeeded.
    return EXIT_PENDING if args.dry_run and plan.changed else EXIT_OK


def cmd_iam(ctx: Context, args: argparse.Namespace) -> int:
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
    ctx.out.line(json.dumps(document, indent=2))
    return EXIT_OK


def cmd_sources(ctx: Context, args: argparse.Namespace) -> int:
    config = ctx.sources
    rows: list[dict[str, Any]] = [
        {
            "name": f"@{name}",
            "groups": list(specs),
            "profile": config.location(name).profile,
            "region": config.location(name).region,
            "where": where_label(config.location(name)).replace("default", "-"),
            "origin": config.origins.get(name, ""),
        }
        for name, specs in sorted(config.sources.items())
    ]
    shown = [{**row, "groups": " ".join(row["groups"])} for row in rows]
    columns = [Column("name", "SOURCE"), Column("where", "PROFILE:REGION"),
               Column("groups", "GROUPS"), Column("origin", "FROM")]  # fmt: skip
    ctx.out.rows(columns, shown, raw="name", json_rows=rows)
    if not rows:
        ctx.out.note(
            f"no named sources; add a [sources] table to {user_config_path()} "
            "or [tool.cwlogs.sources] to pyproject.toml"
        )
    return EXIT_OK
