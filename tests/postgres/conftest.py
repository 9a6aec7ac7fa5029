"""PostgreSQL fixtures (``tests/pg.py``): a session cluster, a fresh database per test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_pg():
    path = (Path(__file__).resolve().parents[1] / "pg.py")
    for mod in list(sys.modules.values()):
        if getattr(mod, "__file__", None) and Path(mod.__file__).resolve() == path:
            return mod
    spec = importlib.util.spec_from_file_location("modelops_tests_pg", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["modelops_tests_pg"] = mod
    spec.loader.exec_module(mod)
    return mod


pg = _load_pg()
pg_cluster = pg.pg_cluster
pg_url = pg.pg_url


@pytest.fixture
def pg_store(pg_url, tmp_path):
    from jupyter_modelops.store.store import Store

    store = Store(pg_url, str(tmp_path / "artifacts"), user="alice")
    yield store
    store.close()


@pytest.fixture
def pg_client(pg_store):
    from jupyter_modelops.client import Client
    from jupyter_modelops.transport import LocalTransport

    c = Client(transport=LocalTransport(pg_store), user="alice")
    yield c
    c.close()
