"""The ``on_drop`` hand-over: a thread of cwlogs' own calls the user's callback, in order.

A user's callback never runs on the application's thread, nor on the worker (a slow
callback must not slow delivery). Nothing is capped: every drop is handed over, in
order. What a callback logs is never queued: its thread is in :data:`CALLBACK_THREADS`.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence

from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.event import Event, Item, item_to_event

DropCallback = Callable[[list[Event], str], None]

#: Threads running a cwlogs ``on_drop`` callback right now, and every engine's sender
#: thread: what they log is never queued (a callback that logs a warning would otherwise
#: feed drops back to itself; botocore logging while sending would loop).
CALLBACK_THREADS: set[int] = set()
# A forked child has none of these threads, and its new threads may reuse their ids.
os.register_at_fork(after_in_child=CALLBACK_THREADS.clear)


class DropReporter:
    """Queues drops for ``on_drop`` and runs it on the ``<name>-on-drop`` thread.

    The thread starts with the first drop and ends once :attr:`closed` is set (by the
    engine, when it closes) and nothing is pending; a later drop starts a new one.
    """

    def __init__(self, on_drop: DropCallback | None, name: str) -> None:
        self.on_drop = on_drop
        self.name = name
        self.pending: deque[tuple[list[Item], str]] = deque()
        #: Set by the engine once it is closed: the thread ends when idle.
        self.closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._busy = False
        self._idle = threading.Condition()  # wait_for_hand_over waits here

    def hand_over(self, events: Sequence[Item], reason: str) -> None:
        """Queue ``events`` for ``on_drop`` and wake its thread (returns at once)."""
        if self.on_drop is None or not events:
            return
        with self._lock:  # see _loop: a thread about to end sees it, or a new one starts
            self.pending.append((list(events), reason))
        self.wake()

    def hold(self, events: list[Item], reason: str) -> None:
        """Queue ``events`` without waking the thread (under the engine's lock);
        :meth:`wake` follows once the lock is released."""
        if self.on_drop is not None and events:
            with self._lock:
                self.pending.append((events, reason))

    def wake(self) -> None:
        if self.on_drop is None:
            return
        if self._thread is None:
            self._start()
        self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = self._thread = threading.Thread(
                target=self._loop, name=f"{self.name}-on-drop", daemon=True
            )
        try:
            thread.start()
        except Exception as exc:  # no thread to be had now (a limit, interpreter exit)
            with self._lock:
                if self._thread is thread:
                    self._thread = None  # the next drop tries again; nothing pending is lost
            warn_rate_limited("on_drop", f"{self.name}: cannot start the on_drop thread: {exc!r}")

    def _loop(self) -> None:
        """Hand drops to ``on_drop`` in order; ends once closed and idle."""
        me = threading.get_ident()
        pending = self.pending
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            with self._idle:
                self._busy = True
            CALLBACK_THREADS.add(me)
            try:
                while pending:
                    events, reason = pending.popleft()
                    self._call(events, reason)
            finally:
                CALLBACK_THREADS.discard(me)
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if self.closed and not pending:
                with self._lock:
                    if not pending:  # a drop reported after this starts a new thread
                        self._thread = None
                        return

    def wait_for_hand_over(self, timeout: float) -> None:
        """Let the thread hand over what is pending (close: the process may exit next)."""
        if self.on_drop is None:
            return
        if self.pending and self._thread is None:
            self._start()
        self._wake.set()
        with self._idle:
            self._idle.wait_for(lambda: not self.pending and not self._busy, timeout)

    def _call(self, events: Sequence[Item], reason: str) -> None:
        if self.on_drop is None:
            return
        try:
            self.on_drop([item_to_event(e) for e in events], reason)
        except Exception as exc:  # a user's callback must not break delivery
            warn_rate_limited("on_drop", f"{self.name}: on_drop callback failed: {exc!r}")
