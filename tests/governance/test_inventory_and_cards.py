"""External and rules models in the same life cycle; the inventory; model cards."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys

import pytest

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.registry.external import ExternalModel

LOAN_RULES = {
    "inputs": {"age": "number", "country": "string", "income": "number"},
    "output": {"name": "decision", "type": "string"},
    "hit_policy": "first",
    "default": "review",
    "rules": [{"when": "age >= 18 and country in ('FR', 'DE') and income > 2000", "then": "approve"},
              {"when": "age < 18", "then": "reject"}],
}
INTERFACE = {"inputs": [{"name": "amount", "type": "float"}, {"name": "mcc", "type": "int"}],
             "outputs": [{"name": "score", "type": "float"}], "runtime": "c++17 shared library",
             "vendor": "Acme Scoring"}


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "libscore.so"
    path.write_bytes(b"\x7fELF pretend scoring library" * 100)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_external_and_rules_models_share_the_life_cycle(alice, bob, registered, binary, mo_home):
    import pandas as pd

    registered()
    path, digest = binary
    ext = alice.register_model(ExternalModel(uri=str(path), sha256=digest, interface=INTERFACE), "fraud-score")
    rules = alice.register_model(LOAN_RULES, "loan-rules")
    assert (ext.flavor, rules.flavor) == ("external", "rules")
    alice.set_model_info("fraud-score", owner="payments-team", purpose="Score card payments for fraud",
                         risk_tier="Critical")
    alice.set_model_info("loan-rules", purpose="Credit pre-screening policy", risk_tier="high")

    ext_req = alice.request_deployment("fraud-score", 1, target="container", justification="vendor v7")
    checks = {c["name"]: c["status"] for c in ext_req.validation["checks"]}
    assert checks == {"load": "passed", "signature": "passed", "binary": "passed", "smoke": "not_run"}
    assert ext_req.validation["status"] == "passed" and ext_req.state == "VALIDATED"

    holdout = pd.DataFrame({"age": [17, 30, 40, 25] * 10, "country": ["FR", "DE", "US", "FR"] * 10,
                            "income": [0, 3000, 5000, 2500] * 10,
                            "decision": ["reject", "approve", "review", "approve"] * 10})
    rules_req = alice.request_deployment("loan-rules", 1, target="batch", validation_data=holdout,
                                         target_column="decision")
    assert rules_req.validation["status"] == "passed", rules_req.validation
    assert rules_req.validation["metrics"]["accuracy"] == 1.0

    for req in (ext_req, rules_req):
        with pytest.raises(Exception, match="separation of duties"):
            alice.approve_request(req.id)
        assert bob.approve_request(req.id).state == "APPROVED"

    rows = {e.name: e for e in alice.inventory()}
    assert set(rows) == {"cancer", "fraud-score", "loan-rules"}
    fraud = rows["fraud-score"]
    assert (fraud.kind, fraud.owner, fraud.risk_tier, fraud.state, fraud.approved_by) == (
        "external", "payments-team", "critical", "APPROVED", "bob")
    assert fraud.evidence == ["validation_results", "model_card"] and fraud.validation == "passed"
    assert fraud.endpoints == [] and fraud.monitors == [] and fraud.requires_trust is False
    assert rows["loan-rules"].kind == "rules" and rows["loan-rules"].approval_request == rules_req.id
    assert rows["cancer"].state == "REGISTERED" and rows["cancer"].approved_by is None
    assert [e.name for e in alice.inventory(kind="external")] == ["fraud-score"]
    assert [e.name for e in alice.inventory(state="APPROVED")] == ["fraud-score", "loan-rules"]

    # The same through the command line, as CSV and JSON.
    def jm(*args):
        proc = subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "inventory", *args,
                               f"--home={mo_home}"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    table = jm()
    assert "fraud-score" in table and "payments-team" in table and "critical" in table
    parsed = list(csv.DictReader(io.StringIO(jm("--format=csv"))))
    assert {r["name"]: r["kind"] for r in parsed} == {"cancer": "ml", "fraud-score": "external",
                                                     "loan-rules": "rules"}
    assert next(r for r in parsed if r["name"] == "loan-rules")["approved_by"] == "bob"
    data = json.loads(jm("--format=json", "--state=APPROVED"))
    assert [d["name"] for d in data] == ["fraud-score", "loan-rules"]
    out = mo_home / "inventory.csv"
    jm("--format=csv", f"--output={out}")
    assert out.read_text().startswith("name,kind,owner,purpose,risk_tier")


def test_inventory_marks_pickle_based_versions_and_escapes_csv(alice):
    from jupyter_modelops.governance.inventory import to_csv

    alice.register_model(lambda X: [0] * len(X), "=cmd|calc", flavor="pyfunc")
    alice.set_model_info("=cmd|calc", purpose="=HYPERLINK(\"http://evil\")")
    (row,) = alice.inventory()
    assert row.requires_trust is True and row.flavor == "pyfunc" and row.state == "REGISTERED"
    text = to_csv([row])
    parsed = list(csv.DictReader(io.StringIO(text)))[0]
    assert parsed["name"] == "'=cmd|calc" and parsed["purpose"].startswith("'=")
    assert parsed["requires_trust"] == "yes"


def test_inventory_providers_fill_endpoints(alice, registered, store):
    from jupyter_modelops.governance import inventory

    v = registered()

    def endpoints(st, version_ids):
        return {vid: [{"target": "local", "url": "http://127.0.0.1:1234/v2/models/cancer"}]
                for vid in version_ids if vid == v.id}

    inventory.register_provider("endpoints", endpoints)
    try:
        (row,) = alice.inventory()
        assert row.endpoints == [{"target": "local", "url": "http://127.0.0.1:1234/v2/models/cancer"}]
    finally:
        inventory._PROVIDERS["endpoints"].remove(endpoints)
    with pytest.raises(ValueError):
        inventory.register_provider("owners", endpoints)


def test_model_card_is_generated_editable_and_escaped(alice, registered):
    registered()
    card = alice.get_model_card("cancer")
    assert card.revision == 0 and card.version == 1
    assert card.sections["intended_use"] == "Flag biopsies for a second reading"  # from set_model_info
    assert "biopsies-train" in card.sections["training_data"]
    assert card.facts["metrics"]["accuracy"] > 0.8 and card.facts["owner"] == "alice"
    assert "# Model card: cancer v1" in card.markdown and "## Limitations" in card.markdown
    assert "_Not written yet._" in card.markdown

    hostile = "Not for children <script>alert('x')</script> [click](javascript:steal()) **bold**"
    edited = alice.update_model_card("cancer", 1, limitations=hostile,
                                     ethical_considerations="Under-represents patients over 80.\nAudit yearly.")
    assert edited.revision == 1 and edited.updated_by == "alice"
    assert edited.sections["limitations"] == hostile  # stored as written
    assert "<script>" not in edited.markdown and "&lt;script&gt;" in edited.markdown
    assert "\\[click\\]\\(javascript:steal\\(\\)\\)" in edited.markdown and "\\*\\*bold\\*\\*" in edited.markdown
    assert "<script>" not in edited.html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in edited.html
    assert "Under-represents patients over 80.<br>Audit yearly." in edited.html
    assert edited.digest != card.digest
    assert edited._repr_html_() == edited.html

    back = alice.update_model_card("cancer", 1, {"limitations": None})
    assert back.revision == 2 and "limitations" not in back.sections
    with pytest.raises(InvalidInput, match="did you mean 'limitations'"):
        alice.update_model_card("cancer", 1, limitation="typo")
    with pytest.raises(InvalidInput, match="must be text"):
        alice.update_model_card("cancer", 1, caveats=42)
    assert [e.details["revision"] for e in alice.audit_entries(action="card.update")] == [1, 2]
