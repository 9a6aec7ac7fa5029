"""Drift computation over 100,000 rows × 30 columns (25 numeric, 5 categorical).

``jupyter_modelops.monitor.drift.compute_drift`` on a current window of 100k rows against
a reference of 100k rows (the large-sample tests: normed Wasserstein and Jensen–Shannon,
plus PSI and chart histograms for every column), and against the 5,000-row reference
sample a deployment stores. Half of the columns (13 numeric, 2 categorical) are shifted, so the report must
find drift (a fast but blind computation cannot pass). Median of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_drift.py
    .venv/bin/python benchmarks/bench_drift.py --rows 1000000 --repeat 3

Target ≤ 2 s for 100k × 30. Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
TARGET_S = 2.0


def frames(rows: int, seed: int, shift: bool):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {}
    for i in range(25):
        loc = 0.5 if shift and i % 2 == 0 else 0.0
        data[f"num_{i:02d}"] = rng.normal(loc=loc, scale=1.0 + i / 10, size=rows)
    cats = list("abcdefghij")
    for i in range(5):
        p = np.linspace(1, 2, len(cats)) if not shift or i < 3 else np.linspace(2, 1, len(cats))
        data[f"cat_{i}"] = rng.choice(cats, size=rows, p=p / p.sum())
    return pd.DataFrame(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from jupyter_modelops.monitor.drift import compute_drift, kinds_of

    ref, cur = frames(args.rows, 0, False), frames(args.rows, 1, True)
    sample = ref.sample(n=min(5000, len(ref)), random_state=0)
    kinds = kinds_of(ref)
    figures = {}
    for label, reference in ((f"{len(ref):,}-row reference", ref), (f"{len(sample):,}-row reference sample", sample)):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = compute_drift(reference, cur, kinds=kinds)
            times.append(time.perf_counter() - t0)
        figures[label] = (statistics.median(times), report)
    ok = True
    for label, (seconds, report) in figures.items():
        tests = sorted({c.test for c in report.columns})
        print(f"{args.rows:,} rows × {len(cur.columns)} columns vs {label}: {seconds:.3f} s median of {args.repeat} "
              f"({', '.join(tests)}); {report.drifted_columns} columns drifted, dataset drift {report.dataset_drift}")
        if report.drifted_columns < 15 or not report.dataset_drift:
            print("  FAIL: the shifted columns were not all found")
            ok = False
    main_seconds = next(iter(figures.values()))[0]
    if args.rows == 100_000 and main_seconds > TARGET_S:
        print(f"  FAIL: target ≤ {TARGET_S} s")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
