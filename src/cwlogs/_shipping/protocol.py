"""What the engine and an exporter say to each other: the :class:`Exporter` protocol
and the :class:`ExportResult` of one batch.

The engine (``engine.Batcher``) knows nothing about boto3: its worker hands batches to
an exporter, which says what was sent, what must wait and what was refused.
``exporter.CloudWatchExporter`` is the real one, ``cwlogs.testing.MemoryExporter`` the
smallest complete one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cwlogs._shipping.event import Item, Prepared


@dataclass
class ExportResult:
    """What happened to one batch handed to an exporter."""

    sent: int = 0
    bytes_sent: int = 0
    calls: int = 0
    retried: int = 0
    #: Events to keep and try again later (outage, throttling, breaker open).
    retry: list[Prepared] = field(default_factory=list)
    #: Events the service refused, by reason ("too_old", "invalid", ...); counted and reported.
    rejected: dict[str, list[Prepared]] = field(default_factory=dict)


class Exporter(Protocol):
    """Turns events into service calls. Called from the worker thread only."""

    def prepare(self, item: Item) -> tuple[bytes, str, bool]:
        """Encode one queued record (a snapshot tuple or an ``Event``):
        ``(data, stream, truncated)``."""
        ...

    def export(self, stream: str, events: list[Prepared], deadline: float) -> ExportResult:
        """Send ``events`` (encoded items of one stream, chronological, within limits)
        before ``deadline``; their timestamp is ``e[ITEM_TS]``, their bytes ``e[ITEM_DATA]``."""
        ...

    def ready_at(self) -> float:
        """``time.monotonic()`` before which no export should be tried (breaker, back-off)."""
        ...

    def state(self) -> dict[str, Any]:
        """Extra fields for ``stats()`` (breaker state, last error)."""
        ...

    def reset_after_fork(self) -> None:
        """Forget connections and clients inherited from the parent process."""
        ...
