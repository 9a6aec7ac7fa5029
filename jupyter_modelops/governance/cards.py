"""Model cards: generated from the registry, edited by people, rendered as Markdown and HTML.

A card has *facts* the registry knows (owner, purpose, risk tier, flavor, lineage, metrics,
training data, validation results, approvals), read fresh every time, and *sections* of
text people write (intended use, limitations, ethical considerations, caveats, ...). A
section nobody edited is generated from what the registry knows, where it can be.

Every piece of user text is escaped in both renderings: Markdown punctuation and HTML in
Markdown (Jupyter renders raw HTML inside Markdown), HTML entities in HTML.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime, timezone

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import now_ms
from ..store import schema as s
from .records import ModelCard

SECTIONS = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "out_of_scope": "Out-of-scope uses",
    "training_data": "Training data",
    "evaluation": "Evaluation",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
    "caveats": "Caveats and recommendations",
}
MAX_SECTION = 20_000
C, M, V, G, EV, LE = (s.model_cards, s.registered_models, s.model_versions, s.model_governance,
                      s.governance_evidence, s.lifecycle_events)


def _when(ms) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _generated(facts: dict) -> dict:
    """Sections written from the registry's facts, where it knows enough."""
    out = {}
    detail = facts.get("description") or facts.get("model_description") or ""
    kind = f"Kind: {facts.get('kind')} model, {facts.get('flavor')} flavor"
    out["model_details"] = f"{kind}. {detail}".strip() if detail else f"{kind}."
    purpose = facts.get("purpose") or facts.get("model_description") or ""
    if purpose:
        out["intended_use"] = purpose
    data = facts.get("training_data") or []
    if data:
        out["training_data"] = "; ".join(
            f"{d.get('name')} (sha256 {str(d.get('digest', ''))[:12]}…"
            + (f", {d['rows']} rows" if d.get("rows") else "") + ")" for d in data)
    return out


def card_facts_and_sections(conn, store, vrow) -> tuple[dict, dict, int]:
    """(facts, sections with edits applied, revision) of a version's card, via ``conn``."""
    model = conn.execute(sa.select(M).where(M.c.id == vrow.model_id)).first()
    info = conn.execute(sa.select(G).where(G.c.model_id == vrow.model_id)).first()
    lineage = vrow.lineage or {}
    datasets = [d for d in lineage.get("datasets") or [] if isinstance(d, dict)
                and d.get("context", "training") == "training"]
    metrics = {}
    if vrow.run_id:
        from ..tracking.runs import load_run_data

        metrics = load_run_data(conn, [vrow.run_id])[vrow.run_id][1]
    val = conn.execute(sa.select(EV).where(EV.c.version_id == vrow.id, EV.c.kind == "validation")
                       .order_by(EV.c.created_at.desc()).limit(1)).first()
    approvals = [{"by": r.actor, "at": r.created_at, "rule": r.rule, "self_approved": bool(r.self_approved)}
                 for r in conn.execute(sa.select(LE).where(LE.c.version_id == vrow.id, LE.c.rule == "approve")
                                       .order_by(LE.c.created_at))]
    sig = vrow.signature
    try:
        from ..registry.signature import describe

        signature = describe(sig) if sig else ""
    except Exception:  # noqa: BLE001 - a card never fails on a strange signature
        signature = json.dumps(sig)[:200] if sig else ""
    facts = {
        "name": model.name, "version": vrow.version, "kind": model.kind, "flavor": vrow.flavor,
        "owner": model.owner, "purpose": info.purpose if info else "", "risk_tier": info.risk_tier if info else "",
        "state": vrow.state, "created_by": vrow.created_by, "created_at": vrow.created_at,
        "description": vrow.description, "model_description": model.description,
        "run_id": vrow.run_id, "code_hash": lineage.get("code_hash") or "", "git": lineage.get("git") or {},
        "training_data": [{"name": d.get("name"), "digest": d.get("digest"), "rows": d.get("rows")}
                          for d in datasets],
        "metrics": {k: v for k, v in sorted(metrics.items())[:50]},
        "signature": signature, "requires_trust": not bool(vrow.trusted),
        "manifest_digest": vrow.manifest_digest,
        "validation": None if val is None else {
            "status": val.status, "summary": val.summary,
            "metrics": (val.data or {}).get("metrics") or {}, "at": val.created_at},
        "approvals": approvals,
    }
    row = conn.execute(sa.select(C).where(C.c.version_id == vrow.id)).first()
    edits = dict(row.sections or {}) if row is not None else {}
    sections = {**_generated(facts), **{k: v for k, v in edits.items() if v is not None}}
    return facts, sections, (row.revision if row is not None else 0)


def check_sections(sections) -> dict:
    if not isinstance(sections, dict) or not sections:
        raise InvalidInput(f"give the sections to change: {', '.join(SECTIONS)}")
    out = {}
    for key, value in sections.items():
        if key not in SECTIONS:
            import difflib

            close = difflib.get_close_matches(str(key), list(SECTIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (sections: {', '.join(SECTIONS)})"
            raise InvalidInput(f"a model card has no section {key!r}{hint}")
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"card section {key!r} must be text (or None to go back to the generated text)")
        if value is not None and len(value) > MAX_SECTION:
            raise InvalidInput(f"card section {key!r} is longer than {MAX_SECTION} characters")
        out[key] = value
    return out


def save_sections(conn, store, vrow, changes: dict) -> int:
    """Apply edits (None removes an edit); returns the new revision."""
    row = conn.execute(sa.select(C).where(C.c.version_id == vrow.id)).first()
    current = dict(row.sections or {}) if row is not None else {}
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    revision = (row.revision if row is not None else 0) + 1
    values = {"sections": current, "revision": revision, "updated_by": store.user, "updated_at": now_ms()}
    if row is None:
        conn.execute(C.insert().values(version_id=vrow.id, **values))
    else:
        conn.execute(C.update().where(C.c.version_id == vrow.id).values(**values))
    return revision


def content_digest(facts: dict, sections: dict) -> str:
    """What the card says, as a hash (recorded with approvals: what was approved)."""
    stable = {"version": f"{facts['name']}/{facts['version']}", "manifest": facts["manifest_digest"],
              "sections": sections}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()


def build(conn, store, vrow) -> ModelCard:
    facts, sections, revision = card_facts_and_sections(conn, store, vrow)
    row = conn.execute(sa.select(C).where(C.c.version_id == vrow.id)).first()
    card = ModelCard(model_name=facts["name"], version=facts["version"], sections=sections, facts=facts,
                     revision=revision, updated_by=row.updated_by if row is not None else "",
                     updated_at=row.updated_at if row is not None else 0,
                     digest=content_digest(facts, sections))
    card.markdown = to_markdown(card)
    card.html = to_html(card)
    return card


# --------------------------------------------------------------------------- rendering

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md(text) -> str:
    """User text that renders as itself in Markdown: punctuation backslash-escaped, HTML
    escaped (after, so entities get no backslashes); line breaks kept."""
    lines = str(text if text is not None else "").splitlines() or [""]
    out = []
    for line in lines:
        escaped = _MD_SPECIAL.sub(r"\\\1", line)
        escaped = html.escape(escaped, quote=True)
        if re.match(r"^\s*\d+\.(\s|$)", escaped):  # "1. " would start a list
            escaped = re.sub(r"^(\s*\d+)\.", r"\1\\.", escaped)
        if re.match(r"^\s*([-=]{3,}\s*$|-(\s|$))", escaped):  # a rule, an underline or a list item
            escaped = "\\" + escaped.lstrip()
        out.append(escaped)
    return "  \n".join(out)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _fact_rows(card: ModelCard) -> list[tuple[str, str]]:
    f = card.facts
    git = f.get("git") or {}
    rows = [("Owner", f.get("owner")), ("Purpose", f.get("purpose")), ("Risk tier", f.get("risk_tier")),
            ("Kind / flavor", f"{f.get('kind')} / {f.get('flavor')}"), ("State", f.get("state")),
            ("Registered", f"{_when(f.get('created_at'))} by {f.get('created_by')}"),
            ("Source run", f.get("run_id") or ""), ("Code hash", (f.get("code_hash") or "")[:16]),
            ("Git commit", ((git.get("commit") or "")[:12] + (" (dirty)" if git.get("dirty") else ""))),
            ("Inputs", _cut(f.get("signature") or "", 300)),
            ("Package", "needs trust to load (pickle-based)" if f.get("requires_trust") else "loads safely")]
    return [(k, _fmt(v)) for k, v in rows if v not in (None, "", " / ")]


def _metric_rows(card: ModelCard) -> list[tuple[str, str, str]]:
    rows = [(k, _fmt(v), "training run") for k, v in (card.facts.get("metrics") or {}).items()]
    val = card.facts.get("validation") or {}
    rows += [(k, _fmt(v), "held-out validation") for k, v in (val.get("metrics") or {}).items()
             if not isinstance(v, dict)]
    return rows


def to_markdown(card: ModelCard) -> str:
    f = card.facts
    out = [f"# Model card: {md(f['name'])} v{f['version']}", ""]
    out += ["| | |", "|---|---|"] + [f"| {md(k)} | {md(v)} |" for k, v in _fact_rows(card)] + [""]
    for key, title in SECTIONS.items():
        text = card.sections.get(key)
        out += [f"## {title}", "", md(text) if text and text.strip() else "_Not written yet._", ""]
        if key == "evaluation":
            rows = _metric_rows(card)
            if rows:
                out += ["| metric | value | measured on |", "|---|---|---|"]
                out += [f"| {md(k)} | {md(v)} | {w} |" for k, v, w in rows] + [""]
            val = f.get("validation")
            if val:
                out += [f"Automated validation: **{md(val['status'])}** — {md(val['summary'])}", ""]
    approvals = f.get("approvals") or []
    out += ["## Approvals", ""]
    out += [f"- {md(a['by'])}, {_when(a['at'])}" + (" (self-approved under a solo policy)" if a["self_approved"] else "")
            for a in approvals] or ["_Not approved._"]
    out += ["", f"<sub>card revision {card.revision}, sha256 {card.digest[:16]}</sub>"]
    return "\n".join(out) + "\n"


def _h(text) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def _para(text) -> str:
    return "<p>" + "<br>".join(_h(line) for line in str(text).splitlines()) + "</p>"


def to_html(card: ModelCard) -> str:
    f = card.facts
    parts = [f"<h2>Model card: {_h(f['name'])} v{_h(f['version'])}</h2>",
             "<table>" + "".join(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in _fact_rows(card))
             + "</table>"]
    for key, title in SECTIONS.items():
        text = card.sections.get(key)
        parts.append(f"<h3>{_h(title)}</h3>")
        parts.append(_para(text) if text and text.strip() else "<p><em>Not written yet.</em></p>")
        if key == "evaluation":
            rows = _metric_rows(card)
            if rows:
                parts.append("<table><tr><th>metric</th><th>value</th><th>measured on</th></tr>" + "".join(
                    f"<tr><td>{_h(k)}</td><td>{_h(v)}</td><td>{_h(w)}</td></tr>" for k, v, w in rows) + "</table>")
            val = f.get("validation")
            if val:
                parts.append(f"<p>Automated validation: <b>{_h(val['status'])}</b> — {_h(val['summary'])}</p>")
    approvals = f.get("approvals") or []
    parts.append("<h3>Approvals</h3>")
    parts.append("<ul>" + "".join(
        f"<li>{_h(a['by'])}, {_h(_when(a['at']))}"
        + (" (self-approved under a solo policy)" if a["self_approved"] else "") + "</li>" for a in approvals)
        + "</ul>" if approvals else "<p><em>Not approved.</em></p>")
    parts.append(f"<p><small>card revision {card.revision}, sha256 {_h(card.digest[:16])}</small></p>")
    return '<div class="mo-model-card">' + "".join(parts) + "</div>"


# --------------------------------------------------------------------------- services


def get_model_card(store, name: str, version: int | None = None, alias: str | None = None) -> ModelCard:
    """A version's card (newest version if neither ``version`` nor ``alias``)."""
    from .lifecycle import rows

    with store.db.read() as conn:
        _, vrow = rows(conn, name, version, alias)
        return build(conn, store, vrow)


def update_model_card(store, name: str, version: int, sections: dict) -> ModelCard:
    """Edit sections of a version's card (``None`` goes back to the generated text)."""
    from . import audit
    from .lifecycle import rows, subject

    changes = check_sections(sections)
    with store.db.write() as conn:
        mrow, vrow = rows(conn, name, version)
        revision = save_sections(conn, store, vrow, changes)
        audit.append(conn, store, "card.update", "model_version", subject(mrow.name, vrow.version), {
            "revision": revision, "sections": sorted(changes),
            "cleared": sorted(k for k, v in changes.items() if v is None)})
        return build(conn, store, vrow)
