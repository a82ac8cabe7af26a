"""What :func:`~cwlogs.manage.apply` did or would do (:class:`Plan`), and how it compares.

>>> str(Change("create", "log group", "/shop/api", "retention 30 d"))
'+ create log group /shop/api: retention 30 d'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Change:
    """One thing :func:`apply` did (or, in a dry run, would do).

    ``action`` is ``create``, ``update`` or ``drift`` (differs, but cannot be changed in place).
    """

    action: Literal["create", "update", "drift"]
    kind: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        mark = {"create": "+", "update": "~", "drift": "!"}[self.action]
        text = f"{mark} {self.action} {self.kind} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class Plan:
    """The outcome of :func:`apply`: what changed (or would), and how much was already right."""

    environment: str | None
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when the account did not already match (drift alone counts as unchanged)."""
        return any(c.action != "drift" for c in self.changes)

    @property
    def pending(self) -> int:
        """How many changes were made (or, in a dry run, would be); drift is not counted."""
        return sum(c.action != "drift" for c in self.changes)

    def __str__(self) -> str:
        """The plan of a dry run, or the confirmation of a real one: the first line says which."""
        env = self.environment or "no environment"
        if self.dry_run:
            head = f"cwlogs plan ({env}) [dry run: nothing was changed]"
            foot = f"{self.pending} to change, {self.unchanged} unchanged"
        elif self.pending:
            head = f"cwlogs applied ({env})"
            foot = f"applied {self.pending} change(s); {self.unchanged} already matched"
        else:
            head = f"cwlogs applied ({env})"
            foot = f"nothing to change; {self.unchanged} already matched"
        return "\n".join([head, *(f"  {c}" for c in self.changes), f"  {foot}"])


def subset_equal(wanted: Any, actual: Any) -> bool:
    """Whether all of ``wanted`` is in ``actual``: services add defaults we never asked for."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            subset_equal(v, actual.get(k)) for k, v in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(wanted) == len(actual)
            and all(subset_equal(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    if isinstance(wanted, int | float) and isinstance(actual, int | float):
        return float(wanted) == float(actual)
    return bool(wanted == actual)
