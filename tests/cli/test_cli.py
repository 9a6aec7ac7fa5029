"""The ``jupyter modelops`` command as a user runs it: real processes, real store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def jm(home, *args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_modelops.cli.app", *args, f"--home={home}"],
        capture_output=True, text=True, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    proc = jm(home, "demo")
    return home, proc.stdout


def test_demo_prints_summary(demo_home):
    _, out = demo_home
    assert "tracked run" in out and out.count("tracked run") == 3
    assert "compare" in out
    assert "registered breast-cancer-classifier version 1" in out
    assert "alias champion -> v1" in out
    assert "predicted 5 held-out rows" in out


def test_demo_stored_what_it_printed(demo_home):
    home, _ = demo_home
    runs = json.loads(jm(home, "runs", "--json", "--experiment=demo").stdout)
    assert len(runs) == 3
    assert {r["name"] for r in runs} == {"logreg", "random-forest", "gradient-boosting"}
    assert all(r["status"] == "FINISHED" for r in runs)
    assert all({"accuracy", "f1", "roc_auc"} <= set(r["metrics"]) for r in runs)
    models = json.loads(jm(home, "models", "--json").stdout)
    assert [m["name"] for m in models] == ["breast-cancer-classifier"]
    assert models[0]["aliases"] == {"champion": 1}


def test_runs_table_filter_and_show(demo_home):
    home, _ = demo_home
    out = jm(home, "runs", "--filter=metrics.roc_auc > 0.5", "--order-by=metrics.roc_auc DESC").stdout
    assert "roc_auc" in out.splitlines()[0]
    assert len(out.strip().splitlines()) == 2 + 3
    first_id = out.splitlines()[2].split()[0]
    shown = jm(home, "runs", "show", first_id).stdout
    assert "param" in shown and "metric" in shown and "model/" in shown


def test_models_versions_listing(demo_home):
    home, _ = demo_home
    out = jm(home, "models", "breast-cancer-classifier").stdout
    assert "sklearn" in out and "champion" in out


def test_bad_filter_is_one_line_error(demo_home):
    home, _ = demo_home
    proc = jm(home, "runs", "--filter=metrics.acc >", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_unknown_run_and_subcommand(tmp_path):
    proc = jm(tmp_path, "runs", "show", "0123456789abcdef0123456789abcdef", check=False)
    assert proc.returncode == 1 and "no run" in proc.stderr
    proc = jm(tmp_path, "modles", check=False)
    assert proc.returncode == 2 and "did you mean `models`" in proc.stderr


def test_empty_store_hints_demo(tmp_path):
    assert "jupyter modelops demo" in jm(tmp_path, "runs").stdout
