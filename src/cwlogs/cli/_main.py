"""``main``: parse, build the run's context, run the command, and turn what it lets out
into an exit code and a one-line message."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import IO

from botocore.exceptions import BotoCoreError

from cwlogs.cli._context import Context
from cwlogs.cli._errors import EXIT_INTERRUPTED, EXIT_OK, UsageError, exit_code, message
from cwlogs.cli._output import Output
from cwlogs.cli._parser import build_parser
from cwlogs.errors import CwlogsError

_log = logging.getLogger("cwlogs")


def _configure_logging(debug: bool, err: IO[str]) -> None:
    # Without this the library's warnings would go through logging.lastResort with no
    # prefix; with --debug they show what the library did (fallbacks, retries).
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("cwlogs: %(message)s"))
    _log.handlers[:] = [handler]
    _log.setLevel(logging.DEBUG if debug else logging.WARNING)
    _log.propagate = False


def _fail(ctx: Context, err: BaseException, code: int) -> int:
    ctx.out.error(message(err))
    if ctx.opt("debug"):
        import traceback

        traceback.print_exception(err, file=ctx.out.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cwlogs`` command line; returns the exit code (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context(args, Output.for_args(args, sys.stdout, sys.stderr))
    _configure_logging(bool(ctx.opt("debug")), ctx.out.stderr)
    try:
        code: int = args.func(ctx, args)
    except KeyboardInterrupt:
        ctx.out.stderr.write("\n" if ctx.out.stderr.isatty() else "")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except (CwlogsError, UsageError, BotoCoreError) as err:
        return _fail(ctx, err, exit_code(err))
    try:
        ctx.out.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    return code


def _quiet_stdout() -> None:
    # The reader went away (`cwlogs tail G | head`); point stdout at /dev/null so the
    # interpreter's own flush at exit does not complain about the closed pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
