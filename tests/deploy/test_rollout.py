"""Rollout by aliases: promote, roll back along the alias history, every move audited —
over both transports — and the same from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jupyter_modelops.deploy.client_api import DeployClientMixin as Deploy
from jupyter_modelops.errors import Conflict, PolicyViolation


def test_promote_and_rollback_are_audited(client, people, approved, cancer_split, cancer_models):
    alice = people("alice")
    approved(3)
    Xtr = cancer_split[0]
    alice.register_model(cancer_models[0], "cancer", input_example=Xtr.head(3))  # v4: never approved
    for v in (1, 2, 3):
        out = Deploy.promote(client, "cancer", v, reason=f"release {v}")
        assert (out.to_version, out.state, out.action) == (v, "PRODUCTION", "promote")
    assert client.get_model_version("cancer", alias="champion").version == 3
    with pytest.raises(Conflict, match="is v3 already"):
        Deploy.promote(client, "cancer", 3)
    with pytest.raises(PolicyViolation, match="is REGISTERED"):
        Deploy.promote(client, "cancer", 4)
    # the challenger alias is promoted by default
    client.set_alias("cancer", "challenger", 2)
    back = Deploy.rollback(client, "cancer", reason="v3 misbehaves")
    assert (back.from_version, back.to_version) == (3, 2)
    assert Deploy.rollback(client, "cancer").to_version == 1
    with pytest.raises(Conflict, match="no earlier version"):
        Deploy.rollback(client, "cancer")
    assert Deploy.promote(client, "cancer").to_version == 2  # @challenger
    entries = [e for e in alice.audit_entries(action="rollout.*") if not e.action.endswith(".refused")]
    assert [(e.action, e.details["from_version"], e.details["to_version"]) for e in entries] == [
        ("rollout.promote", None, 1), ("rollout.promote", 1, 2), ("rollout.promote", 2, 3),
        ("rollout.rollback", 3, 2), ("rollout.rollback", 2, 1), ("rollout.promote", 1, 2)]
    assert all(e.actor == "alice" for e in entries)
    assert entries[3].details["reason"] == "v3 misbehaves"
    refused = alice.audit_entries(action="rollout.promote.refused")
    assert len(refused) == 1 and refused[0].subject_id == "cancer/4"
    # the alias moves are registry writes too, in the same transactions
    moves = [e for e in alice.audit_entries(action="set_alias") if e.details.get("alias") == "champion"]
    assert len(moves) == 6
    assert [(e.old_version, e.new_version) for e in client.alias_history("cancer", "champion")] == [
        (None, 1), (1, 2), (2, 3), (3, 2), (2, 1), (1, 2)]
    assert alice.audit_verify().ok


def jm(home, *args):
    proc = subprocess.run([sys.executable, "-m", "jupyter_modelops.deploy", *args, f"--home={home}", "--user=alice"],
                          capture_output=True, text=True, timeout=120)
    return proc


def test_command_line(alice, approved, mo_home, tmp_path):
    approved(2)
    alice.promote("cancer", 1)
    alice.promote("cancer", 2)
    out = jm(mo_home, "rollback", "cancer", "--reason=cli test")
    assert out.returncode == 0, out.stderr
    assert "rollback: cancer@champion v2 -> v1" in out.stdout
    out = jm(mo_home, "deploy", "cancer", "--version=1", "--target=kserve", f"--output={tmp_path / 'isvc.yaml'}")
    assert out.returncode == 1 and "approved for local, not for kserve" in out.stderr
    out = jm(mo_home, "deploy", "cancer", "--version=1", "--target=container", f"--output={tmp_path / 'ctx'}")
    assert out.returncode == 1 and "error:" in out.stderr and "Traceback" not in out.stderr
    out = jm(mo_home, "deployments", "--all", "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == []
    out = jm(mo_home, "promote", "cancer", "2", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["to_version"] == 2
