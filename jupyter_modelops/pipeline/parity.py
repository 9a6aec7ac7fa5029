"""The parity check: run the notebook and the exported pipeline on the same parameters,
and compare what they compute.

The notebook runs in a fresh kernel (nbclient) with a small cell added after the last
cell of each step: it stores the step's outputs, in the pipeline's own formats and
content-addressed store. The pipeline runs with the local runner at the same time.
Then, step by step in the pipeline's order, every output, the ``pipeline-metrics`` and
the declared outputs are compared within tolerances; the report names the first step
whose values diverge (or that fails in one and not the other), with the value and how
it differs.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InvalidInput
from . import capture
from .codegen import read_spec
from .compare import compare_values

MARK = {"same": "✔", "differs": "✘", "missing": "✘", "failed": "✘", "not run": "·", "not compared": "~"}
BAD = ("differs", "missing", "failed")


@dataclass
class Comparison:
    step: str
    name: str
    kind: str  # output | metric | declared
    result: str  # same | differs | missing | failed | not run | not compared
    detail: str = ""
    format: str = ""
    notebook_value: str = ""
    pipeline_value: str = ""


@dataclass
class ParityReport:
    notebook: str
    package: str
    ok: bool
    params: dict
    comparisons: list[Comparison] = field(default_factory=list)
    first_divergence: str | None = None
    notebook_seconds: float = 0.0
    pipeline_seconds: float = 0.0
    notebook_error: str | None = None
    pipeline_status: str = ""
    pipeline_run_id: str | None = None
    pipeline_error: str | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    pickled: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        compared = [c for c in self.comparisons if c.result in ("same", *BAD)]
        steps = len({c.step for c in self.comparisons})
        verdict = "PASS" if self.ok else "FAIL"
        lines = [f"parity check of {Path(self.notebook).name}: {verdict} — {len(compared)} values in {steps} "
                 f"steps compared (rtol={self.rtol:g}, atol={self.atol:g})"]
        if self.params:
            lines.append("parameters: " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        lines.append(f"notebook {self.notebook_seconds:.2f} s, pipeline {self.pipeline_seconds:.2f} s "
                     f"({self.pipeline_status}{', run ' + self.pipeline_run_id[:8] if self.pipeline_run_id else ''})")
        if self.notebook_error:
            lines.append(f"✘ the notebook itself fails: {self.notebook_error}")
        if self.first_divergence:
            first = next(c for c in self.comparisons if c.step == self.first_divergence and c.result in BAD)
            lines.append(f"✘ first divergence: step `{first.step}`, {first.name}: {first.result}"
                         + (f" — {first.detail}" if first.detail else ""))
        width = max([len(c.step) for c in self.comparisons] + [4])
        nwidth = max([len(c.name if c.kind == "output" else f"{c.name} ({c.kind})") for c in self.comparisons] + [5])
        lines.append(f"  {'step':<{width}}  {'value':<{nwidth}}  {'format':<7}  result")
        for c in self.comparisons:
            label = c.name if c.kind == "output" else f"{c.name} ({c.kind})"
            detail = f": {c.detail}" if c.detail and c.result != "same" else ""
            if c.kind == "metric" and c.result == "same":
                detail = f": {c.notebook_value}"
            lines.append(f"  {c.step:<{width}}  {label:<{nwidth}}  {c.format:<7}  {MARK.get(c.result, '?')} "
                         f"{c.result}{detail}"[:240])
        for step, name, reason in self.pickled:
            lines.append(f"⚠ {step}.{name} is stored with pickle ({reason}): not a safe format")
        return "\n".join(lines)


def _label(step: str) -> str:
    return f"step-{step}"


def _instrumented(nb_path: Path, spec: dict, params: dict, objects: Path, captures: Path):
    """The notebook with parameter and capture cells added; returns (nb, {added cell id: label})."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    pos = {c.get("id") or f"cell-{i}": i for i, c in enumerate(nb.cells)}
    by_index: dict[int, list] = {}
    for step in spec["steps"]:
        gone = [c["id"] for c in step["cells"] if c["id"] not in pos]
        if gone:
            raise InvalidInput(f"{nb_path.name} changed since the export (cell {gone[0][:8]} of step "
                               f"`{step['name']}` is gone): export it again")
        last = max(pos[c["id"]] for c in step["cells"])
        names = list(step["outputs"])
        if names:
            by_index.setdefault(last, []).append((_label(step["name"]), names))
    metric_cells = [i for i, c in enumerate(nb.cells)
                    if "pipeline-metrics" in (c.get("metadata", {}).get("tags") or [])]
    declared_cells = [i for i, c in enumerate(nb.cells)
                      if "pipeline-outputs" in (c.get("metadata", {}).get("tags") or [])]
    end = len(nb.cells) - 1
    if spec["metrics"]:
        by_index.setdefault(max(metric_cells) if metric_cells else end, []).append(
            ("metrics", list(spec["metrics"])))
    if spec["outputs"]:
        by_index.setdefault(max(declared_cells) if declared_cells else end, []).append(
            ("declared", list(spec["outputs"])))
    param_cells = [i for i, c in enumerate(nb.cells)
                   if set(c.get("metadata", {}).get("tags") or []) & {"parameters", "pipeline-parameters"}]
    changed = {k: v for k, v in params.items() if spec["parameters"].get(k, object()) != v}
    if changed and not param_cells:
        raise InvalidInput("the notebook has no parameters cell to override")
    cells = []
    for i, cell in enumerate(nb.cells):
        cells.append(cell)
        if changed and param_cells and i == max(param_cells):
            injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in changed.items()))
            injected.metadata["tags"] = ["injected-parameters"]
            cells.append(injected)
        for label, names in by_index.get(i, []):
            cells.append(nbformat.v4.new_code_cell(capture.code(label, names, str(objects),
                                                                str(captures / f"{label}.json"))))
    nb.cells = cells
    return nb


def run_notebook(nb_path: Path, nb, *, kernel_name: str, timeout: int) -> tuple[float, str | None]:
    """Execute ``nb`` in a fresh kernel in the notebook's folder; (seconds, error or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(nb_path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        failing = next((i for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
                        if o.get("output_type") == "error"), None)
        ename = getattr(exc, "ename", "") or "error"
        evalue = (getattr(exc, "evalue", "") or "").splitlines()[0:1]
        where = f"cell {failing + 1}" if failing is not None else "a cell"
        return time.perf_counter() - started, f"{where}: {ename}: {evalue[0] if evalue else ''}"[:300]
    except Exception as exc:  # noqa: BLE001 - no kernel, a timeout: reported, not raised
        return time.perf_counter() - started, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return time.perf_counter() - started, None


def _read(captures: Path, label: str) -> dict | None:
    try:
        return json.loads((captures / f"{label}.json").read_text())["values"]
    except (OSError, ValueError, KeyError):
        return None


def _compare_ref(nb_ref: dict | None, pl_ref: dict | None, objects: Path, rtol: float, atol: float):
    from .worker import load_ref

    if nb_ref is None:
        return "not run", "the notebook did not get this far", "", "", ""
    if nb_ref.get("missing"):
        return "missing", "the notebook has no such value here", "", "", ""
    if nb_ref.get("error"):
        return "not compared", f"could not store the notebook's value ({nb_ref['error']})", "", "", ""
    fmt = (pl_ref or {}).get("info", {}).get("format", "")
    if pl_ref is None:
        return "not run", "", fmt, "", ""
    if nb_ref["digest"] == pl_ref["digest"]:
        value = ""
        if nb_ref["info"].get("format") == "json":
            value = _preview(load_ref(pl_ref, objects))
        return "same", "identical", fmt, value, value
    try:
        a, b = load_ref(nb_ref, objects), load_ref(pl_ref, objects)
    except Exception as exc:  # noqa: BLE001
        return "not compared", f"cannot load ({type(exc).__name__}: {exc})"[:200], fmt, "", ""
    ok, detail = compare_values(a, b, rtol, atol)
    result = "same" if ok else "not compared" if ok is None else "differs"
    return result, detail, fmt, _preview(a), _preview(b)


def _preview(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def check_parity(package: str | Path, *, params: dict | None = None, client=None, track: bool = True,
                 rtol: float = 1e-6, atol: float = 1e-9, timeout: int = 600, kernel_name: str | None = None,
                 progress: Callable[[str], None] | None = None, notebook: str | Path | None = None) -> ParityReport:
    """Run the exported ``package``'s notebook and the package, compare; see the module doc."""
    from .runner import merge_params, run_pipeline

    package = Path(package).resolve()
    spec = read_spec(package)
    nb_path = Path(notebook or spec["notebook"]).resolve()
    if not nb_path.is_file():
        raise InvalidInput(f"the notebook of this pipeline is gone: {nb_path}")
    params = merge_params(spec, params)
    work = package / ".modelops-cache"
    objects = work / "objects"
    captures = work / "parity" / (time.strftime("%Y%m%d-%H%M%S-") + str(threading.get_ident())[-6:])
    objects.mkdir(parents=True, exist_ok=True)
    captures.mkdir(parents=True, exist_ok=True)
    nb = _instrumented(nb_path, spec, params, objects, captures)
    say = progress or (lambda _m: None)

    notebook_result: dict = {}

    def run_nb():
        notebook_result["seconds"], notebook_result["error"] = run_notebook(
            nb_path, nb, kernel_name=kernel_name or spec.get("kernel_name") or "python3", timeout=timeout)

    say(f"running the notebook {nb_path.name} and the pipeline side by side")
    thread = threading.Thread(target=run_nb, name="modelops-parity-notebook", daemon=True)
    thread.start()
    holder: dict = {}

    def before_end(run) -> None:
        thread.join()
        report = _compare(spec, run, nb_path, package, params, captures, objects, rtol, atol, notebook_result)
        holder["report"] = report
        if run.run_id and client is not None:
            client.log_text(run.run_id, str(report) + "\n", "parity.txt")
            client.log_dict(run.run_id, report.to_dict(), "parity.json")
            client.set_tags(run.run_id, {"mo.parity": "pass" if report.ok else "fail",
                                         **({"mo.parity_divergence": report.first_divergence}
                                            if report.first_divergence else {})})

    own = False
    if track and client is None:
        from ..client import Client

        client, own = Client(), True
    try:
        run = run_pipeline(package, params, client=client, track=track, progress=progress,
                           tags={"mo.parity": "running"}, before_end=before_end)
    finally:
        thread.join()
        if own:
            client.close()
    report = holder.get("report") or _compare(spec, run, nb_path, package, params, captures, objects, rtol,
                                              atol, notebook_result)
    return report


def _compare(spec, run, nb_path, package, params, captures, objects, rtol, atol, nb_result) -> ParityReport:
    report = ParityReport(str(nb_path), str(package), False, params, rtol=rtol, atol=atol,
                          notebook_seconds=nb_result.get("seconds", 0.0), pipeline_seconds=run.seconds,
                          notebook_error=nb_result.get("error"), pipeline_status=run.status,
                          pipeline_run_id=run.run_id, pickled=[list(p) for p in run.pickled()])
    failed = run.failed
    if failed is not None:
        from .runner import error_line

        report.pipeline_error = f"step {failed.name}: {error_line(failed.error or {})}"
    for step in spec["steps"]:
        name = step["name"]
        result = run.steps.get(name)
        captured = _read(captures, _label(name))
        if result is None or result.status == "skipped":
            for n in step["outputs"]:
                report.comparisons.append(Comparison(name, n, "output", "not run",
                                                     (result.error or {}).get("message", "") if result else ""))
            continue
        if result.status == "failed":
            nb_ok = captured is not None
            detail = (f"fails in the pipeline ({report.pipeline_error.split(': ', 1)[1]}) "
                      + ("but not in the notebook" if nb_ok else "and the notebook did not get this far"))
            report.comparisons.append(Comparison(name, "(step)", "output", "failed", detail))
            continue
        for n in step["outputs"]:
            nb_ref = (captured or {}).get(n) if captured is not None else None
            res, detail, fmt, a, b = _compare_ref(nb_ref, result.outputs.get(n), objects, rtol, atol)
            report.comparisons.append(Comparison(name, n, "output", res, detail, fmt, a, b))
    for kind, label, table in (("metric", "metrics", spec["metrics"]), ("declared", "declared", spec["outputs"])):
        captured = _read(captures, label)
        for n, step in table.items():
            res = run.steps.get(step)
            pl_ref = res.outputs.get(n) if res is not None and res.ok else None
            nb_ref = (captured or {}).get(n) if captured is not None else None
            result, detail, fmt, a, b = _compare_ref(nb_ref, pl_ref, objects, rtol, atol)
            report.comparisons.append(Comparison(step, n, kind, result, detail, fmt, a, b))
    order = [s["name"] for s in spec["steps"]]
    bad = [c for c in report.comparisons if c.result in BAD]
    if bad:
        report.first_divergence = min(bad, key=lambda c: order.index(c.step)).step
    report.ok = not bad and report.notebook_error is None and run.ok and not any(
        c.result == "not run" for c in report.comparisons)
    return report
