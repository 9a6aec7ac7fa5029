"""The ``kfp`` target: Kubeflow Pipelines v2, compiled by the ``kfp`` compiler.

``kfp_pipeline.py`` (next to the Python package's files) defines one lightweight
component per step and the pipeline; ``pipeline.yaml`` is what ``kfp``'s compiler makes of
it. The compiler reads each component's source with ``inspect.getsource``, so the file is
written first and imported from disk before compiling.

Mapping: step → component; a value passed between steps → an ``Artifact`` (written with
the package's ``_codec.py`` functions, which every component embeds); a pipeline
parameter → a pipeline argument with the notebook's value as default; a
``pipeline-metrics`` name → a ``Metrics`` artifact entry and a float output of the
component, returned as an output of the pipeline.
"""

from __future__ import annotations

import importlib.util
import keyword
import sys
from pathlib import Path

from ..errors import InvalidInput
from .codegen import _Writer, _escape_docstring, step_body
from .dataflow import Pipeline, Step

KFP_FILE = "kfp_pipeline.py"
YAML_FILE = "pipeline.yaml"
DEFAULT_IMAGE = f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"
PIP_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "cv2": "opencv-python-headless",
             "skimage": "scikit-image", "bs4": "beautifulsoup4", "dateutil": "python-dateutil"}
RESERVED = {"dsl", "compiler", "Artifact", "Input", "Output", "Metrics", "NamedTuple", "save_value",
            "load_value", "BASE_IMAGE", "PACKAGES", "INSTALL_KFP", "Path", "importlib"}


def require_kfp():
    try:
        import kfp  # noqa: F401
    except ImportError:
        raise InvalidInput("the kfp target needs the kfp package: pip install 'jupyter-modelops[kfp]'") from None


def packages(pipeline: Pipeline) -> list[str]:
    from .codegen import import_modules

    tops: list[str] = []
    for s in pipeline.steps:
        for m in import_modules(s, pipeline):
            top = m.split(".")[0]
            if top not in tops and top not in sys.stdlib_module_names and top != "jupyter_modelops":
                tops.append(top)
    out = [PIP_NAMES.get(t, t) for t in tops]
    for extra in ("pandas", "pyarrow", "numpy", "cloudpickle"):
        if extra not in out:
            out.append(extra)
    if "scikit-learn" in out:
        out.append("skops")
    return out


def _type_of(value) -> str:
    for t in (bool, int, float, str, list, dict):
        if type(value) is t:
            return t.__name__
    return "str"


def _names(step: Step) -> dict[str, str]:
    """Output value -> the component's output artifact parameter."""
    taken = set(step.inputs) | set(step.params) | set(step.metrics) | RESERVED | {"metrics"}
    out = {}
    for n in step.outputs:
        name = n if n not in taken and not keyword.iskeyword(n) else f"{n}_out"
        while name in taken:
            name += "_"
        taken.add(name)
        out[n] = name
    return out


def _metrics_param(step: Step, outs: dict[str, str]) -> str:
    used = set(step.inputs) | set(step.params) | set(outs.values())
    return "metrics" if "metrics" not in used else "step_metrics"


def component_name(step: Step) -> str:
    return f"{step.name}_step"


def kfp_module(pipeline: Pipeline, *, base_image: str = DEFAULT_IMAGE, packages_to_install: list[str] | None = None,
               install_kfp: bool = True) -> str:
    w = _Writer()
    nb = Path(pipeline.plan.path).name or pipeline.name
    w.add(f'"""Kubeflow Pipelines v2 definition of `{pipeline.name}`, exported by jupyter-modelops from {nb}.')
    w.add("")
    w.add("`python kfp_pipeline.py` compiles it to pipeline.yaml (kfp's compiler). Each component is one")
    w.add("step: its imports, the step's code as run(), and the value codec (save_value / load_value,")
    w.add("from _codec.py) that passes its outputs to the next steps as artifacts.")
    w.add('"""')
    w.add("")
    w.add("import importlib.util")
    w.add("from pathlib import Path")
    w.add("from typing import NamedTuple")
    w.add("")
    w.add("from kfp import compiler, dsl")
    w.add("from kfp.dsl import Artifact, Input, Metrics, Output")
    w.add("")
    w.add('_spec = importlib.util.spec_from_file_location("_modelops_codec", Path(__file__).with_name("_codec.py"))')
    w.add("_codec = importlib.util.module_from_spec(_spec)")
    w.add("_spec.loader.exec_module(_codec)")
    w.add("save_value, load_value = _codec.save_value, _codec.load_value")
    w.add("")
    w.add(f"BASE_IMAGE = {base_image!r}")
    w.add(f"PACKAGES = {list(packages(pipeline) if packages_to_install is None else packages_to_install)!r}")
    w.add(f"INSTALL_KFP = {install_kfp!r}")
    for step in pipeline.steps:
        outs = _names(step)
        mparam = _metrics_param(step, outs)
        args = [f"{n}: Input[Artifact]" for n in step.inputs]
        args += [f"{p}: {_type_of(pipeline.parameters.get(p))}" for p in step.params]
        args += [f"{outs[n]}: Output[Artifact]" for n in step.outputs]
        if step.metrics:
            args.append(f"{mparam}: Output[Metrics]")
        ret = ""
        if step.metrics:
            fields = ", ".join(f"({m!r}, float)" for m in step.metrics)
            ret = f' -> NamedTuple("Outputs", [{fields}])'
        w.add("")
        w.add("")
        w.add("@dsl.component(base_image=BASE_IMAGE, packages_to_install=PACKAGES, install_kfp_package=INSTALL_KFP,")
        w.add("               additional_funcs=[save_value, load_value])")
        w.add(f"def {component_name(step)}({', '.join(args)}){ret}:")
        title = f" — {_escape_docstring(step.title)}" if step.title else ""
        w.add(f'    """Step `{step.name}`{title}"""')
        w.add("    " + _signature_line(step, "_step"))
        step_body(step, pipeline, w, "        ", module_imports=False)
        w.add("")
        call = [f"{n}=load_value({n}.path, dict({n}.metadata))" for n in step.inputs]
        call += [f"{p}={p}" for p in step.params]
        w.add(f"    _result = _step({', '.join(call)})")
        for n in step.outputs:
            w.add(f"    {outs[n]}.metadata.update(save_value(_result[{n!r}], {outs[n]}.path))")
        for m in step.metrics:
            w.add(f"    {mparam}.log_metric({m!r}, float(_result[{m!r}]))")
        if step.metrics:
            w.add("    return (" + ", ".join(f"float(_result[{m!r}])" for m in step.metrics) + ",)")
    # the pipeline
    kfp_name = "".join(c if c.isalnum() else "-" for c in pipeline.name.lower()).strip("-") or "pipeline"
    func = f"{pipeline.name if pipeline.name.isidentifier() else 'notebook'}_pipeline"
    params = [f"{k}: {_type_of(v)} = {v!r}" for k, v in pipeline.parameters.items()]
    w.add("")
    w.add("")
    w.add(f"@dsl.pipeline(name={kfp_name!r}, description={('Exported by jupyter-modelops from ' + nb)!r})")
    metrics = list(pipeline.metrics)
    ret = ""
    if metrics:
        ret = ' -> NamedTuple("Outputs", [' + ", ".join(f"({m!r}, float)" for m in metrics) + "])"
    w.add(f"def {func}({', '.join(params)}){ret}:")
    out_names = {s.name: _names(s) for s in pipeline.steps}
    for step in pipeline.steps:
        args = [f"{n}={step.inputs[n]}_task.outputs[{out_names[step.inputs[n]][n]!r}]" for n in step.inputs]
        args += [f"{p}={p}" for p in step.params]
        line = f"    {step.name}_task = {component_name(step)}({', '.join(args)})"
        w.add(line)
        w.add(f"    {step.name}_task.set_display_name({step.name!r})")
        only_order = [a for a in step.after if a not in set(step.inputs.values())]
        for a in only_order:
            w.add(f"    {step.name}_task.after({a}_task)")
    if metrics:
        fields = ", ".join(f"({m!r}, float)" for m in metrics)
        values = ", ".join(f"{m}={pipeline.metrics[m]}_task.outputs[{m!r}]" for m in metrics)
        w.add(f'    return NamedTuple("Outputs", [{fields}])({values})')
    w.add("")
    w.add("")
    w.add(f"PIPELINE = {func}")
    w.add("")
    w.add('if __name__ == "__main__":')
    w.add(f'    compiler.Compiler().compile({func}, str(Path(__file__).with_name({YAML_FILE!r})))')
    return w.text()


def _signature_line(step: Step, name: str) -> str:
    args = list(step.inputs)
    if step.params:
        args += ["*", *step.params]
    return f"def {name}({', '.join(args)}):"


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_kfp(pipeline: Pipeline, out: Path, *, compile: bool = True, **options) -> list[Path]:
    """Write ``kfp_pipeline.py`` and compile it to ``pipeline.yaml``; returns the files."""
    require_kfp()
    path = out / KFP_FILE
    path.write_text(kfp_module(pipeline, **options), encoding="utf-8")
    files = [path]
    if compile:
        from kfp import compiler

        module = load_module(path, f"modelops_kfp_{abs(hash(str(out)))}")
        try:
            compiler.Compiler().compile(module.PIPELINE, str(out / YAML_FILE))
        except Exception as exc:  # noqa: BLE001 - the compiler's own message is the useful part
            raise InvalidInput(f"kfp could not compile the pipeline: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}"[:400]) from None
        files.append(out / YAML_FILE)
    return files
