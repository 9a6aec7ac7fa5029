"""The audit log: a hash chain that names the first edited, inserted or removed entry."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from jupyter_modelops.governance import audit
from jupyter_modelops.store import schema as s
from jupyter_modelops.store.store import Store


def jm(home, *args):
    return subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", *args, f"--home={home}"],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def chain(store):
    """Ten entries written as changes would write them."""
    for i in range(10):
        with store.db.write() as conn:
            audit.append(conn, store, "test.step", "thing", f"t{i}", {"i": i, "note": "x" * (i * 50)})
    return store


def _sql(store, statement: str, **params) -> None:
    with store.db.write() as conn:
        conn.execute(sa.text(statement), params)


def test_an_intact_chain_verifies(chain, mo_home):
    report = audit.verify(chain)
    assert report.ok and report.entries == 10 and report.head_seq == 10 and len(report.head_hash) == 64
    assert "intact: 10 entries" in report.message
    first, second = audit.entries(chain, limit=2)
    assert first.prev_hash == audit.GENESIS and second.prev_hash == first.hash
    assert [e.subject_id for e in audit.entries(chain, subject_type="thing", after=8)] == ["t8", "t9"]
    proc = jm(mo_home, "audit", "verify")
    assert proc.returncode == 0 and "audit log intact: 10 entries" in proc.stdout


def test_an_edited_entry_is_named(chain, mo_home):
    _sql(chain, "UPDATE audit_log SET details = :d WHERE seq = 4", d=json.dumps({"i": 40}))
    report = audit.verify(chain)
    assert not report.ok and report.first_bad["seq"] == 4 and "edited" in report.first_bad["problem"]
    proc = jm(mo_home, "audit", "verify")
    assert proc.returncode == 1
    assert "error: audit log broken at entry #4" in proc.stderr and "was edited" in proc.stderr


def test_an_edited_actor_is_named_too(chain):
    _sql(chain, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 7")
    assert audit.verify(chain).first_bad["seq"] == 7


def test_a_rehashed_edit_is_caught_by_the_next_link(chain):
    row = dict(next(r for r in audit.iter_rows(chain) if r["seq"] == 5))
    row["details"] = audit.canonical({"i": 500})
    row["hash"] = audit._row_hash(row)  # the forger recomputes this entry's own hash...
    _sql(chain, "UPDATE audit_log SET details = :d, hash = :h WHERE seq = 5", d=row["details"], h=row["hash"])
    report = audit.verify(chain)  # ...but entry 6 still links to the original
    assert not report.ok and report.first_bad["seq"] == 5 and "re-hashed" in report.first_bad["problem"]


def test_a_removed_entry_is_named(chain, mo_home):
    _sql(chain, "DELETE FROM audit_log WHERE seq = 6")
    report = audit.verify(chain)
    assert not report.ok and report.first_bad["seq"] == 6
    assert "entry #6 was removed" in report.first_bad["problem"]
    proc = jm(mo_home, "audit", "verify")
    assert proc.returncode == 1 and "entry #6" in proc.stderr and "removed" in proc.stderr


def test_an_inserted_entry_is_named(chain):
    # To insert after #3 the forger must renumber what follows, and can make the new entry
    # itself look right; the entry after it still links to #3.
    _sql(chain, "UPDATE audit_log SET seq = seq + 100 WHERE seq > 3")
    _sql(chain, "UPDATE audit_log SET seq = seq - 99 WHERE seq > 100")
    prev = next(r for r in audit.iter_rows(chain) if r["seq"] == 3)
    fake = {"seq": 4, "id": "f" * 32, "at": prev["at"], "actor": "mallory", "action": "request.approve",
            "subject_type": "request", "subject_id": "x", "details": "{}", "prev_hash": prev["hash"]}
    fake["hash"] = audit._row_hash(fake)
    with chain.db.write() as conn:
        conn.execute(s.audit_log.insert().values(**fake))
    report = audit.verify(chain)
    assert not report.ok
    assert report.first_bad == {"seq": 4, "id": "f" * 32,
                                "problem": "entry #4 was inserted: entry #5 links to #3"}


def test_a_forged_entry_at_the_end_needs_a_bad_hash_or_an_anchor(chain):
    head = audit.verify(chain)
    last = next(r for r in audit.iter_rows(chain) if r["seq"] == 10)
    forged = {"seq": 11, "id": "e" * 32, "at": last["at"], "actor": "mallory", "action": "x",
              "subject_type": "y", "subject_id": "z", "details": "{}", "prev_hash": last["hash"], "hash": "0" * 64}
    with chain.db.write() as conn:
        conn.execute(s.audit_log.insert().values(**forged))
    assert audit.verify(chain).first_bad["seq"] == 11
    # Truncating the tail leaves a valid chain; an anchor kept elsewhere catches it.
    _sql(chain, "DELETE FROM audit_log WHERE seq >= 10")
    assert audit.verify(chain).ok
    report = audit.verify(chain, anchor=(head.head_seq, head.head_hash))
    assert not report.ok and "anchored entry #10 is gone" in report.first_bad["problem"]


def test_export_is_json_lines_and_verifies_on_its_own(chain, mo_home, tmp_path):
    out = tmp_path / "audit.jsonl"
    proc = jm(mo_home, "audit", "export", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["seq"] == 1
    assert jm(mo_home, "audit", "verify", str(out)).returncode == 0
    rows = [json.loads(x) for x in lines]
    rows[2]["actor"] = "mallory"
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    proc = jm(mo_home, "audit", "verify", str(out))
    assert proc.returncode == 1 and "entry #3" in proc.stderr
    listed = jm(mo_home, "audit", "list", "--limit=3")
    assert listed.returncode == 0 and "test.step" in listed.stdout


def test_concurrent_appenders_keep_one_chain(mo_home):
    url = f"sqlite:///{mo_home}/store.db"
    stores = [Store(url, str(mo_home / "artifacts"), user=f"user{i}") for i in range(4)]
    errors = []

    def work(st):
        try:
            for j in range(25):
                with st.db.write() as conn:
                    audit.append(conn, st, "test.concurrent", "thing", str(j), {"j": j})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = audit.verify(stores[0])
    assert report.ok and report.entries == 100
    for st in stores:
        st.close()


def test_append_outside_a_write_transaction_is_a_bug(store):
    with store.db.read() as conn, pytest.raises(RuntimeError, match="inside store.db.write"):
        audit.append(conn, store, "x", "y", "z")


def test_writes_of_every_capability_are_audited_briefly(alice):
    import numpy as np

    with alice.start_run("audited") as run:
        for step in range(500):
            run.log_metric("loss", float(np.exp(-step / 100)), step=step)
        run.log_params({"C": 1.0, "penalty": "l2"})
        alice.log_bytes(run.id, b"\x00" * 100_000, "weights.bin")
    entries = {e.action: e for e in alice.audit_entries(subject_type="run", subject_id=run.id)}
    assert {"create_run", "log_metric_points", "log_params", "record_artifact", "end_run"} <= set(entries)
    points = entries["log_metric_points"].details
    assert points["points"] == 500 and points["keys"] == ["loss"]
    assert entries["log_params"].details == {"keys": ["C", "penalty"], "params": 2}
    art = entries["record_artifact"].details
    assert art["artifact"] == "weights.bin" and art["size"] == 100_000
    assert all(len(json.dumps(e.details)) < 2000 for e in alice.audit_entries())
    assert alice.audit_verify().ok


def test_describe_op_never_carries_bytes_or_arrays():
    subject_type, subject_id, details = audit.describe_op(
        "log_metric_points", {"points": [("r" * 32, "k", i, 0, 0.5) for i in range(10_000)]})
    assert (subject_type, subject_id) == ("run", "r" * 32) and details["points"] == 10_000
    assert audit._plain({"blob": b"\x00" * 10, "text": "y" * 1000, "nan": float("nan")}) == {
        "blob": {"bytes": 10}, "text": "y" * 300 + "… (1000 chars)", "nan": "nan"}
    _, _, details = audit.describe_op("some_future_op", {"name": "x", "data": b"123", "n": 3})
    assert details == {"args": ["data", "n", "name"], "name": "x", "n": 3}
