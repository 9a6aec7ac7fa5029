"""Fixtures for sync tests: a PostgreSQL-backed registry server and local "machines"."""

from __future__ import annotations

from pathlib import Path

import pg  # tests/pg.py, put on the path by the root conftest
import pytest


@pytest.fixture(scope="session")
def pg_registries(tmp_path_factory, pg_cluster):
    factory = pg.PgRegistryFactory(tmp_path_factory.mktemp("pg-registries"))
    yield factory
    factory.close()


@pytest.fixture
def registry(pg_registries, pg_url):
    """A running registry server on a fresh PostgreSQL database (user alice: admin, data_scientist)."""
    reg = pg_registries.new(pg_url, users=(("alice", ("admin", "data_scientist")),
                                           ("bob", ("data_scientist",)),
                                           ("vera", ("validator", "approver"))))
    reg.start()
    yield reg
    reg.stop()


class Machine:
    """A data scientist's computer: a local embedded store linked to the registry."""

    def __init__(self, home: Path, registry, user: str) -> None:
        from jupyter_modelops.client import Client
        from jupyter_modelops.sync import outbox

        self.home = home
        self.registry = registry
        self.client = Client(home=str(home), user=user, flush_interval=0.05)
        outbox.set_linked(self.client.store, True)
        self.token = registry.tokens[user] if registry is not None else None
        self._syncer = None

    @property
    def store(self):
        return self.client.store

    def syncer(self, **kw):
        from jupyter_modelops.sync.engine import Syncer

        if self._syncer is None or kw:
            self._syncer = Syncer(self.store, self.registry.url, self.token, **kw)
        return self._syncer

    def sync(self, **kw):
        self.client.flush()
        return self.syncer(**kw).sync()

    def status(self):
        from jupyter_modelops.sync.ops import status

        return status(self.store)

    def close(self):
        if self._syncer is not None:
            self._syncer.close()
        self.client.close()


@pytest.fixture
def machines(tmp_path, registry):
    made = []

    def make(name: str = "laptop", user: str = "alice") -> Machine:
        m = Machine(tmp_path / name, registry, user)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()
