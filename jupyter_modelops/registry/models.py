"""Registry services: registered models, their numbered versions, aliases and alias history.

Rules that live here (and therefore hold for every client and transport):
- version numbers are assigned by the store inside the write transaction (max + 1), and a
  collision with a concurrent writer is retried, never surfaced;
- a version is idempotent by its id: pushing the same version twice returns the first;
- every alias move is recorded in ``alias_events`` with the old and the new version.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import Conflict, InvalidInput, ModelOpsError, NotFound
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from ..store.artifacts import check_digest
from ..store.store import Store
from .records import REGISTERED, AliasEvent, ModelVersion, RegisteredModel
from .validation import (
    check_alias,
    check_model_name,
    check_tags,
    check_version_number,
    merge_tags,
)

RETRIES = 5
MAX_KIND = 32
MAX_FLAVOR = 32

M, V, A, E = s.registered_models, s.model_versions, s.model_aliases, s.alias_events


# --------------------------------------------------------------------------- helpers


def _model_row(conn, name: str):
    row = conn.execute(sa.select(M).where(M.c.name == name)).first()
    if row is None:
        raise NotFound(f"no registered model named {name!r}")
    return row


def _latest(conn, model_id: str) -> int | None:
    return conn.execute(sa.select(sa.func.max(V.c.version)).where(V.c.model_id == model_id)).scalar()


def _alias_map(conn, model_ids: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {mid: {} for mid in model_ids}
    if not model_ids:
        return out
    q = (sa.select(A.c.model_id, A.c.alias, V.c.version)
         .join(V, V.c.id == A.c.version_id)
         .where(A.c.model_id.in_(model_ids))
         .order_by(A.c.alias))
    for mid, alias, version in conn.execute(q):
        out[mid][alias] = version
    return out


def _model(row, latest: int | None, aliases: dict[str, int]) -> RegisteredModel:
    return RegisteredModel(
        id=row.id, name=row.name, kind=row.kind, description=row.description, owner=row.owner,
        tags=row.tags or {}, created_at=row.created_at, updated_at=row.updated_at,
        latest_version=latest, aliases=aliases,
    )


def _version(row, name: str, aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        id=row.id, model_id=row.model_id, name=name, version=row.version, run_id=row.run_id,
        flavor=row.flavor, manifest_digest=row.manifest_digest, signature=row.signature,
        description=row.description, tags=row.tags or {}, lineage=row.lineage or {},
        state=row.state, trusted=bool(row.trusted), created_by=row.created_by,
        created_at=row.created_at, updated_at=row.updated_at, aliases=aliases,
    )


def _version_aliases(conn, version_id: str) -> list[str]:
    return list(conn.execute(
        sa.select(A.c.alias).where(A.c.version_id == version_id).order_by(A.c.alias)
    ).scalars())


def _event_time(conn, model_id: str) -> int:
    """Now, but strictly after the model's previous alias event, so history has one order
    even when two moves land in the same millisecond."""
    last = conn.execute(sa.select(sa.func.max(E.c.changed_at)).where(E.c.model_id == model_id)).scalar()
    return max(now_ms(), (last or 0) + 1)


def _short_text(value, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{what} must be a string of 1 to {limit} characters")
    return value


def _json_obj(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _version_row(conn, model, version: int | None, alias: str | None):
    if version is not None and alias is not None:
        raise InvalidInput("give a version or an alias, not both")
    if alias is not None and alias != "latest":
        alias = check_alias(alias)
        row = conn.execute(
            sa.select(V).join(A, A.c.version_id == V.c.id)
            .where(A.c.model_id == model.id, A.c.alias == alias)
        ).first()
        if row is None:
            known = _alias_map(conn, [model.id])[model.id]
            hint = f" (aliases: {', '.join(known)})" if known else " (it has no aliases)"
            raise NotFound(f"model {model.name!r} has no alias {alias!r}{hint}")
        return row
    latest = _latest(conn, model.id)
    if latest is None:
        raise NotFound(f"model {model.name!r} has no versions yet")
    if version is None:
        version = latest
    version = check_version_number(version)
    row = conn.execute(sa.select(V).where(V.c.model_id == model.id, V.c.version == version)).first()
    if row is None:
        raise NotFound(f"model {model.name!r} has no version {version} (latest is {latest})")
    return row


# --------------------------------------------------------------------------- models


def create_model(store: Store, name: str, *, kind: str = "ml", description: str = "",
                 owner: str | None = None, tags: dict | None = None,
                 id: str | None = None) -> RegisteredModel:
    """Register a new model name (``Conflict`` if taken; idempotent for the same ``id``)."""
    name = check_model_name(name)
    kind = _short_text(kind, "model kind", MAX_KIND)
    tags = {k: v for k, v in check_tags(tags).items() if v is not None}
    ts = now_ms()
    rec = {"id": normalize_id(id, "model id") if id else new_id(), "name": name, "kind": kind,
           "description": description or "", "owner": owner or store.user, "tags": tags,
           "created_at": ts, "updated_at": ts}
    with store.db.write() as conn:
        same_id = conn.execute(sa.select(M).where(M.c.id == rec["id"])).first()
        if same_id is not None:
            if same_id.name != name:
                raise Conflict(f"model id {rec['id']} already names model {same_id.name!r}")
            return _model(same_id, _latest(conn, same_id.id), _alias_map(conn, [same_id.id])[same_id.id])
        if conn.execute(sa.select(M.c.id).where(M.c.name == name)).first():
            raise Conflict(f"model {name!r} already exists")
        conn.execute(M.insert().values(**rec))
    return RegisteredModel(**rec)


def get_model(store: Store, name: str) -> RegisteredModel:
    name = check_model_name(name)
    with store.db.read() as conn:
        row = _model_row(conn, name)
        return _model(row, _latest(conn, row.id), _alias_map(conn, [row.id])[row.id])


def list_models(store: Store, *, kind: str | None = None, limit: int = 1000) -> list[RegisteredModel]:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit must be a positive integer")
    q = sa.select(M).order_by(M.c.name).limit(limit)
    if kind is not None:
        q = q.where(M.c.kind == kind)
    with store.db.read() as conn:
        rows = conn.execute(q).all()
        ids = [r.id for r in rows]
        latest = dict(conn.execute(
            sa.select(V.c.model_id, sa.func.max(V.c.version))
            .where(V.c.model_id.in_(ids)).group_by(V.c.model_id)
        ).all()) if ids else {}
        aliases = _alias_map(conn, ids)
    return [_model(r, latest.get(r.id), aliases[r.id]) for r in rows]


def update_model(store: Store, name: str, *, description: str | None = None,
                 tags: dict | None = None) -> RegisteredModel:
    """Change the description and/or tags (a tag set to None is removed)."""
    name = check_model_name(name)
    changes = check_tags(tags)
    with store.db.write() as conn:
        row = _model_row(conn, name)
        values = {"updated_at": now_ms()}
        if description is not None:
            values["description"] = str(description)
        if tags is not None:
            values["tags"] = merge_tags(row.tags, changes)
        conn.execute(M.update().where(M.c.id == row.id).values(**values))
    return get_model(store, name)


# --------------------------------------------------------------------------- versions


def _loads_safely(store: Store, flavor: str, digest: str) -> bool:
    """Whether the package loads without running its code, decided here from the stored
    manifest by the flavor's own rule: a caller may mark a version as needing trust, never
    a pickle-based one as safe, so the inventory's mark cannot be talked away."""
    import json

    from .flavors import FLAVORS, get_flavor
    from .package import MAX_MANIFEST

    if flavor not in FLAVORS:
        return False
    data = b""
    try:
        for chunk in store.artifacts.iter_chunks(digest):
            data += chunk
            if len(data) > MAX_MANIFEST:
                return False
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError, ModelOpsError):
        return False
    info = manifest.get("flavor_info") if isinstance(manifest, dict) else None
    if not isinstance(info, dict) or manifest.get("flavor") != flavor:
        return False
    return not get_flavor(flavor).requires_trust(info)


def create_version(store: Store, name: str, *, flavor: str, manifest_digest: str,
                   run_id: str | None = None, signature: dict | None = None,
                   lineage: dict | None = None, description: str = "", tags: dict | None = None,
                   trusted: bool = False, kind: str | None = None, id: str | None = None,
                   user: str | None = None) -> ModelVersion:
    """Add the next version of ``name`` (creating the model if needed).

    The manifest blob must already be in the artifact store. Re-sending a version with an
    ``id`` the store already holds returns the stored version unchanged.
    """
    name = check_model_name(name)
    flavor = _short_text(flavor, "flavor", MAX_FLAVOR)
    check_digest(manifest_digest)
    if signature is not None and not isinstance(signature, dict):
        raise InvalidInput(f"signature must be a mapping, not {type(signature).__name__}")
    lineage = _json_obj(lineage, "lineage")
    tags = {k: v for k, v in check_tags(tags).items() if v is not None}
    if kind is not None:
        kind = _short_text(kind, "model kind", MAX_KIND)
    run_id = normalize_id(run_id, "run id") if run_id else None
    version_id = normalize_id(id, "version id") if id else new_id()
    if not store.artifacts.exists(manifest_digest):
        raise NotFound(f"manifest blob {manifest_digest[:12]}… is not in the artifact store; upload it first")
    trusted = bool(trusted) and _loads_safely(store, flavor, manifest_digest)
    actor = user or store.user

    for attempt in range(RETRIES):
        try:
            # A savepoint per attempt: on PostgreSQL a unique violation aborts the enclosing
            # transaction (services.call's) unless rolled back to a savepoint.
            with store.db.write() as conn, conn.begin_nested():
                existing = conn.execute(sa.select(V).where(V.c.id == version_id)).first()
                if existing is not None:
                    model = conn.execute(sa.select(M).where(M.c.id == existing.model_id)).first()
                    if model.name != name:
                        raise Conflict(f"version id {version_id} belongs to model {model.name!r}")
                    return _version(existing, name, _version_aliases(conn, existing.id))
                ts = now_ms()
                model = conn.execute(sa.select(M).where(M.c.name == name)).first()
                if model is None:
                    model_id = new_id()
                    conn.execute(M.insert().values(
                        id=model_id, name=name, kind=kind or "ml", description="", owner=actor,
                        tags={}, created_at=ts, updated_at=ts))
                else:
                    model_id = model.id
                    conn.execute(M.update().where(M.c.id == model_id).values(updated_at=ts))
                number = (_latest(conn, model_id) or 0) + 1
                rec = {"id": version_id, "model_id": model_id, "version": number, "run_id": run_id,
                       "flavor": flavor, "manifest_digest": manifest_digest, "signature": signature,
                       "description": description or "", "tags": tags, "lineage": lineage,
                       "state": REGISTERED, "trusted": bool(trusted), "created_by": actor,
                       "created_at": ts, "updated_at": ts}
                conn.execute(V.insert().values(**rec))
            return ModelVersion(name=name, aliases=[], **rec)
        except sa.exc.IntegrityError:
            # A concurrent writer took this number (or created the model): try again.
            if attempt == RETRIES - 1:
                raise Conflict(f"could not assign a version number to {name!r}: too much contention") from None
    raise AssertionError("unreachable")  # pragma: no cover


def get_version(store: Store, name: str, version: int | None = None,
                alias: str | None = None) -> ModelVersion:
    """A version by number or by alias; neither means the newest."""
    name = check_model_name(name)
    with store.db.read() as conn:
        model = _model_row(conn, name)
        row = _version_row(conn, model, version, alias)
        return _version(row, name, _version_aliases(conn, row.id))


def list_versions(store: Store, name: str) -> list[ModelVersion]:
    name = check_model_name(name)
    with store.db.read() as conn:
        model = _model_row(conn, name)
        rows = conn.execute(sa.select(V).where(V.c.model_id == model.id).order_by(V.c.version)).all()
        by_version: dict[str, list[str]] = {}
        for alias, vid in conn.execute(
            sa.select(A.c.alias, A.c.version_id).where(A.c.model_id == model.id).order_by(A.c.alias)
        ):
            by_version.setdefault(vid, []).append(alias)
    return [_version(r, name, by_version.get(r.id, [])) for r in rows]


def update_version(store: Store, name: str, version: int, *, description: str | None = None,
                   tags: dict | None = None) -> ModelVersion:
    """Annotations only: the package, signature and lineage of a version never change."""
    name = check_model_name(name)
    version = check_version_number(version)
    changes = check_tags(tags)
    with store.db.write() as conn:
        model = _model_row(conn, name)
        row = _version_row(conn, model, version, None)
        values = {"updated_at": now_ms()}
        if description is not None:
            values["description"] = str(description)
        if tags is not None:
            values["tags"] = merge_tags(row.tags, changes)
        conn.execute(V.update().where(V.c.id == row.id).values(**values))
    return get_version(store, name, version)


# --------------------------------------------------------------------------- aliases


def set_alias(store: Store, name: str, alias: str, version: int,
              user: str | None = None) -> ModelVersion:
    """Point ``alias`` at ``version`` (moving it if it pointed elsewhere); returns that version."""
    name = check_model_name(name)
    alias = check_alias(alias)
    version = check_version_number(version)
    actor = user or store.user
    with store.db.write() as conn:
        model = _model_row(conn, name)
        target = _version_row(conn, model, version, None)
        current = conn.execute(
            sa.select(A.c.version_id).where(A.c.model_id == model.id, A.c.alias == alias)
        ).scalar()
        if current != target.id:
            ts = _event_time(conn, model.id)
            if current is None:
                conn.execute(A.insert().values(model_id=model.id, alias=alias, version_id=target.id,
                                               updated_by=actor, updated_at=ts))
            else:
                conn.execute(A.update().where(A.c.model_id == model.id, A.c.alias == alias)
                             .values(version_id=target.id, updated_by=actor, updated_at=ts))
            conn.execute(E.insert().values(id=new_id(), model_id=model.id, alias=alias,
                                           old_version_id=current, new_version_id=target.id,
                                           changed_by=actor, changed_at=ts))
        return _version(target, name, _version_aliases(conn, target.id))


def delete_alias(store: Store, name: str, alias: str, user: str | None = None) -> None:
    name = check_model_name(name)
    alias = check_alias(alias)
    with store.db.write() as conn:
        model = _model_row(conn, name)
        current = conn.execute(
            sa.select(A.c.version_id).where(A.c.model_id == model.id, A.c.alias == alias)
        ).scalar()
        if current is None:
            raise NotFound(f"model {name!r} has no alias {alias!r}")
        conn.execute(A.delete().where(A.c.model_id == model.id, A.c.alias == alias))
        conn.execute(E.insert().values(id=new_id(), model_id=model.id, alias=alias,
                                       old_version_id=current, new_version_id=None,
                                       changed_by=user or store.user,
                                       changed_at=_event_time(conn, model.id)))


def alias_history(store: Store, name: str, alias: str | None = None) -> list[AliasEvent]:
    """Every alias move of a model (or of one alias), oldest first."""
    name = check_model_name(name)
    if alias is not None:
        alias = check_alias(alias)
    old_v, new_v = V.alias("old_v"), V.alias("new_v")
    q = (sa.select(E.c.id, E.c.alias, old_v.c.version.label("old"), new_v.c.version.label("new"),
                   E.c.changed_by, E.c.changed_at)
         .outerjoin(old_v, old_v.c.id == E.c.old_version_id)
         .outerjoin(new_v, new_v.c.id == E.c.new_version_id)
         .order_by(E.c.changed_at, E.c.id))
    with store.db.read() as conn:
        model = _model_row(conn, name)
        q = q.where(E.c.model_id == model.id)
        if alias is not None:
            q = q.where(E.c.alias == alias)
        rows = conn.execute(q).all()
    return [AliasEvent(id=r.id, model_name=name, alias=r.alias, old_version=r.old, new_version=r.new,
                       changed_by=r.changed_by, changed_at=r.changed_at) for r in rows]
