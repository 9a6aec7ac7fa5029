"""Schema migrations: old stores are upgraded in place, newer ones are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from jupyter_modelops.errors import StoreUnavailable
from jupyter_modelops.store import schema
from jupyter_modelops.store.db import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    MIGRATIONS,
    Database,
    alembic_config,
    current_revision,
    upgrade,
)
from jupyter_modelops.store.store import Store

EXP_ID = "0" * 31 + "1"
RUN_ID = "0" * 31 + "2"


OLD_REVISIONS = [r for r in KNOWN_REVISIONS if r != HEAD_REVISION]


def _old_store(path, revision: str = "0001") -> str:
    """A store left at an older revision (default: the first) with one experiment and run."""
    url = f"sqlite:///{path}/store.db"
    db = Database(url, migrate=False)
    try:
        upgrade(db, revision)
        with db.read() as conn:
            assert current_revision(conn) == revision
            if revision == "0001":
                assert not sa.inspect(conn).has_table("registered_models")
        with db.write() as conn:
            conn.execute(sa.text(
                "INSERT INTO experiments (id, name, description, tags, created_at, updated_at) "
                "VALUES (:id, 'legacy', 'from 0001', :tags, 1000, 1000)"
            ), {"id": EXP_ID, "tags": json.dumps({"team": "risk"})})
            conn.execute(sa.text(
                "INSERT INTO runs (id, experiment_id, parent_run_id, name, status, user, host, pid, "
                "pid_start, start_time, end_time, error_type, error_message, source, code_hash, "
                "provenance, updated_at) VALUES (:id, :exp, NULL, 'old-run', 'FINISHED', 'bob', "
                "'elsewhere', NULL, NULL, 1000, 2000, NULL, NULL, 'train.py', '', '{}', 2000)"
            ), {"id": RUN_ID, "exp": EXP_ID})
            conn.execute(sa.text("INSERT INTO params (run_id, key, value) VALUES (:r, 'C', '0.5')"),
                         {"r": RUN_ID})
            conn.execute(sa.text(
                "INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES (:r, 'acc', 0, 1500, 0.75)"
            ), {"r": RUN_ID})
            conn.execute(sa.text(
                "INSERT INTO latest_metrics (run_id, key, step, timestamp, value) "
                "VALUES (:r, 'acc', 0, 1500, 0.75)"
            ), {"r": RUN_ID})
    finally:
        db.close()
    return url


@pytest.mark.parametrize("revision", OLD_REVISIONS)
def test_old_store_is_upgraded_on_open_and_keeps_its_data(tmp_path, revision):
    url = _old_store(tmp_path, revision)
    store = Store(url, str(tmp_path / "artifacts"), user="alice")
    try:
        with store.db.read() as conn:
            assert current_revision(conn) == HEAD_REVISION
        from jupyter_modelops.tracking import metrics, runs

        run = runs.get_run(store, RUN_ID)
        assert (run.name, run.status, run.user, run.source) == ("old-run", "FINISHED", "bob", "train.py")
        assert run.params == {"C": "0.5"}
        assert run.metrics == {"acc": 0.75}
        assert runs.get_experiment(store, "legacy").tags == {"team": "risk"}
        assert [m.value for m in metrics.metric_history(store, RUN_ID, "acc")] == [0.75]
        # The tables added by later migrations are usable.
        with store.db.write() as conn:
            conn.execute(schema.registered_models.insert().values(
                id="a" * 32, name="churn", kind="ml", description="", owner="alice", tags={},
                created_at=1, updated_at=1))
            conn.execute(schema.model_versions.insert().values(
                id="b" * 32, model_id="a" * 32, version=1, run_id=RUN_ID, flavor="sklearn",
                manifest_digest="c" * 64, description="", tags={}, lineage={}, state="REGISTERED",
                trusted=False, created_by="alice", created_at=1, updated_at=1))
        with store.db.read() as conn:
            row = conn.execute(sa.select(schema.model_versions)).one()
        assert (row.version, row.run_id) == (1, RUN_ID)
    finally:
        store.close()


def test_client_opening_an_old_store_upgrades_it(tmp_path):
    from jupyter_modelops.client import Client

    _old_store(tmp_path)
    client = Client(home=str(tmp_path))
    try:
        assert client.get_run(RUN_ID).params == {"C": "0.5"}
        assert [e.name for e in client.list_experiments()] == ["legacy"]
        with client.store.db.read() as conn:
            assert current_revision(conn) == HEAD_REVISION
    finally:
        client.close()


def test_alembic_head_is_the_revision_the_code_expects():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [HEAD_REVISION]
    # A single linear history ending at the head.
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions[0] == HEAD_REVISION and len(set(revisions)) == len(revisions)


def test_migrated_schema_matches_the_metadata_exactly(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(f"sqlite:///{tmp_path}/store.db")
    try:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, schema.metadata)
        assert diffs == []
    finally:
        db.close()


def test_store_from_a_newer_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    Database(url).close()
    db = Database(url, migrate=False)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    db.close()
    with pytest.raises(StoreUnavailable) as info:
        Store(url, str(tmp_path / "artifacts"), user="alice")
    message = str(info.value)
    assert "0099" in message and "newer" in message and "upgrade" in message
    # Refusing did not touch the store.
    db = Database(url, migrate=False)
    with db.read() as conn:
        assert current_revision(conn) == "0099"
    db.close()


def test_two_processes_opening_a_fresh_store_migrate_it_once(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        from jupyter_modelops.store.store import Store
        start = float(sys.argv[1])
        while time.time() < start:
            time.sleep(0.001)
        s = Store("sqlite:///{tmp_path}/store.db", "{tmp_path}/artifacts", user="p")
        from jupyter_modelops.tracking import runs
        runs.get_or_create_experiment(s, "shared")
        s.close()
        print("ok")
    """)
    import time

    start = str(time.time() + 1.5)  # both interpreters are up before either opens the store
    procs = [subprocess.Popen([sys.executable, "-c", code, start], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    db = Database(f"sqlite:///{tmp_path}/store.db", migrate=False)
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [(HEAD_REVISION,)]
        assert conn.exec_driver_sql("SELECT name FROM experiments").all() == [("shared",)]
    db.close()


def test_alembic_config_points_at_the_packaged_migrations(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/store.db")
    with db.read() as conn:
        cfg = alembic_config(conn)
        assert cfg.get_main_option("script_location") == str(MIGRATIONS)
    db.close()
