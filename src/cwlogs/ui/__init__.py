"""``cwlogs ui``: an interactive terminal viewer (needs the ``ui`` extra: Textual).

>>> run([("/shop/prod/api", None)], since="15m")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from cwlogs.timeparse import TimeLike
from cwlogs.ui._source import Source, Target
from cwlogs.ui.app import CwlogsApp
from cwlogs.ui.screens import NotifyHandler

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["CwlogsApp", "Source", "run"]


def run(
    targets: Sequence[Target] = (),
    *,
    since: TimeLike = "15m",
    client: CloudWatchLogsClient | None = None,
    mode: Literal["auto", "live", "poll"] = "auto",
    poll_interval: float = 2.0,
    **options: Any,
) -> int:
    """Run the viewer in this terminal until the user quits; returns the exit code."""
    source = Source.create(client, mode=mode, poll_interval=poll_interval)
    app = CwlogsApp(source, targets=targets, since=since, **options)
    # The library's warnings (a query it could not stop, a Live Tail fallback) would write
    # over the screen: show them as notifications while the app runs.
    logger = logging.getLogger("cwlogs")
    saved = logger.handlers[:], logger.propagate
    logger.handlers[:] = [NotifyHandler(app)]
    logger.propagate = False
    try:
        app.run()
    finally:
        logger.handlers[:], logger.propagate = saved
    return app.return_code or 0
