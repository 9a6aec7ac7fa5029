"""Exactly-once sync under a hostile network, property-based: the real ``Syncer`` pushes a
local store's outbox to a registry store through a transport that drops requests, loses
answers, delivers batches twice and delivers held-back copies late and out of order.
Once the faults stop and a sync completes, the registry holds every change exactly once.
"""

from __future__ import annotations

import copy
import random
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_modelops.errors import ModelOpsError, StoreUnavailable
from jupyter_modelops.store import schema as s

FAULTS = ("ok", "drop_request", "drop_answer", "duplicate", "hold")
FAULTY_OPS = {"sync_apply", "put_blob", "sync_missing_blobs", "sync_changes", "get_blob"}
REPLAYABLE = {"sync_apply", "put_blob"}  # what a network could deliver twice or late


class FaultyNetwork:
    """A transport to the registry that misbehaves as ``faults`` says, call by call."""

    def __init__(self, inner, faults: list[str], rng: random.Random) -> None:
        self.inner = inner
        self.faults = list(faults)
        self.rng = rng
        self.held: list[tuple[str, dict]] = []
        self.log: list[str] = []

    def call(self, op: str, /, **kwargs):
        if self.held and self.rng.random() < 0.3:
            self.deliver_held()
        fault = self.faults.pop(0) if self.faults and op in FAULTY_OPS else "ok"
        if fault in ("duplicate", "hold") and op not in REPLAYABLE:
            fault = "drop_answer"
        self.log.append(f"{op}:{fault}")
        if fault == "drop_request":
            raise StoreUnavailable("the registry did not answer: timed out")
        if fault == "hold":  # in flight: arrives some time later
            self.held.append((op, copy.deepcopy(kwargs)))
            raise StoreUnavailable("the registry did not answer: timed out")
        answer = self.inner.call(op, **kwargs)
        if fault == "duplicate":
            answer = self.inner.call(op, **copy.deepcopy(kwargs))
        if fault == "drop_answer":
            raise StoreUnavailable("the registry did not answer: timed out")
        return answer

    def deliver_held(self) -> None:
        """Late copies arrive, in any order; nobody is waiting for their answers."""
        self.rng.shuffle(self.held)
        while self.held:
            op, kwargs = self.held.pop()
            try:
                self.inner.call(op, **kwargs)
            except ModelOpsError:
                pass

    def describe(self) -> str:
        return "faulty in-process network"

    def close(self) -> None:
        pass


# What must be identical on both sides, row for row (a duplicate shows as an extra row).
COMPARED = {
    "runs": ("id", "name", "status", "start_time", "end_time"),
    "params": ("run_id", "key", "value"),
    "tags": ("run_id", "key", "value"),
    "metrics": ("run_id", "key", "step", "timestamp", "value"),
    "latest_metrics": ("run_id", "key", "step", "value"),
    "artifacts": ("run_id", "path", "digest", "size"),
    "model_versions": ("id", "version", "manifest_digest", "run_id"),
    "registered_models": ("name",),
}


def rows(store, table: str) -> list[tuple]:
    t = s.metadata.tables[table]
    with store.db.read() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(*[t.c[c] for c in COMPARED[table]])))


@pytest.fixture(scope="module")
def tiny_model():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior").fit([[0.0], [1.0]], [0, 1])


work = st.lists(
    st.fixed_dictionaries({
        "params": st.dictionaries(st.sampled_from("abcde"), st.integers(0, 9), max_size=3),
        "points": st.integers(0, 120),
        "artifact": st.booleans(),
        "version": st.booleans(),
        "status": st.sampled_from(["FINISHED", "FAILED"]),
    }),
    min_size=1, max_size=4,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(work=work, faults=st.lists(st.sampled_from(FAULTS), max_size=40), seed=st.integers(0, 2**16),
       batch=st.integers(1, 7))
def test_every_change_reaches_the_registry_exactly_once(work, faults, seed, batch, tiny_model):
    from jupyter_modelops.client import Client
    from jupyter_modelops.store.store import Store
    from jupyter_modelops.sync import outbox
    from jupyter_modelops.sync.engine import Syncer
    from jupyter_modelops.transport import LocalTransport

    tmp = Path(tempfile.mkdtemp(prefix="sync-faults-"))
    registry = Store(f"sqlite:///{tmp}/registry.db", str(tmp / "registry-blobs"), user="modelops")
    registry.runs_code = False
    laptop = Client(home=str(tmp / "laptop"), user="alice")
    network = FaultyNetwork(LocalTransport(registry.as_actor("alice", {"admin", "data_scientist"})),
                            faults, random.Random(seed))
    syncer = Syncer(laptop.store, "inproc://registry", transport=network, batch_entries=batch)
    try:
        outbox.set_linked(laptop.store, True)
        for i, item in enumerate(work):
            run = laptop.create_run("sync-faults", f"run-{i}")
            laptop.log_params(run.id, item["params"])
            laptop.log_batch(run.id, [("loss", 1.0 / (k + 1), k) for k in range(item["points"])])
            laptop.set_tag(run.id, "fold", str(i % 3))
            if item["artifact"]:
                laptop.log_text(run.id, f"notes {i}", "notes.txt")
            if item["version"]:
                laptop.register_model(tiny_model, "tiny", run_id=run.id)
            laptop.flush()
            laptop.end_run(run.id, item["status"])
            if i % 2:  # syncs interleave with the work, as the background worker's do
                _sync_quietly(syncer)

        for _ in range(len(faults) + 10):  # the worker retries until the faults are used up
            if _sync_quietly(syncer) and not network.faults:
                break
        network.faults.clear()
        report = syncer.sync()  # the network behaves now: this one must complete
        network.deliver_held()  # stragglers arrive after everything was acknowledged
        assert report.pending == 0 and outbox.pending_count(laptop.store) == (0, 0, 0)
        assert report.rejected == 0

        for table in COMPARED:
            local, remote = rows(laptop.store, table), rows(registry, table)
            assert remote == local, f"{table}: the registry differs from the laptop ({network.log})"
        assert len(rows(registry, "model_versions")) == sum(i["version"] for i in work)
        assert len(rows(registry, "metrics")) == sum(i["points"] for i in work)
    finally:
        syncer.close()
        laptop.close()
        registry.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _sync_quietly(syncer) -> bool:
    try:
        syncer.sync()
        return True
    except ModelOpsError:
        return False
