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

import logging
import time
import traceback
from collections.abc import Callable, Container, Iterable, Mapping
from decimal import Decimal
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
    "exception_fields",
    "fit_message",
    "iso_timestamp",
    "record_to_event",
    "render",
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
_ORJSON_OPTS: Final = orjson.OPT_NON_STR_KEYS
_TRUNCATED_SUFFIX: Final = " ...[truncated]"
_LogRecord: Final = logging.LogRecord
#: Argument types whose "%" rendering can't change after the log call (see snapshot).
_IMMUTABLE: Final = frozenset({int, float, str, bool, bytes, type(None)})


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
        self.est, self.cost = _sizes(message, args, len(extras) if extras else 0, exc, stack)
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

    def release_snapshot(self) -> None:
        """Let go of what only encoding needed, once ``data`` holds the encoded event.

        A prepared event can wait a while (a retry, an outage); its snapshot would
        double what it holds. ``message`` still answers, read back from ``data``.
        """
        if self.data is None:
            return
        self._message = self._args = None
        self.extras = self.context = self.exc = None
        self.stack = None

    def __repr__(self) -> str:
        return (
            f"Event(seq={self.seq}, ts={self.ts}, level={self.levelname}, msg={self.message!r:.60})"
        )


def _sizes(
    message: str,
    args: tuple[Any, ...] | None,
    n_extras: int,
    exc: dict[str, str] | None,
    stack: str | None,
) -> tuple[int, int]:
    """``(est, cost)`` of an event: its guessed JSON size, and what it weighs queued.

    The queue's memory bound counts ``cost``, an estimate of what a queued event really
    holds: the snapshot (~330 B of objects + message + ~100 B per extra) plus its
    encoded JSON, as both exist while the worker encodes it (the snapshot is released
    right after). Measured with tracemalloc. ``est`` guesses the encoded JSON size, so
    the worker can take about one batch from the queue before encoding; the exact plan
    is made after encoding.
    """
    est = len(message) + 130
    if args is None:  # held: what the event keeps alive besides itself
        held = len(message)
    else:
        texts = 0
        for arg in args:
            if type(arg) is str or type(arg) is bytes:
                texts += len(arg)
        est += texts + 8 * len(args)  # a guess at the rendered size: exact once encoded
        held = texts + 40 + 36 * len(args)
    if n_extras:
        est += 40 * n_extras
        held += 60 * n_extras
    if exc is not None:  # the rendered traceback, held and then encoded
        est += len(exc["stack"])
        held += len(exc["stack"]) + 350
    if stack:
        est += len(stack)
        held += len(stack)
    return est, est + held + 320


#: Where :func:`snapshot_fields` puts what the queue needs before the worker reads the rest.
ITEM_SEQ: Final = 0
ITEM_COST: Final = 1
ITEM_TS: Final = 2
ITEM_LEVELNO: Final = 3
_ITEM_HEAD: Final = 14  # seq ... n_context; then args, context and extras, flattened
_new_event = object.__new__


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
        return str(value)
    except Exception:  # a broken __str__ must not lose the event
        return f"<unprintable {type(value).__name__}>"


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
    est, cost = _sizes(msg, args, len(extras) // 2, exc, stack)
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


def _without_reserved(items: Iterable[tuple[str, Any]]) -> tuple[Any, ...]:
    """Extras as flat key/value pairs, without the LogRecord's own attribute names."""
    return tuple(chain.from_iterable(kv for kv in items if kv[0] not in RESERVED_ATTRS))


def _format_deferred(template: str, args: tuple[Any, ...]) -> str:
    try:
        return template % args
    except Exception as exc:  # the stdlib would print a "Logging error" and lose it
        warn_rate_limited("format", f"cwlogs: log message {template!r} % {args!r} failed: {exc!r}")
        return f"{template} {args!r} [formatting failed: {type(exc).__name__}: {exc}]"


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
        "level": _LOWER_LEVELS.get(ev.levelname) or ev.levelname.lower(),
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
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {_safe_str(obj)}"
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"


def _sanitize(obj: Any, seen: set[int], depth: int = 0) -> Any:
    """A JSON-safe copy of ``obj``: cycles, very deep nesting and huge ints made printable."""
    if obj is None or isinstance(obj, bool | float | str):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if depth > 64:
        return "<too deep>"
    if isinstance(obj, Mapping | list | tuple):
        if id(obj) in seen:
            return "<cycle>"
        seen.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                return {
                    k if isinstance(k, str) else _safe_str(k): _sanitize(v, seen, depth + 1)
                    for k, v in obj.items()
                }
            return [_sanitize(v, seen, depth + 1) for v in obj]
        finally:
            seen.discard(id(obj))
    return _default(obj)


def encode(event: Mapping[str, Any]) -> bytes:
    """orjson bytes for ``event``; anything unserialisable falls back to ``repr``, never raises.

    >>> encode({"a": b"x", "b": {1, 2}})
    b'{"a":"x","b":[1,2]}'
    """
    try:
        # Without OPT_NON_STR_KEYS orjson is ~40% faster; the rare non-str key lands below.
        return orjson.dumps(event, default=_default)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return orjson.dumps(_sanitize(event, set()), default=_default, option=_ORJSON_OPTS)


def fit_message(
    data: bytes,
    event: dict[str, Any] | None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[bytes, bool]:
    """Make an encoded message fit in one CloudWatch event; returns ``(data, truncated)``.

    JSON events stay valid JSON: the message (then the stack) is cut on a UTF-8 boundary
    and ``"truncated": true`` plus ``original_bytes`` are added. Plain text is cut and
    suffixed with a marker.
    """
    if len(data) <= max_bytes:
        return data, False
    if event is None:
        suffix = _TRUNCATED_SUFFIX.encode()
        return truncate_utf8(data, max_bytes - len(suffix)) + suffix, True
    original = len(data)
    ev = dict(event)
    ev["truncated"] = True
    ev["original_bytes"] = original
    for field in ("message", "exception", "stack"):
        for _ in range(4):
            value = ev.get(field)
            if field == "exception" and isinstance(value, dict):
                text = value.get("stack")
            else:
                text = value
            if not isinstance(text, str) or not text:
                break
            raw = text.encode("utf-8")
            over = len(data) - max_bytes
            # Escaping can make the encoded text longer than the raw text: cut by ratio.
            keep = max(0, min(len(raw) - over, int(len(raw) * max_bytes / len(data))) - 512)
            cut = truncate_utf8(raw, keep).decode("utf-8", "ignore")
            if field == "exception" and isinstance(value, dict):
                ev[field] = {**value, "stack": cut}
            else:
                ev[field] = cut
            data = encode(ev)
            if len(data) <= max_bytes:
                return data, True
    # Extras alone are too large: keep the core of the event.
    minimal: dict[str, Any] = {k: event[k] for k in ("timestamp", "level", "logger") if k in event}
    msg = event.get("message")
    text = msg if isinstance(msg, str) else _safe_str(msg)
    minimal["message"] = truncate_utf8(text.encode(), max_bytes // 2).decode("utf-8", "ignore")
    minimal["truncated"] = True
    minimal["original_bytes"] = original
    data = encode(minimal)
    if len(data) > max_bytes:  # only escapes can still overflow; cut harder
        minimal["message"] = truncate_utf8(text.encode(), max_bytes // 8).decode("utf-8", "ignore")
        data = encode(minimal)
    return data, True


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


def render(
    ev: Event, static: Mapping[str, Any] | None, redactor: Redacts | None
) -> tuple[bytes, bool]:
    """The worker-thread half: the event's final message bytes and whether it was truncated.

    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi", (), None)
    >>> render(snapshot(rec, None), {"service": "api"}, None)[0][-31:]
    b'"logger":"api","service":"api"}'
    """
    if ev.preformatted:
        text = redactor.redact_text(ev.message) if redactor is not None else ev.message
        return fit_message(text.encode("utf-8", "replace"), None)
    as_dict = to_event_dict(ev, static)
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
