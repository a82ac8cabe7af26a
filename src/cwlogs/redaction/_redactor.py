"""The :class:`Redactor`: gates each string, runs the passes it needs, walks events.

Each string is encoded once and put through the gate (:mod:`._gate`), which says which
built-ins occur at all; only those are searched for (:mod:`._engine`), with the user's
patterns (:mod:`._custom`) in between.  Short strings found clean are remembered, and
so are the verdicts on event keys, so a steady stream of similar events costs little.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import threading
import uuid
from collections.abc import Container, Iterable, Mapping, MutableMapping
from decimal import Decimal
from typing import Any, Final

from cwlogs.redaction._catalogue import (
    BUILTIN_PATTERN_NAMES,
    BUILTINS,
    DEFAULT_SENSITIVE_KEYS,
    PRESETS,
    USER_PHASE,
    Builtin,
)
from cwlogs.redaction._custom import passes, run, trigger
from cwlogs.redaction._engine import apply, single
from cwlogs.redaction._gate import compile_gate, finders
from cwlogs.redaction._pattern import REDACTED, MaskStyle, Pattern, Replacement

_ATOMS: Final = frozenset({int, float, bool, type(None)})
_NATIVE: Final = (datetime.date, datetime.time, datetime.timedelta, uuid.UUID)
_CARD_SIZED: Final = 10**12 - 1  # 13 digits or more
_VERDICT_CACHE_SIZE: Final = 4096
_KEY_STRIP: Final = str.maketrans("", "", "-_. ")
_MAX_DEPTH: Final = 64
_CLEAN_CACHE_LENGTH: Final = 128  # characters; longer strings rarely repeat exactly
_CLEAN_CACHE_SIZE: Final = 4096  # entries, so at most ~1 MB; emptied when full


class Redactor:
    """Masks PII in text and in structured events; an instance is also a structlog processor.

    ``preset`` picks the built-ins (see :data:`PRESETS`: ``"minimal"``, ``"default"``,
    ``"strict"``); ``enable`` adds built-ins to it by name, ``disable`` removes them.
    ``extra_patterns`` are added to the built-ins; one that reuses a built-in's name
    replaces it.  ``style`` picks fixed tokens or partial masks for every pattern,
    ``styles`` overrides it per pattern name.  ``keys`` replaces
    :data:`DEFAULT_SENSITIVE_KEYS`, ``extra_keys`` adds to it.  Bad configuration
    raises :class:`ValueError` here; redacting itself never raises.

    :meth:`stats` counts replacements per pattern name, and masked keys as
    ``"key:<key>"`` (lower-cased, ``-`` written ``_``).

    >>> Redactor(preset="strict", disable={"ipv4"}, style="partial").redact_text(
    ...     "jane@example.com 10.1.2.3")
    'j***@***.com 10.1.2.3'
    """

    def __init__(
        self,
        *,
        preset: str = "default",
        enable: Iterable[str] = (),
        disable: Iterable[str] = (),
        extra_patterns: Iterable[Pattern] = (),
        style: MaskStyle = "token",
        styles: Mapping[str, MaskStyle] | None = None,
        keys: Iterable[str] | None = None,
        extra_keys: Iterable[str] = (),
    ) -> None:
        self._exact_keys, self._suffix_keys = _key_sets(keys, extra_keys)
        # Event keys repeat endlessly; remembering each verdict keeps dict walks cheap.
        self._key_verdict = functools.lru_cache(maxsize=4096)(self._judge_key)
        # The same few keys come in every event: a plain dict lookup beats the lru_cache.
        self._verdicts: dict[Any, bool] = {}

        chosen = _replacements(_select(preset, enable, disable, extra_patterns), style, styles)
        builtins = [(p, r) for p, r in chosen if isinstance(p, Builtin)]
        extras = [(p, r) for p, r in chosen if not isinstance(p, Builtin)]
        self._cards = any(p.name == "credit_card" for p, _ in builtins)
        # Priority: PEM blocks, then `key=value` assignments, then the user's patterns,
        # then the rest in BUILTINS order; each claims its text before later ones look.
        found = [f for p, r in builtins for f in finders(p, r, self._exact_keys, self._suffix_keys)]
        self._finders = tuple(sorted(found, key=lambda f: f.phase))
        self._gate: Any = compile_gate(self._finders)  # numbers the finders by their place
        self._custom = passes(extras)
        self._custom_trigger = trigger([p for p, _ in extras])

        self._clean: dict[str, None] = {}  # see _text
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API

    def redact_text(self, text: str) -> str:
        """Return ``text`` with the matches of every enabled pattern replaced.

        Also what the exporter can use on a stream name or any other string.

        >>> Redactor().redact_text("card 4111 1111 1111 1111, order ORD-2024-000123")
        'card [CREDIT_CARD_REDACTED], order ORD-2024-000123'
        """
        tally: dict[str, int] = {}
        out = self._text(text, tally)
        if tally:
            self._merge(tally)
        return out

    def redact_event(self, event: Mapping[str, Any], skip: Container[str] = ()) -> dict[str, Any]:
        """Return a redacted copy of ``event``; the input and its children are left alone.

        Values under a sensitive key become ``"[REDACTED]"``, whatever their type; other
        strings are scanned; dicts, lists, tuples, sets and dataclasses are walked;
        bytes and other objects are scanned as the text they would be logged as
        (``repr``), and replaced by that text only when it had something to mask.  Keys
        themselves are never rewritten.  Top-level keys in ``skip`` are copied
        unscanned (the handler skips the fields it wrote itself).

        >>> Redactor().redact_event({"auth": {"Api-Key": 123}, "to": ["a@b.io"]})
        {'auth': {'Api-Key': '[REDACTED]'}, 'to': ['[EMAIL_REDACTED]']}
        """
        tally: dict[str, int] = {}
        out = self._mapping(event, tally, 0, skip)
        if tally:
            self._merge(tally)
        return out

    def redact_event_in_place(
        self, event: MutableMapping[str, Any], skip: Container[str] = ()
    ) -> None:
        """Redact the top-level values of ``event`` itself; for a dict nobody else holds.

        Masks exactly what :meth:`redact_event` masks, without copying the event (nested
        containers are still copied, as there).  The handler uses it on the event dict it
        has just built.

        >>> event = {"msg": "to a@b.io", "n": 1}
        >>> Redactor().redact_event_in_place(event)
        >>> event
        {'msg': 'to [EMAIL_REDACTED]', 'n': 1}
        """
        tally: dict[str, int] = {}
        self._in_place(event, tally, 0, skip)
        if tally:
            self._merge(tally)

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """Be a structlog processor: ``structlog.configure(processors=[..., Redactor()])``.

        >>> Redactor()(None, "info", {"event": "hi bob@example.com"})
        {'event': 'hi [EMAIL_REDACTED]'}
        """
        return self.redact_event(event_dict)

    def stats(self) -> dict[str, int]:
        """Replacements so far, per pattern name and as ``"key:<key>"`` per masked key.

        >>> r = Redactor()
        >>> _ = r.redact_event({"Token": "t", "msg": "a@b.io and c@d.io"})
        >>> r.stats()
        {'key:token': 1, 'email': 2}
        """
        with self._lock:
            return dict(self._counts)

    def is_sensitive_key(self, key: str) -> bool:
        """True when values under ``key`` are masked whole.

        >>> Redactor().is_sensitive_key("X-Api-Key"), Redactor().is_sensitive_key("max_tokens")
        (True, False)
        """
        return self._key_verdict(key)

    # ------------------------------------------------------------------ internals

    def _merge(self, tally: dict[str, int]) -> None:
        # One lock per call that found something, not per hit; most calls find nothing.
        with self._lock:
            for name, count in tally.items():
                self._counts[name] = self._counts.get(name, 0) + count

    def _judge_key(self, key: str) -> bool:
        norm = _normalise_key(key)
        return norm in self._exact_keys or norm.endswith(self._suffix_keys)

    def _text(self, text: str, tally: dict[str, int]) -> str:
        short = len(text) <= _CLEAN_CACHE_LENGTH
        if short and text in self._clean:
            return text
        data = text.encode("utf-8", "surrogatepass")
        flagged = self._gate.Match(data) if self._gate is not None else []
        if self._custom:
            out = self._with_custom(text, data, flagged, tally)
        elif not flagged:
            out = text
        elif len(flagged) == 1:  # the common case, kept short
            out = single(self._finders[flagged[0]], text, data, tally)
        else:
            out = apply(self._finders, text, data, flagged, tally)
        if short and out is text:
            # Field values repeat (logger and thread names, hosts, ids of a few kinds),
            # so short strings found clean are remembered.  Only clean ones: the cache
            # must not become a store of the very secrets it exists to hide.
            if len(self._clean) >= _CLEAN_CACHE_SIZE:
                self._clean.clear()
            self._clean[text] = None
        return out

    def _with_custom(
        self, text: str, data: bytes, flagged: list[int], tally: dict[str, int]
    ) -> str:
        """PEM blocks and assignments, then the user's patterns, then the rest."""
        finders = self._finders
        early = [i for i in flagged if finders[i].phase < USER_PHASE]
        out = apply(finders, text, data, early, tally) if early else text
        if self._custom_trigger is None or self._custom_trigger.search(out):
            for scan in self._custom:
                out = run(scan, out, tally)
        if out is not text:  # masks moved the text: gate it again
            data = out.encode("utf-8", "surrogatepass")
            flagged = self._gate.Match(data) if self._gate is not None else []
        late = [i for i in flagged if finders[i].phase > USER_PHASE]
        return apply(finders, out, data, late, tally) if late else out

    def _mapping(
        self,
        event: Mapping[Any, Any],
        tally: dict[str, int],
        depth: int,
        skip: Container[str] = (),
    ) -> dict[Any, Any]:
        out = dict(event)
        self._in_place(out, tally, depth, skip)
        return out

    def _in_place(
        self,
        event: MutableMapping[Any, Any],
        tally: dict[str, int],
        depth: int,
        skip: Container[str] = (),
    ) -> None:
        verdicts = self._verdicts
        clean = self._clean
        for key, value in event.items():  # values change, keys don't: iteration is safe
            if key in skip:
                continue
            sensitive = verdicts.get(key)
            if sensitive is None:
                sensitive = isinstance(key, str) and self._key_verdict(key)
                if len(verdicts) < _VERDICT_CACHE_SIZE:
                    verdicts[key] = sensitive
            if sensitive:
                event[key] = REDACTED
                label = "key:" + key.lower().replace("-", "_")
                tally[label] = tally.get(label, 0) + 1
            elif type(value) is str:
                # Known-clean short strings skip the call; long ones are never in the cache.
                if len(value) > _CLEAN_CACHE_LENGTH or value not in clean:
                    event[key] = self._text(value, tally)
            elif type(value) not in _ATOMS or (type(value) is int and value > _CARD_SIZED):
                event[key] = self._value(value, tally, depth + 1)

    def _value(self, value: Any, tally: dict[str, int], depth: int) -> Any:
        if isinstance(value, str):
            return self._text(value, tally)
        if isinstance(value, bool | float) or value is None:
            return value
        if isinstance(value, int):
            # A card number logged as a number is still a card number.
            if self._cards and abs(value) > _CARD_SIZED:
                return self._as_text(value, str(value), tally)
            return value
        if depth > _MAX_DEPTH:
            # Too deep to inspect, or a cycle: fail closed rather than leak.
            tally["max_depth"] = tally.get("max_depth", 0) + 1
            return REDACTED
        if isinstance(value, Mapping):
            return self._mapping(value, tally, depth)
        if isinstance(value, list | tuple | set | frozenset):
            items = [self._value(item, tally, depth + 1) for item in value]
            if isinstance(value, list):
                return items
            if isinstance(value, tuple):
                make = getattr(type(value), "_make", None)  # keep a namedtuple a namedtuple
                return make(items) if make is not None else tuple(items)
            return frozenset(items) if isinstance(value, frozenset) else set(items)
        if isinstance(value, _NATIVE):
            return value  # encoded as numbers or ISO/UUID text: nothing to find
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # As orjson encodes it: its fields, without the _private ones.
            fields = {
                f.name: getattr(value, f.name, None)
                for f in dataclasses.fields(value)
                if not f.name.startswith("_")
            }
            out = self._mapping(fields, tally, depth)
            return value if out == fields else out
        return self._as_text(value, _as_logged(value), tally)

    def _as_text(self, value: Any, text: str, tally: dict[str, int]) -> Any:
        """``value`` itself, or the masked text it is logged as if that had PII in it."""
        masked = self._text(text, tally)
        return value if masked is text else masked


def _key_sets(
    keys: Iterable[str] | None, extra_keys: Iterable[str]
) -> tuple[frozenset[str], tuple[str, ...]]:
    """The exact keys (each suffix also exact, as a key of its own) and the suffixes."""
    entries = {*(DEFAULT_SENSITIVE_KEYS if keys is None else keys), *extra_keys}
    suffixes = tuple(sorted({_normalise_key(k[1:]) for k in entries if k[:1] == "*"} - {""}))
    exact = frozenset({_normalise_key(k) for k in entries if k[:1] != "*"} - {""})
    return exact | frozenset(suffixes), suffixes


def _replacements(
    chosen: list[Builtin | Pattern], style: MaskStyle, styles: Mapping[str, MaskStyle] | None
) -> list[tuple[Builtin | Pattern, Replacement]]:
    """Each chosen pattern with what its matches become under ``style`` and ``styles``."""
    styles = dict(styles or {})
    for name, value in [*styles.items(), ("style", style)]:
        if value not in ("token", "partial"):
            raise ValueError(f"style for {name!r} must be 'token' or 'partial'")
    unknown = set(styles) - {p.name for p in chosen}
    if unknown:
        raise ValueError(f"styles names no enabled pattern: {sorted(unknown)}")
    out: list[tuple[Builtin | Pattern, Replacement]] = []
    for pattern in chosen:
        replacement = pattern.replacement
        if styles.get(pattern.name, style) == "partial" and pattern.partial is not None:
            replacement = pattern.partial
        if replacement is None:
            replacement = f"[{pattern.name.upper()}_REDACTED]"
        out.append((pattern, replacement))
    return out


def _as_logged(value: Any) -> str:
    """The text cwlogs' JSON encoder writes for a value it cannot encode natively."""
    try:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, BaseException):
            return f"{type(value).__name__}: {value}"
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, enum.Enum):
            return str(value.value)
        return repr(value)
    except Exception:  # a broken __repr__ is the encoder's problem, not a leak
        return ""


def _normalise_key(key: str) -> str:
    return key.lower().translate(_KEY_STRIP)


def _select(
    preset: str, enable: Iterable[str], disable: Iterable[str], extra: Iterable[Pattern]
) -> list[Builtin | Pattern]:
    if preset not in PRESETS:
        raise ValueError(f"unknown redaction preset {preset!r}; the presets are {list(PRESETS)}")
    enabled, disabled = set(enable), set(disable)
    extras = list(extra)
    names = [p.name for p in extras]
    if len(set(names)) != len(names):
        raise ValueError("extra_patterns uses a name twice")
    unknown = (enabled - set(BUILTIN_PATTERN_NAMES)) | (
        disabled - set(BUILTIN_PATTERN_NAMES) - set(names)
    )
    if unknown:
        raise ValueError(
            f"unknown redaction pattern(s) {sorted(unknown)}; "
            f"the built-ins are {list(BUILTIN_PATTERN_NAMES)}"
        )
    wanted = (PRESETS[preset] | enabled) - disabled - set(names)
    kept: list[Builtin | Pattern] = [p for p in BUILTINS if p.name in wanted]
    return kept + [p for p in extras if p.name not in disabled]
