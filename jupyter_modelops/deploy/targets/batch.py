"""``batch``: score a file (CSV or Parquet) or an uploaded DataFrame into an output file,
recorded as a run.

The run (experiment ``batch-scoring`` unless configured) holds the model and version as
params, the input as a dataset (``context="scoring"``, with its digest and profile), the
row count and throughput as metrics, and the predictions as an artifact (up to
``artifact_limit`` bytes), so a scoring job is as traceable as a training run. A sample
of the scored rows goes to the prediction log, so batch inputs can be checked for drift
like served ones.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from ...errors import InvalidInput, ModelOpsError
from . import check_keys

CONFIG = {
    "input": (dict, None),
    "output": (str, None),
    "format": (str, None),
    "experiment": (str, "batch-scoring"),
    "prediction_column": (str, "prediction"),
    "chunk_rows": (int, 100_000),
    "trusted": ((bool, list), False),
    "log_sample": (int, 1000),
    "artifact_limit": (int, 64 << 20),
}
FORMATS = ("parquet", "csv")


def _format(path: str, given: str | None) -> str:
    if given:
        return given
    low = path.lower()
    if low.endswith((".csv", ".csv.gz")):
        return "csv"
    return "parquet"


def read_input(store, spec: dict):
    import pandas as pd

    if "path" in spec:
        path = Path(str(spec["path"])).expanduser()
        if not path.is_file():
            raise InvalidInput(f"no input file {path} on the machine that scores (the store's host)")
        fmt = spec.get("format") or _format(str(path), None)
        try:
            return (pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)), str(path)
        except Exception as exc:  # noqa: BLE001
            from ...registry.flavors import one_line

            raise InvalidInput(f"cannot read {path} as {fmt}: {one_line(exc)}") from None
    from ...governance.validation import check_spec, read_data

    spec = check_spec(spec)
    source = f"runs:/{spec['run_id']}/{spec['artifact']}" if "run_id" in spec else f"blob {spec['digest'][:12]}"
    return read_data(store, spec), source


class BatchTarget:
    name = "batch"
    serving = False
    monitored = True

    def check_config(self, config: dict) -> dict:
        cfg = check_keys(config, CONFIG, self.name)
        spec = cfg["input"]
        if not spec:
            raise InvalidInput("the batch target needs input=: a DataFrame, a CSV/Parquet path or runs:/<id>/<file>")
        if "path" in spec:
            if set(spec) - {"path", "format"} or not isinstance(spec["path"], str) or not spec["path"]:
                raise InvalidInput("input {'path': ...} takes a file path (and optionally format)")
        else:
            from ...governance.validation import check_spec

            cfg["input"] = check_spec(spec)
        for key in ("format",):
            if cfg[key] is not None and cfg[key] not in FORMATS:
                raise InvalidInput(f"format must be {' or '.join(FORMATS)}")
        if cfg["output"] is not None and not cfg["output"].strip():
            raise InvalidInput("output must be a file path")
        if not 1 <= cfg["chunk_rows"] <= 10_000_000 or not 0 <= cfg["log_sample"] <= 100_000:
            raise InvalidInput("chunk_rows must be from 1 to 10000000 and log_sample from 0 to 100000")
        return cfg

    def start(self, store, dep) -> dict:
        import numpy as np
        import pandas as pd

        from ... import services
        from ...ids import now_ms
        from ...tracking.datasets import describe
        from ..server import StoreCaller, load_from_store
        from .local import deployment_dir

        cfg = dep.config
        call = StoreCaller(store)._call
        frame, source = read_input(store, cfg["input"])
        out_path = cfg["output"] or str(deployment_dir(store, dep.id) / "predictions.parquet")
        fmt = _format(out_path, cfg["format"])
        run = services.call(store, "create_run", experiment=cfg["experiment"],
                            name=f"batch {dep.model_name} v{dep.version}",
                            tags={"modelops.deployment": dep.id, "modelops.target": "batch"},
                            source=f"jupyter-modelops batch deployment {dep.id}", user=store.user, host=store.host,
                            pid=os.getpid())
        started = time.perf_counter()
        try:
            call("log_params", run_id=run.id, params={"model": dep.model_name, "version": dep.version,
                                                     "input": source[:400], "output": out_path[:400]})
            info = describe(frame)
            call("log_dataset", run_id=run.id, name=Path(source).name[:200] or "input", context="scoring",
                 source=source[:1000], **info)
            loaded = load_from_store(store, dep.model_name, dep.version, None, cfg["trusted"])
            preds = []
            step = int(cfg["chunk_rows"])
            for lo in range(0, len(frame), step):
                out = loaded.predict(frame.iloc[lo:lo + step])
                preds.append(np.asarray(out))
            pred = np.concatenate(preds) if preds else np.asarray([])
            result = frame.copy()
            col = cfg["prediction_column"]
            if pred.ndim == 1:
                result[col] = pred
            else:
                for j in range(pred.shape[1]):
                    result[f"{col}_{j}"] = pred[:, j]
            buf = io.BytesIO()
            if fmt == "csv":
                result.to_csv(buf, index=False)
            else:
                result.to_parquet(buf, index=False)
            data = buf.getvalue()
            Path(out_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            Path(out_path).expanduser().write_bytes(data)
            seconds = time.perf_counter() - started
            now = now_ms()
            call("log_metric_points", points=[(run.id, "rows", 0, now, float(len(frame))),
                                              (run.id, "seconds", 0, now, float(seconds)),
                                              (run.id, "rows_per_second", 0, now,
                                               float(len(frame) / seconds) if seconds else 0.0)])
            artifact = None
            if len(data) <= cfg["artifact_limit"]:
                artifact = f"predictions.{fmt}"
                services.call(store, "put_artifact", run_id=run.id, name=artifact, data=data)
            self._log_sample(store, dep, frame, pred, cfg["log_sample"], now)
        except BaseException as exc:
            msg = exc.message if isinstance(exc, ModelOpsError) else f"{type(exc).__name__}: {exc}"
            call("end_run", run_id=run.id, status="FAILED", error_type=type(exc).__name__, error_message=msg[:2000])
            raise
        call("end_run", run_id=run.id, status="FINISHED")
        return {"status": "SUCCEEDED", "endpoint": str(out_path), "started_at": now, "stopped_at": now_ms(),
                "details": {**dep.details, "run_id": run.id, "rows": int(len(frame)), "output": str(out_path),
                            "format": fmt, "artifact": artifact, "input": source,
                            "seconds": round(seconds, 3)}}

    def _log_sample(self, store, dep, frame, pred, n: int, at: int) -> None:
        if n <= 0 or not len(frame):
            return
        from ... import services

        import numpy as np

        pos = np.sort(np.random.default_rng(0).choice(len(frame), size=min(n, len(frame)), replace=False))
        rows = []
        values = pred.tolist()
        for i, rec in zip(pos.tolist(), frame.iloc[pos].to_dict("records")):
            rows.append([f"{dep.id[:8]}-batch:{i}", at, dep.version,
                         {str(k): (None if v != v else v) if isinstance(v, float) else v for k, v in rec.items()},
                         values[i] if i < len(values) else None, None, 200])
        services.call(store, "log_predictions", deployment_id=dep.id, rows=rows)

    def stop(self, store, row) -> None:
        return None
