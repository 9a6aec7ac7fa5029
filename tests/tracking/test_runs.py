"""Experiments and runs: life cycle, immutability, ids, and runs of dead processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from jupyter_modelops.errors import Conflict, InvalidInput, NotFound

# --------------------------------------------------------------------------- experiments


def test_experiments_create_get_list(client):
    exp = client.create_experiment("churn", description="customer churn", tags={"team": "risk"})
    assert len(exp.id) == 32
    assert client.get_experiment("churn") == exp
    assert client.get_experiment(exp.id) == exp
    assert client.get_experiment(exp.id[:8] + "-" + exp.id[8:]).id == exp.id
    client.create_experiment("fraud")
    assert [e.name for e in client.list_experiments()] == ["churn", "fraud"]
    got = client.get_experiment("churn")
    assert (got.description, got.tags) == ("customer churn", {"team": "risk"})


def test_duplicate_experiment_name_is_a_conflict(client):
    client.create_experiment("churn", description="first")
    with pytest.raises(Conflict, match="churn.*already exists"):
        client.create_experiment("churn", description="second")
    assert client.get_experiment("churn").description == "first"
    assert len(client.list_experiments()) == 1


def test_experiment_id_given_by_its_creator(client):
    exp = client.transport.call("create_experiment", name="synced", id="c" * 32)
    assert client.get_experiment("c" * 32).name == "synced" == exp.name
    with pytest.raises(Conflict, match="already exists"):
        client.transport.call("create_experiment", name="other", id="c" * 32)
    assert [e.name for e in client.list_experiments()] == ["synced"]


def test_unknown_experiment_is_not_found(client):
    with pytest.raises(NotFound, match="nope"):
        client.get_experiment("nope")


@pytest.mark.parametrize("name", ["", "   ", "bad\nname", "x" * 300])
def test_bad_experiment_names_are_refused(client, name):
    with pytest.raises(InvalidInput):
        client.create_experiment(name)
    assert client.list_experiments() == []


def test_run_goes_to_default_experiment_and_creates_named_ones(client):
    a = client.create_run()
    b = client.create_run("new-exp", name="first try")
    assert client.get_experiment("Default").id == a.experiment_id
    assert client.get_experiment("new-exp").id == b.experiment_id
    assert client.get_run(b.id).name == "first try"
    assert a.name  # a generated, human-friendly name


# --------------------------------------------------------------------------- life cycle


def test_context_manager_ends_finished(mo):
    with mo.start_run(experiment="e", name="ok") as run:
        assert mo.active_run() is run
        assert mo.get_run(run.id).status == "RUNNING"
        mo.log_metric("loss", 0.5)
    stored = mo.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.end_time is not None and stored.end_time >= stored.start_time
    assert stored.error_type is None and stored.error_message is None
    assert stored.metrics == {"loss": 0.5}
    assert mo.active_run() is None


def test_exception_inside_ends_failed_and_propagates(mo):
    with pytest.raises(ValueError, match="bad data"):
        with mo.start_run() as run:
            mo.log_param("C", 1)
            raise ValueError("bad data in column x")
    stored = mo.get_run(run.id)
    assert stored.status == "FAILED"
    assert stored.error_type == "ValueError"
    assert stored.error_message == "bad data in column x"
    assert stored.end_time is not None
    assert stored.params == {"C": "1"}
    assert mo.active_run() is None


def test_keyboard_interrupt_ends_killed(mo):
    with pytest.raises(KeyboardInterrupt):
        with mo.start_run() as run:
            raise KeyboardInterrupt
    stored = mo.get_run(run.id)
    assert stored.status == "KILLED"
    assert stored.error_type == "KeyboardInterrupt"
    assert stored.end_time is not None


def test_end_run_explicitly(mo):
    run = mo.start_run()
    mo.log_metric("x", 1.0)
    mo.end_run()
    assert mo.active_run() is None
    assert mo.get_run(run.id).status == "FINISHED"
    assert mo.get_run(run.id).metrics == {"x": 1.0}
    mo.end_run()  # nothing active: a no-op


def test_logging_without_a_run_starts_one(mo):
    mo.log_metric("auto", 2.0)
    run = mo.active_run()
    assert run is not None
    mo.end_run()
    assert mo.get_run(run.id).metrics == {"auto": 2.0}


def test_nested_run_needs_nested_true(mo):
    with mo.start_run(name="parent") as parent:
        with pytest.raises(InvalidInput, match="still active.*nested=True"):
            mo.start_run(name="oops")
        assert mo.active_run() is parent
        with mo.start_run(name="child", nested=True) as child:
            assert mo.active_run() is child
            mo.log_metric("fold_score", 0.8)
        assert mo.active_run() is parent
    assert mo.get_run(child.id).parent_run_id == parent.id
    assert mo.get_run(parent.id).parent_run_id is None
    assert [r.id for r in mo.get_client().child_runs(parent.id)] == [child.id]
    assert mo.get_run(child.id).status == mo.get_run(parent.id).status == "FINISHED"
    # The refused run was never created.
    assert len(mo.search_runs()) == 2


def test_reenter_running_run_by_id(mo):
    run = mo.start_run()
    first = run.id
    mo.end_run()
    with pytest.raises(Conflict, match="FINISHED"):
        mo.start_run(run_id=first)
    c = mo.get_client()
    live = c.create_run()
    with mo.start_run(run_id=live.id) as again:
        mo.log_param("k", "v")
    assert again.id == live.id
    assert mo.get_run(live.id).params == {"k": "v"}


# --------------------------------------------------------------------------- params & tags


def test_params_are_immutable(client):
    run = client.create_run()
    client.log_params(run.id, {"C": 1.0, "kernel": "rbf", "depth": 3, "flag": True, "none": None})
    client.log_param(run.id, "C", 1.0)  # same value again is fine
    with pytest.raises(Conflict, match=r"'C' is already '1.0'.*immutable.*'2.0'"):
        client.log_param(run.id, "C", 2.0)
    with pytest.raises(Conflict):  # a batch with one conflicting key writes nothing
        client.log_params(run.id, {"new": 1, "kernel": "linear"})
    assert client.get_run(run.id).params == {
        "C": "1.0", "kernel": "rbf", "depth": "3", "flag": "True", "none": "None"}


def test_bad_param_keys_and_long_values_are_refused(client):
    run = client.create_run()
    for key in ("", " lead", "semi;colon", "a/../b", "x" * 251):
        with pytest.raises(InvalidInput):
            client.log_param(run.id, key, 1)
    with pytest.raises(InvalidInput, match="log_text or log_dict"):
        client.log_param(run.id, "blob", "x" * 501)
    assert client.get_run(run.id).params == {}


def test_finished_run_refuses_params_metrics_and_artifacts(client):
    run = client.create_run()
    client.log_param(run.id, "a", 1)
    client.log_metric(run.id, "m", 1.0)
    client.end_run(run.id)
    before = client.get_run(run.id)
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_param(run.id, "b", 2)
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_metric(run.id, "m", 2.0)
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_batch(run.id, [("m", 3.0, 5)])
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_text(run.id, "late", "late.txt")
    client.flush()
    after = client.get_run(run.id)
    assert (after.params, after.metrics, after.status) == (before.params, before.metrics, "FINISHED")
    assert client.list_artifacts(run.id) == []
    assert [m.value for m in client.get_metric_history(run.id, "m")] == [1.0]


def test_tags_stay_editable_after_finish(client):
    run = client.create_run(tags={"stage": "dev"})
    client.end_run(run.id)
    client.set_tag(run.id, "stage", "reviewed")
    client.set_tags(run.id, {"note": "looks good", "n": 3})
    assert client.get_run(run.id).tags == {"stage": "reviewed", "note": "looks good", "n": "3"}
    client.delete_tag(run.id, "note")
    assert client.get_run(run.id).tags == {"stage": "reviewed", "n": "3"}
    with pytest.raises(NotFound):
        client.delete_tag(run.id, "note")


def test_ending_twice(client):
    run = client.create_run()
    client.end_run(run.id)
    assert client.end_run(run.id).status == "FINISHED"  # idempotent
    with pytest.raises(Conflict, match="already ended FINISHED"):
        client.end_run(run.id, "FAILED")


# --------------------------------------------------------------------------- ids


def test_unknown_run_id_is_not_found(client):
    missing = "0123456789abcdef0123456789abcdef"
    with pytest.raises(NotFound, match=missing):
        client.get_run(missing)
    with pytest.raises(NotFound):
        client.log_param(missing, "a", 1)
    with pytest.raises(NotFound):
        client.set_tag(missing, "a", 1)
    with pytest.raises(NotFound):
        client.end_run(missing)


@pytest.mark.parametrize("ref", ["not-an-id", "xyz123xyz", "0123456789abcdef0123456789abcdeg", "", 42])
def test_bad_run_id_text_is_invalid(client, ref):
    with pytest.raises(InvalidInput):
        client.get_run(ref)


def test_run_id_prefix_resolution(client):
    # Records carry ids made by their creator (for idempotent sync); use that to get
    # two runs whose ids share a known prefix.
    a_id, b_id = "abcdef01" + "0" * 24, "abcdef02" + "1" * 24
    a = client.transport.call("create_run", experiment="e", id=a_id)
    b = client.transport.call("create_run", experiment="e", id=b_id)
    assert (a.id, b.id) == (a_id, b_id)
    # a unique prefix resolves (case and dashes do not matter)
    assert client.get_run("abcdef01").id == a_id
    assert client.resolve_run_id("ABCDEF02") == b_id
    dashed = f"{a_id[:8]}-{a_id[8:12]}-{a_id[12:16]}-{a_id[16:20]}-{a_id[20:]}"
    assert client.get_run(dashed).id == a_id
    client.log_param("abcdef01", "via", "prefix")
    assert client.get_run(a_id).params == {"via": "prefix"}
    # an ambiguous one says so
    with pytest.raises(InvalidInput, match="ambiguous"):
        client.get_run("abcdef0")
    # too short
    with pytest.raises(InvalidInput, match="at least 6"):
        client.get_run("abcde")
    # no match
    with pytest.raises(NotFound, match="no run id starts with 123456"):
        client.get_run("123456")
    # a full id that is already taken is a conflict, not a second run
    with pytest.raises(Conflict, match="already exists"):
        client.transport.call("create_run", experiment="e", id=a_id)
    assert client.get_run(a_id).params == {"via": "prefix"}


# --------------------------------------------------------------------------- dead processes

_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from jupyter_modelops.client import Client
    c = Client(flush_interval=60)
    run = c.create_run("crashy", name="doomed")
    c.log_param(run.id, "lr", 0.1)
    for i in range(100):
        c.log_metric(run.id, "loss", 1.0 / (i + 1))
    c.flush()
    print(run.id, flush=True)
    mode = sys.argv[1]
    if mode == "exit":
        os._exit(3)
    elif mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    else:  # stay alive until the parent is done
        sys.stdin.read()
""")


def _spawn(mode: str, home) -> subprocess.Popen:
    env = dict(os.environ, JUPYTER_MODELOPS_HOME=str(home))
    return subprocess.Popen([sys.executable, "-c", _CHILD, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("mode", ["exit", "sigkill"])
def test_run_of_a_dead_process_is_marked_killed(mode, mo_home):
    from jupyter_modelops.client import Client

    proc = _spawn(mode, mo_home)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == (3 if mode == "exit" else -signal.SIGKILL), err
    run_id = out.strip()
    t_dead = int(time.time() * 1000)

    c = Client(home=str(mo_home))
    try:
        run = c.get_run(run_id)
        assert run.status == "KILLED"
        assert run.error_type == "ProcessDied"
        assert run.end_time is not None and run.start_time <= run.end_time <= t_dead
        assert run.params == {"lr": "0.1"}
        assert run.metrics["loss"] == pytest.approx(1 / 100)
        history = c.get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(100))
        assert run.end_time == max(m.timestamp for m in history)
        # The dead run is immutable like any other ended run.
        with pytest.raises(Conflict, match="KILLED"):
            c.log_param(run_id, "lr", 0.1 + 1)
    finally:
        c.close()


def test_running_run_of_a_live_process_is_not_reaped(mo_home):
    from jupyter_modelops.client import Client

    proc = _spawn("wait", mo_home)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read() if proc.poll() is not None else "no run id"
        c = Client(home=str(mo_home))
        try:
            mine = c.create_run(name="mine")
            c2 = Client(home=str(mo_home))  # opening the store again reaps the dead only
            try:
                assert c2.get_run(run_id).status == "RUNNING"
                assert c2.get_run(mine.id).status == "RUNNING"
            finally:
                c2.close()
        finally:
            c.close()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0
