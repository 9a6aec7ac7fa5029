"""The local runner: an exported package's steps as a graph of processes.

* **Parallel**: every step whose inputs are ready runs at once, each in a fresh process
  forked from a server that has already imported what the steps import (so a step does
  not pay for ``import sklearn`` again), up to ``workers`` at a time.
* **Cached by content**: a step's key is the hash of its module's code, the parameters it
  takes and the digests of its inputs; outputs are stored by their sha256. A rerun with
  nothing changed reuses every step; after an edit, only the changed step and what
  depends on it run again.
* **Resumable**: a failed step stops only the steps that need it; the others finish and
  are cached, so the next run starts where this one failed.
* **Tracked**: one pipeline run (tagged with the notebook's code hash) with one child run
  per step: its parameters, metrics, figures, log and output digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InvalidInput
from .codec import FORMAT_VERSION
from .codegen import read_spec

CACHE_DIR = ".modelops-cache"
ALWAYS_PRELOAD = ("jupyter_modelops.pipeline.worker", "cloudpickle", "numpy", "pandas", "pyarrow.parquet",
                  "pandas.io.parquet")


@dataclass
class StepResult:
    name: str
    status: str  # done | cached | failed | skipped
    seconds: float = 0.0
    outputs: dict = field(default_factory=dict)  # name -> {digest, size, info}
    metrics: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    error: dict | None = None
    run_id: str | None = None
    log: str | None = None
    key: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("done", "cached")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "status", "seconds", "outputs", "metrics", "figures",
                                              "error", "run_id", "log", "key")}


@dataclass
class PipelineRun:
    """What a run did: per step status, outputs (by digest), metrics; ``load(name)`` reads a value."""

    name: str
    package: str
    status: str  # FINISHED | FAILED | KILLED
    params: dict
    steps: dict[str, StepResult]
    seconds: float
    cache_dir: str
    run_id: str | None = None
    metrics: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)  # declared output -> ref
    resumed_from: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    @property
    def objects(self) -> Path:
        return Path(self.cache_dir) / "objects"

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps.values() if s.status == "failed"), None)

    def pickled(self) -> list[tuple[str, str, str]]:
        """(step, name, reason) of every output stored with pickle (not a safe format)."""
        return [(s.name, n, ref["info"].get("reason", "")) for s in self.steps.values()
                for n, ref in s.outputs.items() if ref["info"].get("format") == "pickle"]

    def ref(self, name: str, step: str | None = None) -> dict:
        if step is None:
            if name in self.outputs:
                return self.outputs[name]
            for s in reversed(list(self.steps.values())):
                if name in s.outputs:
                    return s.outputs[name]
            raise InvalidInput(f"the pipeline has no output {name!r}")
        return self.steps[step].outputs[name]

    def load(self, name: str, step: str | None = None):
        from .worker import load_ref

        return load_ref(self.ref(name, step), self.objects)

    def summary(self) -> str:
        lines = [f"pipeline {self.name}: {self.status} in {self.seconds:.2f} s"
                 + (f" (run {self.run_id[:8]})" if self.run_id else "")
                 + (f", resuming failed run {self.resumed_from[:8]}" if self.resumed_from else "")]
        for s in self.steps.values():
            mark = {"done": "✔", "cached": "↺", "failed": "✘", "skipped": "·"}[s.status]
            extra = "cached" if s.status == "cached" else f"{s.seconds:.2f} s" if s.status == "done" else s.status
            if s.status == "failed" and s.error:
                extra = f"failed: {error_line(s.error)}"
            elif s.status == "skipped" and s.error:
                extra = s.error.get("message", "skipped")
            lines.append(f"  {mark} {s.name:<24} {extra}")
        if self.metrics:
            lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in self.metrics.items()))
        for step, name, reason in self.pickled():
            lines.append(f"⚠ {step}.{name} is stored with pickle ({reason}): not a safe format")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"name": self.name, "package": self.package, "status": self.status, "params": self.params,
                "seconds": self.seconds, "cache_dir": self.cache_dir, "run_id": self.run_id,
                "metrics": self.metrics, "outputs": self.outputs, "resumed_from": self.resumed_from,
                "steps": {k: v.to_dict() for k, v in self.steps.items()},
                "pickled": [list(p) for p in self.pickled()]}


def error_line(error: dict) -> str:
    where = error.get("where")
    return f"{error.get('type')}: {error.get('message', '').splitlines()[0] if error.get('message') else ''}" + (
        f" ({where})" if where else "")


def merge_params(spec: dict, params: dict | None) -> dict:
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec["parameters"]))
    if unknown:
        known = ", ".join(spec["parameters"]) or "none"
        raise InvalidInput(f"unknown pipeline parameter {', '.join(unknown)} (parameters: {known})")
    return {**spec["parameters"], **params}


def step_key(package: Path, step: dict, params: dict, inputs: dict) -> str:
    from .codegen import code_digest

    code = (package / step["module"]).read_text(encoding="utf-8")
    payload = json.dumps({
        "format": FORMAT_VERSION, "code": code_digest(code),
        "params": {p: params[p] for p in step["params"]},
        "inputs": {n: ref["digest"] for n, ref in sorted(inputs.items())},
        "outputs": step["outputs"], "metrics": step["metrics"],
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }, sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()


def where_in_notebook(spec: dict, step: dict, module_line: int | None) -> dict:
    """The notebook cell and line of a line of a step module."""
    if not module_line:
        return {}
    best = None
    for gen, cell_index, cell_line in step.get("linemap", []):
        if gen == module_line:
            best = (cell_index, cell_line)
            break
    if best is None:
        return {}
    ids = {i: cid for cid, i in spec.get("cells", {}).items()}
    return {"cell": best[0] + 1, "cell_id": ids.get(best[0], ""), "line": best[1]}


class _Tracker:
    """Logs the pipeline run and one child run per step, in order, on a background thread
    (opening the store and writing runs never delays the steps); no-op when not tracking."""

    def __init__(self, client, own: bool, spec: dict, params: dict, experiment: str | None, package: Path,
                 tags: dict | None, resumed_from: str | None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.active = client is not None or own
        self.client = client
        self.own = own
        self.spec = spec
        self.experiment = experiment or spec["name"]
        self.run_id: str | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="modelops-pipeline-tracking") if self.active else None
        if self.active:
            self._opened = self._pool.submit(self._open, spec, params, package, tags, resumed_from)

    def _open(self, spec, params, package, tags, resumed_from) -> None:
        if self.client is None:
            from ..client import Client

            self.client = Client()
        run_tags = {"mo.source_type": "pipeline", "mo.pipeline": spec["name"], "mo.runner": "local",
                    "mo.notebook": spec.get("notebook", ""), "mo.notebook_code_hash": spec["notebook_code_hash"],
                    "mo.steps": str(len(spec["steps"]))}
        if resumed_from:
            run_tags["mo.resumed_from"] = resumed_from
        run_tags.update(tags or {})
        run = self.client.create_run(
            self.experiment, f"{spec['name']} pipeline", tags=run_tags, source=spec.get("notebook") or str(package),
            code_hash=spec["notebook_code_hash"],
            provenance={"pipeline": {"package": str(package), "steps": [s["name"] for s in spec["steps"]],
                                     "edges": spec["edges"]}})
        self.run_id = run.id
        if params:
            self.client.log_params(run.id, {k: _param_text(v) for k, v in params.items()})

    @property
    def home(self) -> str | None:
        if not self.active:
            return None
        self._opened.result()
        return str(self.client.config.home)

    def start_step(self, step: dict, status: str, key: str, inputs: dict):
        """A future of the step's child run id (None when not tracking)."""
        if not self.active:
            return None
        tags = {"mo.source_type": "pipeline-step", "mo.step": step["name"], "mo.cache": status,
                "mo.step_key": key, "mo.cells": ",".join(c["id"] for c in step["cells"])}

        def create() -> str:
            run = self.client.create_run(
                self.experiment, step["name"], parent_run_id=self.run_id, tags=tags, source=step["module"],
                code_hash=step["code_hash"],
                provenance={"cells": step["cells"], "inputs": {n: r["digest"] for n, r in inputs.items()}})
            return run.id

        return self._pool.submit(create)

    def finish_step(self, step: dict, result: StepResult, run_id, params: dict, objects: Path) -> None:
        if self.active and run_id is not None:
            self._pool.submit(self._finish_step, step, result, run_id, params, objects)

    def _finish_step(self, step: dict, result: StepResult, run_id, params: dict, objects: Path) -> None:
        c = self.client
        rid = result.run_id = run_id.result()
        if step["params"]:
            c.log_params(rid, {p: _param_text(params[p]) for p in step["params"]})
        metrics = dict(result.metrics)
        if result.status == "done":
            metrics["step_seconds"] = result.seconds
        if metrics:
            c.log_metrics(rid, metrics)
        if result.outputs:
            c.log_dict(rid, {n: {"digest": r["digest"], "size": r["size"], **r["info"]}
                             for n, r in result.outputs.items()}, "outputs.json")
        for fig in result.figures:
            c.log_bytes(rid, (objects / fig["digest"][:2] / fig["digest"]).read_bytes(),
                        f"figures/{fig['name']}", "image/png")
        if result.log and os.path.isfile(result.log) and os.path.getsize(result.log):
            c.log_bytes(rid, Path(result.log).read_bytes()[-1_000_000:], "step.log", "text/plain; charset=utf-8")
        if result.status == "failed":
            err = result.error or {}
            c.end_run(rid, "FAILED", error_type=err.get("type"), error_message=error_line(err))
        else:
            c.end_run(rid)

    def drain(self) -> None:
        """Wait for everything logged so far (re-raises a failed write)."""
        if self.active:
            self._pool.submit(lambda: None).result()
            self._opened.result()

    def finish(self, run: PipelineRun) -> None:
        if not self.active:
            return
        try:
            self._pool.submit(self._finish, run).result()
        finally:
            self._pool.shutdown()
            if self.own and self.client is not None:
                self.client.close()

    def _finish(self, run: PipelineRun) -> None:
        self._opened.result()
        run.run_id = self.run_id
        if run.metrics:
            self.client.log_metrics(self.run_id, run.metrics)
        self.client.set_tags(self.run_id, {"mo.cached_steps": str(sum(s.status == "cached" for s in run.steps.values()))})
        failed = run.failed
        if run.status == "FINISHED":
            self.client.end_run(self.run_id)
        elif failed is not None:
            self.client.end_run(self.run_id, run.status, error_type=(failed.error or {}).get("type", "StepFailed"),
                                error_message=f"step {failed.name} failed: {error_line(failed.error or {})}")
        else:
            self.client.end_run(self.run_id, run.status, error_type="Interrupted", error_message="interrupted")


def _param_text(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=repr)


_started_preload: tuple | None = None
_STEP_PROCESS = "modelops-step"


def _install_main_filter() -> None:
    """Step processes run a function of this package, never the parent's ``__main__``:
    skip multiprocessing's re-import of the main module in them (a Jupyter server, a
    kernel or a script read from stdin has a main that is slow or impossible to import)."""
    from multiprocessing import spawn

    if getattr(spawn.get_preparation_data, "_modelops", False):
        return
    original = spawn.get_preparation_data

    def get_preparation_data(name):
        data = original(name)
        if str(name).startswith(_STEP_PROCESS):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data._modelops = True
    spawn.get_preparation_data = get_preparation_data


from multiprocessing import context as _mpc  # stdlib, cheap


class StepProcess(_mpc.ForkServerProcess):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = f"{_STEP_PROCESS}-{self.name}"


class _StepContext(_mpc.ForkServerContext):
    Process = StepProcess


def _step_context():
    return _StepContext()


def _process_context(modules: list[str]):
    """A fork-server context whose server has imported ``modules``, started now (its
    imports overlap with the runner's own work)."""
    from multiprocessing import forkserver

    global _started_preload
    _install_main_filter()
    ctx = _step_context()
    if _started_preload is None:
        extra = ["skops.io"] if any(m.split(".")[0] == "sklearn" for m in modules) else []
        preload = list(dict.fromkeys([*ALWAYS_PRELOAD, *modules, *extra]))
        ctx.set_forkserver_preload(preload)
        old = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "Agg"
        try:
            forkserver.ensure_running()
        finally:
            if old is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = old
        _started_preload = tuple(preload)
    return ctx


def run_pipeline(package: str | Path, params: dict | None = None, *, client=None, track: bool = True,
                 experiment: str | None = None, workers: int | None = None, cache: bool = True,
                 cache_dir: str | Path | None = None, workdir: str | None = None,
                 progress: Callable[[str], None] | None = None, tags: dict | None = None,
                 before_end: Callable[[PipelineRun], None] | None = None) -> PipelineRun:
    """Run an exported pipeline package with the local runner; never raises for a failing
    step (see ``PipelineRun.ok`` / ``.failed``). ``before_end(run)`` is called while the
    pipeline run is still open (to log more to it)."""
    started = time.perf_counter()
    package = Path(package).resolve()
    spec = read_spec(package)
    params = merge_params(spec, params)
    cache_root = Path(cache_dir) if cache_dir else package / CACHE_DIR
    objects = cache_root / "objects"
    entries = cache_root / "steps"
    run_tag = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    logs = cache_root / "logs" / run_tag
    for d in (objects, entries, logs):
        d.mkdir(parents=True, exist_ok=True)
    workdir = workdir or spec.get("workdir") or str(package)
    steps = {s["name"]: s for s in spec["steps"]}
    results: dict[str, StepResult] = {}
    say = progress or (lambda _msg: None)
    last_state = _read_state(cache_root)
    resumed_from = last_state.get("run_id") if last_state.get("status") == "FAILED" else None

    def cached_entry(step: dict, inputs: dict) -> tuple[str, dict | None]:
        key = step_key(package, step, params, inputs)
        if not cache:
            return key, None
        path = entries / f"{key}.json"
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            return key, None
        refs = [*entry["outputs"].values(), *entry.get("figures", [])]
        if all((objects / r["digest"][:2] / r["digest"]).exists() for r in refs):
            return key, entry
        return key, None

    # Start the process server early when a first step must run (its imports take a while).
    roots = [s for s in spec["steps"] if not s["after"]]
    ctx = None
    if any(cached_entry(s, {})[1] is None for s in roots):
        ctx = _process_context(sorted({m for s in spec["steps"] for m in s["imports"]}))

    tracker = _Tracker(client if track else None, track and client is None, spec, params, experiment, package,
                       tags, resumed_from)
    needs_home = any(s.get("uses_modelops") for s in spec["steps"])
    home = tracker.home if needs_home else None

    pool: ProcessPoolExecutor | None = None
    running: dict = {}
    pending = [s["name"] for s in spec["steps"]]
    status = "FINISHED"
    try:
        while pending or running:
            progressed = False
            for name in list(pending):
                step = steps[name]
                deps = [results.get(a) for a in step["after"]]
                if any(d is not None and not d.ok for d in deps):
                    bad = next(a for a in step["after"] if results.get(a) is not None and not results[a].ok)
                    results[name] = StepResult(name, "skipped", error={"message": f"not run: `{bad}` failed"})
                    pending.remove(name)
                    progressed = True
                    say(f"  · {name:<24} not run: `{bad}` failed")
                    continue
                if any(d is None for d in deps):
                    continue
                inputs = {n: results[p].outputs[n] for n, p in step["inputs"].items()}
                key, entry = cached_entry(step, inputs)
                pending.remove(name)
                progressed = True
                if entry is not None:
                    res = StepResult(name, "cached", outputs=entry["outputs"], metrics=entry.get("metrics", {}),
                                     figures=entry.get("figures", []), key=key, log=entry.get("log"))
                    tracker.finish_step(step, res, tracker.start_step(step, "hit", key, inputs), params, objects)
                    results[name] = res
                    say(f"  ↺ {name:<24} cached")
                    continue
                if pool is None:
                    ctx = ctx or _process_context(sorted({m for s in spec["steps"] for m in s["imports"]}))
                    pool = ProcessPoolExecutor(max_workers=workers or min(len(steps), os.cpu_count() or 1),
                                               mp_context=ctx, max_tasks_per_child=1)
                run_future = tracker.start_step(step, "miss", key, inputs)
                run_id = run_future.result() if (run_future is not None and step.get("uses_modelops")) else None
                log = str(logs / f"{name}.log")
                job = {"step": name, "module": str(package / step["module"]), "objects": str(objects),
                       "inputs": inputs, "params": {p: params[p] for p in step["params"]},
                       "outputs": step["outputs"], "metrics": step["metrics"], "workdir": workdir, "log": log,
                       "run_id": run_id, "home": home, "uses_modelops": step.get("uses_modelops", False)}
                from .worker import execute

                fut = pool.submit(execute, job)
                running[fut] = (name, key, run_future, log, time.perf_counter())
                say(f"  … {name}")
            if progressed and not running:
                continue
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                name, key, run_future, log, t0 = running.pop(fut)
                step = steps[name]
                try:
                    out = fut.result()
                except Exception as exc:  # noqa: BLE001 - the process died (killed, out of memory)
                    out = {"ok": False, "seconds": time.perf_counter() - t0,
                           "error": {"type": type(exc).__name__, "message": f"the step's process died: {exc}"}}
                if out["ok"]:
                    res = StepResult(name, "done", out["seconds"], out["outputs"], out["metrics"], out["figures"],
                                     log=log, key=key)
                    (entries / f"{key}.json").write_text(json.dumps({
                        "step": name, "outputs": res.outputs, "metrics": res.metrics, "figures": res.figures,
                        "log": log, "seconds": res.seconds}))
                    say(f"  ✔ {name:<24} {res.seconds:.2f} s")
                else:
                    err = dict(out["error"])
                    loc = where_in_notebook(spec, step, err.get("module_line"))
                    if loc:
                        err.update(loc)
                        err["where"] = f"cell {loc['cell']} ({loc['cell_id'][:8]}), line {loc['line']}"
                    res = StepResult(name, "failed", out["seconds"], error=err, log=log, key=key)
                    say(f"  ✘ {name:<24} {error_line(err)}")
                results[name] = res
                tracker.finish_step(step, res, run_future, params, objects)
        if any(not r.ok for r in results.values()):
            status = "FAILED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=status != "KILLED", cancel_futures=True)
        metrics = {m: results[s].metrics[m] for m, s in spec["metrics"].items()
                   if s in results and m in results[s].metrics}
        outputs = {n: results[s].outputs[n] for n, s in spec["outputs"].items()
                   if s in results and n in results[s].outputs}
        ordered = {s["name"]: results[s["name"]] for s in spec["steps"] if s["name"] in results}
        run = PipelineRun(spec["name"], str(package), status, params, ordered, time.perf_counter() - started,
                          str(cache_root), tracker.run_id, metrics, outputs, resumed_from)
        hook_error = None
        if before_end is not None and status != "KILLED":
            try:
                tracker.drain()
                run.run_id = tracker.run_id
                before_end(run)
            except Exception as exc:  # noqa: BLE001 - re-raised once the run is closed
                hook_error = exc
        try:
            tracker.finish(run)
        finally:
            _write_state(cache_root, run)
    if hook_error is not None:
        raise hook_error
    return run


def _read_state(cache_root: Path) -> dict:
    try:
        return json.loads((cache_root / "last_run.json").read_text())
    except (OSError, ValueError):
        return {}


def _write_state(cache_root: Path, run: PipelineRun) -> None:
    failed = run.failed
    (cache_root / "last_run.json").write_text(json.dumps({
        "run_id": run.run_id, "status": run.status, "failed_step": failed.name if failed else None,
        "at": time.time()}))
