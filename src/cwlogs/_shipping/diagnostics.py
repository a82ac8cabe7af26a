"""cwlogs' own diagnostics: a stderr logger that never reaches a CloudWatchHandler, rate-limited.

The logger ``cwlogs.internal`` does not propagate, so a root-level CloudWatchHandler
never sees it (and the handler also refuses every ``cwlogs.*`` record).

>>> warn_rate_limited("demo", "endpoint unreachable")
True
>>> warn_rate_limited("demo", "endpoint unreachable")  # again within 30 s: counted, not shown
False
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

INTERNAL_LOGGER: Final = logging.getLogger("cwlogs.internal")
INTERNAL_LOGGER.propagate = False
if not INTERNAL_LOGGER.handlers:
    _stderr = logging.StreamHandler(sys.stderr)
    _stderr.setFormatter(logging.Formatter("cwlogs: %(levelname)s: %(message)s"))
    INTERNAL_LOGGER.addHandler(_stderr)
    INTERNAL_LOGGER.setLevel(logging.INFO)

_lock = threading.RLock()  # a signal handler may log while this thread holds it
# key -> (time of the last message shown, messages suppressed since)
_last: dict[str, tuple[float, int]] = {}


def warn_rate_limited(
    key: str,
    message: str | Callable[[], str],
    *,
    interval: float = 30.0,
    level: int = logging.WARNING,
) -> bool:
    """Write ``message`` to stderr unless the same ``key`` was written less than ``interval`` ago.

    Returns True when the message was shown. Suppressed repeats are counted and the
    count is appended to the next message shown for that key. A callable ``message`` is
    only called when shown: overflow reports one drop per log call.
    """
    now = time.monotonic()
    with _lock:
        last, suppressed = _last.get(key, (-1e18, 0))
        if now - last < interval:
            _last[key] = (last, suppressed + 1)
            return False
        _last[key] = (now, 0)
    try:
        if callable(message):
            message = message()
        if suppressed:
            message = f"{message} ({suppressed} similar messages suppressed)"
        INTERNAL_LOGGER.log(level, message)
    except Exception:  # diagnostics must never take the application down
        return False
    return True


def _reinit_after_fork() -> None:
    # A fork can happen while another thread holds the lock: the child would wait for ever.
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_reinit_after_fork)


def reset_rate_limits() -> None:
    """Forget what was shown (tests)."""
    with _lock:
        _last.clear()
