"""Evidence: what the store knows about a version, checked against what a rule requires.

The item ids are those of the notebook preview (``kernel/widgets/evidence.py``) so the
requester sees the checklist the service will decide on. The difference is what counts:
here ``validation_results`` means the *service's* validation passed (a client cannot
fake it with an artifact named validation.json), and ``{evidence: KIND}`` counts only
evidence attached by someone other than the version's developer (unless the policy is
solo) or by the service itself.

Everything reads through the caller's connection, so a decision and the facts it was
made on come from one transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import sqlalchemy as sa

from ..store import schema as s
from .policy import EVIDENCE_IDS
from .records import FAILED, NOT_RUN, PASSED, EvidenceItem

SERVICE = "modelops:validation"   # the actor of automated validation
OUT_OF_ORDER_TAG = "mo.out_of_order"
PREVIEW = ("metrics_logged", "model_card", "validation_results", "training_data", "code_hash",
           "no_out_of_order")   # always shown in a request's bundle (required or not)
_CARD = re.compile(r"(?i)(^|/)model[_-]?card[^/]*$")
_REFERENCE = re.compile(r"(?i)(^|/)[^/]*reference[^/]*\.(parquet|csv)$")
V, EV, RV, REQ = s.model_versions, s.governance_evidence, s.request_reviews, s.deployment_requests


def label(item) -> str:
    if isinstance(item, dict) and "metric" in item:
        lo, hi = item.get("min"), item.get("max")
        bounds = " and ".join([f"≥ {lo}"] * (lo is not None) + [f"≤ {hi}"] * (hi is not None))
        where = " on held-out data" if item.get("on") == "validation" else ""
        return f"metric {item['metric']} {bounds}{where}".strip()
    if isinstance(item, dict) and "evidence" in item:
        return f"{item['evidence']} evidence"
    return EVIDENCE_IDS.get(str(item), str(item))


def item_id(item) -> str:
    if isinstance(item, dict) and "metric" in item:
        return f"{'heldout' if item.get('on') == 'validation' else 'metric'}:{item['metric']}"
    if isinstance(item, dict) and "evidence" in item:
        return f"evidence:{item['evidence']}"
    return str(item)


class Facts:
    """What the checks look at for one version, each read at most once through ``conn``."""

    def __init__(self, conn, store, vrow, *, solo: bool = False) -> None:
        self.conn, self.store, self.v = conn, store, vrow
        self.solo = solo
        self.lineage = vrow.lineage or {}
        self.run_id = vrow.run_id or self.lineage.get("run_id")
        self._run = self._artifacts = self._datasets = self._card = None
        self._loaded_run = False

    @property
    def name(self) -> str:
        """``<model> v<version>``, for messages."""
        model = self.conn.execute(sa.select(s.registered_models.c.name)
                                  .where(s.registered_models.c.id == self.v.model_id)).scalar()
        return f"{model} v{self.v.version}"

    # ------------------------------------------------------------------ the run
    @property
    def run(self):
        if not self._loaded_run:
            self._loaded_run = True
            if self.run_id:
                row = self.conn.execute(sa.select(s.runs).where(s.runs.c.id == self.run_id)).first()
                if row is not None:
                    from ..tracking.runs import _run_from_row, load_run_data

                    params, metrics, tags = load_run_data(self.conn, [row.id])[row.id]
                    self._run = _run_from_row(row, params, metrics, tags)
        return self._run

    @property
    def artifacts(self) -> list[str]:
        if self._artifacts is None:
            self._artifacts = [] if self.run is None else list(self.conn.execute(
                sa.select(s.artifacts.c.path).where(s.artifacts.c.run_id == self.run.id)
                .order_by(s.artifacts.c.path)).scalars())
        return self._artifacts

    @property
    def datasets(self) -> list[dict]:
        if self._datasets is None:
            d = s.datasets
            self._datasets = [] if self.run is None else [
                {"name": r.name, "digest": r.digest, "context": r.context, "source": r.source,
                 "rows": r.num_rows}
                for r in self.conn.execute(sa.select(d).where(d.c.run_id == self.run.id).order_by(d.c.created_at))]
        return self._datasets

    @property
    def developers(self) -> set[str]:
        """Who built the version: whoever registered it and whoever ran its training run."""
        out = {self.v.created_by}
        if self.run is not None and self.run.user:
            out.add(self.run.user)
        return {u for u in out if u}

    # ------------------------------------------------------------------ governance records
    def latest_evidence(self, kind: str, *, trusted_only: bool = False):
        q = (sa.select(EV).where(EV.c.version_id == self.v.id, EV.c.kind == kind)
             .order_by(EV.c.created_at.desc(), EV.c.id))
        for row in self.conn.execute(q):
            if not trusted_only or self.counts(row):
                return row
        return None

    def counts(self, row) -> bool:
        """Evidence counts when the service made it, or someone other than the developer
        attached it (anyone, under a solo policy)."""
        return row.created_by == SERVICE or self.solo or row.created_by not in self.developers

    def validation(self):
        return self.latest_evidence("validation", trusted_only=True)

    @property
    def card(self):
        if self._card is None:
            from .cards import card_facts_and_sections

            self._card = card_facts_and_sections(self.conn, self.store, self.v)
        return self._card

    def sign_offs(self) -> list:
        q = (sa.select(RV.c.reviewer, RV.c.self_review).join(REQ, REQ.c.id == RV.c.request_id)
             .where(REQ.c.version_id == self.v.id, RV.c.decision == "validate"))
        return [r for r in self.conn.execute(q) if self.solo or r.reviewer not in self.developers]


def _no_run(iid: str) -> EvidenceItem:
    return EvidenceItem(iid, label(iid), False, "the version has no source run",
                        "register the version from a tracked run")


def check(f: Facts, item, *, required: bool = True) -> EvidenceItem:
    iid, lab = item_id(item), label(item)
    out = _check(f, item, iid, lab)
    out.required = required
    return out


def _check(f: Facts, item, iid: str, lab: str) -> EvidenceItem:
    run = f.run
    if isinstance(item, dict) and "metric" in item:
        return _threshold(f, item, iid, lab)
    if isinstance(item, dict) and "evidence" in item:
        kind = item["evidence"]
        row = f.latest_evidence(kind, trusted_only=True)
        if row is None:
            anyrow = f.latest_evidence(kind)
            detail = (f"{kind} evidence was attached by the developer ({anyrow.created_by}); it must come "
                      "from someone else" if anyrow is not None else f"no {kind} evidence attached")
            return EvidenceItem(iid, lab, False, detail,
                                f"a validator attaches it: add_evidence(name, version, {kind!r}, ...)")
        return EvidenceItem(iid, lab, row.status == PASSED, f"{row.status}: {row.summary} (by {row.created_by})",
                            f"attach passing {kind} evidence")
    if iid == "metrics_logged":
        if run is None:
            return _no_run(iid)
        n = len(run.metrics)
        return EvidenceItem(iid, lab, n > 0, f"{n} metrics on the run" if n else "the run logged no metric",
                            "log evaluation metrics on the training run (mo.log_metric)")
    if iid == "model_card":
        facts, sections, revision = f.card
        intended = (sections.get("intended_use") or "").strip()
        artifact = next((a for a in f.artifacts if _CARD.search(a)), None)
        if intended:
            how = f"revision {revision}" if revision else "generated from the model's purpose"
            return EvidenceItem(iid, lab, True, f"model card ({how}) states its intended use")
        if artifact:
            return EvidenceItem(iid, lab, True, f"run artifact {artifact}")
        return EvidenceItem(iid, lab, False, "the model card does not say what the model is for",
                            "fill its intended use: client.update_model_card(name, version, "
                            "intended_use=...) or set_model_info(name, purpose=...)")
    if iid == "validation_results":
        row = f.validation()
        if row is None:
            return EvidenceItem(iid, lab, False, "validation has not run",
                                "request deployment (validation runs on request) or run_validation(request)")
        return EvidenceItem(iid, lab, row.status == PASSED, f"{row.status}: {row.summary}",
                            "fix what failed and re-run validation" if row.status == FAILED else
                            "a validator runs it with trusted=True, or attaches results" if row.status == NOT_RUN
                            else "")
    if iid == "training_data":
        listed = f.lineage.get("datasets") or f.lineage.get("training_data")
        if isinstance(listed, list):
            names = [str(d.get("name", "?")) if isinstance(d, dict) else str(d) for d in listed
                     if not isinstance(d, dict) or d.get("context", "training") == "training"]
            if names:
                return EvidenceItem(iid, lab, True, f"training data: {', '.join(names)} (lineage)")
        if run is None:
            return _no_run(iid)
        training = [d["name"] for d in f.datasets if d["context"] == "training"]
        detail = (f"training data: {', '.join(training)}" if training else
                  "datasets were logged, none with context 'training'" if f.datasets else "no dataset logged")
        return EvidenceItem(iid, lab, bool(training), detail,
                            "log the training data on the run (mo.log_input(df, name, context='training'))")
    if iid == "code_hash":
        code = f.lineage.get("code_hash") or (run.code_hash if run is not None else "")
        return EvidenceItem(iid, lab, bool(code), f"sha256 {code[:12]}…" if code else "no code hash recorded",
                            "train in a tracked cell (%%track) or script so the code is hashed")
    if iid == "no_out_of_order":
        if run is None:
            return _no_run(iid)
        bad = str(run.tags.get(OUT_OF_ORDER_TAG, "")).lower() == "true" or bool(
            (run.provenance or {}).get("out_of_order"))
        return EvidenceItem(iid, lab, not bad,
                            "the run's cell used state defined by cells below it" if bad else "clean execution order",
                            "re-run the notebook top to bottom and register from the new run")
    if iid == "drift_reference":
        refs = [d["name"] for d in f.datasets if d["context"] in ("reference", "drift_reference")]
        refs += [a for a in f.artifacts if _REFERENCE.search(a)]
        row = f.latest_evidence("drift_reference")
        if row is not None:
            refs.append(row.summary or "attached reference data")
        return EvidenceItem(iid, lab, bool(refs), f"reference: {', '.join(refs)}" if refs else "no reference data",
                            "pass reference_data= with the request, or log a dataset with context='reference'")
    if iid == "validator_sign_off":
        rows = f.sign_offs()
        who = ", ".join(sorted({r.reviewer for r in rows}))
        return EvidenceItem(iid, lab, bool(rows), f"signed off by {who}" if rows else "no validator signed off",
                            "a validator (not the developer) signs off: validate_request(request_id)")
    return EvidenceItem(iid, lab, False, "unknown requirement: cannot be checked here",
                        "ask the policy owner what this requirement means")


def _threshold(f: Facts, item: dict, iid: str, lab: str) -> EvidenceItem:
    key = str(item["metric"])
    lo, hi = item.get("min"), item.get("max")
    if item.get("on") == "validation":
        row = f.validation()
        metrics = ((row.data or {}).get("metrics") or {}) if row is not None else {}
        value = metrics.get(key)
        if value is None:
            return EvidenceItem(iid, lab, False, f"{key} was not computed on held-out data",
                                "request deployment with validation_data=(X, y)")
        where = "held-out"
    else:
        if f.run is None:
            return EvidenceItem(iid, lab, False, "the version has no source run", "register from a tracked run")
        value = f.run.metrics.get(key)
        if value is None:
            return EvidenceItem(iid, lab, False, f"{key} was not logged", f"log {key} on the training run")
        where = "run"
    value = float(value) if not isinstance(value, str) else float("nan")
    ok = not math.isnan(value) and (lo is None or value >= lo) and (hi is None or value <= hi)
    return EvidenceItem(iid, lab, ok, f"{key} = {value:.4g} ({where})", f"a model whose {key} meets the threshold")


def checklist(f: Facts, required_items=(), *, preview: bool = True) -> list[EvidenceItem]:
    """The required items (``required=True``), then the usual preview items not already
    required (shown for information)."""
    out = [check(f, item) for item in required_items]
    if preview:
        seen = {i.id for i in out}
        out += [check(f, item, required=False) for item in PREVIEW if item not in seen]
    return out


def missing(items: list[EvidenceItem]) -> list[EvidenceItem]:
    return [i for i in items if i.required and not i.ok]


def digest(items: list[EvidenceItem], extra: dict | None = None) -> str:
    """A fingerprint of what a reviewer saw (recorded with the review)."""
    data = {"items": [i.to_dict() for i in items], **(extra or {})}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def bundle(f: Facts, items: list[EvidenceItem]) -> dict:
    """The evidence bundle a request carries: the checklist plus the facts behind it
    (small: metric values, dataset references, code and card hashes — never data)."""
    run = f.run
    metrics = {}
    if run is not None:
        for k, v in sorted(run.metrics.items())[:100]:
            metrics[k] = v if isinstance(v, (int, float)) and math.isfinite(v) else str(v)
    card_facts, sections, revision = f.card
    val = f.validation()
    return {
        "checklist": [i.to_dict() for i in items],
        "run_id": f.run_id,
        "metrics": metrics,
        "training_data": f.lineage.get("datasets") or [d for d in f.datasets if d["context"] == "training"],
        "code_hash": f.lineage.get("code_hash") or (run.code_hash if run is not None else ""),
        "git": f.lineage.get("git") or {},
        "out_of_order": bool(run is not None and (str(run.tags.get(OUT_OF_ORDER_TAG, "")).lower() == "true"
                                                  or (run.provenance or {}).get("out_of_order"))),
        "model_card": {"revision": revision, "intended_use": bool((sections.get("intended_use") or "").strip())},
        "validation": None if val is None else {"id": val.id, "status": val.status, "summary": val.summary},
        "flavor": f.v.flavor,
        "trusted": bool(f.v.trusted),
        "manifest_digest": f.v.manifest_digest,
    }
