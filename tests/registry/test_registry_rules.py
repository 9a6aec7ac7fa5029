"""Rules tables: the expression language, hit policies, validation, and the registry path."""

from __future__ import annotations

import math
import operator
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_modelops.errors import InvalidInput, NotFound
from jupyter_modelops.registry.rules import RulesTable, read_table

LOAN_RULES = """
inputs: {age: number, country: string, income: number}
output: {name: decision, type: string}
hit_policy: first
default: review
rules:
  - when: "age >= 18 and country in ('FR', 'DE') and income > 2 * 1000"
    then: approve
  - when: "age < 18"
    then: reject
"""

INPUTS = {"age": "number", "country": "string", "income": "number", "member": "boolean"}
FRAME = pd.DataFrame({
    "age": [17, 18, 30, 65, None],
    "country": ["FR", "DE", "US", None, "FR"],
    "income": [0, 1500, 2500, 10000, 3000],
    "member": [True, False, True, False, True],
})


def condition(expr: str, frame=FRAME) -> list[bool]:
    table = RulesTable({"inputs": INPUTS, "output": {"name": "hit", "type": "boolean"},
                        "default": False, "rules": [{"when": expr, "then": True}]})
    return [bool(v) for v in table.predict(frame)]


T, F = True, False


@pytest.mark.parametrize("expr, expected", [
    ("age = 18", [F, T, F, F, F]),
    ("age == 18", [F, T, F, F, F]),
    ("age != 18", [T, F, T, T, F]),
    ("age <> 18", [T, F, T, T, F]),
    ("age < 18", [T, F, F, F, F]),
    ("age <= 18", [T, T, F, F, F]),
    ("age > 18", [F, F, T, T, F]),
    ("age >= 18", [F, T, T, T, F]),
    ("country in ('FR', 'DE')", [T, T, F, F, T]),
    ("country not in ('FR', 'DE')", [F, F, T, F, F]),
    ("country in ('FR', null)", [T, F, F, F, T]),
    ("country not in ('US', null)", [F, F, F, F, F]),
    ("age in (17, 65)", [T, F, F, T, F]),
    ("age in (1, income / 100 + 5)", [F, F, T, F, F]),
    ("age between 18 and 30", [F, T, T, F, F]),
    ("age not between 18 and 30", [T, F, F, T, F]),
    ("country between 'A' and 'E'", [F, T, F, F, F]),
    ("age is null", [F, F, F, F, T]),
    ("country is not null", [T, T, T, F, T]),
    ("not (age > 18)", [T, T, F, F, F]),
    ("not age > 18", [T, T, F, F, F]),
    ("age > 18 or country = 'FR'", [T, F, T, T, T]),
    ("age >= 18 and income > 2000", [F, F, T, T, F]),
    ("income / 1000 > 2", [F, F, T, T, T]),
    ("income - 500 * 2 > 0", [F, T, T, T, T]),
    ("(income - 500) * 2 > 2000", [F, F, T, T, T]),
    ("income + age > 2500", [F, F, T, T, F]),
    ("income % 1000 = 500", [F, T, T, F, F]),
    ("-age < -20", [F, F, T, T, F]),
    ("+age < 20", [T, T, F, F, F]),
    ("1.5e3 < income", [F, F, T, T, T]),
    (".5 * income >= 1250", [F, F, T, T, T]),
    ("income / 0 > 1", [F, F, F, F, F]),
    ("income / 0 is null", [T, T, T, T, T]),
    ("member", [T, F, T, F, T]),
    ("member = true", [T, F, T, F, T]),
    ("member != false and true", [T, F, T, F, T]),
    ("not member", [F, T, F, T, F]),
    ("country > 'E'", [T, F, T, F, T]),
    ("country = \"FR\"", [T, F, F, F, T]),
    ("country = 'it''s'", [F, F, F, F, F]),
    ("`age` > 18", [F, F, T, T, F]),
    ("age >= 18 AND country IN ('DE', 'US')", [F, T, T, F, F]),
    ("null is null", [T, T, T, T, T]),
    ("true or age > 1", [T, T, T, T, T]),
    ("age > 18 or null", [F, F, T, T, F]),
])
def test_every_operator(expr, expected):
    assert condition(expr) == expected


def test_three_valued_logic_keeps_unknown_unknown():
    # row 4 has no age: neither 'age > 18' nor its negation fires
    assert condition("age > 18")[4] is False and condition("not (age > 18)")[4] is False
    assert condition("age > 18 or true")[4] is True
    assert condition("age > 18 and false") == [F] * 5


# --------------------------------------------------------------------------- hit policies


def table(rules, hit_policy="first", default=None, output=None, **extra):
    src = {"inputs": INPUTS, "hit_policy": hit_policy, "rules": rules, **extra}
    if default is not None:
        src["default"] = default
    if output is not None:
        src["output"] = output
    return RulesTable(src)


def test_first_hit_policy_uses_rule_order():
    t = table([{"when": "age >= 18", "then": "adult"}, {"when": "age >= 60", "then": "senior"}],
              default="unknown")
    assert t.predict(FRAME).tolist() == ["unknown", "adult", "adult", "adult", "unknown"]
    assert t.explain(FRAME)["rule"].tolist() == [0, 1, 1, 1, 0]


def test_priority_hit_policy_picks_highest_priority():
    t = table([{"when": "age >= 18", "then": "adult", "priority": 1},
               {"when": "age >= 60", "then": "senior", "priority": 5},
               {"when": "age >= 0", "then": "any"}], hit_policy="priority")
    assert t.predict(FRAME).tolist() == ["any", "adult", "adult", "senior", None]


def test_unique_hit_policy_rejects_overlaps():
    ok = table([{"when": "age < 18", "then": "minor"}, {"when": "age >= 18", "then": "adult"}],
               hit_policy="unique", default="?")
    assert ok.predict(FRAME).tolist() == ["minor", "adult", "adult", "adult", "?"]
    clash = table([{"when": "age >= 18", "then": "a"}, {"when": "income > 2000", "then": "b"}],
                  hit_policy="unique")
    with pytest.raises(InvalidInput, match="rows 2, 3 match more than one rule"):
        clash.predict(FRAME)


def test_collect_hit_policy_lists_every_match():
    t = table([{"when": "age >= 18", "then": "adult"}, {"when": "income > 2000", "then": "rich"},
               {"when": "country = 'FR'", "then": "french"}], hit_policy="collect", default="none")
    assert t.predict(FRAME).tolist() == [["french"], ["adult"], ["adult", "rich"], ["adult", "rich"],
                                         ["rich", "french"]]
    assert t.explain(FRAME)["rule"].tolist() == [[3], [1], [1, 2], [1, 2], [2, 3]]
    nothing = table([{"when": "age > 100", "then": "old"}], hit_policy="collect")
    assert nothing.predict(FRAME).tolist() == [[]] * 5


@pytest.mark.parametrize("aggregate, expected", [
    ("count", [1, 1, 2, 2, 2]),
    ("sum", [5.0, 10.0, 30.0, 30.0, 25.0]),
    ("max", [5.0, 10.0, 20.0, 20.0, 20.0]),
    ("min", [5.0, 10.0, 10.0, 10.0, 5.0]),
])
def test_collect_aggregates(aggregate, expected):
    t = table([{"when": "age >= 18", "then": 10}, {"when": "income > 2000", "then": 20},
               {"when": "country = 'FR'", "then": 5}], hit_policy="collect", aggregate=aggregate)
    assert t.predict(FRAME).tolist() == expected


def test_then_expressions_and_output_types():
    t = table([{"when": "income > 2000", "then": "= income * 0.1"},
               {"when": "age < 18", "then": {"expr": "-1"}}], default=0,
              output={"name": "bonus", "type": "number"})
    assert t.predict(FRAME).tolist() == [-1.0, 0.0, 250.0, 1000.0, 300.0]
    s = table([{"when": "country is not null", "then": "= country"}], default="n/a")
    assert s.predict(FRAME).tolist() == ["FR", "DE", "US", "n/a", "FR"]
    ints = table([{"when": "age >= 18", "then": 1}], default=0, output={"name": "adult", "type": "integer"})
    out = ints.predict(FRAME)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 1, 1, 0]


def test_signature_comes_from_declared_inputs():
    sig = read_table(LOAN_RULES).signature()
    assert sig["inputs"]["columns"] == [{"name": "age", "type": "float64"},
                                        {"name": "country", "type": "string"},
                                        {"name": "income", "type": "float64"}]
    assert sig["outputs"]["columns"] == [{"name": "decision", "type": "string"}]


# --------------------------------------------------------------------------- validation


def broken(when, rule_index=2):
    rules = [{"when": "age > 1", "then": "x"}] * (rule_index - 1) + [{"when": when, "then": "y"}]
    with pytest.raises(InvalidInput) as err:
        table(rules)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_syntax_errors_name_rule_and_position():
    msg = broken("age > > 3")
    assert msg == ("rules table: rule 2: expected a value or a column but found '>' "
                   "at character 7 in 'age > > 3'")
    assert "rule 1" in broken("(age > 3", 1) and "expected ')'" in broken("(age > 3", 1)
    assert "at character 5" in broken("age @ 3")
    assert "unterminated string" in broken("country = 'FR")
    assert "expected 'and' in 'between" in broken("age between 1 or 2")
    assert "expected 'null' after 'is'" in broken("age is 3")
    assert "unexpected 'age'" in broken("age > 3 age")
    assert "malformed number" in broken("age > 1.2.3")


def test_unknown_columns_and_types_are_refused():
    msg = broken("agee > 18", 3)
    assert msg.startswith("rules table: rule 3: unknown column 'agee' at character 1")
    assert "(inputs: age, country, income, member)" in msg
    assert "cannot compare a string with a number" in broken("country > 5")
    assert "'+' needs numbers, not a string" in broken("country + 1 > 2")
    assert "'when' must be a condition" in broken("age + 1")
    assert "use 'is null'" in broken("age = null")
    assert "'in' list holds a string but is matched against a number" in broken("age in (1, 'x')")
    assert "'and' joins conditions" in broken("age and member")


@pytest.mark.parametrize("source, message", [
    ({"inputs": INPUTS, "rules": []}, "non-empty list"),
    ({"inputs": INPUTS, "rules": [{"when": "age > 1"}]}, "needs both 'when' and 'then'"),
    ({"inputs": INPUTS, "rules": [{"when": "age > 1", "then": 1, "thne": 2}]}, "unknown key(s) 'thne'"),
    ({"inputs": INPUTS, "rules": [{"when": 3, "then": 1}]}, "'when' must be a condition text"),
    ({"inputs": INPUTS, "rules": ["age > 1"]}, "a rule is a mapping"),
    ({"inputs": INPUTS, "hit_policy": "last", "rules": [{"when": "true", "then": 1}]}, "hit_policy 'last'"),
    ({"inputs": {"age": "complex"}, "rules": [{"when": "true", "then": 1}]}, "unknown type 'complex'"),
    ({"rules": [{"when": "true", "then": 1}]}, "'inputs' must map"),
    ({"inputs": INPUTS, "rulez": [], "rules": [{"when": "true", "then": 1}]}, "unknown key(s) 'rulez'"),
    ({"inputs": INPUTS, "output": {"name": "d", "type": "string"}, "rules": [{"when": "true", "then": 1}]},
     "rule 1 'then': gives a number but the output 'd' is a string"),
    ({"inputs": INPUTS, "rules": [{"when": "true", "then": 1}, {"when": "true", "then": "x"}]},
     "'then' values mix number and string"),
    ({"inputs": INPUTS, "rules": [{"when": "true", "then": "= country +"}]}, "at character 12"),
    ({"inputs": INPUTS, "aggregate": "sum", "rules": [{"when": "true", "then": 1}]}, "needs hit_policy: collect"),
    ({"inputs": INPUTS, "rules": [{"when": "true", "then": [1]}]}, "unsupported value"),
])
def test_malformed_tables(source, message):
    with pytest.raises(InvalidInput) as err:
        RulesTable(source)
    assert message in str(err.value)


def test_yaml_errors_give_the_line():
    with pytest.raises(InvalidInput, match=r"not valid YAML/JSON: .* at line 2, column 8"):
        read_table("inputs: {age: number}\nrules: ]\n")


def test_predicting_with_bad_columns():
    t = read_table(LOAN_RULES)
    with pytest.raises(InvalidInput, match="missing columns 'country', 'income'"):
        t.predict(pd.DataFrame({"age": [1]}))
    with pytest.raises(InvalidInput, match="column 'age' should hold numbers but holds strings"):
        t.predict(pd.DataFrame({"age": ["x"], "country": ["FR"], "income": [1]}))


# --------------------------------------------------------------------------- properties

COLUMNS = pd.DataFrame({
    "a": [0.0, 1.5, -2.0, np.nan, 3.0, 10.0, -0.5, np.nan],
    "b": [1.0, 0.0, 2.0, 5.0, np.nan, -3.0, 0.0, 7.0],
    "s": ["x", "y", None, "z", "x", "", "y", None],
})
PROP_INPUTS = {"a": "number", "b": "number", "s": "string"}


def _rows():
    return [{k: (None if (v is None or (isinstance(v, float) and math.isnan(v))) else v)
             for k, v in row.items()} for row in COLUMNS.to_dict(orient="records")]


def _and(x, y):
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def _or(x, y):
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


def _arith(op):
    def f(x, y):
        if x is None or y is None:
            return None
        if op == "/":
            return None if y == 0 else float(np.float64(x) / np.float64(y))
        return float({"+": np.add, "-": np.subtract, "*": np.multiply}[op](np.float64(x), np.float64(y)))
    return f


def _cmp(op):
    fn = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}[op]
    return lambda x, y: None if x is None or y is None else fn(x, y)


num_leaf = st.one_of(
    st.sampled_from(["a", "b"]).map(lambda c: (c, lambda r, c=c: r[c])),
    st.integers(-3, 3).map(lambda i: (str(i), lambda r, i=i: float(i))),
    st.floats(-5, 5, allow_nan=False).map(lambda f: (repr(f), lambda r, f=f: f)),
)


def _num_node(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})",
                   lambda r, t=t, f=_arith(t[1]): f(t[0][1](r), t[2][1](r))))
    neg = children.map(lambda c: (f"-({c[0]})", lambda r, c=c: None if c[1](r) is None else -c[1](r)))
    return binary | neg


numbers = st.recursive(num_leaf, _num_node, max_leaves=6)
bool_leaf = st.one_of(
    st.tuples(numbers, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), numbers).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}", lambda r, t=t, f=_cmp(t[1]): f(t[0][1](r), t[2][1](r)))),
    st.lists(st.sampled_from(["x", "y", "z", ""]), min_size=1, max_size=3).map(
        lambda vals: ("s in (" + ", ".join(f"'{v}'" for v in vals) + ")",
                      lambda r, vals=vals: None if r["s"] is None else r["s"] in vals)),
    st.sampled_from(["a", "b", "s"]).map(lambda c: (f"{c} is null", lambda r, c=c: r[c] is None)),
    st.tuples(numbers, st.integers(-3, 3), st.integers(-3, 3)).map(
        lambda t: (f"{t[0][0]} between {t[1]} and {t[2]}",
                   lambda r, t=t: _and(_cmp(">=")(t[0][1](r), float(t[1])), _cmp("<=")(t[0][1](r), float(t[2]))))),
)


def _bool_node(children):
    both = st.tuples(children, st.sampled_from(["and", "or"]), children).map(
        lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                   lambda r, t=t, f=(_and if t[1] == "and" else _or): f(t[0][1](r), t[2][1](r))))
    neg = children.map(lambda c: (f"not ({c[0]})", lambda r, c=c: None if c[1](r) is None else not c[1](r)))
    return both | neg


conditions = st.recursive(bool_leaf, _bool_node, max_leaves=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions)
def test_vectorised_evaluation_matches_a_row_by_row_reference(case):
    text, reference = case
    t = RulesTable({"inputs": PROP_INPUTS, "output": {"name": "hit", "type": "boolean"}, "default": False,
                    "rules": [{"when": text, "then": True}]})
    got = [bool(v) for v in t.predict(COLUMNS)]
    assert got == [reference(row) is True for row in _rows()], text


TOKENS = ["a", "b", "s", "zz", "(", ")", "and", "or", "not", "in", "between", "is", "null", "true",
          "1", "2.5", "'x'", "=", "<", ">=", "+", "-", "*", "/", "%", ",", "`a`", "1e309", "\"y\""]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)))
def test_any_text_is_either_a_valid_rule_or_invalid_input(text):
    src = {"inputs": PROP_INPUTS, "rules": [{"when": text, "then": 1}], "default": 0}
    try:
        t = RulesTable(src)
    except InvalidInput:
        return
    assert len(t.predict(COLUMNS)) == len(COLUMNS)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_then_text_is_either_valid_or_invalid_input(text):
    try:
        t = RulesTable({"inputs": PROP_INPUTS, "rules": [{"when": "a > 0", "then": "=" + text}]})
    except InvalidInput:
        return
    assert len(t.predict(COLUMNS)) == len(COLUMNS)


def test_pathological_nesting_is_invalid_input_not_a_crash():
    for text in ["(" * 5000 + "a" + ")" * 5000, "not " * 3000 + "true", "-" * 5000 + "1 > 0",
                 " + ".join(["a"] * 2000) + " > 0", " and ".join(["a > 0"] * 1000), "a" * 20000]:
        with pytest.raises(InvalidInput):
            RulesTable({"inputs": PROP_INPUTS, "rules": [{"when": text, "then": 1}]})


# --------------------------------------------------------------------------- registry path


def test_rules_model_end_to_end(client):
    v = client.register_model(LOAN_RULES, "loans", description="credit policy")
    assert v.flavor == "rules" and v.trusted is True
    assert client.get_model("loans").kind == "rules"
    model = client.load_model("loans")
    frame = pd.DataFrame({"age": [30, 16, 40, 25], "country": ["FR", "FR", "US", "DE"],
                          "income": [2500, 5000, 9000, 1000], "unused": [0, 0, 0, 0]})
    assert model.predict(frame).tolist() == ["approve", "reject", "review", "review"]
    assert model.predict([{"age": 20, "country": "DE", "income": 3000}]).tolist() == ["approve"]
    assert model.raw.explain(frame)["rule"].tolist() == [1, 2, 0, 0]
    with pytest.raises(InvalidInput, match="input is missing column 'income'"):
        model.predict(frame.drop(columns="income"))
    with pytest.raises(InvalidInput, match="column 'age' should be float64 but holds strings"):
        model.predict(frame.assign(age="old"))


def test_rules_from_dict_and_file(client, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(LOAN_RULES)
    v1 = client.register_model(str(path), "loans")
    v2 = client.register_model(read_table(LOAN_RULES).to_dict(), "loans")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.manifest_digest == v2.manifest_digest  # same table, same package
    assert client.load_model("loans", 2).predict({"age": 10, "country": "FR", "income": 0}).tolist() == ["reject"]


def test_broken_rules_are_refused_at_registration(client):
    bad = LOAN_RULES.replace("age < 18", "age < < 18")
    with pytest.raises(InvalidInput, match="rule 2: .* at character 7"):
        client.register_model(bad, "loans")
    with pytest.raises(NotFound):
        client.get_model("loans")


def test_hundred_thousand_rows_is_fast(client):
    client.register_model(LOAN_RULES, "loans")
    model = client.load_model("loans")
    rng = np.random.default_rng(0)
    n = 100_000
    frame = pd.DataFrame({"age": rng.integers(0, 90, n), "country": rng.choice(["FR", "DE", "US"], n),
                          "income": rng.uniform(0, 5000, n)})
    start = time.perf_counter()
    out = model.predict(frame)
    elapsed = time.perf_counter() - start
    expected = np.where((frame.age >= 18) & frame.country.isin(["FR", "DE"]) & (frame.income > 2000), "approve",
                        np.where(frame.age < 18, "reject", "review"))
    assert (out == expected).all()
    assert elapsed < 2.0, f"100k rows took {elapsed:.2f}s"
