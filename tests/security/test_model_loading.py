"""Loading a model file never runs code the loader did not agree to.

- scikit-learn models are skops files: a user-defined class in one is refused by default,
  the error names the type and how to trust it, and the class is not even imported;
- pickle-based packages (pyfunc, cloudpickle) load only with ``trusted=True``; such
  versions are marked in the inventory (and its CLI), and a client cannot mark one safe;
- a file that is not what it claims (a pickle named .skops, garbage .skops/.onnx) is a
  clear one-line error and nothing is unpickled — Python's audit hook
  ``pickle.find_class`` proves no pickle was read.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jupyter_modelops.errors import InvalidInput, ModelOpsError, PolicyViolation

_EVENTS: list | None = None


def _audit(event, args):
    if _EVENTS is not None and event in ("pickle.find_class", "marshal.loads", "exec", "os.system", "open"):
        _EVENTS.append((event, args))


sys.addaudithook(_audit)  # idle unless a test is recording


class recording:
    """Record the audit events named above while the block runs."""

    def __enter__(self):
        global _EVENTS
        _EVENTS = []
        return _EVENTS

    def __exit__(self, *exc):
        global _EVENTS
        _EVENTS = None


USER_MODULE = textwrap.dedent('''
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Doubler(BaseEstimator, ClassifierMixin):
        """A user-defined estimator: skops cannot know what its code does."""

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.asarray(X)[:, 0] * 2
''')
TYPE = "usermodels_sec.Doubler"


@pytest.fixture
def user_class(tmp_path, monkeypatch):
    (tmp_path / "usermodels_sec.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("usermodels_sec")
    yield module.Doubler
    sys.modules.pop("usermodels_sec", None)


X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([0, 1])


def test_skops_refuses_a_user_defined_class_and_says_how_to_trust_it(client, user_class):
    v = client.register_model(user_class().fit(X, Y), "custom")
    assert v.trusted is False
    sys.modules.pop("usermodels_sec")  # the refusal must not need (or run) the user's module
    with recording() as events, pytest.raises(PolicyViolation) as err:
        client.load_model("custom")
    msg = str(err.value)
    assert TYPE in msg and f"trusted=['{TYPE}']" in msg and "trusted=True" in msg and "\n" not in msg
    assert "usermodels_sec" not in sys.modules and not [e for e in events if e[0] == "pickle.find_class"]
    with pytest.raises(PolicyViolation):
        client.load_model("custom", trusted=["sklearn.linear_model.LogisticRegression"])
    loaded = client.load_model("custom", trusted=[TYPE])
    assert loaded.predict(X).tolist() == [2.0, 6.0]


def test_scikit_learn_trees_need_no_trust(client):
    """Their compiled tree state is default-trusted: not marked, loads by default."""
    from sklearn.tree import DecisionTreeClassifier

    v = client.register_model(DecisionTreeClassifier().fit(X, Y), "tree")
    assert v.trusted is True
    assert client.load_model("tree").predict(X).tolist() == [0, 1]
    assert client.inventory()[0].requires_trust is False


def _side_effect_function(X):
    return [len(X)] * len(X)


def test_pickle_based_models_load_only_with_trusted_true(client):
    v = client.register_model(_side_effect_function, "fn", flavor="pyfunc")
    assert v.flavor == "pyfunc" and v.trusted is False
    for trusted in (False, None, ["pyfunc"], ["builtins.function"], "yes", 1):
        with recording() as events, pytest.raises(PolicyViolation) as err:
            client.load_model("fn", **({} if trusted is None else {"trusted": trusted}))
        assert "trusted=True" in str(err.value) and "\n" not in str(err.value)
        assert not [e for e in events if e[0] == "pickle.find_class"]  # nothing was unpickled
    assert client.load_model("fn", trusted=True).predict([[1], [2]]) == [2, 2]


def test_a_client_cannot_mark_a_pickle_package_safe(client):
    """``trusted`` on create_version is a claim the service checks against the package."""
    v = client.register_model(_side_effect_function, "fn", flavor="pyfunc")
    forged = client._call("create_version", name="fn", flavor="pyfunc", manifest_digest=v.manifest_digest,
                          trusted=True)
    assert forged.trusted is False
    assert all(e.requires_trust for e in client.inventory(all_versions=True))


def test_inventory_and_its_cli_mark_pickle_versions(mo_home, alice, user_class):
    from sklearn.linear_model import LogisticRegression

    alice.register_model(_side_effect_function, "pickled-fn", flavor="pyfunc")
    alice.register_model(LogisticRegression().fit(X, Y), "plain-skops")
    alice.register_model(user_class().fit(X, Y), "custom-skops")
    rows = {e.name: e for e in alice.inventory()}
    assert {n: r.requires_trust for n, r in rows.items()} == {
        "pickled-fn": True, "plain-skops": False, "custom-skops": True}
    alice.close()

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "inventory", *args,
                              f"--home={mo_home}"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    table = {line.split()[0]: line for line in cli().splitlines()[1:] if line.strip() and not line.startswith("-")}
    assert "yes (pickle)" in table["pickled-fn"] and "yes (custom types)" in table["custom-skops"]
    assert "yes" not in table["plain-skops"]
    assert {e["name"]: e["requires_trust"] for e in json.loads(cli("--format=json"))} == {
        "pickled-fn": True, "plain-skops": False, "custom-skops": True}


# --------------------------------------------------------------------------- files that lie


class _Boom:
    """Unpickling this creates a file: proof by side effect if a pickle is ever read."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _package(client, flavor: str, files: dict, info: dict) -> None:
    entries = {}
    for rel, data in files.items():
        stored = client._call("put_blob", data=data)
        entries[rel] = {"digest": stored["digest"], "size": stored["size"]}
    manifest = {"format": 1, "flavor": flavor, "flavor_info": info, "files": entries, "signature": None,
                "requires_trust": False, "created_with": {}}
    digest = client._call("put_blob", data=json.dumps(manifest).encode())["digest"]
    client._call("create_version", name="liar", flavor=flavor, manifest_digest=digest, trusted=True)


@pytest.mark.parametrize("trusted", [False, True])
def test_a_pickle_named_skops_is_refused_unread(client, tmp_path, trusted):
    flag = tmp_path / "UNPICKLED"
    _package(client, "sklearn", {"model.skops": pickle.dumps(_Boom(str(flag)))}, {"file": "model.skops"})
    with recording() as events, pytest.raises(PolicyViolation) as err:
        client.load_model("liar", trusted=trusted)
    assert "pickle" in str(err.value) and "\n" not in str(err.value)
    assert not flag.exists() and not [e for e in events if e[0] == "pickle.find_class"]


GARBAGE = [
    ("sklearn", "model.skops", b"\x00garbage" * 50, "not a skops file"),
    ("sklearn", "model.skops", b"PK\x03\x04" + b"\x00" * 200, "skops"),
    ("onnx", "model.onnx", b"garbage that is not protobuf" * 10, "onnxruntime cannot load"),
    ("onnx", "model.onnx", b"", "onnxruntime cannot load"),
    ("rules", "rules.json", b"!!python/object/apply:os.system ['touch PWNED']", "YAML"),
]


def test_garbage_model_files_are_one_line_errors(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for flavor, name, data, fragment in GARBAGE:
        _package(client, flavor, {name: data}, {"file": name})
        with recording() as events, pytest.raises(ModelOpsError) as err:
            client.load_model("liar", trusted=True)
        msg = str(err.value)
        assert fragment in msg and "\n" not in msg and "Traceback" not in msg, msg
        assert isinstance(err.value, (InvalidInput, PolicyViolation))
        assert not [e for e in events if e[0] == "pickle.find_class"] and not (tmp_path / "PWNED").exists()


def test_a_forged_manifest_cannot_mark_its_version_safe(client):
    """The manifest says requires_trust: false and the version claims trusted=True, yet a
    pyfunc package stays marked and still needs trusted=True to load."""
    import cloudpickle

    _package(client, "pyfunc", {"model.pkl": cloudpickle.dumps(_side_effect_function)}, {"pickle": "model.pkl"})
    v = client._call("get_version", name="liar", version=1)
    assert v.trusted is False and client.inventory()[0].requires_trust is True
    with recording() as events, pytest.raises(PolicyViolation):
        client.load_model("liar")
    assert not [e for e in events if e[0] == "pickle.find_class"]
