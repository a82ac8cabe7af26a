"""Keep what could not be delivered: a ready-made ``on_drop`` callback writing NDJSON.

>>> from cwlogs import CloudWatchHandler
>>> dead = DeadLetterFile("/var/log/app/cwlogs-dead.ndjson")
>>> handler = CloudWatchHandler(log_group="/app", on_drop=dead)
>>> dead.read()  # nothing was dropped yet
[]
>>> handler.close()
"""

from __future__ import annotations

import os
import threading
from typing import Any

import orjson

__all__ = ["DeadLetterFile"]


class DeadLetterFile:
    """Append every dropped or rejected event as one JSON line (with its ``reason``) to ``path``.

    Runs on the handler's ``…-on-drop`` thread. A failing disk is reported once on stderr by
    the handler and never reaches the application.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def __call__(self, events: list[dict[str, Any]], reason: str) -> None:
        lines = b"".join(orjson.dumps(ev) + b"\n" for ev in events)
        with self._lock, open(self.path, "ab") as fh:
            fh.write(lines)

    def read(self) -> list[dict[str, Any]]:
        """Every event written so far (for replay or inspection)."""
        try:
            with open(self.path, "rb") as fh:
                return [orjson.loads(line) for line in fh if line.strip()]
        except FileNotFoundError:
            return []
