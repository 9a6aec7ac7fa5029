"""Notebook-to-pipeline figures: export speed, local run vs the notebook, cached rerun.

Targets: export of a 100-cell notebook ≤ 1 s; a local pipeline run of
``examples/pipeline.ipynb`` ≤ 1.2× the time of executing the notebook itself (nbclient,
kernel start included); an unchanged rerun ≤ 10 % of it (every step from the cache).

Each pipeline run is measured in a fresh process, so its process server starts cold (as
the notebook's kernel does); tracking is on (one pipeline run with a child run per step).
Runs alternate notebook / pipeline and the medians are compared.

    python benchmarks/bench_pipeline.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "pipeline.ipynb"

RUN = """
import json, sys, time
from jupyter_modelops.pipeline.runner import run_pipeline
package, cache = sys.argv[1], sys.argv[2]
t = time.perf_counter(); first = run_pipeline(package, cache_dir=cache); cold = time.perf_counter() - t
assert first.ok, first.summary()
t = time.perf_counter(); again = run_pipeline(package, cache_dir=cache); rerun = time.perf_counter() - t
assert all(s.status == "cached" for s in again.steps.values())
print(json.dumps({"cold": cold, "rerun": rerun, "steps": {k: v.seconds for k, v in first.steps.items()}}))
"""

RERUN_FRESH = """
import json, sys, time
t = time.perf_counter()
from jupyter_modelops.pipeline.runner import run_pipeline
run = run_pipeline(sys.argv[1], cache_dir=sys.argv[2])
assert all(s.status == "cached" for s in run.steps.values())
print(json.dumps({"rerun_fresh": time.perf_counter() - t}))
"""


def big_notebook(path: Path, cells: int = 100) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    out = [new_code_cell("import math\nimport json\nimport statistics")]
    out[0].metadata["tags"] = ["imports"]
    p = new_code_cell("SCALE = 3\nOFFSET = 0.5")
    p.metadata["tags"] = ["pipeline-parameters"]
    out.append(p)
    section = 0
    while len(out) < cells:
        section += 1
        out.append(new_markdown_cell(f"## Section {section}"))
        prev = f"values_{section - 1}" if section > 1 else "[1.0, 2.0, 3.0]"
        out.append(new_code_cell(f"values_{section} = [v * SCALE + OFFSET for v in {prev}]"))
        out.append(new_code_cell(f"def summary_{section}(xs):\n    \"\"\"Mean and spread.\"\"\"\n"
                                 f"    return {{'mean': statistics.mean(xs), 'max': max(xs)}}"))
        out.append(new_code_cell(f"stats_{section} = summary_{section}(values_{section})\n"
                                 f"text_{section} = json.dumps(stats_{section})"))
        out.append(new_code_cell(f"for i, v in enumerate(values_{section}):\n    if v > 100:\n"
                                 f"        values_{section}[i] = math.log(v)"))
        out.append(new_code_cell(f"labels_{section} = {{}}\nlabels_{section}['n'] = len(values_{section})\n"
                                 f"labels_{section}['first'] = values_{section}[0]"))
        out.append(new_code_cell(f"total_{section} = sum(values_{section}) + stats_{section}['mean']\n"
                                 f"print(text_{section}, total_{section})"))
        out.append(new_code_cell(f"ratio_{section} = total_{section} / (1 + labels_{section}['n'])"))
        out.append(new_code_cell(f"checked_{section} = [round(v, 3) for v in values_{section}]\n"
                                 f"assert len(checked_{section}) == 3"))
        out.append(new_code_cell(f"values_{section}.sort()"))
    nb = new_notebook(cells=out[:cells], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}})
    nbformat.write(nb, path)


def bench_export(work: Path, repeat: int) -> dict:
    from jupyter_modelops.pipeline.export import export_notebook

    nb = work / "big.ipynb"
    big_notebook(nb)
    t = time.perf_counter()
    first = export_notebook(nb, output=work / "big_pkg")
    cold = time.perf_counter() - t
    times = []
    for i in range(repeat * 3):
        t = time.perf_counter()
        export_notebook(nb, output=work / f"big_pkg_{i}")
        times.append(time.perf_counter() - t)
    proc = subprocess.run([sys.executable, "-c",
                           "import sys, time; t = time.perf_counter()\n"
                           "from jupyter_modelops.pipeline.export import export_notebook\n"
                           "export_notebook(sys.argv[1], output=sys.argv[2]); print(time.perf_counter() - t)",
                           str(nb), str(work / "big_pkg_fresh")], capture_output=True, text=True, check=True)
    return {"cells": 100, "steps": len(first.steps), "first_in_process": cold,
            "median": statistics.median(times), "fresh_process": float(proc.stdout.strip())}


def run_notebook(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        work = Path(tmp)
        os.environ["JUPYTER_MODELOPS_HOME"] = str(work / "home")
        os.environ["JUPYTER_MODELOPS_USER"] = "bench"
        ex = bench_export(work, args.repeat)
        print(f"export of a {ex['cells']}-cell notebook ({ex['steps']} steps): median {ex['median'] * 1000:.0f} ms, "
              f"first call {ex['first_in_process'] * 1000:.0f} ms, fresh process (imports included) "
              f"{ex['fresh_process'] * 1000:.0f} ms  (target ≤ 1000 ms)  "
              f"{'OK' if ex['fresh_process'] <= 1.0 else 'SLOW'}")

        from jupyter_modelops.pipeline.export import export_notebook

        nb = work / "pipeline.ipynb"
        nb.write_bytes(EXAMPLE.read_bytes())
        package = work / "pipeline_pkg"
        export_notebook(nb, output=package)
        run_notebook(nb)  # warm the disk cache and the kernel spec lookup
        notebook, cold, rerun, fresh, steps = [], [], [], [], None
        for i in range(args.repeat):
            notebook.append(run_notebook(nb))
            proc = subprocess.run([sys.executable, "-c", RUN, str(package), str(work / f"cache-{i}")],
                                  capture_output=True, text=True)
            if proc.returncode:
                sys.exit(proc.stderr)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            cold.append(out["cold"])
            rerun.append(out["rerun"])
            steps = out["steps"]
            proc = subprocess.run([sys.executable, "-c", RERUN_FRESH, str(package), str(work / f"cache-{i}")],
                                  capture_output=True, text=True)
            if proc.returncode:
                sys.exit(proc.stderr)
            fresh.append(json.loads(proc.stdout.strip().splitlines()[-1])["rerun_fresh"])
        nb_t, cold_t, rerun_t, fresh_t = map(statistics.median, (notebook, cold, rerun, fresh))
        print(f"examples/pipeline.ipynb executed by nbclient: median {nb_t:.2f} s "
              f"({', '.join(f'{t:.2f}' for t in notebook)})")
        print(f"local pipeline run, cold process server, tracked: median {cold_t:.2f} s "
              f"({', '.join(f'{t:.2f}' for t in cold)}) = {cold_t / nb_t:.2f}× the notebook  (target ≤ 1.2×)  "
              f"{'OK' if cold_t <= 1.2 * nb_t else 'SLOW'}")
        print("  steps (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
        print(f"unchanged rerun (every step cached): median {rerun_t * 1000:.0f} ms = {rerun_t / nb_t:.1%} of the "
              f"notebook  (target ≤ 10%)  {'OK' if rerun_t <= 0.1 * nb_t else 'SLOW'}")
        print(f"unchanged rerun in a fresh process (imports and store opening included): median "
              f"{fresh_t * 1000:.0f} ms = {fresh_t / nb_t:.1%} of the notebook")


if __name__ == "__main__":
    main()
