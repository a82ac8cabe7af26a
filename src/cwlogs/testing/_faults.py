"""Faults the strict proxy injects (:class:`Fault`), and the rules that pick which
request gets one (:class:`FaultRules`): queued per operation, random, or by body."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

import orjson

FaultKind = Literal["error", "reset", "delay", "hang", "http", "replace"]

HTML_413: Final = (
    b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_HTML_OK: Final = b"<html><body><h1>OK</h1><p>Request forwarded.</p></body></html>"


@dataclass(frozen=True)
class Fault:
    """One thing that goes wrong instead of (or before) forwarding a request.

    >>> Fault.throttle().name
    'ThrottlingException'
    """

    kind: FaultKind
    name: str
    status: int = 0
    code: str = ""
    message: str = ""
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = ""

    @classmethod
    def error(cls, code: str, status: int = 400, message: str = "Injected fault") -> Fault:
        """An AWS JSON error response, e.g. ``Fault.error("AccessDeniedException")``."""
        return cls("error", code, status=status, code=code, message=message)

    @classmethod
    def throttle(cls) -> Fault:
        return cls.error("ThrottlingException", 400, "Rate exceeded")

    @classmethod
    def unavailable(cls) -> Fault:
        return cls.error("ServiceUnavailableException", 503, "The service is unavailable")

    @classmethod
    def internal(cls) -> Fault:
        return cls.error("InternalFailure", 500, "An internal error occurred")

    @classmethod
    def reset(cls) -> Fault:
        """Close the client's socket with a TCP RST and send nothing."""
        return cls("reset", "reset")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait, then forward the request normally."""
        return cls("delay", "delay", seconds=seconds)

    @classmethod
    def http(
        cls, status: int, body: bytes = b"", content_type: str = "text/html", name: str = ""
    ) -> Fault:
        """A raw HTTP answer that is not an AWS error (a reverse proxy's page); not forwarded."""
        return cls(
            "http", name or f"http_{status}", status=status, body=body, content_type=content_type
        )

    @classmethod
    def too_large(cls) -> Fault:
        """HTTP 413 with nginx's HTML page, as a proxy with a body-size limit answers."""
        return cls.http(413, HTML_413, name="too_large")

    @classmethod
    def unknown_client_error(cls, code: str = "SomeNewValidationException") -> Fault:
        """A 400 with an error code no client knows yet."""
        return cls.error(code, 400, "Injected unknown client error")

    @classmethod
    def html_ok(cls) -> Fault:
        """Forward the request (upstream stores the events), then answer 200 with an HTML
        body instead of upstream's JSON: a client that resends stores duplicates."""
        return cls("replace", "html_ok", status=200, body=_HTML_OK, content_type="text/html")

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Send nothing for ``seconds``, then close the connection; nothing is forwarded."""
        return cls("hang", "hang", seconds=seconds)


@dataclass
class _Queued:
    fault: Fault
    remaining: int


@dataclass
class _RandomFault:
    operation: str
    fault: Fault
    probability: float
    rng: random.Random


# --------------------------------------------------------------------------- recording


class FaultRules:
    """Which fault, if any, the next request of an operation gets.  Thread-safe.

    Rules on the body come first, then faults queued for the operation, then for
    ``"*"``, then random ones.

    >>> rules = FaultRules()
    >>> rules.inject("PutLogEvents", Fault.throttle())
    >>> [f.name if f else None for f in (rules.take("PutLogEvents"), rules.take("PutLogEvents"))]
    ['ThrottlingException', None]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, deque[_Queued]] = {}
        self._random: list[_RandomFault] = []
        self._body_rules: list[tuple[str, bytes, Fault]] = []

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests of ``operation`` (``"*"``: any)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queued.setdefault(operation, deque()).append(_Queued(fault, times))

    def inject_random(
        self, operation: str, fault: Fault, probability: float, seed: int | None = None
    ) -> None:
        """Fault each ``operation`` request with ``probability``; a seed makes the draws repeat."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            self._random.append(_RandomFault(operation, fault, probability, random.Random(seed)))

    def inject_when(self, operation: str, contains: str | bytes, fault: Fault) -> None:
        """Fault every ``operation`` request whose body contains ``contains`` (its JSON
        form for text), until cleared."""
        if isinstance(contains, str):
            contains = orjson.dumps(contains)[1:-1]
        if not contains:
            raise ValueError("contains must not be empty")
        with self._lock:
            self._body_rules.append((operation, contains, fault))

    def clear(self) -> None:
        """Drop every queued fault, random fault and body rule."""
        with self._lock:
            self._queued.clear()
            self._random.clear()
            self._body_rules.clear()

    def take(self, operation: str, body: bytes = b"") -> Fault | None:
        """The fault for this request, using up one of a queued fault's ``times``."""
        with self._lock:
            for rule_operation, needle, rule_fault in self._body_rules:
                if rule_operation in (operation, "*") and needle in body:
                    return rule_fault
            for key in (operation, "*"):
                queue = self._queued.get(key)
                if queue:
                    queued = queue[0]
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        queue.popleft()
                    return queued.fault
            for rule in self._random:
                if rule.operation in (operation, "*") and rule.rng.random() < rule.probability:
                    return rule.fault
        return None
