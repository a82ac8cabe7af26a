"""Process events every engine follows: ``fork`` (the child starts empty) and interpreter
exit (every engine drains, in parallel, against its own deadlines).

The engines register themselves (:func:`register`); the registry holds them weakly.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from collections.abc import Iterable
from typing import Protocol


class Drains(Protocol):
    """What the process hooks need of an engine (``engine.Batcher``)."""

    @property
    def pid(self) -> int: ...

    @property
    def started(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    @property
    def worker_done(self) -> bool: ...

    def begin_close(self) -> None: ...

    def finish_close(self) -> bool: ...

    def reinit_after_fork(self) -> None: ...


_live: weakref.WeakSet[Drains] = weakref.WeakSet()


def register(engine: Drains) -> None:
    """Follow ``engine`` through forks and drain it at exit (until it is garbage)."""
    _live.add(engine)


def holding_logging_lock() -> bool:
    """Does this thread hold logging's module lock (dictConfig, basicConfig(force=True))?"""
    is_owned = getattr(getattr(logging, "_lock", None), "_is_owned", None)
    try:
        return bool(is_owned()) if is_owned is not None else False
    except Exception:
        return False


def _after_fork_in_child() -> None:
    for engine in list(_live):
        try:
            engine.reinit_after_fork()
        except Exception:
            pass


def close_all(engines: Iterable[Drains] | None = None) -> None:
    """Drain every live engine of this process in parallel, each against its own deadlines."""
    pid = os.getpid()
    chosen = [b for b in (engines if engines is not None else list(_live)) if b.pid == pid]
    for b in chosen:
        if b.started and not b.closed:
            b.begin_close()
    for b in chosen:
        try:
            if not b.closed or not b.worker_done:
                b.finish_close()
        except Exception:
            pass


def _close_all_at_exit() -> None:
    close_all()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
