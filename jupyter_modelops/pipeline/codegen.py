"""The ``python`` target: a package with one readable module per step.

::

    <output>/
      __init__.py       what this is; ``run(**params)``
      __main__.py       ``python -m <package>``: the local runner (parallel, cached, tracked)
      pipeline.py       the plain runner: every step in order, in this process
      pipeline.json     the graph: steps, cells, inputs, outputs, parameters, metrics
      _codec.py         how values are stored between steps (safe formats first)
      step_<name>.py    one per step: the step's cells inside ``run(inputs..., *, params...)``,
                        which returns the step's outputs

A step module is the step's own code, in cell order, under a comment naming each cell;
imports sit at the top of the module, and the functions it uses from other cells are
copied in. Nothing in a step module depends on jupyter-modelops.
"""

from __future__ import annotations

import hashlib
import io
import json
import keyword
import re
import shutil
import tokenize
from datetime import datetime, timezone
from pathlib import Path

from .dataflow import Pipeline, Step

SPEC_FILE = "pipeline.json"
SPEC_FORMAT = 1
INDENT = "    "


def code_digest(text: str) -> str:
    """sha256 of a step module's code without its docstring and comment lines, so that
    renumbered cells or a retitled heading do not count as a change (an edit does)."""
    if text.startswith('"""'):
        end = text.find('"""', 3)
        text = text[end + 3:] if end >= 0 else text
    code = "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return hashlib.sha256(code.encode()).hexdigest()


def module_name(step: str) -> str:
    return f"step_{step}"


def package_name(text: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "pipeline"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"nb_{name}"
    return name


def _protected_lines(code: str) -> set[int]:
    """Lines (1-based) inside a multi-line string: indenting them would change the string."""
    out: set[int] = set()
    starts: list[int] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            name = tokenize.tok_name.get(tok.type, "")
            if name == "FSTRING_START":
                starts.append(tok.start[0])
            elif name == "FSTRING_END" and starts:
                out.update(range(starts.pop() + 1, tok.end[0] + 1))
            elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                out.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


class _Writer:
    """Lines of generated code plus where each came from in the notebook."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.linemap: list[list[int]] = []  # [generated line, cell index, cell line]

    def add(self, text: str = "", origin: tuple[int, int] | None = None) -> None:
        self.lines.append(text.rstrip() if text.strip() else "")
        if origin is not None:
            self.linemap.append([len(self.lines), origin[0], origin[1]])

    def code(self, code: str, indent: str, cell_index: int, first_line: int = 1,
             only: list[tuple[int, str]] | None = None, protected: set[int] | None = None) -> None:
        protected = _protected_lines(code) if protected is None else protected
        rows = only if only is not None else list(enumerate(code.splitlines(), start=first_line))
        for n, text in rows:
            rel = n - first_line + 1
            self.add(text if rel in protected or not text.strip() else indent + text, (cell_index, n))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def _cells_phrase(step: Step, nb_name: str) -> str:
    parts = [f"{c.number} ({c.id[:8]})" for c in step.cells]
    if len(parts) == 1:
        return f"{nb_name}, cell {parts[0]}"
    return f"{nb_name}, cells " + ", ".join(parts[:-1]) + f" and {parts[-1]}"


def _inputs_phrase(step: Step) -> str:
    by: dict[str, list[str]] = {}
    for name, producer in step.inputs.items():
        by.setdefault(producer, []).append(name)
    return "; ".join(f"{', '.join(names)} (from `{p}`)" for p, names in by.items()) or "none"


def step_signature(step: Step) -> str:
    args = list(step.inputs)
    if step.params:
        args += ["*", *step.params]
    return f"def run({', '.join(args)}):"


def step_body(step: Step, pipeline: Pipeline, w: _Writer, indent: str, *, module_imports: bool) -> None:
    """The statements of ``run()``: imports it must re-bind, shared code, copied functions,
    the cells, then ``return {outputs}``. With ``module_imports=False`` (Kubeflow
    components, which must be self-contained) every import goes inside too."""
    imports = _step_imports(step, pipeline, module_imports=module_imports)
    inner = [*imports["body"]]
    if inner:
        w.add(indent + ("# imports that this step's own names would shadow" if module_imports else "# imports"))
        for src in inner:
            for line in src.splitlines():
                w.add(indent + line)
    if step.uses_display and "display" not in step.local_names:
        w.add(indent + "try:  # the notebook's display()")
        w.add(indent + "    from IPython.display import display")
        w.add(indent + "except ImportError:")
        w.add(indent + "    display = print")
    if step.common:
        w.add(indent + "# shared code from the imports / functions cells")
        for cell, src, lineno in step.common:
            w.code(src, indent, cell.index, lineno)
    for d in step.definitions:
        where = f"step `{d.step}`" if d.step else "the functions cell"
        w.add(indent + f"# `{d.name}`, copied from {where}, {d.cell.label()}")
        w.code(d.source, indent, d.cell.index, d.lineno)
        w.add("")
    for cc in step.code:
        w.add(indent + f"# --- {cc.cell.label()}")
        w.code(cc.cell.code, indent, cc.cell.index, only=cc.lines,
               protected=_protected_lines(cc.cell.code))
    outs = ", ".join(f'"{n}": {n}' for n in step.outputs)
    w.add(indent + f"return {{{outs}}}")


def _step_imports(step: Step, pipeline: Pipeline, *, module_imports: bool) -> dict[str, list[str]]:
    """Import statements for the module top and for the body of ``run()``."""
    import ast

    top, body = [], list(step.body_imports)
    for src in [*pipeline.common_imports, *step.imports]:
        try:
            stmt = ast.parse(src).body[0]
            names = {(a.asname or a.name).split(".")[0] for a in stmt.names}
        except (SyntaxError, IndexError, AttributeError):
            names = set()
        target = top if module_imports and not (names & step.local_names) else body
        if src not in target and src not in body:
            target.append(src)
    return {"top": top, "body": body}


def step_module(step: Step, pipeline: Pipeline) -> tuple[str, list[list[int]]]:
    """The source of ``step_<name>.py`` and its line map back to the notebook."""
    nb = Path(pipeline.plan.path).name or pipeline.name
    w = _Writer()
    title = f" — {step.title}" if step.title else ""
    w.add(f'"""Step `{step.name}`{_escape_docstring(title)}')
    w.add("")
    w.add(f"Exported by jupyter-modelops from {_cells_phrase(step, nb)}.")
    w.add(f"Inputs:      {_inputs_phrase(step)}")
    w.add(f"Parameters:  {', '.join(step.params) or 'none'}")
    w.add(f"Outputs:     {', '.join(step.outputs) or 'none'}")
    if step.metrics:
        w.add(f"Metrics:     {', '.join(step.metrics)}")
    w.add('"""')
    w.add("")
    imports = _step_imports(step, pipeline, module_imports=True)
    for src in imports["top"]:
        for line in src.splitlines():
            w.add(line)
    if imports["top"]:
        w.add("")
    w.add("")
    w.add(step_signature(step))
    step_body(step, pipeline, w, INDENT, module_imports=True)
    return w.text(), w.linemap


def _escape_docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def runner_module(pipeline: Pipeline) -> str:
    """``pipeline.py``: the steps in order, values passed in memory."""
    lines = [
        f'"""Pipeline `{pipeline.name}`: every step in order, in this process.',
        "",
        "`python -m <this package>` runs the same steps with the jupyter-modelops local runner",
        "(independent steps in parallel processes, cached, tracked); this is the plain version",
        'to read, run from Python (`run(C=0.5)`) or adapt."""',
        "",
        "from . import " + ", ".join(module_name(s.name) for s in pipeline.steps),
        "",
        "PARAMETERS = {" + ", ".join(f"{k!r}: {v!r}" for k, v in pipeline.parameters.items()) + "}",
        "",
        "",
        "def run(**params):",
        '    """Run every step; returns the metrics and declared outputs."""',
        "    unknown = set(params) - set(PARAMETERS)",
        "    if unknown:",
        '        raise TypeError(f"unknown parameters: {sorted(unknown)}")',
        "    params = {**PARAMETERS, **params}",
    ]
    reserved = {"params", "PARAMETERS", "run", "unknown"}
    var = {s.name: (f"{s.name}_" if s.name in reserved else s.name) for s in pipeline.steps}
    for s in pipeline.steps:
        args = [f"{n}={var[p]}[{n!r}]" for n, p in s.inputs.items()]
        args += [f"{n}=params[{n!r}]" for n in s.params]
        lines.append(f"    {var[s.name]} = {module_name(s.name)}.run({', '.join(args)})")
    results = {**pipeline.metrics, **pipeline.declared}
    lines.append("    return {" + ", ".join(f"{n!r}: {var[s]}[{n!r}]" for n, s in results.items()) + "}")
    lines += ["", "", 'if __name__ == "__main__":', "    print(run())", ""]
    return "\n".join(lines)


MAIN_MODULE = '''"""`python -m {package} [--param NAME=VALUE ...] [--workers N] [--no-cache] [--no-track] [--plain]`

Runs the pipeline with the jupyter-modelops local runner: independent steps in parallel
processes, each step cached by the hash of its code and inputs (an unchanged rerun, or a
rerun after a failure, reuses what already ran), every step logged as a child run of one
pipeline run. ``--plain`` runs ``pipeline.py`` instead (in this process, no cache).
"""

import argparse
import json
import sys
from pathlib import Path


def _value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m {package}", description=__doc__.splitlines()[0])
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter (the value is read as JSON, else as text)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes")
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    parser.add_argument("--no-track", action="store_true", help="do not log runs")
    parser.add_argument("--plain", action="store_true", help="run pipeline.py in this process")
    args = parser.parse_args(argv)
    params = {{}}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--param takes NAME=VALUE, not {{item!r}}")
        params[name] = _value(value)
    if args.plain:
        from .pipeline import run

        print(json.dumps(run(**params), indent=2, default=repr))
        return 0
    from jupyter_modelops.pipeline.runner import run_pipeline

    result = run_pipeline(Path(__file__).resolve().parent, params, workers=args.workers,
                          cache=not args.no_cache, track=not args.no_track)
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
'''

INIT_MODULE = '''"""Pipeline `{name}`, exported by jupyter-modelops from {notebook}.

Run it: `python -m {package}` (local runner: parallel, cached, tracked), or from Python
`from {package} import run; run({example})` (every step in order, in this process).
Steps: {steps}.
"""


def run(**params):
    """Run every step in order in this process; returns the metrics and declared outputs."""
    from .pipeline import run as _run

    return _run(**params)
'''


def import_modules(step: Step, pipeline: Pipeline) -> list[str]:
    """Dotted module names a step imports (what a runner may preload)."""
    import ast

    out: list[str] = []
    for src in [*pipeline.common_imports, *step.imports, *step.body_imports]:
        try:
            stmt = ast.parse(src).body[0]
        except (SyntaxError, IndexError):
            continue
        if isinstance(stmt, ast.Import):
            mods = [a.name for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
            mods = [stmt.module]
        else:
            mods = []
        out += [m for m in mods if m not in out]
    return out


def build_spec(pipeline: Pipeline, modules: dict[str, tuple[str, list]], *, workdir: str) -> dict:
    from .._version import __version__

    plan = pipeline.plan
    steps = []
    for s in pipeline.steps:
        text, linemap = modules[s.name]
        steps.append({
            "name": s.name, "title": s.title, "origin": s.origin, "anchor": s.anchor,
            "module": f"{module_name(s.name)}.py",
            "cells": [{"id": c.id, "index": c.index} for c in s.cells],
            "inputs": dict(s.inputs), "params": list(s.params), "outputs": list(s.outputs),
            "metrics": list(s.metrics), "declared": list(s.declared), "after": list(s.after),
            "explicit_after": list(s.explicit_after),
            "code_hash": code_digest(text),
            "imports": import_modules(s, pipeline), "uses_modelops": "jupyter_modelops" in text,
            "linemap": linemap,
        })
    return {
        "format": SPEC_FORMAT,
        "name": pipeline.name,
        "package": package_name(pipeline.name),
        "notebook": str(Path(plan.path).resolve()) if plan.path else "",
        "notebook_code_hash": plan.code_hash,
        "mode": plan.mode,
        "kernel_name": plan.kernel_name,
        "workdir": workdir,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generator": f"jupyter-modelops {__version__}",
        "parameters": pipeline.parameters,
        "metrics": pipeline.metrics,
        "outputs": pipeline.declared,
        "steps": steps,
        "edges": pipeline.edges(),
        "cells": {c.id: c.index for c in plan.cells},
        "warnings": pipeline.warnings,
        "notes": pipeline.notes,
    }


def write_package(pipeline: Pipeline, out: Path, *, workdir: str | None = None) -> dict:
    """Write the package into ``out`` (created; stale step modules removed); returns the spec."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("step_*.py"):
        old.unlink()
    modules = {s.name: step_module(s, pipeline) for s in pipeline.steps}
    for s in pipeline.steps:
        (out / f"{module_name(s.name)}.py").write_text(modules[s.name][0], encoding="utf-8")
    nb_dir = str(Path(pipeline.plan.path).resolve().parent) if pipeline.plan.path else str(out)
    spec = build_spec(pipeline, modules, workdir=workdir or nb_dir)
    package = out.name if out.name.isidentifier() else spec["package"]
    example = ", ".join(f"{k}={v!r}" for k, v in list(pipeline.parameters.items())[:2])
    (out / "__init__.py").write_text(INIT_MODULE.format(
        name=pipeline.name, notebook=Path(pipeline.plan.path).name or "a notebook", package=package,
        example=example, steps=" → ".join(s.name for s in pipeline.steps)), encoding="utf-8")
    (out / "__main__.py").write_text(MAIN_MODULE.format(package=package), encoding="utf-8")
    (out / "pipeline.py").write_text(runner_module(pipeline), encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("codec.py"), out / "_codec.py")
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=1, default=repr) + "\n", encoding="utf-8")
    return spec


def read_spec(package: str | Path) -> dict:
    from ..errors import InvalidInput

    path = Path(package)
    if path.is_dir():
        path = path / SPEC_FILE
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise InvalidInput(f"{package} is not an exported pipeline (no {SPEC_FILE}); "
                           "export one with `jupyter modelops export NOTEBOOK`") from None
    except ValueError:
        raise InvalidInput(f"{path} is not valid JSON") from None
    if spec.get("format") != SPEC_FORMAT:
        raise InvalidInput(f"{path} was written by another version (format {spec.get('format')}); export again")
    return spec
