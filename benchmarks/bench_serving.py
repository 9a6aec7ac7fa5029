"""The local model server against ``mlflow models serve``, same model, same load.

Both servers serve the same scikit-learn pipeline (StandardScaler + LogisticRegression on
the first 8 columns of scikit-learn's breast-cancer data, same hyperparameters) on
loopback; one load generator (``jupyter_modelops.deploy.loadgen``: raw asyncio sockets,
keep-alive) sends MLflow-format ``POST /invocations`` requests (``dataframe_split``) at
concurrency 8, bounded by a request count and a time limit, and reports req/s, p50 and
p99 for 1-row and 100-row requests.

This server runs as the ``local`` deployment target starts it (a supervised
``serve-model`` process, default settings: 10 % of requests sampled into the prediction
log and shipped to the store). MLflow (latest 3.x) is installed into its own virtual
environment, ``benchmarks/.venv-mlflow`` (gitignored), on first use, and serves with its
defaults (``--env-manager local``).

    .venv/bin/python benchmarks/bench_serving.py
    .venv/bin/python benchmarks/bench_serving.py --requests 2000 --seconds 10

Targets: ≥ 5× MLflow's req/s for 1-row requests, p99 ≤ 20 ms. Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import mlflow_env  # noqa: E402
from sample_model import TRAIN, train  # noqa: E402

VENV = mlflow_env.VENV
RATIO_TARGET = 5.0
P99_TARGET_MS = 20.0
CONCURRENCY = 8

def ensure_mlflow() -> Path:
    """The side venv's interpreter, with the newest installable MLflow 3.x."""
    return mlflow_env.ensure()[0]


def mlflow_version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True,
                          text=True, check=True).stdout.strip()


def start_mlflow(python: Path, work: Path, port: int) -> subprocess.Popen:
    model_dir = work / "mlflow-model"
    code = TRAIN + textwrap.dedent(f"""
        import mlflow.sklearn
        mlflow.sklearn.save_model(model, {str(model_dir)!r}, input_example=X.head(3))
    """)
    subprocess.run([str(python), "-c", code], check=True, cwd=work, capture_output=True,
                   env={**os.environ, **mlflow_env.QUIET_ENV})
    env = {**os.environ, **mlflow_env.QUIET_ENV, "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db",
           "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    log = open(work / "mlflow-serve.log", "wb")
    return subprocess.Popen([str(VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager",
                             "local", "-h", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=work, start_new_session=True)


def start_modelops(work: Path):
    """Train, register, request, approve (a second person) and deploy ``local``."""
    from jupyter_modelops.client import Client

    model, X, y = train()
    home = str(work / "modelops")
    alice, bob = Client(home=home, user="alice"), Client(home=home, user="bob")
    alice.register_model(model, "cancer", input_example=X.head(3))
    alice.set_model_info("cancer", purpose="serving benchmark", risk_tier="low")
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(X, y))
    bob.approve_request(req.id)
    dep = alice.deploy("cancer", 1, target="local")
    bob.close()
    return alice, dep, X


def wait_http(url: str, timeout: float = 120.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def measure(port: int, X, rows: int, total: int, seconds: float):
    from jupyter_modelops.deploy import loadgen

    cols = list(X.columns)
    values = X.values.tolist()
    reqs = []
    for i in range(0, len(values) - rows + 1, max(rows, 1)):
        body = {"dataframe_split": {"columns": cols, "data": values[i:i + rows]}}
        reqs.append(loadgen.json_request("/invocations", "127.0.0.1", body))
        if len(reqs) >= 200:
            break
    return loadgen.run("127.0.0.1", port, reqs, concurrency=CONCURRENCY, total=total, duration=seconds,
                       warmup=min(200, total // 10))


def serve_both(python: Path, row_counts=(1, 100), requests: int = 3000, seconds: float = 15.0) -> dict:
    """Start both servers on the same model, load each in turn with the same requests:
    ``{("ours" | "mlflow", rows): LoadResult}``. Both servers are stopped on return."""
    from jupyter_modelops.deploy.targets.local import free_port, stop_pid

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        mlflow_port = free_port()
        mlflow_proc = start_mlflow(python, work, mlflow_port)
        alice = dep = None
        try:
            alice, dep, X = start_modelops(work)
            wait_http(f"http://127.0.0.1:{mlflow_port}/ping")
            for rows in row_counts:
                results[("ours", rows)] = measure(dep.port, X, rows, requests, seconds)
                results[("mlflow", rows)] = measure(mlflow_port, X, rows, requests, seconds)
        finally:
            if dep is not None:
                alice.stop_deployment(dep)
                alice.close()
            stop_pid(mlflow_proc.pid, 15)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000, help="requests per measurement (cap)")
    ap.add_argument("--seconds", type=float, default=15.0, help="time limit per measurement")
    args = ap.parse_args()

    python = ensure_mlflow()
    both = serve_both(python, (1, 100), args.requests, args.seconds)
    name = "mlflow " + mlflow_version(python)
    results = {(name if side == "mlflow" else "jupyter-modelops", rows): r for (side, rows), r in both.items()}
    print(f"\nPOST /invocations (dataframe_split), concurrency {CONCURRENCY}, loopback, {os.cpu_count()} cores")
    print(f"{'server':<22} {'rows':>5} {'requests':>9} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}  statuses")
    for (name, rows), r in results.items():
        print(f"{name:<22} {rows:>5} {r.requests:>9} {r.rps:>9.0f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f}  "
              f"{dict(r.statuses)}")
    ok = True
    for rows in (1, 100):
        ours = results[("jupyter-modelops", rows)]
        theirs = next(r for (n, k), r in results.items() if k == rows and n.startswith("mlflow"))
        ratio = ours.rps / theirs.rps if theirs.rps else float("inf")
        print(f"{rows}-row requests: {ratio:.1f}x MLflow's req/s; p99 {ours.p99_ms:.1f} ms vs {theirs.p99_ms:.1f} ms")
        bad = [s for s in ours.statuses if s != 200]
        if bad or ours.failures:
            print(f"  FAIL: non-200 answers or connection failures: {ours.statuses}, {ours.failures}")
            ok = False
        if rows == 1:
            if ratio < RATIO_TARGET:
                print(f"  FAIL: target ≥ {RATIO_TARGET:.0f}x")
                ok = False
            if ours.p99_ms > P99_TARGET_MS:
                print(f"  FAIL: target p99 ≤ {P99_TARGET_MS:.0f} ms")
                ok = False
    print(json.dumps({f"{n}/{k}": {"rps": round(r.rps, 1), "p50_ms": round(r.p50_ms, 2), "p99_ms": round(r.p99_ms, 2)}
                      for (n, k), r in results.items()}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
