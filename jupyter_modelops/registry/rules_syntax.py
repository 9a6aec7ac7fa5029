"""The expression language of rules tables, part 1: tokenizer, syntax tree, parser.

Rules come from people who are not the ones running them, so they are never handed to
``eval``: this module reads a small SQL-like language into a tree that
``rules_eval.py`` type-checks and evaluates column-wise with numpy. Every problem with an
expression is an ``ExprError`` carrying the character position; ``rules.py`` turns it
into an ``InvalidInput`` naming the rule. No input can crash the parser: length, nesting
and tree depth are bounded, so there is no ``RecursionError`` either.

Grammar (keywords are case-insensitive)::

    expr      := or
    or        := and ('or' and)*
    and       := not ('and' not)*
    not       := 'not' not | predicate
    predicate := sum [ cmp sum | ['not'] 'in' '(' expr (',' expr)* ')'
                     | ['not'] 'between' sum 'and' sum | 'is' ['not'] 'null' ]
    cmp       := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
    sum       := product (('+' | '-') product)*
    product   := unary (('*' | '/' | '%') unary)*
    unary     := ('-' | '+') unary | atom
    atom      := number | string | 'true' | 'false' | 'null' | column | '(' expr ')'

Columns are identifiers, or any name in backquotes (`` `annual income` ``). Nulls follow
SQL's three-valued logic: a comparison with a null is unknown, and a rule fires only when
its condition is true.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LENGTH = 10_000
MAX_DEPTH = 64
KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
COMPARISONS = {"=": "==", "==": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class ExprError(Exception):
    """A problem with an expression; ``pos`` is a 0-based character offset (or None)."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # num | str | name | kw | op | end
    value: object
    pos: int
    text: str


def tokenize(text: str) -> list[Token]:
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    j = k
                    while j < n and text[j].isdigit():
                        j += 1
            raw = text[i:j]
            if not raw.isascii() or raw.count(".") > 1:
                raise ExprError(f"malformed number {raw!r}", i)
            if j < n and (text[j].isalpha() or text[j] == "_"):
                raise ExprError(f"malformed number {text[i:j + 1]!r}", i)
            tokens.append(Token("num", float(raw), i, raw))
            i = j
        elif c in "'\"":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExprError("unterminated string", i)
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                elif text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote, SQL style
                        buf.append(c)
                        j += 2
                    else:
                        break
                else:
                    buf.append(text[j])
                    j += 1
            tokens.append(Token("str", "".join(buf), i, text[i:j + 1]))
            i = j + 1
        elif c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise ExprError("unterminated `quoted name`", i)
            if j == i + 1:
                raise ExprError("empty `quoted name`", i)
            tokens.append(Token("name", text[i + 1:j], i, text[i:j + 1]))
            i = j + 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word.lower() in KEYWORDS:
                tokens.append(Token("kw", word.lower(), i, word))
            else:
                tokens.append(Token("name", word, i, word))
            i = j
        else:
            two = text[i:i + 2]
            if two in ("==", "!=", "<>", "<=", ">="):
                tokens.append(Token("op", two, i, two))
                i += 2
            elif c in "=<>+-*/%(),":
                tokens.append(Token("op", c, i, c))
                i += 1
            else:
                raise ExprError(f"unexpected character {c!r}", i)
    tokens.append(Token("end", None, n, "end of expression"))
    return tokens


# --------------------------------------------------------------------------- syntax tree


@dataclass
class Node:
    pos: int


@dataclass
class Literal(Node):
    value: object  # float | str | bool | None


@dataclass
class Column(Node):
    name: str


@dataclass
class Unary(Node):
    op: str  # '-' | '+'
    operand: Node


@dataclass
class Binary(Node):
    op: str  # arithmetic or comparison (comparisons normalised to ==, !=, <, <=, >, >=)
    left: Node
    right: Node


@dataclass
class Logical(Node):
    op: str  # 'and' | 'or'
    left: Node
    right: Node


@dataclass
class Not(Node):
    operand: Node


@dataclass
class In(Node):
    operand: Node
    items: list
    negated: bool


@dataclass
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass
class IsNull(Node):
    operand: Node
    negated: bool


def _describe(tok: Token) -> str:
    return "end of expression" if tok.kind == "end" else repr(tok.text)


class Parser:
    """Recursive descent over the token list; depth-limited so no input can blow the stack."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def accept(self, kind: str, value=None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (value is None or tok.value == value):
            return self.advance()
        return None

    def expect(self, kind: str, value, what: str) -> Token:
        tok = self.accept(kind, value)
        if tok is None:
            raise ExprError(f"expected {what} but found {_describe(self.tok)}", self.tok.pos)
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {_describe(self.tok)}", self.tok.pos)
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels", self.tok.pos)
        try:
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        node = self.and_()
        while (tok := self.accept("kw", "or")) is not None:
            node = Logical(tok.pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while (tok := self.accept("kw", "and")) is not None:
            node = Logical(tok.pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        tok = self.accept("kw", "not")
        if tok is not None:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels", tok.pos)
            try:
                return Not(tok.pos, self.not_())
            finally:
                self.depth -= 1
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum_()
        tok = self.tok
        if tok.kind == "op" and tok.value in COMPARISONS:
            self.advance()
            return Binary(tok.pos, COMPARISONS[tok.value], left, self.sum_())
        negated = False
        if tok.kind == "kw" and tok.value == "not":
            nxt = self.tokens[self.i + 1]
            if not (nxt.kind == "kw" and nxt.value in ("in", "between")):
                raise ExprError(f"expected 'in' or 'between' after 'not' but found {_describe(nxt)}", nxt.pos)
            self.advance()
            negated = True
            tok = self.tok
        if self.accept("kw", "in"):
            self.expect("op", "(", "'(' after 'in'")
            items = [self.expr()]
            while self.accept("op", ","):
                items.append(self.expr())
            self.expect("op", ")", "',' or ')' in the 'in' list")
            return In(tok.pos, left, items, negated)
        if self.accept("kw", "between"):
            low = self.sum_()
            self.expect("kw", "and", "'and' in 'between … and …'")
            return Between(tok.pos, left, low, self.sum_(), negated)
        if self.accept("kw", "is"):
            neg = self.accept("kw", "not") is not None
            self.expect("kw", "null", "'null' after 'is'")
            return IsNull(tok.pos, left, neg)
        return left

    def sum_(self) -> Node:
        node = self.product()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            tok = self.advance()
            node = Binary(tok.pos, tok.value, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/", "%"):
            tok = self.advance()
            node = Binary(tok.pos, tok.value, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind == "op" and tok.value in ("-", "+"):
            self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels", tok.pos)
            try:
                return Unary(tok.pos, tok.value, self.unary())
            finally:
                self.depth -= 1
        return self.atom()

    def atom(self) -> Node:
        tok = self.advance()
        if tok.kind == "num":
            return Literal(tok.pos, tok.value)
        if tok.kind == "str":
            return Literal(tok.pos, tok.value)
        if tok.kind == "name":
            return Column(tok.pos, tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return Literal(tok.pos, tok.value == "true")
        if tok.kind == "kw" and tok.value == "null":
            return Literal(tok.pos, None)
        if tok.kind == "op" and tok.value == "(":
            node = self.expr()
            self.expect("op", ")", "')'")
            return node
        raise ExprError(f"expected a value or a column but found {_describe(tok)}", tok.pos)


MAX_TREE_DEPTH = 200


def parse(text: str) -> Node:
    node = Parser(text).parse()
    _check_tree_depth(node)
    return node


def children(n: Node) -> list[Node]:
    if isinstance(n, (Unary, Not, IsNull)):
        return [n.operand]
    if isinstance(n, (Binary, Logical)):
        return [n.left, n.right]
    if isinstance(n, In):
        return [n.operand, *n.items]
    if isinstance(n, Between):
        return [n.operand, n.low, n.high]
    return []


def _check_tree_depth(root: Node) -> None:
    """Long chains (``a + a + … + a``) nest without parentheses; the checker and the
    evaluator recurse over the tree, so bound its depth here, without recursion."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ExprError(f"expression is too long: more than {MAX_TREE_DEPTH} nested operations", node.pos)
        stack.extend((child, depth + 1) for child in children(node))
