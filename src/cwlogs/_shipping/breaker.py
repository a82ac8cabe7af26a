"""A circuit breaker for the sender: stop hammering an endpoint that keeps failing.

closed --(N consecutive failed batches)--> open --(reset_timeout)--> half_open
half_open --(probe succeeds)--> closed; half_open --(probe fails)--> open.
Before it opens, failed batches back off exponentially so a short blip costs little.

>>> clock = iter([0.0, 0.0, 0.0, 31.0, 31.0]).__next__
>>> b = CircuitBreaker(threshold=1, reset_timeout=30, clock=clock)
>>> b.record_failure("boom"); b.state
'open'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class CircuitBreaker:
    """Counts consecutive failed batches; not thread-safe (the worker is its only user)."""

    def __init__(
        self,
        threshold: int = 5,
        reset_timeout: float = 30.0,
        *,
        base_backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self.base_backoff = base_backoff
        self._clock = clock
        self._on_transition = on_transition
        self._state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self._retry_at = 0.0
        self.transitions: list[tuple[str, str]] = []
        self.times_opened = 0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (open turns half_open once the timeout passed)."""
        if self._state == "open" and self._clock() >= self.opened_at + self.reset_timeout:
            self._move("half_open", "reset timeout elapsed")
        return self._state

    def ready_at(self) -> float:
        """Monotonic time before which no batch should be attempted."""
        if self._state == "open":
            return self.opened_at + self.reset_timeout
        return self._retry_at

    def allow(self) -> bool:
        """Whether a batch may be attempted now (half-open lets one probe through)."""
        return self.state != "open" and self._clock() >= self._retry_at

    def record_success(self) -> None:
        self.failures = 0
        self._retry_at = 0.0
        if self._state != "closed":
            self._move("closed", "probe succeeded")

    def record_failure(self, reason: str) -> None:
        self.failures += 1
        now = self._clock()
        if self._state == "half_open" or (
            self._state == "closed" and self.failures >= self.threshold
        ):
            self.opened_at = now
            self.times_opened += 1
            self._move("open", reason)
            return
        delay = min(self.base_backoff * 2 ** (self.failures - 1), self.reset_timeout)
        self._retry_at = now + delay

    def _move(self, new: str, reason: str) -> None:
        old, self._state = self._state, new
        self.transitions.append((old, new))
        if self._on_transition is not None:
            self._on_transition(old, new, reason)

    def status(self) -> dict[str, Any]:
        """State, consecutive failures and times opened: the ``breaker`` field of ``stats()``."""
        return {
            "state": self.state,
            "consecutive_failures": self.failures,
            "times_opened": self.times_opened,
        }
