"""The inventory: every governed model, what it is for, where it stands, on what evidence.

One row per model (or per version with ``all_versions=True``): owner, business purpose,
risk tier, kind (ML, rules, external vendor/C++ binaries... all alike), the governed
version (the one in production, else the furthest along, else the newest), its state,
who approved it, when and on what evidence, whether its package needs trust to load
(pickle-based), and the endpoints and monitors the deployment and monitoring
capabilities report through ``register_provider``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Callable

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import now_ms
from ..store import schema as s
from .records import InventoryEntry

M, V, G, LE, REQ, EV = (s.registered_models, s.model_versions, s.model_governance, s.lifecycle_events,
                        s.deployment_requests, s.governance_evidence)
# The governed version of a model: the first state found in this order, else the newest.
PRECEDENCE = ("PRODUCTION", "WATCH", "BREACH", "STAGED", "APPROVED", "VALIDATED", "IN_VALIDATION")
MAX_TIER = 32
COLUMNS = ("name", "kind", "owner", "purpose", "risk_tier", "version", "flavor", "state", "requires_trust",
           "approved_by", "approved_at", "approval_request", "evidence", "validation", "policy", "versions",
           "endpoints", "monitors", "updated_at")

# field -> providers; a provider is fn(store, version_ids) -> {version_id: [dict, ...]}
_PROVIDERS: dict[str, list[Callable]] = {"endpoints": [], "monitors": []}


def register_provider(field: str, fn: Callable) -> None:
    """Let a capability fill ``endpoints`` or ``monitors``: ``fn(store, version_ids)``
    returns ``{version_id: [{...}, ...]}`` (plain JSON)."""
    if field not in _PROVIDERS:
        raise ValueError(f"inventory providers fill {', '.join(_PROVIDERS)}, not {field!r}")
    if fn not in _PROVIDERS[field]:
        _PROVIDERS[field].append(fn)


def set_model_info(store, name: str, owner: str | None = None, purpose: str | None = None,
                   risk_tier: str | None = None) -> InventoryEntry:
    """Record who owns a model, what it is for and its risk tier."""
    from ..registry.models import _model_row
    from ..registry.validation import check_model_name
    from . import audit

    name = check_model_name(name)
    changes = {}
    for key, value, limit in (("owner", owner, 255), ("purpose", purpose, 10_000), ("risk_tier", risk_tier, MAX_TIER)):
        if value is None:
            continue
        if not isinstance(value, str) or (key != "purpose" and not value.strip()) or len(value) > limit:
            raise InvalidInput(f"{key} must be text of at most {limit} characters" + (
                "" if key == "purpose" else ", not empty"))
        changes[key] = value.strip()
    if "risk_tier" in changes:
        changes["risk_tier"] = changes["risk_tier"].lower()
    if not changes:
        raise InvalidInput("give owner=, purpose= and/or risk_tier=")
    with store.db.write() as conn:
        mrow = _model_row(conn, name)
        ts = now_ms()
        if "owner" in changes:
            conn.execute(M.update().where(M.c.id == mrow.id).values(owner=changes["owner"], updated_at=ts))
        info = {k: v for k, v in changes.items() if k in ("purpose", "risk_tier")}
        if info:
            row = conn.execute(sa.select(G).where(G.c.model_id == mrow.id)).first()
            if row is None:
                conn.execute(G.insert().values(model_id=mrow.id, purpose=info.get("purpose", ""),
                                               risk_tier=info.get("risk_tier", ""), updated_by=store.user,
                                               updated_at=ts))
            else:
                conn.execute(G.update().where(G.c.model_id == mrow.id).values(**info, updated_by=store.user,
                                                                              updated_at=ts))
        audit.append(conn, store, "model.info", "model", mrow.name, {
            k: (v if k != "purpose" else v[:200]) for k, v in changes.items()})
    return inventory(store, name=name)[0]


def _pick(versions: list) -> object:
    for state in PRECEDENCE:
        found = [v for v in versions if v.state == state]
        if found:
            return max(found, key=lambda v: v.version)
    return max(versions, key=lambda v: v.version)


def inventory(store, *, kind: str | None = None, state: str | None = None, name: str | None = None,
              all_versions: bool = False) -> list[InventoryEntry]:
    """Every governed model (or version), sorted by name."""
    from .policy import current_policy

    policy = current_policy(store)
    with store.db.read() as conn:
        q = sa.select(M).order_by(M.c.name)
        if kind:
            q = q.where(M.c.kind == kind)
        if name:
            q = q.where(M.c.name == name)
        models = conn.execute(q).all()
        ids = [m.id for m in models]
        versions: dict[str, list] = {}
        infos: dict[str, object] = {}
        approvals: dict[str, object] = {}
        validations: dict[str, str] = {}
        if ids:
            for v in conn.execute(sa.select(V.c.id, V.c.model_id, V.c.version, V.c.flavor, V.c.state, V.c.trusted,
                                            V.c.updated_at).where(V.c.model_id.in_(ids))):
                versions.setdefault(v.model_id, []).append(v)
            infos = {g.model_id: g for g in conn.execute(sa.select(G).where(G.c.model_id.in_(ids)))}
            for e in conn.execute(sa.select(LE).where(LE.c.model_id.in_(ids), LE.c.to_state == "APPROVED")
                                  .order_by(LE.c.created_at)):
                approvals[e.version_id] = e  # the latest approval of each version
            for e in conn.execute(sa.select(EV.c.version_id, EV.c.status).where(
                    EV.c.version_id.in_([v.id for vs in versions.values() for v in vs]), EV.c.kind == "validation")
                    .order_by(EV.c.created_at)):
                validations[e.version_id] = e.status
    chosen = []
    for m in models:
        vs = versions.get(m.id, [])
        if all_versions:
            chosen += [(m, v) for v in sorted(vs, key=lambda v: v.version)] or [(m, None)]
        else:
            chosen.append((m, _pick(vs) if vs else None))
    extra = {f: {} for f in _PROVIDERS}
    vids = [v.id for _, v in chosen if v is not None]
    for f, providers in _PROVIDERS.items():
        for fn in providers:
            try:
                for vid, items in (fn(store, vids) or {}).items():
                    extra[f].setdefault(vid, []).extend(items)
            except Exception:  # noqa: BLE001 - one broken provider must not hide the inventory
                pass
    out = []
    for m, v in chosen:
        info = infos.get(m.id)
        appr = approvals.get(v.id) if v is not None else None
        by_state: dict[str, list[int]] = {}
        for x in sorted(versions.get(m.id, []), key=lambda x: x.version):
            by_state.setdefault(x.state, []).append(x.version)
        entry = InventoryEntry(
            name=m.name, kind=m.kind, owner=m.owner, purpose=info.purpose if info else "",
            risk_tier=info.risk_tier if info else "", version=v.version if v else None,
            flavor=v.flavor if v else "", state=v.state if v else "", requires_trust=bool(v and not v.trusted),
            versions=by_state, approved_by=appr.actor if appr else None,
            approved_at=appr.created_at if appr else None, approval_request=appr.request_id if appr else None,
            evidence=list((appr.details or {}).get("evidence", [])) if appr else [],
            validation=validations.get(v.id, "") if v else "", policy=policy.name,
            endpoints=extra["endpoints"].get(v.id, []) if v else [],
            monitors=extra["monitors"].get(v.id, []) if v else [],
            updated_at=max(m.updated_at, v.updated_at if v else 0))
        if appr is not None and appr.self_approved:
            entry.evidence = entry.evidence + ["(self-approved under a solo policy)"]
        if state and entry.state != state.upper():
            continue
        out.append(entry)
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        if isinstance(value, dict):
            return "; ".join(f"{k}: {','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items())
        return "; ".join(json.dumps(x, sort_keys=True) if isinstance(x, dict) else str(x) for x in value)
    return str(value)


def to_csv(entries: list) -> str:
    """CSV text, one row per entry (lists and mappings flattened to ``a; b``)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for e in entries:
        d = e.to_dict() if hasattr(e, "to_dict") else e
        writer.writerow([_safe_csv(_cell(d.get(c))) for c in COLUMNS])
    return buf.getvalue()


def _safe_csv(text: str) -> str:
    """No spreadsheet formulas from user text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_json(entries: list) -> str:
    return json.dumps([e.to_dict() if hasattr(e, "to_dict") else e for e in entries], indent=2, default=str)
