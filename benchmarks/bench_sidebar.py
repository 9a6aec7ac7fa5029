"""Sidebar speed: the Runs view with 10k runs shows its first rows ≤ 1 s after opening.

Fills a temporary store with N runs (the raw-SQL builder of ``bench_search``: params, latest
metrics and tags, spread over four experiments), starts ``jupyter lab`` on it with the
browser tests' server config, and opens the lab in Debian's Chromium through Playwright
(``labextension/ui-tests/bench-sidebar.js``; its node modules are installed with ``npm ci``
when missing, never a browser). With no notebook open the Runs view shows all runs of all
experiments, so the N runs are the view's. Each repeat loads a fresh workspace, waits for
the app to be restored, clicks the ModelOps tab and times, inside the page, until the first
``modelops-runs-row`` is laid out and painted.

    python benchmarks/bench_sidebar.py [--runs 10000] [--repeat 5]

Prints median and max and PASS/MISS against the 1.0 s target; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
UI_TESTS = REPO / "labextension" / "ui-tests"
TARGET_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_node_modules() -> None:
    if (UI_TESTS / "node_modules" / "@playwright" / "test").is_dir():
        return
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=UI_TESTS,
                   env=env, check=True)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"jupyter lab did not answer {url} within {timeout:g} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000, help="runs in the store")
    ap.add_argument("--repeat", type=int, default=5, help="page loads timed")
    args = ap.parse_args(argv)
    if not Path("/usr/bin/chromium").exists():
        raise SystemExit("needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)")
    ensure_node_modules()
    sys.path.insert(0, str(HERE))
    from bench_search import build

    from jupyter_modelops.store.store import Store

    work = Path(tempfile.mkdtemp(prefix="bench-sidebar-"))
    lab = None
    try:
        home, root, tmp = work / "home", work / "root", work / "tmp"
        for folder in (home, root, tmp):
            folder.mkdir()
        store = Store(f"sqlite:///{home}/store.db", f"{home}/artifacts", user="bench")
        t = time.perf_counter()
        build(store, args.runs)
        store.close()
        built = time.perf_counter() - t

        port = free_port()
        env = {**os.environ, "JUPYTER_MODELOPS_HOME": str(home), "MODELOPS_UI_LAB_PORT": str(port),
               "MODELOPS_UI_RUN": str(work), "JUPYTERLAB_GALATA_ROOT_DIR": str(root),
               "TMPDIR": str(tmp)}
        for key in ("JUPYTER_MODELOPS_REGISTRY_URL", "JUPYTER_MODELOPS_REGISTRY_TOKEN"):
            env.pop(key, None)
        jupyter = str(Path(sys.executable).with_name("jupyter"))
        log = open(work / "lab.log", "wb")
        lab = subprocess.Popen([jupyter, "lab", "--config", str(UI_TESTS / "jupyter_server_test_config.py")],
                               cwd=UI_TESTS, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/lab", lab)
        out = subprocess.run(["node", str(UI_TESTS / "bench-sidebar.js"), url, str(args.repeat)],
                             cwd=UI_TESTS, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
        if out.returncode:
            raise SystemExit(f"browser side failed:\n{out.stderr}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if lab is not None:
            os.killpg(lab.pid, signal.SIGTERM)
            try:
                lab.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)

    secs = result["seconds"]
    median, worst = statistics.median(secs), max(secs)
    verdict = "PASS" if median <= TARGET_S else "MISS"
    print(f"store of {args.runs} runs built in {built:.1f} s; the view says {result['count']!r}, "
          f"{result['rows']} rows rendered")
    print("each open (s): " + ", ".join(f"{s:.3f}" for s in secs))
    print(f"Runs view, click on the sidebar tab to first row with {args.runs} runs "
          f"(median of {len(secs)}): {median * 1000:.0f} ms, max {worst * 1000:.0f} ms   "
          f"[target ≤ {TARGET_S * 1000:.0f} ms] {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
