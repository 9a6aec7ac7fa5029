"""MLflow's side of the side-by-side benchmark; runs in ``benchmarks/.venv-mlflow``.

    .venv-mlflow/bin/python benchmarks/mlflow_worker.py TASK '{"n": 10000, ...}'

``compare_mlflow.py`` starts one fresh process per task, in a temporary folder, with
``MLFLOW_TRACKING_URI`` pointing at a SQLite file there (MLflow 3's default local
backend). The task prints one JSON object as the last line of stdout. Every task checks
that MLflow stored what it was given, so a lossy fast path cannot win. Only the standard
library and MLflow's own dependencies are imported, plus the dependency-free
``search_data``, ``benchstats`` and ``sample_model`` modules next to this file.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchstats import summary_ms  # noqa: E402


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def task_log_metric(n: int, repeat: int, synchronous: bool) -> dict:
    """``mlflow.log_metric`` ``n`` times in one run; with ``synchronous=False`` the clock
    also covers ``mlflow.flush_async_logging()``, which makes the points durable."""
    import mlflow

    mlflow.set_experiment("bench")
    client = _client()
    times = []
    for _ in range(repeat):
        with mlflow.start_run() as run:
            mlflow.log_metric("warmup", 0.0, synchronous=synchronous)
            mlflow.flush_async_logging()
            log = mlflow.log_metric
            gc.collect()
            t0 = time.perf_counter()
            for i in range(n):
                log("loss", 1.0 / (i + 1), step=i, synchronous=synchronous)
            if not synchronous:
                mlflow.flush_async_logging()
            times.append(time.perf_counter() - t0)
        stored = len(client.get_metric_history(run.info.run_id, "loss"))
        if stored != n:
            raise SystemExit(f"expected {n} stored points, found {stored}")
    return {"n": n, "seconds": times, "us_per_call": statistics.median(times) / n * 1e6}


def task_log_batch(n: int, chunk: int, repeat: int) -> dict:
    """``MlflowClient.log_batch`` with ``chunk`` metrics per call (MLflow accepts at most
    1000 per batch) until ``n`` points are stored."""
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_experiment("bench")
    client = _client()
    times = []
    for _ in range(repeat):
        with mlflow.start_run() as run:
            rid = run.info.run_id
            now = int(time.time() * 1000)
            points = [Metric("loss", 1.0 / (i + 1), now, i) for i in range(n)]
            gc.collect()
            t0 = time.perf_counter()
            for lo in range(0, n, chunk):
                client.log_batch(rid, metrics=points[lo:lo + chunk])
            times.append(time.perf_counter() - t0)
        stored = len(client.get_metric_history(rid, "loss"))
        if stored != n:
            raise SystemExit(f"expected {n} stored points, found {stored}")
    return {"n": n, "chunk": chunk, "seconds": times, "us_per_point": statistics.median(times) / n * 1e6}


def _record_run(client, exp_ids: dict, row) -> None:
    """One run as a user's script records it: create (with tags), one log_batch for its
    params and latest metrics, then end it with its final status."""
    from mlflow.entities import Metric, Param

    run = client.create_run(exp_ids[row.experiment], start_time=row.start_ms, tags=row.tags, run_name=row.name)
    rid = run.info.run_id
    metrics = [Metric(k, math.nan if v is None else v, row.start_ms, 10) for k, v in row.metrics.items()]
    client.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in row.params.items()])
    if row.status != "RUNNING":
        client.set_terminated(rid, status=row.status, end_time=row.end_ms)


def task_search(budget_s: float, max_runs: int, limit: int) -> dict:
    """Record as many runs as ``budget_s`` allows (at most ``max_runs``), report, then
    answer query rounds sent on stdin: each line ``{"repeat": k}`` times the comparison
    query (``search_data.COMPARE_FILTER`` / ``COMPARE_ORDER``, top ``limit``) k times and
    prints the samples. The driver interleaves these rounds with its own, so a burst of
    background load hits both tools alike. Ends at end of input."""
    import search_data

    client = _client()
    exp_ids = {name: client.create_experiment(name) for name in search_data.EXPERIMENTS}
    t0 = time.perf_counter()
    n = 0
    while n < max_runs and time.perf_counter() - t0 < budget_s:
        _record_run(client, exp_ids, search_data.run_row(n))
        n += 1
    build_s = time.perf_counter() - t0
    ids = list(exp_ids.values())

    def query():
        return client.search_runs(ids, search_data.COMPARE_FILTER, order_by=search_data.COMPARE_ORDER,
                                  max_results=limit)

    page = query()  # warm caches, as our side does
    _emit({"runs": n, "build_s": build_s, "runs_per_s": n / build_s,
           "top": [r.data.metrics["accuracy"] for r in page],
           "loaded_params": min((len(r.data.params) for r in page), default=0)})
    for line in sys.stdin:
        samples = []
        for _ in range(json.loads(line)["repeat"]):
            t = time.perf_counter()
            query()
            samples.append(time.perf_counter() - t)
        _emit({"samples": samples})
    return {"runs": n}


def task_registry(repeat: int) -> dict:
    """Log + register the sample model, then load it back and predict, ``repeat`` times
    after one warm-up round (the first round pays MLflow's one-off imports)."""
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from sample_model import train

    model, X, _y = train()
    expected = model.predict(X).tolist()
    mlflow.set_experiment("bench")
    register, load = [], []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name="cancer",
                                            input_example=X.head(3))
        t1 = time.perf_counter()
        loaded = mlflow.pyfunc.load_model(f"models:/cancer/{info.registered_model_version}")
        got = list(loaded.predict(X))
        t2 = time.perf_counter()
        if got != expected:
            raise SystemExit("the loaded model predicts differently")
        if i:
            register.append(t1 - t0)
            load.append(t2 - t1)
    return {"register": summary_ms(register), "load": summary_ms(load), "versions": repeat + 1}


def _emit(obj: dict) -> None:
    sys.stdout.write("\n" + json.dumps(obj) + "\n")
    sys.stdout.flush()


TASKS = {"log_metric": task_log_metric, "log_batch": task_log_batch, "search": task_search,
         "registry": task_registry}


def main(argv: list[str]) -> int:
    task, kwargs = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    import mlflow

    result = TASKS[task](**kwargs)
    result["mlflow_version"] = mlflow.__version__
    result["tracking_uri"] = mlflow.get_tracking_uri()
    _emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
