"""Alert rules and what a breach does: move the version along its life cycle, notify,
ask for retraining.

A rule compares one figure of a monitoring check with a threshold::

    {"name": "data-drift", "metric": "dataset_drift", "op": "==", "value": 1,
     "state": "WATCH", "notify": true, "retrain": true}

Figures: ``rows``, ``dataset_drift`` (1/0), ``drift_share``, ``drifted_columns``,
``max_psi``, ``error_rate``, ``latency_p50_ms``, ``latency_p99_ms``, ``labelled_rows``
and, once ground truth is logged, the held-out metrics (``accuracy``, ``f1``,
``roc_auc``, ``r2``, ``mae``...). A figure that a check could not compute (too few rows,
no labels) never fires.

Rules come from the deployment's monitor config, else the policy's ``monitoring.rules``
(when the policy file has that section), else ``DEFAULT_RULES``. When rules fire, the
version moves to the most severe ``state`` among them (WATCH, BREACH) through
``governance.lifecycle.transition`` as the system actor ``modelops:monitor`` (a deployer),
so the policy decides and the move is audited. A rule that starts firing is recorded as
an alert event (and audited), POSTed as JSON to the ``webhook`` when one is configured,
and, with ``retrain``, raises a "retrain requested" event and calls the retraining hooks.
"""

from __future__ import annotations

import json
import math
import operator
import re
import urllib.error
import urllib.request
from typing import Callable

from ..errors import InvalidInput

ACTOR = "modelops:monitor"
ACTOR_ROLES = frozenset({"deployer"})
SEVERITY = {"WATCH": 1, "BREACH": 2}
OPS: dict[str, Callable] = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
                            "==": operator.eq, "!=": operator.ne}
DEFAULT_RULES = (
    {"name": "data-drift", "metric": "dataset_drift", "op": "==", "value": 1, "state": "WATCH", "notify": True,
     "retrain": True},
    {"name": "error-rate", "metric": "error_rate", "op": ">", "value": 0.05, "state": "WATCH", "notify": True,
     "retrain": False},
    {"name": "latency-p99", "metric": "latency_p99_ms", "op": ">", "value": 1000, "state": "WATCH",
     "notify": True, "retrain": False},
)
DEFAULTS = {"window": 1000, "min_rows": 100, "share": 0.5, "webhook": None, "webhook_timeout": 5.0,
            "rules": None}
_RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RETRAIN_HOOKS: list[Callable] = []


def register_retrain_hook(fn: Callable) -> None:
    """``fn(store, request)`` is called when a rule with ``retrain`` starts firing;
    ``request`` holds model, version, deployment, rule and the figures."""
    if fn not in RETRAIN_HOOKS:
        RETRAIN_HOOKS.append(fn)


def check_rule(rule, i: int = 0) -> dict:
    if not isinstance(rule, dict):
        raise InvalidInput(f"alert rule {i} must be a mapping with name, metric, op and value")
    unknown = set(rule) - {"name", "metric", "op", "value", "state", "notify", "retrain"}
    if unknown:
        raise InvalidInput(f"alert rule {i} has unknown keys: {', '.join(sorted(unknown))}")
    name = rule.get("name") or rule.get("metric")
    if not isinstance(name, str) or not _RULE_NAME.match(name):
        raise InvalidInput(f"alert rule {i} needs a name (letters, digits, '-', '_', '.')")
    metric = rule.get("metric")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise InvalidInput(f"alert rule {name!r} needs a metric such as dataset_drift or accuracy")
    op = rule.get("op", ">")
    if op not in OPS:
        raise InvalidInput(f"alert rule {name!r}: op must be one of {' '.join(OPS)}")
    value = rule.get("value")
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"alert rule {name!r} needs a numeric value")
    state = rule.get("state", "WATCH")
    if state is not None:
        if not isinstance(state, str) or state.upper() not in SEVERITY:
            raise InvalidInput(f"alert rule {name!r}: state must be WATCH, BREACH or null (alert only)")
        state = state.upper()
    for key in ("notify", "retrain"):
        if key in rule and not isinstance(rule[key], bool):
            raise InvalidInput(f"alert rule {name!r}: {key} must be true or false")
    return {"name": name, "metric": metric, "op": op, "value": value, "state": state,
            "notify": rule.get("notify", True), "retrain": rule.get("retrain", False)}


def check_config(config) -> dict:
    """A monitor config (rules, webhook, window, min_rows, share), checked."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InvalidInput("the monitor config must be a mapping")
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise InvalidInput(f"the monitor config has unknown keys: {', '.join(sorted(unknown))} "
                           f"(it knows {', '.join(sorted(DEFAULTS))})")
    out = {}
    if config.get("rules") is not None:
        rules = config["rules"]
        if not isinstance(rules, list) or len(rules) > 100:
            raise InvalidInput("rules must be a list of at most 100 rules")
        out["rules"] = [check_rule(r, i) for i, r in enumerate(rules)]
        names = [r["name"] for r in out["rules"]]
        if len(set(names)) != len(names):
            raise InvalidInput("alert rule names must differ")
    if config.get("webhook") is not None:
        hook = config["webhook"]
        if not isinstance(hook, str) or not hook.startswith(("http://", "https://")) or len(hook) > 2000:
            raise InvalidInput("webhook must be an http:// or https:// URL")
        out["webhook"] = hook
    for key, lo, hi in (("window", 10, 1_000_000), ("min_rows", 2, 1_000_000)):
        if config.get(key) is not None:
            v = config[key]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise InvalidInput(f"{key} must be an integer from {lo} to {hi}")
            out[key] = v
    for key, lo, hi in (("share", 0.0, 1.0), ("webhook_timeout", 0.1, 60.0)):
        if config.get(key) is not None:
            v = config[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise InvalidInput(f"{key} must be a number from {lo} to {hi}")
            out[key] = float(v)
    return out


def effective(store, config: dict) -> dict:
    """The config in force: the monitor's own settings over the policy's over the defaults."""
    out = dict(DEFAULTS)
    policy_rules = None
    try:
        from ..governance.policy import current_policy

        monitoring = getattr(current_policy(store), "monitoring", None) or {}
        if isinstance(monitoring, dict):
            policy_rules = monitoring.get("rules")
            out.update({k: v for k, v in monitoring.items() if k in DEFAULTS and k != "rules"})
    except Exception:  # noqa: BLE001 - a broken policy file is reported by governance, not here
        pass
    out.update({k: v for k, v in (config or {}).items() if v is not None})
    rules = (config or {}).get("rules")
    if rules is None and policy_rules:
        try:
            rules = [check_rule(r, i) for i, r in enumerate(policy_rules)]
        except InvalidInput:
            rules = None
    out["rules"] = list(rules) if rules is not None else [dict(r) for r in DEFAULT_RULES]
    return out


def evaluate(metrics: dict, rules: list[dict]) -> list[dict]:
    """The rules that fire on ``metrics``."""
    firing = []
    for r in rules:
        value = metrics.get(r["metric"])
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if isinstance(value, bool):
            value = int(value)
        if OPS[r["op"]](value, r["value"]):
            firing.append({"rule": r["name"], "metric": r["metric"], "value": value, "op": r["op"],
                           "threshold": r["value"], "state": r.get("state"), "notify": r.get("notify", True),
                           "retrain": r.get("retrain", False)})
    return firing


def target_state(firing: list[dict]) -> str | None:
    states = [f["state"] for f in firing if f.get("state")]
    return max(states, key=lambda st: SEVERITY[st]) if states else None


def post_webhook(url: str, payload: dict, timeout: float = 5.0) -> tuple[bool, str]:
    """POST ``payload`` as JSON; (ok, what happened)."""
    data = json.dumps(payload, default=str, allow_nan=False).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "jupyter-modelops-monitor"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 300, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, str(getattr(exc, "reason", exc))


def request_retrain(store, request: dict) -> list[str]:
    """Call the retraining hooks (registered, and entry points of the group
    ``jupyter_modelops.retrain_hooks``); returns what each said or raised."""
    results = []
    hooks = list(RETRAIN_HOOKS)
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="jupyter_modelops.retrain_hooks"):
            try:
                hooks.append(ep.load())
            except Exception as exc:  # noqa: BLE001
                results.append(f"{ep.name}: cannot load ({exc})")
    except Exception:  # noqa: BLE001
        pass
    for fn in hooks:
        try:
            out = fn(store, dict(request))
            results.append(f"{getattr(fn, '__name__', 'hook')}: {out if out is not None else 'ok'}")
        except Exception as exc:  # noqa: BLE001 - a failing hook must not break monitoring
            results.append(f"{getattr(fn, '__name__', 'hook')} failed: {type(exc).__name__}: {exc}")
    return results
