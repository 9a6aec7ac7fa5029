"""Shared fixtures. Every test gets its own store home; nothing touches ~/.jupyter_modelops."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/pg.py (a throwaway PostgreSQL cluster) is importable as ``pg`` and its fixtures
# (``pg_cluster``, ``pg_url``) serve every suite from one session-wide cluster.
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
pytest_plugins = ("pytest_jupyter.jupyter_server", "pg")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point the default store at a temp folder and reset the ``mo.*`` state around each test."""
    home = tmp_path_factory.mktemp("modelops-home")
    monkeypatch.setenv("JUPYTER_MODELOPS_HOME", str(home))
    monkeypatch.setenv("JUPYTER_MODELOPS_USER", "alice")
    monkeypatch.delenv("JUPYTER_MODELOPS_DB", raising=False)
    monkeypatch.delenv("JUPYTER_MODELOPS_ARTIFACTS", raising=False)
    from jupyter_modelops import fluent

    fluent.set_client(None)
    fluent._stack.clear()
    yield home
    for run in list(fluent._stack):
        try:
            run.end()
        except Exception:
            pass
    if fluent._client is not None:
        fluent._client.close()
    fluent.set_client(None)


@pytest.fixture
def mo_home(_isolated_home):
    return _isolated_home


@pytest.fixture
def store(mo_home):
    from jupyter_modelops.store.store import Store

    s = Store(f"sqlite:///{mo_home}/store.db", str(mo_home / "artifacts"), user="alice")
    yield s
    s.close()


@pytest.fixture(scope="session")
def registry_servers(tmp_path_factory):
    """Real ``jupyter modelops serve`` processes, one fresh server per test (kept started
    ahead in the background; see ``jupyter_modelops/server/testing.py``)."""
    from jupyter_modelops.server.testing import RegistryFactory

    factory = RegistryFactory(tmp_path_factory.mktemp("registries"))
    yield factory
    factory.close()


@pytest.fixture(params=["local", "http"])
def client(request, mo_home):
    """A Client over each transport: "local" opens the test's store in-process; "http"
    talks to a fresh registry server whose home is the test's store folder, as user
    ``alice`` (roles admin and data_scientist)."""
    from jupyter_modelops.client import Client

    if request.param == "local":
        c = Client(home=str(mo_home))
    else:
        server = request.getfixturevalue("registry_servers").get(home=mo_home)
        request.addfinalizer(server.stop)
        c = Client(url=server.url, token=server.token, home=str(mo_home))
    yield c
    c.close()


@pytest.fixture
def mo(mo_home):
    """The ``mo.*`` API on a fresh temp store."""
    import jupyter_modelops as mo

    mo.configure(home=str(mo_home))
    return mo


@pytest.fixture
def people(mo_home):
    """``people("alice")`` is a client of the test's store acting as alice (the embedded
    store gives every user every role: separation of duties is by name)."""
    from jupyter_modelops.client import Client

    made = {}

    def person(name: str) -> Client:
        if name not in made:
            made[name] = Client(home=str(mo_home), user=name)
        return made[name]

    yield person
    for c in made.values():
        c.close()


@pytest.fixture
def alice(people):
    return people("alice")


@pytest.fixture
def bob(people):
    return people("bob")


@pytest.fixture
def carol(people):
    return people("carol")


@pytest.fixture(scope="session")
def cancer_split():
    """Breast-cancer data (8 features, small and quick), split 70/30."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    return train_test_split(X, y, test_size=0.3, random_state=0)
