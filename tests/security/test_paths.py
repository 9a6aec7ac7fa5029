"""Artifact names and export folders never lead outside where they belong.

Artifact names are relative, '/'-separated and free of '..', NUL, backslashes and drive
letters; a bad one is a one-line ``InvalidInput`` and nothing is stored — through the
client over both transports and directly on the REST routes (URL-encoded too). Logging a
folder refuses symbolic links that lead out of it; downloading never writes outside the
destination; an export refuses to write through a symbolic link.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.server import API_PREFIX

BAD_NAMES = ["../escape.txt", "a/../../b.txt", "..", "/etc/passwd", "//server/share/x", "C:/Windows/x.txt",
             "c:\\evil.txt", "back\\slash.txt", "..\\..\\up.txt", "nul\x00.txt", "x.txt\x00.png", "ctrl\x1b[2J.txt"]


def _blobs(client) -> list[Path]:
    base = Path(client.config.resolved_artifact_uri()) / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def _one_line(err) -> str:
    text = str(err.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_artifact_names_are_refused_and_store_nothing(client, tmp_path, name):
    src = tmp_path / "f.txt"
    src.write_text("payload")
    run = client.create_run()
    before = _blobs(client)
    for log in (lambda: client.log_text(run.id, "payload", name),
                lambda: client.log_bytes(run.id, b"payload", name),
                lambda: client.log_artifact(run.id, src, name),
                lambda: client.log_dict(run.id, {"a": 1}, name)):
        with pytest.raises(InvalidInput) as err:
            log()
        _one_line(err)
    for read in (lambda: client.read_artifact(run.id, name), lambda: client.list_artifacts(run.id, name)):
        with pytest.raises(InvalidInput):
            read()
    assert client.list_artifacts(run.id) == [] and _blobs(client) == before


def test_bad_model_artifact_paths_are_refused(client):
    run = client.create_run()
    for name in ("../model", "/abs/model", "C:/model", "a\\b", "m\x00"):
        with pytest.raises(InvalidInput):
            client.log_model(run.id, lambda X: X, name)
    assert client.list_artifacts(run.id) == []


def _folder_with_link(tmp_path, link_target: Path, *, as_dir: bool = False) -> Path:
    folder = tmp_path / "results"
    (folder / "sub").mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")
    (folder / "sub" / "plot.txt").write_text("plot")
    (folder / "sub" / "leak").symlink_to(link_target, target_is_directory=as_dir)
    return folder


@pytest.mark.parametrize("as_dir", [False, True])
def test_a_link_out_of_a_logged_folder_is_refused_and_nothing_is_stored(client, tmp_path, as_dir):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "id_rsa").write_text("PRIVATE KEY")
    folder = _folder_with_link(tmp_path, secret if as_dir else secret / "id_rsa", as_dir=as_dir)
    run = client.create_run()
    before = _blobs(client)
    with pytest.raises(InvalidInput) as err:
        client.log_artifact(run.id, folder)
    msg = _one_line(err)
    assert "sub/leak" in msg and "symbolic link" in msg and "outside" in msg
    assert client.list_artifacts(run.id) == [] and _blobs(client) == before


def test_links_that_stay_inside_a_logged_folder_are_not_followed(client, tmp_path):
    folder = _folder_with_link(tmp_path, Path("..") / "metrics.json")  # -> results/metrics.json
    run = client.create_run()
    logged = client.log_artifact(run.id, folder)
    assert sorted(a.path for a in logged) == ["results/metrics.json", "results/sub/plot.txt"]


def test_download_never_writes_outside_the_destination(client, tmp_path):
    run = client.create_run()
    client.log_text(run.id, "data", "sub/file.txt")
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInput, match="outside"):
        client.download_artifacts(run.id, dest)
    assert list(outside.iterdir()) == []


def test_download_refuses_names_a_server_could_send(client, tmp_path, monkeypatch):
    """A registry is trusted for data, not for paths: a '..' name from it is refused."""
    from jupyter_modelops.tracking.records import Artifact

    run = client.create_run()
    monkeypatch.setattr(type(client), "list_artifacts",
                        lambda self, run_id, prefix="": [Artifact("../../evil.txt", "0" * 64, 4, "text/plain", 0)])
    with pytest.raises(InvalidInput):
        client.download_artifacts(run.id, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


# --------------------------------------------------------------------------- REST routes, as sent

ENCODED = ["%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
           "a/%2e%2e/%2e%2e/b", "%2fetc%2fpasswd", "nul%00.txt", "x.txt%00.png",
           "..%5c..%5cwin.ini", "C%3a%5cwin.ini", "C:/x", "%2e%2e", "a%5cb.txt", "%1b%5b2J.txt"]


def _error(status, body) -> dict:
    assert status == 400, (status, body[:300])
    err = json.loads(body)["error"]
    assert err["type"] == "InvalidInput" and "\n" not in err["message"], err
    return err


def test_rest_artifact_routes_refuse_encoded_traversal(registry, raw):
    token, port = registry.token, registry.port
    status, _, body = raw(port, "POST", f"{API_PREFIX}/runs", token=token, body=b"{}",
                          headers={"Content-Type": "application/json"})
    rid = json.loads(body)["id"]
    before = set((registry.home / "artifacts").rglob("*"))
    for path in ENCODED:
        payload = b"evil-" + os.urandom(6).hex().encode()
        status, _, body = raw(port, "PUT", f"{API_PREFIX}/runs/{rid}/artifacts/{path}", token=token, body=payload)
        _error(status, body)
        for route in ("artifacts", "artifact-info"):
            status, _, body = raw(port, "GET", f"{API_PREFIX}/runs/{rid}/{route}/{path}", token=token)
            _error(status, body)
            assert b"root:" not in body
        status, _, body = raw(port, "GET", f"{API_PREFIX}/runs/{rid}/artifacts?prefix={path}", token=token)
        _error(status, body)
    status, _, body = raw(port, "GET", f"{API_PREFIX}/runs/{rid}/artifacts", token=token)
    assert json.loads(body) == []
    assert set((registry.home / "artifacts").rglob("*")) == before  # no blob, no stray file
    # Decoding happens once: '%252e%252e' is the harmless literal name '%2e%2e'.
    status, _, body = raw(port, "PUT", f"{API_PREFIX}/runs/{rid}/artifacts/%252e%252e/x", token=token, body=b"ok")
    assert status == 201 and json.loads(body)["path"] == "%2e%2e/x"


def test_rest_record_artifact_refuses_bad_names_in_the_body(registry, raw):
    token, port = registry.token, registry.port
    _, _, body = raw(port, "POST", f"{API_PREFIX}/runs", token=token, body=b"{}",
                     headers={"Content-Type": "application/json"})
    rid = json.loads(body)["id"]
    digest = hashlib.sha256(b"x").hexdigest()
    raw(port, "PUT", f"{API_PREFIX}/blobs/{digest}", token=token, body=b"x")
    for name in BAD_NAMES:
        status, _, body = raw(port, "POST", f"{API_PREFIX}/runs/{rid}/artifacts", token=token,
                              body=json.dumps({"name": name, "digest": digest, "size": 1}).encode(),
                              headers={"Content-Type": "application/json"})
        _error(status, body)
    _, _, body = raw(port, "GET", f"{API_PREFIX}/runs/{rid}/artifacts", token=token)
    assert json.loads(body) == []


# --------------------------------------------------------------------------- export folders


@pytest.fixture
def notebook(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), path)
    return path


def test_export_refuses_a_symlinked_target_folder(notebook, tmp_path):
    from jupyter_modelops.pipeline.export import export_notebook

    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    link = tmp_path / "out"
    link.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(InvalidInput) as err:
        export_notebook(notebook, output=link)
    assert "symbolic link" in _one_line(err)
    assert list(elsewhere.iterdir()) == []


def test_export_refuses_to_rewrite_files_through_links(notebook, tmp_path):
    from jupyter_modelops.pipeline.export import export_notebook

    out = tmp_path / "out"
    export_notebook(notebook, output=out)
    victim = tmp_path / "bashrc"
    victim.write_text("precious")
    (out / "pipeline.py").unlink()
    (out / "pipeline.py").symlink_to(victim)
    with pytest.raises(InvalidInput) as err:
        export_notebook(notebook, output=out)
    assert "pipeline.py" in _one_line(err)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("field", ["notebook", "output"])
def test_export_paths_with_nul_are_invalid_input(notebook, tmp_path, field):
    from jupyter_modelops.pipeline.export import export_notebook

    kwargs = {"notebook": notebook, "output": tmp_path / "out"}
    kwargs[field] = str(kwargs[field]) + "\x00.ipynb"
    with pytest.raises(InvalidInput) as err:
        export_notebook(**kwargs)
    assert "NUL" in _one_line(err)
    assert not (tmp_path / "out").exists()


def test_export_over_the_client_refuses_the_same(client, notebook, tmp_path):
    """The service op (what the REST route and the sidebar call) applies the same rules;
    on the shared registry export is refused outright (it never reads notebooks)."""
    from jupyter_modelops.errors import PolicyViolation

    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere, target_is_directory=True)
    for output in (str(tmp_path / "out"), str(tmp_path / "o\x00ut")):
        with pytest.raises((InvalidInput, PolicyViolation)):
            client._call("export_notebook", notebook=str(notebook), output=output)
    assert list(elsewhere.iterdir()) == []
