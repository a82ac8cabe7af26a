"""CloudWatch Logs filter patterns, parsed and evaluated locally.

The local emulator (moto) treats JSON, ``?``, ``-`` and ``[...]`` patterns as
match-all and has no TestMetricFilter, so cwlogs evaluates patterns itself,
following the rules AWS documents in "Filter pattern syntax for metric filters,
subscription filters, filter log events, and Live Tail":

* unstructured text: ``ERROR``, ``ERROR -Throttling``, ``?ERROR ?WARN``,
  ``"Failed to connect"``, ``%regex%``;
* JSON: ``{ $.level = "error" && $.latency > 500 }``;
* space-delimited: ``[ip, user, ..., status_code = 4*, bytes]``.

A pattern is compiled once (and cached); evaluating it parses a message as JSON
at most once.

One job, one module, though it runs past 600 lines: the three syntaxes share one
tokenizer, one boolean-expression grammar and one set of operand types (globs, regexes,
numbers), and the parser that builds them is a single recursive-descent class. Split,
each piece would need the others' private shapes to be read at all.

>>> matches('{ $.level = "error" }', '{"level": "error", "msg": "boom"}')
True
>>> compile_pattern("[ip, user, ..., status, size]").fields("10.0.0.1 - GET / 200 512")
{'$ip': '10.0.0.1', '$user': '-', '$3': 'GET', '$4': '/', '$status': '200', '$size': '512'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Generic, Literal, Protocol, TypedDict, TypeVar

import orjson

from cwlogs.errors import InvalidParameterError

__all__ = [
    "MAX_PATTERN_LENGTH",
    "MAX_REGEX_PER_PATTERN",
    "FilterPattern",
    "FilterPatternError",
    "PatternKind",
    "PatternMatch",
    "compile_pattern",
    "matches",
    "test_pattern",
    "validate_pattern",
]

#: The service refuses longer patterns (``filterPattern`` length constraint).
MAX_PATTERN_LENGTH: Final = 1024
#: AWS allows at most two ``%regex%`` in one JSON or space-delimited pattern.
MAX_REGEX_PER_PATTERN: Final = 2

PatternKind = Literal["text", "json", "space", "all"]

# AWS lists exactly these characters as usable inside %...%; the space is our
# addition, because AWS's own CDK renders regexValue('bind: address already in use').
_REGEX_SYMBOLS: Final = ":_#=@/;,-"
_REGEX_OPERATORS: Final = "^$?[]{}|\\*+."
_REGEX_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    + _REGEX_SYMBOLS
    + _REGEX_OPERATORS
)
_OPERATORS: Final = frozenset({"=", "!=", "<", "<=", ">", ">="})
_ORDERING: Final = frozenset({"<", "<=", ">", ">="})
_NUMERIC: Final[dict[str, Callable[[float, float], bool]]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
# The AWS number grammar: optional sign, integer or decimal, optional exponent.
# float() alone would also accept "nan", "inf" and "1_000".
_NUMBER_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PROPERTY_RE: Final = re.compile(r"[^\s.\[\](){}=!<>&|\"%,*]+")
_INDEX_RE: Final = re.compile(r"\[\s*(\d+)\s*\]")
_WORD_RE: Final = re.compile(r"[A-Za-z]+")
_FIELD_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
# A message field is a "quoted" or [bracketed] run (delimiters dropped, an
# unterminated one runs to the end of the line) or a run of non-space characters.
_FIELD_RE: Final = re.compile(r'"([^"]*)"?|\[([^\]]*)\]?|(\S+)')
_JSON_START_RE: Final = re.compile(r"\s*[\[{]")
_JSON_STOPS: Final = '(){}"&|'
_SPACE_STOPS: Final = ',[]()"&|'


class FilterPatternError(InvalidParameterError):
    """A filter pattern that CloudWatch Logs would refuse.

    ``position`` is the 0-based offset of the problem in ``pattern``; the
    message shows it with a caret.

    >>> try:
    ...     compile_pattern("{ $.a = }")
    ... except FilterPatternError as exc:
    ...     exc.position
    8
    """

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        self.pattern = pattern
        self.position = position
        self.reason = reason
        super().__init__(_describe(pattern, position, reason))


def _describe(pattern: str, position: int, reason: str) -> str:
    # Patterns may be 1 KiB long: show a window around the problem, on one line.
    start = max(0, position - 40)
    end = min(len(pattern), position + 40)
    head = "..." if start > 0 else ""
    tail = "..." if end < len(pattern) else ""
    snippet = pattern[start:end].replace("\n", " ").replace("\t", " ").replace("\r", " ")
    caret = " " * (len(head) + position - start) + "^"
    return (
        f"invalid filter pattern: {reason} (column {position + 1})\n"
        f"    {head}{snippet}{tail}\n    {caret}"
    )


class PatternMatch(TypedDict):
    """One matched message, shaped like an entry of TestMetricFilter's ``matches``."""

    eventNumber: int
    eventMessage: str
    extractedValues: dict[str, str]


# --- values on the right of an operator ------------------------------------------------
_EXACT, _PREFIX, _SUFFIX, _CONTAINS, _ANY = range(5)


@dataclass(frozen=True, slots=True)
class _Glob:
    """A string that may start and/or end with ``*``.

    AWS: "*Event" matches PutEvent, "Event*" matches EventId, and "Ev*ent" only
    the literal string Ev*ent, so an inner ``*`` is not a wildcard.
    """

    mode: int
    needle: str

    @classmethod
    def of(cls, text: str) -> _Glob:
        if text.strip("*") == "":
            return cls(_ANY, "")
        lead, trail = text.startswith("*"), text.endswith("*")
        needle = text[1 if lead else 0 : len(text) - 1 if trail else len(text)]
        mode = _CONTAINS if lead and trail else _SUFFIX if lead else _PREFIX if trail else _EXACT
        return cls(mode, needle)

    def test(self, value: str) -> bool:
        mode = self.mode
        if mode == _EXACT:
            return value == self.needle
        if mode == _PREFIX:
            return value.startswith(self.needle)
        if mode == _SUFFIX:
            return value.endswith(self.needle)
        if mode == _CONTAINS:
            return self.needle in value
        return True


@dataclass(frozen=True, slots=True)
class _Regex:
    regex: re.Pattern[str]

    def test(self, value: str) -> bool:
        return self.regex.search(value) is not None


@dataclass(frozen=True, slots=True)
class _Number:
    value: int | float
    text: str


_Operand = _Glob | _Regex | _Number


def _parse_number(text: str) -> int | float | None:
    if _NUMBER_RE.fullmatch(text) is None:
        return None
    if text.lstrip("+-").isdigit():
        return int(text)
    return float(text)


def _scalar_text(value: object) -> str | None:
    """The text a JSON scalar is compared as; None for null."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value)
    return None


def _compare_json(op: str, operand: _Operand, value: object) -> bool:
    # AWS: a selector that points at an array or object is "not applied", so
    # both = and != are false there (and on a missing field, handled by callers).
    if isinstance(value, dict | list):
        return False
    if isinstance(operand, _Number):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _NUMERIC[op](value, operand.value)
        if op in _ORDERING:
            return False
        hit = isinstance(value, str) and value == operand.text
    else:
        text = _scalar_text(value)
        if text is None:
            hit = isinstance(operand, _Glob) and operand.mode == _ANY
        else:
            hit = operand.test(text)
    return hit if op == "=" else not hit


def _compare_token(op: str, operand: _Operand, token: str) -> bool:
    if isinstance(operand, _Number):
        number = _parse_number(token)
        if number is not None:
            return _NUMERIC[op](number, operand.value)
        if op in _ORDERING:
            return False
        hit = token == operand.text
    else:
        hit = operand.test(token)
    return hit if op == "=" else not hit


# --- boolean expressions, shared by JSON and space-delimited conditions --------------
_C_contra = TypeVar("_C_contra", contravariant=True)
_D = TypeVar("_D")


class _Predicate(Protocol[_C_contra]):
    def evaluate(self, ctx: _C_contra, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class _AllOf(Generic[_D]):
    items: tuple[_Predicate[_D], ...]

    def evaluate(self, ctx: _D) -> bool:
        return all(item.evaluate(ctx) for item in self.items)


@dataclass(frozen=True, slots=True)
class _AnyOf(Generic[_D]):
    items: tuple[_Predicate[_D], ...]

    def evaluate(self, ctx: _D) -> bool:
        return any(item.evaluate(ctx) for item in self.items)


_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class _Selector:
    text: str
    steps: tuple[str | int, ...]

    def resolve(self, doc: object) -> object:
        node = doc
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(node, dict):
                    return _MISSING
                node = node.get(step, _MISSING)
                if node is _MISSING:
                    return _MISSING
            else:
                if not isinstance(node, list) or step >= len(node):
                    return _MISSING
                node = node[step]
        return node


@dataclass(frozen=True, slots=True)
class _JsonCompare:
    selector: _Selector
    op: str
    operand: _Operand

    def evaluate(self, doc: object) -> bool:
        value = self.selector.resolve(doc)
        return value is not _MISSING and _compare_json(self.op, self.operand, value)


@dataclass(frozen=True, slots=True)
class _JsonCheck:
    """``IS NULL``, ``IS TRUE``, ``IS FALSE`` or ``NOT EXISTS``."""

    selector: _Selector
    expect: object  # None, True, False, or _MISSING for NOT EXISTS

    def evaluate(self, doc: object) -> bool:
        return self.selector.resolve(doc) is self.expect


@dataclass(frozen=True, slots=True)
class _FieldCompare:
    name: str
    op: str
    operand: _Operand

    def evaluate(self, values: Mapping[str, str]) -> bool:
        token = values.get(self.name)
        return token is not None and _compare_token(self.op, self.operand, token)


# --- parsed pieces --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Term:
    needle: str
    regex: re.Pattern[str] | None
    negated: bool

    def found(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return self.needle in message


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    at: int
    name: str | None
    condition: _Predicate[Mapping[str, str]] | None
    ellipsis: bool


class _Parser:
    """A cursor over the pattern; every error it raises names its position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.regexes: list[int] = []

    # -- primitives ----------------------------------------------------------------
    def error(self, reason: str, at: int | None = None) -> FilterPatternError:
        return FilterPatternError(self.text, self.pos if at is None else at, reason)

    def skip_ws(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def unexpected(self, expected: str) -> FilterPatternError:
        ch = self.peek()
        if self.text.startswith("&", self.pos) and not self.text.startswith("&&", self.pos):
            return self.error("a single '&' is not an operator; use '&&'")
        if self.text.startswith("|", self.pos) and not self.text.startswith("||", self.pos):
            return self.error("a single '|' is not an operator; use '||'")
        if ch == ")":
            return self.error("')' without a matching '('")
        return self.error(f"unexpected {ch!r}; {expected}")

    def quoted(self) -> str:
        start, text = self.pos, self.text
        out: list[str] = []
        pos = start + 1
        while pos < len(text):
            ch = text[pos]
            # The escapes CDK's quoteTerm produces; any other backslash is literal.
            if ch == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
                out.append(text[pos + 1])
                pos += 2
                continue
            if ch == '"':
                self.pos = pos + 1
                return "".join(out)
            out.append(ch)
            pos += 1
        raise self.error("unterminated quoted string; add the closing '\"'", at=start)

    def regex(self) -> re.Pattern[str]:
        start = self.pos
        close = self.text.find("%", start + 1)
        if close < 0:
            raise self.error("unterminated regex; close it with '%'", at=start)
        body = self.text[start + 1 : close]
        if not body:
            raise self.error("empty regex '%%'", at=start)
        for offset, ch in enumerate(body, start + 1):
            if ch in "()":
                raise self.error("CloudWatch regex does not support '(' and ')'", at=offset)
            if ch not in _REGEX_CHARS:
                if ord(ch) > 127:
                    reason = "CloudWatch regex does not support multi-byte characters"
                else:
                    reason = (
                        f"{ch!r} is not allowed in a CloudWatch regex (allowed: letters, digits,"
                        f" space, '{_REGEX_SYMBOLS}' and the operators '{_REGEX_OPERATORS}')"
                    )
                raise self.error(reason, at=offset)
        try:
            # ASCII classes: AWS does not support multi-byte characters, so \d and
            # \w must not match non-ASCII digits and letters either.
            compiled = re.compile(body, re.ASCII)
        except re.error as exc:
            raise self.error(f"invalid regex: {exc.msg}", at=start + 1 + (exc.pos or 0)) from exc
        self.regexes.append(start)
        self.pos = close + 1
        return compiled

    def check_regex_quota(self) -> None:
        if len(self.regexes) > MAX_REGEX_PER_PATTERN:
            raise self.error(
                f"a JSON or space-delimited pattern may contain at most"
                f" {MAX_REGEX_PER_PATTERN} regular expressions",
                at=self.regexes[MAX_REGEX_PER_PATTERN],
            )

    def operator(self, subject: str, also: str = "") -> str:
        self.skip_ws()
        start, text = self.pos, self.text
        end = start
        while end < len(text) and text[end] in "=!<>":
            end += 1
        op = text[start:end]
        if not op:
            raise self.error(
                f"expected a comparison operator (=, !=, <, <=, >, >=){also} after {subject!r}"
            )
        if op not in _OPERATORS:
            if set(op) == {"="}:
                reason = f"{op!r} is not a comparison operator; equality is a single '='"
            else:
                reason = f"{op!r} is not a comparison operator; use one of =, !=, <, <=, >, >="
            raise self.error(reason, at=start)
        self.pos = end
        return op

    def operand(self, op: str, stops: str) -> _Operand:
        self.skip_ws()
        start, text = self.pos, self.text
        ch = self.peek()
        operand: _Operand
        if ch == '"':
            operand = _Glob.of(self.quoted())
        elif ch == "%":
            operand = _Regex(self.regex())
        else:
            end = start
            while end < len(text) and not text[end].isspace() and text[end] not in stops:
                end += 1
            raw = text[start:end]
            if not raw:
                raise self.error(f"expected a value after {op!r}")
            self.pos = end
            number = _parse_number(raw)
            operand = _Glob.of(raw) if number is None else _Number(number, raw)
        if op in _ORDERING and not isinstance(operand, _Number):
            raise self.error(
                f"{op!r} compares numbers, and {text[start : self.pos]!r} is not a number",
                at=start,
            )
        return operand

    # -- && / || / ( ) -------------------------------------------------------------
    def expr(self, leaf: Callable[[], _Predicate[_D]]) -> _Predicate[_D]:
        items = [self.conj(leaf)]
        while True:
            self.skip_ws()
            if not self.text.startswith("||", self.pos):
                break
            self.pos += 2
            items.append(self.conj(leaf))
        return items[0] if len(items) == 1 else _AnyOf(tuple(items))

    def conj(self, leaf: Callable[[], _Predicate[_D]]) -> _Predicate[_D]:
        items = [self.primary(leaf)]
        while True:
            self.skip_ws()
            if not self.text.startswith("&&", self.pos):
                break
            self.pos += 2
            items.append(self.primary(leaf))
        return items[0] if len(items) == 1 else _AllOf(tuple(items))

    def primary(self, leaf: Callable[[], _Predicate[_D]]) -> _Predicate[_D]:
        self.skip_ws()
        if self.peek() != "(":
            return leaf()
        open_at = self.pos
        self.pos += 1
        node = self.expr(leaf)
        self.skip_ws()
        if self.peek() != ")":
            if self.peek() in ("", "}", "]", ","):
                raise self.error(f"the '(' at column {open_at + 1} is never closed; add ')'")
            raise self.unexpected("expected '&&', '||' or ')'")
        self.pos += 1
        return node

    # -- JSON ----------------------------------------------------------------------
    def json_pattern(self) -> _Predicate[object]:
        open_at = self.pos
        self.pos += 1
        node = self.expr(self.json_leaf)
        self.skip_ws()
        if not self.peek():
            raise self.error(f"the '{{' at column {open_at + 1} is never closed; add '}}'")
        if self.peek() != "}":
            raise self.unexpected("expected '&&', '||' or '}'")
        self.pos += 1
        self.skip_ws()
        if self.peek():
            raise self.error("unexpected text after the closing '}'")
        self.check_regex_quota()
        return node

    def selector(self) -> _Selector:
        start, text = self.pos, self.text
        if self.peek() != "$":
            raise self.error("expected a selector such as '$.level'")
        pos = start + 1
        steps: list[str | int] = []
        while pos < len(text):
            if text[pos] == ".":
                match = _PROPERTY_RE.match(text, pos + 1)
                if match is None:
                    raise self.error("expected a property name after '.'", at=pos + 1)
                steps.append(match.group())
                pos = match.end()
            elif text[pos] == "[":
                match = _INDEX_RE.match(text, pos)
                if match is None:
                    raise self.error("expected an array index such as '[0]'", at=pos)
                steps.append(int(match.group(1)))
                pos = match.end()
            else:
                break
        if not steps:
            raise self.error("a selector must name a property, such as '$.level'", at=start)
        self.pos = pos
        return _Selector(text[start:pos], tuple(steps))

    def json_leaf(self) -> _Predicate[object]:
        self.skip_ws()
        selector = self.selector()
        self.skip_ws()
        word = _WORD_RE.match(self.text, self.pos)
        if word is not None:
            return self.json_check(selector, word)
        op = self.operator(selector.text, also=", IS NULL, IS TRUE, IS FALSE or NOT EXISTS")
        return _JsonCompare(selector, op, self.operand(op, _JSON_STOPS))

    def json_check(self, selector: _Selector, word: re.Match[str]) -> _JsonCheck:
        keyword = word.group().upper()
        expected: dict[str, dict[str, object]] = {
            "IS": {"NULL": None, "TRUE": True, "FALSE": False},
            "NOT": {"EXISTS": _MISSING},
        }
        if keyword == "EXISTS":
            raise self.error(
                "'EXISTS' alone is not supported; use '= *' to test that a field exists",
                at=word.start(),
            )
        if keyword not in expected:
            raise self.error(
                f"expected a comparison operator, IS NULL, IS TRUE, IS FALSE or NOT EXISTS"
                f" after {selector.text!r}",
                at=word.start(),
            )
        self.pos = word.end()
        self.skip_ws()
        second = _WORD_RE.match(self.text, self.pos)
        choices = expected[keyword]
        if second is None or second.group().upper() not in choices:
            *head, last = choices
            names = f"{', '.join(head)} or {last}" if head else last
            raise self.error(f"expected {names} after {keyword!r}")
        self.pos = second.end()
        return _JsonCheck(selector, choices[second.group().upper()])

    # -- space-delimited -----------------------------------------------------------
    def space_pattern(self) -> list[_FieldSpec]:
        open_at = self.pos
        self.pos += 1
        fields: list[_FieldSpec] = []
        while True:
            fields.append(self.space_field())
            self.skip_ws()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                continue
            if ch == "]":
                self.pos += 1
                break
            if not ch:
                raise self.error(f"the '[' at column {open_at + 1} is never closed; add ']'")
            raise self.unexpected("separate fields with ','")
        self.skip_ws()
        if self.peek():
            raise self.error("unexpected text after the closing ']'")
        if all(f.name is None and not f.ellipsis for f in fields):
            raise self.error("a space-delimited pattern needs at least one field", at=open_at)
        seen: set[str] = set()
        for spec in fields:
            if spec.name is not None:
                if spec.name in seen:
                    raise self.error(f"field name {spec.name!r} is used twice", at=spec.at)
                seen.add(spec.name)
        self.check_regex_quota()
        return fields

    def space_field(self) -> _FieldSpec:
        self.skip_ws()
        start, text = self.pos, self.text
        if text.startswith("...", start):
            self.pos = start + 3
            return _FieldSpec(start, None, None, ellipsis=True)
        if self.peek() in ("", ",", "]"):
            # An empty field is an unnamed placeholder: AWS's own example
            # [..., request=*.html*, status_code=4*,] extracts "$7" for it.
            return _FieldSpec(start, None, None, ellipsis=False)
        name = _FIELD_NAME_RE.match(text, start)
        if name is None and self.peek() != "(":
            raise self.error("expected a field name, '...' or a condition such as 'status = 404'")
        if name is not None:
            after = name.end()
            while after < len(text) and text[after].isspace():
                after += 1
            if after >= len(text) or text[after] not in "=!<>&|":
                self.pos = name.end()
                return _FieldSpec(start, name.group(), None, ellipsis=False)
        names: list[str] = []

        def leaf() -> _Predicate[Mapping[str, str]]:
            self.skip_ws()
            match = _FIELD_NAME_RE.match(self.text, self.pos)
            if match is None:
                raise self.error("expected a field name")
            self.pos = match.end()
            op = self.operator(match.group())
            names.append(match.group())
            return _FieldCompare(match.group(), op, self.operand(op, _SPACE_STOPS))

        condition = self.expr(leaf)
        return _FieldSpec(start, names[0], condition, ellipsis=False)

    # -- unstructured text ---------------------------------------------------------
    def text_pattern(self) -> list[list[_Term]]:
        # Each '?' opens an alternative; plain terms after it join that
        # alternative. This is how AWS's CDK renders anyTermGroup():
        # ?"ERROR" "MainThread" ?"WARN" "Deadlock".
        groups: list[list[_Term]] = [[]]
        while True:
            self.skip_ws()
            if not self.peek():
                return groups
            start = self.pos
            prefix = ""
            if self.peek() in "?-":
                prefix = self.peek()
                self.pos += 1
                if not self.peek() or self.peek().isspace():
                    # AWS's own example spells an exclusion `"ERROR" - "Exiting"`.
                    self.skip_ws()
                    if not self.peek():
                        raise self.error(f"{prefix!r} must be followed by a term", at=start)
            term = self.term(negated=prefix == "-")
            if prefix == "?" and groups[-1]:
                groups.append([])
            groups[-1].append(term)

    def term(self, *, negated: bool) -> _Term:
        start, text = self.pos, self.text
        ch = self.peek()
        if ch == '"':
            phrase = self.quoted()
            # AWS documents `" "` as "match everything".
            term = _Term(phrase if phrase.strip() else "", None, negated)
        elif ch == "%":
            term = _Term("", self.regex(), negated)
        else:
            end = start
            while end < len(text) and not text[end].isspace():
                if text[end] == '"':
                    raise self.error("'\"' inside a term; quote the whole phrase instead", at=end)
                end += 1
            self.pos = end
            term = _Term(text[start:end], None, negated)
        if self.peek() and not self.peek().isspace():
            raise self.error("expected a space between terms")
        return term


# --- matchers -------------------------------------------------------------------------
class _Matcher(Protocol):
    def matches(self, message: str) -> bool: ...

    def extract(self, message: str) -> dict[str, str] | None: ...


class _MatchAll:
    __slots__ = ()

    def matches(self, message: str) -> bool:
        return True

    def extract(self, message: str) -> dict[str, str] | None:
        return {}


class _TextMatcher:
    __slots__ = ("_groups",)

    def __init__(self, groups: Sequence[Sequence[_Term]]) -> None:
        self._groups = tuple(
            (tuple(t for t in g if not t.negated), tuple(t for t in g if t.negated)) for g in groups
        )

    def matches(self, message: str) -> bool:
        for required, excluded in self._groups:
            if all(t.found(message) for t in required) and not any(
                t.found(message) for t in excluded
            ):
                return True
        return False

    def extract(self, message: str) -> dict[str, str] | None:
        return {} if self.matches(message) else None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _load_json(message: str) -> object:
    """The parsed object or array, or _MISSING when the message is not JSON."""
    if _JSON_START_RE.match(message) is None:
        return _MISSING
    try:
        doc: object = orjson.loads(message)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, which are still valid JSON.
        try:
            doc = json.loads(message, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return _MISSING
    return doc if isinstance(doc, dict | list) else _MISSING


class _JsonMatcher:
    __slots__ = ("_root",)

    def __init__(self, root: _Predicate[object]) -> None:
        self._root = root

    def matches(self, message: str) -> bool:
        doc = _load_json(message)
        return doc is not _MISSING and self._root.evaluate(doc)

    def extract(self, message: str) -> dict[str, str] | None:
        return {} if self.matches(message) else None


def _split_fields(message: str) -> list[str]:
    out: list[str] = []
    for quoted, bracketed, bare in _FIELD_RE.findall(message):
        out.append(quoted or bracketed or bare)
    return out


_Layout = Sequence[_FieldSpec | None]


class _SpaceMatcher:
    """Positional fields; ``...`` covers any number of message fields.

    With more than one ``...`` the middle fields may sit anywhere, so layouts
    are tried leftmost first and the first one whose conditions hold wins.
    """

    __slots__ = ("_conditions", "_exact", "_fixed", "_segments", "_tail_room")

    def __init__(self, fields: Sequence[_FieldSpec]) -> None:
        segments: list[list[_FieldSpec]] = [[]]
        for spec in fields:
            if spec.ellipsis:
                segments.append([])
            else:
                segments[-1].append(spec)
        self._segments = tuple(tuple(s) for s in segments)
        self._exact: tuple[_FieldSpec, ...] | None = (
            self._segments[0] if len(segments) == 1 else None
        )
        self._fixed = sum(len(s) for s in segments)
        middle = self._segments[1:-1]
        self._tail_room = tuple(sum(len(s) for s in middle[i + 1 :]) for i in range(len(middle)))
        self._conditions = tuple(s.condition for s in fields if s.condition is not None)

    def _layouts(self, count: int) -> Iterator[_Layout]:
        if self._exact is not None:
            if count == len(self._exact):
                yield self._exact
            return
        if count < self._fixed:
            return
        first, *middle, last = self._segments
        last_start = count - len(last)

        def place(i: int, layout: list[_FieldSpec | None]) -> Iterator[_Layout]:
            if i == len(middle):
                yield [*layout, *([None] * (last_start - len(layout))), *last]
                return
            seg = middle[i]
            for start in range(len(layout), last_start - self._tail_room[i] - len(seg) + 1):
                yield from place(i + 1, [*layout, *([None] * (start - len(layout))), *seg])

        yield from place(0, list(first))

    def _match(self, message: str) -> tuple[list[str], _Layout] | None:
        tokens = _split_fields(message)
        for layout in self._layouts(len(tokens)):
            if not self._conditions:
                return tokens, layout
            values = {
                spec.name: token
                for spec, token in zip(layout, tokens, strict=True)
                if spec is not None and spec.name is not None
            }
            if all(c.evaluate(values) for c in self._conditions):
                return tokens, layout
        return None

    def matches(self, message: str) -> bool:
        return self._match(message) is not None

    def extract(self, message: str) -> dict[str, str] | None:
        found = self._match(message)
        if found is None:
            return None
        tokens, layout = found
        return {
            (f"${spec.name}" if spec is not None and spec.name else f"${number}"): token
            for number, (spec, token) in enumerate(zip(layout, tokens, strict=True), start=1)
        }


# --- public API -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FilterPattern:
    """A compiled filter pattern; get one from :func:`compile_pattern`.

    >>> p = compile_pattern("ERROR -Throttling")
    >>> p.kind, p.matches("ERROR db down"), p.matches("ERROR Throttling")
    ('text', True, False)
    """

    pattern: str
    kind: PatternKind
    _matcher: _Matcher = field(repr=False, compare=False)

    def matches(self, message: str) -> bool:
        """Whether ``message`` matches, as a metric or subscription filter would decide.

        >>> compile_pattern("{ $.status >= 500 }").matches('{"status": 503}')
        True
        """
        return self._matcher.matches(message)

    def fields(self, message: str) -> dict[str, str] | None:
        """The values TestMetricFilter would extract, or None when ``message`` does not match.

        Space-delimited patterns key each message field by ``$name`` when the
        pattern names it and by ``$<position>`` otherwise; other kinds extract
        nothing, so a match gives ``{}``.

        >>> compile_pattern("[ip, user, status_code = 4*, size]").fields("1.2.3.4 - 404 10")
        {'$ip': '1.2.3.4', '$user': '-', '$status_code': '404', '$size': '10'}
        """
        return self._matcher.extract(message)


def _compile(pattern: str) -> FilterPattern:
    if not isinstance(pattern, str):
        raise TypeError(f"a filter pattern is a str, not {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(
            pattern,
            MAX_PATTERN_LENGTH,
            f"the pattern is {len(pattern)} characters; CloudWatch allows {MAX_PATTERN_LENGTH}",
        )
    parser = _Parser(pattern)
    parser.skip_ws()
    first = parser.peek()
    if not first:
        return FilterPattern(pattern, "all", _MatchAll())
    if first == "{":
        return FilterPattern(pattern, "json", _JsonMatcher(parser.json_pattern()))
    if first == "[":
        return FilterPattern(pattern, "space", _SpaceMatcher(parser.space_pattern()))
    groups = parser.text_pattern()
    if len(groups) == 1 and all(
        not t.negated and t.regex is None and not t.needle for t in groups[0]
    ):
        return FilterPattern(pattern, "all", _MatchAll())
    return FilterPattern(pattern, "text", _TextMatcher(groups))


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> FilterPattern:
    """Parse ``pattern`` once; raise :class:`FilterPatternError` if it is malformed.

    Results are cached, so calling this in a loop is cheap.

    >>> compile_pattern("[ip, user, ..., status_code >= 400, bytes]").kind
    'space'
    """
    return _compile(pattern)


def validate_pattern(pattern: str) -> None:
    """Raise :class:`FilterPatternError` if CloudWatch would refuse ``pattern``.

    >>> validate_pattern('{ $.eventType = "UpdateTrail" }')
    """
    compile_pattern(pattern)


def matches(pattern: str, message: str) -> bool:
    """Whether ``message`` matches ``pattern``.

    >>> matches("?ERROR ?WARN", "WARN disk at 91%")
    True
    """
    return compile_pattern(pattern).matches(message)


def test_pattern(pattern: str, messages: Iterable[str]) -> list[PatternMatch]:
    """Evaluate ``pattern`` like the TestMetricFilter API: the matches, numbered from 1.

    >>> test_pattern("[ip, user, status, size]", ["1.2.3.4 - 200 5", "not a match"])
    [{'eventNumber': 1, 'eventMessage': '1.2.3.4 - 200 5', 'extractedValues': {'$ip': '1.2.3.4', '$user': '-', '$status': '200', '$size': '5'}}]
    """  # noqa: E501
    compiled = compile_pattern(pattern)
    out: list[PatternMatch] = []
    for number, message in enumerate(messages, start=1):
        extracted = compiled.fields(message)
        if extracted is not None:
            out.append(
                PatternMatch(eventNumber=number, eventMessage=message, extractedValues=extracted)
            )
    return out


# pytest would collect a module-level ``test_*`` function as a test (doctest runs over src).
test_pattern.__test__ = False  # type: ignore[attr-defined]
