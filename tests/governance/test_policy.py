"""Policy files: custom states and evidence rules, solo policies, broken files refused with
the line and the reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from jupyter_modelops.errors import PolicyViolation
from jupyter_modelops.governance.policy import (
    DEFAULT_POLICY,
    PolicyFileError,
    default_policy,
    load_policy,
    parse_policy,
)

FAIRNESS = textwrap.dedent("""\
    # Credit models get a fairness review between validation and approval.
    extends: default
    name: credit
    states: [FAIRNESS_REVIEW]
    validation:
      sign_off: validator            # a person signs validation off
      metrics:
        - {metric: accuracy, min: 0.8}
    transitions:
      fairness_review:
        from: VALIDATED
        to: FAIRNESS_REVIEW
        roles: [validator]
        not_by: [developer]
        evidence: [{evidence: fairness_report}, {metric: accuracy, min: 0.8, on: validation}]
      approve:
        from: FAIRNESS_REVIEW
        to: APPROVED
        roles: [approver]
        not_by: [requester, validator]
        via: request
        evidence: [validation_results, model_card, validator_sign_off]
      watch: null
    """)


def test_default_policy_is_the_documented_life_cycle():
    p = default_policy()
    assert p.states == ("DRAFT", "REGISTERED", "IN_VALIDATION", "VALIDATED", "REJECTED", "APPROVED", "STAGED",
                        "PRODUCTION", "WATCH", "BREACH", "RETIRED")
    assert p.find("VALIDATED", "APPROVED").not_by == ("requester",)
    assert p.find("IN_VALIDATION", "VALIDATED").not_by == ("developer",)
    assert p.find("STAGED", "PRODUCTION").roles == {"deployer"}
    assert p.find("PRODUCTION", "RETIRED").name == "retire"
    assert p.deployable == {"APPROVED", "STAGED", "PRODUCTION", "WATCH"}
    assert parse_policy(DEFAULT_POLICY).sha256 == p.sha256


def test_custom_state_and_evidence_rule(mo_home, alice, bob, carol, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    (mo_home / "policy.yaml").write_text(FAIRNESS)
    assert alice.get_policy()["name"] == "credit"
    registered()
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    assert req.policy["name"] == "credit"
    assert req.validation["status"] == "passed"
    assert {c["name"] for c in req.validation["checks"]} >= {"threshold:accuracy"}
    assert req.state == "IN_VALIDATION"  # sign_off: validator — no automatic move

    with pytest.raises(PolicyViolation, match="not by the developer"):
        alice.validate_request(req.id)
    assert bob.validate_request(req.id, "holdout looks representative").state == "VALIDATED"
    with pytest.raises(PolicyViolation) as info:
        carol.approve_request(req.id)
    assert "approves requests from FAIRNESS_REVIEW (rule 'approve')" in info.value.message

    with pytest.raises(PolicyViolation) as info:
        bob.transition("cancer", 1, "FAIRNESS_REVIEW")
    assert "rule 'fairness_review'" in info.value.message and "fairness_report" in info.value.message
    alice.add_evidence("cancer", 1, "fairness_report", "passed", "I checked it myself")
    with pytest.raises(PolicyViolation, match="attached by the developer"):
        bob.transition("cancer", 1, "FAIRNESS_REVIEW")
    carol.add_evidence("cancer", 1, "fairness_report", "passed", "equal opportunity gap 0.02",
                       data={"gap": 0.02}, request_id=req.id)
    assert bob.transition("cancer", 1, "FAIRNESS_REVIEW").rule == "fairness_review"

    # bob signed validation off: under this policy he may not approve as well.
    with pytest.raises(PolicyViolation, match="not by the validator"):
        bob.approve_request(req.id)
    done = carol.approve_request(req.id, "fair enough")
    assert done.state == "APPROVED"
    assert [e.to_state for e in alice.lifecycle_history("cancer", 1)] == [
        "IN_VALIDATION", "VALIDATED", "FAIRNESS_REVIEW", "APPROVED"]
    assert alice.audit_entries(action="version.transition")[-1].details["policy"] == "credit"
    # 'watch: null' removed the rule.
    with pytest.raises(PolicyViolation, match="no rule from APPROVED to WATCH"):
        bob.transition("cancer", 1, "WATCH")


def test_threshold_failure_keeps_the_version_in_validation(mo_home, alice, bob, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    policy = mo_home / "strict.yaml"
    policy.write_text("extends: default\nvalidation:\n  require_data: true\n  metrics: [{metric: accuracy, min: 0.999}]\n")
    import os

    os.environ["JUPYTER_MODELOPS_POLICY"] = str(policy)
    try:
        registered()
        with pytest.raises(PolicyViolation, match="validation.require_data"):
            alice.request_deployment("cancer", 1, target="local")
        req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
        assert req.validation["status"] == "failed"
        assert "threshold:accuracy" in req.validation["summary"] and "required ≥ 0.999" in req.validation["summary"]
        assert req.state == "IN_VALIDATION"
        with pytest.raises(PolicyViolation) as info:
            bob.approve_request(req.id)
        assert "validation failed" in info.value.message
        assert bob.reject_request(req.id, "below the accuracy bar").state == "REJECTED"
    finally:
        del os.environ["JUPYTER_MODELOPS_POLICY"]


def test_solo_policy_allows_self_approval_and_says_so(mo_home, alice, registered, cancer_split):
    _, Xte, _, yte = cancer_split
    (mo_home / "policy.yaml").write_text("extends: default\nname: solo\nsolo: true\n")
    registered()
    req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
    done = alice.approve_request(req.id, "just me here")
    assert done.state == "APPROVED" and done.reviews[0]["self_review"] is True
    event = alice.lifecycle_history("cancer", 1)[-1]
    assert event.self_approved is True and event.actor == "alice"
    entry = alice.audit_entries(action="request.approve")[0]
    assert entry.details["self_approval"] is True
    assert alice.audit_entries(action="version.transition")[-1].details["self_approval"] is True
    (row,) = alice.inventory()
    assert "(self-approved under a solo policy)" in row.evidence
    assert "self-approved" in alice.get_model_card("cancer", 1).markdown


@pytest.mark.parametrize("text, line, reason", [
    ("extends: default\ntransitions:\n  approve:\n    from: VALIDATED\n    to: APROVED\n    roles: [approver]\n",
     5, "unknown state 'APROVED' (did you mean 'APPROVED'?)"),
    ("extends: default\ntransitions:\n  approve:\n    from: VALIDATED\n    to: APPROVED\n    roles: [aprover]\n",
     6, "unknown role 'aprover'"),
    ("extends: default\ntransitions:\n  ship: {from: APPROVED, to: PRODUCTION, roles: [deployer],\n"
     "         evidence: [unit_tests]}\n", 4, "unknown evidence 'unit_tests'"),
    ("extends: default\nvalidation:\n  metrics:\n    - {metric: acuracy, min: 0.9}\n", 4,
     "held-out metric 'acuracy' cannot be computed (did you mean 'accuracy'?)"),
    ("extends: default\nsolo: yes please\n", 2, "solo must be true or false"),
    ("extends: default\nsolo: true\nsolo: false\n", 3, "'solo' is given twice"),
    ("extends: default\ntransitions:\n  approve:\n    from: [VALIDATED\n    to: APPROVED\n", 5,
     "not valid YAML"),
    ("name: tiny\nstates: [A, B]\ndeployable: [B]\ntransitions:\n  go: {from: A, to: B, roles: [admin]}\n"
     "  back: {from: B, to: A, roles: [admin], not_by: [intern]}\n", 6, "not_by 'intern'"),
    ("extends: default\ntransitions:\n  approve:\n    from: VALIDATED\n    to: APPROVED\n    roles: [approver]\n"
     "    evidense: [model_card]\n", 7, "unknown transition 'approve' key 'evidense' (did you mean 'evidence'?)"),
    ("extends: default\nstates: [ORPHAN]\n", 2, "state 'ORPHAN' is neither reached nor left"),
    ("- just\n- a list\n", 1, "a policy file is a mapping"),
])
def test_broken_policy_names_line_and_reason(tmp_path, text, line, reason):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    assert info.value.details["line"] == line, info.value.message
    assert f"{path} line {line}: " in info.value.message
    assert reason in info.value.message


def test_all_problems_are_listed_first_one_in_the_message(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("extends: default\ntransitions:\n  approve:\n    from: VALIDATED\n    to: APROVED\n"
                    "    roles: [approvers]\n    evidense: []\n")
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    assert info.value.details["line"] == 5 and "(and 2 more problems)" in info.value.message
    assert len(info.value.details["problems"]) == 3


def test_a_broken_policy_in_force_stops_governed_actions(mo_home, alice, registered):
    registered()
    (mo_home / "policy.yaml").write_text("extends: default\ntransitions:\n  approve: {from: NOWHERE}\n")
    with pytest.raises(PolicyFileError, match="line 3"):
        alice.request_deployment("cancer", 1, target="local")
    with pytest.raises(PolicyFileError):
        alice.transition("cancer", 1, "IN_VALIDATION")
    (mo_home / "policy.yaml").write_text("extends: default\n")
    assert alice.request_deployment("cancer", 1, target="local").status == "PENDING"


def test_policy_check_cli(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(FAIRNESS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: default\ntransitions:\n  approve:\n    to: APROVED\n")

    def jm(*args):
        return subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "policy", *args,
                               f"--home={tmp_path}"], capture_output=True, text=True, timeout=120)

    ok = jm("check", str(good))
    assert ok.returncode == 0 and "policy 'credit' is valid" in ok.stdout
    broken = jm("check", str(bad))
    assert broken.returncode == 1
    assert f"error: {bad} line 3: transition 'approve' needs from:" in broken.stderr
    shown = jm("default")
    assert shown.returncode == 0 and parse_policy(shown.stdout).name == "default"
