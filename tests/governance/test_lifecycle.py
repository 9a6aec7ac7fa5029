"""The default life cycle end to end: request, automated validation, approval by a second
person, rejection with a comment, roles, separation of duties, ``require_deployable``."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_modelops.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyViolation
from jupyter_modelops.governance.lifecycle import require_deployable

from .conftest import actions


def test_default_policy_end_to_end(alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    v = registered()
    assert v.state == "REGISTERED"

    req = alice.request_deployment("cancer", 1, target="local", justification="beats the rules engine",
                                   resources={"cpu": "1", "memory": "2Gi", "replicas": 1},
                                   validation_data=(Xte, yte))
    assert req.status == "PENDING" and req.requested_by == "alice"
    assert req.resources == {"cpu": "1", "memory": "2Gi", "replicas": 1}
    # Validation ran in the service on the held-out data, and its passing checks validated the version.
    assert req.validation["status"] == "passed", req.validation
    assert {c["name"]: c["status"] for c in req.validation["checks"]} == {
        "load": "passed", "signature": "passed", "smoke": "passed", "metrics": "passed"}
    assert 0.8 < req.validation["metrics"]["accuracy"] <= 1 and "roc_auc" in req.validation["metrics"]
    assert req.state == "VALIDATED"
    # The evidence bundle was assembled automatically (the widget's item ids).
    checklist = {i["id"]: i for i in req.checklist}
    assert {"validation_results", "model_card", "metrics_logged", "training_data", "code_hash",
            "no_out_of_order"} <= set(checklist)
    assert all(checklist[k]["ok"] for k in checklist), checklist
    assert checklist["validation_results"]["required"] and not checklist["code_hash"]["required"]
    bundle = next(e for e in req.evidence if e["kind"] == "bundle")
    assert bundle["data"]["metrics"]["accuracy"] > 0.8
    assert bundle["data"]["training_data"][0]["name"] == "biopsies-train"
    assert bundle["data"]["code_hash"] == "c0de" * 16 and bundle["data"]["out_of_order"] is False
    # The held-out data was stored as Parquet, never pickle.
    spec = next(e for e in req.evidence if e["kind"] == "validation")
    assert alice._call("get_blob", digest=spec["digest"])[:4] == b"PAR1"

    with pytest.raises(PolicyViolation) as refused:
        alice.approve_request(req.id)
    message = refused.value.message
    assert "rule 'approve'" in message and "separation of duties" in message and "alice" in message
    assert refused.value.details["rule"] == "approve" and refused.value.details["party"] == "requester"
    assert alice.get_request(req.id).status == "PENDING"

    done = bob.approve_request(req.id[:8], comment="validated on the 2024 holdout")
    assert done.status == "APPROVED" and done.state == "APPROVED" and done.decided_by == "bob"
    (review,) = done.reviews
    assert (review["reviewer"], review["decision"], review["comment"]) == (
        "bob", "approve", "validated on the 2024 holdout")
    assert len(review["evidence_digest"]) == 64 and not review["self_review"]
    assert alice.get_model_version("cancer", 1).state == "APPROVED"

    history = [(e.from_state, e.to_state, e.rule, e.actor) for e in alice.lifecycle_history("cancer", 1)]
    assert history == [("REGISTERED", "IN_VALIDATION", "submit", "alice"),
                       ("IN_VALIDATION", "VALIDATED", "validate", "modelops:validation"),
                       ("VALIDATED", "APPROVED", "approve", "bob")]

    # Every step is in the audit log, in order, and the chain is intact.
    steps = [a for a in actions(alice) if a.startswith(("request.", "validation.", "version."))]
    assert steps == ["request.create", "version.transition", "validation.run", "version.transition",
                     "request.approve.refused", "request.approve", "version.transition"]
    assert "create_version" in actions(alice)  # registry writes are audited too
    refusal = alice.audit_entries(action="request.approve.refused")[0]
    assert refusal.actor == "alice" and refusal.details["rule"] == "approve"
    approval = alice.audit_entries(action="request.approve")[0]
    assert approval.actor == "bob" and approval.details["evidence"] == ["validation_results", "model_card"]
    assert alice.audit_verify().ok

    assert require_deployable(alice.store, "cancer", 1).id == req.id
    assert require_deployable(alice.store, "cancer", 1, target="local").id == req.id
    with pytest.raises(PolicyViolation, match="approved for local, not for kserve"):
        require_deployable(alice.store, "cancer", 1, target="kserve")
    with pytest.raises(Conflict, match="APPROVED already"):
        bob.approve_request(req.id)


def test_rejection_path_with_comment(alice, bob, carol, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    registered()
    req = alice.request_deployment("cancer", 1, target="batch", validation_data=(Xte, yte))
    with pytest.raises(InvalidInput, match="needs a comment"):
        bob.reject_request(req.id, "  ")
    with pytest.raises(PolicyViolation, match="withdraw it"):
        alice.reject_request(req.id, "changed my mind")
    done = bob.reject_request(req.id, "recall on the minority class is too low")
    assert done.status == "REJECTED" and done.state == "REJECTED"
    assert done.decision_comment == "recall on the minority class is too low"
    assert done.reviews[0]["decision"] == "reject"
    with pytest.raises(Conflict):
        carol.approve_request(req.id)
    with pytest.raises(PolicyViolation, match="is REJECTED"):
        require_deployable(alice.store, "cancer", 1)
    entry = alice.audit_entries(action="request.reject")[0]
    assert entry.actor == "bob" and entry.details["comment"] == "recall on the minority class is too low"
    assert [e.to_state for e in alice.lifecycle_history("cancer", 1)][-1] == "REJECTED"
    # A rejected version may be resubmitted (default policy rule 'submit').
    again = alice.request_deployment("cancer", 1, target="batch", validation_data=(Xte, yte))
    assert again.state == "VALIDATED" and again.status == "PENDING"
    assert [r.id for r in alice.list_requests()] == [again.id]
    assert {r.status for r in alice.list_requests(all=True)} == {"PENDING", "REJECTED"}


def test_transitions_obey_rules_roles_and_duties(alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    registered()
    with pytest.raises(PolicyViolation) as info:
        alice.transition("cancer", 1, "PRODUCTION")
    assert "no rule from REGISTERED to PRODUCTION" in info.value.message
    assert "IN_VALIDATION (rule 'submit'" in info.value.message
    with pytest.raises(InvalidInput, match="did you mean APPROVED"):
        alice.transition("cancer", 1, "APROVED")

    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    with pytest.raises(PolicyViolation, match="only by approving a deployment request"):
        bob.transition("cancer", 1, "APPROVED")
    bob.approve_request(req.id)

    # Roles, by acting on the same store with chosen roles.
    from jupyter_modelops import services

    ds = alice.store.as_actor("dave", {"data_scientist"})
    with pytest.raises(Forbidden) as info:
        services.call(ds, "transition", name="cancer", version=1, to="STAGED")
    assert "rule 'stage'" in info.value.message and "deployer" in info.value.message
    viewer = alice.store.as_actor("vic", {"viewer"})
    with pytest.raises(Forbidden, match="needs the role admin or data_scientist"):
        services.call(viewer, "request_deployment", name="cancer", version=1, target="local")
    with pytest.raises(Forbidden, match="approver"):
        services.call(ds, "approve_request", request_id=req.id)
    deployer = alice.store.as_actor("dee", {"deployer"})
    staged = services.call(deployer, "transition", name="cancer", version=1, to="STAGED", comment="canary")
    assert (staged.from_state, staged.to_state, staged.actor) == ("APPROVED", "STAGED", "dee")
    assert services.call(deployer, "transition", name="cancer", version=1, to="PRODUCTION").to_state == "PRODUCTION"
    assert require_deployable(alice.store, "cancer", 1) is not None
    services.call(deployer, "transition", name="cancer", version=1, to="BREACH")
    with pytest.raises(PolicyViolation, match="is BREACH"):
        require_deployable(alice.store, "cancer", 1)
    # Reinstating a breached model needs an approver who did not build it.
    with pytest.raises(PolicyViolation, match="not by the developer"):
        alice.transition("cancer", 1, "PRODUCTION")
    assert bob.transition("cancer", 1, "PRODUCTION").rule == "reinstate"
    assert bob.transition("cancer", 1, "RETIRED").to_state == "RETIRED"
    refusals = alice.audit_entries(action="version.transition.refused")
    assert {e.actor for e in refusals} >= {"alice", "dave"}
    assert alice.audit_verify().ok


def test_request_errors_are_plain(alice, registered):
    registered()
    with pytest.raises(NotFound):
        alice.request_deployment("nope", 1, target="local")
    with pytest.raises(InvalidInput, match="target"):
        alice.request_deployment("cancer", 1, target="Local Host")
    with pytest.raises(InvalidInput, match="Parquet or CSV"):
        alice.request_deployment("cancer", 1, target="local",
                                 validation_data={"digest": "0" * 64, "format": "pickle"})
    req = alice.request_deployment("cancer", 1, target="local")
    # Without held-out data the smoke test runs on rows made from the signature.
    smoke = next(c for c in req.validation["checks"] if c["name"] == "smoke")
    assert smoke["status"] == "passed" and "signature" in smoke["detail"]
    with pytest.raises(Conflict, match="pending already"):
        alice.request_deployment("cancer", 1, target="local")
    with pytest.raises(NotFound):
        alice.get_request("abcdef12")
    with pytest.raises(InvalidInput, match="prefix"):
        alice.get_request("xyz")
    assert alice.withdraw_request(req.id).status == "WITHDRAWN"


def test_untrusted_pyfunc_is_validated_only_with_a_validators_trust(alice, bob, carol, cancer_split):
    _, Xte, _, yte = cancer_split

    def threshold_model(X):
        return (X["mean radius"] < 15).astype(int).to_numpy()

    v = alice.register_model(threshold_model, "radius-rule", input_example=Xte.head(3))
    assert v.trusted is False
    alice.set_model_info("radius-rule", purpose="Baseline to compare the classifier with")
    req = alice.request_deployment("radius-rule", 1, target="local", validation_data=(Xte, yte))
    assert req.validation["status"] == "not_run" and "requires trust" in req.validation["summary"]
    assert req.state == "IN_VALIDATION"
    with pytest.raises(PolicyViolation) as info:
        bob.approve_request(req.id)
    assert "is IN_VALIDATION" in info.value.message and "requires trust" in info.value.message
    with pytest.raises(PolicyViolation, match="not by the developer"):
        alice.run_validation(req.id, trusted=True)
    from jupyter_modelops import services

    ds = alice.store.as_actor("dave", {"data_scientist"})
    with pytest.raises(Forbidden, match="validator"):
        services.call(ds, "run_validation", request_id=req.id, trusted=True)

    checked = bob.run_validation(req.id, trusted=True)
    assert checked.validation["status"] == "passed" and checked.validation["trusted"] is True
    assert checked.state == "VALIDATED"
    assert carol.approve_request(req.id).state == "APPROVED"
    (row,) = alice.inventory(kind=None, state="APPROVED")
    assert row.name == "radius-rule" and row.requires_trust is True and row.approved_by == "carol"
    run_entry = alice.audit_entries(action="validation.run")[-1]
    assert run_entry.actor == "bob" and run_entry.details["trusted"] is True


def test_check_evidence_previews_what_the_service_decides(alice, registered):
    from jupyter_modelops.kernel.widgets.evidence import DEFAULT_EVIDENCE

    registered(purpose=None)
    items = alice.check_evidence("cancer", 1)
    assert {i.id for i in items} >= set(DEFAULT_EVIDENCE)
    by_id = {i.id: i for i in items}
    assert by_id["model_card"].required and not by_id["model_card"].ok
    assert "intended use" in by_id["model_card"].fix
    assert not by_id["validation_results"].ok and by_id["training_data"].ok and by_id["code_hash"].ok


def test_widget_submits_a_request(alice, registered):
    from jupyter_modelops.kernel.widgets.deploy import DeployRequestForm

    registered()
    form = DeployRequestForm(alice, "cancer", version=1)
    form.justification.value = "first production model"
    req = form.submit()
    assert req is not None and req.status == "PENDING" and req.justification == "first production model"
    assert req.resources == {"cpu": "1", "memory": "2Gi", "replicas": 1}


def test_card_edit_is_required_evidence_and_audited(alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    registered(purpose=None)
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    with pytest.raises(PolicyViolation) as info:
        bob.approve_request(req.id)
    assert info.value.details["missing"] == ["model_card"]
    alice.update_model_card("cancer", 1, intended_use="Second reading of biopsies; never a sole diagnosis")
    done = bob.approve_request(req.id)
    assert done.state == "APPROVED"
    entry = alice.audit_entries(action="card.update")[0]
    assert entry.details["sections"] == ["intended_use"] and entry.details["revision"] == 1
    card = alice.get_model_card("cancer", 1)
    assert card.facts["approvals"][0]["by"] == "bob"
    assert alice.audit_entries(action="request.approve")[0].details["card_sha256"] == card.digest[:16]


def test_frames_with_target_column_and_run_artifacts_as_validation_data(alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    registered()
    frame = Xte.assign(label=yte.to_numpy(), segment=["a" if i % 3 else "b" for i in range(len(Xte))])
    req = alice.request_deployment("cancer", 1, target="local", validation_data=frame, target_column="label",
                                   slices=["segment"])
    val = next(e for e in req.evidence if e["kind"] == "validation")
    assert set(val["data"]["slices"]["segment"]) == {"a", "b"}
    assert val["data"]["slices"]["segment"]["a"]["rows"] > 20
    alice.withdraw_request(req.id)
    # A CSV logged on a run serves as held-out data too.
    with alice.start_run("holdout") as run:
        alice.log_bytes(run.id, frame.drop(columns=["segment"]).to_csv(index=False).encode(), "holdout.csv")
    req = alice.request_deployment("cancer", 1, target="batch", validation_data=f"runs:/{run.id}/holdout.csv",
                                   target_column="label")
    assert req.validation["status"] == "passed" and "accuracy" in req.validation["metrics"]
    assert pd.api.types.is_number(req.validation["metrics"]["f1"])


def test_an_approved_version_needs_a_new_approval_per_target(alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    registered()
    first = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    bob.approve_request(first.id)
    second = alice.request_deployment("cancer", 1, target="kserve", validation_data=(Xte, yte))
    assert second.status == "PENDING" and second.state == "APPROVED"  # no move: it is approved already
    with pytest.raises(PolicyViolation, match="not for kserve"):
        require_deployable(alice.store, "cancer", 1, target="kserve")
    with pytest.raises(PolicyViolation, match="separation of duties"):
        alice.approve_request(second.id)
    assert bob.approve_request(second.id).state == "APPROVED"
    assert require_deployable(alice.store, "cancer", 1, target="kserve").id == second.id
    third = alice.request_deployment("cancer", 1, target="batch")
    assert bob.reject_request(third.id, "no batch scoring for this one").state == "APPROVED"
    assert [e.to_state for e in alice.lifecycle_history("cancer")] == ["IN_VALIDATION", "VALIDATED", "APPROVED"]


def test_service_functions_hold_outside_services_call(alice, registered, cancer_split):
    """The governance services manage their own transactions: called directly (not through
    ``services.call``'s enclosing transaction) they behave the same."""
    from jupyter_modelops.governance import approvals, audit

    _, Xte, _, yte = cancer_split
    registered()
    spec = approvals.val.encode_frame(Xte, yte)
    digest, _ = alice.store.artifacts.put_bytes(spec[0])
    a = alice.store.as_actor("alice", {"data_scientist", "approver"})
    b = alice.store.as_actor("bob", {"approver"})
    req = approvals.request_deployment(a, "cancer", 1, target="local", validation_data={**spec[1], "digest": digest})
    assert req.state == "VALIDATED"
    with pytest.raises(PolicyViolation, match="separation of duties"):
        approvals.approve_request(a, req.id)
    assert approvals.approve_request(b, req.id).state == "APPROVED"
    steps = [e.action for e in audit.entries(alice.store, subject_id=req.id)]
    assert steps == ["request.create", "validation.run", "request.approve.refused", "request.approve"]
    assert audit.verify(alice.store).ok


def test_reference_data_travels_with_the_request_for_monitoring(mo_home, alice, bob, registered, cancer_split):
    Xtr, Xte, _, yte = cancer_split
    (mo_home / "policy.yaml").write_text(
        "extends: default\ntransitions:\n  approve:\n    from: VALIDATED\n    to: APPROVED\n"
        "    roles: [approver]\n    not_by: [requester]\n    via: request\n"
        "    evidence: [validation_results, model_card, drift_reference]\n")
    registered()
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    with pytest.raises(PolicyViolation, match="drift reference dataset"):
        bob.approve_request(req.id)
    alice.withdraw_request(req.id)
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte),
                                   reference_data=(Xtr,))
    ref = next(e for e in req.evidence if e["kind"] == "drift_reference")
    assert alice._call("get_blob", digest=ref["digest"])[:4] == b"PAR1" and ref["data"]["rows"] == len(Xtr)
    assert next(i for i in req.checklist if i["id"] == "drift_reference")["ok"]
    assert bob.approve_request(req.id).state == "APPROVED"
