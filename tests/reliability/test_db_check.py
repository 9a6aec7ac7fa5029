"""`jupyter modelops db check`: a healthy store passes; each kind of damage is named, with
where it is, and makes the command exit 1."""

from __future__ import annotations

import json
import sqlite3

import pytest

from rhelpers import jm


@pytest.fixture
def filled(mo_home):
    """A store with runs, metric points, artifacts and a registered model version."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from jupyter_modelops.client import Client

    c = Client(home=str(mo_home))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    with c.start_run("checked", "r1") as run:
        c.log_params(run.id, {"C": 1.0})
        c.log_batch(run.id, [("loss", 1 / (i + 1), i) for i in range(300)])
        notes = c.log_text(run.id, "first notes", "notes.txt")
        data = c.log_bytes(run.id, b"\x00" * 4096, "data/zeros.bin")
        c.register_model(LogisticRegression().fit(X, y), "checked-model", run_id=run.id)
    c.close()
    return mo_home, {"notes": notes.digest, "zeros": data.digest}


def _blob(home, digest):
    return home / "artifacts" / "sha256" / digest[:2] / digest


def test_healthy_store_passes(filled):
    home, _ = filled
    proc = jm(home, "db", "check")
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["ok"] * (len(lines) - 1)
    assert any("integrity_check ok" in line for line in lines)
    assert any("foreign_key_check ok" in line for line in lines)
    assert any(line.startswith("ok      artifacts:") and "none missing" in line for line in lines)
    assert any(line.startswith("ok      audit:") for line in lines)
    assert lines[-1].endswith("no problems found")
    report = json.loads(jm(home, "db", "check", "--json").stdout)
    assert report["ok"] is True and {f["check"] for f in report["findings"]} >= {"database", "schema",
                                                                                  "artifacts", "audit"}


def test_corrupt_and_missing_blobs_are_named(filled):
    home, digests = filled
    _blob(home, digests["notes"]).write_text("edited notes")
    _blob(home, digests["zeros"]).unlink()
    proc = jm(home, "db", "check", check=False)
    assert proc.returncode == 1
    corrupt = [line for line in proc.stdout.splitlines() if "corrupt" in line]
    missing = [line for line in proc.stdout.splitlines() if "missing" in line and "PROBLEM" in line]
    assert len(corrupt) == 1 and digests["notes"][:12] in corrupt[0] and "'notes.txt'" in corrupt[0]
    assert len(missing) == 1 and digests["zeros"][:12] in missing[0] and "'data/zeros.bin'" in missing[0]
    assert "2 problem(s) found" in proc.stderr


def test_broken_audit_chain_fails_the_check(filled):
    home, _ = filled
    with sqlite3.connect(home / "store.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    proc = jm(home, "db", "check", check=False)
    assert proc.returncode == 1
    assert any(line.startswith("PROBLEM audit:") and "#2" in line for line in proc.stdout.splitlines())


def test_dangling_rows_fail_the_foreign_key_check(filled):
    home, _ = filled
    with sqlite3.connect(home / "store.db") as conn:  # foreign keys are off in a plain connection
        conn.execute("INSERT INTO params (run_id, key, value) VALUES ('%s', 'k', 'v')" % ("f" * 32))
    proc = jm(home, "db", "check", check=False)
    assert proc.returncode == 1
    assert "PROBLEM database: 1 row(s) point at rows that do not exist (params -> runs)" in proc.stdout


def test_damaged_database_pages_fail_the_integrity_check(filled):
    home, _ = filled
    path = home / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root, = conn.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' "
                             "AND tbl_name = 'metrics' ORDER BY rootpage LIMIT 1").fetchone()
    with open(path, "r+b") as fh:  # scribble over the cells of an index page
        fh.seek(root * page_size - page_size // 2)
        fh.write(b"\xa5" * (page_size // 2))
    proc = jm(home, "db", "check", check=False)
    assert proc.returncode == 1, proc.stdout
    bad = [line for line in proc.stdout.splitlines() if line.startswith("PROBLEM database:")]
    assert bad and ("integrity_check" in bad[0] or "malformed" in bad[0])
    assert "Traceback" not in proc.stderr
