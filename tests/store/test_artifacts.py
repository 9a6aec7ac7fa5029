"""The content-addressed blob store: naming rules, integrity and failed writes."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from jupyter_modelops.errors import IntegrityFailure, InvalidInput, NotFound, StoreUnavailable
from jupyter_modelops.store.artifacts import ArtifactStore, validate_name
from jupyter_modelops.tracking import artifacts as tracked
from jupyter_modelops.tracking import runs


def _blobs(root) -> list[str]:
    base = root / "sha256"
    if not base.exists():
        return []
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def _tmp_files(root) -> list[str]:
    base = root / "tmp"
    return sorted(os.listdir(base)) if base.exists() else []


def test_same_bytes_are_stored_once_under_their_sha256(tmp_path):
    blobs = ArtifactStore(str(tmp_path))
    data = b"model weights" * 1000
    digest, size = blobs.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    assert blobs.put_bytes(data) == (digest, size)
    src = tmp_path / "copy.bin"
    src.write_bytes(data)
    assert blobs.put_file(src) == (digest, size)
    assert _blobs(tmp_path) == [f"{digest[:2]}/{digest}"]
    assert (tmp_path / "sha256" / digest[:2] / digest).read_bytes() == data
    assert blobs.get_bytes(digest) == data
    assert _tmp_files(tmp_path) == []


def test_two_runs_sharing_a_file_share_one_blob(store):
    a = runs.create_run(store, "e")
    b = runs.create_run(store, "e")
    x = tracked.put_artifact(store, a.id, "data/train.csv", b"a,b\n1,2\n")
    y = tracked.put_artifact(store, b.id, "copy.csv", b"a,b\n1,2\n")
    assert x.digest == y.digest
    assert len(_blobs(store.artifacts.local_root)) == 1


@pytest.mark.parametrize("name", [
    "/etc/passwd", "C:/x", "../up", "a/../../b", "a/..", "nul\x00byte", "back\\slash",
    "tab\there", "new\nline", "bell\x07", "", ".", "./", "//",
])
def test_unsafe_names_are_refused(name):
    with pytest.raises(InvalidInput):
        validate_name(name)


@pytest.mark.parametrize("name", [None, 3, b"bytes"])
def test_non_string_names_are_refused(name):
    with pytest.raises(InvalidInput):
        validate_name(name)


@pytest.mark.parametrize("name,clean", [
    ("a//b/./c", "a/b/c"),
    ("./model.pkl", "model.pkl"),
    ("dir/", "dir"),
    ("plots/roc curve.png", "plots/roc curve.png"),
    ("ünïcode/файл.txt", "ünïcode/файл.txt"),
])
def test_names_are_normalised(name, clean):
    assert validate_name(name) == clean


def test_overlong_name_is_refused():
    with pytest.raises(InvalidInput, match="longer"):
        validate_name("a/" * 600)


def test_tampered_blob_is_reported_and_nothing_else_changes(store):
    run = runs.create_run(store, "e")
    art = tracked.put_artifact(store, run.id, "metrics.json", b'{"acc": 0.9}')
    other = tracked.put_artifact(store, run.id, "other.txt", b"untouched")
    blob = store.artifacts.local_root / "sha256" / art.digest[:2] / art.digest
    blob.write_bytes(b'{"acc": 1.0}')  # same size, different bytes
    before = tracked.list_artifacts(store, run.id)

    with pytest.raises(IntegrityFailure, match="verification"):
        tracked.read_artifact(store, run.id, "metrics.json")
    with pytest.raises(IntegrityFailure):
        store.artifacts.copy_to(art.digest, store.artifacts.local_root.parent / "out" / "m.json")
    assert not (store.artifacts.local_root.parent / "out" / "m.json").exists()
    assert store.artifacts.verify(art.digest) is False
    # The tampered file is left for inspection and the metadata is unchanged.
    assert blob.read_bytes() == b'{"acc": 1.0}'
    assert tracked.list_artifacts(store, run.id) == before
    assert tracked.read_artifact(store, run.id, "other.txt") == b"untouched"
    assert store.artifacts.verify(other.digest) is True


def test_missing_blob_is_not_found(store):
    run = runs.create_run(store, "e")
    art = tracked.put_artifact(store, run.id, "x.bin", b"xyz")
    (store.artifacts.local_root / "sha256" / art.digest[:2] / art.digest).unlink()
    with pytest.raises(NotFound, match="missing"):
        tracked.read_artifact(store, run.id, "x.bin")


def _fail_fsync(monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def test_full_disk_leaves_no_partial_blob_and_no_metadata(store, monkeypatch):
    run = runs.create_run(store, "e")
    tracked.put_artifact(store, run.id, "kept.txt", b"kept")
    root = store.artifacts.local_root
    blobs_before = _blobs(root)
    arts_before = tracked.list_artifacts(store, run.id)

    _fail_fsync(monkeypatch)
    with pytest.raises(StoreUnavailable, match="could not write artifact.*space"):
        tracked.put_artifact(store, run.id, "big.bin", os.urandom(3 << 20))
    monkeypatch.undo()

    assert _blobs(root) == blobs_before
    assert _tmp_files(root) == []
    assert tracked.list_artifacts(store, run.id) == arts_before
    # The store keeps working once space is back.
    tracked.put_artifact(store, run.id, "big.bin", b"now it fits")
    assert tracked.read_artifact(store, run.id, "big.bin") == b"now it fits"


def test_failed_write_while_copying_cleans_up(tmp_path, monkeypatch):
    blobs = ArtifactStore(str(tmp_path))

    class Exploding:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            return b"x" * n

    with pytest.raises(StoreUnavailable, match="No space left"):
        blobs.put_stream(Exploding())
    assert _blobs(tmp_path) == [] and _tmp_files(tmp_path) == []


def test_refused_write_to_a_finished_run_stores_no_blob(store):
    run = runs.create_run(store, "e")
    runs.end_run(store, run.id)
    from jupyter_modelops.errors import Conflict

    with pytest.raises(Conflict):
        tracked.put_artifact(store, run.id, "late.txt", b"late")
    assert _blobs(store.artifacts.local_root) == []


def test_bad_digest_is_refused(tmp_path):
    blobs = ArtifactStore(str(tmp_path))
    for bad in ("abc", "../" + "a" * 61, "A" * 64):
        with pytest.raises(InvalidInput):
            blobs.get_bytes(bad)


def test_fsspec_memory_url_round_trip():
    import uuid

    blobs = ArtifactStore(f"memory://modelops-test-{uuid.uuid4().hex}/artifacts")
    data = b"remote bytes" * 100
    digest, size = blobs.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    assert blobs.put_bytes(data) == (digest, size)
    assert blobs.exists(digest)
    assert blobs.get_bytes(digest) == data
    assert b"".join(blobs.iter_chunks(digest, 7)) == data
    assert blobs.verify(digest)
    missing = hashlib.sha256(b"nope").hexdigest()
    assert not blobs.exists(missing)
    with pytest.raises(NotFound):
        blobs.get_bytes(missing)


def test_fsspec_store_behind_a_client(mo_home, tmp_path):
    import uuid

    from jupyter_modelops.client import Client

    uri = f"memory://modelops-test-{uuid.uuid4().hex}"
    c = Client(home=str(mo_home), artifact_uri=uri)
    try:
        with c.start_run("e") as run:
            run.log_text("hello", "notes/readme.txt")
        assert c.read_artifact(run.id, "notes/readme.txt") == b"hello"
        assert not (mo_home / "artifacts" / "sha256").exists()
    finally:
        c.close()


def test_storing_good_bytes_again_heals_a_corrupted_blob(tmp_path):
    from jupyter_modelops.store.artifacts import ArtifactStore

    blobs = ArtifactStore(str(tmp_path / "a"))
    digest, _ = blobs.put_bytes(b"model weights")
    path = tmp_path / "a" / "sha256" / digest[:2] / digest
    path.write_bytes(b"model weighTs")  # same size, different content
    assert not blobs.verify(digest)
    blobs.put_bytes(b"model weights")
    assert blobs.get_bytes(digest) == b"model weights"
