"""pytest plugin: run existing test modules against PostgreSQL stores.

Every test gets a fresh PostgreSQL database (copied from a migrated template, so opening it
costs no migration) and ``$JUPYTER_MODELOPS_DB`` pointing at it, so every ``Client()`` /
``mo.*`` store opened on the test's home is PostgreSQL-backed (fixtures that build a SQLite
URL themselves stay on SQLite). Run the client-facing suites with it:

    PYTHONPATH=tests/postgres .venv/bin/python -m pytest -p pg_plugin tests/tracking tests/registry -k "not http"

(``-k "not http"``: the HTTP variant of the ``client`` fixture serves the test's home from a
separate registry process on SQLite.) ``tests/postgres/test_pg_store.py`` runs a selection
this way as part of the normal suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Loaded with -p before any conftest: make tests/pg.py importable under the name the root
# conftest uses, so both share one module (and one cluster).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pg  # noqa: E402


_template: list[str] = []


def _template_name(cluster) -> str:
    if not _template:
        from jupyter_modelops.store.store import Store

        url = cluster.new_database("tmpl")
        Store(url, str(cluster.root / "template-artifacts"), user="template").close()
        _template.append(url.rsplit("/", 1)[1])
    return _template[0]


@pytest.fixture(autouse=True)
def _postgres_store(_isolated_home, monkeypatch):
    cluster = pg.get_cluster()
    template = _template_name(cluster)
    with cluster._lock:
        cluster._count += 1
        name = f"pgrun_{cluster._count}"
    # FILE_COPY: a small template copies faster than through the WAL. Databases are left to
    # the cluster, which goes at the end of the session.
    cluster.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    url = cluster.url(name)
    monkeypatch.setenv("JUPYTER_MODELOPS_DB", url)
    return url
