"""The pass engine: given the finders the gate flagged, find their matches in a string's
UTF-8 bytes and splice the masks in.

Finders run by phase (PEM blocks, then assignments, then the rest); a later phase looks
only between the spans an earlier one masked, and within a phase the leftmost match
wins, earlier finders first at the same position.  :func:`single` is the same for the
common case of one flagged finder, kept short.
"""

from __future__ import annotations

import re
from typing import Final

from cwlogs.redaction._gate import UNANCHORED, Finder
from cwlogs.redaction._validators import Spans, decode, secret_span

_AGAIN_SPAN: Final = 512  # bytes
# A phone ends before an email's local part, never in it: "+1 555 123 4567 0@x.io" is a
# phone and the email "0@x.io", where a phone taking " 0" would leave "@x.io" behind.
LOCAL_PART_THEN_AT: Final = re.compile(rb"[\w.%+-]{0,64}(?:@|%40)")
_LOCAL_BYTES: Final = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.%+-"
)


def apply(
    finders: tuple[Finder, ...],
    text: str,
    data: bytes,
    flagged: list[int],
    tally: dict[str, int],
) -> str:
    """``text`` with the matches of the ``flagged`` finders masked."""
    chosen = [finders[i] for i in sorted(flagged)]
    hits: list[tuple[int, int, Finder]] = []
    claimed: list[tuple[int, int]] = []  # masked spans of the phases done
    size = len(data)
    at = len(chosen) if chosen[0].phase == chosen[-1].phase else 0
    if at:  # one phase: no claims to work around
        hits = search(chosen, data, 0, size)
    while at < len(chosen):
        phase = chosen[at].phase
        group = [f for f in chosen[at:] if f.phase == phase]
        at += len(group)
        # A later phase looks only between the spans an earlier one masked.
        found: list[tuple[int, int, Finder]] = []
        start = 0
        for begin, end in [*claimed, (size, size)]:
            if begin > start:
                found += search(group, data, start, begin)
            start = max(start, end)
        if found:
            hits += found
            claimed = sorted([*claimed, *((s, e) for s, e, _ in found)])
    if not hits:
        return text
    hits.sort(key=lambda hit: hit[0])
    pieces: list[bytes] = []
    kept = 0
    for start, end, finder in hits:
        pieces.append(data[kept:start])
        if finder.fixed is None:
            masked = finder.replace(data[start:end].decode("utf-8", "replace"))
            pieces.append(masked.encode("utf-8", "surrogatepass"))
        else:
            pieces.append(finder.fixed)
        kept = end
        tally[finder.name] = tally.get(finder.name, 0) + 1
    pieces.append(data[kept:])
    return decode(b"".join(pieces))


def single(finder: Finder, text: str, data: bytes, tally: dict[str, int]) -> str:
    """``text`` with the matches of one finder masked: what :func:`apply` does for one."""
    size = len(data)
    found = find(finder, data, 0, size)
    if found is None:
        return text
    fixed = finder.fixed
    pieces: list[bytes] = []
    kept = count = 0
    while found is not None:
        _, last, spans = found
        start, end = spans[0] if len(spans) == 1 else secret_span(spans)
        pieces.append(data[kept:start])
        if fixed is None:
            masked = finder.replace(data[start:end].decode("utf-8", "replace"))
            pieces.append(masked.encode("utf-8", "surrogatepass"))
        else:
            pieces.append(fixed)
        kept = end
        count += 1
        # Most texts hold one match: a cheap test of a short rest often spares the
        # second search, whose fixed cost is most of a search's.  (Only a short rest:
        # testing a long one after every match would cost time quadratic in the text.)
        again = finder.again
        if again is not None and size - last <= _AGAIN_SPAN and not again(data, last):
            break
        found = find(finder, data, last, size)
    pieces.append(data[kept:])
    tally[finder.name] = tally.get(finder.name, 0) + count
    return decode(b"".join(pieces))


def search(
    finders: list[Finder], data: bytes, start: int, end: int
) -> list[tuple[int, int, Finder]]:
    """Secret spans of the leftmost matches in ``data[start:end]``, earlier finders
    first at the same position, each search going on after the last match."""
    nxt = [find(f, data, start, end) for f in finders]
    hits: list[tuple[int, int, Finder]] = []
    while True:
        best = -1
        for i, cand in enumerate(nxt):
            if cand is not None and (best < 0 or cand[0] < nxt[best][0]):  # type: ignore[index]
                best = i
        if best < 0:
            return hits
        _, pos, spans = nxt[best]  # type: ignore[misc]
        if finders[best].retreat:
            pos, spans = retreat_before_next(finders, nxt, best, data, pos, spans)
        hits.append((*secret_span(spans), finders[best]))
        for i, cand in enumerate(nxt):
            if cand is not None and cand[0] < pos:
                nxt[i] = find(finders[i], data, pos, end)


def retreat_before_next(
    finders: list[Finder],
    nxt: list[tuple[int, int, Spans] | None],
    best: int,
    data: bytes,
    pos: int,
    spans: Spans,
) -> tuple[int, Spans]:
    """A phone that runs on into another finder's match (a card number, an SSN after
    it) ends where that match starts, when what is left is still a phone: otherwise
    its mask would take the other's first digits and leave the rest of it readable."""
    finder = finders[best]
    first = nxt[best][0]  # type: ignore[index]
    starts = [
        c[0]
        for f, c in zip(finders, nxt, strict=True)
        if c is not None and f.name != finder.name and first < c[0] < pos
    ]
    if not starts:
        return pos, spans
    shorter = find(finder, data, first, min(starts))
    if shorter is None or shorter[0] != first:
        return pos, spans
    return shorter[1], shorter[2]


def find(finder: Finder, data: bytes, pos: int, end: int) -> tuple[int, int, Spans] | None:
    """The first match of ``finder`` in ``data[:end]`` whose group 1 starts at ``pos`` or
    later and that its check accepts."""
    if finder.needles:
        for needle in finder.needles:  # a plain loop: no generator on the hot path
            if data.find(needle, pos, end) != -1:
                break
        else:
            return None
    match = finder.regex.Match
    check = finder.check
    # A regex with context consumes the character before its match.
    context = finder.context
    at = pos - 1 if context and pos > 0 else pos
    while True:
        spans = match(UNANCHORED, data, at, end)
        first, last = spans[1] if context else spans[0]
        if first == -1:
            return None
        if first < pos:  # "^" matched at 0 where the context could not
            at = pos
            continue
        if check is None or check(data, spans):
            if not finder.retreat or LOCAL_PART_THEN_AT.match(data, last) is None:
                return first, last, spans
            # A phone runs into an email's local part ("+1 555 123 4567 0@x.io"): it may
            # still end before that part, which is the email's.
            email = local_part_start(data, last, first)
            if first < email:
                spans = match(UNANCHORED, data, at, email)
                if spans[1][0] == first and (check is None or check(data, spans)):
                    return first, spans[1][1], spans
        pos = first + 1
        at = first if context else pos


def local_part_start(data: bytes, end: int, floor: int) -> int:
    """Where the run of email local-part characters that reaches ``end`` starts."""
    at = end
    while at > floor and data[at - 1] in _LOCAL_BYTES:
        at -= 1
    return at
