"""Monitoring services: the prediction log, ground truth, drift and performance reports,
and checks that raise alerts.

The model server ships sampled predictions here (``log_predictions``) in batches; a
check (``check_monitor``, run by the server every ``check_interval`` seconds and on
demand) reads the recent window of the version being served, compares its inputs with
the deployment's reference (``drift.py``), joins ground truth by request id for accuracy,
measures latency and error rate, stores a report, and hands the figures to the alert
rules (``alerts.py``).
"""

from __future__ import annotations

import json
import math
import threading

import sqlalchemy as sa

from ..errors import InvalidInput, NotFound
from ..ids import new_id, now_ms
from ..store import schema as s
from . import alerts
from .records import DriftReport, MonitorEvent, MonitorReport

P, GT, MON, REP, EVT = s.prediction_log, s.ground_truth, s.monitors, s.monitor_reports, s.monitor_events
D, M, V = s.deployments, s.registered_models, s.model_versions
MAX_BATCH = 10_000
MAX_ID = 128
_ref_cache: dict[str, object] = {}
_ref_lock = threading.Lock()


# --------------------------------------------------------------------------- monitors


def create_monitor(conn, store, deployment_id: str, model_id: str, reference: dict, config: dict) -> None:
    ts = now_ms()
    conn.execute(MON.insert().values(deployment_id=deployment_id, model_id=model_id, reference=reference or {},
                                     config=config or {}, state={}, created_by=store.user, created_at=ts,
                                     updated_at=ts, last_check_at=None))


def _deployment(conn, ref: str):
    from ..deploy.service import _resolve

    dep_id = _resolve(conn, ref)
    row = conn.execute(sa.select(D, M.c.name.label("model_name"), V.c.version.label("version"),
                                 V.c.state.label("state"))
                       .join(M, M.c.id == D.c.model_id).join(V, V.c.id == D.c.version_id)
                       .where(D.c.id == dep_id)).first()
    if row is None:
        raise NotFound(f"no deployment with id {ref}")
    return row


def _monitor(conn, dep):
    row = conn.execute(sa.select(MON).where(MON.c.deployment_id == dep.id)).first()
    if row is None:
        raise NotFound(f"deployment {dep.id[:8]} ({dep.target}) has no monitor")
    return row


def configure_monitor(store, deployment_id: str, rules: list | None = None, webhook: str | None = None,
                      window: int | None = None, min_rows: int | None = None, share: float | None = None,
                      reset: bool = False) -> dict:
    """Change a deployment's monitor settings (``reset``: back to the defaults first)."""
    changes = alerts.check_config({k: v for k, v in {"rules": rules, "webhook": webhook, "window": window,
                                                     "min_rows": min_rows, "share": share}.items()
                                   if v is not None})
    if not isinstance(reset, bool):
        raise InvalidInput("reset must be true or false")
    from ..governance import audit

    with store.db.write() as conn:
        dep = _deployment(conn, deployment_id)
        mon = _monitor(conn, dep)
        config = {} if reset else dict(mon.config or {})
        config.update(changes)
        conn.execute(MON.update().where(MON.c.deployment_id == dep.id).values(config=config, updated_at=now_ms()))
        audit.append(conn, store, "monitor.configure", "deployment", dep.id,
                     {"changes": {k: (v if k != "rules" else [r["name"] for r in v]) for k, v in changes.items()},
                      "reset": reset})
    return alerts.effective(store, config)


def set_reference(store, deployment_id: str, reference: dict) -> dict:
    """Replace a deployment's drift reference with data already in the store."""
    from ..governance import audit
    from ..governance.validation import check_spec
    from .reference import build_reference

    spec = check_spec(reference)
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        _monitor(conn, dep)
        vrow = conn.execute(sa.select(V).where(V.c.id == dep.version_id)).first()
        mrow = conn.execute(sa.select(M).where(M.c.id == dep.model_id)).first()
    info = build_reference(store, mrow, vrow, None, spec)
    with store.db.write() as conn:
        conn.execute(MON.update().where(MON.c.deployment_id == dep.id).values(reference=info, updated_at=now_ms()))
        audit.append(conn, store, "monitor.reference", "deployment", dep.id,
                     {"source": info.get("source"), "rows": info.get("rows"), "digest": info.get("digest")})
    return {k: v for k, v in info.items() if k != "profile"}


def get_monitor(store, deployment_id: str) -> dict:
    """The monitor of a deployment: reference, config in force, firing rules, last check."""
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        mon = _monitor(conn, dep)
    ref = {k: v for k, v in (mon.reference or {}).items() if k != "profile"}
    return {"deployment_id": dep.id, "model_name": dep.model_name, "version": dep.version, "reference": ref,
            "config": alerts.effective(store, mon.config or {}), "state": mon.state or {},
            "last_check_at": mon.last_check_at}


# --------------------------------------------------------------------------- logging


def _check_row(row, i: int) -> dict:
    if not isinstance(row, (list, tuple)) or len(row) != 7:
        raise InvalidInput(f"prediction row {i} must be [id, at, version, features, prediction, latency_ms, status]")
    rid, at, version, features, prediction, latency, status = row
    if not isinstance(rid, str) or not rid or len(rid) > MAX_ID:
        raise InvalidInput(f"prediction row {i}: id must be text of 1 to {MAX_ID} characters")
    for what, v in (("at", at), ("version", version), ("status", status)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**62:
            raise InvalidInput(f"prediction row {i}: {what} must be a non-negative integer")
    if features is not None and not isinstance(features, dict):
        raise InvalidInput(f"prediction row {i}: features must be a mapping or null")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, (int, float))):
        raise InvalidInput(f"prediction row {i}: latency_ms must be a number or null")
    if isinstance(latency, float) and not math.isfinite(latency):
        latency = None
    return {"id": rid, "at": at, "version": version, "features": features, "prediction": prediction,
            "latency_ms": latency, "status": status}


def _insert_ignore(conn, table, rows: list[dict]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        conn.execute(insert(table).on_conflict_do_nothing(), rows)
    else:
        conn.execute(table.insert().prefix_with("OR IGNORE"), rows)


def _jsonable(value):
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        from ..server.api import sanitize

        return json.loads(json.dumps(sanitize(value), default=str))


def log_predictions(store, deployment_id: str, rows: list, stats: dict | None = None) -> int:
    """Store a batch of sampled predictions of a deployment (ids already stored are kept).

    ``rows``: ``[id, at_ms, version, features, prediction, latency_ms, status]``;
    ``stats``: the server's counters, kept on the deployment."""
    from ..deploy.service import _resolve

    if not isinstance(rows, list) or len(rows) > MAX_BATCH:
        raise InvalidInput(f"rows must be a list of at most {MAX_BATCH} predictions")
    if stats is not None and not isinstance(stats, dict):
        raise InvalidInput("stats must be a mapping")
    checked = [_check_row(r, i) for i, r in enumerate(rows)]
    with store.db.write() as conn:
        dep_id = _resolve(conn, deployment_id)
        model_id = conn.execute(sa.select(D.c.model_id).where(D.c.id == dep_id)).scalar()
        if model_id is None:
            raise NotFound(f"no deployment with id {deployment_id}")
        values = [{"deployment_id": dep_id, "model_id": model_id, **r,
                   "features": _jsonable(r["features"]), "prediction": _jsonable(r["prediction"])}
                  for r in checked]
        _insert_ignore(conn, P, values)
        if stats:
            conn.execute(D.update().where(D.c.id == dep_id).values(stats=_jsonable(stats)))
    return len(checked)


def log_ground_truth(store, deployment_or_model: str, ids: list, labels: list) -> int:
    """Record the true outcome of predictions, by request id (``<id>:<row>`` for rows of a
    request of several); a label sent again replaces the earlier one."""
    if not isinstance(ids, list) or not isinstance(labels, list):
        raise InvalidInput("ids and labels must be lists")
    if len(ids) != len(labels):
        raise InvalidInput(f"{len(ids)} ids but {len(labels)} labels")
    if len(ids) > 100_000:
        raise InvalidInput("at most 100000 labels at once")
    for i in ids:
        if not isinstance(i, str) or not i or len(i) > MAX_ID:
            raise InvalidInput(f"ids must be request ids (text of 1 to {MAX_ID} characters)")
    if not isinstance(deployment_or_model, str) or not deployment_or_model:
        raise InvalidInput("give a deployment id or a model name")
    with store.db.write() as conn:
        model_id = None
        try:
            model_id = _deployment(conn, deployment_or_model).model_id
        except (NotFound, InvalidInput):
            row = conn.execute(sa.select(M.c.id).where(M.c.name == deployment_or_model)).first()
            if row is None:
                raise NotFound(f"no deployment or model {deployment_or_model!r}") from None
            model_id = row.id
        ts = now_ms()
        labels = [_jsonable(v.item() if hasattr(v, "item") else v) for v in labels]
        conn.execute(GT.delete().where(GT.c.model_id == model_id, GT.c.id.in_(list(ids))))
        if ids:
            conn.execute(GT.insert(), [{"model_id": model_id, "id": i, "label": v, "logged_by": store.user, "at": ts}
                                      for i, v in zip(ids, labels)])
    return len(ids)


# --------------------------------------------------------------------------- reading the window


def _window(conn, dep, limit: int, version: int | None):
    q = (sa.select(P.c.id, P.c.at, P.c.version, P.c.features, P.c.prediction, P.c.latency_ms, P.c.status)
         .where(P.c.deployment_id == dep.id).order_by(P.c.at.desc(), P.c.id.desc()).limit(limit))
    if version is not None:
        q = q.where(P.c.version == version)
    return conn.execute(q).all()


def _reference(store, reference: dict):
    from .reference import load_reference

    digest = reference.get("digest")
    if digest:
        with _ref_lock:
            if digest in _ref_cache:
                return _ref_cache[digest], None
        frame, _ = load_reference(store, reference)
        with _ref_lock:
            if len(_ref_cache) > 16:
                _ref_cache.clear()
            _ref_cache[digest] = frame
        return frame, None
    return None, reference.get("profile")


def _drift(store, dep, mon, rows, cfg) -> DriftReport:
    import pandas as pd

    from .drift import compute_drift

    reference = mon.reference or {}
    feats = [r.features for r in rows if r.features is not None and r.status < 400]
    frame = pd.DataFrame.from_records(feats) if feats else pd.DataFrame()
    ref_frame, profile = _reference(store, reference)
    if (ref_frame is None and not profile) or frame.empty:
        report = DriftReport(current_rows=len(frame))
    else:
        report = compute_drift(ref_frame, frame, kinds=reference.get("columns"), profile=profile,
                               share=float(cfg.get("share", 0.5)))
    report.model_name, report.version, report.deployment_id = dep.model_name, dep.version, dep.id
    report.reference_source = reference.get("source", "none")
    report.created_at = now_ms()
    if rows:
        report.window = {"from": min(r.at for r in rows), "to": max(r.at for r in rows), "rows": len(rows)}
    return report


def drift_report(store, deployment_id: str, window: int | None = None) -> DriftReport:
    """Drift of the recent inputs of a deployment (the version it serves) against its
    reference; nothing is stored and no rule runs."""
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1_000_000):
        raise InvalidInput("window must be a number of rows from 1 to 1000000")
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        mon = _monitor(conn, dep)
        cfg = alerts.effective(store, mon.config or {})
        rows = _window(conn, dep, window or int(cfg["window"]), dep.version)
    return _drift(store, dep, mon, rows, cfg)


def _performance(conn, dep, rows) -> dict:
    out: dict = {}
    if rows:
        lat = sorted(r.latency_ms for r in rows if r.latency_ms is not None)
        if lat:
            out["latency_p50_ms"] = round(lat[len(lat) // 2], 3)
            out["latency_p99_ms"] = round(lat[min(len(lat) - 1, int(math.ceil(0.99 * len(lat))) - 1)], 3)
        out["error_rate"] = round(sum(1 for r in rows if r.status >= 400) / len(rows), 6)
        ok = {r.id: r.prediction for r in rows if r.status < 400}
        if ok:
            labels = dict(conn.execute(sa.select(GT.c.id, GT.c.label).where(
                GT.c.model_id == dep.model_id, GT.c.id.in_(list(ok)))).all())
            out["labelled_rows"] = len(labels)
            if labels:
                from ..governance.validation import compute_metrics

                import warnings

                ids = [i for i in ok if i in labels]
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        found = compute_metrics([labels[i] for i in ids], [ok[i] for i in ids])
                    out.update({k: round(v, 6) for k, v in found.items()})
                except Exception as exc:  # noqa: BLE001 - odd labels must not break the check
                    out["metrics_error"] = str(exc)[:200]
    return out


def performance(store, deployment_id: str, window: int | None = None) -> dict:
    """Latency, error rate and — once ground truth is logged — accuracy-style metrics of the
    recent window of the version a deployment serves."""
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1_000_000):
        raise InvalidInput("window must be a number of rows from 1 to 1000000")
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        mon = conn.execute(sa.select(MON.c.config).where(MON.c.deployment_id == dep.id)).first()
        cfg = alerts.effective(store, (mon.config if mon else None) or {})
        rows = _window(conn, dep, window or int(cfg["window"]), dep.version)
        out = _performance(conn, dep, rows)
    out["rows"] = len(rows)
    out["server"] = dep.stats or {}
    return out


# --------------------------------------------------------------------------- checks


def _event(conn, store, dep, kind: str, rule: str = "", severity: str = "", message: str = "",
           details: dict | None = None) -> MonitorEvent:
    rec = {"id": new_id(), "deployment_id": dep.id, "model_id": dep.model_id, "version": dep.version,
           "kind": kind, "rule": rule, "severity": severity or "", "message": message[:2000],
           "details": _jsonable(details or {}), "created_at": now_ms()}
    conn.execute(EVT.insert().values(**rec))
    return MonitorEvent(id=rec["id"], model_name=dep.model_name, kind=kind, deployment_id=dep.id,
                        version=dep.version, rule=rule, severity=rec["severity"], message=rec["message"],
                        details=rec["details"], created_at=rec["created_at"])


def check_monitor(store, deployment_id: str, window: int | None = None) -> MonitorReport:
    """Run a deployment's monitoring check now: figures, rules, life-cycle moves, alerts."""
    from ..governance import audit

    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1_000_000):
        raise InvalidInput("window must be a number of rows from 1 to 1000000")
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        mon = _monitor(conn, dep)
        cfg = alerts.effective(store, mon.config or {})
        rows = _window(conn, dep, window or int(cfg["window"]), dep.version)
        perf = _performance(conn, dep, rows)
    drift = _drift(store, dep, mon, rows, cfg)
    metrics = {"rows": len(rows), **{k: v for k, v in perf.items() if isinstance(v, (int, float))}}
    if drift.columns and drift.current_rows >= int(cfg["min_rows"]):
        metrics.update(dataset_drift=int(drift.dataset_drift), drift_share=drift.drift_share,
                       drifted_columns=drift.drifted_columns,
                       max_psi=max((c.psi for c in drift.columns if c.psi is not None), default=None))
    firing = alerts.evaluate(metrics, cfg["rules"])
    before = set((mon.state or {}).get("firing", []))
    rising = [f for f in firing if f["rule"] not in before]
    events: list[MonitorEvent] = []
    report_id = new_id()
    ts = now_ms()
    summary = {"metrics": metrics, "performance": perf, "firing": firing,
               "drift": {"reference_source": drift.reference_source, "reference_rows": drift.reference_rows,
                         "columns": [{k: getattr(c, k) for k in ("column", "kind", "test", "statistic", "p_value",
                                                                  "drifted", "psi")} for c in drift.columns]}}
    with store.db.write() as conn:
        conn.execute(REP.insert().values(id=report_id, deployment_id=dep.id, model_id=dep.model_id,
                                         version=dep.version, rows=len(rows), dataset_drift=bool(drift.dataset_drift)
                                         and "dataset_drift" in metrics, drift_share=drift.drift_share
                                         if "drift_share" in metrics else None, report=_jsonable(summary),
                                         created_at=ts))
        conn.execute(MON.update().where(MON.c.deployment_id == dep.id).values(
            state={"firing": [f["rule"] for f in firing], "last_report": report_id}, last_check_at=ts))
        for f in rising:
            msg = (f"{dep.model_name} v{dep.version}: rule {f['rule']!r} fires: {f['metric']} = {f['value']} "
                   f"{f['op']} {f['threshold']}")
            events.append(_event(conn, store, dep, "alert", f["rule"], f.get("state") or "", msg,
                                 {**f, "report_id": report_id}))
            audit.append(conn, store, "monitor.alert", "deployment", dep.id, {
                "model": dep.model_name, "version": dep.version, "rule": f["rule"], "metric": f["metric"],
                "value": f["value"], "threshold": f["threshold"], "state": f.get("state")}, actor=alerts.ACTOR)
    state = _apply_state(store, dep, firing, events, bool(rising))
    _notify(store, dep, cfg, rising, metrics, drift, events, report_id)
    return MonitorReport(id=report_id, deployment_id=dep.id, model_name=dep.model_name, version=dep.version,
                         rows=len(rows), metrics=metrics, drift=drift, performance=perf, firing=firing,
                         events=[e.to_dict() for e in events], state=state, created_at=ts)


def _apply_state(store, dep, firing, events, report_refusal: bool = True) -> str:
    """Move the served version to the most severe state the firing rules ask for."""
    from ..errors import ModelOpsError
    from ..governance.lifecycle import transition

    to = alerts.target_state(firing)
    with store.db.read() as conn:
        state = conn.execute(sa.select(V.c.state).where(V.c.id == dep.version_id)).scalar()
    if to is None or state == to or alerts.SEVERITY.get(state, 0) >= alerts.SEVERITY[to]:
        return state
    rules = ", ".join(f["rule"] for f in firing if f.get("state"))
    system = store.as_actor(alerts.ACTOR, alerts.ACTOR_ROLES)
    try:
        event = transition(system, dep.model_name, dep.version, to, comment=f"monitoring: {rules}")
        state = event.to_state
    except ModelOpsError as exc:
        if not report_refusal:
            return state
        with store.db.write() as conn:
            events.append(_event(conn, store, dep, "transition_refused", rules, to,
                                 f"could not move {dep.model_name} v{dep.version} from {state} to {to}: "
                                 f"{exc.message}"))
    return state


def _notify(store, dep, cfg, rising, metrics, drift, events, report_id) -> None:
    if not rising:
        return
    hook = cfg.get("webhook")
    notify = [f for f in rising if f.get("notify", True)]
    if hook and notify:
        payload = {"event": "modelops.alert", "model": dep.model_name, "version": dep.version,
                   "deployment": dep.id, "endpoint": dep.endpoint, "report": report_id,
                   "rules": notify, "metrics": metrics, "drifted_columns": drift.drifted,
                   "at": now_ms()}
        ok, what = alerts.post_webhook(hook, payload, float(cfg.get("webhook_timeout") or 5.0))
        with store.db.write() as conn:
            events.append(_event(conn, store, dep, "notified" if ok else "notify_failed",
                                 ",".join(f["rule"] for f in notify), "", f"webhook {hook}: {what}",
                                 {"url": hook, "result": what}))
    retrain = [f for f in rising if f.get("retrain")]
    if retrain:
        request = {"model": dep.model_name, "version": dep.version, "deployment": dep.id,
                   "rules": [f["rule"] for f in retrain], "metrics": metrics, "report": report_id}
        results = alerts.request_retrain(store, request)
        from ..governance import audit

        with store.db.write() as conn:
            events.append(_event(conn, store, dep, "retrain_requested", ",".join(request["rules"]), "",
                                 f"retraining of {dep.model_name} requested by monitoring",
                                 {**request, "hooks": results}))
            audit.append(conn, store, "monitor.retrain_requested", "model", dep.model_name,
                         {"version": dep.version, "deployment": dep.id, "rules": request["rules"],
                          "hooks": results}, actor=alerts.ACTOR)


def monitor_reports(store, deployment_id: str, limit: int = 20) -> list[dict]:
    """Stored check reports of a deployment, newest first (figures and per-column results)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput("limit must be an integer from 1 to 1000")
    with store.db.read() as conn:
        dep = _deployment(conn, deployment_id)
        rows = conn.execute(sa.select(REP).where(REP.c.deployment_id == dep.id)
                            .order_by(REP.c.created_at.desc(), REP.c.id).limit(limit)).all()
    return [{"id": r.id, "version": r.version, "rows": r.rows, "dataset_drift": bool(r.dataset_drift),
             "drift_share": r.drift_share, "created_at": r.created_at, **(r.report or {})} for r in rows]


def monitor_events(store, name: str | None = None, deployment_id: str | None = None, kind: str | None = None,
                   limit: int = 100) -> list[MonitorEvent]:
    """Alerts, notifications and retraining requests, newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be an integer from 1 to 10000")
    q = (sa.select(EVT, M.c.name.label("model_name")).join(M, M.c.id == EVT.c.model_id)
         .order_by(EVT.c.created_at.desc(), EVT.c.id).limit(limit))
    with store.db.read() as conn:
        if name is not None:
            if not isinstance(name, str):
                raise InvalidInput("name must be a model name")
            q = q.where(M.c.name == name)
        if deployment_id is not None:
            q = q.where(EVT.c.deployment_id == _deployment(conn, deployment_id).id)
        if kind is not None:
            if not isinstance(kind, str):
                raise InvalidInput("kind must be text")
            q = q.where(EVT.c.kind == kind)
        rows = conn.execute(q).all()
    return [MonitorEvent(id=r.id, model_name=r.model_name, kind=r.kind, deployment_id=r.deployment_id,
                         version=r.version, rule=r.rule, severity=r.severity, message=r.message,
                         details=r.details or {}, created_at=r.created_at) for r in rows]


def inventory_monitors(store, version_ids) -> dict:
    if not version_ids:
        return {}
    with store.db.read() as conn:
        rows = conn.execute(sa.select(D.c.id, D.c.version_id, MON.c.config, MON.c.state, MON.c.last_check_at,
                                      MON.c.reference)
                            .join(MON, MON.c.deployment_id == D.c.id)
                            .where(D.c.version_id.in_(list(version_ids)),
                                   D.c.status.in_(("STARTING", "RUNNING", "RESTARTING")))).all()
    out: dict = {}
    for r in rows:
        cfg = alerts.effective(store, r.config or {})
        out.setdefault(r.version_id, []).append({
            "deployment": r.id, "rules": [x["name"] for x in cfg["rules"]],
            "firing": (r.state or {}).get("firing", []), "last_check_at": r.last_check_at,
            "reference": (r.reference or {}).get("source")})
    return out
