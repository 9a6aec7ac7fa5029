"""Signature inference and enforcement (pure functions, no store)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.registry.signature import describe, enforce, infer

EXAMPLE = pd.DataFrame({
    "age": [30, 40],
    "income": [1.5, 2.5],
    "member": [True, False],
    "country": ["FR", "DE"],
    "since": pd.to_datetime(["2020-01-01", "2021-06-01"]),
    "segment": pd.Categorical(["a", "b"]),
    "blob": [{"x": 1}, None],
})


def test_infer_dataframe_types():
    sig = infer(EXAMPLE, np.array([0, 1]))
    assert sig["inputs"]["columns"] == [
        {"name": "age", "type": "int64"}, {"name": "income", "type": "float64"},
        {"name": "member", "type": "bool"}, {"name": "country", "type": "string"},
        {"name": "since", "type": "datetime"}, {"name": "segment", "type": "string"},
        {"name": "blob", "type": "any"}]
    assert sig["outputs"] == {"type": "tensor", "dtype": "int64", "shape": [-1]}


def test_infer_other_shapes():
    assert infer(np.zeros((3, 4), dtype=np.float32))["inputs"] == {"type": "tensor", "dtype": "float32",
                                                                  "shape": [-1, 4]}
    assert infer([{"a": 1, "b": "x"}])["inputs"]["columns"] == [{"name": "a", "type": "int64"},
                                                               {"name": "b", "type": "string"}]
    assert infer({"a": [1.0, 2.0]})["inputs"]["columns"] == [{"name": "a", "type": "float64"}]
    out = infer(EXAMPLE, pd.Series([0.1, 0.2], name="score"))["outputs"]
    assert out == {"type": "dataframe", "columns": [{"name": "score", "type": "float64"}]}
    with pytest.raises(InvalidInput, match="cannot infer a signature"):
        infer(5)


def sig_of(frame):
    return infer(frame)


def test_enforce_reorders_drops_extras_and_widens():
    sig = sig_of(pd.DataFrame({"a": [1.0], "b": [2], "c": ["x"]}))
    given = pd.DataFrame({"c": ["y", "z"], "extra": [0, 0], "b": [3.0, 4.0], "a": [1, 2]})
    out = enforce(sig, given)
    assert list(out.columns) == ["a", "b", "c"]
    assert out["a"].dtype == np.float64 and out["b"].dtype == np.int64
    assert out["b"].tolist() == [3, 4]


def test_enforce_reports_every_problem_at_once():
    sig = sig_of(pd.DataFrame({"age": [1], "income": [1.0], "country": ["FR"], "member": [True],
                               "n": [1], "when": pd.to_datetime(["2020-01-01"])}))
    given = pd.DataFrame({"country": [3, 4], "member": [1, 0], "n": [1.5, 2.0], "when": ["nope", "2020-01-01"]})
    with pytest.raises(InvalidInput) as err:
        enforce(sig, given)
    assert str(err.value) == (
        "input is missing columns 'age', 'income'; column 'country' should be string but holds numbers; "
        "column 'member' should be bool but holds numbers; column 'n' should be int64 but holds "
        "non-integer numbers; column 'when' should be datetime but holds values that are not dates")


def test_integers_with_missing_values_and_strings_in_numbers():
    sig = sig_of(pd.DataFrame({"n": [1], "x": [1.0]}))
    with pytest.raises(InvalidInput, match="column 'n' should be int64 but holds missing values"):
        enforce(sig, pd.DataFrame({"n": [1.0, None], "x": [1.0, 2.0]}))
    with pytest.raises(InvalidInput, match="column 'x' should be float64 but holds strings"):
        enforce(sig, pd.DataFrame({"n": [1], "x": ["1.0"]}))
    out = enforce(sig, pd.DataFrame({"n": [1, 2], "x": [None, 2]}, dtype=object))
    assert out["x"].isna().tolist() == [True, False] and out["n"].tolist() == [1, 2]


def test_enforce_accepts_records_columns_rows_and_arrays():
    sig = sig_of(pd.DataFrame({"a": [1.0], "b": [1.0]}))
    for given in ([{"a": 1, "b": 2}], {"a": [1], "b": [2]}, {"a": 1, "b": 2}, [[1, 2]], np.array([[1.0, 2.0]]),
                  [1, 2], pd.Series({"a": 1, "b": 2})):
        out = enforce(sig, given)
        assert out.to_dict(orient="list") == {"a": [1.0], "b": [2.0]}, given
    with pytest.raises(InvalidInput, match="input has 3 columns; the model expects 2 \\(a, b\\)"):
        enforce(sig, [[1, 2, 3]])
    with pytest.raises(InvalidInput, match="input is empty"):
        enforce(sig, {})


def test_tensor_enforcement():
    sig = infer(np.zeros((2, 3)))
    assert enforce(sig, [[1, 2, 3]]).dtype == np.float64
    assert enforce(sig, [1, 2, 3]).shape == (1, 3)
    assert enforce(sig, pd.DataFrame(np.ones((2, 3)))).shape == (2, 3)
    with pytest.raises(InvalidInput, match="input has 4 columns; the model expects 3"):
        enforce(sig, np.zeros((2, 4)))
    with pytest.raises(InvalidInput, match="3 dimensions; the model expects 2"):
        enforce(sig, np.zeros((2, 3, 1)))
    with pytest.raises(InvalidInput, match="holds strings"):
        enforce(sig, [["a", "b", "c"]])
    with pytest.raises(InvalidInput, match="holds true/false"):
        enforce(sig, np.ones((1, 3), dtype=bool))
    with pytest.raises(InvalidInput, match="give a 2-D list"):
        enforce(sig, [{"a": 1}])
    ints = {"inputs": {"type": "tensor", "dtype": "int64", "shape": [-1, 2]}}
    assert enforce(ints, [[1.0, 2.0]]).dtype == np.int64
    with pytest.raises(InvalidInput, match="non-integer"):
        enforce(ints, [[1.5, 2.0]])


def test_no_signature_passes_through_and_describe():
    X = object()
    assert enforce(None, X) is X and enforce({"inputs": None}, X) is X
    assert describe(None) == "no signature"
    assert describe(infer(pd.DataFrame({"a": [1]}), np.array([1.0]))) == "a: int64 -> float64[-1]"
