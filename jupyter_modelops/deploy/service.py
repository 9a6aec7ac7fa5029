"""Deployment services: deploy an approved version, list and stop deployments, and roll
out by aliases (promote a challenger, roll back to the previous version).

Rules that live here, for every client and transport:

- only a version the policy lets deploy is deployed (``require_deployable``: APPROVED or
  later, and approved for that target when requests name targets); refusals are audited;
- deploying a serving target takes an APPROVED/STAGED version to PRODUCTION (or STAGED
  when it follows an alias other than ``champion``) under the policy's rules, so the
  deployer needs the rule's role;
- every rollout move (deploy, stop, promote, rollback, reload, crash) is in the audit log,
  in the transaction of the change;
- a running ``local`` deployment follows its alias: ``promote``/``rollback`` signal it
  (SIGHUP) and wait until it serves the new version.
"""

from __future__ import annotations

import os
import re
import signal
import time

import sqlalchemy as sa

from ..errors import Conflict, Forbidden, InvalidInput, ModelOpsError, NotFound, PolicyViolation
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from .records import (
    ACTIVE,
    FAILED,
    RESTARTING,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    Deployment,
    Rollout,
)

D, M, V = s.deployments, s.registered_models, s.model_versions
SYSTEM = "modelops:deploy"
CHAMPION = "champion"
MAX_CONFIG = 64 << 10
STAGES = ("production", "staged", "none")
_PREFIX = re.compile(r"^[0-9a-f]{6,32}$")


# --------------------------------------------------------------------------- helpers


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


def _record(row, name: str, version: int, state: str, store) -> Deployment:
    alive = None
    if row.target == "local" and row.host == store.host:
        alive = _alive(row.pid)
    return Deployment(
        id=row.id, model_name=name, version=version, target=row.target, status=row.status, alias=row.alias,
        endpoint=row.endpoint or "", host=row.host or "", pid=row.pid, port=row.port, config=row.config or {},
        details=row.details or {}, stats=row.stats or {}, request_id=row.request_id, restarts=row.restarts or 0,
        last_error=row.last_error, started_by=row.started_by, created_at=row.created_at,
        started_at=row.started_at, stopped_at=row.stopped_at, updated_at=row.updated_at, state=state,
        alive=alive)


def _query():
    return (sa.select(D, M.c.name.label("model_name"), V.c.version.label("version"), V.c.state.label("state"))
            .join(M, M.c.id == D.c.model_id).join(V, V.c.id == D.c.version_id))


def _resolve(conn, ref) -> str:
    """A deployment id from an id or a unique prefix of at least 6 hex digits."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput("give a deployment id")
    text = ref.strip().lower().replace("-", "")
    if len(text) == 32:
        return normalize_id(text, "deployment id")
    if not _PREFIX.match(text):
        raise InvalidInput(f"{ref!r} is not a deployment id (32 hex digits, or a prefix of at least 6)")
    found = conn.execute(sa.select(D.c.id).where(D.c.id.startswith(text)).limit(2)).scalars().all()
    if not found:
        raise NotFound(f"no deployment with id {ref}")
    if len(found) > 1:
        raise InvalidInput(f"deployment id prefix {ref} is ambiguous; give more digits")
    return found[0]


def _row(conn, deployment_id: str):
    row = conn.execute(_query().where(D.c.id == deployment_id)).first()
    if row is None:
        raise NotFound(f"no deployment with id {deployment_id}")
    return row


def _audit(conn, store, action: str, subject_type: str, subject_id: str, details: dict, actor=None):
    from ..governance import audit

    audit.append(conn, store, action, subject_type, subject_id, details, actor=actor)


def _check_version_arg(version):
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput("version must be a positive integer")
    return version


def _small_json(value, what: str) -> dict:
    import json

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a mapping")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} must be plain JSON ({exc})") from None
    if len(text) > MAX_CONFIG:
        raise InvalidInput(f"{what} is larger than {MAX_CONFIG >> 10} KiB")
    return value


def _text(value, what: str, limit: int = 2000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{what} must be text of at most {limit} characters")
    return value.strip()


def stage_version(conn, store, policy, mrow, vrow, to: str, *, comment: str = "", request_id=None,
                  actor=None, roles=None):
    """Move an APPROVED/STAGED version to ``to`` (PRODUCTION or STAGED) when the policy has
    a rule for it, checking the rule's roles and duties. Returns the event or None."""
    from ..governance.evidence import Facts
    from ..governance.lifecycle import apply, check_rule

    if vrow.state not in ("APPROVED", "STAGED") or vrow.state == to:
        return None
    if to == "STAGED" and vrow.state != "APPROVED":
        return None
    rule = policy.find(vrow.state, to)
    if rule is None or rule.via:
        return None
    facts = Facts(conn, store, vrow, solo=policy.solo)
    self_approved, items = check_rule(conn, store, policy, facts, rule, actor=actor, roles=roles)
    return apply(conn, store, policy, mrow, vrow, rule, actor=actor, comment=comment, request_id=request_id,
                 self_approved=self_approved,
                 details={"evidence": [i.id for i in items if i.ok]} if items else None)


def _refused(store, action: str, subject: str, exc: ModelOpsError) -> None:
    from ..governance.lifecycle import refused

    refused(store, action, "model_version", subject, exc)


# --------------------------------------------------------------------------- deploy


def deploy(store, name: str, version: int | None = None, alias: str | None = None, *, target: str = "local",
           config: dict | None = None, reference: dict | None = None, monitor: dict | None = None,
           stage: str | None = None, id: str | None = None) -> Deployment:
    """Deploy ``name`` v``version`` (or the version ``alias`` points at, following it) to
    ``target``. ``config`` is the target's (port, sample_rate... see each target);
    ``reference`` names drift reference data already in the store ({"digest", "format"} or
    {"run_id", "artifact"}); ``monitor`` sets alert rules, webhook and windows; ``stage``
    (production | staged | none) overrides the life-cycle move."""
    from ..governance.lifecycle import require_deployable, rows, subject
    from ..governance.policy import current_policy
    from ..registry.validation import check_alias, check_model_name
    from .targets import get_target

    name = check_model_name(name)
    version = _check_version_arg(version)
    if alias is not None:
        alias = check_alias(alias)
    if version is not None and alias is not None:
        raise InvalidInput("give a version or an alias to follow, not both")
    impl = get_target(target)
    cfg = impl.check_config(_small_json(config, "config"))
    monitor_cfg = _small_json(monitor, "monitor")
    if stage is not None and stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)}")
    if reference is not None:
        from ..governance.validation import check_spec

        reference = check_spec(reference)
    if monitor_cfg:
        from ..monitor.alerts import check_config

        monitor_cfg = check_config(monitor_cfg)
    dep_id = normalize_id(id, "deployment id") if id else new_id()
    with store.db.read() as conn:
        if conn.execute(sa.select(D.c.id).where(D.c.id == dep_id)).first():
            return get_deployment(store, dep_id)
        mrow, vrow = rows(conn, name, version, alias)
    where = subject(mrow.name, vrow.version)
    try:
        request = require_deployable(store, name, vrow.version, target=target)
    except PolicyViolation as exc:
        _refused(store, "deployment.create", where, exc)
        raise
    reference_info = None
    if getattr(impl, "monitored", False):
        from ..monitor.reference import build_reference

        reference_info = build_reference(store, mrow, vrow, request, reference)
    if stage is None:
        stage = ("production" if alias in (None, CHAMPION) else "staged") if impl.serving else "none"
    policy = current_policy(store)
    ts = now_ms()
    try:
        with store.db.write() as conn:
            mrow, vrow = rows(conn, name, vrow.version)
            conn.execute(D.insert().values(
                id=dep_id, model_id=mrow.id, version_id=vrow.id, alias=alias, target=impl.name,
                status=STARTING, endpoint="", host=store.host, pid=None, port=None, config=cfg, details={},
                stats={}, request_id=request.id if request else None, restarts=0, last_error=None,
                started_by=store.user, created_at=ts, started_at=None, stopped_at=None, updated_at=ts))
            if reference_info is not None:
                from ..monitor.service import create_monitor

                create_monitor(conn, store, dep_id, mrow.id, reference_info, monitor_cfg)
            moved = None
            if stage != "none":
                moved = stage_version(conn, store, policy, mrow, vrow, stage.upper(),
                                      comment=f"deployed to {impl.name} ({dep_id[:8]})",
                                      request_id=request.id if request else None)
            _audit(conn, store, "deployment.create", "deployment", dep_id, {
                "model": mrow.name, "version": vrow.version, "alias": alias, "target": impl.name,
                "request_id": request.id if request else None, "config": cfg,
                "state": moved.to_state if moved else vrow.state,
                "reference": (reference_info or {}).get("source")})
    except (PolicyViolation, Forbidden) as exc:
        _refused(store, "deployment.create", where, exc)
        raise
    try:
        dep = get_deployment(store, dep_id)
        updates = impl.start(store, dep) or {}
    except BaseException as exc:
        message = exc.message if isinstance(exc, ModelOpsError) else f"{type(exc).__name__}: {exc}"
        with store.db.write() as conn:
            conn.execute(D.update().where(D.c.id == dep_id).values(
                status=FAILED, last_error=message[:4000], updated_at=now_ms(), stopped_at=now_ms()))
            _audit(conn, store, "deployment.failed", "deployment", dep_id, {"error": message})
        raise
    if updates:
        with store.db.write() as conn:
            conn.execute(D.update().where(D.c.id == dep_id).values(**updates, updated_at=now_ms()))
    return get_deployment(store, dep_id)


def get_deployment(store, deployment_id: str) -> Deployment:
    with store.db.read() as conn:
        row = _row(conn, _resolve(conn, deployment_id))
    return _record(row, row.model_name, row.version, row.state, store)


def list_deployments(store, name: str | None = None, status: str | None = None, all: bool = False,
                     target: str | None = None, limit: int = 200) -> list[Deployment]:
    """Deployments, newest first: the active ones, or every one with ``all=True``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be an integer from 1 to 10000")
    q = _query().order_by(D.c.created_at.desc(), D.c.id).limit(limit)
    if name is not None:
        from ..registry.validation import check_model_name

        q = q.where(M.c.name == check_model_name(name))
    if status is not None:
        if not isinstance(status, str):
            raise InvalidInput("status must be text")
        q = q.where(D.c.status == status.upper())
    elif not all:
        q = q.where(D.c.status.in_(ACTIVE))
    if target is not None:
        if not isinstance(target, str):
            raise InvalidInput("target must be text")
        q = q.where(D.c.target == target)
    with store.db.read() as conn:
        rows = conn.execute(q).all()
    _reap()
    return [_record(r, r.model_name, r.version, r.state, store) for r in rows]


def stop_deployment(store, deployment_id: str, comment: str = "") -> Deployment:
    """Stop a deployment (SIGTERM to a local server, then wait for it)."""
    from .targets import get_target

    comment = _text(comment, "comment")
    with store.db.read() as conn:
        dep_id = _resolve(conn, deployment_id)
        row = _row(conn, dep_id)
    if row.target == "local" and row.host != store.host and row.status in ACTIVE:
        raise Conflict(f"deployment {dep_id[:8]} runs on host {row.host}; stop it there", host=row.host)
    get_target(row.target).stop(store, row)
    with store.db.write() as conn:
        ts = now_ms()
        conn.execute(D.update().where(D.c.id == dep_id).values(
            status=STOPPED if row.status != FAILED else FAILED, stopped_at=row.stopped_at or ts, updated_at=ts))
        _audit(conn, store, "deployment.stop", "deployment", dep_id, {
            "model": row.model_name, "version": row.version, "target": row.target, "was": row.status,
            "comment": comment})
    _reap()
    return get_deployment(store, dep_id)


# --------------------------------------------------------------------------- rollout


def _run_write_hooks(conn, store, op: str, kwargs: dict, result) -> None:
    """What ``services.call`` does after a write (audit entry, sync outbox), for a registry
    write made inside a rollout's own transaction."""
    from .. import services

    for hook in services.WRITE_HOOKS:
        hook(conn, store, op, kwargs, result)


def _alias_version(conn, model_id: str, alias: str):
    A = s.model_aliases
    return conn.execute(sa.select(V).join(A, A.c.version_id == V.c.id)
                        .where(A.c.model_id == model_id, A.c.alias == alias)).first()


def _move_alias(store, action: str, name: str, alias: str, version: int, reason: str, wait: float,
                request_target: str | None = None) -> Rollout:
    from ..governance.lifecycle import require_deployable, rows, subject
    from ..governance.policy import current_policy
    from ..registry import models

    where = subject(name, version)
    try:
        require_deployable(store, name, version, target=request_target)
    except PolicyViolation as exc:
        _refused(store, f"rollout.{action}", where, exc)
        raise
    policy = current_policy(store)
    try:
        with store.db.write() as conn:
            mrow, vrow = rows(conn, name, version)
            before = _alias_version(conn, mrow.id, alias)
            if before is not None and before.id == vrow.id:
                raise Conflict(f"{name}@{alias} is v{version} already")
            result = models.set_alias(store, name, alias, version)
            _run_write_hooks(conn, store, "set_alias", {"name": name, "alias": alias, "version": version},
                             result)
            to = "PRODUCTION" if alias == CHAMPION else "STAGED"
            moved = stage_version(conn, store, policy, mrow, vrow, to,
                                  comment=f"{action}: {name}@{alias} → v{version}")
            state = moved.to_state if moved else vrow.state
            _audit(conn, store, f"rollout.{action}", "model", mrow.name, {
                "alias": alias, "from_version": before.version if before is not None else None,
                "to_version": vrow.version, "reason": reason, "state": state})
            model_id, version_id = mrow.id, vrow.id
    except (PolicyViolation, Forbidden) as exc:
        _refused(store, f"rollout.{action}", where, exc)
        raise
    followers = follow(store, model_id, alias, version_id, wait)
    return Rollout(model_name=name, alias=alias, action=action,
                   from_version=before.version if before is not None else None, to_version=version,
                   actor=store.user, reason=reason, state=state, deployments=followers)


def follow(store, model_id: str, alias: str, version_id: str, wait: float = 30.0) -> list[Deployment]:
    """Tell the running local deployments that follow ``alias`` to reload (SIGHUP) and wait
    until each serves ``version_id`` (or ``wait`` seconds pass)."""
    with store.db.read() as conn:
        q = (sa.select(D.c.id, D.c.pid, D.c.host).where(
            D.c.model_id == model_id, D.c.alias == alias, D.c.target == "local",
            D.c.status.in_((STARTING, RUNNING, RESTARTING))))
        rows = conn.execute(q).all()
    ids = []
    for r in rows:
        if r.host == store.host and _alive(r.pid):
            try:
                os.kill(r.pid, signal.SIGHUP)
            except OSError:
                continue
            ids.append(r.id)
    deadline = time.monotonic() + max(0.0, float(wait))
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        with store.db.read() as conn:
            done = conn.execute(sa.select(D.c.id).where(D.c.id.in_(pending), D.c.version_id == version_id)
                                ).scalars().all()
        pending -= set(done)
        if pending:
            time.sleep(0.05)
    return [get_deployment(store, r.id) for r in rows]


def promote(store, name: str, version: int | None = None, alias: str = CHAMPION,
            from_alias: str = "challenger", reason: str = "", wait: float = 30.0) -> Rollout:
    """Point ``alias`` (champion) at ``version`` — by default the version ``from_alias``
    (challenger) points at. The version must be deployable; it moves to PRODUCTION
    (STAGED for other aliases); running deployments that follow the alias reload."""
    from .. import services
    from ..registry.validation import check_alias, check_model_name

    name = check_model_name(name)
    alias = check_alias(alias)
    version = _check_version_arg(version)
    reason = _text(reason, "reason")
    wait = _wait(wait)
    if version is None:
        from_alias = check_alias(from_alias)
        try:
            version = services.OPS["get_version"](store, name=name, alias=from_alias).version
        except NotFound as exc:
            raise InvalidInput(f"give the version to promote: {exc.message}") from None
    return _move_alias(store, "promote", name, alias, version, reason, wait)


def previous_version(store, name: str, alias: str) -> tuple[int, int]:
    """(current, previous) version of ``alias`` from its history: each move pushes a
    version; a move back to the version before it (a rollback) pops one."""
    from ..registry.models import alias_history

    stack: list[int] = []
    for e in alias_history(store, name, alias):
        if e.new_version is None:
            stack = []
        elif len(stack) >= 2 and stack[-2] == e.new_version:
            stack.pop()
        elif not stack or stack[-1] != e.new_version:
            stack.append(e.new_version)
    if not stack:
        raise NotFound(f"model {name!r} has no alias {alias!r} to roll back")
    if len(stack) < 2:
        raise Conflict(f"{name}@{alias} has no earlier version to roll back to (it has only been v{stack[-1]})")
    return stack[-1], stack[-2]


def rollback(store, name: str, alias: str = CHAMPION, reason: str = "", wait: float = 30.0) -> Rollout:
    """Point ``alias`` back at the version it pointed at before (from its history)."""
    from ..registry.validation import check_alias, check_model_name

    name = check_model_name(name)
    alias = check_alias(alias)
    reason = _text(reason, "reason")
    wait = _wait(wait)
    _current, previous = previous_version(store, name, alias)
    return _move_alias(store, "rollback", name, alias, previous, reason, wait)


def _wait(wait) -> float:
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 600:
        raise InvalidInput("wait must be a number of seconds from 0 to 600")
    return float(wait)


# --------------------------------------------------------------------------- called by servers


def record_served(store, deployment_id: str, version_id: str, **details) -> None:
    with store.db.write() as conn:
        row = conn.execute(sa.select(D.c.details).where(D.c.id == deployment_id)).first()
        if row is None:
            return
        conn.execute(D.update().where(D.c.id == deployment_id).values(
            version_id=version_id, details={**(row.details or {}), **details}, updated_at=now_ms()))


def record_reload(store, deployment_id: str, old_version: int | None, version_id: str, version: int) -> None:
    from .server import SERVER_ACTOR

    with store.db.write() as conn:
        conn.execute(D.update().where(D.c.id == deployment_id).values(
            version_id=version_id, last_error=None, updated_at=now_ms()))
        _audit(conn, store, "deployment.reload", "deployment", deployment_id,
               {"from_version": old_version, "to_version": version}, actor=SERVER_ACTOR)


def record_reload_refused(store, deployment_id: str, version: int, reason: str) -> None:
    from .server import SERVER_ACTOR

    with store.db.write() as conn:
        row = conn.execute(sa.select(D.c.last_error).where(D.c.id == deployment_id)).first()
        message = f"not serving v{version}: {reason}"
        if row is None or row.last_error == message:
            return
        conn.execute(D.update().where(D.c.id == deployment_id).values(last_error=message, updated_at=now_ms()))
        _audit(conn, store, "deployment.reload.refused", "deployment", deployment_id,
               {"version": version, "reason": reason}, actor=SERVER_ACTOR)


def record_stats(store, deployment_id: str, stats: dict) -> None:
    with store.db.write() as conn:
        conn.execute(D.update().where(D.c.id == deployment_id).values(stats=stats))


def set_status(store, deployment_id: str, status: str, *, actor: str, error: str | None = None,
               restarted: bool = False, **values) -> None:
    """Status changes reported by the supervisor (audited when something went wrong)."""
    with store.db.write() as conn:
        row = conn.execute(sa.select(D.c.status, D.c.restarts).where(D.c.id == deployment_id)).first()
        if row is None:
            return
        if row.status in (STOPPING, STOPPED) and status not in (STOPPED,):
            return  # being stopped: nothing else to report
        upd = {"status": status, "updated_at": now_ms(), **values}
        if error is not None:
            upd["last_error"] = error[:4000]
        if restarted:
            upd["restarts"] = (row.restarts or 0) + 1
        if status == RUNNING and row.status != RUNNING:
            upd.setdefault("started_at", now_ms())
        conn.execute(D.update().where(D.c.id == deployment_id).values(**upd))
        if restarted or status == FAILED:
            _audit(conn, store, "deployment.crash" if status != FAILED else "deployment.failed", "deployment",
                   deployment_id, {"status": status, "error": error, "restarts": upd.get("restarts", row.restarts)},
                   actor=actor)


# --------------------------------------------------------------------------- children


_CHILDREN: dict[int, object] = {}


def adopt(proc) -> None:
    """Keep a started server's ``Popen`` so its exit is reaped (no zombies)."""
    _CHILDREN[proc.pid] = proc
    _reap()


def _reap() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            _CHILDREN.pop(pid, None)


# --------------------------------------------------------------------------- inventory


def inventory_endpoints(store, version_ids) -> dict:
    if not version_ids:
        return {}
    with store.db.read() as conn:
        rows = conn.execute(sa.select(D.c.id, D.c.version_id, D.c.target, D.c.endpoint, D.c.status, D.c.alias)
                            .where(D.c.version_id.in_(list(version_ids)), D.c.status.in_(ACTIVE))
                            .order_by(D.c.created_at)).all()
    out: dict = {}
    for r in rows:
        out.setdefault(r.version_id, []).append({"deployment": r.id, "target": r.target, "endpoint": r.endpoint,
                                                 "status": r.status, "alias": r.alias})
    return out
