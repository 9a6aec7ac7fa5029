"""The expression language of rules tables, part 2: types and column-wise evaluation.

Types are checked once, when a table is read, against the declared input types, so
evaluation never meets a string where it expects a number. Evaluation works on whole
numpy columns (one array per tree node), which keeps 100k-row tables fast; nulls ride
along as a mask and follow SQL's three-valued logic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules_syntax import (
    Between,
    Binary,
    Column,
    ExprError,
    In,
    IsNull,
    Literal,
    Logical,
    Node,
    Not,
    Unary,
    children,
)

NUMBER, STRING, BOOLEAN, NULL = "number", "string", "boolean", "null"


# --------------------------------------------------------------------------- types


def columns_of(node: Node) -> list[Column]:
    """Every column reference in ``node``, in reading order."""
    out: list[Column] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Column):
            out.append(n)
        stack.extend(children(n))
    return sorted(out, key=lambda c: c.pos)


def literal_type(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, str):
        return STRING
    return NUMBER


def _same(a: str, b: str) -> bool:
    return a == b or NULL in (a, b)


def type_of(node: Node, columns: dict[str, str]) -> str:
    """The type of ``node`` given column types; raises ``ExprError`` on a mismatch."""
    if isinstance(node, Literal):
        return literal_type(node.value)
    if isinstance(node, Column):
        if node.name not in columns:
            raise ExprError(f"unknown column {node.name!r}", node.pos)
        return columns[node.name]
    if isinstance(node, Unary):
        t = type_of(node.operand, columns)
        if not _same(t, NUMBER):
            raise ExprError(f"unary '{node.op}' needs a number, not a {t}", node.pos)
        return NUMBER
    if isinstance(node, Not):
        t = type_of(node.operand, columns)
        if not _same(t, BOOLEAN):
            raise ExprError(f"'not' needs a condition, not a {t}", node.pos)
        return BOOLEAN
    if isinstance(node, Logical):
        for side in (node.left, node.right):
            t = type_of(side, columns)
            if not _same(t, BOOLEAN):
                raise ExprError(f"'{node.op}' joins conditions, but one side is a {t}", side.pos)
        return BOOLEAN
    if isinstance(node, Binary):
        lt, rt = type_of(node.left, columns), type_of(node.right, columns)
        if node.op in ("+", "-", "*", "/", "%"):
            for t in (lt, rt):
                if not _same(t, NUMBER):
                    raise ExprError(f"'{node.op}' needs numbers, not a {t}", node.pos)
            return NUMBER
        if NULL in (lt, rt):
            raise ExprError("a comparison with null is never true; use 'is null' / 'is not null'", node.pos)
        if lt != rt:
            raise ExprError(f"cannot compare a {lt} with a {rt}", node.pos)
        if lt == BOOLEAN and node.op not in ("==", "!="):
            raise ExprError(f"'{node.op}' does not order true/false values", node.pos)
        return BOOLEAN
    if isinstance(node, In):
        t = type_of(node.operand, columns)
        for item in node.items:
            it = type_of(item, columns)
            if not _same(t, it):
                raise ExprError(f"'in' list holds a {it} but is matched against a {t}", item.pos)
        return BOOLEAN
    if isinstance(node, Between):
        t = type_of(node.operand, columns)
        if t == BOOLEAN:
            raise ExprError("'between' needs numbers or strings, not true/false", node.pos)
        for bound in (node.low, node.high):
            bt = type_of(bound, columns)
            if not _same(t, bt):
                raise ExprError(f"cannot compare a {t} with a {bt} in 'between'", bound.pos)
        return BOOLEAN
    if isinstance(node, IsNull):
        type_of(node.operand, columns)
        return BOOLEAN
    raise ExprError(f"unsupported expression {type(node).__name__}", node.pos)  # pragma: no cover


# --------------------------------------------------------------------------- evaluation


@dataclass
class Vec:
    """Column-wise values with a null mask; either part may be a numpy scalar (broadcast)."""

    data: object
    null: object


_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply}
_CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal}


def truth(v: Vec):
    """(surely true, surely false) masks of a boolean Vec."""
    known = ~np.asarray(v.null, dtype=bool)
    data = np.asarray(v.data, dtype=bool)
    return data & known, ~data & known


def evaluate(node: Node, frame: dict[str, Vec]) -> Vec:
    """Evaluate a type-checked expression over prepared columns (see ``rules.column_vec``)."""
    if isinstance(node, Literal):
        if node.value is None:
            return Vec(np.float64(0.0), np.bool_(True))
        if isinstance(node.value, str):
            return Vec(np.str_(node.value), np.bool_(False))
        if isinstance(node.value, bool):
            return Vec(np.bool_(node.value), np.bool_(False))
        return Vec(np.float64(node.value), np.bool_(False))
    if isinstance(node, Column):
        return frame[node.name]
    if isinstance(node, Unary):
        v = evaluate(node.operand, frame)
        return Vec(np.negative(v.data) if node.op == "-" else v.data, v.null)
    if isinstance(node, Not):
        v = evaluate(node.operand, frame)
        return Vec(np.logical_not(v.data), v.null)
    if isinstance(node, Logical):
        lt, lf = truth(evaluate(node.left, frame))
        rt, rf = truth(evaluate(node.right, frame))
        if node.op == "and":
            true, false = lt & rt, lf | rf
        else:
            true, false = lt | rt, lf & rf
        return Vec(true, ~(true | false))
    if isinstance(node, Binary):
        left, right = evaluate(node.left, frame), evaluate(node.right, frame)
        null = np.logical_or(left.null, right.null)
        with np.errstate(all="ignore"):
            if node.op in _ARITH:
                data = _ARITH[node.op](left.data, right.data)
            elif node.op in ("/", "%"):
                zero = np.equal(right.data, 0)
                null = null | zero
                divisor = np.where(zero, 1.0, right.data)
                data = (np.divide if node.op == "/" else np.mod)(left.data, divisor)
            else:
                data = _CMP[node.op](left.data, right.data)
        return Vec(data, null)
    if isinstance(node, In):
        return _evaluate_in(node, frame)
    if isinstance(node, Between):
        x = evaluate(node.operand, frame)
        low, high = evaluate(node.low, frame), evaluate(node.high, frame)
        ge = Vec(np.greater_equal(x.data, low.data), np.logical_or(x.null, low.null))
        le = Vec(np.less_equal(x.data, high.data), np.logical_or(x.null, high.null))
        gt, gf = truth(ge)
        lt, lf = truth(le)
        true, false = gt & lt, gf | lf
        if node.negated:
            true, false = false, true
        return Vec(true, ~(true | false))
    if isinstance(node, IsNull):
        v = evaluate(node.operand, frame)
        isnull = np.asarray(v.null, dtype=bool)
        return Vec(~isnull if node.negated else isnull, np.bool_(False))
    raise ExprError(f"unsupported expression {type(node).__name__}", node.pos)  # pragma: no cover


def _evaluate_in(node: In, frame: dict[str, Vec]) -> Vec:
    x = evaluate(node.operand, frame)
    if all(isinstance(i, Literal) for i in node.items):
        values = [i.value for i in node.items if i.value is not None]
        any_null = len(values) < len(node.items)
        hit = np.isin(x.data, np.asarray(values)) if values else np.zeros(np.shape(x.data), bool)
        hit_known = hit & ~np.asarray(x.null, dtype=bool)
        unknown = np.asarray(x.null, dtype=bool) | (any_null & ~hit_known)
    else:
        hit_known = np.bool_(False)
        unknown = np.bool_(False)
        for item in node.items:
            v = evaluate(item, frame)
            t, _f = truth(Vec(np.equal(x.data, v.data), np.logical_or(x.null, v.null)))
            hit_known = hit_known | t
            unknown = unknown | np.logical_or(x.null, v.null)
        unknown = unknown & ~hit_known
    true, false = hit_known, ~(hit_known | unknown)
    if node.negated:
        true, false = false, true
    return Vec(true, ~(true | false))
