"""The ``cwlogs`` argument parser: the command tree, "did you mean" for a mistyped
command or option, and shell completion (which walks the same tree).

>>> args = build_parser().parse_args(["tail", "/shop/api", "--since", "1h", "--format", "json"])
>>> args.command, args.sources, args.since, args.format
('tail', ['/shop/api'], '1h', 'json')
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from botocore.exceptions import BotoCoreError

from cwlogs import __version__
from cwlogs.cli._admin import (
    cmd_apply,
    cmd_groups,
    cmd_iam,
    cmd_retention,
    cmd_sources,
    cmd_streams,
)
from cwlogs.cli._context import DEFAULT_RANGE, Context
from cwlogs.cli._errors import EXIT_CODES, EXIT_OK, EXIT_PENDING
from cwlogs.cli._local import cmd_local
from cwlogs.cli._query import cmd_query
from cwlogs.cli._read import cmd_search, cmd_tail, cmd_trace, cmd_ui
from cwlogs.cli.display import FORMATS
from cwlogs.errors import CwlogsError
from cwlogs.insights import MAX_QUERY_LIMIT
from cwlogs.query import LEVELS, find_log_groups, normalise_level

#: --since of the commands that start from recent events (tail, ui).
_DEFAULT_SINCE: Final = "10m"


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
    level = normalise_level(text)
    if level not in LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level; allowed: {', '.join(LEVELS)}")
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


def _group_options(
    parser: argparse.ArgumentParser,
    *,
    metavar: str = "GROUP",
    required: bool = True,
    most: str = "",
) -> None:
    """-g/--group (repeatable) and the --since/--until range of the commands that read one."""
    parser.add_argument(
        "-g",
        "--group",
        action="append",
        required=required,
        metavar=metavar,
        help=f"log group, prefix, wildcard or @source (repeatable{most})",
    )
    _time_options(parser, DEFAULT_RANGE)


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
        help="only events at this level or above (" + ", ".join(LEVELS) + ")",
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

    def command(name: str, help_text: str, func: Callable[[Context, argparse.Namespace], int],
                **kwargs: Any) -> argparse.ArgumentParser:  # fmt: skip
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], **kwargs)
        p.set_defaults(func=func)
        return p

    p = command("groups", "list log groups with size, retention and class", cmd_groups)
    p.add_argument("prefix", nargs="?", help="name prefix or wildcard ('/aws/lambda/*')")

    p = command("streams", "list a log group's streams with their last event time", cmd_streams)
    p.add_argument("group", type=_group_name, help="log group name")
    p.add_argument("prefix", nargs="?", help="stream name prefix")

    p = command(
        "tail",
        "print (and with -f follow) events of one or more log groups, interleaved in time",
        cmd_tail,
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

    p = command("search", "find events matching a filter pattern across log groups", cmd_search)
    p.add_argument("pattern", help="CloudWatch filter pattern, e.g. ERROR or '{ $.status >= 500 }'")
    _group_options(p, metavar="GROUP[:STREAM_PREFIX]")
    p.add_argument(
        "--limit", type=_count(1, _MAX_EVENT_LIMIT), metavar="N",
        help="print only the newest N events (1 to 10**9; says how many more matched)",
    )  # fmt: skip
    _event_options(p)

    p = command("query", "run a Logs Insights query and print the results as a table", cmd_query)
    p.add_argument("query", nargs="?", help="Logs Insights query string")
    _group_options(p, required=False, most="; at most 10 groups")
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
        cmd_trace,
    )  # fmt: skip
    p.add_argument("trace_id", help="a trace id, or a request id (X-Request-ID)")
    _group_options(p)
    p.add_argument(
        "--field",
        help="JSON field holding the id (default: trace_id, then request_id if nothing found)",
    )
    _event_options(p)

    p = command("retention", "show or change how long a log group keeps events", cmd_retention)
    p.add_argument("group", type=_group_name, help="log group name")
    p.add_argument("days", nargs="?", type=int, help="keep events this many days (1, 3, 5, ...)")
    p.add_argument("--remove", action="store_true", help="keep events forever")

    p = command(
        "apply", "make log groups, retention, filters and alarms match a config file", cmd_apply
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
        cmd_iam,
        epilog="Actions without resource-level permissions (DescribeLogGroups, StopQuery, "
        'the query-definition actions) get Resource "*"; see the README\'s Production set-up.',
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

    p = command("local", "run a local CloudWatch Logs endpoint (moto) in the foreground", cmd_local)
    p.add_argument(
        "--port", type=_count(0, 65535), default=4566,
        help="port to listen on, 0 for any free one (default: 4566)",
    )  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")

    p = command("ui", "interactive viewer: sources, streams, live logs, traces, queries", cmd_ui)
    p.add_argument("sources", nargs="*", metavar="GROUP[:STREAM_PREFIX]",
                   help="log groups to open, as for tail (none: pick them in the UI)")  # fmt: skip
    _time_options(p, _DEFAULT_SINCE)
    p.add_argument("--mode", choices=("auto", "live", "poll"), default="auto",
                   help="follow with Live Tail, polling, or Live Tail then polling")  # fmt: skip
    p.add_argument("--max-groups", type=int, default=50, metavar="N", help=argparse.SUPPRESS)

    command(
        "sources",
        "list the named sources (@name) from the config files",
        cmd_sources,
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


def _cmd_completion(ctx: Context, args: argparse.Namespace) -> int:
    ctx.out.line(_BASH_SCRIPT if args.shell == "bash" else _ZSH_SCRIPT)
    return EXIT_OK


def _cmd_complete(ctx: Context, args: argparse.Namespace) -> int:
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
        ctx.out.line(candidate)
    return EXIT_OK


def _group_names(ctx: Context, prefix: str) -> list[str]:
    if prefix.startswith("@"):
        return [f"@{name}" for name in ctx.sources.sources]
    try:
        return [str(g["logGroupName"]) for g in find_log_groups(prefix or None, client=ctx.client)]
    except (CwlogsError, BotoCoreError):
        return []  # completion must never print an error into the command line
