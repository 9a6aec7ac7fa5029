"""The disk fills up while an artifact is written: a one-line error that says so and
where, nothing half-written left visible, earlier artifacts intact, the store consistent.

Two ways to fill it: a real 1 MiB tmpfs under the artifact folder (needs root and
``mount``; skipped otherwise) and a file whose writes fail with ENOSPC part way."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess

import pytest

from jupyter_modelops.errors import StoreUnavailable
from rhelpers import assert_store_healthy

MiB = 1 << 20


def _mount_tmpfs(path) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                          capture_output=True, text=True)
    return done.returncode == 0


class _FillingFile(io.FileIO):
    """A file on a disk with ``room`` bytes left: the write that goes past it fails."""

    room = 256 << 10

    def write(self, data):
        if self.tell() + len(data) > self.room:
            free = max(0, self.room - self.tell())
            super().write(bytes(data[:free]))  # like a real disk: part of it lands first
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


@pytest.fixture(params=["tmpfs", "enospc"])
def small_disk(request, mo_home):
    """``(artifact folder, full)``: inside ``with full():`` the disk under it is full."""
    root = mo_home / "artifacts"
    if request.param == "tmpfs":
        if not _mount_tmpfs(root):
            pytest.skip("needs root and a working `mount -t tmpfs` for a real full disk")
        request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(root)], check=False))
        return root, contextlib.nullcontext  # 1 MiB: a 2 MiB artifact does not fit

    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        if "w" in mode and "b" in mode:
            return io.BufferedWriter(_FillingFile(fd, "w"))
        return real_fdopen(fd, mode, *args, **kwargs)

    @contextlib.contextmanager
    def full():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "fdopen", fdopen)
            yield

    return root, full


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_artifact_on_a_full_disk(small_disk, mo_home):
    from jupyter_modelops.client import Client

    root, full = small_disk
    c = Client(home=str(mo_home))
    run = c.create_run("disk", "full")
    c.log_bytes(run.id, b"kept" * 1000, "earlier.bin")
    before = _files(root)

    with full(), pytest.raises(StoreUnavailable) as info:
        c.log_bytes(run.id, os.urandom(2 * MiB), "model/weights.bin")
    message = str(info.value)
    assert "\n" not in message and "disk full" in message and str(root) in message

    # Nothing of the failed write is visible: no row, no blob under a digest, no temp file.
    assert [a.path for a in c.list_artifacts(run.id)] == ["earlier.bin"]
    assert _files(root) == before
    assert not any(name.startswith("tmp/") for name in before)
    assert c.read_artifact(run.id, "earlier.bin") == b"kept" * 1000
    assert_store_healthy(mo_home)

    # A write that fits still works: the failure left nothing in the way.
    c.log_bytes(run.id, b"small enough", "after.txt")
    assert c.read_artifact(run.id, "after.txt") == b"small enough"
    c.end_run(run.id)
    c.close()
