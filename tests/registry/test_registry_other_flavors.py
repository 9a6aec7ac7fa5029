"""External references, plain Python functions and ONNX models through the registry."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from jupyter_modelops.errors import IntegrityFailure, InvalidInput, NotFound, PolicyViolation
from jupyter_modelops.registry.external import ExternalModel

INTERFACE = {"inputs": [{"name": "amount", "type": "float"}, {"name": "mcc", "type": "int"}],
             "outputs": [{"name": "score", "type": "float"}], "runtime": "c++17 shared library",
             "vendor": "Acme Scoring", "notes": "called through the payments gateway"}


# --------------------------------------------------------------------------- external


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "libscore.so"
    path.write_bytes(b"\x7fELF pretend this is a scoring library" * 100)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_external_model_with_verified_sha256(client, binary):
    path, digest = binary
    v = client.register_model(ExternalModel(uri=f"file://{path}", sha256=digest, interface=INTERFACE), "fraud")
    assert v.flavor == "external" and v.trusted is True
    assert client.get_model("fraud").kind == "external"
    manifest = json.loads(client._call("get_blob", digest=v.manifest_digest))
    assert manifest["flavor_info"]["verified"] is True and manifest["flavor_info"]["sha256"] == digest
    loaded = client.load_model("fraud")
    described = loaded.describe()
    assert described["interface"] == INTERFACE and described["sha256"] == digest and described["verified"]
    with pytest.raises(PolicyViolation, match="runs outside this process; deploy it to its target"):
        loaded.predict(pd.DataFrame({"amount": [1.0], "mcc": [5411]}))


def test_external_sha256_mismatch_is_refused(client, binary):
    path, digest = binary
    wrong = "0" * 64
    with pytest.raises(IntegrityFailure, match="not the declared 000000000000"):
        client.register_model(ExternalModel(uri=str(path), sha256=wrong, interface=INTERFACE), "fraud")
    with pytest.raises(NotFound):
        client.get_model("fraud")


def test_external_sha256_is_computed_for_a_local_file(client, binary):
    path, digest = binary
    v = client.register_model(ExternalModel(uri=str(path)), "fraud")
    assert client.load_model("fraud").describe()["sha256"] == digest
    assert v.version == 1


def test_remote_external_model_is_recorded_unverified(client):
    digest = "ab" * 32
    client.register_model(ExternalModel(uri="s3://models/score-v7.bin", sha256=digest.upper(),
                                        interface=INTERFACE), "fraud")
    info = client.load_model("fraud").describe()
    assert info["sha256"] == digest and info["verified"] is False
    with pytest.raises(InvalidInput, match="give the sha256"):
        client.register_model(ExternalModel(uri="https://vendor.example/model.bin"), "fraud")
    with pytest.raises(InvalidInput, match="not 64 hex digits"):
        client.register_model(ExternalModel(uri="s3://m/x", sha256="abc"), "fraud")
    with pytest.raises(InvalidInput, match="needs a uri"):
        client.register_model(ExternalModel(uri=""), "fraud")


# --------------------------------------------------------------------------- pyfunc


def add_margin(frame):
    """A plain function model."""
    return np.asarray(frame["price"]) * 1.2


class Doubler:
    def predict(self, X):
        return np.asarray(X["x"]) * 2


def test_pyfunc_needs_trusted_true(client):
    v = client.register_model(add_margin, "pricing", input_example=pd.DataFrame({"price": [1.0, 2.0]}))
    assert v.flavor == "pyfunc" and v.trusted is False
    assert v.signature["outputs"] == {"type": "tensor", "dtype": "float64", "shape": [-1]}
    manifest = json.loads(client._call("get_blob", digest=v.manifest_digest))
    assert manifest["requires_trust"] is True and set(manifest["files"]) == {"model.pkl", "source.py"}
    source = client._call("get_blob", digest=manifest["files"]["source.py"]["digest"]).decode()
    assert source.startswith("def add_margin(frame):")

    for trust in (False, ["add_margin"]):
        with pytest.raises(PolicyViolation, match="pyfunc models run arbitrary code; load with trusted=True"):
            client.load_model("pricing", trusted=trust)
    model = client.load_model("pricing", trusted=True)
    np.testing.assert_allclose(model.predict(pd.DataFrame({"price": [10, 20]})), [12.0, 24.0])
    with pytest.raises(InvalidInput, match="missing column 'price'"):
        model.predict(pd.DataFrame({"cost": [1.0]}))
    assert not hasattr(model, "predict_proba")


def test_pyfunc_object_with_predict_and_closures(client):
    client.register_model(Doubler(), "double")
    assert client.load_model("double", trusted=True).predict(pd.DataFrame({"x": [1, 2]})).tolist() == [2, 4]
    offset = 7
    client.register_model(lambda X: np.asarray(X) + offset, "shift", flavor="pyfunc")
    assert client.load_model("shift", trusted=True).predict(np.array([1, 2])).tolist() == [8, 9]


def test_pyfunc_that_cannot_be_pickled(client):
    import threading

    lock = threading.Lock()
    with pytest.raises(InvalidInput, match="cannot save this function as a pyfunc"):
        client.register_model(lambda X: lock.locked(), "locky")


def test_corrupt_pyfunc_pickle_is_one_line(client, put_package):
    digest = put_package("pyfunc", {"model.pkl": b"\x80\x05garbage"}, {"pickle": "model.pkl"}, True)
    client._call("create_version", name="junk", flavor="pyfunc", manifest_digest=digest)
    with pytest.raises(InvalidInput) as err:
        client.load_model("junk", trusted=True)
    assert "could not load the pyfunc model" in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- onnx


def test_onnx_model_round_trip(client, iris_arrays):
    pytest.importorskip("onnx", reason="onnx is an optional extra (pip install jupyter-modelops[onnx])")
    pytest.importorskip("onnxruntime", reason="onnxruntime is an optional extra")
    skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx converts the test model")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    X, y = iris_arrays
    sk = LogisticRegression(max_iter=500).fit(X, y)
    proto = skl2onnx.convert_sklearn(sk, initial_types=[("input", FloatTensorType([None, 4]))],
                                     options={id(sk): {"zipmap": False}})
    v = client.register_model(proto, "iris-onnx")
    assert v.flavor == "onnx" and v.trusted is True and client.get_model("iris-onnx").kind == "onnx"
    assert v.signature["inputs"] == {"type": "tensor", "dtype": "float32", "shape": [-1, 4]}
    model = client.load_model("iris-onnx")
    np.testing.assert_array_equal(model.predict(X), sk.predict(X))  # float64 input cast to float32
    np.testing.assert_allclose(model.predict_proba(X.tolist()), sk.predict_proba(X), atol=1e-4)
    with pytest.raises(InvalidInput, match="input has 3 columns; the model expects 4"):
        model.predict(X[:, :3])


def test_invalid_onnx_bytes(client):
    pytest.importorskip("onnx", reason="onnx is an optional extra")
    with pytest.raises(InvalidInput, match="not a valid ONNX model"):
        client.register_model(b"not onnx at all", "bad", flavor="onnx")
