"""The worker's side: a queue item -> event dict -> redacted -> orjson bytes that fit.

Pure, and never mutates a LogRecord. :func:`render_item` is every record's path on the
worker thread; :func:`render` does the same for an :class:`~cwlogs._shipping.event.Event`.

>>> import logging
>>> from cwlogs._shipping.event import snapshot
>>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
>>> ev = to_event_dict(snapshot(rec, None))
>>> (ev["level"], ev["message"], ev["logger"])
('info', 'order 42', 'api')
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
from collections.abc import Container, Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Protocol

import orjson

from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.event import Event, event_from_item
from cwlogs._shipping.limits import MAX_MESSAGE_BYTES, truncate_utf8
from cwlogs._shipping.snapshot import (
    ITEM_EXC,
    ITEM_HEAD,
    ITEM_LEVELNAME,
    ITEM_LOGGER,
    ITEM_MESSAGE,
    ITEM_N_ARGS,
    ITEM_N_CONTEXT,
    ITEM_STACK,
    ITEM_THREAD,
    ITEM_TS,
)
from cwlogs._shipping.text import clean_text, format_deferred, safe_repr, safe_str

#: Fields cwlogs writes itself from the record's metadata: never PII, not worth scanning.
#: (The logger name is scanned: applications put user names and addresses in it.)
OWN_FIELDS: Final = frozenset({"timestamp", "level", "thread"})
_CORE_KEYS: Final = frozenset(
    {"timestamp", "level", "message", "logger", "exception", "stack", "truncated"}
)
#: Datetimes go through ``_default`` (``isoformat``, the same text): orjson 3.13 crashes
#: the process on a datetime whose tzinfo raises, where Python raises an exception.
_ORJSON_FAST: Final = orjson.OPT_PASSTHROUGH_DATETIME
_ORJSON_OPTS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_TRUNCATED_SUFFIX: Final = " ...[truncated]"


def item_event_dict(item: tuple[Any, ...], static: Mapping[str, Any] | None) -> dict[str, Any]:
    """:func:`to_event_dict` straight from a queue item: no :class:`Event` in between.

    >>> import logging
    >>> from cwlogs._shipping.snapshot import snapshot_fields
    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
    >>> item_event_dict((1, *snapshot_fields(rec, {"trace_id": "t1"})), None)["message"]
    'order 42'
    """
    at = ITEM_HEAD
    message = item[ITEM_MESSAGE]
    n_args = item[ITEM_N_ARGS]
    if n_args >= 0:
        at += n_args
        message = format_deferred(message, item[ITEM_HEAD:at])
    context: Iterable[tuple[Any, Any]] = ()
    n_context = item[ITEM_N_CONTEXT]
    if n_context:
        end = at + 2 * n_context
        context = zip(item[at:end:2], item[at + 1 : end : 2], strict=True)
        at = end
    extras_keys = item[at::2]
    return event_dict(
        item[ITEM_TS],
        item[ITEM_LEVELNAME],
        message,
        item[ITEM_LOGGER],
        item[ITEM_THREAD],
        static,
        context,
        extras_keys,
        item[at + 1 :: 2],
        item[ITEM_EXC],
        item[ITEM_STACK],
    )


def event_dict(
    ts: int,
    levelname: str,
    message: str,
    logger: str,
    thread: str | None,
    static: Mapping[str, Any] | None,
    context: Iterable[tuple[Any, Any]],
    extras_keys: Sequence[Any],
    extras_values: Sequence[Any],
    exc: dict[str, str] | None,
    stack: str | None,
) -> dict[str, Any]:
    """The cwlogs JSON schema, the one place it is written (see the README's field list):
    core fields, static fields, context, extras (a core name gets a ``_`` suffix: core
    fields win), exception, stack."""
    out: dict[str, Any] = {
        "timestamp": iso_timestamp(ts),
        "level": _LOWER_LEVELS.get(levelname) or safe_str(levelname).lower(),
        "message": message,
        "logger": logger,
    }
    if thread is not None:
        out["thread"] = thread
    if static:
        out.update(static)
    out.update(context)
    if extras_keys:
        if _CORE_KEYS.isdisjoint(extras_keys):
            out.update(zip(extras_keys, extras_values, strict=True))
        else:
            for key, value in zip(extras_keys, extras_values, strict=True):
                out[f"{key}_" if key in _CORE_KEYS else key] = value
    if exc is not None:
        out["exception"] = exc
    if stack:
        out["stack"] = stack
    return out


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
    """The default cwlogs JSON schema for an :class:`Event` (see :func:`event_dict`)."""
    extras = ev.extras or {}
    return event_dict(
        ev.ts,
        ev.levelname,
        ev.message,
        ev.logger,
        ev.thread,
        static,
        ev.context.items() if ev.context else (),
        tuple(extras),
        tuple(extras.values()),
        ev.exc,
        ev.stack,
    )


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
        return f"{type(obj).__name__}: {safe_str(obj)}"
    return safe_repr(obj)


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
                clean_text(k if type(k) is str else safe_str(k)): _sanitize_item(
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
            _sanitize(event, set(), native=False), default=safe_repr, option=_ORJSON_OPTS
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


def render(
    ev: Event, static: Mapping[str, Any] | None, redactor: Redacts | None
) -> tuple[bytes, bool]:
    """The worker-thread half: the event's final message bytes and whether it was truncated.

    >>> import logging
    >>> from cwlogs._shipping.event import snapshot
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

    >>> import logging
    >>> from cwlogs._shipping.snapshot import snapshot_fields
    >>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "hi %s", ("bob",), None)
    >>> render_item((1, *snapshot_fields(rec, None)), None, None)[0][-34:]
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
            in_place(as_dict, OWN_FIELDS)
        else:
            as_dict = redactor.redact_event(as_dict, OWN_FIELDS)
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
            as_dict = redactor.redact_event(as_dict, OWN_FIELDS)
        data, truncated = fit_message(encode(as_dict), as_dict)
        return bytes(data), truncated
    except RecursionError:
        raise
    except Exception as exc:
        note = f"<event could not be rendered: {type(exc).__name__}>"
    minimal = {
        "timestamp": iso_timestamp(ev.ts) if type(ev.ts) is int else "",
        "level": clean_text(safe_str(ev.levelname)).lower(),
        "message": note,
        "logger": clean_text(safe_str(ev.logger)),
    }
    return encode(minimal), False
