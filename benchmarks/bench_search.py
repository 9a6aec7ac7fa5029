"""Benchmark run search on a large SQLite store.

Builds a temporary store with N runs (default 100,000), each with 10 params, 10 latest
metrics and 2 tags, inserted with bulk ``executemany`` straight through the store's
database (the service functions would take minutes), then times realistic filtered and
ordered top-100 searches end to end (query + loading the page's params/metrics/tags)
and prints p50/p95 per query. The target is p95 <= 50 ms at 100k runs.

    .venv/bin/python benchmarks/bench_search.py [--runs 100000] [--repeat 30] [--explain]
                                                [--store DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchstats import percentile  # noqa: E402,F401  (re-exported for older callers)
import search_data  # noqa: E402
from search_data import METRICS, METRIC_STEP, PARAMS, run_row  # noqa: E402,F401

from jupyter_modelops.ids import new_id  # noqa: E402
from jupyter_modelops.store.store import Store  # noqa: E402
from jupyter_modelops.tracking.runs import get_or_create_experiment  # noqa: E402
from jupyter_modelops.tracking.search import count_runs, explain, search_runs  # noqa: E402

QUERIES = [
    ("metric>x and param=v, by metric desc",
     "metrics.accuracy > 0.9 and params.C = '1.0'", ["metrics.accuracy DESC"]),
    ("newest runs (no filter)", None, None),
    ("param and status, by other metric",
     "params.model = 'rf' and status = 'FINISHED'", ["metrics.f1 DESC"]),
    ("metric or metric, by metric asc",
     "metrics.loss < 0.05 or metrics.auc > 0.995", ["metrics.loss ASC"]),
    ("tag, param in, metric, by start_time",
     "tags.team = 'vision' and params.penalty in ('l1', 'l2') and metrics.accuracy >= 0.95",
     ["start_time DESC"]),
    ("param like, by metric", "params.solver like 'lib%'", ["metrics.accuracy DESC"]),
    ("not / is null", "not metrics.accuracy > 0.55 and metrics.f1 is not null", ["metrics.f1"]),
    ("selective param, newest first", "params.seed = '4242'", None),
    ("attribute range, by param (5 values)",
     "start_time > 0 and duration < 100 and params.model != 'svm'", ["params.C DESC"]),
    ("all runs by metric", None, ["metrics.accuracy DESC"]),
    ("failed runs, newest first", "status = 'FAILED'", None),
    ("tag, by two params", "tags.git_branch = 'dev'", ["params.model", "params.scaler DESC"]),
    ("selective metric and param, newest first",
     "metrics.accuracy > 0.999 and params.model = 'rf'", None),
    ("selective metric and param, by other metric",
     "metrics.accuracy > 0.999 and params.model = 'rf'", ["metrics.f1 DESC"]),
]


def build(store: Store, n: int, seed: int = 7, start: int = 0) -> None:
    """Insert runs ``start .. n-1`` (see ``search_data``) with their params, latest metrics
    and tags in a few big batches; a later call with ``start=n`` grows the same store."""
    experiments = {name: get_or_create_experiment(store, name).id for name in search_data.EXPERIMENTS}
    batch = 20_000
    run_sql = ("INSERT INTO runs (id, experiment_id, parent_run_id, name, status, user, host, pid, "
               "pid_start, start_time, end_time, error_type, error_message, source, code_hash, "
               "provenance, updated_at) VALUES (?,?,NULL,?,?,?,?,NULL,NULL,?,?,NULL,NULL,'','','{}',?)")
    param_sql = "INSERT INTO params (run_id, key, value) VALUES (?,?,?)"
    metric_sql = "INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES (?,?,?,?,?)"
    tag_sql = "INSERT INTO tags (run_id, key, value) VALUES (?,?,?)"
    for lo in range(start, n, batch):
        runs, params, metrics, tags = [], [], [], []
        for i in range(lo, min(n, lo + batch)):
            row = run_row(i, seed)
            rid = new_id()
            runs.append((rid, experiments[row.experiment], row.name, row.status, "alice", "bench",
                         row.start_ms, row.end_ms, row.start_ms))
            params.extend((rid, k, v) for k, v in row.params.items())
            metrics.extend((rid, k, METRIC_STEP, row.start_ms, v) for k, v in row.metrics.items())
            tags.extend((rid, k, v) for k, v in row.tags.items())
        with store.db.write() as conn:
            conn.exec_driver_sql(run_sql, runs)
            conn.exec_driver_sql(param_sql, params)
            conn.exec_driver_sql(metric_sql, metrics)
            conn.exec_driver_sql(tag_sql, tags)


def _tune(store: Store, mmap_mb: int, cache_mb: int) -> None:
    """Try connection settings the store does not make yet (to size their effect)."""
    from sqlalchemy import event

    @event.listens_for(store.db.engine, "connect")
    def _pragmas(dbapi_conn, _record):
        if mmap_mb:
            dbapi_conn.execute(f"PRAGMA mmap_size={mmap_mb * 2**20}")
        if cache_mb:
            dbapi_conn.execute(f"PRAGMA cache_size={-cache_mb * 1024}")

    store.db.engine.dispose()
    print(f"connections use mmap_size={mmap_mb} MB, cache_size={cache_mb or 'default'} MB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--explain", action="store_true", help="print SQLite's query plans")
    ap.add_argument("--store", help="keep the store in this folder and reuse it next time")
    ap.add_argument("--mmap-mb", type=int, default=0, help="PRAGMA mmap_size for each connection")
    ap.add_argument("--cache-mb", type=int, default=0, help="PRAGMA cache_size for each connection")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        where = Path(args.store or tmp)
        reuse = (where / "s.db").exists()
        store = Store(f"sqlite:///{where}/s.db", f"{where}/art", user="alice")
        t = time.perf_counter()
        if not reuse:
            build(store, args.runs)
            print(f"built {args.runs:,} runs x 10 params x 10 metrics in {time.perf_counter() - t:.1f} s")
        if args.mmap_mb or args.cache_mb:
            _tune(store, args.mmap_mb, args.cache_mb)
        exp = get_or_create_experiment(store, "bench-0").id
        small = get_or_create_experiment(store, "bench-small").id
        cases = [(label, f, o, None) for label, f, o in QUERIES]
        cases.append(("(1/3 experiment) metric>x and param=v", QUERIES[0][1], QUERIES[0][2], [exp]))
        cases.append(("(1/3 experiment) newest runs", None, None, [exp]))
        cases.append(("(2% experiment) metric>x and param=v", QUERIES[0][1], QUERIES[0][2], [small]))
        cases.append(("(2% experiment) param, by metric", "params.model = 'rf'", ["metrics.f1 DESC"],
                      [small]))
        cases.append(("(2% experiment) newest runs", None, None, [small]))
        print(f"{'query':44s} {'hits':>7s} {'p50 ms':>8s} {'p95 ms':>8s}")
        worst = 0.0
        for label, flt, order, exps in cases:
            kwargs = {"order_by": order, "limit": args.limit, "experiment_ids": exps}
            search_runs(store, flt, **kwargs)  # warm the statement cache and pages
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                page, _token = search_runs(store, flt, **kwargs)
                samples.append((time.perf_counter() - t) * 1000)
            hits = count_runs(store, flt, exps)
            p95 = percentile(samples, 0.95)
            worst = max(worst, p95)
            print(f"{label:44s} {hits:7d} {statistics.median(samples):8.1f} {p95:8.1f}")
            if args.explain:
                for line in explain(store, flt, order_by=order, experiment_ids=exps):
                    print(f"    {line}")
        counts = (("count_runs(metric>x and param=v)", None), ("  the same with max_count=1000", 1000))
        for label, cap in counts:
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                count_runs(store, QUERIES[0][1], max_count=cap)
                samples.append((time.perf_counter() - t) * 1000)
            print(f"{label:44s} {'':7s} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f}")
        print(f"worst p95 of searches: {worst:.1f} ms (target 50 ms)")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
