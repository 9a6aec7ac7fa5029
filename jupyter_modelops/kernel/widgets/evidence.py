"""The evidence checklist a deployment request shows, computed from a version's run and lineage.

This is a *preview* for the requester: governance (the service layer) decides, and this
module should move there once governance exists, so the REST API and the sidebar show the
same checklist. Until then the default checklist is computed from records every
installation has (the version, its run, the run's artifacts and datasets).

A policy names the evidence it requires: ``None`` (the default list), a list of item ids
and/or ``{"metric": KEY, "min": X, "max": Y}`` thresholds, a mapping with an ``evidence``
or ``required_evidence`` list, or an object with such an attribute.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .base import USER_ERRORS
from .runs import is_out_of_order

DEFAULT_EVIDENCE = ("metrics_logged", "model_card", "validation_results", "training_data",
                    "code_hash", "no_out_of_order")
LABELS = {
    "metrics_logged": "metrics logged",
    "model_card": "model card",
    "validation_results": "validation results",
    "training_data": "training data reference",
    "code_hash": "code hash",
    "no_out_of_order": "no out-of-order warnings",
}
_CARD = re.compile(r"(?i)(^|/)model[_-]?card[^/]*$")
_VALIDATION = re.compile(r"(?i)(^|/)[^/]*validation[^/]*$")


@dataclass
class EvidenceItem:
    id: str
    label: str
    ok: bool
    detail: str = ""
    fix: str = ""  # what would satisfy it (shown when missing)

    @property
    def mark(self) -> str:
        return "✔" if self.ok else "✘"


def required_items(policy) -> list:
    if policy is None:
        return list(DEFAULT_EVIDENCE)
    if isinstance(policy, dict):
        for key in ("required_evidence", "evidence"):
            if key in policy:
                return list(policy[key] or [])
        return list(DEFAULT_EVIDENCE)
    if isinstance(policy, (list, tuple)):
        return list(policy)
    for key in ("required_evidence", "evidence"):
        if hasattr(policy, key):
            return list(getattr(policy, key) or [])
    return list(DEFAULT_EVIDENCE)


class _Facts:
    """What the checks look at, each read at most once."""

    def __init__(self, client, version, run=None) -> None:
        self.client, self.version = client, version
        self.lineage = version.lineage or {}
        self._run, self._artifacts, self._datasets = run, None, None
        self.run_id = version.run_id or self.lineage.get("run_id")

    @property
    def run(self):
        if self._run is None and self.run_id:
            try:
                self._run = self.client.get_run(self.run_id)
            except USER_ERRORS:
                self.run_id = None
        return self._run

    @property
    def artifacts(self) -> list:
        if self._artifacts is None:
            self._artifacts = []
            if self.run is not None:
                try:
                    self._artifacts = self.client.list_artifacts(self.run.id)
                except USER_ERRORS:
                    pass
        return self._artifacts

    @property
    def datasets(self) -> list:
        if self._datasets is None:
            self._datasets = []
            if self.run is not None:
                try:
                    self._datasets = self.client.list_inputs(self.run.id)
                except USER_ERRORS:
                    pass
        return self._datasets

    def tags(self) -> dict:
        out = dict(self.run.tags) if self.run is not None else {}
        out.update(self.version.tags or {})
        return out


def _no_run(item_id: str) -> EvidenceItem:
    return EvidenceItem(item_id, LABELS.get(item_id, item_id), False, "the version has no source run",
                        "register the version from a tracked run")


def _check(f: _Facts, item) -> EvidenceItem:
    if isinstance(item, dict) and "metric" in item:
        return _threshold(f, item)
    item_id = str(item)
    label = LABELS.get(item_id, item_id)
    run = f.run
    if item_id == "metrics_logged":
        if run is None:
            return _no_run(item_id)
        n = len(run.metrics)
        return EvidenceItem(item_id, label, n > 0, f"{n} metrics on the run" if n else "the run logged no metric",
                            "log evaluation metrics on the training run (mo.log_metric)")
    if item_id == "model_card":
        card = f.lineage.get("model_card") or (f.version.tags or {}).get("mo.model_card")
        if not card:
            card = next((a.path for a in f.artifacts if _CARD.search(a.path)), None)
        return EvidenceItem(item_id, label, bool(card), f"found: {card}" if isinstance(card, str) else
                            ("found" if card else "no model card"),
                            "write a model card (an artifact named model_card.md on the run)")
    if item_id == "validation_results":
        found = f.lineage.get("validation") or next(
            (f"tag {k}" for k in f.tags() if k in ("mo.validation", "validation") or k.startswith("mo.validation.")),
            None) or next((a.path for a in f.artifacts if _VALIDATION.search(a.path)), None)
        return EvidenceItem(item_id, label, bool(found), f"found: {found}" if isinstance(found, str) else
                            ("found" if found else "no validation results"),
                            "log validation results (e.g. an artifact validation.json) on the run")
    if item_id == "training_data":
        listed = f.lineage.get("datasets") or f.lineage.get("training_data")
        if isinstance(listed, list):
            names = [str(d.get("name", "?")) if isinstance(d, dict) else str(d) for d in listed
                     if not isinstance(d, dict) or d.get("context", "training") == "training"]
            if names:
                return EvidenceItem(item_id, label, True, f"training data: {', '.join(names)} (lineage)")
        elif listed:
            return EvidenceItem(item_id, label, True, "recorded in the version's lineage")
        if run is None:
            return _no_run(item_id)
        training = [d.name for d in f.datasets if d.context == "training"]
        detail = (f"training data: {', '.join(training)}" if training else
                  "datasets were logged, none with context 'training'" if f.datasets else "no dataset logged")
        return EvidenceItem(item_id, label, bool(training), detail,
                            "log the training data on the run (mo.log_input(df, name, context='training'))")
    if item_id == "code_hash":
        code = f.lineage.get("code_hash") or (run.code_hash if run is not None else "")
        return EvidenceItem(item_id, label, bool(code), f"sha256 {code[:12]}…" if code else "no code hash recorded",
                            "train in a tracked cell (%%track) or script so the code is hashed")
    if item_id == "no_out_of_order":
        if run is None:
            return _no_run(item_id)
        bad = is_out_of_order(run)
        return EvidenceItem(item_id, label, not bad,
                            "the run's cell used state defined by cells below it" if bad else "clean execution order",
                            "re-run the notebook top to bottom and register from the new run")
    return EvidenceItem(item_id, label, False, "unknown requirement: cannot be checked here",
                        "ask the policy owner what this requirement means")


def _threshold(f: _Facts, item: dict) -> EvidenceItem:
    key = str(item["metric"])
    lo, hi = item.get("min"), item.get("max")
    bounds = " and ".join([f"≥ {lo}"] * (lo is not None) + [f"≤ {hi}"] * (hi is not None))
    label = f"metric {key} {bounds}".strip()
    item_id = f"metric:{key}"
    if f.run is None:
        return EvidenceItem(item_id, label, False, "the version has no source run", "register from a tracked run")
    value = f.run.metrics.get(key)
    if value is None:
        return EvidenceItem(item_id, label, False, f"{key} was not logged", f"log {key} on the training run")
    ok = not math.isnan(value) and (lo is None or value >= lo) and (hi is None or value <= hi)
    return EvidenceItem(item_id, label, ok, f"{key} = {value:.4g}", f"a run whose {key} is {bounds}")


def evaluate_evidence(client, version, policy=None, run=None) -> list[EvidenceItem]:
    """The checklist for ``version`` under ``policy``."""
    facts = _Facts(client, version, run)
    return [_check(facts, item) for item in required_items(policy)]
