"""What a run records about the code and environment that produced it."""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import shutil
import socket
import subprocess
import sys
from importlib import metadata

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SCRIPT = """\
import jupyter_modelops as mo
with mo.start_run(experiment="prov") as run:
    mo.log_param("x", 1)
print(run.id)
"""


def _git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    )


def _run_script(script, home) -> str:
    env = dict(os.environ, JUPYTER_MODELOPS_HOME=str(home), GIT_CEILING_DIRECTORIES=str(script.parent.parent))
    out = subprocess.run([sys.executable, str(script)], cwd=script.parent.parent, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init")
    _git(repo, "checkout", "-b", "feature/churn")
    (repo / "train.py").write_text(SCRIPT)
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-m", "first")
    return repo


def _head(repo) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_script_in_a_dirty_git_repo(repo, mo_home, client):
    script = repo / "train.py"
    script.write_text(SCRIPT + "# tweaked after the commit\n")
    run = client.get_run(_run_script(script, mo_home))

    assert run.source == str(script.resolve())
    assert run.code_hash == hashlib.sha256(script.read_bytes()).hexdigest()
    prov = run.provenance
    assert prov["git"] == {"commit": _head(repo), "branch": "feature/churn", "dirty": True}
    assert prov["python"] == platform.python_version()
    assert prov["executable"] == sys.executable
    for pkg in ("numpy", "pandas", "scikit-learn", "jupyter-modelops"):
        assert prov["packages"][pkg] == metadata.version(pkg)
    assert prov["host"] == socket.gethostname() == run.host
    assert prov["os_user"] == getpass.getuser()
    assert run.user == "alice"  # the configured identity
    assert prov["cwd"] == str(repo.parent)


def test_script_in_a_clean_git_repo(repo, mo_home, client):
    run = client.get_run(_run_script(repo / "train.py", mo_home))
    assert run.provenance["git"] == {"commit": _head(repo), "branch": "feature/churn", "dirty": False}
    assert run.code_hash == hashlib.sha256(SCRIPT.encode()).hexdigest()


def test_untracked_files_do_not_make_it_dirty(repo, mo_home, client):
    (repo / "scratch.txt").write_text("notes")
    run = client.get_run(_run_script(repo / "train.py", mo_home))
    assert run.provenance["git"]["dirty"] is False


def test_script_outside_git(tmp_path, mo_home, client):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "train.py").write_text(SCRIPT)
    run = client.get_run(_run_script(folder / "train.py", mo_home))
    assert run.provenance["git"] == {}
    assert run.source.endswith("plain/train.py")
    assert run.code_hash == hashlib.sha256(SCRIPT.encode()).hexdigest()


def test_explicit_source_and_provenance_win(client):
    run = client.create_run(source="notebooks/eda.ipynb", code_hash="ab" * 32,
                            provenance={"cells": [1, 2]})
    stored = client.get_run(run.id)
    assert (stored.source, stored.code_hash) == ("notebooks/eda.ipynb", "ab" * 32)
    assert stored.provenance["cells"] == [1, 2]
    assert stored.provenance["python"] == platform.python_version()
