"""The hosted ``dt``'s filter and sort language, evaluated over plain dicts.

Owns parsing and evaluating a filter (``-f "type = app and name starts_with daily"``) and a
sort (``-s "-version +name"``), as the hosted CLI documents them, so that ``dt job ls -f``,
``dt job runs -f``, ``Blob.ls(filter_by=...)`` and ``User.ls(filter=...)`` read the same.

A filter is conditions ``field operator value`` joined by ``and``/``or`` (``and`` binds
tighter, as in SQL; parentheses group), each optionally preceded by ``not``. Operators:
``=``/``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (numbers only), ``starts_with``,
``ends_with``, ``contains`` (text, case-insensitive), ``is_null``, ``is_not_null`` (no value).
A value is a word, a quoted string (``"Daily Report"``, ``'Mike\\'s'``) or a list
``[a, b, c]`` meaning any of them. A sort is fields separated by spaces, ``-`` for descending,
``+`` or nothing for ascending; missing values sort last.

Must not: know what the records are (callers pass the field names and types), do I/O.
Standard library and ``datatailr.errors`` only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from datatailr.errors import InvalidArgumentError

__all__ = ["compile_filter", "matches", "parse_sort", "select", "sort_records"]

TEXT, NUMERIC, BOOL = "text", "numeric", "bool"

_COMPARISONS = {"=", "==", "!=", "<", "<=", ">", ">="}
_TEXT_OPS = {"starts_with", "ends_with", "contains"}
_NULL_OPS = {"is_null", "is_not_null"}
_OPERATORS = _COMPARISONS | _TEXT_OPS | _NULL_OPS
_EXAMPLE = 'write e.g. "name starts_with daily and state = failed"'

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # "word", "value" (quoted), "(", ")", "[", "]", ","
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()[],":
            out.append(_Token(ch, ch))
            i += 1
        elif ch in "\"'":
            quote, i, chars = ch, i + 1, []
            while True:
                if i >= n:
                    raise InvalidArgumentError(
                        f"Filter {text!r}: the quote {quote} is never closed; {_EXAMPLE}."
                    )
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    chars.append(text[i + 1])
                    i += 2
                elif c == quote:
                    i += 1
                    break
                else:
                    chars.append(c)
                    i += 1
            out.append(_Token("value", "".join(chars)))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()[],\"'":
                i += 1
            out.append(_Token("word", text[start:i]))
    return out


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str] | None) -> None:
        self.text = text
        self.fields = fields
        self.tokens = _tokens(text)
        self.pos = 0

    def fail(self, problem: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"Filter {self.text!r}: {problem}; {_EXAMPLE}.")

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("it ends too early")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in words:
            self.pos += 1
            return token.text.lower()
        return None

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda _record: True
        predicate = self.parse_or()
        if self.peek() is not None:
            raise self.fail(f"{self.peek().text!r} is not expected here (join conditions "  # type: ignore[union-attr]
                            "with and/or)")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.keyword("or"):
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda record: any(p(record) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.keyword("and"):
            parts.append(self.parse_not())
        if len(parts) == 1:
            return parts[0]
        return lambda record: all(p(record) for p in parts)

    def parse_not(self) -> Predicate:
        if self.keyword("not"):
            inner = self.parse_not()
            return lambda record: not inner(record)
        token = self.peek()
        if token is not None and token.kind == "(":
            self.pos += 1
            inner = self.parse_or()
            closing = self.take()
            if closing.kind != ")":
                raise self.fail(f"a ')' is missing before {closing.text!r}")
            return inner
        return self.parse_condition()

    def parse_condition(self) -> Predicate:
        token = self.take()
        if token.kind != "word" or token.text.lower() in ("and", "or", "not"):
            raise self.fail(f"a field name is expected, not {token.text!r}")
        field = token.text
        kind = self.field_type(field)
        op_token = self.take()
        op = op_token.text.lower()
        if op_token.kind != "word" or op not in _OPERATORS:
            raise self.fail(
                f"{op_token.text!r} after {field!r} is not an operator (use one of "
                f"{', '.join(sorted(_OPERATORS))})"
            )
        if op in _NULL_OPS:
            want_null = op == "is_null"
            return lambda record: (record.get(field) is None) == want_null
        values = self.parse_values()
        if op in _TEXT_OPS and kind == NUMERIC:
            raise self.fail(f"{op} works on text, and {field!r} is a number")
        if op in ("<", "<=", ">", ">=") and kind != NUMERIC and kind is not None:
            raise self.fail(f"{op} works on numbers, and {field!r} is text")
        return _condition(field, op, values, kind, self)

    def parse_values(self) -> list[str]:
        token = self.take()
        if token.kind == "[":
            values = []
            while True:
                item = self.take()
                if item.kind not in ("word", "value"):
                    raise self.fail(f"a value is expected in the list, not {item.text!r}")
                values.append(item.text)
                sep = self.take()
                if sep.kind == "]":
                    return values
                if sep.kind != ",":
                    raise self.fail(f"the list needs ',' between values and ']' at its end, "
                                    f"not {sep.text!r}")
        if token.kind not in ("word", "value"):
            raise self.fail(f"a value is expected, not {token.text!r}")
        return [token.text]

    def field_type(self, field: str) -> str | None:
        if self.fields is None:
            return None
        if field not in self.fields:
            raise self.fail(
                f"there is no field {field!r} (fields: {', '.join(sorted(self.fields))})"
            )
        return self.fields[field]


def _number(text: str, parser: _Parser, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise parser.fail(f"{text!r} is not a number, and {field!r} is numeric") from None


def _truth(text: str, parser: _Parser, field: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise parser.fail(f"{text!r} is not true or false, and {field!r} is true/false")


def _condition(field: str, op: str, values: list[str], kind: str | None,
               parser: _Parser) -> Predicate:
    if kind == NUMERIC:
        numbers = [_number(v, parser, field) for v in values]
        compare = _numeric_compare(op)

        def numeric(record: Record) -> bool:
            value = record.get(field)
            if value is None or isinstance(value, bool):
                return False
            try:
                have = float(value)
            except (TypeError, ValueError):
                return False
            hits = [compare(have, n) for n in numbers]
            return all(hits) if op == "!=" else any(hits)

        return numeric
    if kind == BOOL:
        truths = [_truth(v, parser, field) for v in values]
        if op not in ("=", "==", "!="):
            raise parser.fail(f"{op} does not apply to {field!r}, which is true/false")

        def boolean(record: Record) -> bool:
            value = record.get(field)
            if value is None:
                return False
            hit = bool(value) in truths
            return not hit if op == "!=" else hit

        return boolean
    if kind is None and op in ("<", "<=", ">", ">="):
        numbers = [_number(v, parser, field) for v in values]
        compare = _numeric_compare(op)

        def inferred(record: Record) -> bool:
            value = record.get(field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            return any(compare(float(value), n) for n in numbers)

        return inferred

    lowered = [v.lower() for v in values]

    def text(record: Record) -> bool:
        value = record.get(field)
        if value is None:
            return False
        if isinstance(value, bool):
            have = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            have = str(int(value))
        else:
            have = str(value)
        if op in ("=", "=="):
            return have in values
        if op == "!=":
            return have not in values
        low = have.lower()
        if op == "starts_with":
            return any(low.startswith(v) for v in lowered)
        if op == "ends_with":
            return any(low.endswith(v) for v in lowered)
        return any(v in low for v in lowered)  # contains

    return text


def _numeric_compare(op: str) -> Callable[[float, float], bool]:
    return {
        "=": lambda a, b: a == b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]


def compile_filter(text: str | None, fields: Mapping[str, str] | None = None) -> Predicate:
    """A predicate over records; ``fields`` maps each field to "text", "numeric" or "bool"
    (unknown fields are then an error naming the known ones). Without ``fields`` every field
    is accepted and read as text, or as a number for ``<``-style comparisons."""
    if text is None:
        return lambda _record: True
    if not isinstance(text, str):
        raise InvalidArgumentError(f"Filter {text!r} is not a string; {_EXAMPLE}.")
    return _Parser(text, fields).parse()


def matches(text: str | None, record: Record, fields: Mapping[str, str] | None = None) -> bool:
    return compile_filter(text, fields)(record)


def parse_sort(text: str | None, fields: Iterable[str] | None = None) -> list[tuple[str, bool]]:
    """``"-version +name"`` -> ``[("version", True), ("name", False)]`` (True: descending)."""
    if not text:
        return []
    known = None if fields is None else set(fields)
    keys = []
    for word in text.split():
        descending = word.startswith("-")
        name = word[1:] if word[:1] in "+-" else word
        if not name:
            raise InvalidArgumentError(
                f"Sort {text!r}: {word!r} names no field; write e.g. \"-version +name\"."
            )
        if known is not None and name not in known:
            raise InvalidArgumentError(
                f"Sort {text!r}: there is no field {name!r} (fields: {', '.join(sorted(known))})."
            )
        keys.append((name, descending))
    return keys


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (2, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value).lower())


def _field_key(name: str, record: Record) -> tuple:
    return _sort_key(record.get(name))


def sort_records(records: Iterable[Record], text: str | None,
                 fields: Iterable[str] | None = None) -> list[Record]:
    """``records`` ordered by the sort expression (stable; missing values last either way)."""
    out = list(records)
    for name, descending in reversed(parse_sort(text, fields)):
        present = [r for r in out if r.get(name) is not None]
        absent = [r for r in out if r.get(name) is None]
        present.sort(key=functools.partial(_field_key, name), reverse=descending)
        out = present + absent
    return out


def select(records: Iterable[Record], *, filter: str | None = None,  # noqa: A002
           sort: str | None = None, limit: int | None = None, offset: int = 0,
           fields: Mapping[str, str] | None = None) -> list[Record]:
    """Filter, then sort, then ``offset``/``limit`` (a negative or None limit: all)."""
    if offset < 0:
        raise InvalidArgumentError(f"offset={offset} is negative: give 0 or more.")
    keep = compile_filter(filter, fields)
    chosen = sort_records((r for r in records if keep(r)), sort,
                          None if fields is None else list(fields))
    chosen = chosen[offset:]
    if limit is not None and limit >= 0:
        chosen = chosen[:limit]
    return chosen
