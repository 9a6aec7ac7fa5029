"""Datasets a run used: content digest, schema, row count and profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_modelops.errors import Conflict, InvalidInput


def _frame():
    return pd.DataFrame({
        "age": [25, 32, None, 51, 40],
        "city": ["Paris", "Lyon", "Paris", None, "Paris"],
        "churned": [True, False, False, True, False],
    })


def test_dataframe_digest_schema_rows_profile(client):
    run = client.create_run()
    ds = client.log_input(run.id, _frame(), "customers", context="training", source="s3://bucket/c.parquet")
    assert len(ds.digest) == 64 and ds.num_rows == 5
    assert (ds.name, ds.context, ds.source) == ("customers", "training", "s3://bucket/c.parquet")
    string_type = str(_frame()["city"].dtype)  # "object" on pandas 2, "str" on pandas 3
    assert ds.schema == {"type": "dataframe", "columns": [
        {"name": "age", "type": "float64"}, {"name": "city", "type": string_type},
        {"name": "churned", "type": "bool"}]}
    age = ds.profile["age"]
    assert age["nulls"] == 1
    assert age["mean"] == pytest.approx(37.0) and age["min"] == 25.0 and age["max"] == 51.0
    city = ds.profile["city"]
    assert city["nulls"] == 1 and city["distinct"] == 2
    assert city["top"] == {"Paris": 3, "Lyon": 1}
    assert ds.profile["churned"]["top"] == {"False": 3, "True": 2}
    [stored] = client.list_inputs(run.id)
    assert stored == ds


def test_digest_is_stable_for_equal_content_and_changes_with_it(client):
    run = client.create_run()
    a = client.log_input(run.id, _frame(), "a")
    b = client.log_input(run.id, _frame().copy(deep=True), "b")
    reindexed = client.log_input(run.id, _frame().set_axis([10, 11, 12, 13, 14]), "c")
    assert a.digest == b.digest == reindexed.digest  # the index is not content
    changed = _frame()
    changed.loc[0, "age"] = 26
    renamed = _frame().rename(columns={"city": "town"})
    retyped = _frame().astype({"churned": "int64"})
    reordered = _frame().iloc[::-1]
    digests = {a.digest}
    for i, df in enumerate((changed, renamed, retyped, reordered)):
        digests.add(client.log_input(run.id, df, f"variant{i}").digest)
    assert len(digests) == 5
    assert len(client.list_inputs(run.id)) == 7


def test_digest_is_stable_across_processes(client):
    import subprocess
    import sys

    code = ("import pandas as pd, numpy as np; from jupyter_modelops.tracking.datasets import describe;"
            "print(describe(pd.DataFrame({'x': np.arange(100), 'y': ['a', 'b'] * 50}))['digest'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    run = client.create_run()
    here = client.log_input(run.id, pd.DataFrame({"x": np.arange(100), "y": ["a", "b"] * 50}), "d")
    assert out.stdout.strip() == here.digest


def test_ndarray(client):
    run = client.create_run()
    x = np.arange(12, dtype="float64").reshape(4, 3)
    ds = client.log_input(run.id, x, "X")
    assert ds.num_rows == 4
    assert [c["name"] for c in ds.schema["columns"]] == ["0", "1", "2"]
    assert all(c["type"] == "float64" for c in ds.schema["columns"])
    assert ds.profile["1"]["min"] == 1.0 and ds.profile["1"]["max"] == 10.0
    assert client.log_input(run.id, x.copy(), "X2").digest == ds.digest
    y = x.copy()
    y[3, 2] = -1
    assert client.log_input(run.id, y, "X3").digest != ds.digest
    vec = client.log_input(run.id, np.array([1, 2, 3]), "vec")
    assert vec.num_rows == 3
    images = client.log_input(run.id, np.zeros((5, 8, 8), dtype="uint8"), "images")
    assert images.num_rows == 5
    assert images.schema == {"type": "tensor", "dtype": "uint8", "shape": [-1, 8, 8]}
    lst = client.log_input(run.id, [[1.0, 2.0], [3.0, 4.0]], "list")
    assert lst.num_rows == 2


def test_series(client):
    run = client.create_run()
    s = pd.Series([1.0, 2.0, np.nan, 4.0], name="target")
    ds = client.log_input(run.id, s, "y", context="labels")
    assert ds.num_rows == 4 and ds.context == "labels"
    assert ds.schema["columns"] == [{"name": "target", "type": "float64"}]
    assert ds.profile["target"]["nulls"] == 1
    assert ds.profile["target"]["mean"] == pytest.approx(7 / 3)
    assert client.log_input(run.id, s.copy(), "y2").digest == ds.digest
    assert client.log_input(run.id, s.fillna(0), "y3").digest != ds.digest
    unnamed = client.log_input(run.id, pd.Series(["a", "b", "a"]), "labels")
    assert unnamed.profile["value"]["top"] == {"a": 2, "b": 1}


@pytest.mark.parametrize("data", [{"a": [1, 2]}, "a string", 42, None, object()])
def test_wrong_type_is_invalid(client, data):
    run = client.create_run()
    with pytest.raises(InvalidInput, match="log_input takes"):
        client.log_input(run.id, data, "bad")
    assert client.list_inputs(run.id) == []


def test_bad_name_and_finished_run(client):
    run = client.create_run()
    with pytest.raises(InvalidInput, match="name"):
        client.log_input(run.id, _frame(), "")
    client.end_run(run.id)
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_input(run.id, _frame(), "late")
    assert client.list_inputs(run.id) == []


def test_fluent_log_input(mo):
    with mo.start_run() as run:
        mo.log_input(_frame(), "customers", context="evaluation")
    [ds] = mo.get_client().list_inputs(run.id)
    assert (ds.name, ds.context, ds.num_rows) == ("customers", "evaluation", 5)
