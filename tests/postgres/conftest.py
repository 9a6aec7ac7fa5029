"""PostgreSQL fixtures (``tests/pg.py``): a session cluster, a fresh database per test."""

from __future__ import annotations

import pytest


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
