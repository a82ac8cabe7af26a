"""What a queued record weighs: its guessed JSON size and the memory it holds.

The queue's bound counts these; they are computed once per log call on the caller's
thread, so every branch here is written for speed (a sample, never a full walk).
"""

from __future__ import annotations

import dataclasses
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any, Final


def sizes(
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
