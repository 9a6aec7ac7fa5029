"""Rules tables come from people other than those who run them: the interpreter must never
hand their text to Python, and nothing they write may crash it.

- the rules modules contain no ``eval``/``exec``/``compile``/``__import__``/``getattr`` on
  data, no pickle and no unsafe YAML (checked on their syntax trees), and evaluating
  hostile rule text with those builtins booby-trapped never reaches them;
- generated tables (random shapes, keys, types, rule texts) and generated inputs give a
  table, predictions or ``InvalidInput`` — nothing else;
- generated simple rule sets under each hit policy agree with a row-by-row reference.
"""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jupyter_modelops.registry as registry_pkg
from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.registry.rules import RulesTable, read_table

RULES_MODULES = ["rules.py", "rules_syntax.py", "rules_eval.py", "flavors/rules.py"]
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "getattr", "setattr", "globals", "locals",
                   "vars", "open", "input", "breakpoint"}
FORBIDDEN_MODULES = {"pickle", "cloudpickle", "marshal", "importlib", "subprocess", "ctypes"}


def _calls_and_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            yield "call", name, node.lineno, node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield "import", alias.name.split(".")[0], node.lineno, None
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield "import", node.module.split(".")[0], node.lineno, None


def _constant_name(call: ast.Call) -> bool:
    return len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str)


@pytest.mark.parametrize("module", RULES_MODULES)
def test_the_interpreter_never_evaluates_rule_text_as_python(module):
    path = Path(registry_pkg.__file__).parent / module
    problems = []
    for kind, name, line, call in _calls_and_imports(path):
        fn = call.func if call is not None else None
        if kind == "call" and name in FORBIDDEN_CALLS and not (
                isinstance(fn, ast.Attribute) and name in ("compile", "open")  # re.compile, path.open
                or name == "getattr" and _constant_name(call)):  # getattr(exc, "problem_mark")
            problems.append(f"{module}:{line} calls {name}()")
        if kind == "call" and isinstance(fn, ast.Attribute) and name in ("load", "full_load", "unsafe_load") \
                and isinstance(fn.value, ast.Name) and fn.value.id == "yaml":
            problems.append(f"{module}:{line} uses yaml.{name} (only safe_load is safe)")
        if kind == "import" and name in FORBIDDEN_MODULES:
            problems.append(f"{module}:{line} imports {name}")
    assert not problems, problems


INJECTIONS = [
    "__import__('os').system('touch PWNED')", "open('PWNED', 'w')", "exec('x=1')",
    "().__class__.__bases__[0].__subclasses__()", "age.__class__", "eval('1') > 0",
    "age > 1; import os", "lambda: 1", "[x for x in (1,)]", "age if age else 1", "`age`.real > 0",
    "{'a': 1}", "age > 1 -- comment", "f'{age}' = 'x'", "age @ 2 > 1", "age ** 2 > 1",
]


_AUDIT: list | None = None  # while a list, the audit hook below records into it


def _audit(event, args):
    if _AUDIT is not None and event in ("compile", "exec", "os.system", "subprocess.Popen", "open",
                                        "os.exec", "os.posix_spawn", "pickle.find_class"):
        _AUDIT.append((event, args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one is idle outside the test


def test_hostile_rule_text_never_reaches_compile_exec_or_the_system(tmp_path, monkeypatch):
    """Python's audit hooks see every compile/exec/os.system/open: none carries rule text."""
    global _AUDIT
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame({"age": [1.0, 20.0]})
    tables = []
    for text in INJECTIONS:
        tables += [{"inputs": {"age": "number"}, "rules": [{"when": text, "then": 1}]},
                   {"inputs": {"age": "number"}, "rules": [{"when": "age > 1", "then": "=" + text}]},
                   {"inputs": {text: "number"}, "rules": [{"when": "true", "then": 1}]}]
    RulesTable(tables[0] | {"rules": [{"when": "age > 1", "then": 1}]}).predict(frame)  # warm lazy imports
    _AUDIT = []
    try:
        for source in tables:
            try:
                RulesTable(source).predict(frame.rename(columns={"age": next(iter(source["inputs"]))}))
            except InvalidInput:
                pass
        seen, _AUDIT = _AUDIT, None
    finally:
        _AUDIT = None
    leaked = [(e, a) for e, a in seen if any(marker in repr(a) for marker in ("PWNED", "x=1", "__class__", "age"))]
    assert not leaked, leaked[:3]
    assert not [e for e, _ in seen if e in ("exec", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn")]
    assert not (tmp_path / "PWNED").exists()


# --------------------------------------------------------------------------- nothing crashes

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True),
                      st.text(max_size=12))
json_values = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.text(max_size=6), c, max_size=3), max_leaves=8)
TYPES = ["number", "string", "boolean", "integer", "int", "text", "complex", "", "NUMBER"]
RULE_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(["a", "b", "s", "`a`", "x", "(", ")", "and", "or", "not", "in", "between", "is",
                              "null", "true", "'t'", "1", "-2.5", "1e400", "=", "!=", "<", ">=", "+", "/",
                              "%", ",", "__class__", ";", "'"]), max_size=12).map(" ".join),
)


@st.composite
def tables(draw):
    inputs = draw(st.one_of(
        st.dictionaries(st.sampled_from(["a", "b", "s", "x y", ""]), st.sampled_from(TYPES), max_size=3),
        json_values))
    rule = st.one_of(
        st.fixed_dictionaries({"when": st.one_of(RULE_TEXT, json_leaf),
                               "then": st.one_of(json_leaf, RULE_TEXT.map(lambda t: "=" + t))},
                              optional={"priority": json_leaf, "id": json_leaf, "bogus": json_leaf}),
        json_values)
    source = {"inputs": inputs, "rules": draw(st.one_of(st.lists(rule, max_size=4), json_values))}
    for key, values in (("hit_policy", st.sampled_from(["first", "priority", "unique", "collect", "last", 3])),
                        ("aggregate", st.sampled_from(["count", "sum", "min", "max", "avg", None])),
                        ("default", json_leaf),
                        ("output", st.one_of(st.fixed_dictionaries({"name": json_leaf, "type": st.sampled_from(TYPES)}),
                                             json_leaf))):
        if draw(st.booleans()):
            source[key] = draw(values)
    return source


frames = st.lists(st.fixed_dictionaries({}, optional={
    "a": st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-5, 5), st.text(max_size=3), st.booleans()),
    "b": st.one_of(st.none(), st.floats(-5, 5), st.integers(-5, 5)),
    "s": st.one_of(st.none(), st.text(max_size=4), st.integers(0, 3)),
    "x y": st.one_of(st.none(), st.booleans(), st.text(max_size=2)),
}), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=tables(), rows=frames)
def test_generated_tables_and_inputs_give_results_or_invalid_input(source, rows):
    try:
        table = RulesTable(source)
    except InvalidInput as exc:
        assert "\n" not in exc.message
        return
    try:
        out = table.predict(pd.DataFrame(rows))
    except InvalidInput as exc:
        assert "\n" not in exc.message
        return
    assert len(out) == len(rows)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=100),
                 st.lists(st.sampled_from(["inputs:", "rules:", "- when:", "then:", " {a: number}", "!!python/object:os.system",
                                           "[", "]", "'", "\n", "  ", "&a", "*a", "<<: *a", "!!binary"]),
                          max_size=12).map("".join)))
def test_any_yaml_text_gives_a_table_or_invalid_input(text):
    try:
        read_table(text if isinstance(text, bytes) or "\n" in text or not text.endswith((".yaml", ".yml", ".json"))
                   else text + "\n")
    except InvalidInput:
        pass


def test_python_yaml_tags_are_not_constructed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = ("inputs: {a: number}\nrules:\n  - when: !!python/object/apply:os.system ['touch PWNED']\n"
            "    then: 1\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        read_table(text)
    assert not (tmp_path / "PWNED").exists()


# --------------------------------------------------------------------------- against a reference

COLUMNS = {"a": [0.0, 1.5, -2.0, None, 3.0, 10.0], "s": ["x", "y", None, "z", "x", ""]}
OPS = {"=": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
       ">=": lambda x, y: x >= y}


@st.composite
def simple_rule(draw):
    """(when text, python predicate with SQL null semantics, then value, priority)."""
    if draw(st.booleans()):
        op, k = draw(st.sampled_from(sorted(OPS))), draw(st.integers(-3, 4))
        when, pred = f"a {op} {k}", (lambda row, op=op, k=k: row["a"] is not None and OPS[op](row["a"], float(k)))
    else:
        vals = draw(st.lists(st.sampled_from(["x", "y", "z", ""]), min_size=1, max_size=2))
        neg = draw(st.booleans())
        when = "s " + ("not in" if neg else "in") + " (" + ", ".join(f"'{v}'" for v in vals) + ")"
        pred = (lambda row, vals=vals, neg=neg: row["s"] is not None and ((row["s"] in vals) != neg))
    return when, pred, draw(st.integers(0, 9)), draw(st.integers(0, 3))


def _reference(rules, policy, aggregate, default, row):
    hits = [(i, then, prio) for i, (_, pred, then, prio) in enumerate(rules) if pred(row)]
    if policy == "collect":
        thens = [float(t) for _, t, _ in hits]
        if aggregate == "count":
            return float(len(hits))
        if not hits:
            return float(default)
        return {"sum": sum, "min": min, "max": max}[aggregate](thens)
    if not hits:
        return float(default)
    if policy == "priority":
        return float(min(hits, key=lambda h: (-h[2], h[0]))[1])
    return float(hits[0][1])


@settings(max_examples=150, deadline=None)
@given(rules=st.lists(simple_rule(), min_size=1, max_size=5),
       policy=st.sampled_from(["first", "priority", "collect"]),
       aggregate=st.sampled_from(["count", "sum", "min", "max"]), default=st.integers(-1, 1))
def test_generated_rule_sets_agree_with_a_row_by_row_reference(rules, policy, aggregate, default):
    source = {"inputs": {"a": "number", "s": "string"}, "output": {"name": "y", "type": "number"},
              "hit_policy": policy, "default": default,
              "rules": [{"when": w, "then": t, "priority": p} for w, _, t, p in rules]}
    if policy == "collect":
        source["aggregate"] = aggregate
    got = RulesTable(source).predict(pd.DataFrame(COLUMNS))
    rows = [dict(zip(COLUMNS, vals)) for vals in zip(*COLUMNS.values())]
    expected = [_reference(rules, policy, aggregate, default, r) for r in rows]
    assert [float(v) for v in got] == pytest.approx(expected), source["rules"]
    assert not any(isinstance(v, float) and math.isnan(v) for v in np.asarray(got, dtype=float))
