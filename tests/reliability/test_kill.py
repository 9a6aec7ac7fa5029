"""SIGKILL while a process (or a Jupyter kernel) logs metrics: every point it had flushed
is in the store, the run is KILLED at the next open, and the store is whole."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from rhelpers import assert_store_healthy, wait_for

# Logs a metric without pause, flushing every 50 points and reporting each flush (after it
# returned) through a line-buffered file; the background flush thread writes in between.
LOOP = """
import os
import jupyter_modelops as mo
mo.configure(home={home!r})  # default flush interval (1 s)
run = mo.start_run("killed", "victim")
report = open({report!r}, "a", buffering=1)
report.write(f"run {{run.id}} {{os.getpid()}}\\n")
step = 0
while True:
    for _ in range(50):
        mo.log_metric("loss", 1.0 / (step + 1))
        mo.log_metric("acc", step / 1e6)
        step += 1
    mo.flush()
    report.write(f"flushed {{step}}\\n")
"""


def _reported(path):
    if not path.exists():
        return None, None, 0
    run_id = pid = None
    flushed = 0
    for line in path.read_text().splitlines():
        word, *rest = line.split()
        if word == "run":
            run_id, pid = rest[0], int(rest[1])
        elif word == "flushed":
            flushed = int(rest[0])
    return run_id, pid, flushed


def _start_process(spawn, code):
    proc = spawn(code)
    return proc, None


def _start_kernel(code, home):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=dict(os.environ, JUPYTER_MODELOPS_HOME=str(home)))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.execute(code)  # never returns: the cell runs until the kernel is killed
    return km, kc


@pytest.mark.parametrize("where", ["process", "kernel"])
def test_sigkill_while_logging_loses_no_flushed_point(where, spawn, mo_home, tmp_path):
    report = tmp_path / "flushed.txt"
    code = LOOP.format(home=str(mo_home), report=str(report))
    km = kc = proc = None
    if where == "process":
        proc = spawn(code, home=mo_home)
    else:
        km, kc = _start_kernel(code, mo_home)
    try:
        wait_for(lambda: _reported(report)[2] >= 3000, timeout=60, what="3000 flushed points", proc=proc)
        time.sleep(random.uniform(0, 0.2))  # anywhere in a flush cycle
        run_id, pid, _ = _reported(report)
        os.kill(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait(timeout=30)
        else:
            wait_for(lambda: not km.is_alive(), timeout=30, what="the kernel to die")
        run_id, pid, flushed = _reported(report)  # the last flush it saw complete
    finally:
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            km.shutdown_kernel(now=True)

    from jupyter_modelops.client import Client

    c = Client(home=str(mo_home))  # the next open notices the dead owner
    try:
        run = c.get_run(run_id)
        assert run.status == "KILLED" and run.error_type == "ProcessDied"
        for key in ("loss", "acc"):
            steps = [m.step for m in c.get_metric_history(run_id, key)]
            # Everything flushed before the kill, in order, each point once; at most what
            # the background thread wrote after the last reported flush on top.
            assert len(steps) >= flushed, f"{key}: {len(steps)} stored, {flushed} had been flushed"
            assert steps == list(range(len(steps)))
        assert run.metrics["loss"] == pytest.approx(1.0 / len(steps))
        assert run.end_time == max(m.timestamp for m in c.get_metric_history(run_id, "loss"))
    finally:
        c.close()
    assert_store_healthy(mo_home)
