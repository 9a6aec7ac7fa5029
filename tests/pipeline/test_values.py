"""Step outputs in safe formats (pickle only as a flagged fallback), and comparing them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from jupyter_modelops.pipeline.compare import compare_values
from jupyter_modelops.pipeline.export import predict_format
from jupyter_modelops.pipeline.worker import load_ref, store_value


class Custom:
    def __init__(self, v):
        self.v = v


def _double(x):
    return x * 2


X = np.random.default_rng(0).normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("value, fmt", [
    (pd.DataFrame({"a": [1.5, 2.5], "b": pd.Categorical(["x", "y"])}, index=pd.Index([10, 20], name="id")), "parquet"),
    (pd.Series([1, 2, 3], name="s"), "parquet"),
    (pd.Series([1.0, None]), "parquet"),
    (np.arange(6, dtype="float32").reshape(2, 3), "npy"),
    ({"acc": 0.9, "nan": math.nan, "inf": -math.inf, "pair": (1, "a"), "np": np.float64(1.5),
      "$odd": [None, True], "n": np.int32(3)}, "json"),
    ("text", "json"),
    (7, "json"),
    (LogisticRegression().fit(X, Y), "skops"),
    (make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)).fit(X, Y), "skops"),
])
def test_safe_formats_round_trip(tmp_path, value, fmt):
    ref = store_value(value, tmp_path)
    assert ref["info"]["format"] == fmt
    assert predict_format(value)[0] == fmt
    back = load_ref(ref, tmp_path)
    assert type(back) is type(value)
    ok, detail = compare_values(value, back, rtol=0, atol=0)
    assert ok, detail
    if isinstance(value, pd.Series):
        assert back.name == value.name
    if isinstance(value, dict):
        assert type(back["np"]) is np.float64 and type(back["n"]) is np.int32 and back["pair"] == (1, "a")
    # content-addressed: the same value again is the same object
    assert store_value(value, tmp_path)["digest"] == ref["digest"] or fmt == "skops"


@pytest.mark.parametrize("value, reason", [
    (lambda v: v, "no safe format for builtins.function"),
    (Custom(3), "no safe format for"),
    (np.array([{"a": 1}, None], dtype=object), "object array"),
    (pd.DataFrame({0: [1], 1: [2]}), "Parquet needs string column names"),
    (make_pipeline(FunctionTransformer(_double)).fit(X), "skops"),
])
def test_everything_else_falls_back_to_pickle_with_a_reason(tmp_path, value, reason):
    ref = store_value(value, tmp_path)
    assert ref["info"]["format"] == "pickle" and reason in ref["info"]["reason"]
    back = load_ref(ref, tmp_path)
    assert type(back).__name__ == type(value).__name__


def test_compare_values_within_tolerances():
    assert compare_values(1.0, 1.0 + 1e-9)[0] is True
    ok, detail = compare_values(1.0, 1.1)
    assert ok is False and "1.0 vs 1.1" in detail
    assert compare_values(math.nan, math.nan)[0] is True
    ok, detail = compare_values(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]))
    assert not ok and "1 of 3 values differ (max difference 0.5)" in detail
    ok, detail = compare_values(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [2.0]}))
    assert not ok and "a" in detail
    ok, detail = compare_values({"x": [1, 2]}, {"x": [1, 3]})
    assert not ok and "['x'][1]" in detail
    a = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    b = RandomForestClassifier(n_estimators=3, random_state=1).fit(X, Y)
    assert compare_values(a, RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y))[0] is True
    ok, detail = compare_values(a, b)
    assert not ok and "random_state" in detail
    b.set_params(random_state=0)
    ok, detail = compare_values(a, b)
    assert not ok and "estimators_" in detail
    assert compare_values(lambda: 1, lambda: 1)[0] is None
