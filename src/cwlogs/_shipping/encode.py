"""Record snapshot -> event dict -> JSON bytes. Pure, and never mutates a LogRecord.

:func:`snapshot` runs on the caller's thread and copies only what is valid only there;
everything else (:func:`to_event_dict`, :func:`encode`, :func:`fit_message`) runs on
the worker thread.

>>> import logging
>>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
>>> ev = to_event_dict(snapshot(rec, None))
>>> (ev["level"], ev["message"], ev["logger"])
('info', 'order 42', 'api')
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping
from decimal import Decimal
from enum import Enum
from itertools import chain, islice
from typing import Any, Final, Protocol

import orjson

from cwlogs.diagnostics import warn_rate_limited
from cwlogs.limits import MAX_MESSAGE_BYTES, truncate_utf8

__all__ = [
    "RESERVED_ATTRS",
    "Event",
    "JsonFormatter",
    "Redacts",
    "encode",
    "event_from_item",
    "event_from_prepared",
    "exception_fields",
    "fit_message",
    "is_prepared",
    "iso_timestamp",
    "item_event_dict",
    "prepared_item",
    "record_to_event",
    "render",
    "render_item",
    "snapshot",
    "snapshot_fields",
    "to_event_dict",
]

#: LogRecord attributes that are not user extras.
RESERVED_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)

#: Fields cwlogs writes itself from the record's metadata: never PII, not worth scanning.
#: (The logger name is scanned: applications put user names and addresses in it.)
_OWN_FIELDS: Final = frozenset({"timestamp", "level", "thread"})
_PLAIN_RECORD_LEN: Final = len(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_LAST_STANDARD_KEY: Final = list(vars(logging.LogRecord("", 0, "", 0, "", (), None)))[-1]
_CORE_KEYS: Final = frozenset(
    {"timestamp", "level", "message", "logger", "exception", "stack", "truncated"}
)
#: Datetimes go through ``_default`` (``isoformat``, the same text): orjson 3.13 crashes
#: the process on a datetime whose tzinfo raises, where Python raises an exception.
_ORJSON_FAST: Final = orjson.OPT_PASSTHROUGH_DATETIME
_ORJSON_OPTS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_TRUNCATED_SUFFIX: Final = " ...[truncated]"
_LogRecord: Final = logging.LogRecord
#: Argument types whose "%" rendering can't change after the log call (see snapshot).
_IMMUTABLE: Final = frozenset({int, float, str, bool, bytes, type(None)})
_MAX_REPR_ITEMS: Final = 1000


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
        self.est, self.cost = _sizes(
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
            if pending is None:  # another thread formatted it just now, or it was released
                if self._message is not None:
                    return self._message
                return _message_of(self.data)
            text = self._message = _format_deferred(*pending)
            self._args = None  # after _message is set: see the check above
        return text

    def __repr__(self) -> str:
        return (
            f"Event(seq={self.seq}, ts={self.ts}, level={self.levelname}, msg={self.message!r:.60})"
        )


def _sizes(
    message: str,
    args: tuple[Any, ...] | None,
    extras: tuple[Any, ...],
    context: tuple[Any, ...],
    exc: dict[str, str] | None,
    stack: str | None,
) -> tuple[int, int]:
    """``(est, cost)`` of an event: its guessed JSON size, and what it weighs queued.

    The queue's memory bound counts ``cost``, an estimate of what a queued event really
    holds: the snapshot (~330 B of objects, the message, the arguments, each extra and
    context value with what it contains) plus its encoded JSON, as both exist while the
    worker encodes it (the snapshot is released right after). ``extras`` and ``context``
    are flat ``key, value, ...`` tuples. Measured with tracemalloc. ``est`` guesses the
    encoded JSON size, so the worker can take about one batch from the queue before
    encoding; the exact plan is made after encoding.
    """
    if message.isascii():  # a compact ASCII str: 49 bytes of header
        est = len(message) + 130
        held = est - 81
    else:  # up to 4 bytes a character held, 3 in UTF-8
        held = _str_size(message)
        est = 3 * len(message) + 130
    if args is not None:
        held += 40 + 36 * len(args)
        for arg in args:
            if type(arg) is str or type(arg) is bytes:
                held += _str_size(arg)
                est += len(arg)
        est += 8 * len(args)  # a guess at the rendered size: exact once encoded
    if extras:
        weight = _weigh_flat(extras)
        est += weight
        held += weight + 30 * len(extras)
    if context:
        weight = _weigh_flat(context)
        est += weight
        held += weight
    if exc is not None:  # the rendered traceback, held and then encoded
        est += len(exc["stack"]) + len(exc["message"])
        held += _str_size(exc["stack"]) + _str_size(exc["message"]) + 350
    if stack:
        est += len(stack)
        held += _str_size(stack)
    return est, est + held + 320


_str_size: Final = sys.getsizeof
#: How far :func:`_weigh` looks into a container: the rest is extrapolated, so a queued
#: record costs bounded time to weigh however big its extras are.
_WEIGH_DEPTH: Final = 4
_WEIGH_ITEMS: Final = 16
#: What an item past the depth limit is charged: a small object, a short string.
_UNSEEN_ITEM: Final = 128


def _weigh_flat(flat: tuple[Any, ...]) -> int:
    """Bytes the values of a flat ``key, value, ...`` tuple hold, keys included (a key is
    charged as a short name: keys come from keyword arguments and code)."""
    total = 56 * len(flat)  # per pair: a key (~60 B), a str header or a number (~50 B)
    for value in flat[1::2]:
        kind = type(value)
        if kind is str:
            total += len(value) if value.isascii() else _str_size(value)
        elif kind not in _NUMBERS:
            total += _weigh(value, 0)
    return total


_NUMBERS: Final = frozenset({int, float, bool, type(None)})
_WEIGH_TOP: Final = 1024  # items read one by one in a top-level extra


def _weigh_leaves(items: Iterable[Any], pairs: bool, n: int) -> int:
    """Past the depth limit: whatever is still nested, walked to any depth but at most
    _WEIGH_TOP values in all; strings and bytes by their size, other leaves a guess."""
    total = visited = 0
    stack: list[Any] = [
        v for item in islice(items, _WEIGH_TOP) for v in (item if pairs else (item,))
    ]
    while stack and visited < _WEIGH_TOP:
        part = stack.pop()
        visited += 1
        kind = type(part)
        if kind is str or kind is bytes:
            total += _str_size(part)
        elif kind is dict:
            total += 64 + 30 * len(part)
            stack.extend(islice(part.values(), _WEIGH_TOP))
        elif kind in _SEQUENCES:
            total += 64 + 8 * len(part)
            stack.extend(islice(part, _WEIGH_TOP))
        else:
            total += _UNSEEN_ITEM
    return max(total, n * _UNSEEN_ITEM // 4)


_SEQUENCES: Final = frozenset({list, tuple, set, frozenset, deque})


def _weigh(value: Any, depth: int) -> int:
    """Bytes ``value`` holds, sampled: containers are read to :data:`_WEIGH_DEPTH` levels
    and :data:`_WEIGH_ITEMS` items each, the rest charged at the sampled average.
    (Every log call with a list or dict extra runs this: strings and numbers are
    weighed inline rather than by a call each.)"""
    try:
        kind = type(value)
        if (kind is list or kind is tuple) and len(value) <= _WEIGH_ITEMS:
            # The common shape (a few tags or ids), weighed without a call per item.
            total = 64 + 8 * len(value)
            for part in value:
                kind = type(part)
                if kind is str:
                    total += 48 + (len(part) if part.isascii() else 4 * len(part))
                elif kind in _NUMBERS:
                    total += 32
                else:
                    total += _weigh(part, depth + 1) if depth < _WEIGH_DEPTH else _UNSEEN_ITEM
            return total
        if kind is str or kind is bytes or kind is bytearray:
            return _str_size(value)
        if kind in _NUMBERS:
            return 32
        if kind is dict or (kind not in _SEQUENCES and isinstance(value, Mapping)):
            items: Iterable[Any] = value.items()
            pairs = True
        elif kind in _SEQUENCES or isinstance(value, list | tuple | set | frozenset):
            items = value
            pairs = False
        elif isinstance(value, str | bytes | int | float):  # subclasses
            return _str_size(value)
        else:
            size = _str_size(value)
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict) and depth < _WEIGH_DEPTH:
                return size + _weigh(attrs, depth + 1)
            if dataclasses.is_dataclass(value) and depth < _WEIGH_DEPTH:  # slots
                names = [f.name for f in dataclasses.fields(value)][:_WEIGH_ITEMS]
                return size + sum(_weigh(getattr(value, a), depth + 1) for a in names)
            slots = [s for c in kind.__mro__ for s in getattr(c, "__slots__", ())]
            if slots and depth < _WEIGH_DEPTH:
                held = [getattr(value, s, None) for s in slots[:_WEIGH_ITEMS] if isinstance(s, str)]
                return size + sum(_weigh(v, depth + 1) for v in held)
            return size + _UNSEEN_ITEM
        n = len(value)
        size = 64 + (30 if pairs else 8) * n  # the container itself, a little over
        if not n:
            return size
        if depth >= _WEIGH_DEPTH:
            return size + _weigh_leaves(items, pairs, n)
        inner = seen = 0
        # At the top every item is read (up to _WEIGH_TOP): one big string among many
        # small ones is what the average of a sample misses. Deeper, a sample.
        for item in islice(items, _WEIGH_TOP if depth == 0 else _WEIGH_ITEMS):
            seen += 1
            for part in item if pairs else (item,):
                kind = type(part)
                if kind is str:
                    inner += 48 + (len(part) if part.isascii() else 4 * len(part))
                elif kind in _NUMBERS:
                    inner += 32
                else:
                    inner += _weigh(part, depth + 1)
        return size + inner if seen == n else size + (inner * n) // seen
    except Exception:  # a container that fails to report its size: charge a guess
        return _UNSEEN_ITEM


#: The queue item is ``(seq, *snapshot_fields(...))``: where its parts are, in one place.
#: ``FIELD_*`` index the tuple :func:`snapshot_fields` returns, ``ITEM_*`` the queued item.
FIELD_COST: Final = 0
FIELD_TS: Final = 1
FIELD_LEVELNO: Final = 2
FIELD_EST: Final = 3
ITEM_SEQ: Final = 0
ITEM_COST: Final = FIELD_COST + 1
ITEM_TS: Final = FIELD_TS + 1
ITEM_LEVELNO: Final = FIELD_LEVELNO + 1
ITEM_EST: Final = FIELD_EST + 1
_ITEM_HEAD: Final = 14  # seq ... n_context; then args, context and extras, flattened
_ITEM_LEVELNAME: Final = 6
ITEM_LOGGER: Final = 7
_ITEM_MESSAGE: Final = 8
_ITEM_EXC: Final = 9
_ITEM_STACK: Final = 10
_ITEM_THREAD: Final = 11
_ITEM_N_ARGS: Final = 12
_ITEM_N_CONTEXT: Final = 13
#: Once encoded, an item becomes ``(seq, cost, ts, levelno, est, data, stream, logger)``:
#: the same head (``ITEM_SEQ`` ... ``ITEM_EST`` read both), then the event's final bytes.
#: Only ints, bytes and str: the garbage collector stops tracking it at its first pass, so
#: a batch waiting on the network never ages into the oldest generation (a full
#: collection of every object in the process, ~100 ms, each time enough of them pile up).
ITEM_DATA: Final = 5
ITEM_STREAM: Final = 6
PREPARED_LEN: Final = 8
_new_event = object.__new__


def prepared_item(item: tuple[Any, ...] | Event, data: bytes, stream: str) -> tuple[Any, ...]:
    """The encoded form of a queue item (a snapshot tuple or an :class:`Event`)."""
    if type(item) is tuple:
        return (*item[:ITEM_DATA], data, stream, item[ITEM_LOGGER])
    ev: Event = item  # type: ignore[assignment]
    return (ev.seq, ev.cost, ev.ts, ev.levelno, ev.est, data, stream, ev.logger)


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


def item_event_dict(item: tuple[Any, ...], static: Mapping[str, Any] | None) -> dict[str, Any]:
    """:func:`to_event_dict` straight from a queue item: no :class:`Event` in between.

    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
    >>> item_event_dict((1, *snapshot_fields(rec, {"trace_id": "t1"})), None)["message"]
    'order 42'
    """
    at = _ITEM_HEAD
    message = item[_ITEM_MESSAGE]
    n_args = item[_ITEM_N_ARGS]
    if n_args >= 0:
        at += n_args
        message = _format_deferred(message, item[_ITEM_HEAD:at])
    levelname = item[_ITEM_LEVELNAME]
    out: dict[str, Any] = {
        "timestamp": iso_timestamp(item[ITEM_TS]),
        "level": _LOWER_LEVELS.get(levelname) or _safe_str(levelname).lower(),
        "message": message,
        "logger": item[ITEM_LOGGER],
    }
    if item[_ITEM_THREAD] is not None:
        out["thread"] = item[_ITEM_THREAD]
    if static:
        out.update(static)
    n_context = item[_ITEM_N_CONTEXT]
    if n_context:
        end = at + 2 * n_context
        out.update(zip(item[at:end:2], item[at + 1 : end : 2], strict=True))
        at = end
    if at < len(item):
        keys = item[at::2]
        if _CORE_KEYS.isdisjoint(keys):
            out.update(zip(keys, item[at + 1 :: 2], strict=True))
        else:  # core fields win; a colliding extra is kept under a suffixed name
            for key, value in zip(keys, item[at + 1 :: 2], strict=True):
                out[f"{key}_" if key in _CORE_KEYS else key] = value
    if item[_ITEM_EXC] is not None:
        out["exception"] = item[_ITEM_EXC]
    if item[_ITEM_STACK]:
        out["stack"] = item[_ITEM_STACK]
    return out


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
    ) = item[:_ITEM_HEAD]
    at = _ITEM_HEAD
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


def exception_fields(exc_info: Any) -> dict[str, str] | None:
    """``{"type", "message", "stack"}`` for a record's ``exc_info``, or None."""
    if not exc_info or exc_info is True:
        return None
    etype, value, tb = exc_info
    if etype is None:
        return None
    return {
        "type": getattr(etype, "__qualname__", str(etype)),
        "message": _safe_str(value),
        "stack": "".join(traceback.format_exception(etype, value, tb)).rstrip("\n"),
    }


def _safe_str(value: object) -> str:
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not lose the event
        return f"<unprintable {type(value).__name__}>"
    return text if type(text) is str else _safe_repr(text)


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deep to show>"
    except Exception:
        if isinstance(value, tuple | list):  # one bad element: keep the others
            inner = ", ".join(_safe_repr(v) for v in value[:_MAX_REPR_ITEMS])
            return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
        return f"<unrepresentable {type(value).__name__}>"
    return text if type(text) is str else f"<unrepresentable {type(value).__name__}>"


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


def snapshot_fields(
    record: logging.LogRecord,
    context: Mapping[str, Any] | None,
    with_thread: bool = False,
) -> tuple[Any, ...]:
    """:func:`snapshot` as one flat tuple, which is what the handler queues.

    One tuple is cheaper to build on the caller's thread than an :class:`Event`, and
    with the arguments, context and extras laid flat in it (no dict inside), the garbage
    collector stops tracking it at its first pass instead of walking it in every full
    collection while it waits in the queue. The worker builds the Event.
    """
    try:
        d = record.__dict__
        extras: tuple[Any, ...] = ()
        if len(d) > _PLAIN_RECORD_LEN:
            # Read now, before getMessage (which a record subclass may make add attributes).
            # makeRecord adds extras after the standard attributes, so whatever follows the
            # last standard one is an extra; a record laid out otherwise (a factory's own
            # attributes, a filter that deleted one) takes the full scan.
            items = islice(d.items(), _PLAIN_RECORD_LEN - 1, None)
            if next(items)[0] == _LAST_STANDARD_KEY:
                extras = tuple(chain.from_iterable(items))
                if not RESERVED_ATTRS.isdisjoint(extras[::2]):  # another formatter's "message"
                    extras = _without_reserved(zip(extras[::2], extras[1::2], strict=True))
            else:
                extras = _without_reserved(d.items())
        msg, args = record.msg, record.args
        if type(msg) is str and type(record) is _LogRecord:
            if not args:
                args = None  # getMessage would return msg as it is
            elif not (type(args) is tuple and _IMMUTABLE.issuperset(map(type, args))):
                msg, args = record.getMessage(), None
            # else: the values can't change, so "%" gives the same text on the worker, and
            # the caller's thread is spared the formatting.
        else:
            msg, args = record.getMessage(), None
        exc = exception_fields(record.exc_info) if record.exc_info else None
        stack = record.stack_info
        created = record.created
        flat_context = tuple(chain.from_iterable(context.items())) if context else ()
        est, cost = _sizes(msg, args, extras, flat_context, exc, stack)
        return (
            cost,
            int(created * 1000),
            record.levelno,
            est,
            created,
            record.levelname,
            record.name,
            msg,
            exc,
            stack,
            record.threadName if with_thread else None,
            -1 if args is None else len(args),
            len(flat_context) // 2,
            *(args or ()),
            *flat_context,
            *extras,
        )
    except Exception as exc:  # an odd record (even one nested too deep): marked, not lost
        return _careful_fields(record, context, with_thread, exc)


def _careful_fields(
    record: logging.LogRecord,
    context: Mapping[str, Any] | None,
    with_thread: bool,
    error: Exception,
) -> tuple[Any, ...]:
    """:func:`snapshot_fields` for a record the fast path could not take.

    Each attribute is read on its own and made usable (text for names, a finite time,
    an int level); a message that cannot be rendered keeps its template and arguments
    with the failure noted. Reached only after the fast path raised.
    """
    try:
        extras = _without_reserved(list(vars(record).items()))
    except Exception:
        extras = ()
    message, rendered = _render_message(record)
    exc = _exception_or_note(_attribute(record, "exc_info", None))
    stack = _attribute(record, "stack_info", None)
    stack = None if stack is None else _safe_str(stack)
    created = _attribute(record, "created", None)
    if type(created) is not float or not math.isfinite(created):
        try:
            created = float(created)
        except Exception:
            created = time.time()
        if not math.isfinite(created):
            created = time.time()
    levelno = _attribute(record, "levelno", logging.NOTSET)
    if type(levelno) is not int:
        try:
            levelno = int(levelno)
        except Exception:
            levelno = logging.NOTSET
    try:
        flat_context = tuple(chain.from_iterable(context.items())) if context else ()
    except Exception:
        flat_context = ()
    thread = _safe_str(_attribute(record, "threadName", None)) if with_thread else None
    if rendered:  # otherwise the formatting failure was reported already
        warn_rate_limited(
            "snapshot",
            lambda: "cwlogs: an odd log record was shipped as best it could: "
            f"{type(error).__name__}",
        )
    est, cost = _sizes(message, None, extras, flat_context, exc, stack)
    return (
        cost,
        int(created * 1000),
        levelno,
        est,
        created,
        _safe_str(_attribute(record, "levelname", "")),
        _safe_str(_attribute(record, "name", "")),
        message,
        exc,
        stack,
        thread,
        -1,
        len(flat_context) // 2,
        *flat_context,
        *extras,
    )


def _attribute(record: logging.LogRecord, name: str, default: Any) -> Any:
    """``getattr`` for a record whose attributes may raise anything (a property)."""
    try:
        return getattr(record, name, default)
    except Exception:
        return default


def _render_message(record: logging.LogRecord) -> tuple[str, bool]:
    """``(record.getMessage(), True)``, or the marked template and arguments and False."""
    try:
        text = record.getMessage()
    except Exception as exc:
        msg, args = _attribute(record, "msg", None), _attribute(record, "args", None)
        return _format_failed(msg, args, exc), False
    return (text if type(text) is str else _safe_str(text)), True


def _exception_or_note(exc_info: Any) -> dict[str, str] | None:
    try:
        return exception_fields(exc_info) if exc_info else None
    except Exception as exc:  # a malformed exc_info: say so rather than lose the record
        return {
            "type": "<unknown>",
            "message": _safe_str(exc_info),
            "stack": f"<traceback could not be rendered: {type(exc).__name__}: {_safe_str(exc)}>",
        }


def _without_reserved(items: Iterable[tuple[str, Any]]) -> tuple[Any, ...]:
    """Extras as flat key/value pairs, without the LogRecord's own attribute names."""
    return tuple(chain.from_iterable(kv for kv in items if kv[0] not in RESERVED_ATTRS))


def _format_deferred(template: str, args: tuple[Any, ...]) -> str:
    try:
        return template % args
    except Exception as exc:  # the stdlib would print a "Logging error" and lose it
        return _format_failed(template, args, exc)


def _format_failed(template: Any, args: Any, exc: BaseException) -> str:
    """The marked message of a record whose ``msg % args`` failed: nothing is lost."""
    text = template if type(template) is str else _safe_str(template)
    shown = _safe_repr(args)
    reason = f"{type(exc).__name__}: {_safe_str(exc)}"
    # stderr gets the template and the error only: the arguments may carry PII, and the
    # shipped message goes through the redactor while stderr does not.
    warn_rate_limited(
        "format",
        lambda: f"cwlogs: formatting log message {text[:200]!r} failed: {type(exc).__name__}",
    )
    return f"{text} {shown} [formatting failed: {reason}]"


# (None, ""): no real timestamp matches before the first call.
_ts_cache: tuple[int | None, str] = (None, "")
_LOWER_LEVELS: Final = {n: n.lower() for n in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}
_ms_cache: tuple[int | None, str] = (None, "")


def iso_timestamp(ts_ms: int) -> str:
    """ISO-8601 UTC with milliseconds: ``2026-11-23T20:07:14.123Z``.

    >>> iso_timestamp(0)
    '1970-01-01T00:00:00.000Z'
    """
    global _ts_cache, _ms_cache
    last_ms, text = _ms_cache
    if ts_ms == last_ms:  # a burst logs dozens of records per millisecond
        return text
    sec, milli = divmod(ts_ms, 1000)
    cached_sec, prefix = _ts_cache
    if cached_sec != sec:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _ts_cache = (sec, prefix)
    text = f"{prefix}.{milli:03d}Z"
    _ms_cache = (ts_ms, text)
    return text


def to_event_dict(ev: Event, static: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The default cwlogs JSON schema for an event; see the README for the field list."""
    out: dict[str, Any] = {
        "timestamp": iso_timestamp(ev.ts),
        "level": _LOWER_LEVELS.get(ev.levelname) or _safe_str(ev.levelname).lower(),
        "message": ev.message,
        "logger": ev.logger,
    }
    if ev.thread is not None:
        out["thread"] = ev.thread
    if static:
        out.update(static)
    if ev.context:
        out.update(ev.context)
    if ev.extras:
        for key, value in ev.extras.items():
            # Core fields win; a colliding extra is kept under a suffixed name.
            out[f"{key}_" if key in _CORE_KEYS else key] = value
    if ev.exc is not None:
        out["exception"] = ev.exc
    if ev.stack:
        out["stack"] = ev.stack
    return out


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, set | frozenset):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime.date | datetime.time):  # see _ORJSON_FAST
        return obj.isoformat()
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {_safe_str(obj)}"
    return _safe_repr(obj)


#: Types orjson encodes natively that the sanitiser leaves to it.
_NATIVE: Final = (uuid.UUID,)
_MAX_DEPTH: Final = 64


def _sanitize(obj: Any, seen: set[int], depth: int = 0, *, native: bool = True) -> Any:
    """A JSON-safe copy of ``obj``, for what orjson refused (the slow path of :func:`encode`).

    Lone surrogates become U+FFFD, cycles ``"<cycle>"``, nesting past 64 levels
    ``"<too deep>"``, integers beyond 64 bits text, dataclasses dicts, any other object its
    ``repr`` (``"<unrepresentable T>"`` when that raises). ``native=False`` turns even the
    types orjson knows (UUID) into text, for the last attempt.
    """
    kind = type(obj)
    if kind is str:
        return obj if obj.isascii() else clean_text(obj)
    if obj is None or kind is bool or kind is float:
        return obj
    if kind is int:
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, Enum):
        return _sanitize(obj.value, seen, depth + 1, native=native)
    if isinstance(obj, str):
        return clean_text(str.__str__(obj))
    if isinstance(obj, int):
        return _sanitize(int(obj), seen, depth, native=native)
    if isinstance(obj, float):
        return float(obj)
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if native and isinstance(obj, _NATIVE):
        return obj
    if isinstance(obj, Mapping | list | tuple) or (
        dataclasses.is_dataclass(obj) and not isinstance(obj, type)
    ):
        if id(obj) in seen:
            return "<cycle>"
        seen.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                items: Iterable[tuple[Any, Any]] = obj.items()
            elif isinstance(obj, list | tuple):
                return [_sanitize_item(v, seen, depth, native) for v in obj]
            else:
                items = ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
            return {
                clean_text(k if type(k) is str else _safe_str(k)): _sanitize_item(
                    v, seen, depth, native
                )
                for k, v in items
            }
        finally:
            seen.discard(id(obj))
    return _sanitize(_default(obj), seen, depth + 1, native=native)


def _sanitize_item(value: Any, seen: set[int], depth: int, native: bool) -> Any:
    try:
        return _sanitize(value, seen, depth + 1, native=native)
    except RecursionError:
        return "<too deep>"
    except Exception:  # a container that fails to iterate, a property that raises
        return f"<unrepresentable {type(value).__name__}>"


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (valid pairs are joined).

    >>> clean_text("a\\ud800b") == "a\\ufffdb"
    True
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def encode(event: Mapping[str, Any]) -> bytes:
    """orjson bytes for ``event``; anything unserialisable falls back to text, never raises
    for a mapping of loggable values.

    orjson first, as is; only when it refuses (a lone surrogate, a cycle, an odd key) is
    the event copied through :func:`_sanitize`.

    >>> encode({"a": b"x", "b": {1, 2}})
    b'{"a":"x","b":[1,2]}'
    """
    try:
        # Without OPT_NON_STR_KEYS orjson is ~40% faster; the rare non-str key lands below.
        return orjson.dumps(event, default=_default, option=_ORJSON_FAST)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        pass
    try:
        return orjson.dumps(_sanitize(event, set()), default=_default, option=_ORJSON_OPTS)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        # A native type that still fails (a datetime whose tzinfo raises): all as text.
        return orjson.dumps(
            _sanitize(event, set(), native=False), default=_safe_repr, option=_ORJSON_OPTS
        )


def fit_message(
    data: bytes,
    event: Mapping[str, Any] | None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[bytes, bool]:
    """Make an encoded message fit in one CloudWatch event; returns ``(data, truncated)``.

    JSON events stay valid JSON and keep as much of the beginning of the message as the
    limit allows, whatever its characters cost escaped; then the exception's traceback,
    then the stack; ``"truncated": true`` and ``original_bytes`` are added. When the other
    fields alone are too large, only the core fields and the message are kept. Plain text
    is cut on a UTF-8 boundary and suffixed with a marker.
    """
    if len(data) <= max_bytes:
        return data, False
    if event is None:
        suffix = _TRUNCATED_SUFFIX.encode()
        return truncate_utf8(data, max_bytes - len(suffix)) + suffix, True
    original = len(data)
    ev: dict[str, Any] = _sanitize(dict(event), set())
    ev["truncated"] = True
    ev["original_bytes"] = original
    texts = {
        "message": _text_field(ev, "message"),
        "exception": _text_field(ev, "exception"),
        "stack": _text_field(ev, "stack"),
    }
    for field, text in texts.items():
        if text is not None:
            _set_text(ev, field, "")
    if len(encode(ev)) > max_bytes:
        # The rest (extras) is too large on its own: keep the core of the event.
        ev = {k: ev[k] for k in ("timestamp", "level", "logger") if k in ev}
        ev.update(message="", truncated=True, original_bytes=original)
        texts = {"message": texts["message"]}
    for field, text in texts.items():  # the message has first call on the room left
        if text:
            room = max_bytes - len(encode(ev))
            _set_text(ev, field, text[: _prefix_fitting(text, room)])
    data = encode(ev)
    for field in ("logger", "level", "timestamp"):  # absurd core fields: cut them too
        if len(data) <= max_bytes:
            break
        text = ev.get(field)
        if isinstance(text, str):
            ev[field] = ""
            ev[field] = text[: _prefix_fitting(text, max_bytes - len(encode(ev)))]
            data = encode(ev)
    return data, True


def _text_field(ev: Mapping[str, Any], field: str) -> str | None:
    value = ev.get(field)
    if field == "exception":
        value = value.get("stack") if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def _set_text(ev: dict[str, Any], field: str, text: str) -> None:
    if field == "exception":
        ev[field] = {**ev[field], "stack": text}
    else:
        ev[field] = text


def _json_len(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string (escapes included, quotes not)."""
    return len(orjson.dumps(text)) - 2


def _prefix_fitting(text: str, room: int) -> int:
    """The most leading characters of ``text`` whose JSON form fits in ``room`` bytes.

    Cutting between characters never splits UTF-8 or an escape; a binary search over the
    exact encoded length (at least one byte per character bounds it) makes any mix of
    quotes, backslashes, control and non-ASCII characters keep all that fits.
    """
    low, high = 0, min(len(text), max(room, 0))
    if _json_len(text[:high]) <= room:
        return high
    while low < high:  # invariant: text[:low] fits, text[:high + 1] does not (or is all)
        mid = (low + high + 1) // 2
        if _json_len(text[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    return low


class Redacts(Protocol):
    """What :func:`render` needs from a redactor (``cwlogs.redaction.Redactor`` fits)."""

    def redact_text(self, text: str) -> str: ...

    def redact_event(self, event: dict[str, Any], skip: Container[str] = ...) -> dict[str, Any]: ...


def record_to_event(
    record: logging.LogRecord,
    formatter: logging.Formatter | None,
    context: Mapping[str, Any] | None,
    *,
    with_thread: bool = False,
) -> Event:
    """The caller-thread half of a handler's ``emit``: a JSON snapshot, or a user
    formatter's text when one (other than :class:`JsonFormatter`) is set."""
    if formatter is None or type(formatter) is JsonFormatter:
        return snapshot(record, context, with_thread=with_thread)
    try:
        return Event(
            record.created,
            record.levelno,
            record.levelname,
            record.name,
            formatter.format(record),
            None,
            None,
            preformatted=True,
        )
    except RecursionError:
        raise
    except Exception as exc:  # the formatter (or the record) failed: ship it marked
        fields = _careful_fields(record, None, False, exc)
        reason = f"{type(exc).__name__}: {_safe_str(exc)}"
        text = f"{fields[7]} [formatter {type(formatter).__name__} failed: {reason}]"
        created, levelno, levelname, name = fields[4], fields[2], fields[5], fields[6]
        return Event(created, levelno, levelname, name, text, None, None, preformatted=True)


def render(
    ev: Event, static: Mapping[str, Any] | None, redactor: Redacts | None
) -> tuple[bytes, bool]:
    """The worker-thread half: the event's final message bytes and whether it was truncated.

    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi", (), None)
    >>> render(snapshot(rec, None), {"service": "api"}, None)[0][-31:]
    b'"logger":"api","service":"api"}'
    """
    try:
        if ev.preformatted:
            return _render_text(ev.message, redactor)
        return _render_json(ev, static, redactor)
    except RecursionError:
        raise
    except Exception as exc:  # never hold up the batch: ship what can be shown, marked
        return _render_failed(ev, static, redactor, exc)


def _render_text(text: str, redactor: Redacts | None) -> tuple[bytes, bool]:
    try:
        data = (redactor.redact_text(text) if redactor is not None else text).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a redactor may refuse one too)
        text = clean_text(text)
        data = (redactor.redact_text(text) if redactor is not None else text).encode("utf-8")
    return fit_message(data, None)


def render_item(
    item: tuple[Any, ...], static: Mapping[str, Any] | None, redactor: Redacts | None
) -> tuple[bytes, bool]:
    """:func:`render` for a queue item (a snapshot tuple): the worker's per-record path.

    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi %s", ("bob",), None)
    >>> render_item((1, *snapshot_fields(rec, None)), None, None)[0][-35:]
    b'"message":"hi bob","logger":"api"}'
    """
    try:
        return _finish_json(item_event_dict(item, static), redactor)
    except RecursionError:
        raise
    except Exception:  # the careful path marks what failed, and never holds up the batch
        return render(event_from_item(item), static, redactor)


def _render_json(
    ev: Event, static: Mapping[str, Any] | None, redactor: Redacts | None
) -> tuple[bytes, bool]:
    return _finish_json(to_event_dict(ev, static), redactor)


def _finish_json(as_dict: dict[str, Any], redactor: Redacts | None) -> tuple[bytes, bool]:
    """Redact the event dict (ours alone), encode it and make it fit one event."""
    if redactor is not None:
        in_place = getattr(redactor, "redact_event_in_place", None)
        if in_place is not None:  # as_dict is ours alone: no need for a redacted copy
            in_place(as_dict, _OWN_FIELDS)
        else:
            as_dict = redactor.redact_event(as_dict, _OWN_FIELDS)
    data, truncated = fit_message(encode(as_dict), as_dict)
    # orjson returns a 4 KiB allocation for a 300-byte event; a queued event keeps its
    # bytes until delivered, so keep an exact-size copy instead.
    return bytes(memoryview(data)), truncated


def _render_failed(
    ev: Event, static: Mapping[str, Any] | None, redactor: Redacts | None, error: Exception
) -> tuple[bytes, bool]:
    """The event made JSON-safe first (then redacted), or, failing that, its core fields
    and a note: redaction is never skipped, so no unredacted text can leak."""
    warn_rate_limited(
        "render", lambda: f"cwlogs: an event needed the safe encoder: {type(error).__name__}"
    )
    try:
        as_dict = _sanitize(to_event_dict(ev, static), set(), native=False)
        if redactor is not None:
            as_dict = redactor.redact_event(as_dict, _OWN_FIELDS)
        data, truncated = fit_message(encode(as_dict), as_dict)
        return bytes(data), truncated
    except RecursionError:
        raise
    except Exception as exc:
        note = f"<event could not be rendered: {type(exc).__name__}>"
    minimal = {
        "timestamp": iso_timestamp(ev.ts) if type(ev.ts) is int else "",
        "level": clean_text(_safe_str(ev.levelname)).lower(),
        "message": note,
        "logger": clean_text(_safe_str(ev.logger)),
    }
    return encode(minimal), False


class JsonFormatter(logging.Formatter):
    """A ``logging.Formatter`` producing the cwlogs JSON schema, for any handler.

    Attached to a ``CloudWatchHandler`` it is recognised and the JSON work moves to
    the worker thread; elsewhere it formats on the spot.

    >>> fmt = JsonFormatter(static_fields={"service": "api"})
    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi", (), None)
    >>> b'"service":"api"' in fmt.format(rec).encode()
    True
    """

    def __init__(
        self,
        static_fields: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        environment: str | None = None,
        context_provider: Callable[[], Mapping[str, Any] | None] | None = None,
    ) -> None:
        super().__init__()
        fields = dict(static_fields or {})
        if service:
            fields["service"] = service
        if environment:
            fields["environment"] = environment
        self.static_fields = fields
        self.context_provider = context_provider

    def format(self, record: logging.LogRecord) -> str:
        ctx = self.context_provider() if self.context_provider else None
        return encode(to_event_dict(snapshot(record, ctx), self.static_fields)).decode()
