"""The token bucket that paces reads, and the process-wide one FilterLogEvents shares.

>>> RateLimiter(rate=5.0).acquire()
True
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from cwlogs.errors import InvalidParameterError


class RateLimiter:
    """A token bucket: ``rate`` calls per second on average, bursts of up to ``burst``.

    Thread-safe; callers that find the bucket empty reserve their token and wait for it,
    so concurrent readers share the rate fairly. ``clock`` and ``sleep`` are injectable.

    >>> limiter = RateLimiter(rate=5.0)
    >>> limiter.acquire()
    True
    """

    def __init__(
        self,
        rate: float = 5.0,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.rate = 1.0
        self.burst = 1.0
        self.configure(rate, burst)
        self._tokens = self.burst
        self._stamp = clock()

    def configure(self, rate: float, burst: float | None = None) -> None:
        """Change the rate (calls per second) and burst size; takes effect at once."""
        if rate <= 0:
            raise InvalidParameterError(f"rate must be positive, got {rate!r}")
        with self._lock:
            self.rate = float(rate)
            self.burst = float(burst) if burst is not None else max(1.0, float(rate))

    def acquire(self, timeout: float | None = None) -> bool:
        """Take one token, waiting as long as needed (or up to ``timeout``; then False)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if timeout is not None and wait > timeout:
                return False
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return True


_limiter_lock = threading.Lock()
_read_limiter: RateLimiter | None = None


def read_limiter() -> RateLimiter:
    """The process-wide limiter for FilterLogEvents/GetLogEvents (``CWLOGS_READ_TPS``, default 5).

    >>> read_limiter().rate
    5.0
    """
    global _read_limiter
    with _limiter_lock:
        if _read_limiter is None:
            raw = os.environ.get("CWLOGS_READ_TPS", "5")
            try:
                rate = float(raw)
            except ValueError:
                rate = 0.0
            if rate <= 0:
                raise InvalidParameterError(
                    f"CWLOGS_READ_TPS must be a positive number, got {raw!r}"
                )
            _read_limiter = RateLimiter(rate)
        return _read_limiter


def set_read_rate(rate: float, burst: float | None = None) -> None:
    """Change the shared read rate (the account's quota is about 5 TPS per Region).

    >>> set_read_rate(10)
    >>> read_limiter().rate, read_limiter().burst
    (10.0, 10.0)
    """
    read_limiter().configure(rate, burst)
