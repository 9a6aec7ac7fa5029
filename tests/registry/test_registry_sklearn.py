"""scikit-learn models end to end: register, load, trust, tampering, lineage."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from jupyter_modelops.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, PolicyViolation


class ThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A custom estimator skops does not know: loading it must need explicit trust."""

    def __init__(self, column=0, threshold=0.5):
        self.column = column
        self.threshold = threshold

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return (np.asarray(X)[:, self.column] > self.threshold).astype(int)


CUSTOM = f"{ThresholdClassifier.__module__}.ThresholdClassifier"


def test_register_and_load_by_version_and_alias(client, cancer, cancer_model):
    X, y = cancer
    v1 = client.register_model(cancer_model, "cancer", input_example=X.head(), description="baseline")
    v2 = client.register_model(cancer_model, "cancer", input_example=X.head())
    assert (v1.version, v2.version) == (1, 2)
    assert v1.flavor == "sklearn" and v1.trusted is True and v1.description == "baseline"
    assert client.get_model("cancer").kind == "ml"
    cols = v1.signature["inputs"]["columns"]
    assert [c["name"] for c in cols] == list(X.columns) and {c["type"] for c in cols} == {"float64"}
    client.set_alias("cancer", "champion", 1)

    expected = cancer_model.predict(X)
    by_version = client.load_model("cancer", version=1)
    by_alias = client.load_model("cancer", alias="champion")
    latest = client.load_model("cancer")
    assert latest.metadata.version == 2 and by_alias.metadata.version == 1
    for loaded in (by_version, by_alias, latest):
        np.testing.assert_array_equal(loaded.predict(X), expected)
        np.testing.assert_allclose(loaded.predict_proba(X), cancer_model.predict_proba(X))
    assert by_version.metadata.id == v1.id and by_version.flavor == "sklearn"
    assert by_version.raw.__class__.__name__ == "Pipeline"


def test_manifest_lists_files_and_versions(client, cancer, cancer_model):
    v = client.register_model(cancer_model, "cancer")
    manifest = json.loads(client._call("get_blob", digest=v.manifest_digest))
    assert manifest["format"] == 1 and manifest["flavor"] == "sklearn"
    assert set(manifest["files"]) == {"model.skops"} and manifest["requires_trust"] is False
    assert manifest["flavor_info"]["untrusted_types"] == []
    assert manifest["created_with"]["packages"]["scikit-learn"]
    blob = client._call("get_blob", digest=manifest["files"]["model.skops"]["digest"])
    assert blob[:4] == b"PK\x03\x04"  # a skops zip archive, not a pickle


def test_signature_from_fitted_feature_names_when_no_example(client, cancer, cancer_model):
    X, _ = cancer
    client.register_model(cancer_model, "cancer")
    model = client.load_model("cancer")
    shuffled = X[list(reversed(X.columns))].assign(extra=1)
    np.testing.assert_array_equal(model.predict(shuffled), cancer_model.predict(X))
    with pytest.raises(InvalidInput) as err:
        model.predict(X.drop(columns=["mean radius", "worst area"]))
    assert str(err.value) == "input is missing columns 'mean radius', 'worst area'"


def test_missing_and_wrongly_typed_columns_are_all_named(client, cancer, cancer_model):
    X, _ = cancer
    client.register_model(cancer_model, "cancer", input_example=X.head())
    model = client.load_model("cancer")
    bad = X.drop(columns=["mean radius", "mean texture"]).astype({"mean area": str})
    bad["worst area"] = True
    with pytest.raises(InvalidInput) as err:
        model.predict(bad)
    msg = str(err.value)
    assert msg == ("input is missing columns 'mean radius', 'mean texture'; "
                   "column 'mean area' should be float64 but holds strings; "
                   "column 'worst area' should be float64 but holds true/false values")
    assert "\n" not in msg
    assert err.value.details["missing"] == ["mean radius", "mean texture"]


def test_other_input_shapes_are_accepted(client, cancer, cancer_model):
    X, _ = cancer
    client.register_model(cancer_model, "cancer", input_example=X.head())
    model = client.load_model("cancer")
    expected = cancer_model.predict(X.head(3))
    records = X.head(3).to_dict(orient="records")
    np.testing.assert_array_equal(model.predict(records), expected)
    np.testing.assert_array_equal(model.predict(X.head(3).to_dict(orient="list")), expected)
    np.testing.assert_array_equal(model.predict(X.head(3).to_numpy()), expected)
    np.testing.assert_array_equal(model.predict(records[0]), expected[:1])
    ints = X.head(3).round().astype("int64")  # int -> float widening is safe
    np.testing.assert_array_equal(model.predict(ints), cancer_model.predict(ints.astype(float)))
    with pytest.raises(InvalidInput, match="input has 2 columns; the model expects 30"):
        model.predict(np.zeros((4, 2)))


def test_array_trained_model_gets_a_tensor_signature(client, iris_arrays):
    from sklearn.linear_model import LogisticRegression

    X, y = iris_arrays
    model = LogisticRegression(max_iter=500).fit(X, y)
    v = client.register_model(model, "iris", input_example=X[:5])
    assert v.signature["inputs"] == {"type": "tensor", "dtype": "float64", "shape": [-1, 4]}
    assert v.signature["outputs"]["dtype"] == "int64"
    loaded = client.load_model("iris")
    np.testing.assert_array_equal(loaded.predict(X.tolist()), model.predict(X))
    np.testing.assert_array_equal(loaded.predict(X[0]), model.predict(X[:1]))
    with pytest.raises(InvalidInput, match="input has 3 columns; the model expects 4"):
        loaded.predict(X[:, :3])
    with pytest.raises(InvalidInput, match="holds strings"):
        loaded.predict([["a", "b", "c", "d"]])


def test_custom_types_need_explicit_trust(client, iris_arrays):
    X, y = iris_arrays
    model = ThresholdClassifier(column=2, threshold=2.5).fit(X, y)
    v = client.register_model(model, "custom")
    assert v.trusted is False  # loading needs the caller's trust
    manifest = json.loads(client._call("get_blob", digest=v.manifest_digest))
    assert manifest["requires_trust"] is True
    assert manifest["flavor_info"]["untrusted_types"] == [CUSTOM]

    with pytest.raises(PolicyViolation) as err:
        client.load_model("custom")
    msg = str(err.value)
    assert CUSTOM in msg and "trusted=[" in msg and "trusted=True" in msg and "\n" not in msg
    assert msg.startswith("model 'custom' v1: ")
    assert err.value.details["untrusted_types"] == [CUSTOM]
    with pytest.raises(PolicyViolation):
        client.load_model("custom", trusted=["sklearn.something.Else"])

    for trust in ([CUSTOM], True):
        loaded = client.load_model("custom", trusted=trust)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert isinstance(loaded.raw, ThresholdClassifier)


def test_register_with_trusted_checks_the_package_loads(client, iris_arrays):
    X, y = iris_arrays
    model = ThresholdClassifier().fit(X, y)
    with pytest.raises(PolicyViolation):
        client.register_model(model, "custom", trusted=["other.Type"])
    with pytest.raises(NotFound):
        client.get_model("custom")  # nothing was registered
    v = client.register_model(model, "custom", trusted=[CUSTOM])
    assert v.version == 1 and v.trusted is False


def test_corrupted_blob_is_an_integrity_failure(client, cancer, cancer_model, blob_path):
    v = client.register_model(cancer_model, "cancer")
    manifest = json.loads(client._call("get_blob", digest=v.manifest_digest))
    path = blob_path(manifest["files"]["model.skops"]["digest"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityFailure, match="failed verification"):
        client.load_model("cancer")


def test_corrupted_manifest_is_an_integrity_failure(client, cancer_model, blob_path):
    v = client.register_model(cancer_model, "cancer")
    path = blob_path(v.manifest_digest)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"sklearn", b"pyfunc!"))
    with pytest.raises(IntegrityFailure):
        client.load_model("cancer")


def test_random_bytes_under_the_sklearn_flavor_is_one_line(client, put_package):
    digest = put_package("sklearn", {"model.skops": b"JUNK" + os.urandom(2044)}, {"file": "model.skops"})
    client._call("create_version", name="junk", flavor="sklearn", manifest_digest=digest)
    with pytest.raises(InvalidInput) as err:
        client.load_model("junk", trusted=True)
    assert "not a skops file" in str(err.value) and "\n" not in str(err.value)


def test_zip_that_is_not_skops_is_one_line(client, put_package):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("schema.json", "{not json")
    digest = put_package("sklearn", {"model.skops": buf.getvalue()}, {"file": "model.skops"})
    client._call("create_version", name="junk", flavor="sklearn", manifest_digest=digest)
    with pytest.raises(InvalidInput) as err:
        client.load_model("junk", trusted=True)
    assert "skops" in str(err.value) and "\n" not in str(err.value)


def test_a_pickle_renamed_to_skops_is_refused(client, cancer_model, put_package):
    digest = put_package("sklearn", {"model.skops": pickle.dumps(cancer_model)}, {"file": "model.skops"})
    client._call("create_version", name="pickled", flavor="sklearn", manifest_digest=digest)
    with pytest.raises(PolicyViolation) as err:
        client.load_model("pickled", trusted=True)
    assert "pickle" in str(err.value) and "\n" not in str(err.value)


def test_missing_file_in_package(client, put_package):
    digest = put_package("sklearn", {}, {"file": "model.skops"})
    client._call("create_version", name="empty", flavor="sklearn", manifest_digest=digest)
    with pytest.raises(InvalidInput, match="lacks a file"):
        client.load_model("empty")


@pytest.mark.parametrize("rel", ["../evil.py", "/etc/passwd", "a/../../b", "x\\y", "nul\x00"])
def test_unsafe_package_paths_are_refused(client, put_package, rel):
    digest = put_package("sklearn", {rel: b"data"}, {"file": "model.skops"})
    client._call("create_version", name="evil", flavor="sklearn", manifest_digest=digest)
    with pytest.raises(InvalidInput):
        client.load_model("evil", trusted=True)


def test_flavor_mismatch_between_version_and_package(client, cancer_model, put_package):
    v = client.register_model(cancer_model, "cancer")
    client._call("create_version", name="liar", flavor="rules", manifest_digest=v.manifest_digest)
    with pytest.raises(IntegrityFailure, match="sklearn model but the version says rules"):
        client.load_model("liar")


def test_lineage_from_the_run(client, cancer, cancer_model):
    X, y = cancer
    with client.start_run("exp", "train") as run:
        client.log_input(run.id, X, "cancer-train")
        info = client.log_model(run.id, cancer_model, "model", input_example=X.head())
        client.log_param(run.id, "C", 1.0)
    assert info.uri == f"runs:/{run.id}/model" and info.flavor == "sklearn"
    names = [a.path for a in client.list_artifacts(run.id, "model")]
    assert names == ["model/manifest.json", "model/model.skops"]

    for ref in (info.uri, run.info, run.id):
        v = client.register_model(ref, "cancer")
        assert v.run_id == run.id and v.manifest_digest == info.manifest_digest
        assert v.lineage["run_id"] == run.id and v.lineage["model_uri"] == info.uri
        assert [d["name"] for d in v.lineage["datasets"]] == ["cancer-train"]
        assert v.lineage["datasets"][0]["digest"] == client.list_inputs(run.id)[0].digest
        assert v.signature == info.signature
    loaded = client.load_model("cancer")
    np.testing.assert_array_equal(loaded.predict(X), cancer_model.predict(X))


def test_register_object_with_run_id_records_lineage(client, cancer, cancer_model):
    X, _ = cancer
    with client.start_run("exp") as run:
        client.log_input(run.id, X, "train")
    v = client.register_model(cancer_model, "cancer", run_id=run.id[:8])
    assert v.run_id == run.id and v.lineage["datasets"][0]["name"] == "train"
    assert "model_uri" not in v.lineage
    assert set(v.lineage) >= {"run_id", "experiment_id", "source", "code_hash", "git", "datasets"}


def test_active_fluent_run_is_used_for_lineage(mo, cancer_model):
    with mo.start_run(experiment="exp") as run:
        v = mo.register_model(cancer_model, "cancer")
    assert v.run_id == run.id


def test_logged_model_errors(client, cancer_model):
    with client.start_run("exp") as run:
        pass
    with pytest.raises(NotFound, match="has no model logged at 'model'"):
        client.register_model(f"runs:/{run.id}/model", "x")
    with pytest.raises(Conflict, match="finished runs are immutable"):
        client.log_model(run.id, cancer_model)
    with pytest.raises(InvalidInput, match="names no run"):
        client.register_model("runs:/", "x")


def test_unregistrable_objects(client):
    with pytest.raises(InvalidInput, match="cannot register a int"):
        client.register_model(42, "x")
    with pytest.raises(InvalidInput, match="unknown model flavor"):
        client.register_model(lambda X: X, "x", flavor="tensorflow")


def test_tree_ensembles_load_without_explicit_trust(tmp_path):
    """scikit-learn's own tree/neighbour containers are trusted by default; nothing else is."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    from jupyter_modelops.client import Client

    client = Client(home=str(tmp_path))
    X, y = load_iris(return_X_y=True, as_frame=True)
    for i, est in enumerate([RandomForestClassifier(n_estimators=5, random_state=0),
                             GradientBoostingClassifier(n_estimators=5), KNeighborsClassifier()]):
        est.fit(X, y)
        client.register_model(est, f"m{i}", input_example=X.head())
        assert list(client.load_model(f"m{i}").predict(X.head(7))) == list(est.predict(X.head(7)))
    client.close()
