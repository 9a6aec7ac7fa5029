"""Checks and alert rules without a server: logged predictions → figures → rules → the
life cycle (WATCH, BREACH as the system actor), webhook, retraining request; ground truth
joined by request id; rule validation; access rules."""

from __future__ import annotations

import pytest

from jupyter_modelops.errors import Forbidden, InvalidInput
from jupyter_modelops.monitor import alerts


def _log(client, dep, frame, preds, prefix: str, version: int = 1, status: int = 200, at: int = 1_000):
    rows = [[f"{prefix}-{i}", at + i, version, rec, int(p), 0.5, status]
            for i, (rec, p) in enumerate(zip(frame.to_dict("records"), preds))]
    return client._call("log_predictions", deployment_id=dep.id, rows=rows, stats={"requests": len(rows)})


def test_rules_move_the_version_notify_and_request_retraining(alice, bob, approved, cancer_split, cancer_models,
                                                              webhook):
    _, Xte, _, yte = cancer_split
    approved(1, target="batch")
    alice.promote("cancer", 1)
    dep = alice.batch_score("cancer", Xte.head(10), 1)
    calls = []
    alerts.register_retrain_hook(lambda store, request: calls.append(request) or "queued")
    try:
        alice.configure_monitor(dep, webhook=webhook.url, min_rows=50, window=200, rules=[
            {"name": "data-drift", "metric": "dataset_drift", "op": "==", "value": 1, "state": "WATCH",
             "retrain": True},
            {"name": "accuracy", "metric": "accuracy", "op": "<", "value": 0.8, "state": "BREACH"}])
        model = cancer_models[0]
        # in-distribution traffic with good labels: nothing fires
        normal = Xte.iloc[10:110]
        _log(alice, dep, normal, model.predict(normal), "n")
        alice.log_ground_truth(dep, [f"n-{i}" for i in range(100)], yte.iloc[10:110].tolist())
        rep = alice.check_monitor(dep)
        assert rep.firing == [] and rep.state == "PRODUCTION" and rep.metrics["accuracy"] > 0.85
        assert rep.metrics["dataset_drift"] == 0 and rep.metrics["labelled_rows"] == 100
        # shifted inputs: data drift → WATCH, webhook, retraining requested
        shifted = Xte.iloc[:100] * 2 + 5
        _log(alice, dep, shifted, model.predict(shifted), "s", at=10_000)
        rep = alice.check_monitor(dep, window=100)
        assert [f["rule"] for f in rep.firing] == ["data-drift"] and rep.state == "WATCH"
        assert {e["kind"] for e in rep.events} == {"alert", "notified", "retrain_requested"}
        assert webhook.received[-1]["json"]["rules"][0]["rule"] == "data-drift"
        assert calls and calls[0]["model"] == "cancer" and calls[0]["rules"] == ["data-drift"]
        # still firing: no second alert, webhook or retraining request
        again = alice.check_monitor(dep, window=100)
        assert again.events == [] and len(webhook.received) == 1 and len(calls) == 1
        # wrong labels arrive: accuracy falls below the rule → BREACH
        alice.log_ground_truth(dep, [f"s-{i}" for i in range(100)], (1 - model.predict(shifted)).tolist())
        rep = alice.check_monitor(dep, window=100)
        assert rep.metrics["accuracy"] < 0.5 and rep.state == "BREACH"
        history = [(e.from_state, e.to_state, e.actor) for e in alice.lifecycle_history("cancer", 1)]
        assert history[-2:] == [("PRODUCTION", "WATCH", "modelops:monitor"), ("WATCH", "BREACH", "modelops:monitor")]
        actions = [e.action for e in alice.audit_entries()]
        assert actions.count("monitor.alert") == 2 and "monitor.retrain_requested" in actions
        assert alice.audit_verify().ok
        reports = alice.monitor_reports(dep)
        assert len(reports) == 4 and reports[0]["firing"][0]["rule"] in ("data-drift", "accuracy")
        inv = {e.name: e for e in alice.inventory()}["cancer"]
        assert inv.state == "BREACH"
    finally:
        alerts.RETRAIN_HOOKS.clear()


def test_rule_validation_and_access(alice, approved, cancer_split, people):
    _, Xte, _, _ = cancer_split
    approved(1, target="batch")
    dep = alice.batch_score("cancer", Xte.head(5), 1)
    for bad, message in (([{"metric": "accuracy", "op": "<<", "value": 1}], "op must be one of"),
                         ([{"name": "x", "metric": "accuracy", "value": "low"}], "needs a numeric value"),
                         ([{"name": "x", "metric": "accuracy", "value": 1, "state": "PANIC"}], "WATCH, BREACH"),
                         ([{"name": "x", "metric": "a", "value": 1, "colour": 1}], "unknown keys")):
        with pytest.raises(InvalidInput, match=message):
            alice.configure_monitor(dep, rules=bad)
    with pytest.raises(InvalidInput, match="http"):
        alice.configure_monitor(dep, webhook="ftp://example.invalid/x")
    cfg = alice.get_monitor(dep)["config"]
    assert [r["name"] for r in cfg["rules"]] == ["data-drift", "error-rate", "latency-p99"]
    with pytest.raises(InvalidInput, match="prediction row 0"):
        alice._call("log_predictions", deployment_id=dep.id, rows=[["only", "three", 1]])
    with pytest.raises(InvalidInput, match="2 ids but 1 labels"):
        alice.log_ground_truth("cancer", ["a", "b"], [1])
    # a viewer may read reports but not log predictions or change rules
    viewer = alice.store.as_actor("vic", {"viewer"})
    from jupyter_modelops import services

    assert services.call(viewer, "monitor_events") == []
    with pytest.raises(Forbidden):
        services.call(viewer, "log_predictions", deployment_id=dep.id, rows=[])
    with pytest.raises(Forbidden):
        services.call(viewer, "configure_monitor", deployment_id=dep.id, window=100)
