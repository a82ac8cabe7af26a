"""``Event``: one log event as an object, and the conversions between it and queue items.

The handler queues flat tuples (see ``snapshot``); an :class:`Event` is what integrations
enqueue (``handler.enqueue``), what ``on_drop`` and the in-memory exporter hand out,
and the form a record takes on the careful paths.

>>> import logging
>>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
>>> ev = snapshot(rec, None)
>>> (ev.logger, ev.message, ev.levelname)
('api', 'order 42', 'INFO')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from itertools import chain
from typing import Any, Final

import orjson

from cwlogs._shipping.snapshot import (
    ITEM_COST,
    ITEM_DATA,
    ITEM_EST,
    ITEM_HEAD,
    ITEM_LEVELNO,
    ITEM_LOGGER,
    ITEM_SEQ,
    ITEM_TS,
    PREPARED_LEN,
    snapshot_fields,
)
from cwlogs._shipping.text import format_deferred
from cwlogs._shipping.weigh import sizes


class Event:
    """One queued log event: the caller-thread snapshot plus what the worker adds.

    ``data``/``nbytes``/``stream`` are filled in once by the worker and reused if the
    event has to be sent again.
    """

    __slots__ = (
        "_args",
        "_message",
        "context",
        "cost",
        "created",
        "data",
        "est",
        "evicted",
        "exc",
        "extras",
        "levelname",
        "levelno",
        "logger",
        "nbytes",
        "preformatted",
        "seq",
        "stack",
        "stream",
        "thread",
        "ts",
    )

    def __init__(
        self,
        created: float,
        levelno: int,
        levelname: str,
        logger: str,
        message: str,
        extras: dict[str, Any] | None,
        context: Mapping[str, Any] | None,
        exc: dict[str, str] | None = None,
        stack: str | None = None,
        thread: str | None = None,
        preformatted: bool = False,
        args: tuple[Any, ...] | None = None,
    ) -> None:
        self.created = created
        self.ts = int(created * 1000)
        self.levelno = levelno
        self.levelname = levelname
        self.logger = logger
        # With ``args`` (immutable values only, see snapshot) ``message`` is a %-format
        # template, rendered on the worker the first time ``message`` is read.
        self._message = message if args is None else None
        self._args = None if args is None else (message, args)
        self.extras = extras
        self.context = context
        self.exc = exc
        self.stack = stack
        self.thread = thread
        self.preformatted = preformatted
        self.seq = 0
        self.est, self.cost = sizes(
            message,
            args,
            tuple(chain.from_iterable(extras.items())) if extras else (),
            tuple(chain.from_iterable(context.items())) if context else (),
            exc,
            stack,
        )
        self.data: bytes | None = None
        self.evicted = False
        self.nbytes = 0
        self.stream: str | None = None

    @property
    def message(self) -> str:
        text = self._message
        if text is None:
            pending = self._args
            if pending is None:  # another thread formatted it, or a view of encoded bytes
                if self._message is not None:
                    return self._message
                return _message_of(self.data)
            text = self._message = format_deferred(*pending)
            self._args = None  # after _message is set: see the check above
        return text

    def __repr__(self) -> str:
        return (
            f"Event(seq={self.seq}, ts={self.ts}, level={self.levelname}, msg={self.message!r:.60})"
        )


_new_event = object.__new__


#: What an encoded item holds besides its bytes' length: the tuple, the bytes object's
#: header and its slot in a list (the stream and logger names are shared).
PREPARED_OVERHEAD: Final = 200


def prepared_item(item: tuple[Any, ...] | Event, data: bytes, stream: str) -> tuple[Any, ...]:
    """The encoded form of a queue item (a snapshot tuple or an :class:`Event`).

    Its cost is what it holds once the snapshot is let go of: at most what the snapshot
    was charged.
    """
    if type(item) is tuple:
        cost = min(item[ITEM_COST], len(data) + PREPARED_OVERHEAD)
        return (item[ITEM_SEQ], cost, *item[ITEM_TS:ITEM_DATA], data, stream, item[ITEM_LOGGER])
    ev: Event = item  # type: ignore[assignment]
    cost = min(ev.cost, len(data) + PREPARED_OVERHEAD)
    return (ev.seq, cost, ev.ts, ev.levelno, ev.est, data, stream, ev.logger)


def is_prepared(item: tuple[Any, ...] | Event) -> bool:
    """Is ``item`` encoded already (a kept-back event going round again)?"""
    return type(item) is tuple and len(item) == PREPARED_LEN


def event_from_prepared(item: tuple[Any, ...]) -> Event:
    """An :class:`Event` view of an encoded item (for ``on_drop`` and tests); its
    ``message`` is read back from the encoded bytes."""
    ev: Event = _new_event(Event)
    ev.seq, ev.cost, ev.ts, ev.levelno, ev.est, ev.data, ev.stream, ev.logger = item
    ev.nbytes = len(item[ITEM_DATA])
    ev.created = ev.ts / 1000
    ev.levelname = logging.getLevelName(ev.levelno)
    ev._message = ev._args = None
    ev.extras = ev.context = ev.exc = None
    ev.stack = ev.thread = None
    ev.preformatted = ev.evicted = False
    return ev


def event_from_item(item: tuple[Any, ...]) -> Event:
    """The :class:`Event` for a queue item, ``(seq, *snapshot_fields(...))``."""
    ev: Event = _new_event(Event)
    (
        ev.seq,
        ev.cost,
        ev.ts,
        ev.levelno,
        ev.est,
        ev.created,
        ev.levelname,
        ev.logger,
        message,
        ev.exc,
        ev.stack,
        ev.thread,
        n_args,
        n_context,
    ) = item[:ITEM_HEAD]
    at = ITEM_HEAD
    args = None
    if n_args >= 0:
        args = item[at : at + n_args]
        at += n_args
    ev.context = None
    if n_context:
        end = at + 2 * n_context
        ev.context = dict(zip(item[at:end:2], item[at + 1 : end : 2], strict=True))
        at = end
    ev.extras = dict(zip(item[at::2], item[at + 1 :: 2], strict=True)) if at < len(item) else None
    ev._message = message if args is None else None
    ev._args = None if args is None else (message, args)
    ev.preformatted = False
    ev.data = None
    ev.evicted = False
    ev.nbytes = 0
    ev.stream = None
    return ev


def _message_of(data: bytes | None) -> str:
    """The message an encoded event carries (its text when it is not JSON)."""
    if data is None:
        return ""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else data.decode("utf-8", "replace")


def snapshot(
    record: logging.LogRecord,
    context: Mapping[str, Any] | None,
    *,
    with_thread: bool = False,
) -> Event:
    """Copy what is valid only on the caller's thread out of ``record``.

    The message is rendered now if its args could change later (otherwise on the
    worker); extras are copied shallowly; the exception is rendered to text now (its
    frames will not survive).
    """
    return event_from_item((0, *snapshot_fields(record, context, with_thread)))


#: A queue item: an :class:`Event`, or the flat tuple of ``snapshot_fields`` with a seq in front.
Item = Event | tuple[Any, ...]
#: An encoded item: ``(seq, cost, ts, levelno, est, data, stream, logger)``
#: (see ``snapshot.PREPARED_LEN``); what exporters send, keep back and refuse.
Prepared = tuple[Any, ...]


def item_seq(item: Item) -> int:
    return item[ITEM_SEQ] if isinstance(item, tuple) else item.seq


def item_cost(item: Item) -> int:
    return item[ITEM_COST] if isinstance(item, tuple) else item.cost


def item_est(item: Item) -> int:
    return item[ITEM_EST] if isinstance(item, tuple) else item.est


def item_levelno(item: Item) -> int:
    return item[ITEM_LEVELNO] if isinstance(item, tuple) else item.levelno


def item_ts(item: Item) -> int:
    return item[ITEM_TS] if isinstance(item, tuple) else item.ts


def item_to_event(item: Item) -> Event:
    """What ``on_drop`` is handed for a queue item (encoded or not)."""
    if not isinstance(item, tuple):
        return item
    return event_from_prepared(item) if is_prepared(item) else event_from_item(item)


def shrink_event(ev: Event, budget: int) -> Event | None:
    """A copy of ``ev`` that holds at most about ``budget`` bytes, marked as truncated.

    Keeps the beginning of the message and of the traceback, the context, and the
    names of the extras (their values go). None if even that does not fit.
    """
    if budget < 256:
        return None
    room = max(budget - 1024, 128)
    message = ev.message
    marker = " ...[truncated: record larger than max_queue_bytes]"
    if len(message) > room // 2:
        message = message[: room // 2] + marker
    extras: dict[str, Any] | None = None
    if ev.extras:
        extras = {"cwlogs_truncated_extras": sorted(map(str, ev.extras))[:50]}
    exc = None
    if ev.exc is not None:
        exc = {k: (v[: room // 4] + marker if len(v) > room // 4 else v) for k, v in ev.exc.items()}
    stack = ev.stack[: room // 8] if ev.stack else None
    small = Event(
        ev.created,
        ev.levelno,
        ev.levelname,
        ev.logger,
        message,
        extras,
        ev.context,
        exc,
        stack,
        ev.thread,
        preformatted=ev.preformatted,
    )
    small.stream = ev.stream
    return small if small.cost <= budget * 4 else None
