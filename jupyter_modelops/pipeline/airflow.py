"""The ``airflow`` target: a TaskFlow DAG file that runs the Python package's steps.

``airflow_dag.py`` sits in the exported package; copy the whole folder into Airflow's
DAGs folder. One ``@task`` per step: it loads its inputs from the files its upstream
tasks wrote (their paths travel by XCom), runs the step module, writes its outputs with
the package's ``_codec.py`` under ``DATA_DIR`` and returns their paths. The DAG's params
are the pipeline parameters (overridable when triggering). Nothing heavy is imported
when Airflow parses the file: step modules load inside the tasks. Works with Airflow 3
(``airflow.sdk``) and Airflow 2 (``airflow.decorators``).
"""

from __future__ import annotations

from pathlib import Path

from .codegen import _escape_docstring, module_name
from .dataflow import Pipeline

DAG_FILE = "airflow_dag.py"

HEADER = '''"""Airflow DAG `{dag_id}`, exported by jupyter-modelops from {notebook}.

Copy this whole folder into Airflow's DAGs folder. Each task runs one step module of this
package: it reads its inputs from the files its upstream tasks wrote (their paths travel by
XCom), runs the step, and writes its outputs under DATA_DIR with the package's _codec.py
(Parquet, NumPy, skops, JSON; pickle only as a flagged fallback). Steps: {steps}.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task

PACKAGE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("MODELOPS_PIPELINE_DATA", PACKAGE / ".airflow-data"))
PARAMS = {params}


def _load_module(filename):
    import importlib.util

    name = "modelops_" + re.sub(r"\\W", "_", f"{{PACKAGE.name}}_{{Path(filename).stem}}")
    spec = importlib.util.spec_from_file_location(name, PACKAGE / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_step(module, upstream, params, run_id, outputs):
    """Run one step module: inputs from the upstream tasks' files, outputs to files.
    Returns {{output: {{"path", "info"}}}}, which Airflow passes on by XCom."""
    codec = _load_module("_codec.py")
    values = {{name: codec.load_value(ref["path"], ref["info"]) for name, ref in upstream.items()}}
    result = _load_module(module).run(**values, **params)
    folder = DATA_DIR / re.sub(r"[^\\w.-]", "_", str(run_id)) / Path(module).stem
    folder.mkdir(parents=True, exist_ok=True)
    refs = {{}}
    for name in outputs:
        path = folder / name
        refs[name] = {{"path": str(path), "info": codec.save_value(result[name], path)}}
        if refs[name]["info"]["format"] == "pickle":
            print(f"warning: {{name}} is stored with pickle ({{refs[name]['info'].get('reason')}})")
    return refs


@dag(
    dag_id={dag_id!r},
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    params=PARAMS,
    tags=["jupyter-modelops"],
    doc_md=__doc__,
)
def {func}():
'''


def dag_id(pipeline: Pipeline) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in pipeline.name) or "pipeline"


def airflow_module(pipeline: Pipeline) -> str:
    nb = Path(pipeline.plan.path).name or pipeline.name
    func = f"{pipeline.name if pipeline.name.isidentifier() else 'notebook'}_dag"
    params = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in pipeline.parameters.items()) + "}"
    lines = [HEADER.format(dag_id=dag_id(pipeline), notebook=nb, steps=" → ".join(s.name for s in pipeline.steps),
                           params=params, func=func).rstrip("\n")]
    for step in pipeline.steps:
        producers = list(dict.fromkeys([*step.inputs.values(), *step.after]))
        args = [f"from_{p}: dict" for p in producers] + ["**context"]
        lines.append("")
        lines.append(f"    @task(task_id={step.name!r})")
        lines.append(f"    def {step.name}_task({', '.join(args)}):")
        doc = f"Step `{step.name}`" + (f": {step.title}" if step.title else "")
        lines.append(f'        """{_escape_docstring(doc)}"""')
        if step.params:
            lines.append('        p = context["params"]')
        upstream = "{" + ", ".join(f"{n!r}: from_{p}[{n!r}]" for n, p in step.inputs.items()) + "}"
        params_arg = "{" + ", ".join(f"{n!r}: p[{n!r}]" for n in step.params) + "}"
        lines.append(f"        return run_step({module_name(step.name) + '.py'!r}, {upstream}, {params_arg}, "
                     f"context[\"run_id\"], {list(step.outputs)!r})")
    lines.append("")
    for step in pipeline.steps:
        producers = list(dict.fromkeys([*step.inputs.values(), *step.after]))
        call = ", ".join(f"from_{p}={p}_out" for p in producers)
        lines.append(f"    {step.name}_out = {step.name}_task({call})")
    lines += ["", "", f"{func}()", ""]
    return "\n".join(lines)


def write_airflow(pipeline: Pipeline, out: Path) -> list[Path]:
    path = out / DAG_FILE
    path.write_text(airflow_module(pipeline), encoding="utf-8")
    return [path]
