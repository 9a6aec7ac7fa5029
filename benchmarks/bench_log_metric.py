"""Cost of logging metrics: ``mo.log_metric`` one point at a time, and ``log_batch``.

    python benchmarks/bench_log_metric.py              # 100k points, median of 3
    python benchmarks/bench_log_metric.py -n 1000000 -r 5

Each repeat uses a fresh temporary SQLite store and one run; the clock covers every
``log_metric`` call *and* the final ``mo.flush()`` that makes the points durable, so the
figure is the amortised cost per point including the background writer. Target: <= 10 us
per ``mo.log_metric`` call.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time

TARGET_US = 10.0


def bench_fluent(n: int) -> float:
    import jupyter_modelops as mo

    with tempfile.TemporaryDirectory(prefix="mo-bench-") as home:
        mo.configure(home=home)
        run = mo.start_run(experiment="bench")
        mo.log_metric("warmup", 0.0)
        mo.flush()
        log = mo.log_metric
        gc.collect()
        t0 = time.perf_counter()
        for i in range(n):
            log("loss", 1.0 / (i + 1))
        mo.flush()
        elapsed = time.perf_counter() - t0
        count = len(mo.get_client().get_metric_history(run.id, "loss"))
        mo.end_run()
        mo.get_client().close()
        mo.set_client(None)
    assert count == n, f"expected {n} stored points, found {count}"
    return elapsed


def bench_batch(n: int, chunk: int) -> float:
    from jupyter_modelops.client import Client

    with tempfile.TemporaryDirectory(prefix="mo-bench-") as home:
        client = Client(home=home)
        run = client.create_run("bench")
        points = [("loss", 1.0 / (i + 1), i) for i in range(n)]
        gc.collect()
        t0 = time.perf_counter()
        for i in range(0, n, chunk):
            client.log_batch(run.id, points[i:i + chunk])
        client.flush()
        elapsed = time.perf_counter() - t0
        count = len(client.get_metric_history(run.id, "loss"))
        client.end_run(run.id)
        client.close()
    assert count == n, f"expected {n} stored points, found {count}"
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--points", type=int, default=100_000)
    ap.add_argument("-r", "--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=1000, help="points per log_batch call")
    args = ap.parse_args()
    n = args.points
    os.environ.pop("JUPYTER_MODELOPS_DB", None)
    os.environ.pop("JUPYTER_MODELOPS_ARTIFACTS", None)

    fluent = [bench_fluent(n) for _ in range(args.repeat)]
    med = statistics.median(fluent)
    us = med / n * 1e6
    print(f"mo.log_metric x {n:,} (+ final mo.flush): median {med:.3f} s over {args.repeat} repeats")
    print(f"  {us:.2f} us/call amortised, {n / med:,.0f} points/s "
          f"(runs: {', '.join(f'{t:.3f}' for t in fluent)} s)")
    print(f"  target <= {TARGET_US:.0f} us/call: {'OK' if us <= TARGET_US else 'MISSED'}")

    batch = [bench_batch(n, args.chunk) for _ in range(args.repeat)]
    bmed = statistics.median(batch)
    print(f"client.log_batch x {n // args.chunk:,} calls of {args.chunk} points (+ flush): "
          f"median {bmed:.3f} s")
    print(f"  {bmed / n * 1e6:.2f} us/point, {n / bmed:,.0f} points/s")
    return 0 if us <= TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
