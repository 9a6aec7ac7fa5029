"""The whole loop: train → register → request → validation → approval by a second person →
deploy a real local model server → real HTTP traffic, then shifted traffic → drift alert →
the version goes to WATCH (webhook notified, retraining requested) → rollback, which the
running server follows."""

from __future__ import annotations

import httpx

from _modelops_deploy_test_fixtures import oip, wait_for


def test_train_approve_deploy_drift_watch_rollback(alice, bob, approved, cancer_split, cancer_models, webhook):
    Xtr, Xte, ytr, yte = cancer_split
    cols = list(Xte.columns)
    v1, v2 = approved(2)
    assert (v1, v2) == (1, 2)
    alice.promote("cancer", v1, reason="first release")
    assert alice.get_model_version("cancer", 1).state == "PRODUCTION"

    dep = alice.deploy("cancer", alias="champion", target="local",
                       config={"sample_rate": 1.0, "log_interval": 0.1, "reload_interval": 0.5,
                               "check_interval": 0.5},
                       monitor={"window": 150, "min_rows": 60, "webhook": webhook.url})
    assert dep.status == "RUNNING" and dep.alive and dep.version == 1 and dep.alias == "champion"
    assert dep.endpoint.startswith("http://127.0.0.1:")
    monitor = alice.get_monitor(dep)
    assert monitor["reference"]["source"] == "held-out data of the approving request"
    assert set(monitor["reference"]["columns"]) == set(cols)

    with httpx.Client(base_url=dep.endpoint, timeout=10) as http:
        assert http.get("/v2/health/live").json() == {"live": True}
        assert http.get("/v2/health/ready").status_code == 200
        meta = http.get("/v2/models/cancer").json()
        assert meta["name"] == "cancer" and meta["versions"] == ["1"]
        assert [i["name"] for i in meta["inputs"]] == cols

        # normal traffic, OIP and MLflow style; ids let ground truth join later
        rows = Xte.values.tolist()
        ids = []
        for i, row in enumerate(rows[:80]):
            if i % 2:
                r = http.post("/v2/models/cancer/infer", json=oip(cols, [row], rid=f"req-{i}"))
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["id"] == f"req-{i}" and body["model_version"] == "1"
                assert body["outputs"][0]["datatype"] == "INT64" and body["outputs"][0]["shape"] == [1]
            else:
                r = http.post("/invocations", json={"dataframe_split": {"columns": cols, "data": [row]}},
                              headers={"X-Request-ID": f"req-{i}"})
                assert r.status_code == 200, r.text
                assert r.headers["x-request-id"] == f"req-{i}"
                assert r.json()["predictions"] == cancer_models[0].predict(Xte.iloc[[i]]).tolist()
            ids.append(f"req-{i}")
        alice.log_ground_truth(dep, ids, yte.iloc[:80].tolist())
        perf = wait_for(lambda: (p := alice.performance(dep)).get("labelled_rows", 0) >= 80 and p)
        assert perf["accuracy"] > 0.85 and perf["error_rate"] == 0.0 and perf["latency_p99_ms"] < 1000

        # the challenger is promoted: the running server follows the alias
        rollout = alice.promote("cancer", v2, reason="better calibrated")
        assert (rollout.from_version, rollout.to_version, rollout.state) == (1, 2, "PRODUCTION")
        assert [d.version for d in rollout.deployments] == [2]
        assert http.get("/v2/models/cancer").json()["versions"] == ["2"]
        assert http.get("/v2/models/cancer/versions/1").status_code == 404

        # shifted traffic: every feature scaled up
        shifted = (Xte.values * 1.8 + 3.0).tolist()
        for i, row in enumerate(shifted[:90]):
            r = http.post("/v2/models/cancer/infer", json=oip(cols, [row]))
            assert r.status_code == 200

        # the server's own monitor check raises the alert and moves v2 to WATCH
        wait_for(lambda: alice.get_model_version("cancer", 2).state == "WATCH", timeout=30)
        metrics = http.get("/metrics").text
        assert 'modelops_model_info{name="cancer",version="2",flavor="sklearn"} 1' in metrics
        assert "modelops_model_reloads_total 1" in metrics

    history = alice.lifecycle_history("cancer", 2)
    assert (history[-1].from_state, history[-1].to_state, history[-1].actor) == ("PRODUCTION", "WATCH",
                                                                               "modelops:monitor")
    # the check that moved it also notified and asked for retraining (just after the move)
    events = wait_for(lambda: (ev := alice.monitor_events("cancer")) and
                      {"alert", "notified", "retrain_requested"} <= {e.kind for e in ev} and ev)
    alert = next(e for e in events if e.kind == "alert" and e.rule == "data-drift")
    assert alert.version == 2 and alert.severity == "WATCH"
    (hook,) = [h for h in webhook.received if h["json"]["event"] == "modelops.alert"]
    assert hook["json"]["model"] == "cancer" and hook["json"]["version"] == 2
    assert hook["json"]["rules"][0]["rule"] == "data-drift" and hook["json"]["drifted_columns"]

    report = alice.drift_report(dep)
    assert report.dataset_drift and report.drift_share >= 0.5 and report.version == 2
    assert all(c.test == "ks" for c in report.columns)  # small samples
    html = report.to_html()
    assert "<svg" in html and "dataset drift" in html and "<script" not in html

    # roll back: the alias goes back to v1 and the server follows
    back = alice.rollback("cancer", reason="drift alert on v2")
    assert (back.from_version, back.to_version, back.action) == (2, 1, "rollback")
    assert [d.version for d in back.deployments] == [1]
    with httpx.Client(base_url=dep.endpoint, timeout=10) as http:
        assert http.get("/v2/models/cancer").json()["versions"] == ["1"]
        r = http.post("/invocations", json={"dataframe_records": Xte.head(2).to_dict("records")})
        assert r.json()["predictions"] == cancer_models[0].predict(Xte.head(2)).tolist()

    actions = [e.action for e in alice.audit_entries()]
    for expected in ("deployment.create", "rollout.promote", "deployment.reload", "monitor.alert",
                     "monitor.retrain_requested", "rollout.rollback"):
        assert expected in actions, expected
    assert actions.index("rollout.promote") < actions.index("monitor.alert") < actions.index("rollout.rollback")
    rollback = alice.audit_entries(action="rollout.rollback")[0]
    assert rollback.actor == "alice" and rollback.details["from_version"] == 2
    assert rollback.details["to_version"] == 1 and rollback.details["reason"] == "drift alert on v2"
    assert alice.audit_verify().ok

    inventory = {e.name: e for e in alice.inventory()}["cancer"]
    assert inventory.endpoints and inventory.endpoints[0]["endpoint"] == dep.endpoint

    stopped = alice.stop_deployment(dep)
    assert stopped.status == "STOPPED" and stopped.alive is False
