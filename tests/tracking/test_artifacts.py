"""Run artifacts through the client: files, folders, text, dicts, figures, downloads."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from jupyter_modelops.errors import InvalidInput, NotFound


def _blob_count(client) -> int:
    root = client.config.resolved_artifact_uri()
    from pathlib import Path

    base = Path(root) / "sha256"
    return sum(1 for p in base.rglob("*") if p.is_file()) if base.exists() else 0


def test_log_a_file(client, tmp_path):
    src = tmp_path / "model.pkl"
    src.write_bytes(b"\x80\x04pickled")
    run = client.create_run()
    [art] = client.log_artifact(run.id, src)
    assert (art.path, art.size) == ("model.pkl", len(b"\x80\x04pickled"))
    assert art.digest == hashlib.sha256(b"\x80\x04pickled").hexdigest()
    [art2] = client.log_artifact(run.id, src, "models/")
    [art3] = client.log_artifact(run.id, str(src), "models/best.pkl")
    assert (art2.path, art3.path) == ("models/model.pkl", "models/best.pkl")
    assert [a.path for a in client.list_artifacts(run.id)] == ["model.pkl", "models/best.pkl", "models/model.pkl"]
    assert client.read_artifact(run.id, "models/best.pkl") == b"\x80\x04pickled"
    assert _blob_count(client) == 1  # three names, one blob


def test_log_a_folder_keeps_relative_names(client, tmp_path):
    folder = tmp_path / "report"
    (folder / "plots" / "deep").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>report</h1>")
    (folder / "plots" / "roc.svg").write_text("<svg/>")
    (folder / "plots" / "deep" / "x.txt").write_text("deep")
    run = client.create_run()
    arts = client.log_artifact(run.id, folder)
    assert [a.path for a in arts] == ["report/index.html", "report/plots/deep/x.txt", "report/plots/roc.svg"]
    client.log_artifact(run.id, folder, "renamed")
    assert client.read_artifact(run.id, "renamed/plots/deep/x.txt") == b"deep"
    assert client.read_artifact(run.id, "report/plots/roc.svg") == b"<svg/>"


def test_missing_local_file_is_not_found(client, tmp_path):
    run = client.create_run()
    with pytest.raises(NotFound, match="no such file"):
        client.log_artifact(run.id, tmp_path / "nope.txt")


def test_text_dict_bytes(client):
    run = client.create_run()
    t = client.log_text(run.id, "héllo\n", "notes/readme.md")
    j = client.log_dict(run.id, {"C": 1.0, "layers": [1, 2]}, "config.json")
    y = client.log_dict(run.id, {"C": 1.0, "layers": [1, 2]}, "config.yaml")
    b = client.log_bytes(run.id, b"\x00\x01\x02", "raw/data.bin")
    assert client.read_artifact(run.id, "notes/readme.md").decode() == "héllo\n"
    assert json.loads(client.read_artifact(run.id, "config.json")) == {"C": 1.0, "layers": [1, 2]}
    assert yaml.safe_load(client.read_artifact(run.id, "config.yaml")) == {"C": 1.0, "layers": [1, 2]}
    assert client.read_artifact(run.id, "raw/data.bin") == b"\x00\x01\x02"
    assert t.media_type.startswith("text/plain")
    assert j.media_type == "application/json" and y.media_type == "application/yaml"
    assert b.media_type == "application/octet-stream" and b.size == 3


def test_log_dict_with_numpy_values(client):
    import numpy as np

    run = client.create_run()
    client.log_dict(run.id, {"n": np.int64(3), "v": np.arange(3), "f": np.float32(0.5)}, "np.json")
    assert json.loads(client.read_artifact(run.id, "np.json")) == {"n": 3, "v": [0, 1, 2], "f": 0.5}
    client.log_dict(run.id, {"n": np.int64(3), "v": np.arange(3)}, "np.yaml")
    assert yaml.safe_load(client.read_artifact(run.id, "np.yaml")) == {"n": 3, "v": [0, 1, 2]}
    for name in ("bad.json", "bad.yaml"):
        with pytest.raises(InvalidInput, match="log_dict"):
            client.log_dict(run.id, {"x": object()}, name)
    assert sorted(a.path for a in client.list_artifacts(run.id)) == ["np.json", "np.yaml"]
    with pytest.raises(InvalidInput, match="log_text takes a str"):
        client.log_text(run.id, b"bytes", "x.txt")


def test_relogging_a_name_replaces_it(client):
    run = client.create_run()
    client.log_text(run.id, "v1", "notes.txt")
    client.log_text(run.id, "v2", "./notes.txt")
    assert [a.path for a in client.list_artifacts(run.id)] == ["notes.txt"]
    assert client.read_artifact(run.id, "notes.txt") == b"v2"


def test_log_figure_png(client):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1, 2], [0, 1, 4])
    run = client.create_run()
    art = client.log_figure(run.id, fig, "plots/curve.png")
    data = client.read_artifact(run.id, "plots/curve.png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert art.media_type == "image/png" and art.size == len(data)
    client.log_figure(run.id, fig, "plots/curve")  # no extension: PNG
    assert client.read_artifact(run.id, "plots/curve.png").startswith(b"\x89PNG")
    svg = client.log_figure(run.id, fig, "plots/curve.svg")
    assert b"<svg" in client.read_artifact(run.id, svg.path)
    with pytest.raises(InvalidInput, match="must end in"):
        client.log_figure(run.id, fig, "plots/curve.gif")
    with pytest.raises(InvalidInput, match="matplotlib or plotly"):
        client.log_figure(run.id, "not a figure", "x.png")


def test_fluent_artifacts(mo, tmp_path):
    (tmp_path / "f.txt").write_text("file")
    with mo.start_run() as run:
        mo.log_artifact(tmp_path / "f.txt")
        mo.log_text("t", "t.txt")
        mo.log_dict({"a": 1}, "d.json")
    client = mo.get_client()
    assert [a.path for a in client.list_artifacts(run.id)] == ["d.json", "f.txt", "t.txt"]


def test_list_with_prefix(client):
    run = client.create_run()
    for name in ("plots/a.png", "plots/b.png", "plots2/c.png", "plots.txt", "data/plots/x"):
        client.log_bytes(run.id, name.encode(), name)
    assert [a.path for a in client.list_artifacts(run.id, "plots")] == ["plots/a.png", "plots/b.png"]
    assert [a.path for a in client.list_artifacts(run.id, "plots/")] == ["plots/a.png", "plots/b.png"]
    assert [a.path for a in client.list_artifacts(run.id, "plots.txt")] == ["plots.txt"]
    assert [a.path for a in client.list_artifacts(run.id, "data")] == ["data/plots/x"]
    assert client.list_artifacts(run.id, "nothing") == []
    with pytest.raises(InvalidInput):
        client.list_artifacts(run.id, "../")
    # LIKE wildcards in a prefix are literal
    client.log_bytes(run.id, b"x", "p_x/a")
    client.log_bytes(run.id, b"x", "pyx/a")
    assert [a.path for a in client.list_artifacts(run.id, "p_x")] == ["p_x/a"]


def test_download_artifacts(client, tmp_path):
    run = client.create_run()
    client.log_text(run.id, "one", "a/one.txt")
    client.log_text(run.id, "two", "a/b/two.txt")
    client.log_text(run.id, "three", "c.txt")
    out = client.download_artifacts(run.id, tmp_path / "all")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a/b/two.txt", "a/one.txt", "c.txt"]
    assert (out / "a" / "b" / "two.txt").read_text() == "two"
    some = client.download_artifacts(run.id, tmp_path / "some", prefix="a/b")
    assert [p.name for p in some.rglob("*") if p.is_file()] == ["two.txt"]


def _tamper(client, art) -> None:
    from pathlib import Path

    blob = Path(client.config.resolved_artifact_uri()) / "sha256" / art.digest[:2] / art.digest
    blob.write_text("tampered")


def test_tampered_artifact_is_not_read(client):
    from jupyter_modelops.errors import IntegrityFailure

    run = client.create_run()
    _tamper(client, client.log_text(run.id, "original", "x.txt"))
    with pytest.raises(IntegrityFailure, match="failed verification"):
        client.read_artifact(run.id, "x.txt")


def test_tampered_artifact_is_not_downloaded(client, tmp_path):
    from jupyter_modelops.errors import IntegrityFailure

    run = client.create_run()
    client.log_text(run.id, "fine", "a.txt")
    _tamper(client, client.log_text(run.id, "original", "x.txt"))
    with pytest.raises(IntegrityFailure):
        client.download_artifacts(run.id, tmp_path / "out")
    assert not (tmp_path / "out" / "x.txt").exists()


def test_client_keeps_working_after_an_integrity_failure(client):
    from jupyter_modelops.errors import IntegrityFailure, StoreUnavailable

    run = client.create_run()
    client.log_text(run.id, "fine", "good.txt")
    _tamper(client, client.log_text(run.id, "original", "bad.txt"))
    for _ in range(10):
        with pytest.raises(IntegrityFailure):
            client.read_artifact(run.id, "bad.txt")
        assert client.read_artifact(run.id, "good.txt") == b"fine"
        assert len(client.list_artifacts(run.id)) == 2


def test_unknown_artifact_is_not_found(client):
    run = client.create_run()
    with pytest.raises(NotFound, match="no artifact 'nope.txt'"):
        client.read_artifact(run.id, "nope.txt")


UNSAFE = ["/etc/passwd", "../escape.txt", "a/../../b", "nul\x00.txt", "back\\slash.txt",
          "ctrl\x1b.txt", ""]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_store_nothing(client, tmp_path, name):
    src = tmp_path / "f.txt"
    src.write_text("payload")
    run = client.create_run()
    with pytest.raises(InvalidInput):
        client.log_text(run.id, "payload", name)
    with pytest.raises(InvalidInput):
        client.log_bytes(run.id, b"payload", name)
    if name:  # an empty artifact_path means "use the file name"
        with pytest.raises(InvalidInput):
            client.log_artifact(run.id, src, name)
    with pytest.raises(InvalidInput):
        client.log_dict(run.id, {"a": 1}, name or "")
    assert client.list_artifacts(run.id) == []
    assert _blob_count(client) == 0


def test_folder_with_an_unsafe_file_name_stores_nothing(client, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a_first.txt").write_text("fine")
    (folder / "b\\bad.txt").write_text("backslash in a file name")
    run = client.create_run()
    with pytest.raises(InvalidInput, match="separator"):
        client.log_artifact(run.id, folder)
    assert client.list_artifacts(run.id) == []
    assert _blob_count(client) == 0
