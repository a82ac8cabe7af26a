"""The ``cwlogs`` command: a thin layer over :mod:`cwlogs.query` and :mod:`cwlogs.manage`.

Run it as the ``cwlogs`` script, as ``python -m cwlogs``, or from Python with
``from cwlogs.cli import main``. Each sub-command parses its arguments, resolves group
arguments (names, prefixes, wildcards, ``@named`` sources), calls the library, and
prints through one output helper in the chosen format (pretty, NDJSON or raw). Errors
from the library are mapped to documented exit codes (:data:`EXIT_CODES`) and one-line
messages, never tracebacks.

Inside: ``_parser`` (the command tree, "did you mean", completion), ``_main`` (running a
command, exit codes from errors), ``_context`` (a run's clients, sources and time
window), ``_output`` (the one output helper), ``_targets`` (group arguments), the
commands by concern (``_read``: tail, search, trace, ui; ``_query``; ``_admin``: groups,
streams, retention, apply, iam, sources; ``_local``), and two modules the UI shares:
:mod:`cwlogs.cli.display` (terminal rendering) and :mod:`cwlogs.cli.sources` (named
sources).

>>> from cwlogs.manage import create_log_group
>>> create_log_group("/shop/prod/api")
True
>>> main(["tail", "/shop/prod/apii"])  # stderr: "... not found; did you mean /shop/prod/api?"
3
>>> EXIT_CODES[3] == EXIT_CODES[EXIT_NOT_FOUND]
True
>>> EXIT_CODES[EXIT_NOT_FOUND]
'log group, stream or named source not found'
"""

from cwlogs.cli._errors import (
    EXIT_AUTH,
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_USAGE,
)
from cwlogs.cli._main import main
from cwlogs.cli._parser import build_parser

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
