"""Drift statistics, the report's HTML (escaped, inline SVG) and its widget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_modelops.monitor.drift import compute_drift, kinds_of


def _frames(n: int, seed: int, shift: float = 0.0, flip: bool = False):
    rng = np.random.default_rng(seed)
    cats = ["red", "green", "blue"]
    p = [0.6, 0.3, 0.1] if not flip else [0.1, 0.3, 0.6]
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "y": rng.exponential(1 + shift, n),
                         "color": rng.choice(cats, n, p=p), "ok": rng.random(n) < 0.5})


def test_small_samples_use_ks_and_chi_squared():
    ref, same, moved = _frames(800, 0), _frames(500, 1), _frames(500, 2, shift=1.0, flip=True)
    assert kinds_of(ref) == {"x": "numeric", "y": "numeric", "color": "categorical", "ok": "categorical"}
    calm = compute_drift(ref, same)
    assert {c.column: c.test for c in calm.columns} == {"x": "ks", "y": "ks", "color": "chi2", "ok": "chi2"}
    assert not calm.dataset_drift and calm.drifted_columns <= 1
    assert all(c.p_value is not None and c.psi is not None for c in calm.columns)
    hot = compute_drift(ref, moved)
    assert hot.drifted == ["x", "y", "color"] and hot.dataset_drift and hot.drift_share == 0.75
    x = hot.column("x")
    assert x.p_value < 0.05 and x.psi > 0.25 and x.summary["cur_mean"] > x.summary["ref_mean"] + 0.8
    assert len(x.chart["edges"]) == 21 and 0.98 < sum(x.chart["reference"]) <= 1 + 1e-9  # tails beyond 0.5 % cut


def test_large_samples_use_wasserstein_and_jensen_shannon():
    ref, same, moved = _frames(20_000, 0), _frames(5_000, 1), _frames(5_000, 2, shift=0.5, flip=True)
    calm = compute_drift(ref, same)
    assert {c.test for c in calm.columns} == {"wasserstein", "jensen_shannon"}
    assert calm.drifted_columns == 0 and calm.drift_share == 0.0
    hot = compute_drift(ref, moved)
    assert set(hot.drifted) == {"x", "y", "color"} and hot.dataset_drift
    assert hot.column("x").statistic > 0.1 and hot.column("color").statistic > 0.1
    # half the columns drifting is dataset drift (≥ 50 %)
    half = compute_drift(ref[["x", "ok"]], moved[["x", "ok"]])
    assert half.drift_share == 0.5 and half.dataset_drift


def test_profile_only_reference_and_missing_values():
    moved = _frames(300, 3, shift=0.7)
    moved.loc[:9, "x"] = np.nan
    report = compute_drift(None, moved, profile={"x": {"mean": 0.0, "std": 1.0}, "y": {"mean": 1.7, "std": 1.7}})
    x = report.column("x")
    assert x.test == "mean_shift" and x.drifted and x.cur_missing == pytest.approx(10 / 300, abs=1e-6)
    assert not report.column("y").drifted


def test_report_html_is_escaped_and_self_contained():
    evil = "<script>alert(1)</script>"
    ref = pd.DataFrame({evil: np.arange(300.0), "cat": ["<b>x</b>"] * 150 + ["y"] * 150})
    cur = pd.DataFrame({evil: np.arange(300.0) + 100, "cat": ["<b>x</b>"] * 10 + ["y"] * 290})
    report = compute_drift(ref, cur)
    report.model_name, report.version, report.reference_source = "m<i>", 3, "src & <ref>"
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert "<script" not in page and "<b>x</b>" not in page and "m<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "src &amp; &lt;ref&gt;" in page
    assert page.count("<svg") == 2 and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    fragment = report._repr_html_()
    assert not fragment.startswith("<!DOCTYPE") and "<svg" in fragment
    widget = report.widget()
    assert widget.children[1].value == evil  # the drifted column is shown first
    assert "<svg" in widget.children[2].value and "<script" not in widget.children[2].value
