"""Deployment requests and their review: request, validate, approve, reject, withdraw.

The flow under the default policy::

    request_deployment (data_scientist)      REGISTERED → IN_VALIDATION, request PENDING
      └ automated validation (the service)   evidence stored; passing checks → VALIDATED
    approve_request (approver ≠ requester)   VALIDATED → APPROVED, request APPROVED
    reject_request (with a comment)          → REJECTED, request REJECTED

A policy with ``validation: {sign_off: validator}`` waits for ``validate_request`` by a
validator who did not build the version. Versions that need trust to load (pickle-based)
are validated only when a validator runs ``run_validation(request, trusted=True)``.
Every step, and every refused attempt, goes to the audit log.
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyViolation
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from . import audit, cards
from . import evidence as ev
from . import validation as val
from .lifecycle import (
    IN_VALIDATION,
    VALIDATED,
    apply,
    check_rule,
    model_version,
    refused,
    rows,
    rows_by_version_id,
    subject,
)
from .policy import Policy, current_policy
from .records import (
    APPROVED,
    PASSED,
    PENDING,
    REJECTED,
    REQUEST_STATUSES,
    WITHDRAWN,
    DeploymentRequest,
    Evidence,
    Review,
)

M, V, REQ, RV, EV = (s.registered_models, s.model_versions, s.deployment_requests, s.request_reviews,
                     s.governance_evidence)
_TARGET = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 10_000
MAX_JSON = 64 << 10
EVIDENCE_STATUSES = ("passed", "failed", "info")


# --------------------------------------------------------------------------- checks


def _text(value, what: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value.strip()


def _small_json(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a mapping")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must hold plain JSON values") from None
    if len(text) > MAX_JSON:
        raise InvalidInput(f"{what} is larger than {MAX_JSON >> 10} KiB")
    return value


def _check_target(target) -> str:
    if not isinstance(target, str) or not _TARGET.match(target):
        raise InvalidInput(f"target {target!r} must be a short lowercase name (local, batch, kserve, container)")
    return target


def _request_row(conn, ref: str):
    """A request by id or unique prefix (≥ 6 hex digits, as shown in tables)."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput("give a request id")
    text = ref.strip().lower().replace("-", "")
    if len(text) == 32:
        row = conn.execute(sa.select(REQ).where(REQ.c.id == normalize_id(text, "request id"))).first()
    else:
        if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
            raise InvalidInput(f"{ref!r} is not a request id or a prefix of at least 6 hex digits")
        found = conn.execute(sa.select(REQ).where(REQ.c.id.like(text + "%")).limit(2)).all()
        if len(found) > 1:
            raise InvalidInput(f"request id prefix {text} is ambiguous; give more digits")
        row = found[0] if found else None
    if row is None:
        raise NotFound(f"no deployment request {ref}")
    return row


def _required(policy: Policy, state: str) -> list:
    """The evidence still ahead of a request: its sign-off (while in validation) and the
    rules that approve requests."""
    items: list = []
    rules = [t for t in policy.transitions if t.via == "request"]
    if state == IN_VALIDATION:
        sign_off = policy.find(IN_VALIDATION, VALIDATED)
        if sign_off is not None:
            rules.insert(0, sign_off)
    for rule in rules:
        for item in rule.evidence:
            if item not in items:
                items.append(item)
    return items


def _evidence(row) -> Evidence:
    return Evidence(id=row.id, version_id=row.version_id, kind=row.kind, status=row.status, summary=row.summary,
                    data=row.data or {}, request_id=row.request_id, digest=row.digest, created_by=row.created_by,
                    created_at=row.created_at)


def _build(conn, store, row, policy: Policy, *, full: bool = True) -> DeploymentRequest:
    mrow, vrow = rows_by_version_id(conn, row.version_id)
    req = DeploymentRequest(
        id=row.id, model_name=mrow.name, version=vrow.version, version_id=vrow.id, target=row.target,
        status=row.status, requested_by=row.requested_by, state=vrow.state, alias=row.alias,
        resources=row.resources or {}, justification=row.justification, policy=row.policy or {},
        decided_by=row.decided_by, decided_at=row.decided_at, decision_comment=row.decision_comment,
        created_at=row.created_at, updated_at=row.updated_at)
    latest = conn.execute(sa.select(EV).where(EV.c.request_id == row.id, EV.c.kind == "validation")
                          .order_by(EV.c.created_at.desc(), EV.c.id).limit(1)).first()
    if latest is not None:
        data = latest.data or {}
        req.validation = {"status": latest.status, "summary": latest.summary, "metrics": data.get("metrics", {}),
                          "checks": [{k: c.get(k) for k in ("name", "status", "detail")} for c in data.get("checks", [])],
                          "trusted": data.get("trusted", False), "evidence_id": latest.id}
    if full:
        facts = ev.Facts(conn, store, vrow, solo=policy.solo)
        req.checklist = [i.to_dict() for i in ev.checklist(facts, _required(policy, vrow.state))]
        req.evidence = [_evidence(r).to_dict() for r in conn.execute(
            sa.select(EV).where(EV.c.request_id == row.id).order_by(EV.c.created_at, EV.c.id))]
        req.reviews = [Review(id=r.id, request_id=r.request_id, reviewer=r.reviewer, role=r.role,
                              decision=r.decision, comment=r.comment, self_review=bool(r.self_review),
                              evidence_digest=r.evidence_digest, created_at=r.created_at).to_dict()
                       for r in conn.execute(sa.select(RV).where(RV.c.request_id == row.id)
                                             .order_by(RV.c.created_at, RV.c.id))]
    return req


def _review(conn, store, req_row, role: str, decision: str, comment: str, items, facts) -> str:
    card_facts, sections, _ = facts.card
    digest = ev.digest(items, {"card": cards.content_digest(card_facts, sections)})
    conn.execute(RV.insert().values(
        id=new_id(), request_id=req_row.id, reviewer=store.user, role=role, decision=decision,
        comment=comment, self_review=store.user == req_row.requested_by, evidence_digest=digest,
        created_at=now_ms()))
    return digest


def _pending(row) -> None:
    if row.status != PENDING:
        raise Conflict(f"request {row.id[:8]} is {row.status} already (decided by {row.decided_by or '?'})",
                       status=row.status)


# --------------------------------------------------------------------------- requesting


def request_deployment(store, name: str, version: int | None = None, alias: str | None = None, *,
                       target: str = "local", resources: dict | None = None, justification: str = "",
                       validation_data: dict | None = None, reference_data: dict | None = None,
                       slices: list | None = None, id: str | None = None) -> DeploymentRequest:
    """Ask for ``name`` v``version`` (or ``@alias``) to be deployed to ``target``.

    The evidence bundle is assembled and validation runs here, in the service.
    ``validation_data`` / ``reference_data`` point at held-out / reference data already in
    the store (``{"digest", "format", "target", "features"}`` or ``{"run_id",
    "artifact", "target"}``): the client uploads frames as Parquet first."""
    policy = current_policy(store)
    target = _check_target(target)
    resources = _small_json(resources, "resources")
    justification = _text(justification, "justification")
    spec = val.check_spec(validation_data)
    reference = val.check_spec(reference_data) if reference_data is not None else {}
    if slices is not None and (not isinstance(slices, list) or not all(isinstance(c, str) for c in slices)):
        raise InvalidInput("slices must be a list of column names")
    rid = normalize_id(id, "request id") if id else new_id()
    where = f"{name}/{version if version is not None else alias or 'latest'}"
    try:
        with store.db.write() as conn:
            same = conn.execute(sa.select(REQ).where(REQ.c.id == rid)).first()
            if same is not None:
                return _build(conn, store, same, policy)
            mrow, vrow = rows(conn, name, version, alias)
            where = subject(mrow.name, vrow.version)
            if policy.validation.require_data and not spec:
                raise PolicyViolation(f"policy '{policy.name}' (validation.require_data): a deployment request "
                                      "must bring held-out data: validation_data=(X, y)",
                                      policy=policy.name, rule="validation.require_data")
            pending = conn.execute(sa.select(REQ.c.id).where(
                REQ.c.version_id == vrow.id, REQ.c.target == target, REQ.c.status == PENDING)).scalar()
            if pending:
                raise Conflict(f"request {pending[:8]} to deploy {mrow.name} v{vrow.version} to {target} "
                               "is pending already", request_id=pending)
            state = vrow.state
            submit = None
            if not (state in policy.deployable or state == IN_VALIDATION or policy.via_request(state)):
                submit = policy.find(state, IN_VALIDATION)
                if submit is None:
                    raise PolicyViolation(
                        f"{mrow.name} v{vrow.version} is {state}: policy '{policy.name}' has no rule that "
                        f"takes a {state} version to review; register a new version",
                        policy=policy.name, rule=None, state=state)
            ts = now_ms()
            conn.execute(REQ.insert().values(
                id=rid, model_id=mrow.id, version_id=vrow.id, alias=alias, target=target, resources=resources,
                justification=justification, status=PENDING, requested_by=store.user, policy=policy.ref,
                validation={"data": spec, "reference": reference, "slices": slices or []},
                decided_by=None, decided_at=None, decision_comment="", created_at=ts, updated_at=ts))
            audit.append(conn, store, "request.create", "request", rid, {
                "model": mrow.name, "version": vrow.version, "target": target, "alias": alias,
                "resources": resources, "policy": policy.name, "policy_sha256": policy.sha256[:16],
                "validation_data": {k: spec.get(k) for k in ("digest", "run_id", "artifact", "rows") if k in spec},
                "justification": justification})
            if reference:
                conn.execute(EV.insert().values(
                    id=new_id(), version_id=vrow.id, request_id=rid, kind="drift_reference", status="info",
                    summary=reference.get("name") or reference.get("artifact") or f"blob {reference.get('digest', '')[:12]}",
                    data=reference, digest=reference.get("digest"), created_by=store.user, created_at=ts))
            if submit is not None:
                facts = ev.Facts(conn, store, vrow, solo=policy.solo)
                self_approved, _ = check_rule(conn, store, policy, facts, submit)
                apply(conn, store, policy, mrow, vrow, submit, request_id=rid, self_approved=self_approved,
                      comment=justification)
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "request.create", "model_version", where, exc)
        raise
    _validate(store, policy, rid)
    return get_request(store, rid)


def _validate(store, policy: Policy, request_id: str, *, trusted: bool = False) -> None:
    """Run validation for a request, store the result and the evidence bundle, and sign
    validation off automatically when the policy says so and every check passed."""
    with store.db.read() as conn:
        req = _request_row(conn, request_id)
        mrow, vrow = rows_by_version_id(conn, req.version_id)
        mv = model_version(conn, mrow, vrow)
    spec = (req.validation or {}).get("data") or {}
    try:
        result = val.run(store, mv, policy, spec, trusted=trusted, slices=(req.validation or {}).get("slices"))
    except Exception as exc:  # noqa: BLE001 - a crash in validation is a failed validation, recorded
        from ..registry.flavors import one_line

        result = {"status": "failed", "summary": f"validation crashed: {one_line(exc)}", "checks": [],
                  "metrics": {}, "slices": {}, "data": {}, "trusted": trusted}
    actor = store.user if trusted else ev.SERVICE
    with store.db.write() as conn:
        mrow, vrow = rows_by_version_id(conn, req.version_id)
        ts = now_ms()
        vid = new_id()
        conn.execute(EV.insert().values(
            id=vid, version_id=vrow.id, request_id=req.id, kind="validation", status=result["status"],
            summary=result["summary"], data=result, digest=spec.get("digest"), created_by=actor, created_at=ts))
        audit.append(conn, store, "validation.run", "request", req.id, {
            "model": mrow.name, "version": vrow.version, "status": result["status"], "summary": result["summary"],
            "checks": {c["name"]: c["status"] for c in result["checks"]}, "trusted": trusted,
            "evidence_id": vid}, actor=actor)
        facts = ev.Facts(conn, store, vrow, solo=policy.solo)
        items = ev.checklist(facts, _required(policy, vrow.state))
        lacking = ev.missing(items)
        conn.execute(EV.insert().values(
            id=new_id(), version_id=vrow.id, request_id=req.id, kind="bundle",
            status="failed" if lacking else PASSED,
            summary=("missing: " + ", ".join(i.label for i in lacking)) if lacking else "all required evidence present",
            data=ev.bundle(facts, items), digest=None, created_by=ev.SERVICE, created_at=ts))
        if (vrow.state == IN_VALIDATION and policy.validation.sign_off == "automatic"
                and result["status"] == PASSED):
            rule = policy.find(IN_VALIDATION, VALIDATED)
            if rule is not None and rule.via is None:
                _, rule_items = check_rule(conn, store, policy, facts, rule, actor=ev.SERVICE, check_evidence=False)
                if not ev.missing(rule_items):
                    apply(conn, store, policy, mrow, vrow, rule, actor=ev.SERVICE, request_id=req.id,
                          comment="automated validation passed",
                          details={"automatic": True, "on_behalf_of": req.requested_by, "validation": vid,
                                   **({"trusted_by": store.user} if trusted else {}),
                                   "evidence": [i.id for i in rule_items if i.ok]})


def run_validation(store, request_id: str, trusted: bool = False) -> DeploymentRequest:
    """Run validation again for a pending request (after new evidence, or with
    ``trusted=True`` — validators only, never the developer — to load a package that
    needs trust)."""
    policy = current_policy(store)
    if not isinstance(trusted, bool):
        raise InvalidInput("trusted must be true or false")
    with store.db.read() as conn:
        req = _request_row(conn, request_id)
        _pending(req)
        mrow, vrow = rows_by_version_id(conn, req.version_id)
        if trusted:
            try:
                if not store.roles & {"validator", "admin"}:
                    raise Forbidden(f"{store.user} may not run validation with trust: it needs the role validator",
                                    needed=["validator"])
                facts = ev.Facts(conn, store, vrow, solo=policy.solo)
                if store.user in facts.developers and not policy.solo:
                    raise PolicyViolation(
                        f"policy '{policy.name}': {store.user} built {mrow.name} v{vrow.version} and may not "
                        "validate it with trust (separation of duties: not by the developer)",
                        policy=policy.name, rule="validate", party="developer")
            except (PolicyViolation, Forbidden) as exc:
                refused(store, "validation.run", "request", req.id, exc)
                raise
    _validate(store, policy, req.id, trusted=trusted)
    return get_request(store, req.id)


# --------------------------------------------------------------------------- reviewing


def approve_request(store, request_id: str, comment: str = "") -> DeploymentRequest:
    """Approve a pending request: the version moves along the policy's approval rule.

    The approver may not be the requester (unless the policy is solo: then the approval is
    recorded as a self-approval), needs the rule's role and evidence."""
    policy = current_policy(store)
    comment = _text(comment, "comment")
    rid = request_id
    try:
        with store.db.write() as conn:
            req = _request_row(conn, request_id)
            rid = req.id
            _pending(req)
            mrow, vrow = rows_by_version_id(conn, req.version_id)
            state = vrow.state
            facts = ev.Facts(conn, store, vrow, solo=policy.solo)
            move = state not in policy.deployable
            if move:
                rule = policy.via_request(state)
                if rule is None:
                    ways = [t for t in policy.transitions if t.via == "request"]
                    where = " or ".join(" | ".join(t.sources) for t in ways) or "(no state: the policy has no approval rule)"
                    why = ""
                    if state == IN_VALIDATION:
                        latest = facts.validation()
                        why = (f"; validation {latest.status}: {latest.summary}" if latest is not None
                               else "; validation has not run")
                        why += (" — a validator signs off with validate_request" if policy.validation.sign_off
                                == "validator" else " — fix it and run_validation, or reject the request")
                    raise PolicyViolation(
                        f"request {rid[:8]} cannot be approved while {mrow.name} v{vrow.version} is {state}: "
                        f"policy '{policy.name}' approves requests from {where}"
                        + (f" (rule '{ways[0].name}')" if ways else "") + why,
                        policy=policy.name, rule=ways[0].name if ways else None, state=state)
            else:
                # Already deployable (a request for another target): the same duties apply.
                rule = next((t for t in policy.transitions if t.via == "request"), None)
            self_approved, items = (False, []) if rule is None else check_rule(
                conn, store, policy, facts, rule, requester=req.requested_by)
            digest = _review(conn, store, req, "approver", "approve", comment, items, facts)
            ts = now_ms()
            conn.execute(REQ.update().where(REQ.c.id == rid).values(
                status=APPROVED, decided_by=store.user, decided_at=ts, decision_comment=comment, updated_at=ts))
            card_facts, sections, revision = facts.card
            details = {"model": mrow.name, "version": vrow.version, "target": req.target, "comment": comment,
                       "evidence": [i.id for i in items if i.ok], "evidence_digest": digest,
                       "card_revision": revision, "card_sha256": cards.content_digest(card_facts, sections)[:16],
                       **({"self_approval": True} if self_approved else {})}
            audit.append(conn, store, "request.approve", "request", rid, details)
            if move:
                apply(conn, store, policy, mrow, vrow, rule, request_id=rid, comment=comment,
                      self_approved=self_approved, details={k: details[k] for k in ("evidence", "evidence_digest",
                                                                                    "card_sha256")})
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "request.approve", "request", rid, exc)
        raise
    return get_request(store, rid)


def reject_request(store, request_id: str, comment: str) -> DeploymentRequest:
    """Reject a pending request with a comment saying why; the version moves to REJECTED
    where the policy has a rule for it (an already-approved version keeps its state)."""
    policy = current_policy(store)
    comment = _text(comment, "comment")
    if not comment:
        raise InvalidInput("a rejection needs a comment saying why")
    rid = request_id
    try:
        with store.db.write() as conn:
            req = _request_row(conn, request_id)
            rid = req.id
            _pending(req)
            if store.user == req.requested_by and not policy.solo:
                raise PolicyViolation(f"{store.user} made request {rid[:8]}; withdraw it (withdraw_request) "
                                      "rather than reject it", policy=policy.name, rule="reject", party="requester")
            mrow, vrow = rows_by_version_id(conn, req.version_id)
            facts = ev.Facts(conn, store, vrow, solo=policy.solo)
            rule = None if vrow.state in policy.deployable else policy.rejection(vrow.state)
            items = []
            if rule is not None:
                _, items = check_rule(conn, store, policy, facts, rule, requester=req.requested_by)
            role = "approver" if "approver" in store.roles or "admin" in store.roles else "validator"
            _review(conn, store, req, role, "reject", comment, items, facts)
            ts = now_ms()
            conn.execute(REQ.update().where(REQ.c.id == rid).values(
                status=REJECTED, decided_by=store.user, decided_at=ts, decision_comment=comment, updated_at=ts))
            audit.append(conn, store, "request.reject", "request", rid, {
                "model": mrow.name, "version": vrow.version, "target": req.target, "comment": comment})
            if rule is not None:
                apply(conn, store, policy, mrow, vrow, rule, request_id=rid, comment=comment)
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "request.reject", "request", rid, exc)
        raise
    return get_request(store, rid)


def validate_request(store, request_id: str, comment: str = "") -> DeploymentRequest:
    """A validator's sign-off on a pending request (not the version's developer): moves
    the version IN_VALIDATION → VALIDATED where the policy waits for a person, and is
    recorded as ``validator_sign_off`` evidence in any case."""
    policy = current_policy(store)
    comment = _text(comment, "comment")
    rid = request_id
    try:
        with store.db.write() as conn:
            req = _request_row(conn, request_id)
            rid = req.id
            _pending(req)
            mrow, vrow = rows_by_version_id(conn, req.version_id)
            facts = ev.Facts(conn, store, vrow, solo=policy.solo)
            move = vrow.state == IN_VALIDATION
            rule = policy.find(IN_VALIDATION, VALIDATED)
            if rule is None:
                raise PolicyViolation(f"policy '{policy.name}' has no rule from {IN_VALIDATION} to {VALIDATED}",
                                      policy=policy.name, rule=None)
            if not move and vrow.state not in (VALIDATED, *policy.deployable) and not policy.via_request(vrow.state):
                raise PolicyViolation(f"{mrow.name} v{vrow.version} is {vrow.state}: nothing to sign off",
                                      policy=policy.name, rule=rule.name)
            self_approved, items = check_rule(conn, store, policy, facts, rule, requester=req.requested_by,
                                              check_evidence=move)
            _review(conn, store, req, "validator", "validate", comment, items, facts)
            audit.append(conn, store, "request.validate", "request", rid, {
                "model": mrow.name, "version": vrow.version, "comment": comment,
                "evidence": [i.id for i in items if i.ok], **({"self_approval": True} if self_approved else {})})
            if move:
                apply(conn, store, policy, mrow, vrow, rule, request_id=rid, comment=comment,
                      self_approved=self_approved, details={"evidence": [i.id for i in items if i.ok]})
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "request.validate", "request", rid, exc)
        raise
    return get_request(store, rid)


def withdraw_request(store, request_id: str, comment: str = "") -> DeploymentRequest:
    """The requester (or an admin) takes back a pending request."""
    comment = _text(comment, "comment")
    with store.db.write() as conn:
        req = _request_row(conn, request_id)
        _pending(req)
        if store.user != req.requested_by and "admin" not in store.roles:
            raise Forbidden(f"only {req.requested_by}, who made request {req.id[:8]}, or an admin may withdraw it")
        ts = now_ms()
        conn.execute(REQ.update().where(REQ.c.id == req.id).values(
            status=WITHDRAWN, decided_by=store.user, decided_at=ts, decision_comment=comment, updated_at=ts))
        audit.append(conn, store, "request.withdraw", "request", req.id, {"comment": comment})
    return get_request(store, req.id)


# --------------------------------------------------------------------------- reading


def get_request(store, request_id: str) -> DeploymentRequest:
    policy = current_policy(store)
    with store.db.read() as conn:
        return _build(conn, store, _request_row(conn, request_id), policy)


def list_requests(store, status: str | None = PENDING, name: str | None = None, limit: int = 200,
                  all: bool = False) -> list[DeploymentRequest]:
    """Requests, newest first: pending ones unless ``status`` (or ``all=True``) says otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be an integer from 1 to 10000")
    q = sa.select(REQ).order_by(REQ.c.created_at.desc(), REQ.c.id).limit(limit)
    if not all and status is not None:
        status = str(status).upper()
        if status not in REQUEST_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(REQUEST_STATUSES)}")
        q = q.where(REQ.c.status == status)
    policy = current_policy(store)
    with store.db.read() as conn:
        if name is not None:
            from ..registry.models import _model_row

            q = q.where(REQ.c.model_id == _model_row(conn, name).id)
        return [_build(conn, store, r, policy, full=False) for r in conn.execute(q).all()]


def check_evidence(store, name: str, version: int | None = None, alias: str | None = None) -> list:
    """The checklist a request for this version would be decided on (what the notebook's
    request form shows): required items first, then the usual ones for information."""
    policy = current_policy(store)
    with store.db.read() as conn:
        mrow, vrow = rows(conn, name, version, alias)
        state = vrow.state
        if state not in policy.deployable and state != IN_VALIDATION and not policy.via_request(state):
            state = IN_VALIDATION  # where a request would take it
        facts = ev.Facts(conn, store, vrow, solo=policy.solo)
        return ev.checklist(facts, _required(policy, state))


def add_evidence(store, name: str, version: int, kind: str, status: str, summary: str = "",
                 data: dict | None = None, request_id: str | None = None) -> Evidence:
    """Attach evidence to a version (a test-suite report, a fairness review...). It counts
    for ``{evidence: KIND}`` rules only when someone other than the developer attached it;
    ``validation`` results may be attached by validators only."""
    policy = current_policy(store)
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidInput(f"evidence kind {kind!r} must be a lowercase word (test_suite, fairness_review, ...)")
    if kind == "bundle":
        raise InvalidInput("'bundle' evidence is assembled by the service")
    if status not in EVIDENCE_STATUSES:
        raise InvalidInput(f"evidence status must be one of {', '.join(EVIDENCE_STATUSES)}")
    summary = _text(summary, "summary", 1000)
    data = _small_json(data, "evidence data")
    subj = subject(name, version)
    try:
        with store.db.write() as conn:
            mrow, vrow = rows(conn, name, version)
            subj = subject(mrow.name, vrow.version)
            if kind == "validation":
                if not store.roles & {"validator", "admin"}:
                    raise Forbidden(f"{store.user} may not attach validation results: it needs the role validator")
                facts = ev.Facts(conn, store, vrow, solo=policy.solo)
                if store.user in facts.developers and not policy.solo:
                    raise PolicyViolation(f"policy '{policy.name}': {store.user} built {mrow.name} v{vrow.version} "
                                          "and may not attach its validation results (not by the developer)",
                                          policy=policy.name, rule="validate", party="developer")
            rid = _request_row(conn, request_id).id if request_id else None
            rec = {"id": new_id(), "version_id": vrow.id, "request_id": rid, "kind": kind, "status": status,
                   "summary": summary, "data": data, "digest": None, "created_by": store.user, "created_at": now_ms()}
            conn.execute(EV.insert().values(**rec))
            audit.append(conn, store, "evidence.add", "model_version", subj,
                         {"kind": kind, "status": status, "summary": summary, "request_id": rid, "evidence_id": rec["id"]})
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "evidence.add", "model_version", subj, exc)
        raise
    return Evidence(**rec)


def list_evidence(store, name: str, version: int, kind: str | None = None) -> list[Evidence]:
    with store.db.read() as conn:
        _, vrow = rows(conn, name, version)
        q = sa.select(EV).where(EV.c.version_id == vrow.id).order_by(EV.c.created_at, EV.c.id)
        if kind:
            q = q.where(EV.c.kind == kind)
        return [_evidence(r) for r in conn.execute(q)]

