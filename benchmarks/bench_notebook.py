"""Notebook-experience figures: `%load_ext` time, `%%track` overhead, `%modelops runs`.

Targets: `%load_ext jupyter_modelops` in a fresh IPython ≤ 0.3 s; `%%track` overhead on
an empty cell ≤ 5 ms; `%modelops runs` on a store with 10k runs returns its first page
≤ 0.3 s. Each figure is measured in fresh processes or after warm-up, and printed.

    python benchmarks/bench_notebook.py [--runs 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

LOAD_EXT = """
import time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_modelops")
print(time.perf_counter() - t)
"""

TRACK = """
import os, statistics, sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "jupyter_modelops")
n = int(sys.argv[1])
for _ in range(20):  # warm up: open the store, import what %%track needs
    ip.run_cell("%%track -e bench\\npass", store_history=True)
plain, tracked = [], []
for _ in range(n):
    t = time.perf_counter(); ip.run_cell("pass", store_history=True); plain.append(time.perf_counter() - t)
    t = time.perf_counter(); ip.run_cell("%%track -e bench\\npass", store_history=True); tracked.append(time.perf_counter() - t)
print(statistics.median(plain), statistics.median(tracked), sorted(tracked)[int(0.95 * n)])
"""

RUNS_PAGE = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t0 = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_modelops")
time.sleep(float(sys.argv[1]))  # the user's think time between two cells
t = time.perf_counter()
table = ip.run_line_magic("modelops", "runs --limit 25")
first = time.perf_counter() - t
rows = table._repr_html_().count("<tr") - 1
t = time.perf_counter()
ip.run_line_magic("modelops", "runs --limit 25 --order-by 'metrics.m0 DESC'")
print(first, time.perf_counter() - t, rows)
"""


def fresh(code: str, env: dict, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr)
    return [float(x) for x in out.stdout.split()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000, help="runs in the store for `%%modelops runs`")
    ap.add_argument("--repeat", type=int, default=7, help="fresh processes per figure")
    ap.add_argument("--cells", type=int, default=300, help="cells timed for the %%track overhead")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from bench_search import build

    from jupyter_modelops.store.store import Store

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "JUPYTER_MODELOPS_HOME": home}
        loads = [fresh(LOAD_EXT, env)[0] for _ in range(args.repeat)]
        plain, tracked, p95 = fresh(TRACK, env, str(args.cells))
    with tempfile.TemporaryDirectory() as home:
        store = Store(f"sqlite:///{home}/store.db", f"{home}/artifacts", user="bench")
        t = time.perf_counter()
        build(store, args.runs)
        store.close()
        built = time.perf_counter() - t
        env = {**os.environ, "JUPYTER_MODELOPS_HOME": home}
        pages = [fresh(RUNS_PAGE, env, "1.0") for _ in range(args.repeat)]
        cold = [fresh(RUNS_PAGE, env, "0") for _ in range(args.repeat)]

    print(f"%load_ext jupyter_modelops (fresh IPython, median of {args.repeat}): "
          f"{statistics.median(loads) * 1000:.1f} ms   [target ≤ 300 ms]")
    print(f"%%track overhead on an empty cell (median of {args.cells}): "
          f"{(tracked - plain) * 1000:.2f} ms (p95 of the tracked cell {p95 * 1000:.2f} ms)   [target ≤ 5 ms]")
    print(f"%modelops runs, first page of {args.runs} runs (store built in {built:.1f}s, median of "
          f"{args.repeat}): {statistics.median(p[0] for p in pages) * 1000:.1f} ms; ordered by a metric "
          f"{statistics.median(p[1] for p in pages) * 1000:.1f} ms; {int(pages[0][2])} rows   [target ≤ 300 ms]")
    print(f"  the same issued the instant %load_ext returns (imports not yet warm): "
          f"{statistics.median(p[0] for p in cold) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
