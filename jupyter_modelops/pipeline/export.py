"""``export_notebook``: the one entry behind the CLI, ``%modelops export`` and the service op.

Targets:

* ``python``  — the package (see ``codegen``);
* ``local``   — the package, then a run with the local runner;
* ``kfp``     — the package plus ``kfp_pipeline.py`` and the compiled ``pipeline.yaml``;
* ``airflow`` — the package plus ``airflow_dag.py``.

``check=True`` adds the parity check (notebook and pipeline run side by side, compared).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InvalidInput
from .codegen import SPEC_FILE, package_name, write_package

TARGETS = ("python", "local", "kfp", "airflow")
# Names a kernel holds that no notebook cell is expected to define.
KERNEL_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


@dataclass
class StepInfo:
    name: str
    title: str
    cells: list[int]
    cell_ids: list[str]
    inputs: dict
    params: list[str]
    outputs: list[str]
    after: list[str]
    module: str
    changed: bool | None = None  # vs the previous export into the same folder


@dataclass
class ExportReport:
    notebook: str
    target: str
    output: str
    mode: str
    files: list[str]
    steps: list[StepInfo]
    parameters: dict
    metrics: list[str]
    outputs: list[str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hidden_state: list[str] = field(default_factory=list)
    formats: dict = field(default_factory=dict)  # "step.name" -> format (predicted or observed)
    pickled: list = field(default_factory=list)  # [step, name, reason]
    run: dict | None = None
    parity: dict | None = None
    parity_text: str = ""
    run_text: str = ""
    seconds: float = 0.0
    code_hash: str = ""

    @property
    def ok(self) -> bool:
        if self.parity is not None and not self.parity.get("ok"):
            return False
        return self.run is None or self.run.get("status") == "FINISHED"

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        nb = Path(self.notebook).name
        what = {"python": "Python package", "local": "Python package, run locally",
                "kfp": "Kubeflow Pipelines v2", "airflow": "Airflow DAG"}[self.target]
        lines = [f"exported {nb} → {self.output} ({what}; {len(self.steps)} steps from "
                 f"{'tags' if self.mode == 'tagged' else 'headings' if self.mode == 'headings' else 'one step'}, "
                 f"{self.seconds:.2f} s)"]
        rows = []
        for s in self.steps:
            by: dict[str, list[str]] = {}
            for n, p in s.inputs.items():
                by.setdefault(p, []).append(n)
            reads = "; ".join(f"{', '.join(v)} ({p})" for p, v in by.items()) or "—"
            writes = (", ".join(s.outputs) or "—") + (" (changed)" if s.changed else "")
            rows.append((s.name, ",".join(map(str, s.cells)), reads, writes))
        w1 = max([len(r[0]) for r in rows] + [4])
        w2 = max([len(r[1]) for r in rows] + [5])
        w3 = min(max([len(r[2]) for r in rows] + [5]), 48)
        lines.append(f"  {'step':<{w1}}  {'cells':<{w2}}  {'reads':<{w3}}  writes")
        for r in rows:
            lines.append(f"  {r[0]:<{w1}}  {r[1]:<{w2}}  {r[2]:<{w3}}  {r[3]}")
        extra = []
        if self.parameters:
            extra.append("parameters: " + ", ".join(f"{k}={v!r}" for k, v in self.parameters.items()))
        if self.metrics:
            extra.append("metrics: " + ", ".join(self.metrics))
        if self.outputs:
            extra.append("outputs: " + ", ".join(self.outputs))
        if extra:
            lines.append("   ".join(extra))
        for w in self.warnings:
            lines.append(f"⚠ {w}")
        if self.hidden_state:
            lines.append("⚠ hidden state: " + ", ".join(f"`{n}`" for n in self.hidden_state[:12])
                         + (" …" if len(self.hidden_state) > 12 else "")
                         + " exist in the kernel but no cell defines them; the pipeline will not have them")
        for step, name, reason in self.pickled:
            lines.append(f"⚠ {step}.{name} will be stored with pickle ({reason}): not a safe format")
        for n in self.notes:
            lines.append(f"· {n}")
        if self.run_text:
            lines.append(self.run_text)
        if self.parity_text:
            lines.append(self.parity_text)
        if self.target in ("python", "local") and not self.parity_text:
            pkg = Path(self.output)
            hint = f"python -m {pkg.name}" if pkg.name.isidentifier() else f"jupyter modelops export {nb} --target local"
            lines.append(f"run it: {hint}   check it: jupyter modelops export {nb} --check")
        return "\n".join(lines)


def default_output(notebook: Path) -> Path:
    return notebook.parent / f"{package_name(notebook.stem)}_pipeline"


def _check_path(value, what: str) -> None:
    """A path the caller typed: text without NUL (the OS would cut it there)."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidInput(f"{what} must be a path, not {type(value).__name__}")
    if "\x00" in os.fspath(value):
        raise InvalidInput(f"{what} {os.fspath(value)!r} contains a NUL character")


def _no_links(out: Path) -> None:
    """Refuse to write through symbolic links: the export folder, or a file the export
    rewrites inside it, could otherwise point anywhere (a shared folder, ~/.bashrc)."""
    if out.is_symlink():
        raise InvalidInput(f"export folder {out} is a symbolic link to {out.resolve()}; give the real folder")
    if out.is_dir():
        links = sorted(p.name for p in out.iterdir() if p.is_symlink())
        if links:
            raise InvalidInput(f"export folder {out} holds symbolic links ({', '.join(links[:3])}); "
                               "the export rewrites its files, so remove them first")


def _check_output(out: Path) -> dict | None:
    """The previous export in ``out`` (None if empty); refuses a folder that is not one."""
    import json

    _no_links(out)
    if not out.exists():
        return None
    if not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder")
    spec_path = out / SPEC_FILE
    if spec_path.is_file():
        try:
            return json.loads(spec_path.read_text(encoding="utf-8"))
        except ValueError:
            return None
    if any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise InvalidInput(f"{out} is not empty and holds no exported pipeline; choose another --output")
    return None


def hidden_state(namespace: dict, plan, hidden: set | None = None) -> list[str]:
    """Names in a kernel that no cell of the notebook defines."""
    from ..kernel.cellnames import analyse

    defined: set[str] = set()
    for c in plan.cells:
        if c.cell_type != "code":
            continue
        try:
            defined |= analyse(c.code).defined
        except SyntaxError:
            continue
    out = []
    for name, value in namespace.items():
        if name.startswith("_") or name in KERNEL_NAMES or name in (hidden or set()) or name in defined:
            continue
        out.append(name)
    return sorted(out)


def predict_format(value) -> tuple[str, str]:
    """The format ``codec.save_value`` would choose, without writing (format, reason)."""

    def jsonable(v, depth=0) -> bool:
        if depth > 20:
            return False
        if v is None or type(v) in (bool, str, int):
            return True
        if type(v) is float:
            return True
        if type(v) in (list, tuple):
            return all(jsonable(x, depth + 1) for x in v[:1000]) and len(v) <= 100_000
        if type(v) is dict:
            return all(isinstance(k, str) and jsonable(x, depth + 1) for k, x in list(v.items())[:1000])
        np = sys.modules.get("numpy")
        return np is not None and isinstance(v, np.generic) and v.dtype.kind in "biuf"

    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if jsonable(value):
        return "json", ""
    if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
        cols = value.columns if isinstance(value, pd.DataFrame) else ["x"]
        if all(isinstance(c, str) for c in cols):
            return "parquet", ""
        return "pickle", "Parquet needs string column names"
    if np is not None and type(value) is np.ndarray:
        return ("pickle", "an object array cannot be stored without pickle") if value.dtype.hasobject else ("npy", "")
    if any(c.__module__.split(".")[0] == "sklearn" for c in type(value).__mro__):
        return "skops", ""
    cls = type(value)
    return "pickle", f"no safe format for {cls.__module__}.{cls.__qualname__}"


def export_notebook(notebook: str | Path | None = None, *, target: str = "python", output: str | Path | None = None,
                    check: bool = False, params: dict | None = None, client=None, track: bool = True,
                    namespace: dict | None = None, namespace_hidden: set | None = None, content: dict | None = None,
                    progress: Callable[[str], None] | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                    kfp_options: dict | None = None, workers: int | None = None) -> ExportReport:
    """Export ``notebook`` (a path, or ``content``: the notebook as JSON) to ``target``.

    ``namespace``: the variables of the kernel the export is run from, for the hidden
    state warning and format predictions. ``client``: where the local run and the parity
    check log their runs (default: a ``Client()`` on the configured store)."""
    from .dataflow import analyse_pipeline
    from .notebook import plan_notebook, read_notebook

    started = time.perf_counter()
    if target not in TARGETS:
        raise InvalidInput(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if params and not (check or target == "local"):
        raise InvalidInput("parameters apply to a run: give --check or --target local with them")
    if notebook is None and content is None:
        raise InvalidInput("which notebook? give its path")
    for value, what in ((notebook, "notebook"), (output, "output")):
        if value is not None:
            _check_path(value, what)
    if content is not None:
        from .notebook import as_notebook

        nb = as_notebook(content, "content")
        if notebook is None:
            raise InvalidInput("give the notebook's path with its content (the export is written next to it)")
        nb_path = Path(notebook).resolve()
        if check:
            raise InvalidInput("the parity check runs the saved notebook: save it and export by path")
    else:
        nb_path = Path(notebook).expanduser().resolve()
        if nb_path.suffix != ".ipynb":
            raise InvalidInput(f"{notebook} is not a notebook (.ipynb)")
        nb = read_notebook(nb_path)
    if output:
        given = Path(output).expanduser()
        _no_links(given)  # before resolve() follows the link
        out = given.resolve()
    else:
        out = default_output(nb_path)
    previous = _check_output(out)
    plan = plan_notebook(nb, nb_path, previous=previous)
    pipeline = analyse_pipeline(plan)
    spec = write_package(pipeline, out)
    files = sorted(str(p.relative_to(out)) for p in out.iterdir()
                   if p.is_file() and not p.name.startswith("."))
    if target == "kfp":
        from .kfp import write_kfp

        files += [p.name for p in write_kfp(pipeline, out, **(kfp_options or {})) if p.name not in files]
    elif target == "airflow":
        from .airflow import write_airflow

        files += [p.name for p in write_airflow(pipeline, out) if p.name not in files]
    prev_hash = {s["name"]: s.get("code_hash") for s in (previous or {}).get("steps", [])}
    steps = [StepInfo(s["name"], s["title"], [c["index"] + 1 for c in s["cells"]], [c["id"] for c in s["cells"]],
                      s["inputs"], s["params"], s["outputs"], s["after"], s["module"],
                      None if previous is None else prev_hash.get(s["name"]) != s["code_hash"])
             for s in spec["steps"]]
    report = ExportReport(str(nb_path), target, str(out), plan.mode, sorted(files), steps, dict(pipeline.parameters),
                          list(pipeline.metrics), list(pipeline.declared), list(pipeline.warnings),
                          list(pipeline.notes), code_hash=plan.code_hash)
    if namespace is not None:
        report.hidden_state = hidden_state(namespace, plan, namespace_hidden)
        for s in pipeline.steps:
            for n in s.outputs:
                if n in namespace:
                    fmt, reason = predict_format(namespace[n])
                    report.formats[f"{s.name}.{n}"] = fmt
                    if fmt == "pickle":
                        report.pickled.append([s.name, n, reason])
    report.seconds = time.perf_counter() - started
    if check:
        from .parity import check_parity

        parity = check_parity(out, params=params, client=client, track=track, rtol=rtol, atol=atol,
                              progress=progress, notebook=nb_path)
        report.parity = parity.to_dict()
        report.parity_text = str(parity)
        report.run = {"status": parity.pipeline_status, "run_id": parity.pipeline_run_id}
        report.pickled = [list(p) for p in parity.pickled]
    elif target == "local":
        from .runner import run_pipeline

        run = run_pipeline(out, params, client=client, track=track, progress=progress, workers=workers)
        report.run = run.to_dict()
        report.run_text = run.summary()
        report.pickled = [list(p) for p in run.pickled()]
        for s in run.steps.values():
            for n, ref in s.outputs.items():
                report.formats[f"{s.name}.{n}"] = ref["info"].get("format")
    return report
