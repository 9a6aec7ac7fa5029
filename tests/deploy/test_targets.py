"""Deployment targets and the approval gate, over both transports where it matters."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import httpx
import pandas as pd
import pytest

from _modelops_deploy_test_fixtures import wait_for
from jupyter_modelops.errors import InvalidInput, PolicyViolation


def test_unapproved_versions_are_refused(client, people, cancer_split, cancer_models):
    alice = people("alice")
    Xtr, Xte, ytr, yte = cancer_split
    alice.register_model(cancer_models[0], "cancer", input_example=Xtr.head(3))
    with pytest.raises(PolicyViolation, match="is REGISTERED: policy 'default' deploys only"):
        client.deploy("cancer", 1, target="local")
    # approved, but for batch scoring only
    alice.set_model_info("cancer", purpose="tests", risk_tier="low")
    req = alice.request_deployment("cancer", 1, target="batch", validation_data=(Xte, yte))
    people("bob").approve_request(req.id)
    with pytest.raises(PolicyViolation, match="approved for batch, not for kserve"):
        client.deploy("cancer", 1, target="kserve")
    with pytest.raises(InvalidInput, match="unknown deployment target 'moon'"):
        client.deploy("cancer", 1, target="moon")
    with pytest.raises(InvalidInput, match="does not know config 'prot'; did you mean 'port'"):
        client.deploy("cancer", 1, target="local", config={"prot": 1})
    assert list(client.deployments(all=True)) == []
    refusals = alice.audit_entries(action="deployment.create.refused")
    assert len(refusals) == 2 and refusals[0].details["rule"] == "deployable"
    assert refusals[1].details["rule"] == "target"


def test_kserve_manifest_validates_against_the_schema(client, people, approved, tmp_path):
    import jsonschema
    import yaml

    from jupyter_modelops.deploy.targets.kserve import SCHEMA

    approved(1, target="kserve")
    out = tmp_path / "isvc.yaml"
    dep = client.deploy("cancer", 1, target="kserve", config={"namespace": "risk", "output": str(out)})
    assert dep.status == "GENERATED" and dep.endpoint == "kserve://risk/cancer"
    manifest = yaml.safe_load(out.read_text())
    assert manifest == dep.details["manifest"]
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(manifest, schema, cls=jsonschema.Draft202012Validator)
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1" and manifest["kind"] == "InferenceService"
    pred = manifest["spec"]["predictor"]
    (container,) = pred["containers"]
    assert container["image"] == "modelops/cancer:v1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    # resources and replicas from the approved request
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert pred["minReplicas"] == 2
    assert manifest["metadata"]["annotations"]["modelops.jupyter.org/approved-by"] == "bob"
    # the stored copy is the same YAML
    assert client._call("get_blob", digest=dep.details["manifest_digest"]).decode() == out.read_text()
    # the schema has teeth: a typo or a bad name fails
    broken = json.loads(json.dumps(manifest))
    broken["spec"]["predictor"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    broken = json.loads(json.dumps(manifest))
    broken["metadata"]["name"] = "Cancer_Model"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    # a KServe runtime instead of the image
    dep2 = client.deploy("cancer", 1, target="kserve",
                         config={"storage_uri": "s3://models/cancer/1", "model_format": "sklearn"})
    assert dep2.details["manifest"]["spec"]["predictor"]["model"]["protocolVersion"] == "v2"


def test_container_build_context_runs_without_docker(alice, approved, cancer_split, cancer_models, tmp_path):
    from jupyter_modelops.deploy.targets.local import free_port, wait_ready

    _, Xte, _, _ = cancer_split
    approved(1, target="container")
    ctx = tmp_path / "ctx"
    dep = alice.deploy("cancer", 1, target="container", config={"output": str(ctx)})
    assert dep.status == "GENERATED" and dep.endpoint == str(ctx)
    dockerfile = (ctx / "Dockerfile").read_text()
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-slim" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "USER 10001" in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/modelops-entrypoint"]' in dockerfile
    entry = (ctx / "entrypoint.sh").read_text()
    assert "serve-model --package=/opt/model" in entry and os.access(ctx / "entrypoint.sh", os.X_OK)
    reqs = [line for line in (ctx / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert reqs and all("==" in r for r in reqs)
    manifest = json.loads((ctx / "model" / "manifest.json").read_text())
    assert f"scikit-learn=={manifest['created_with']['packages']['scikit-learn']}" in reqs
    for rel, entry in manifest["files"].items():
        assert hashlib.sha256((ctx / "model" / "files" / rel).read_bytes()).hexdigest() == entry["digest"]
    about = json.loads((ctx / "model" / "modelops.json").read_text())
    assert (about["name"], about["version"]) == ("cancer", 1)
    assert (ctx / "app" / "jupyter_modelops" / "deploy" / "server.py").is_file()
    assert not list(ctx.rglob("__pycache__"))
    assert dep.details["context_digest"] and dep.details["files"]["Dockerfile"]
    # what the image would run, run here from the context alone
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ctx / "app")}
    env.pop("JUPYTER_MODELOPS_DB", None)
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_modelops.deploy", "serve-model",
                             f"--package={ctx / 'model'}", "--host=127.0.0.1", f"--port={port}"],
                            env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}", proc, 60), proc.stdout.read().decode() if proc.poll() else ""
        r = httpx.post(f"http://127.0.0.1:{port}/invocations",
                       json={"dataframe_split": {"columns": list(Xte.columns), "data": Xte.head(4).values.tolist()}})
        assert r.json()["predictions"] == cancer_models[0].predict(Xte.head(4)).tolist()
        info = httpx.get(f"http://127.0.0.1:{port}/v2/models/cancer").json()
        assert info["versions"] == ["1"]
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_batch_scoring_is_recorded_as_a_run(alice, approved, cancer_split, cancer_models, tmp_path):
    _, Xte, _, _ = cancer_split
    approved(1, target="batch")
    out = tmp_path / "scores.parquet"
    dep = alice.batch_score("cancer", Xte, 1, output=str(out))
    assert dep.status == "SUCCEEDED" and dep.endpoint == str(out) and dep.target == "batch"
    scored = pd.read_parquet(out)
    assert scored["prediction"].tolist() == cancer_models[0].predict(Xte).tolist()
    run = alice.get_run(dep.details["run_id"])
    assert run.status == "FINISHED" and run.params["model"] == "cancer" and run.params["version"] == "1"
    assert run.metrics["rows"] == len(Xte) and run.metrics["rows_per_second"] > 0
    assert run.tags["modelops.deployment"] == dep.id
    assert alice.get_experiment(run.experiment_id).name == "batch-scoring"
    (dataset,) = alice.list_inputs(run.id)
    assert dataset.context == "scoring" and dataset.num_rows == len(Xte)
    assert pd.read_parquet(__import__("io").BytesIO(alice.read_artifact(run.id, "predictions.parquet"))).equals(scored)
    # a CSV file on disk works too, and a sample of the scored rows is in the prediction log
    src = tmp_path / "in.csv"
    Xte.head(20).to_csv(src, index=False)
    dep2 = alice.batch_score("cancer", str(src), 1, output=str(tmp_path / "out.csv"))
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == cancer_models[0].predict(Xte.head(20)).tolist()
    assert alice.performance(dep2)["rows"] == 20
    report = alice.drift_report(dep)
    assert report.current_rows == len(Xte) and not report.dataset_drift
    failed = pytest.raises(InvalidInput, match="no input file")
    with failed:
        alice.batch_score("cancer", str(tmp_path / "missing.csv"), 1)
    assert wait_for(lambda: [d.status for d in alice.deployments(all=True)].count("FAILED") == 1)


def test_magic_table_and_fluent_api(alice, approved, cancer_split, mo):
    from types import SimpleNamespace

    from jupyter_modelops.deploy import fluent as deploy_fluent
    from jupyter_modelops.kernel import capabilities
    from jupyter_modelops.monitor import fluent as monitor_fluent

    _, Xte, _, yte = cancer_split
    approved(1, target="batch")
    dep = deploy_fluent.batch_score("cancer", Xte.head(5), 1)
    view = capabilities.deployments(SimpleNamespace(client=alice), None)
    assert list(view) == []  # batch jobs are done, not active
    table = deploy_fluent.deployments(all=True)
    assert [d.id for d in table] == [dep.id]
    html = table._repr_html_()
    assert "SUCCEEDED" in html and dep.id[:8] in html and "cancer" in repr(table)
    n = monitor_fluent.log_ground_truth("cancer", [f"{dep.id[:8]}-batch:{i}" for i in range(5)], yte.head(5).tolist())
    assert n == 5 and alice.performance(dep)["labelled_rows"] == 5
