"""Run filters and sort keys: a hand-written tokenizer and recursive-descent parser.

Filters are typed by users (and by the sidebar on their behalf), so they are parsed here
into a small, fully checked AST; ``search.py`` compiles that AST to SQLAlchemy with bound
parameters only. No text from a filter ever reaches SQL, and every mistake becomes an
``InvalidInput`` whose one-line message names the 1-based character position.

Grammar (keywords are case-insensitive)::

    expr  := or
    or    := and ('or' and)*
    and   := not ('and' not)*
    not   := 'not' not | '(' expr ')' | comparison
    comparison := field op value | field ('in' | 'not in') '(' value (',' value)* ')'
                | field 'is' ['not'] 'null'
    op    := = | == | != | <> | < | <= | > | >= | like | ilike | not like | not ilike

Fields: ``metrics.KEY``, ``params.KEY``, ``tags.KEY`` (singular prefixes too), attributes
bare or as ``attributes.NAME`` / ``run.NAME``, and ``dataset.name|digest|context``.
A KEY is bare (letters, digits, ``_ - . / :``) or quoted with backquotes or double quotes.

Semantics worth knowing:

- metrics compare as numbers; a NaN metric (stored as NULL) matches no comparison, only
  ``is null`` (which also matches runs that lack the metric);
- params and tags are text: a number literal is compared as the text written
  (``params.C = 1.0`` is ``params.C = '1.0'``); ``true``/``false`` are ``'True'``/``'False'``,
  as Python logs them; ordering operators are refused because text order surprises;
- a comparison on a key a run lacks is false, and ``not X`` is true wherever ``X`` is false
  (so ``not metrics.a > 1`` includes runs without ``a``);
- ``like`` is case-sensitive and ``ilike`` is not (``%`` any text, ``_`` one character);
- ``start_time``/``end_time`` take epoch milliseconds or ISO-8601 strings (UTC when naive);
  ``duration`` is in seconds, like ``Run.duration``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Union

from ..errors import InvalidInput
from .records import RUN_STATUSES

MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_COMPARISONS = 200
MAX_IN_VALUES = 1_000
MAX_ORDER_KEYS = 10

# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Field:
    """``kind`` is 'metric', 'param', 'tag', 'attribute' or 'dataset'."""

    kind: str
    key: str

    def __str__(self) -> str:
        if self.kind == "attribute":
            return self.key
        prefix = {"metric": "metrics", "param": "params", "tag": "tags", "dataset": "dataset"}[self.kind]
        return f"{prefix}.{self.key}" if _BARE_KEY.fullmatch(self.key) else f"{prefix}.`{self.key}`"


@dataclass(frozen=True)
class Compare:
    """``value`` is already coerced to the field's type; a tuple for in/not in."""

    field: Field
    op: str
    value: object = None


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


Node = Union[Compare, And, Or, Not]


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool = False


# --------------------------------------------------------------------------- vocabulary

PREFIXES = {
    "metrics": "metric", "metric": "metric",
    "params": "param", "param": "param",
    "tags": "tag", "tag": "tag",
    "attributes": "attribute", "attribute": "attribute", "attr": "attribute", "run": "attribute",
    "dataset": "dataset", "datasets": "dataset",
}

# attribute name -> (canonical name, type); types: text, id, status, time, duration
ATTRIBUTES = {
    "run_id": ("run_id", "id"), "id": ("run_id", "id"),
    "name": ("name", "text"), "run_name": ("name", "text"),
    "status": ("status", "status"),
    "user": ("user", "text"),
    "host": ("host", "text"),
    "source": ("source", "text"),
    "code_hash": ("code_hash", "text"),
    "error_type": ("error_type", "text"),
    "experiment_id": ("experiment_id", "id"),
    "parent_run_id": ("parent_run_id", "id"),
    "start_time": ("start_time", "time"),
    "end_time": ("end_time", "time"),
    "duration": ("duration", "duration"),
}
DATASET_KEYS = ("name", "digest", "context")

EQ_OPS = frozenset({"=", "!="})
ORDER_OPS = frozenset({"<", "<=", ">", ">="})
PATTERN_OPS = frozenset({"like", "not like", "ilike", "not ilike"})
SET_OPS = frozenset({"in", "not in"})
NULL_OPS = frozenset({"is null", "is not null"})

_ALLOWED = {
    "number": EQ_OPS | ORDER_OPS | SET_OPS | NULL_OPS,
    "text": EQ_OPS | PATTERN_OPS | SET_OPS | NULL_OPS,
    "id": EQ_OPS | PATTERN_OPS | SET_OPS | NULL_OPS,
    "status": EQ_OPS | SET_OPS,
    "time": EQ_OPS | ORDER_OPS | SET_OPS | NULL_OPS,
    "duration": EQ_OPS | ORDER_OPS | NULL_OPS,
}

_OP_ORDER = ("=", "!=", "<", "<=", ">", ">=", "like", "ilike", "not like", "not ilike", "in",
             "not in", "is null", "is not null")
_KEYWORDS = frozenset({"and", "or", "not", "like", "ilike", "in", "is", "null", "true", "false"})
_BARE_KEY = re.compile(r"[\w\-./:]+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_INT64 = 2**63 - 1


def field_type(field: Field) -> str:
    if field.kind == "metric":
        return "number"
    if field.kind in ("param", "tag", "dataset"):
        return "text"
    return ATTRIBUTES[field.key][1]


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # field word number string op ( ) , end
    text: str  # as written (lower-cased for words and operators)
    pos: int  # 0-based offset into the input
    value: object = None


def _error(pos: int, what: str, **details) -> InvalidInput:
    return InvalidInput(f"bad filter at position {pos + 1}: {what}", position=pos + 1, **details)


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the filter"
    if tok.kind == "string":
        return f"the string {_short(tok.text)}"
    return _short(tok.value if tok.kind == "word" else tok.text)


def _short(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:30] + "…")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises ``InvalidInput`` at the first stray character."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            out.append(Token(c, c, i))
            i += 1
        elif c in "'\"":
            value, end = _read_quoted(text, i)
            out.append(Token("string", text[i:end], i, value))
            i = end
        elif c.isdigit() or (c in "+-." and _NUMBER.match(text, i)):
            m = _NUMBER.match(text, i)
            if m is None:
                raise _error(i, f"unexpected character {c!r}")
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise _error(i, f"malformed number {_short(text[i:end + 1])}")
            raw = m.group()
            exact = len(raw) <= 19 and not any(ch in raw for ch in ".eE")  # int64 milliseconds
            value: float | int = int(raw) if exact else float(raw)  # float: huge becomes inf
            out.append(Token("number", raw, i, value))
            i = end
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if j < n and text[j] == ".":
                tok, j = _read_field(text, i, word, j + 1)
                out.append(tok)
            else:
                out.append(Token("word", word.lower(), i, word))
            i = j
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    out.append(Token("op", op, i))
                    i += len(op)
                    break
            else:
                raise _error(i, f"unexpected character {c!r}")
    out.append(Token("end", "", n))
    return out


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """A string in ' or "; backslash escapes and a doubled quote stand for the quote."""
    quote, i, parts = text[start], start + 1, []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            parts.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        elif c == quote:
            if i + 1 < n and text[i + 1] == quote:
                parts.append(quote)
                i += 2
            else:
                return "".join(parts), i + 1
        else:
            parts.append(c)
            i += 1
    raise _error(start, f"unterminated string starting with {quote}")


def _read_field(text: str, start: int, word: str, i: int) -> tuple[Token, int]:
    kind = PREFIXES.get(word.lower())
    if kind is None:
        raise _error(
            start,
            f"unknown prefix {word + '.'!r}; use metrics., params., tags., attributes. or dataset.",
        )
    n = len(text)
    if i < n and text[i] in "`\"":
        quote, j = text[i], text.find(text[i], i + 1)
        if j < 0:
            raise _error(i, f"unterminated key starting with {quote}")
        key, end = text[i + 1:j], j + 1
    else:
        m = _BARE_KEY.match(text, i)
        key, end = (m.group(), m.end()) if m else ("", i)
    if not key or key != key.strip():
        found = repr(text[i]) if i < n else "the end of the filter"
        raise _error(i, f"expected a key after {word + '.'!r} but found {found}")
    if kind == "attribute":
        if key.lower() not in ATTRIBUTES:
            raise _error(i, f"unknown attribute {key!r}; valid attributes: {', '.join(ATTRIBUTES)}")
        key = ATTRIBUTES[key.lower()][0]
    elif kind == "dataset":
        if key.lower() not in DATASET_KEYS:
            raise _error(i, f"unknown dataset field {key!r}; valid: {', '.join(DATASET_KEYS)}")
        key = key.lower()
    return Token("field", text[start:end], start, Field(kind, key)), end


# --------------------------------------------------------------------------- parser


def _check_text(text, what: str) -> None:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"{what} is {len(text)} characters long (limit {MAX_LENGTH})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates (from JSON) cannot reach the database
        raise InvalidInput(f"{what} holds a character that is not valid text at position "
                           f"{exc.start + 1}", position=exc.start + 1) from None


def parse_filter(text: str | None) -> Node | None:
    """The AST of ``text``, or None for an empty filter (matches every run)."""
    if text is None:
        return None
    _check_text(text, "filter")
    if not text.strip():
        return None
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.comparisons = 0

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text in words

    def fail(self, expected: str, tok: Token | None = None) -> InvalidInput:
        tok = tok or self.tok
        return _error(tok.pos, f"expected {expected} but found {_describe(tok)}",
                      expected=expected, found=tok.text)

    # -- grammar
    def parse(self) -> Node:
        node = self.parse_or()
        if self.tok.kind != "end":
            if self.tok.kind == ")":
                raise _error(self.tok.pos, "unbalanced ')'")
            raise self.fail("'and', 'or' or the end of the filter")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.is_word("or"):
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.is_word("and"):
            self.advance()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.tok.pos, f"the filter nests deeper than {MAX_DEPTH} levels")
        try:
            if self.is_word("not"):
                self.advance()
                return Not(self.parse_not())
            if self.tok.kind == "(":
                open_tok = self.advance()
                node = self.parse_or()
                if self.tok.kind != ")":
                    if self.tok.kind == "end":
                        raise _error(open_tok.pos, "this '(' is never closed")
                    raise self.fail("')', 'and' or 'or'")
                self.advance()
                return node
            return self.parse_comparison()
        finally:
            self.depth -= 1

    def parse_field(self) -> Field:
        tok = self.tok
        if tok.kind == "field":
            self.advance()
            return tok.value
        if tok.kind == "word" and tok.text in ATTRIBUTES:
            self.advance()
            return Field("attribute", ATTRIBUTES[tok.text][0])
        if tok.kind == "word" and tok.text not in _KEYWORDS:
            raise _error(
                tok.pos,
                f"unknown attribute {tok.value!r}; use metrics.KEY, params.KEY, tags.KEY, "
                f"dataset.name|digest|context or one of: {', '.join(ATTRIBUTES)}",
                found=tok.value,
            )
        raise self.fail("a field such as metrics.KEY, params.KEY, tags.KEY or an attribute")

    def parse_comparison(self) -> Compare:
        start = self.tok
        field = self.parse_field()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise _error(start.pos, f"the filter has more than {MAX_COMPARISONS} comparisons")
        op_tok = self.tok
        op = self.parse_operator()
        if op not in _ALLOWED[field_type(field)]:
            raise _error(op_tok.pos, _operator_hint(field, op), found=op)
        if op in NULL_OPS:
            return Compare(field, op)
        if op in SET_OPS:
            return Compare(field, op, self.parse_list(field, op, op_tok))
        return Compare(field, op, self.parse_value(field, op, op_tok))

    def parse_operator(self) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return {"==": "=", "<>": "!="}.get(tok.text, tok.text)
        if self.is_word("like", "ilike", "in"):
            return self.advance().text
        if self.is_word("not"):
            self.advance()
            if self.is_word("like", "ilike", "in"):
                return "not " + self.advance().text
            raise self.fail("'like', 'ilike' or 'in' after 'not'")
        if self.is_word("is"):
            self.advance()
            negate = self.is_word("not")
            if negate:
                self.advance()
            if not self.is_word("null"):
                raise self.fail("'null' after 'is not'" if negate else "'null' or 'not null' after 'is'")
            self.advance()
            return "is not null" if negate else "is null"
        raise self.fail("an operator (=, !=, <, <=, >, >=, like, ilike, in, is null)")

    def parse_list(self, field: Field, op: str, op_tok: Token) -> tuple:
        if self.tok.kind != "(":
            raise self.fail(f"'(' after '{op}'")
        self.advance()
        values = [self.parse_value(field, op, op_tok)]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.parse_value(field, op, op_tok))
            if len(values) > MAX_IN_VALUES:
                raise _error(self.tok.pos, f"an 'in' list holds at most {MAX_IN_VALUES} values")
        if self.tok.kind != ")":
            raise self.fail("',' or ')' in the list")
        self.advance()
        return tuple(dict.fromkeys(values))

    def parse_value(self, field: Field, op: str, op_tok: Token):
        tok = self.tok
        if tok.kind in ("number", "string") or self.is_word("true", "false"):
            self.advance()
            return _coerce(field, op, tok)
        if self.is_word("null"):
            raise _error(tok.pos, f"use 'is null' or 'is not null' to test for a missing value, not "
                                  f"'{op_tok.text} null'")
        after = f" after '{op_tok.text}'" if op_tok.kind == "op" or op in PATTERN_OPS else ""
        hint = "" if tok.kind != "word" or tok.text in _KEYWORDS else " (quote text values)"
        raise self.fail(f"a value{after}{hint}")


def _operator_hint(field: Field, op: str) -> str:
    ftype = field_type(field)
    allowed = ", ".join(o for o in _OP_ORDER if o in _ALLOWED[ftype])
    why = {
        "text": "params, tags and text attributes are compared as text",
        "id": "ids are compared as text",
        "number": "metrics are numbers",
        "status": "status is one of " + ", ".join(RUN_STATUSES),
        "time": "times are epoch milliseconds",
        "duration": "duration is a number of seconds",
    }[ftype]
    return f"'{op}' cannot be used with {field}: {why}; use {allowed}"


def _coerce(field: Field, op: str, tok: Token):
    """Turn a literal into the type the field is stored as (or refuse with a position)."""
    ftype = field_type(field)
    is_bool = tok.kind == "word"
    if ftype == "number":
        if tok.kind == "string":
            raise _error(tok.pos, f"{field} is a number: compare it with a number, not {_short(tok.value)}")
        return float(tok.text == "true") if is_bool else float(tok.value)
    if ftype == "duration":
        if tok.kind != "number":
            raise _error(tok.pos, f"duration is a number of seconds, not {_describe(tok)}")
        return float(tok.value)
    if ftype == "time":
        return _time_value(tok)
    text = tok.text.capitalize() if is_bool else (tok.value if tok.kind == "string" else tok.text)
    if op in PATTERN_OPS:
        if tok.kind != "string":
            raise _error(tok.pos, f"'{op}' needs a quoted pattern, not {_describe(tok)}")
        return text
    if ftype == "status":
        status = text.upper()
        if status not in RUN_STATUSES:
            raise _error(tok.pos, f"unknown status {_short(text)}; valid: {', '.join(RUN_STATUSES)}")
        return status
    if ftype == "id":
        return text.strip().lower().replace("-", "")
    return text


def _time_value(tok: Token) -> int:
    if tok.kind == "number":
        if isinstance(tok.value, float) and not tok.value.is_integer():
            raise _error(tok.pos, f"times are whole epoch milliseconds, not {tok.text}")
        value = int(tok.value) if tok.value == tok.value and abs(tok.value) != float("inf") else None
        if value is None or abs(value) > _INT64:
            raise _error(tok.pos, f"time {_short(tok.text)} is out of range")
        return value
    if tok.kind == "string":
        try:
            moment = datetime.fromisoformat(tok.value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _error(tok.pos, f"{_short(tok.value)} is not an ISO-8601 time or epoch "
                                  "milliseconds") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    raise _error(tok.pos, f"expected epoch milliseconds or an ISO-8601 string but found {_describe(tok)}")


# --------------------------------------------------------------------------- order by


def parse_order_by(items) -> list[OrderKey]:
    """``["metrics.accuracy DESC", "start_time"]`` -> sort keys (ascending unless DESC)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise InvalidInput(f"order_by must be a list of strings, not {type(items).__name__}")
    if len(items) > MAX_ORDER_KEYS:
        raise InvalidInput(f"order_by takes at most {MAX_ORDER_KEYS} keys")
    return [_parse_order_item(item) for item in items]


def _parse_order_item(item) -> OrderKey:
    _check_text(item, "order_by entry")
    if not item.strip():
        raise InvalidInput("order_by entries must not be empty", position=1)
    try:
        parser = _Parser(tokenize(item))
        field = parser.parse_field()
    except InvalidInput as exc:
        raise InvalidInput(f"bad order_by {_short(item)} {exc.message.removeprefix('bad filter ')}",
                           **exc.details) from None
    if field.kind == "dataset":
        raise InvalidInput(f"bad order_by {_short(item)}: runs cannot be sorted by dataset fields",
                           position=1)
    descending = False
    if parser.is_word("asc", "desc"):
        descending = parser.advance().text == "desc"
    if parser.tok.kind != "end":
        tok = parser.tok
        raise InvalidInput(
            f"bad order_by {_short(item)} at position {tok.pos + 1}: expected ASC, DESC or the end "
            f"but found {_describe(tok)}",
            position=tok.pos + 1,
        )
    return OrderKey(field, descending)


def fields_of(node: Node | None):
    """Every field a filter mentions, in order of appearance."""
    if node is None:
        return
    if isinstance(node, Compare):
        yield node.field
    elif isinstance(node, Not):
        yield from fields_of(node.item)
    else:
        for item in node.items:
            yield from fields_of(item)
