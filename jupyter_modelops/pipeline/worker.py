"""What runs inside a step's process: load the inputs, call the step, store the outputs.

The local runner sends a job (plain data) to a fresh process per step; this module is
preloaded in the runner's fork server, so a step process starts with it imported. The
step's standard output and error (Python's and the C libraries') go to the step's log
file. Errors come back as data (type, message, traceback, the line in the step module),
never as exceptions, so an unpicklable exception cannot hide what went wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import sys
import time
import traceback
from pathlib import Path

from .codec import load_value, save_value


def object_path(objects: str | Path, digest: str) -> Path:
    return Path(objects) / digest[:2] / digest


def store_value(value, objects: str | Path) -> dict:
    """Save ``value`` into the content-addressed object folder; returns its reference."""
    objects = Path(objects)
    objects.mkdir(parents=True, exist_ok=True)
    tmp = objects / f".tmp-{os.getpid()}-{time.monotonic_ns()}"
    try:
        info = save_value(value, tmp)
        digest, size = _hash_file(tmp)
        final = object_path(objects, digest)
        final.parent.mkdir(exist_ok=True)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"digest": digest, "size": size, "info": info}


def store_bytes(data: bytes, objects: str | Path) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    final = object_path(objects, digest)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".tmp-{os.getpid()}-{digest}")
        tmp.write_bytes(data)
        os.replace(tmp, final)
    return {"digest": digest, "size": len(data)}


def load_ref(ref: dict, objects: str | Path):
    return load_value(object_path(objects, ref["digest"]), ref["info"])


def _hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def import_step(module_file: str | Path, step: str):
    """The step module, imported from its file (its classes and functions are pickled by value)."""
    name = f"modelops_step_{step}"
    spec = importlib.util.spec_from_file_location(name, module_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    try:
        import cloudpickle

        cloudpickle.register_pickle_by_value(module)
    except Exception:  # noqa: BLE001 - only matters for pickled outputs
        pass
    return module


def _figures(objects) -> list[dict]:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    out = []
    for i, num in enumerate(plt.get_fignums(), start=1):
        fig = plt.figure(num)
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        except Exception:  # noqa: BLE001 - a figure that cannot render is not a step failure
            continue
        ref = store_bytes(buf.getvalue(), objects)
        ref["name"] = f"figure_{i}.png"
        out.append(ref)
    plt.close("all")
    return out


def _module_line(exc: BaseException, module_file: str) -> int | None:
    line = None
    target = os.path.realpath(module_file)
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            line = frame.lineno
    return line


def _user_traceback(exc: BaseException, module_file: str) -> str:
    """The traceback from the step module down, without the runner's frames."""
    tb = exc.__traceback__
    target = os.path.realpath(module_file)
    while tb is not None and os.path.realpath(tb.tb_frame.f_code.co_filename) != target:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))[-8000:]


def _use_agg() -> None:
    if "matplotlib" in sys.modules:
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
        except Exception:  # noqa: BLE001
            pass
    else:
        os.environ["MPLBACKEND"] = "Agg"


class _Redirect:
    """Send file descriptors 1 and 2 (and sys.stdout/err) to the step's log file."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.saved: list[int] = []

    def __enter__(self):
        if not self.path:
            return self
        sys.stdout.flush()
        sys.stderr.flush()
        self.fh = open(self.path, "w", encoding="utf-8", errors="replace", buffering=1)
        for fd in (1, 2):
            self.saved.append(os.dup(fd))
            os.dup2(self.fh.fileno(), fd)
        self.old = (sys.stdout, sys.stderr)
        sys.stdout = sys.stderr = self.fh
        return self

    def __exit__(self, *exc) -> None:
        if not self.path:
            return
        try:
            sys.stdout.flush()
        finally:
            sys.stdout, sys.stderr = self.old
            for fd, saved in zip((1, 2), self.saved):
                os.dup2(saved, fd)
                os.close(saved)
            self.fh.close()


def execute(job: dict) -> dict:
    """Run one step. ``job``: step, module, objects, inputs ({name: ref}), params, outputs,
    metrics, workdir, log, run_id, home, uses_modelops."""
    started = time.perf_counter()
    _use_agg()
    if job.get("workdir") and os.path.isdir(job["workdir"]):
        os.chdir(job["workdir"])
        if job["workdir"] not in sys.path:
            sys.path.insert(0, job["workdir"])  # the notebook's folder, as in its kernel
    with _Redirect(job.get("log")):
        try:
            module = import_step(job["module"], job["step"])
            inputs = {name: load_ref(ref, job["objects"]) for name, ref in job["inputs"].items()}
            active = _activate_run(job)
            t = time.perf_counter()
            try:
                result = module.run(**inputs, **job["params"])
            finally:
                if active is not None:
                    _deactivate_run(active)
            compute = time.perf_counter() - t
            if not isinstance(result, dict):
                raise TypeError(f"run() of step {job['step']} returned a {type(result).__name__}, not a dict")
            missing = [n for n in job["outputs"] if n not in result]
            if missing:
                raise NameError(f"step {job['step']} did not define {', '.join(missing)}")
            metrics, bad = {}, []
            for name in job.get("metrics", ()):
                try:
                    metrics[name] = float(result[name])
                except (TypeError, ValueError):
                    bad.append(f"{name} ({type(result[name]).__name__})")
            if bad:
                raise TypeError("pipeline metrics must be numbers: " + ", ".join(bad))
            outputs = {name: store_value(result[name], job["objects"]) for name in job["outputs"]}
            figures = _figures(job["objects"])
            return {"ok": True, "outputs": outputs, "metrics": metrics, "figures": figures,
                    "compute_seconds": compute, "seconds": time.perf_counter() - started}
        except BaseException as exc:  # noqa: BLE001 - reported as data
            return {"ok": False, "seconds": time.perf_counter() - started, "error": {
                "type": type(exc).__name__, "message": str(exc)[:2000],
                "traceback": _user_traceback(exc, job["module"]),
                "module_line": _module_line(exc, job["module"]),
            }}


def _activate_run(job: dict):
    """A step that logs with ``mo.*`` logs to its own child run (created by the runner)."""
    if not (job.get("uses_modelops") and job.get("run_id")):
        return None
    if job.get("home"):
        os.environ["JUPYTER_MODELOPS_HOME"] = job["home"]
    from .. import fluent

    return fluent.start_run(run_id=job["run_id"])


def _deactivate_run(active) -> None:
    from .. import fluent

    try:
        active.client.flush()
    finally:
        fluent._forget(active)
