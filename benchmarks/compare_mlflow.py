"""jupyter-modelops against MLflow, side by side, in one run on this machine.

    .venv/bin/python benchmarks/compare_mlflow.py            # full run (~10-15 min)
    .venv/bin/python benchmarks/compare_mlflow.py --quick    # smoke run (~2 min)
    .venv/bin/python benchmarks/compare_mlflow.py --only import,log_metric --log-metric-n 20000

MLflow (the newest installable 3.x) lives in its own virtual environment,
``benchmarks/.venv-mlflow``, created or updated here on first use. Its side is measured
by ``mlflow_worker.py`` running in that environment's interpreter (one fresh process per
task, a SQLite tracking store in a temporary folder: MLflow 3's default local backend);
ours is measured in this interpreter, on the same data and the same model. Every
measurement checks that what was logged was stored and that both tools answer the same
query alike, so a lossy or wrong fast path cannot win.

Prints a table ``metric | MLflow | jupyter-modelops | ratio | target | status``; a full
run also writes it to ``benchmarks/results/latest.md``. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_import  # noqa: E402
import bench_log_metric  # noqa: E402
import bench_search  # noqa: E402
import mlflow_env  # noqa: E402
import search_data  # noqa: E402
from benchstats import summary_ms  # noqa: E402

WORKER = HERE / "mlflow_worker.py"
RESULTS = HERE / "results" / "latest.md"
SECTIONS = ("import", "log_metric", "log_batch", "search", "registry", "serving")

TARGET_LOG_METRIC = 1000.0  # ours faster per flushed log_metric than synchronous MLflow
TARGET_IMPORT = 5.0
TARGET_SEARCH = 15.0  # at >= 20x the runs
SEARCH_SCALE = 20
TARGET_SERVING = 5.0  # req/s, 1-row requests, and a lower p99


@dataclass
class Row:
    metric: str
    mlflow: str
    ours: str
    ratio: float | None = None
    target: str = "—"
    ok: bool | None = None  # None: reported, no target
    name: str = ""  # short name of a target, for the summary line

    @property
    def status(self) -> str:
        return "—" if self.ok is None else ("PASS" if self.ok else "MISS")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def x(ratio: float) -> str:
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×"


def target_row(name: str, metric, mlflow, ours, ratio, need: float) -> Row:
    return Row(metric, mlflow, ours, ratio, f"≥ {need:g}×", ratio >= need, name)


class Worker:
    """Runs MLflow tasks in fresh side-venv processes, each in its own temporary folder."""

    def __init__(self, python: Path, scratch: Path) -> None:
        self.python, self.scratch, self.count = python, scratch, 0

    def _start(self, task: str, kwargs: dict, stdin) -> tuple[subprocess.Popen, Path]:
        self.count += 1
        work = self.scratch / f"mlflow-{self.count}-{task}"
        work.mkdir()
        env = {**os.environ, **mlflow_env.QUIET_ENV, "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db"}
        env.pop("PYTHONPATH", None)
        log = open(work / "worker.log", "w")
        proc = subprocess.Popen([str(self.python), str(WORKER), task, json.dumps(kwargs)], cwd=work, env=env,
                                stdin=stdin, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        return proc, work

    @staticmethod
    def _failed(task: str, proc: subprocess.Popen, work: Path):
        proc.kill()
        proc.wait()
        tail = (work / "worker.log").read_text()[-3000:]
        return SystemExit(f"MLflow worker task {task!r} failed ({proc.returncode}):\n{tail}")

    def __call__(self, task: str, **kwargs) -> dict:
        """Run ``task`` to completion; its JSON result."""
        proc, work = self._start(task, kwargs, subprocess.DEVNULL)
        out, _ = proc.communicate()
        if proc.returncode:
            raise self._failed(task, proc, work)
        return json.loads(out.strip().splitlines()[-1])

    def session(self, task: str, **kwargs) -> "Session":
        """Start ``task`` and keep talking to it (see ``mlflow_worker.task_search``)."""
        proc, work = self._start(task, kwargs, subprocess.PIPE)
        return Session(task, proc, work, self)


class Session:
    def __init__(self, task: str, proc: subprocess.Popen, work: Path, worker: Worker) -> None:
        self.task, self.proc, self.work, self.worker = task, proc, work, worker
        self.first = self.read()

    def read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise self.worker._failed(self.task, self.proc, self.work)

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.stdout.read()
        if self.proc.wait(timeout=60):
            raise self.worker._failed(self.task, self.proc, self.work)


# ---------------------------------------------------------------- sections
def section_import(ctx) -> list[Row]:
    """Median wall time of a fresh ``python -c 'import X'`` (interpreter start-up included)."""
    quiet = {**os.environ, **mlflow_env.QUIET_ENV}
    ours_code, theirs_code = "import jupyter_modelops", "import mlflow"
    bench_import.wall(ours_code)  # warm file caches and __pycache__ for both
    bench_import.wall(theirs_code, ctx.python, quiet)
    ours, theirs = [], []
    for _ in range(ctx.args.import_repeat):  # interleaved, so background load hits both alike
        ours.append(bench_import.wall(ours_code))
        theirs.append(bench_import.wall(theirs_code, ctx.python, quiet))
    bare = statistics.median(bench_import.wall("pass") for _ in range(ctx.args.import_repeat))
    o, t = statistics.median(ours), statistics.median(theirs)
    ctx.detail["import"] = {"ours_s": ours, "mlflow_s": theirs, "bare_interpreter_s": bare}
    label = f"`import` in a fresh process, median of {len(ours)} (bare interpreter {bare:.3f} s)"
    return [target_row("import", label, f"{t:.3f} s", f"{o:.3f} s", t / o, TARGET_IMPORT)]


def section_log_metric(ctx) -> list[Row]:
    n = ctx.args.log_metric_n
    say(f"  MLflow log_metric x {n:,}, synchronous ...")
    sync = ctx.worker("log_metric", n=n, repeat=1, synchronous=True)
    say(f"  MLflow log_metric x {n:,}, synchronous=False + flush_async_logging() ...")
    asyn = ctx.worker("log_metric", n=n, repeat=1, synchronous=False)
    os.environ.pop("JUPYTER_MODELOPS_DB", None)
    os.environ.pop("JUPYTER_MODELOPS_ARTIFACTS", None)
    ours_s = [bench_log_metric.bench_fluent(n) for _ in range(ctx.args.ours_repeat)]
    ours = statistics.median(ours_s) / n * 1e6
    ctx.detail["log_metric"] = {"n": n, "mlflow_sync": sync, "mlflow_async": asyn, "ours_s": ours_s}
    s, a = sync["us_per_call"], asyn["us_per_call"]
    return [
        target_row("log_metric", f"`log_metric` per call, {n:,} calls, synchronous MLflow vs ours incl. "
                   "final flush", f"{s:,.0f} µs", f"{ours:.2f} µs", s / ours, TARGET_LOG_METRIC),
        Row("`log_metric` per call, MLflow `synchronous=False` incl. `flush_async_logging()`",
            f"{a:,.0f} µs", f"{ours:.2f} µs", a / ours),
    ]


def section_log_batch(ctx) -> list[Row]:
    n, chunk = ctx.args.batch_n, 1000
    say(f"  MLflow log_batch, {n:,} points in {chunk}-point calls ...")
    theirs = ctx.worker("log_batch", n=n, chunk=chunk, repeat=ctx.args.mlflow_repeat)
    ours_s = [bench_log_metric.bench_batch(n, chunk) for _ in range(ctx.args.ours_repeat)]
    ours = statistics.median(ours_s) / n * 1e6
    t = theirs["us_per_point"]
    ctx.detail["log_batch"] = {"n": n, "chunk": chunk, "mlflow": theirs, "ours_s": ours_s}
    return [Row(f"`log_batch` per point ({n:,} points, {chunk}-point calls, incl. flush)",
                f"{t:.1f} µs", f"{ours:.2f} µs", t / ours)]


def _query_ours(client, limit: int, repeat: int) -> tuple[list[float], list[float]]:
    """``repeat`` timed runs of the comparison query: (seconds, top accuracies)."""
    samples, page = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        page = client.search_runs(search_data.COMPARE_FILTER, order_by=search_data.COMPARE_ORDER, limit=limit)
        samples.append(time.perf_counter() - t)
    return samples, [r.metrics["accuracy"] for r in page]


def section_search(ctx) -> list[Row]:
    """MLflow records runs for a time budget (N); ours gets N and 20×N runs of the same
    data (bulk-loaded). Query rounds then alternate between MLflow at N, ours at N and
    ours at 20×N; extra store sizes are measured after."""
    from jupyter_modelops.client import Client

    a, limit, per_round = ctx.args, 100, 5
    say(f"  MLflow: recording runs for up to {a.search_budget:.0f} s ...")
    mlflow = ctx.worker.session("search", budget_s=a.search_budget, max_runs=a.mlflow_max_runs, limit=limit)
    n = mlflow.first["runs"]
    scaled = SEARCH_SCALE * n
    expected = search_data.expected_top(n, limit)
    if mlflow.first["top"] != expected:
        raise SystemExit(f"MLflow's top-{limit} differs from the expected one over {n:,} runs")
    stores = {}
    for size in (n, scaled):
        client = Client(home=str(ctx.scratch / f"ours-search-{size}"), user="alice")
        t = time.perf_counter()
        bench_search.build(client.store, size)
        say(f"  ours: {size:,} runs bulk-loaded in {time.perf_counter() - t:.1f} s")
        _query_ours(client, limit, 1)  # warm caches, as MLflow's side does
        stores[size] = client
    say(f"  {a.search_repeat} queries each, in rounds of {per_round}: MLflow at {n:,}, ours at {n:,} and {scaled:,}")
    samples = {"mlflow": [], n: [], scaled: []}
    t_end = time.perf_counter() + a.query_budget
    while len(samples["mlflow"]) < a.search_repeat and (len(samples["mlflow"]) < 3 * per_round
                                                         or time.perf_counter() < t_end):
        samples["mlflow"] += mlflow.ask(repeat=per_round)["samples"]
        for size, client in stores.items():
            got, top = _query_ours(client, limit, per_round)
            samples[size] += got
            if size == n and top != expected:
                raise SystemExit(f"our top-{limit} differs from MLflow's over the same {n:,} runs")
    mlflow.close()
    theirs = {**{k: v for k, v in mlflow.first.items() if k != "top"}, **summary_ms(samples["mlflow"])}
    ours = {size: summary_ms(samples[size]) for size in stores}
    for size in sorted(s for s in a.ours_runs if s not in stores):
        base = max((s for s in stores if s < size), default=None)
        client = stores.pop(base) if base is not None else Client(home=str(ctx.scratch / f"ours-search-{size}"),
                                                                   user="alice")
        bench_search.build(client.store, size, start=base or 0)
        _query_ours(client, limit, 1)
        ours[size] = summary_ms(_query_ours(client, limit, a.search_repeat)[0])
        say(f"  ours: grown to {size:,} runs, queried")
        stores[size] = client
    for client in stores.values():
        client.close()
    ctx.detail["search"] = {"mlflow": theirs, "ours": ours, "filter": search_data.COMPARE_FILTER,
                            "order_by": search_data.COMPARE_ORDER}
    o, t, same = ours[scaled], theirs, ours[n]
    q = f"`search_runs` top-{limit}, `{search_data.COMPARE_FILTER}` by accuracy desc"
    rows = [
        target_row(f"search at {SEARCH_SCALE}× the runs",
                   f"{q}: p50, MLflow at {n:,} runs vs ours at {scaled:,} ({SEARCH_SCALE}× the runs)",
                   f"{t['p50_ms']:.1f} ms", f"{o['p50_ms']:.1f} ms", t["p50_ms"] / o["p50_ms"], TARGET_SEARCH),
        Row("the same, p95", f"{t['p95_ms']:.1f} ms", f"{o['p95_ms']:.1f} ms", t["p95_ms"] / o["p95_ms"]),
        Row(f"the same query, both at {n:,} runs: p50 (p95)", f"{t['p50_ms']:.1f} ms ({t['p95_ms']:.1f})",
            f"{same['p50_ms']:.1f} ms ({same['p95_ms']:.1f})", t["p50_ms"] / same["p50_ms"]),
    ]
    for size in sorted(s for s in ours if s not in (n, scaled)):
        rows.append(Row(f"the same query, ours at {size:,} runs: p50 (p95)", "—",
                        f"{ours[size]['p50_ms']:.1f} ms ({ours[size]['p95_ms']:.1f})"))
    rows.append(Row("recording runs (create with tags + log_batch of 10 params and 10 metrics + end)",
                    f"{theirs['runs_per_s']:.0f} runs/s → {n:,} runs in {theirs['build_s']:.0f} s",
                    "bulk-loaded (not compared)"))
    return rows


def section_registry(ctx) -> list[Row]:
    from jupyter_modelops.client import Client
    from sample_model import train

    repeat = ctx.args.mlflow_repeat
    say("  MLflow: log_model + register, load + predict ...")
    theirs = ctx.worker("registry", repeat=repeat)
    model, X, _y = train()
    expected = model.predict(X).tolist()
    client = Client(home=str(ctx.scratch / "ours-registry"), user="alice")
    register, load = [], []
    for i in range(repeat + 1):  # the first round is a warm-up, as on MLflow's side
        t0 = time.perf_counter()
        run = client.start_run("bench")
        version = client.register_model(model, "cancer", run_id=run.id, input_example=X.head(3))
        run.end()
        t1 = time.perf_counter()
        got = list(client.load_model("cancer", version=version.version).predict(X))
        t2 = time.perf_counter()
        if got != expected:
            raise SystemExit("our loaded model predicts differently")
        if i:
            register.append(t1 - t0)
            load.append(t2 - t1)
    client.close()
    ours = {"register": summary_ms(register), "load": summary_ms(load)}
    ctx.detail["registry"] = {"mlflow": theirs, "ours": ours}
    tr, tl = theirs["register"]["p50_ms"], theirs["load"]["p50_ms"]
    orr, ol = ours["register"]["p50_ms"], ours["load"]["p50_ms"]
    return [
        Row(f"register the sklearn model from a run (`mlflow.sklearn.log_model(registered_model_name=)` "
            f"vs `register_model`), median of {repeat}", f"{tr:,.0f} ms", f"{orr:,.0f} ms", tr / orr),
        Row("load it back + predict 569 rows (`mlflow.pyfunc.load_model` vs `load_model`)",
            f"{tl:.1f} ms", f"{ol:.1f} ms", tl / ol),
    ]


def section_serving(ctx) -> list[Row]:
    import bench_serving

    a = ctx.args
    say(f"  serving: both servers, {a.serve_requests} requests or {a.serve_seconds:.0f} s per measurement ...")
    res = bench_serving.serve_both(ctx.python, (1, 100), a.serve_requests, a.serve_seconds)
    ctx.detail["serving"] = {f"{side}/{rows}": {"requests": r.requests, "rps": r.rps, "p50_ms": r.p50_ms,
                                                "p99_ms": r.p99_ms, "statuses": r.statuses, "failures": r.failures}
                             for (side, rows), r in res.items()}
    for (side, rows), r in res.items():
        if set(r.statuses) != {200} or r.failures:
            raise SystemExit(f"{side} server, {rows}-row requests: statuses {r.statuses}, failures {r.failures}")
    rows_out = []
    for rows in (1, 100):
        o, t = res[("ours", rows)], res[("mlflow", rows)]
        ratio = o.rps / t.rps
        label = f"model server, {rows}-row requests, concurrency {bench_serving.CONCURRENCY}"
        rps = (f"{label}: req/s", f"{t.rps:,.0f}", f"{o.rps:,.0f}", ratio)
        p99 = (f"{label}: p99 (p50)", f"{t.p99_ms:.1f} ms ({t.p50_ms:.1f})", f"{o.p99_ms:.1f} ms ({o.p50_ms:.1f})",
               t.p99_ms / o.p99_ms)
        if rows == 1:
            rows_out.append(target_row("serving req/s", *rps, TARGET_SERVING))
            rows_out.append(Row(*p99, "lower", o.p99_ms < t.p99_ms, "serving p99"))
        else:
            rows_out += [Row(*rps), Row(*p99)]
    return rows_out


# ---------------------------------------------------------------- report
def machine(mlflow_version: str, listed: str | None) -> dict:
    listed_note = "" if listed in (None, mlflow_version) else f" ({listed} is listed on PyPI but not installable yet)"
    return {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "mlflow": mlflow_version + listed_note, "load_start": os.getloadavg()}


def render(rows: list[Row], info: dict, command: str, tracking_uri: str) -> str:
    out = [f"Date: {info['date']}  ",
           f"Machine: {info['nproc']} cores, Python {info['python']}, {info['platform']}  ",
           f"MLflow: {info['mlflow']}, tracking store `{tracking_uri}` (MLflow 3's default local backend); "
           f"jupyter-modelops: SQLite (WAL) store in a temporary folder  ",
           f"Command: `{command}`  ",
           f"Load average (1/5/15 min) at start {' / '.join(f'{v:.2f}' for v in info['load_start'])}, "
           f"at end {' / '.join(f'{v:.2f}' for v in info['load_end'])}: other jobs may have shared the "
           f"{info['nproc']} cores with both tools alike.",
           "",
           "| metric | MLflow | jupyter-modelops | ratio | target | status |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "—" if r.ratio is None else x(r.ratio)
        out.append(f"| {r.metric} | {r.mlflow} | {r.ours} | {ratio} | {r.target} | {r.status} |")
    checked = [r for r in rows if r.ok is not None]
    missed = [r for r in checked if not r.ok]
    out += ["", f"Targets met: {len(checked) - len(missed)} of {len(checked)}"
            + (f"; missed: {', '.join(r.name for r in missed)}." if missed else ".")]
    return "\n".join(out) + "\n"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run with small N (not a record)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--import-repeat", type=int, help="fresh processes per tool (default 5)")
    ap.add_argument("--log-metric-n", type=int, help="log_metric calls per tool (default 10,000)")
    ap.add_argument("--batch-n", type=int, help="points for log_batch (default 100,000)")
    ap.add_argument("--search-budget", type=float, help="seconds MLflow may spend recording runs (default 180)")
    ap.add_argument("--mlflow-max-runs", type=int, default=200_000, help="stop MLflow's recording earlier")
    ap.add_argument("--ours-runs", type=lambda s: [int(v) for v in s.split(",")],
                    help="more store sizes for our search, comma-separated (default 10000,100000; "
                         "MLflow's count and 20x that are always measured)")
    ap.add_argument("--search-repeat", type=int, help="timed repeats of the query (default 30)")
    ap.add_argument("--query-budget", type=float, default=120.0, help="time cap for MLflow's query repeats (s)")
    ap.add_argument("--mlflow-repeat", type=int, help="repeats of MLflow's batch and registry tasks (default 3)")
    ap.add_argument("--ours-repeat", type=int, help="repeats of our log_metric/log_batch (default 5)")
    ap.add_argument("--serve-requests", type=int, help="requests per serving measurement (default 3000)")
    ap.add_argument("--serve-seconds", type=float, help="time cap per serving measurement (default 15)")
    ap.add_argument("--out", type=Path,
                    help=f"write the table here (a full run writes {RESULTS.relative_to(HERE.parent)})")
    args = ap.parse_args(argv)
    full = {"import_repeat": 5, "log_metric_n": 10_000, "batch_n": 100_000, "search_budget": 180.0,
            "search_repeat": 30, "ours_runs": [10_000, 100_000], "mlflow_repeat": 3, "ours_repeat": 5,
            "serve_requests": 3000, "serve_seconds": 15.0}
    quick = {"import_repeat": 3, "log_metric_n": 1000, "batch_n": 10_000, "search_budget": 15.0,
             "search_repeat": 10, "ours_runs": [], "mlflow_repeat": 1, "ours_repeat": 3,
             "serve_requests": 500, "serve_seconds": 3.0}
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if args.out is None and not args.quick and args.only == list(SECTIONS):
        args.out = RESULTS
    return args


class Context:
    def __init__(self, args, python: Path, scratch: Path) -> None:
        self.args, self.python, self.scratch = args, python, scratch
        self.worker = Worker(python, scratch)
        self.detail: dict = {}


def main(argv=None) -> int:
    args = parse_args(argv)
    command = " ".join([".venv/bin/python", "benchmarks/compare_mlflow.py", *map(shlex.quote, sys.argv[1:])])
    python, version, listed = mlflow_env.ensure()
    info = machine(version, listed)
    say(f"MLflow {version} in {mlflow_env.VENV}; {info['nproc']} cores, load average "
        f"{info['load_start'][0]:.2f}")
    sections = {"import": section_import, "log_metric": section_log_metric, "log_batch": section_log_batch,
                "search": section_search, "registry": section_registry, "serving": section_serving}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="compare-mlflow-") as tmp:
        ctx = Context(args, python, Path(tmp))
        for name in args.only:
            say(f"[{name}]")
            t = time.perf_counter()
            rows += sections[name](ctx)
            say(f"  ({time.perf_counter() - t:.0f} s)")
    info["load_end"] = os.getloadavg()
    table = render(rows, info, command, "sqlite:///<temp dir>/mlflow.db")
    print("\n" + table)
    missed = [r.metric for r in rows if r.ok is False]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        details = json.dumps(ctx.detail, indent=1, default=str)
        args.out.write_text(f"# jupyter-modelops vs MLflow\n\n{table}\n"
                            f"<details><summary>raw figures</summary>\n\n```json\n{details}\n```\n</details>\n")
        say(f"wrote {args.out}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
