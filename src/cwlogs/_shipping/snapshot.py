"""The caller's side: a ``LogRecord`` copied into one flat tuple, the queue item.

:func:`snapshot_fields` runs on the application's thread for every log call and copies
only what is valid only there; the worker turns the tuple into JSON (see ``encode``).
The tuple's layout (``FIELD_*``, ``ITEM_*``) is defined here, in one place.

>>> import logging
>>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
>>> item = (1, *snapshot_fields(rec, None))
>>> item[ITEM_LOGGER], item[ITEM_MESSAGE], item[ITEM_HEAD]
('api', 'order %s', 42)
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Iterable, Mapping
from itertools import chain, islice
from typing import Any, Final

from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.text import format_failed, safe_str
from cwlogs._shipping.weigh import sizes

#: LogRecord attributes that are not user extras.
RESERVED_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)
_PLAIN_RECORD_LEN: Final = len(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_LAST_STANDARD_KEY: Final = list(vars(logging.LogRecord("", 0, "", 0, "", (), None)))[-1]
_LogRecord: Final = logging.LogRecord
#: Argument types whose "%" rendering can't change after the log call (see snapshot).
_IMMUTABLE: Final = frozenset({int, float, str, bool, bytes, type(None)})


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
ITEM_HEAD: Final = 14  # seq ... n_context; then args, context and extras, flattened
ITEM_LEVELNAME: Final = 6
ITEM_LOGGER: Final = 7
ITEM_MESSAGE: Final = 8
ITEM_EXC: Final = 9
ITEM_STACK: Final = 10
ITEM_THREAD: Final = 11
ITEM_N_ARGS: Final = 12
ITEM_N_CONTEXT: Final = 13
#: Once encoded, an item becomes ``(seq, cost, ts, levelno, est, data, stream, logger)``:
#: the same head (``ITEM_SEQ`` ... ``ITEM_EST`` read both), then the event's final bytes.
#: Only ints, bytes and str: the garbage collector stops tracking it at its first pass, so
#: a batch waiting on the network never ages into the oldest generation (a full
#: collection of every object in the process, ~100 ms, each time enough of them pile up).
ITEM_DATA: Final = 5
ITEM_STREAM: Final = 6
PREPARED_LEN: Final = 8


def exception_fields(exc_info: Any) -> dict[str, str] | None:
    """``{"type", "message", "stack"}`` for a record's ``exc_info``, or None."""
    if not exc_info or exc_info is True:
        return None
    etype, value, tb = exc_info
    if etype is None:
        return None
    return {
        "type": getattr(etype, "__qualname__", str(etype)),
        "message": safe_str(value),
        "stack": "".join(traceback.format_exception(etype, value, tb)).rstrip("\n"),
    }


def snapshot_fields(
    record: logging.LogRecord,
    context: Mapping[str, Any] | None,
    with_thread: bool = False,
) -> tuple[Any, ...]:
    """:func:`~cwlogs._shipping.event.snapshot` as one flat tuple: what the handler queues.

    One tuple is cheaper to build on the caller's thread than an :class:`Event`, and
    with the arguments, context and extras laid flat in it (no dict inside), the garbage
    collector stops tracking it at its first pass instead of walking it in every full
    collection while it waits in the queue. The worker encodes it as it is
    (``encode.render_item``), with no Event in between.
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
        est, cost = sizes(msg, args, extras, flat_context, exc, stack)
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
        return careful_fields(record, context, with_thread, exc)


def careful_fields(
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
    stack = None if stack is None else safe_str(stack)
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
    thread = safe_str(_attribute(record, "threadName", None)) if with_thread else None
    if rendered:  # otherwise the formatting failure was reported already
        warn_rate_limited(
            "snapshot",
            lambda: (
                f"cwlogs: an odd log record was shipped as best it could: {type(error).__name__}"
            ),
        )
    est, cost = sizes(message, None, extras, flat_context, exc, stack)
    return (
        cost,
        int(created * 1000),
        levelno,
        est,
        created,
        safe_str(_attribute(record, "levelname", "")),
        safe_str(_attribute(record, "name", "")),
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
        return format_failed(msg, args, exc), False
    return (text if type(text) is str else safe_str(text)), True


def _exception_or_note(exc_info: Any) -> dict[str, str] | None:
    try:
        return exception_fields(exc_info) if exc_info else None
    except Exception as exc:  # a malformed exc_info: say so rather than lose the record
        return {
            "type": "<unknown>",
            "message": safe_str(exc_info),
            "stack": f"<traceback could not be rendered: {type(exc).__name__}: {safe_str(exc)}>",
        }


def _without_reserved(items: Iterable[tuple[str, Any]]) -> tuple[Any, ...]:
    """Extras as flat key/value pairs, without the LogRecord's own attribute names."""
    return tuple(chain.from_iterable(kv for kv in items if kv[0] not in RESERVED_ATTRS))
