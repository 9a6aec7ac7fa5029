"""The store on PostgreSQL: the same schema as SQLite, the same behaviour through the same
services, and a selection of the client test-suite run against PostgreSQL stores."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_modelops.errors import Conflict

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def test_migrations_produce_exactly_the_schema_on_postgres(pg_store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from jupyter_modelops.store import schema
    from jupyter_modelops.store.db import HEAD_REVISION, current_revision

    with pg_store.db.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, schema.metadata) == []


def test_cli_db_upgrade_and_current_on_postgres(pg_url, tmp_path):
    env = {**os.environ, "JUPYTER_MODELOPS_HOME": str(tmp_path)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "db", *a,  # noqa: E731
                                     f"--db={pg_url}"], env=env, capture_output=True, text=True, timeout=120)
    before = run("current")
    assert before.returncode == 0 and "(empty store)" in before.stdout
    up = run("upgrade")
    assert up.returncode == 0 and "up to date" in up.stdout, up.stderr
    assert "up to date" in run("current").stdout


def test_tracking_flow_on_postgres(pg_client):
    c = pg_client
    with c.start_run("pg", "first") as run:
        c.log_params(run.id, {"C": 0.5, "kernel": "rbf", "n": 3})
        for i, v in enumerate([0.5, math.nan, math.inf, -math.inf, 0.25]):
            c.log_metric(run.id, "m", v, step=i)
        c.log_metric(run.id, "acc", 0.91)
        c.log_text(run.id, "héllo", "notes/a.txt")
        c.set_tags(run.id, {"team": "risk", "note": "ünïcode ✓"})
        c.log_input(run.id, [[1, 2], [3, 4]], "train")
    with pytest.raises(Conflict):
        c.log_params(run.id, {"C": 1.0})
    got = c.get_run(run.id)
    assert got.status == "FINISHED" and got.params == {"C": "0.5", "kernel": "rbf", "n": "3"}
    assert got.tags["note"] == "ünïcode ✓"
    hist = [p.value for p in c.get_metric_history(run.id, "m")]
    assert hist[0] == 0.5 and math.isnan(hist[1]) and hist[2:] == [math.inf, -math.inf, 0.25]
    assert c.read_artifact(run.id, "notes/a.txt") == "héllo".encode()
    assert [d.name for d in c.list_inputs(run.id)] == ["train"]
    with c.start_run("pg", "second") as r2:
        c.log_params(r2.id, {"C": 1.0})
        c.log_metric(r2.id, "acc", 0.8)
    page = c.search_runs("metrics.acc > 0.85 and params.C = '0.5'", experiment="pg")
    assert [r.id for r in page] == [run.id]
    assert c.count_runs("params.kernel like 'rb%'") == 1
    assert [r.id for r in c.search_runs(order_by=["metrics.acc DESC"])] == [run.id, r2.id]
    frame = c.compare_runs([run.id, r2.id])
    assert set(frame["key"]) >= {"C", "acc"}


def test_registry_flow_on_postgres(pg_client):
    from sklearn.linear_model import LogisticRegression

    c = pg_client
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    v1 = c.register_model(model, "churn")
    v2 = c.register_model(model, "churn", description="second")
    assert (v1.version, v2.version) == (1, 2)
    c.set_alias("churn", "champion", 1)
    c.set_alias("churn", "champion", 2)
    assert c.get_model("churn").aliases == {"champion": 2}
    assert [(e.old_version, e.new_version) for e in c.alias_history("churn")] == [(None, 1), (1, 2)]
    assert list(c.load_model("churn", alias="champion").predict([[0.0], [3.0]])) == [0, 1]


def test_concurrent_writers_on_postgres(pg_store):
    """Writers racing for the same new experiment name and model versions: PostgreSQL's
    unique violations become the services' retries, never errors."""
    from jupyter_modelops import services

    digest = pg_store.artifacts.put_bytes(b'{"files": {}}')[0]
    errors, versions = [], []

    def work():
        try:
            for _ in range(5):
                services.call(pg_store, "create_run", experiment="race", name="r")
                versions.append(services.call(pg_store, "create_version", name="race-model", flavor="external",
                                              manifest_digest=digest).version)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(versions) == list(range(1, 21))
    with pg_store.db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM experiments WHERE name = 'race'")).scalar() == 1


SUITE = ["tests/tracking/test_runs.py", "tests/tracking/test_metrics.py", "tests/tracking/test_search.py",
         "tests/registry/test_registry_models.py"]


@pytest.mark.slow
def test_client_suite_runs_on_postgres(pg_cluster):
    """The client tests of tracking and the registry, every store on PostgreSQL
    (``pg_plugin.py``; the HTTP variants serve SQLite from a separate process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "postgres"),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pg_plugin", *SUITE, "-k", "not http", "-q",
         "-p", "no:cacheprovider", "--no-header"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    tail = "\n".join(proc.stdout.splitlines()[-25:])
    assert proc.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail


def test_serve_on_an_empty_postgres_database_migrates_it_at_start(pg_url, tmp_path):
    """`jupyter modelops serve --db postgresql://...` applies the migrations when it starts."""
    import signal
    import socket
    import time

    import psycopg

    from jupyter_modelops.store.db import HEAD_REVISION

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JUPYTER_MODELOPS_HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    argv = [sys.executable, "-m", "jupyter_modelops.cli.app", "serve", f"--db={pg_url}", f"--port={port}",
            f"--home={tmp_path}", f"--ServerApp.root_dir={tmp_path}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the registry did not start"
            time.sleep(0.05)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
            assert conn.execute("SELECT count(*) FROM sync_applied").fetchone() == (0,)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
