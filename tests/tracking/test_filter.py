"""The run filter parser: grammar, precedence, quoting, typing and error positions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.tracking.filter import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Compare,
    Field,
    Not,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
    tokenize,
)

M, P, T, A = (lambda k: Field("metric", k)), (lambda k: Field("param", k)), \
    (lambda k: Field("tag", k)), (lambda k: Field("attribute", k))


def error(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse_filter(text)
    assert "\n" not in info.value.message
    return info.value


# --------------------------------------------------------------------------- structure


def test_empty_filter_matches_everything():
    assert parse_filter(None) is None
    assert parse_filter("") is None
    assert parse_filter("   \t\n") is None


def test_single_comparison():
    assert parse_filter("metrics.accuracy > 0.9") == Compare(M("accuracy"), ">", 0.9)


def test_and_binds_tighter_than_or():
    a, b, c = (Compare(M(k), ">", 1.0) for k in "abc")
    assert parse_filter("metrics.a > 1 or metrics.b > 1 and metrics.c > 1") == Or((a, And((b, c))))
    assert parse_filter("metrics.a > 1 and metrics.b > 1 or metrics.c > 1") == Or((And((a, b)), c))


def test_parentheses_override_precedence():
    a, b, c = (Compare(M(k), ">", 1.0) for k in "abc")
    assert parse_filter("(metrics.a > 1 or metrics.b > 1) and metrics.c > 1") == And((Or((a, b)), c))
    assert parse_filter("((metrics.a > 1))") == a


def test_not_binds_tighter_than_and():
    a, b = Compare(M("a"), ">", 1.0), Compare(M("b"), ">", 1.0)
    assert parse_filter("not metrics.a > 1 and metrics.b > 1") == And((Not(a), b))
    assert parse_filter("not (metrics.a > 1 and metrics.b > 1)") == Not(And((a, b)))
    assert parse_filter("not not metrics.a > 1") == Not(Not(a))


def test_chains_are_flat():
    tree = parse_filter(" and ".join(f"metrics.m{i} > {i}" for i in range(50)))
    assert isinstance(tree, And) and len(tree.items) == 50


def test_keywords_are_case_insensitive():
    assert parse_filter("metrics.a IS NOT NULL AnD params.b LIKE 'x%' OR tags.c In ('y')") == Or((
        And((Compare(M("a"), "is not null"), Compare(P("b"), "like", "x%"))),
        Compare(T("c"), "in", ("y",)),
    ))


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("prefix,kind", [
    ("metrics", "metric"), ("metric", "metric"), ("params", "param"), ("param", "param"),
    ("tags", "tag"), ("tag", "tag"), ("METRICS", "metric"),
])
def test_key_prefixes_and_singular_aliases(prefix, kind):
    value = 1.0 if kind == "metric" else "1"
    assert parse_filter(f"{prefix}.k = 1").field == Field(kind, "k")
    assert parse_filter(f"{prefix}.k = 1").value == value


def test_bare_keys_take_dots_slashes_colons_and_dashes():
    assert parse_filter("metrics.val/loss-avg.v2:x < 1").field == M("val/loss-avg.v2:x")


@pytest.mark.parametrize("quoted", ["`my key`", '"my key"'])
def test_quoted_keys_hold_spaces(quoted):
    assert parse_filter(f"params.{quoted} = 'a'") == Compare(P("my key"), "=", "a")


def test_attributes_bare_and_prefixed_with_aliases():
    assert parse_filter("status = 'FINISHED'").field == A("status")
    assert parse_filter("attributes.status = 'FINISHED'").field == A("status")
    assert parse_filter("attribute.run_name = 'x'").field == A("name")
    assert parse_filter("run.name = 'x'").field == A("name")
    assert parse_filter("id = 'ABCD'").field == A("run_id")
    assert parse_filter("user = 'bob'").field == A("user")


def test_dataset_fields():
    assert parse_filter("dataset.name = 'iris'") == Compare(Field("dataset", "name"), "=", "iris")
    assert parse_filter("datasets.digest is not null").field == Field("dataset", "digest")


# --------------------------------------------------------------------------- operators and values


@pytest.mark.parametrize("text,op,value", [
    ("metrics.a = 1", "=", 1.0),
    ("metrics.a == 1", "=", 1.0),
    ("metrics.a != 1", "!=", 1.0),
    ("metrics.a <> 1", "!=", 1.0),
    ("metrics.a < 1", "<", 1.0),
    ("metrics.a <= 1", "<=", 1.0),
    ("metrics.a > 1", ">", 1.0),
    ("metrics.a >= 1", ">=", 1.0),
    ("metrics.a in (1, 2.5, -3e2)", "in", (1.0, 2.5, -300.0)),
    ("metrics.a not in (1)", "not in", (1.0,)),
    ("metrics.a is null", "is null", None),
    ("metrics.a is not null", "is not null", None),
    ("params.a like 'x%'", "like", "x%"),
    ("params.a not like 'x%'", "not like", "x%"),
    ("params.a ilike 'X_'", "ilike", "X_"),
    ("params.a not ilike 'X_'", "not ilike", "X_"),
])
def test_every_operator(text, op, value):
    node = parse_filter(text)
    assert (node.op, node.value) == (op, value)


def test_operators_need_no_spaces():
    assert parse_filter("metrics.a>=0.5") == Compare(M("a"), ">=", 0.5)
    assert parse_filter("params.a!='x'") == Compare(P("a"), "!=", "x")


@pytest.mark.parametrize("literal,value", [
    ("0", 0.0), ("-1", -1.0), ("+2", 2.0), ("1.5", 1.5), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0),
    ("-2.5E-2", -0.025), ("true", 1.0), ("false", 0.0),
])
def test_numbers_for_metrics(literal, value):
    assert parse_filter(f"metrics.a = {literal}").value == value


def test_params_compare_as_text_of_the_literal_as_written():
    assert parse_filter("params.C = 1.0").value == "1.0"
    assert parse_filter("params.C = 1").value == "1"
    assert parse_filter("params.C = '1.0'").value == "1.0"
    assert parse_filter("params.flag = true").value == "True"  # str(True), as Python logs it
    assert parse_filter("params.C in (1.0, '2')").value == ("1.0", "2")


def test_string_escapes_and_doubled_quotes():
    assert parse_filter(r"tags.t = 'it\'s'").value == "it's"
    assert parse_filter("tags.t = 'it''s'").value == "it's"
    assert parse_filter('tags.t = "say ""hi"""').value == 'say "hi"'
    assert parse_filter(r"tags.t = 'a\\b\nc'").value == "a\\b\nc"
    assert parse_filter(r"tags.t = 'keep \d'").value == "keep \\d"
    assert parse_filter("tags.t = ''").value == ""


def test_sql_looking_text_is_just_a_string():
    node = parse_filter("params.x = '1'' OR 1=1 --'")
    assert node == Compare(P("x"), "=", "1' OR 1=1 --")


def test_status_is_normalised_and_checked():
    assert parse_filter("status = 'finished'").value == "FINISHED"
    assert parse_filter("status in ('failed', 'KILLED')").value == ("FAILED", "KILLED")
    assert "valid: RUNNING, FINISHED, FAILED, KILLED" in error("status = 'done'").message


def test_ids_are_normalised():
    assert parse_filter("run_id = 'ABCDEF12-3456'").value == "abcdef123456"
    assert parse_filter("parent_run_id is null").op == "is null"


def test_times_take_milliseconds_or_iso_strings():
    assert parse_filter("start_time >= 1700000000000").value == 1_700_000_000_000
    assert parse_filter("start_time > '2024-01-01'").value == 1_704_067_200_000
    assert parse_filter("end_time < '2024-01-01T00:00:01+01:00'").value == 1_704_063_601_000
    assert "ISO-8601" in error("start_time > 'yesterday'").message
    assert "whole epoch milliseconds" in error("start_time > 1.5").message
    assert "out of range" in error("start_time > 1e30").message


def test_huge_numbers_do_not_overflow():
    assert parse_filter("metrics.a < " + "9" * 5000).value == float("inf")
    assert parse_filter("params.a = " + "9" * 400).value == "9" * 400
    assert "out of range" in error("start_time > " + "9" * 30).message


def test_duration_is_seconds():
    assert parse_filter("duration > 60") == Compare(A("duration"), ">", 60.0)


def test_in_lists_drop_duplicates():
    assert parse_filter("tags.t in ('a', 'b', 'a')").value == ("a", "b")


# --------------------------------------------------------------------------- errors


def test_error_names_position_and_expectation():
    exc = error("metrics.accuracy > and params.C = '1'")
    assert exc.message == "bad filter at position 20: expected a value after '>' but found 'and'"
    assert exc.details["position"] == 20


@pytest.mark.parametrize("text,position,fragment", [
    ("metrics.a >", 12, "expected a value after '>' but found the end of the filter"),
    ("metrics.a", 10, "expected an operator"),
    ("metrics.a = 1 metrics.b = 2", 15,
     "expected 'and', 'or' or the end of the filter but found 'metrics.b'"),
    ("(metrics.a = 1", 1, "this '(' is never closed"),
    ("metrics.a = 1)", 14, "unbalanced ')'"),
    ("metrics.a = 1 and", 18, "expected a field"),
    ("metrics.a = 'x'", 13, "metrics.a is a number"),
    ("params.a > 1", 10, "'>' cannot be used with params.a"),
    ("metrics.a like 'x'", 11, "'like' cannot be used with metrics.a"),
    ("params.a like 1", 15, "'like' needs a quoted pattern"),
    ("params.a = 'abc", 12, "unterminated string"),
    ("params.`abc = 1", 8, "unterminated key"),
    ("metrics. = 1", 9, "expected a key after 'metrics.'"),
    ("foo.bar = 1", 1, "unknown prefix 'foo.'"),
    ("metrics.a = 1 & metrics.b = 2", 15, "unexpected character '&'"),
    ("metrics.a = 12abc", 13, "malformed number"),
    ("metrics.a = null", 13, "use 'is null' or 'is not null'"),
    ("metrics.a is 5", 14, "expected 'null' or 'not null' after 'is'"),
    ("metrics.a is not 5", 18, "expected 'null' after 'is not'"),
    ("metrics.a not between 1", 15, "expected 'like', 'ilike' or 'in' after 'not'"),
    ("metrics.a in 1", 14, "expected '(' after 'in'"),
    ("metrics.a in ()", 15, "expected a value"),
    ("metrics.a in (1 2)", 17, "expected ',' or ')'"),
    ("name = FINISHED", 8, "(quote text values)"),
    ("duration > 'long'", 12, "duration is a number of seconds"),
    ("dataset.size = 1", 9, "unknown dataset field 'size'"),
])
def test_errors_show_where(text, position, fragment):
    exc = error(text)
    assert exc.message.startswith(f"bad filter at position {position}: ")
    assert fragment in exc.message
    assert exc.details["position"] == position


def test_unknown_attribute_lists_the_valid_ones():
    exc = error("accuracy > 0.9")
    assert "unknown attribute 'accuracy'" in exc.message
    assert "metrics.KEY" in exc.message and "start_time" in exc.message and "status" in exc.message
    exc = error("attributes.colour = 'red'")
    assert "unknown attribute 'colour'; valid attributes: run_id" in exc.message


def test_limits_on_length_and_depth():
    with pytest.raises(InvalidInput, match="limit 10000"):
        parse_filter("metrics.a > 1 or " * (MAX_LENGTH // 10) + "metrics.a > 1")
    deep = "(" * (MAX_DEPTH + 5) + "metrics.a > 1" + ")" * (MAX_DEPTH + 5)
    assert "nests deeper than 100" in error(deep).message
    assert "nests deeper" in error("not " * 500 + "metrics.a > 1").message
    ok = "(" * 50 + "metrics.a > 1" + ")" * 50
    assert parse_filter(ok) == Compare(M("a"), ">", 1.0)
    assert "more than 200 comparisons" in error(" or ".join(["metrics.a > 1"] * 201)).message


def test_lone_surrogates_are_invalid():
    assert error("tags.t = '\ud800'").details["position"] == 11


def test_non_string_filter_is_invalid():
    with pytest.raises(InvalidInput, match="must be a string"):
        parse_filter(42)


# --------------------------------------------------------------------------- order by


def test_order_by():
    assert parse_order_by(["metrics.accuracy DESC", "start_time", "params.C asc", "tags.`a b` desc"]) == [
        OrderKey(M("accuracy"), True), OrderKey(A("start_time"), False), OrderKey(P("C"), False),
        OrderKey(T("a b"), True),
    ]
    assert parse_order_by(None) == [] and parse_order_by([]) == []
    assert parse_order_by("name") == [OrderKey(A("name"), False)]
    assert parse_order_by(["run_name DESC"]) == [OrderKey(A("name"), True)]


@pytest.mark.parametrize("item,fragment", [
    ("metrics.a sideways", "at position 11: expected ASC, DESC or the end but found 'sideways'"),
    ("", "must not be empty"),
    ("bad.x", "unknown prefix 'bad.'"),
    ("colour", "unknown attribute 'colour'"),
    ("dataset.name", "cannot be sorted by dataset fields"),
    ("metrics.a desc desc", "expected ASC, DESC or the end"),
])
def test_order_by_errors(item, fragment):
    with pytest.raises(InvalidInput) as info:
        parse_order_by([item])
    assert fragment in info.value.message


def test_order_by_type_and_count_limits():
    with pytest.raises(InvalidInput, match="list of strings"):
        parse_order_by(5)
    with pytest.raises(InvalidInput, match="at most 10"):
        parse_order_by(["start_time"] * 11)


# --------------------------------------------------------------------------- robustness

_PIECES = st.sampled_from([
    "metrics.a", "params.b", "tags.`c d`", "status", "start_time", "duration", "dataset.name", "and",
    "or", "not", "(", ")", "=", "!=", "<", ">=", "like", "ilike", "in", "is", "null", "true", "1",
    "-2.5e3", "'x'", '"y"', ",", "'", "`", "1e999", "'2024-01-01'", "'FINISHED'", "foo.", "é", "\\",
])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_ever_raises_invalid_input(text):
    try:
        parse_filter(text)
    except InvalidInput as exc:
        assert "\n" not in exc.message
    try:
        parse_order_by([text])
    except InvalidInput:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=14).map(" ".join))
def test_token_soup_only_ever_raises_invalid_input(text):
    try:
        tree = parse_filter(text)
    except InvalidInput as exc:
        assert "position" in exc.details or "characters long" in exc.message
    else:
        assert tree is None or isinstance(tree, (Compare, And, Or, Not))


def test_tokens_record_offsets():
    toks = tokenize("metrics.a >= 'x'")
    assert [(t.kind, t.pos) for t in toks] == [("field", 0), ("op", 10), ("string", 13), ("end", 16)]
