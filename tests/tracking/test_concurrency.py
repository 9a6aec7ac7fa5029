"""Several processes writing one SQLite store at once, with a reader alongside."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import sqlalchemy as sa

WRITERS = 4
POINTS = 20_000  # per writer, over two metric keys
PARAMS = 40

WRITER = textwrap.dedent(f"""
    import sys, time
    from jupyter_modelops.client import Client
    start, idx = float(sys.argv[1]), int(sys.argv[2])
    c = Client(flush_interval=0.01)
    while time.time() < start:
        time.sleep(0.001)
    run = c.create_run("concurrent", name=f"writer-{{idx}}")
    print(run.id, flush=True)
    for i in range({POINTS} // 2):
        c.log_metric(run.id, "loss", 1.0 / (i + 1))
        c.log_metric(run.id, "acc", i / {POINTS})
        if i % {POINTS // 2 // PARAMS} == 0:
            n = i // ({POINTS // 2 // PARAMS})
            c.log_param(run.id, f"p{{n}}", n)      # a write transaction between flushes
            c.set_tag(run.id, "progress", str(i))
    c.end_run(run.id)
    c.close()
""")

READER = textwrap.dedent("""
    import os, sys, time
    from jupyter_modelops.client import Client
    start, stop_file = float(sys.argv[1]), sys.argv[2]
    c = Client()
    while time.time() < start:
        time.sleep(0.001)
    loops = running_seen = 0
    while not os.path.exists(stop_file) or loops < 3:
        page = c.search_runs("metrics.loss < 1 and params.p0 = '0'", experiment=None, limit=50)
        for r in c.search_runs(order_by=["start_time DESC"], limit=50):
            got = c.get_run(r.id)
            running_seen += got.status == "RUNNING"
            c.get_metric_history(r.id, "loss", max_points=100)
        c.list_experiments()
        loops += 1
    print(loops, running_seen)
""")


def test_four_writers_and_a_reader(mo_home, tmp_path):
    env = dict(os.environ, JUPYTER_MODELOPS_HOME=str(mo_home))
    # Create the store up front so the test measures writing, not migrating.
    from jupyter_modelops.client import Client

    Client(home=str(mo_home)).close()

    start = str(time.time() + 2.0)  # every interpreter is up before any starts writing
    stop_file = tmp_path / "stop"
    popen = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, start, str(i)], **popen)
               for i in range(WRITERS)]
    reader = subprocess.Popen([sys.executable, "-c", READER, start, str(stop_file)], **popen)
    try:
        results = [w.communicate(timeout=120) for w in writers]
    finally:
        stop_file.write_text("")
        r_out, r_err = reader.communicate(timeout=60)
        for w in writers:
            if w.poll() is None:
                w.kill()

    for w, (out, err) in zip(writers, results):
        assert w.returncode == 0, err
        assert err.strip() == "", err
    assert reader.returncode == 0, r_err
    assert r_err.strip() == "", r_err
    loops, running_seen = map(int, r_out.split())
    assert loops >= 3
    assert running_seen > 0, "the reader never overlapped the writers"

    run_ids = [out.strip() for out, _ in results]
    assert len(set(run_ids)) == WRITERS
    engine = sa.create_engine(f"sqlite:///{mo_home}/store.db")
    try:
        with engine.connect() as conn:
            for run_id in run_ids:
                counts = dict(conn.execute(sa.text(
                    "SELECT key, COUNT(*) FROM metrics WHERE run_id = :r GROUP BY key"), {"r": run_id}).all())
                assert counts == {"loss": POINTS // 2, "acc": POINTS // 2}
                steps = conn.execute(sa.text(
                    "SELECT COUNT(DISTINCT step), MIN(step), MAX(step) FROM metrics "
                    "WHERE run_id = :r AND key = 'loss'"), {"r": run_id}).one()
                assert tuple(steps) == (POINTS // 2, 0, POINTS // 2 - 1)
                n_params = conn.execute(sa.text(
                    "SELECT COUNT(*) FROM params WHERE run_id = :r"), {"r": run_id}).scalar()
                assert n_params == PARAMS
                status, = conn.execute(sa.text("SELECT status FROM runs WHERE id = :r"), {"r": run_id}).one()
                assert status == "FINISHED"
                latest = dict(conn.execute(sa.text(
                    "SELECT key, step FROM latest_metrics WHERE run_id = :r"), {"r": run_id}).all())
                assert latest == {"loss": POINTS // 2 - 1, "acc": POINTS // 2 - 1}
    finally:
        engine.dispose()
