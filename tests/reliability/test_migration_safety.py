"""A schema upgrade killed part way: rolled back and finished on the next open when the
database undid it; refused with a recovery command when part of it stayed; recovered
by `jupyter modelops db recover`."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa

from jupyter_modelops.errors import StoreUnavailable
from jupyter_modelops.store.db import HEAD_REVISION, KNOWN_REVISIONS, Database, current_revision, upgrade
from jupyter_modelops.store.store import Store
from jupyter_modelops.store.upgrades import read_marker
from rhelpers import assert_store_healthy, jm, wait_for

EXP, RUN = "e" * 32, "a" * 32
PREVIOUS = KNOWN_REVISIONS[KNOWN_REVISIONS.index(HEAD_REVISION) - 1]

# Opens a store one revision behind, so the newest migration runs; stops inside it after
# its first CREATE TABLE. "commit" makes that table durable first, as a migration that
# must commit part way would (the state a kill then leaves is the dangerous one).
UPGRADER = """
    import sys, time
    from alembic import op
    mode, url, signal_file = sys.argv[1:4]
    create_table = op.create_table

    def create_then_stall(*args, **kwargs):
        table = create_table(*args, **kwargs)
        if mode == "commit":
            op.get_bind().exec_driver_sql("COMMIT")
        open(signal_file, "w").close()
        time.sleep(3600 if mode != "slow" else 2)
        return table

    op.create_table = create_then_stall
    from jupyter_modelops.store.db import Database
    Database(url).close()
    print("upgraded")
"""


def _store_one_revision_behind(home) -> str:
    """A store at the previous revision holding a finished run with a param."""
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home}/store.db"
    db = Database(url, migrate=False)
    try:
        upgrade(db, PREVIOUS)
        with db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO experiments (id, name, description, tags, created_at, updated_at) "
                f"VALUES ('{EXP}', 'legacy', '', '{{}}', 1, 1)")
            conn.exec_driver_sql(
                "INSERT INTO runs (id, experiment_id, name, status, user, host, start_time, end_time, "
                "source, code_hash, provenance, updated_at) VALUES "
                f"('{RUN}', '{EXP}', 'old', 'FINISHED', 'alice', 'h', 1, 2, '', '', '{{}}', 2)")
            conn.exec_driver_sql(f"INSERT INTO params (run_id, key, value) VALUES ('{RUN}', 'C', '0.5')")
    finally:
        db.close()
    return url


def _kill_mid_upgrade(spawn, tmp_path, url: str, mode: str) -> None:
    flag = tmp_path / f"in-migration-{mode}"
    child = spawn(UPGRADER, mode, url, flag)
    wait_for(flag.exists, what="the upgrade to start", proc=child)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL


def _state(url: str):
    db = Database(url, migrate=False)
    try:
        with db.read() as conn:
            return current_revision(conn), read_marker(conn), set(sa.inspect(conn).get_table_names())
    finally:
        db.close()


def test_upgrade_killed_inside_its_transaction_is_finished_on_next_open(spawn, tmp_path):
    home = tmp_path / "home"
    url = _store_one_revision_behind(home)
    _kill_mid_upgrade(spawn, tmp_path, url, "rollback")

    rev, marker, tables = _state(url)
    assert rev == PREVIOUS and marker is not None and marker["to_rev"] == HEAD_REVISION
    assert "deployments" not in tables  # the database rolled the DDL back

    store = Store(url, str(home / "artifacts"), user="alice")  # opens: resumes the upgrade
    store.close()
    rev, marker, tables = _state(url)
    assert (rev, marker) == (HEAD_REVISION, None) and "deployments" in tables
    assert list(home.glob("*.bak")) == []  # the pre-upgrade copy is gone once it committed
    out = jm(home, "runs", "--json", "--experiment=legacy").stdout
    assert '"old"' in out and '"C": "0.5"' in out
    assert_store_healthy(home)


def test_half_applied_upgrade_is_refused_then_recovered(spawn, tmp_path):
    home = tmp_path / "home"
    url = _store_one_revision_behind(home)
    _kill_mid_upgrade(spawn, tmp_path, url, "commit")
    rev, marker, tables = _state(url)
    assert rev == PREVIOUS and marker is not None and "deployments" in tables  # half applied

    with pytest.raises(StoreUnavailable) as info:
        Store(url, str(home / "artifacts"), user="alice")
    message = str(info.value)
    assert "\n" not in message
    assert "interrupted schema upgrade" in message and f"{PREVIOUS} -> {HEAD_REVISION}" in message
    assert "unexpected tables deployments" in message and "jupyter modelops db recover" in message

    # Every command refuses the same way: one line, exit status 1, nothing changed.
    proc = jm(home, "runs", check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: the store at") and "db recover" in proc.stderr
    check = jm(home, "db", "check", check=False)
    assert check.returncode == 1 and "did not finish" in check.stdout and "1 problem(s)" in check.stderr
    assert _state(url)[:2] == (rev, marker)

    recovered = jm(home, "db", "recover")
    assert "restored" in recovered.stdout and f"revision {HEAD_REVISION} (up to date)" in recovered.stdout
    assert (home / "store.db.interrupted").exists()
    assert _state(url)[:2] == (HEAD_REVISION, None)
    assert '"C": "0.5"' in jm(home, "runs", "--json", "--experiment=legacy").stdout
    assert_store_healthy(home)
    assert "nothing to recover" in jm(home, "db", "recover").stdout


def test_upgrade_in_progress_is_waited_for_not_refused(spawn, tmp_path):
    """A live upgrader holds the lock: a second opener waits and then finds the store current."""
    home = tmp_path / "home"
    url = _store_one_revision_behind(home)
    flag = tmp_path / "in-migration"
    child = spawn(UPGRADER, "slow", url, flag)
    wait_for(flag.exists, what="the upgrade to start", proc=child)
    store = Store(url, str(home / "artifacts"), user="alice")  # blocks until the child commits
    store.close()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and out.strip() == "upgraded", err
    assert _state(url)[:2] == (HEAD_REVISION, None)


def test_half_applied_upgrade_by_a_newer_version_is_refused(tmp_path):
    """A newer package began upgrading past our newest revision and died with a table made:
    our revision number matches, the schema does not — refused, not misread."""
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home}/store.db"
    Store(url, str(home / "artifacts"), user="alice").close()
    db = Database(url, migrate=False)
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE feature_store (id TEXT PRIMARY KEY)")
        conn.exec_driver_sql(
            "INSERT INTO modelops_schema_upgrade (id, from_rev, to_rev, package, host, pid, started_at) "
            f"VALUES (1, '{HEAD_REVISION}', '0099', 'jupyter-modelops 9.0', 'elsewhere', 1, 0)")
    db.close()
    with pytest.raises(StoreUnavailable, match=r"interrupted schema upgrade .*jupyter-modelops 9\.0.*"
                                               r"unexpected tables feature_store"):
        Store(url, str(home / "artifacts"), user="alice")
