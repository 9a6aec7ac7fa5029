"""An upload cut off while sending: a size refusal only when the registry still answers."""

from __future__ import annotations

import os

import pytest

from jupyter_modelops.client import Client
from jupyter_modelops.errors import StoreUnavailable
from jupyter_modelops.sync import outbox
from jupyter_modelops.store.store import Store
from jupyter_modelops.sync.engine import Syncer
from jupyter_modelops.transport import LocalTransport


class CutNetwork:
    """Uploads larger than 4 KiB are cut while sending; other requests reach the registry
    (in process) only while ``up``."""

    def __init__(self, registry, up: bool) -> None:
        self.inner = LocalTransport(registry.as_actor("alice", {"admin", "data_scientist"}))
        self.up = up
        self.cut = 0

    def call(self, op: str, /, **kwargs):
        if op == "sync_apply" and len(kwargs["batch"]) > 4096:
            self.cut += 1
            raise StoreUnavailable("the registry cut the connection: connection reset by peer")
        if op == "sync_status" and not self.up:
            raise StoreUnavailable("the registry did not answer: connection reset by peer")
        return self.inner.call(op, **kwargs)

    def describe(self) -> str:
        return "a network that cuts uploads"

    def close(self) -> None:
        pass


@pytest.fixture
def registry(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/registry.db", str(tmp_path / "registry-blobs"), user="modelops")
    store.runs_code = False
    yield store
    store.close()


@pytest.fixture
def big_change(tmp_path):
    laptop = Client(home=str(tmp_path / "laptop"), user="alice")
    outbox.set_linked(laptop.store, True)
    run = laptop.create_run("exp", "big")
    laptop.set_tags(run.id, {"blob": os.urandom(6000).hex()})  # one entry, well over 4 KiB packed
    yield laptop
    laptop.close()


def test_a_cut_while_the_registry_is_unreachable_rejects_nothing(big_change, registry):
    syncer = Syncer(big_change.store, "inproc://registry", transport=CutNetwork(registry, up=False),
                    batch_entries=1)
    with pytest.raises(StoreUnavailable):
        syncer.push()
    assert outbox.rejected(big_change.store) == []
    assert outbox.pending_count(big_change.store)[0] == 1  # the big change, queued for later


def test_a_change_cut_three_times_by_a_registry_that_answers_is_refused_and_kept(big_change, registry):
    network = CutNetwork(registry, up=True)
    report = Syncer(big_change.store, "inproc://registry", transport=network, batch_entries=1).push()
    assert network.cut == 3 and report.rejected == 1
    [refused] = outbox.rejected(big_change.store)
    assert refused["op"] == "set_tags" and "too large" in refused["error"]
