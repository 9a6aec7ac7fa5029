"""Rules tables: declarative decision models evaluated by our own interpreter.

A table is YAML/JSON (or the equivalent dict)::

    inputs: {age: number, country: string, income: number}
    output: {name: decision, type: string}
    hit_policy: first          # first | priority | unique | collect (+ aggregate)
    default: review
    rules:
      - when: "age >= 18 and country in ('FR', 'DE') and income > 2 * 1000"
        then: approve
      - when: "age < 18"
        then: reject

``then`` (and ``default``) is a literal; a string starting with ``=`` or a mapping
``{expr: "..."}`` is an expression (``then: "= income * 0.1"``). The whole table is
checked when it is read (syntax, unknown columns, types), so a broken table is refused at
registration, never discovered in production. Rules are numbered from 1 and character
positions from 1 in messages, as a person reading the table counts them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidInput
from . import rules_eval as ev
from . import rules_syntax as syn

INPUT_TYPES = {
    "number": ev.NUMBER, "numeric": ev.NUMBER, "float": ev.NUMBER, "double": ev.NUMBER,
    "integer": ev.NUMBER, "int": ev.NUMBER, "decimal": ev.NUMBER,
    "string": ev.STRING, "str": ev.STRING, "text": ev.STRING, "category": ev.STRING,
    "boolean": ev.BOOLEAN, "bool": ev.BOOLEAN,
}
OUTPUT_TYPES = {"number": ev.NUMBER, "integer": ev.NUMBER, "string": ev.STRING, "boolean": ev.BOOLEAN}
HIT_POLICIES = ("first", "priority", "unique", "collect")
AGGREGATES = ("count", "sum", "min", "max")
TABLE_KEYS = {"inputs", "output", "hit_policy", "aggregate", "default", "rules", "name",
              "description", "version", "metadata"}
RULE_KEYS = {"when", "then", "priority", "id", "name", "description", "note"}
MAX_RULES = 10_000
SIGNATURE_TYPES = {ev.NUMBER: "float64", ev.STRING: "string", ev.BOOLEAN: "bool"}


def _fail(where: str, message: str, text: str | None = None, pos: int | None = None,
          hint: str = "") -> InvalidInput:
    at = f" at character {pos + 1}" if pos is not None else ""
    shown = ""
    if text is not None:
        shown = f" in {text[:80]!r}" + ("…" if len(text) > 80 else "")
    return InvalidInput(f"rules table: {where}: {message}{at}{shown}{hint}", where=where,
                        position=None if pos is None else pos + 1)


@dataclass
class Rule:
    index: int  # 1-based
    when_text: str
    when: syn.Node
    then: syn.Node
    priority: float = 0.0
    id: str | None = None


class RulesTable:
    """A validated rules table; ``predict(frame)`` evaluates it column-wise."""

    def __init__(self, source: dict) -> None:
        if not isinstance(source, dict):
            raise InvalidInput(f"a rules table is a mapping, not {type(source).__name__}")
        unknown = sorted(str(k) for k in source if k not in TABLE_KEYS)
        if unknown:
            raise InvalidInput(f"rules table: unknown key(s) {', '.join(map(repr, unknown))} "
                               f"(known: {', '.join(sorted(TABLE_KEYS))})")
        self.source = source
        self.inputs = _read_inputs(source.get("inputs"))
        self.output_name, declared = _read_output(source.get("output"))
        self.hit_policy = str(source.get("hit_policy", "first")).lower()
        if self.hit_policy not in HIT_POLICIES:
            raise InvalidInput(f"rules table: hit_policy {source.get('hit_policy')!r} is not one of "
                               f"{', '.join(HIT_POLICIES)}")
        self.aggregate = source.get("aggregate")
        if self.aggregate is not None:
            if self.hit_policy != "collect" or self.aggregate not in AGGREGATES:
                raise InvalidInput(f"rules table: aggregate must be one of {', '.join(AGGREGATES)} "
                                   "and needs hit_policy: collect")
        raw_rules = source.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise InvalidInput("rules table: 'rules' must be a non-empty list")
        if len(raw_rules) > MAX_RULES:
            raise InvalidInput(f"rules table: more than {MAX_RULES} rules")
        self._value_types: list[tuple[str, str]] = []
        self.rules = [self._read_rule(i, r) for i, r in enumerate(raw_rules, start=1)]
        self.default = (self._value("default", source["default"]) if source.get("default") is not None
                        else syn.Literal(0, None))
        self.output_type = self._output_type(declared)
        self.integer_output = isinstance(source.get("output"), dict) and \
            str(source["output"].get("type", "")).lower() == "integer"
        if self.aggregate in ("sum", "min", "max") and self.output_type != ev.NUMBER:
            raise InvalidInput(f"rules table: aggregate {self.aggregate!r} needs a number output")

    # ------------------------------------------------------------------ reading
    def _compile(self, where: str, text: str, offset: int = 0) -> tuple[syn.Node, str]:
        try:
            node = syn.parse(text)
            typ = ev.type_of(node, self.inputs)
        except syn.ExprError as exc:
            hint = ""
            if exc.message.startswith("unknown column"):
                hint = f" (inputs: {', '.join(self.inputs)})"
            pos = None if exc.pos is None else exc.pos + offset
            raise _fail(where, exc.message, "=" + text if offset else text, pos, hint) from None
        except RecursionError:
            raise _fail(where, "expression is too deeply nested", text) from None
        return node, typ

    def _read_rule(self, index: int, raw) -> Rule:
        where = f"rule {index}"
        if not isinstance(raw, dict):
            raise _fail(where, f"a rule is a mapping with 'when' and 'then', not {type(raw).__name__}")
        unknown = sorted(str(k) for k in raw if k not in RULE_KEYS)
        if unknown:
            raise _fail(where, f"unknown key(s) {', '.join(map(repr, unknown))} "
                               f"(known: {', '.join(sorted(RULE_KEYS))})")
        if "when" not in raw or "then" not in raw:
            raise _fail(where, "needs both 'when' and 'then'")
        when = raw["when"]
        if isinstance(when, bool):
            when = "true" if when else "false"
        if not isinstance(when, str):
            raise _fail(where, f"'when' must be a condition text, not {type(when).__name__}")
        node, typ = self._compile(where, when)
        if typ not in (ev.BOOLEAN, ev.NULL):
            raise _fail(where, f"'when' must be a condition (true/false), not a {typ}", when)
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, (int, float)):
            raise _fail(where, "'priority' must be a number")
        rid = raw.get("id", raw.get("name"))
        return Rule(index, when, node, self._value(f"{where} 'then'", raw["then"]), float(priority),
                    None if rid is None else str(rid))

    def _value(self, where: str, raw) -> syn.Node:
        """A literal, or an expression when written ``= …`` or ``{expr: …}``."""
        if isinstance(raw, dict) and set(raw) == {"expr"} and isinstance(raw["expr"], str):
            node, typ = self._compile(where, raw["expr"])
        elif isinstance(raw, str) and raw.startswith("="):
            node, typ = self._compile(where, raw[1:], offset=1)
        elif raw is None or isinstance(raw, (bool, str)):
            node, typ = syn.Literal(0, raw), None
        elif isinstance(raw, (int, float)):
            node, typ = syn.Literal(0, float(raw)), None
        else:
            raise _fail(where, f"unsupported value {raw!r:.60} (use a number, text, true/false, "
                               "null, or '= expression')")
        self._value_types.append((where, typ or ev.literal_type(node.value)))
        return node

    def _output_type(self, declared: str | None) -> str:
        seen = [(w, t) for w, t in self._value_types if t != ev.NULL]
        if declared is None:
            kinds = sorted({t for _, t in seen})
            if len(kinds) > 1:
                raise InvalidInput(f"rules table: 'then' values mix {' and '.join(kinds)}; "
                                   "declare output: {name: ..., type: ...}")
            return kinds[0] if kinds else ev.STRING
        for where, t in seen:
            if t != declared:
                raise _fail(where, f"gives a {t} but the output {self.output_name!r} is a {declared}")
        return declared

    # ------------------------------------------------------------------ evaluation
    def signature(self) -> dict:
        out = {"type": "dataframe", "columns": [{"name": self.output_name,
                                                 "type": SIGNATURE_TYPES[self.output_type]}]}
        if self.hit_policy == "collect" and self.aggregate is None:
            out["columns"][0]["type"] = "list"
        return {"inputs": {"type": "dataframe", "columns": [
                    {"name": name, "type": SIGNATURE_TYPES[t]} for name, t in self.inputs.items()]},
                "outputs": out}

    def _frame(self, X) -> tuple[dict[str, ev.Vec], int]:
        import pandas as pd

        if isinstance(X, dict):
            X = pd.DataFrame(X) if any(isinstance(v, (list, tuple, np.ndarray, pd.Series))
                                       for v in X.values()) else pd.DataFrame([X])
        elif isinstance(X, list):
            X = pd.DataFrame(X)
        if not isinstance(X, pd.DataFrame):
            raise InvalidInput(f"a rules model predicts on a DataFrame, a dict or a list of dicts, "
                               f"not {type(X).__name__}")
        missing = [c for c in self.inputs if c not in X.columns]
        if missing:
            raise InvalidInput(f"input is missing columns {', '.join(map(repr, missing))}")
        return {name: column_vec(X[name], name, t) for name, t in self.inputs.items()}, len(X)

    def _fired(self, frame, n: int) -> list[np.ndarray]:
        out = []
        for rule in self.rules:
            true, _ = ev.truth(ev.evaluate(rule.when, frame))
            out.append(np.broadcast_to(true, (n,)))
        return out

    def _values(self, node: syn.Node, frame, n: int) -> tuple[np.ndarray, np.ndarray]:
        v = ev.evaluate(node, frame)
        return np.broadcast_to(np.asarray(v.data), (n,)), np.broadcast_to(np.asarray(v.null, bool), (n,))

    def _empty(self, n: int) -> np.ndarray:
        return np.full(n, np.nan) if self.output_type == ev.NUMBER else np.full(n, None, dtype=object)

    def _put(self, result: np.ndarray, mask: np.ndarray, node: syn.Node, frame, n: int) -> None:
        if not mask.any():
            return
        if isinstance(node, syn.Literal):  # the common case: a constant decision
            value = node.value
            result[mask] = (np.nan if value is None else value) if self.output_type == ev.NUMBER else value
            return
        data, null = self._values(node, frame, n)
        if self.output_type == ev.NUMBER:
            result[mask] = np.where(null[mask], np.nan, data[mask].astype(float))
        else:
            values = data[mask].astype(object)  # numpy str/bool become Python str/bool
            values[null[mask]] = None
            result[mask] = values

    def evaluate(self, X) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
        """(outputs, per-rule fired masks, deciding rule number per row — 0 for the default,
        None for ``collect``)."""
        frame, n = self._frame(X)
        fired = self._fired(frame, n)
        if self.hit_policy == "collect":
            return self._collect(fired, frame, n), fired, None
        order = list(range(len(self.rules)))
        if self.hit_policy == "priority":
            order.sort(key=lambda i: (-self.rules[i].priority, i))
        if self.hit_policy == "unique":
            clash = np.flatnonzero(np.sum(fired, axis=0) > 1)
            if clash.size:
                rows = ", ".join(str(int(r)) for r in clash[:5]) + ("…" if clash.size > 5 else "")
                raise InvalidInput(f"rows {rows} match more than one rule, but the hit policy is 'unique'")
        result, decided = self._empty(n), np.zeros(n, dtype=np.int64)
        assigned = np.zeros(n, dtype=bool)
        for i in order:
            mask = fired[i] & ~assigned
            self._put(result, mask, self.rules[i].then, frame, n)
            decided[mask] = self.rules[i].index
            assigned |= mask
        self._put(result, ~assigned, self.default, frame, n)
        return self._finish(result), fired, decided

    def _collect(self, fired, frame, n: int) -> np.ndarray:
        if self.aggregate == "count":
            return np.sum(fired, axis=0).astype(np.int64)
        values = []
        for rule, mask in zip(self.rules, fired):
            col = self._empty(n)
            self._put(col, mask, rule.then, frame, n)
            values.append(col)
        default = self._empty(n)
        self._put(default, np.ones(n, bool), self.default, frame, n)
        if self.aggregate in ("sum", "min", "max"):
            stacked = np.vstack([np.where(m, v, np.nan) for v, m in zip(values, fired)])
            with np.errstate(all="ignore"), _quiet():
                agg = {"sum": np.nansum, "min": np.nanmin, "max": np.nanmax}[self.aggregate](stacked, axis=0)
            return self._finish(np.where(np.any(fired, axis=0), agg, default))
        out = np.empty(n, dtype=object)
        for row in range(n):
            out[row] = []
        for col, mask in zip(values, fired):
            for row in np.flatnonzero(mask):
                out[row].append(self._py(col[row]))
        if not (isinstance(self.default, syn.Literal) and self.default.value is None):
            for row in np.flatnonzero(~np.any(fired, axis=0)):
                out[row].append(self._py(default[row]))
        return out

    def _py(self, v):
        if isinstance(v, float) and np.isnan(v):
            return None
        if isinstance(v, np.generic):
            v = v.item()
        if self.integer_output and isinstance(v, float):
            return int(v)
        return v

    def _finish(self, result: np.ndarray) -> np.ndarray:
        if self.integer_output:
            if np.isnan(result).any():
                return np.array([None if np.isnan(v) else int(v) for v in result], dtype=object)
            return result.astype(np.int64)
        return result

    def predict(self, X) -> np.ndarray:
        return self.evaluate(X)[0]

    def explain(self, X):
        """A DataFrame with the output and the rule that decided it (0: the default), or for
        ``collect`` the list of every rule that matched."""
        import pandas as pd

        values, fired, decided = self.evaluate(X)
        if decided is None:
            numbers = np.array([r.index for r in self.rules])
            stacked = np.vstack(fired)
            decided = np.empty(len(values), dtype=object)
            for row in range(len(values)):
                decided[row] = numbers[stacked[:, row]].tolist()
        return pd.DataFrame({self.output_name: values, "rule": decided})

    def to_dict(self) -> dict:
        return self.source

    def __repr__(self) -> str:
        return (f"<RulesTable {len(self.rules)} rules hit_policy={self.hit_policy} "
                f"output={self.output_name}:{self.output_type}>")


class _quiet:
    """Silence numpy's 'All-NaN slice' warnings for rows no rule matched."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


# --------------------------------------------------------------------------- helpers


def _read_inputs(raw) -> dict[str, str]:
    if isinstance(raw, list):
        try:
            raw = {item["name"]: item.get("type", "number") for item in raw}
        except (TypeError, KeyError, AttributeError):
            raise InvalidInput("rules table: 'inputs' list items need 'name' and 'type'") from None
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput("rules table: 'inputs' must map each column to its type, "
                           "e.g. inputs: {age: number, country: string}")
    out = {}
    for name, typ in raw.items():
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"rules table: input name {name!r} must be non-empty text")
        key = str(typ).lower()
        if key not in INPUT_TYPES:
            raise InvalidInput(f"rules table: input {name!r} has unknown type {typ!r} "
                               f"(use number, integer, string or boolean)")
        out[name] = INPUT_TYPES[key]
    return out


def _read_output(raw) -> tuple[str, str | None]:
    if raw is None:
        return "output", None
    if isinstance(raw, str) and raw:
        return raw, None
    if isinstance(raw, dict) and isinstance(raw.get("name", "output"), str):
        typ = raw.get("type")
        if typ is None:
            return raw.get("name", "output"), None
        if str(typ).lower() not in OUTPUT_TYPES:
            raise InvalidInput(f"rules table: output type {typ!r} is not one of {', '.join(OUTPUT_TYPES)}")
        return raw.get("name", "output"), OUTPUT_TYPES[str(typ).lower()]
    raise InvalidInput("rules table: 'output' must be a name or {name: ..., type: ...}")


def column_vec(series, name: str, typ: str) -> ev.Vec:
    """Turn one input column into the arrays the evaluator works on."""
    import pandas as pd

    null = series.isna().to_numpy(dtype=bool)
    if typ == ev.NUMBER:
        if pd.api.types.is_bool_dtype(series):
            raise InvalidInput(f"column {name!r} should hold numbers but holds true/false values")
        if not (pd.api.types.is_numeric_dtype(series) or series.dtype == object):
            what = "strings" if pd.api.types.is_string_dtype(series) else str(series.dtype)
            raise InvalidInput(f"column {name!r} should hold numbers but holds {what}")
        try:
            data = series.astype("float64").to_numpy()
        except (TypeError, ValueError):
            raise InvalidInput(f"column {name!r} should hold numbers but holds strings") from None
        return ev.Vec(np.where(null, 0.0, data), null | np.isnan(data))
    if typ == ev.BOOLEAN:
        values = series.astype(object).to_numpy()
        if not all(isinstance(v, (bool, np.bool_)) for v in values[~null]):
            raise InvalidInput(f"column {name!r} should hold true/false values")
        return ev.Vec(np.where(null, False, values).astype(bool), null)
    values = series.astype(object).to_numpy()
    return ev.Vec(np.where(null, "", values).astype(str), null)


def read_table(source) -> RulesTable:
    """A ``RulesTable`` from a table, a dict, YAML/JSON text, or a .yaml/.yml/.json path."""
    if isinstance(source, RulesTable):
        return source
    if isinstance(source, dict):
        return RulesTable(source)
    if looks_like_path(source):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read rules file {os.fspath(path)}: {exc}") from None
        return RulesTable(parse_text(text))
    if isinstance(source, (str, bytes)):
        return RulesTable(parse_text(source))
    raise InvalidInput(f"a rules table is a dict, YAML/JSON text or a file path, not {type(source).__name__}")


def looks_like_path(source) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return (isinstance(source, str) and "\n" not in source and len(source) < 4096
            and source.lower().endswith((".yaml", ".yml", ".json")))


def looks_like_table(obj) -> bool:
    """Cheap test used to pick the rules flavor for ``register_model``."""
    if isinstance(obj, RulesTable):
        return True
    if isinstance(obj, dict):
        return "rules" in obj
    if isinstance(obj, os.PathLike) or looks_like_path(obj):
        return True
    if isinstance(obj, str):
        return "rules" in obj and ("\n" in obj or obj.lstrip().startswith("{"))
    return False


def parse_text(text) -> dict:
    import yaml

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("rules table is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"rules table is not valid YAML/JSON: {problem}{where}") from None
    if not isinstance(data, dict):
        raise InvalidInput("rules table must be a mapping with 'inputs' and 'rules'")
    return data
