"""The life cycle of a version: moving it from state to state under the policy in force.

Every move is checked in the service, for every client and transport:

1. the policy has a rule from the current state to the target (``PolicyViolation`` that
   lists where the version *can* go otherwise);
2. the actor has one of the rule's roles (``admin`` always does) — ``Forbidden``;
3. separation of duties, by user *name* (the embedded store gives everyone every role):
   the rule's ``not_by`` parties — ``developer`` (who registered the version or ran its
   training run), ``requester`` (who asked to deploy it), ``validator`` (who signed its
   validation off) — may not make the move, unless the policy is ``solo``, in which case
   the move is recorded as a self-approval;
4. the rule's evidence is present.

The state change, the life-cycle event and the audit entry commit in one transaction.
Deployment asks ``require_deployable`` first.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import Conflict, Forbidden, InvalidInput, ModelOpsError, NotFound, PolicyViolation
from ..ids import new_id, now_ms
from ..store import schema as s
from . import audit
from .evidence import SERVICE, Facts, checklist, missing
from .policy import Policy, current_policy
from .records import APPROVED, LifecycleEvent

IN_VALIDATION, VALIDATED, REJECTED = "IN_VALIDATION", "VALIDATED", "REJECTED"
M, V, LE, REQ, RV, EV = (s.registered_models, s.model_versions, s.lifecycle_events, s.deployment_requests,
                         s.request_reviews, s.governance_evidence)
_PARTY_WORDS = {"developer": "built", "requester": "requested the deployment of", "validator": "validated"}


def subject(name: str, version: int) -> str:
    return f"{name}/{version}"


def rows(conn, name: str, version: int | None = None, alias: str | None = None):
    """(model row, version row) by name and version number or alias (newest if neither)."""
    from ..registry.models import _model_row, _version_row
    from ..registry.validation import check_model_name

    model = _model_row(conn, check_model_name(name))
    return model, _version_row(conn, model, version, alias)


def rows_by_version_id(conn, version_id: str):
    vrow = conn.execute(sa.select(V).where(V.c.id == version_id)).first()
    if vrow is None:
        raise NotFound(f"no model version with id {version_id}")
    return conn.execute(sa.select(M).where(M.c.id == vrow.model_id)).first(), vrow


def model_version(conn, mrow, vrow):
    from ..registry.models import _version, _version_aliases

    return _version(vrow, mrow.name, _version_aliases(conn, vrow.id))


def _tag(policy: Policy, rule) -> str:
    return f"policy '{policy.name}', rule '{rule.name}' ({rule.arrow})"


def parties(conn, facts: Facts, requester: str | None = None) -> dict[str, set[str]]:
    """Who played which part for this version (names)."""
    vid = facts.v.id
    if requester is None:
        last = conn.execute(sa.select(REQ.c.requested_by).where(
            REQ.c.version_id == vid, REQ.c.status.in_(("PENDING", APPROVED)))
            .order_by(REQ.c.created_at.desc()).limit(1)).scalar()
        requesters = {last} if last else set()
    else:
        requesters = {requester}
    validators = set(conn.execute(
        sa.select(RV.c.reviewer).join(REQ, REQ.c.id == RV.c.request_id)
        .where(REQ.c.version_id == vid, RV.c.decision == "validate")).scalars())
    validators |= {u for u in conn.execute(sa.select(EV.c.created_by).where(
        EV.c.version_id == vid, EV.c.kind == "validation")).scalars() if u != SERVICE}
    return {"developer": facts.developers, "requester": requesters, "validator": validators}


def check_rule(conn, store, policy: Policy, facts: Facts, rule, *, actor: str | None = None,
               roles=None, requester: str | None = None, check_evidence: bool = True):
    """Roles, separation of duties and evidence of ``rule`` for ``actor``.

    Returns (self_approved, evidence items). Raises ``Forbidden`` / ``PolicyViolation``."""
    actor = actor or store.user
    roles = store.roles if roles is None else roles
    name = facts.name
    if actor != SERVICE and not (set(roles) & (set(rule.roles) | {"admin"})):
        raise Forbidden(f"{_tag(policy, rule)}: {actor} needs the role {' or '.join(sorted(rule.roles))} "
                        f"to move {name} to {rule.to}", rule=rule.name, policy=policy.name,
                        needed=sorted(rule.roles))
    self_approved = False
    if rule.not_by:
        who = parties(conn, facts, requester)
        for party in rule.not_by:
            if actor in who[party]:
                if policy.solo:
                    self_approved = True
                    continue
                raise PolicyViolation(
                    f"{_tag(policy, rule)}: {actor} {_PARTY_WORDS[party]} {name} and may not also move it "
                    f"to {rule.to} (separation of duties: not by the {party}); someone else must",
                    rule=rule.name, policy=policy.name, party=party, actor=actor)
    items = checklist(facts, rule.evidence, preview=False)
    if check_evidence:
        lacking = missing(items)
        if lacking:
            raise PolicyViolation(
                f"{_tag(policy, rule)} needs evidence that {name} lacks: "
                + "; ".join(f"{i.label} ({i.detail}{' — ' + i.fix if i.fix else ''})" for i in lacking),
                rule=rule.name, policy=policy.name, missing=[i.id for i in lacking])
    return self_approved, items


def apply(conn, store, policy: Policy, mrow, vrow, rule, *, actor: str | None = None, comment: str = "",
          request_id: str | None = None, self_approved: bool = False, details: dict | None = None) -> LifecycleEvent:
    """Move the version (inside the caller's write transaction) and record it twice: a
    life-cycle event and an audit entry."""
    actor = actor or store.user
    ts = now_ms()
    done = conn.execute(V.update().where(V.c.id == vrow.id, V.c.state == vrow.state)
                        .values(state=rule.to, updated_at=ts))
    if done.rowcount != 1:
        raise Conflict(f"{mrow.name} v{vrow.version} changed state meanwhile; look again and retry")
    extra = {"policy": policy.ref, **(details or {})}
    rec = {"id": new_id(), "model_id": mrow.id, "version_id": vrow.id, "from_state": vrow.state,
           "to_state": rule.to, "rule": rule.name, "actor": actor, "comment": comment or "",
           "request_id": request_id, "self_approved": bool(self_approved), "details": extra, "created_at": ts}
    conn.execute(LE.insert().values(**rec))
    audit.append(conn, store, "version.transition", "model_version", subject(mrow.name, vrow.version), {
        "from": vrow.state, "to": rule.to, "rule": rule.name, "policy": policy.name,
        "policy_sha256": policy.sha256[:16], "request_id": request_id, "comment": comment or "",
        **({"self_approval": True} if self_approved else {}), **(details or {})}, actor=actor)
    return LifecycleEvent(id=rec["id"], model_name=mrow.name, version=vrow.version, from_state=vrow.state,
                          to_state=rule.to, rule=rule.name, actor=actor, comment=comment or "",
                          request_id=request_id, self_approved=bool(self_approved), details=extra, created_at=ts)


def refused(store, action: str, subject_type: str, subject_id: str, exc: ModelOpsError) -> None:
    """Record a refused attempt. The attempt's own transaction rolls back, so the entry is
    written in a transaction of its own — right away, or, when the attempt runs inside an
    enclosing write transaction (``services.call``), as soon as that one has rolled back."""
    details = {"reason": exc.message, "error": type(exc).__name__,
               **{k: v for k, v in exc.details.items() if k in ("rule", "policy", "party", "missing")}}
    audit.append_after(store, f"{action}.refused", subject_type, subject_id, details)


def _moves(policy: Policy, state: str) -> str:
    leaving = policy.leaving(state)
    if not leaving:
        return f"nothing leaves {state} under policy '{policy.name}'"
    return "from " + state + " it can go to " + ", ".join(
        f"{t.to} (rule '{t.name}'{', by approving a request' if t.via else ''})" for t in leaving)


# --------------------------------------------------------------------------- services


def transition(store, name: str, version: int, to: str, comment: str = "") -> LifecycleEvent:
    """Move ``name`` v``version`` to state ``to`` under the policy in force."""
    policy = current_policy(store)
    if not isinstance(to, str) or not to.strip():
        raise InvalidInput("give the state to move to")
    to = to.strip().upper()
    if to not in policy.states:
        import difflib

        close = difflib.get_close_matches(to, policy.states, n=1)
        raise InvalidInput(f"{to!r} is not a state of policy '{policy.name}'"
                           + (f"; did you mean {close[0]}?" if close else f" ({', '.join(policy.states)})"))
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment must be text")
    subj = subject(name, version)
    try:
        with store.db.write() as conn:
            mrow, vrow = rows(conn, name, version)
            if vrow.state == to:
                raise Conflict(f"{name} v{vrow.version} is {to} already")
            rule = policy.find(vrow.state, to)
            if rule is None:
                raise PolicyViolation(f"policy '{policy.name}' has no rule from {vrow.state} to {to}; "
                                      + _moves(policy, vrow.state), policy=policy.name, rule=None)
            if rule.via == "request":
                raise PolicyViolation(f"{_tag(policy, rule)} applies only by approving a deployment request "
                                      "(request_deployment, then a reviewer's approve_request)",
                                      rule=rule.name, policy=policy.name)
            facts = Facts(conn, store, vrow, solo=policy.solo)
            self_approved, items = check_rule(conn, store, policy, facts, rule)
            return apply(conn, store, policy, mrow, vrow, rule, comment=comment or "", self_approved=self_approved,
                         details={"evidence": [i.id for i in items if i.ok]} if items else None)
    except (PolicyViolation, Forbidden) as exc:
        refused(store, "version.transition", "model_version", subj, exc)
        raise


def history(store, name: str, version: int | None = None) -> list[LifecycleEvent]:
    """Every move of a version (or of all versions of a model), oldest first."""
    with store.db.read() as conn:
        from ..registry.models import _model_row
        from ..registry.validation import check_model_name

        mrow = _model_row(conn, check_model_name(name))
        q = (sa.select(LE, V.c.version).join(V, V.c.id == LE.c.version_id)
             .where(LE.c.model_id == mrow.id).order_by(LE.c.created_at, LE.c.id))
        if version is not None:
            _, vrow = rows(conn, name, version)
            q = q.where(LE.c.version_id == vrow.id)
        return [LifecycleEvent(id=r.id, model_name=mrow.name, version=r.version, from_state=r.from_state,
                               to_state=r.to_state, rule=r.rule, actor=r.actor, comment=r.comment,
                               request_id=r.request_id, self_approved=bool(r.self_approved),
                               details=r.details or {}, created_at=r.created_at) for r in conn.execute(q)]


def require_deployable(store, name: str, version: int | None = None, alias: str | None = None,
                       target: str | None = None):
    """The approved request that lets this version be deployed (to ``target``), or None
    when the policy approves without requests; ``PolicyViolation`` when it may not be
    deployed. The deployment capability calls this before it deploys anything."""
    policy = current_policy(store)
    with store.db.read() as conn:
        mrow, vrow = rows(conn, name, version, alias)
        if vrow.state not in policy.deployable:
            raise PolicyViolation(
                f"{mrow.name} v{vrow.version} is {vrow.state}: policy '{policy.name}' deploys only "
                f"{', '.join(sorted(policy.deployable))} versions; request deployment and have it approved",
                policy=policy.name, rule="deployable", state=vrow.state)
        approved = conn.execute(sa.select(REQ).where(REQ.c.version_id == vrow.id, REQ.c.status == APPROVED)
                                .order_by(REQ.c.decided_at.desc())).all()
        if not approved:
            return None
        match = [r for r in approved if target is None or r.target == target]
        if not match:
            raise PolicyViolation(
                f"{mrow.name} v{vrow.version} was approved for {', '.join(sorted({r.target for r in approved}))}, "
                f"not for {target}; request deployment to {target}", policy=policy.name, rule="target",
                target=target)
        rid = match[0].id
    from .approvals import get_request

    return get_request(store, rid)
