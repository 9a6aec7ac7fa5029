"""Governance policies: the life cycle, who may move a version along it, and on what evidence.

The built-in policy (``DEFAULT_POLICY``, below, in the same YAML a policy file uses) is::

    DRAFT → REGISTERED → IN_VALIDATION → VALIDATED | REJECTED → APPROVED → STAGED →
    PRODUCTION → (WATCH | BREACH) → RETIRED

A policy file replaces it, or with ``extends: default`` adds states, adds or replaces
transitions by name (``name: null`` removes one), and changes the validation settings.
A wrong file is refused when it is loaded, with the line and the reason
(``PolicyFileError``), so a typo can never silently weaken the rules.

The policy in force: the file named by ``$JUPYTER_MODELOPS_POLICY``, else
``store.policy_path`` if the opener set one, else ``policy.yaml`` in the store's home
(the folder of its SQLite file, or ``$JUPYTER_MODELOPS_HOME``), else the built-in policy.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput

ENV_POLICY = "JUPYTER_MODELOPS_POLICY"
POLICY_FILE = "policy.yaml"
ROLES = ("viewer", "data_scientist", "validator", "approver", "deployer", "admin")
PARTIES = ("developer", "requester", "validator")
EVIDENCE_IDS = {
    "metrics_logged": "metrics logged",
    "model_card": "model card",
    "validation_results": "validation results",
    "training_data": "training data reference",
    "code_hash": "code hash",
    "no_out_of_order": "no out-of-order warnings",
    "drift_reference": "drift reference dataset",
    "validator_sign_off": "validator sign-off",
}
HELD_OUT_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
                    "log_loss", "r2", "mae", "mse", "rmse")
SIGN_OFF = ("automatic", "validator")
_STATE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

DEFAULT_POLICY = """\
# The built-in jupyter-modelops governance policy. Copy it to <home>/policy.yaml (or point
# $JUPYTER_MODELOPS_POLICY at a copy) to change it, or write a short file that starts with
# `extends: default` and lists only what differs.
name: default
solo: false            # true: one person may play every part; self-approval is audited as such
initial: REGISTERED
states: [DRAFT, REGISTERED, IN_VALIDATION, VALIDATED, REJECTED, APPROVED, STAGED,
         PRODUCTION, WATCH, BREACH, RETIRED]
deployable: [APPROVED, STAGED, PRODUCTION, WATCH]

validation:            # the automated validation every deployment request runs
  sign_off: automatic  # passing checks validate the version; `validator`: a person signs off
  require_data: false  # true: a request must bring held-out data (validation_data=(X, y))
  smoke_rows: 5
  metrics: []          # thresholds on the held-out data, e.g. [{metric: accuracy, min: 0.8}]
  slices: []           # columns of the held-out data to report metrics per value of
  slice_min_rows: 20

transitions:
  register:  {from: DRAFT, to: REGISTERED, roles: [data_scientist]}
  submit:    {from: [DRAFT, REGISTERED, REJECTED], to: IN_VALIDATION, roles: [data_scientist]}
  validate:
    from: IN_VALIDATION
    to: VALIDATED
    roles: [validator]
    not_by: [developer]
    evidence: [validation_results]
  reject:    {from: [IN_VALIDATION, VALIDATED], to: REJECTED, roles: [validator, approver]}
  approve:
    from: VALIDATED
    to: APPROVED
    roles: [approver]
    not_by: [requester]
    via: request
    evidence: [validation_results, model_card]
  stage:     {from: APPROVED, to: STAGED, roles: [deployer]}
  promote:   {from: [APPROVED, STAGED], to: PRODUCTION, roles: [deployer]}
  watch:     {from: PRODUCTION, to: WATCH, roles: [deployer]}
  breach:    {from: [PRODUCTION, WATCH], to: BREACH, roles: [deployer]}
  recover:   {from: WATCH, to: PRODUCTION, roles: [deployer]}
  reinstate: {from: BREACH, to: PRODUCTION, roles: [approver], not_by: [developer]}
  retire:    {from: "*", to: RETIRED, roles: [deployer, approver]}
"""


class PolicyFileError(InvalidInput):
    """A policy file that cannot be used; ``line`` says where (1-based), when known."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]          # ("*",) means every state but the target
    to: str
    roles: frozenset[str]
    not_by: tuple[str, ...] = ()
    evidence: tuple = ()              # item ids and {metric|evidence: ...} mappings
    via: str | None = None            # "request": only by approving a deployment request
    line: int | None = None

    def allows_from(self, state: str) -> bool:
        return state != self.to and ("*" in self.sources or state in self.sources)

    @property
    def arrow(self) -> str:
        src = "any state" if "*" in self.sources else " | ".join(self.sources)
        return f"{src} → {self.to}"

    def to_dict(self) -> dict:
        return {"name": self.name, "from": list(self.sources), "to": self.to, "roles": sorted(self.roles),
                "not_by": list(self.not_by), "evidence": list(self.evidence), "via": self.via}


@dataclass(frozen=True)
class ValidationSettings:
    sign_off: str = "automatic"
    require_data: bool = False
    smoke_rows: int = 5
    metrics: tuple = ()
    slices: tuple[str, ...] = ()
    slice_min_rows: int = 20

    def to_dict(self) -> dict:
        return {"sign_off": self.sign_off, "require_data": self.require_data, "smoke_rows": self.smoke_rows,
                "metrics": list(self.metrics), "slices": list(self.slices),
                "slice_min_rows": self.slice_min_rows}


@dataclass(frozen=True)
class Policy:
    name: str
    states: tuple[str, ...]
    initial: str
    deployable: frozenset[str]
    transitions: tuple[Transition, ...]
    solo: bool = False
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    source: str = "built-in"
    sha256: str = ""

    # ------------------------------------------------------------------ queries
    def rule(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)

    def find(self, current: str, to: str) -> Transition | None:
        """The transition from ``current`` to ``to`` (a direct rule wins over ``*``)."""
        direct = [t for t in self.transitions if t.to == to and current in t.sources and current != to]
        if direct:
            return direct[0]
        return next((t for t in self.transitions if t.to == to and t.allows_from(current)), None)

    def leaving(self, current: str) -> list[Transition]:
        return [t for t in self.transitions if t.allows_from(current)]

    def via_request(self, current: str) -> Transition | None:
        return next((t for t in self.leaving(current) if t.via == "request"), None)

    def rejection(self, current: str) -> Transition | None:
        return next((t for t in self.leaving(current) if t.to == "REJECTED"), None)

    @property
    def ref(self) -> dict:
        """What a request or an audit entry records about the policy it was decided under."""
        return {"name": self.name, "sha256": self.sha256, "source": self.source, "solo": self.solo}

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "solo": self.solo,
                "initial": self.initial, "states": list(self.states), "deployable": sorted(self.deployable),
                "validation": self.validation.to_dict(),
                "transitions": [t.to_dict() for t in self.transitions]}


# --------------------------------------------------------------------------- YAML with lines


class _Doc:
    """A YAML document as plain values plus the line of every value, by path."""

    def __init__(self, text: str, where: str) -> None:
        import yaml

        self.where = where
        self.lines: dict[tuple, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise PolicyFileError(f"{where}{f' line {line}' if line else ''}: not valid YAML: "
                                  f"{exc.problem or exc}", line=line, path=where) from None
        except yaml.YAMLError as exc:
            raise PolicyFileError(f"{where}: not valid YAML: {exc}", path=where) from None
        self._loader = yaml.SafeLoader("")
        self.value = None if node is None else self._build(node, ())

    def _build(self, node, path: tuple):
        import yaml

        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = self._loader.construct_object(key_node, deep=True)
                if isinstance(key, bool) and key_node.style is None:
                    key = key_node.value  # YAML 1.1 reads the key `on:` as true; keys are words here
                if isinstance(key, (list, dict)):
                    raise self.error(path, "a mapping key must be a plain word", line=key_node.start_mark.line + 1)
                if key in out:
                    raise self.error(path + (key,), f"{key!r} is given twice", line=key_node.start_mark.line + 1)
                self.lines[path + (key,)] = key_node.start_mark.line + 1  # where the entry starts
                out[key] = self._build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            return self._loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.error(path, f"cannot read this value ({exc})") from None

    def line(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def error(self, path: tuple, reason: str, *, line: int | None = None) -> PolicyFileError:
        line = line or self.line(path)
        where = f"{self.where} line {line}" if line else self.where
        return PolicyFileError(f"{where}: {reason}", line=line, path=self.where, reason=reason)


def _did_you_mean(word, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(map(str, options))})"


class _Reader:
    """Checks a policy document, collecting every problem with its line."""

    TOP = ("name", "extends", "solo", "initial", "states", "deployable", "validation", "transitions",
           "description")
    RULE = ("from", "to", "roles", "not_by", "evidence", "via", "description")
    VALIDATION = ("sign_off", "require_data", "smoke_rows", "metrics", "slices", "slice_min_rows")

    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.errors: list[PolicyFileError] = []

    def fail(self, path: tuple, reason: str) -> None:
        self.errors.append(self.doc.error(path, reason))

    def keys(self, value: dict, allowed, path: tuple, what: str) -> None:
        for key in value:
            if key not in allowed:
                self.fail(path + (key,), f"unknown {what} key {key!r}{_did_you_mean(key, allowed)}")

    def words(self, value, path: tuple, what: str, *, allow_one: bool = True) -> list:
        if isinstance(value, str) and allow_one:
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, f"{what} must be a list of words")
            return []
        return list(value)

    def state(self, value, path: tuple, states, what: str) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"{what} must be a state name, not {type(value).__name__}")
            return None
        if value not in states:
            self.fail(path, f"{what}: unknown state {value!r}{_did_you_mean(value, states)}")
            return None
        return value

    def number(self, value, path: tuple, what: str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{what} must be a number, not {value!r}")
            return None
        return value

    def evidence_item(self, item, path: tuple, *, held_out_only: bool = False):
        if isinstance(item, str) and not held_out_only:
            if item not in EVIDENCE_IDS:
                self.fail(path, f"unknown evidence {item!r}{_did_you_mean(item, list(EVIDENCE_IDS))}")
                return None
            return item
        if isinstance(item, dict) and "evidence" in item and not held_out_only:
            self.keys(item, ("evidence",), path, "evidence")
            kind = item["evidence"]
            if not isinstance(kind, str) or not _NAME.match(kind):
                self.fail(path + ("evidence",), "evidence kind must be a lowercase word, e.g. test_suite")
                return None
            return {"evidence": kind}
        if isinstance(item, dict) and "metric" in item:
            self.keys(item, ("metric", "min", "max", "on"), path, "metric threshold")
            key = item["metric"]
            if not isinstance(key, str) or not key:
                self.fail(path + ("metric",), "metric must be a metric name")
                return None
            on = "validation" if held_out_only else item.get("on", "run")
            if on not in ("run", "validation"):
                self.fail(path + ("on",), f"on must be run (the training run's metric) or validation "
                                          f"(computed on held-out data), not {on!r}")
                return None
            if on == "validation" and key not in HELD_OUT_METRICS:
                self.fail(path + ("metric",), f"held-out metric {key!r} cannot be computed"
                                              f"{_did_you_mean(key, HELD_OUT_METRICS)}")
                return None
            if "min" not in item and "max" not in item:
                self.fail(path, f"metric threshold on {key!r} needs min and/or max")
                return None
            out = {"metric": key}
            for bound in ("min", "max"):
                if bound in item:
                    num = self.number(item[bound], path + (bound,), bound)
                    if num is None:
                        return None
                    out[bound] = num
            if "min" in out and "max" in out and out["min"] > out["max"]:
                self.fail(path, f"metric threshold on {key!r}: min {out['min']} is above max {out['max']}")
            if on == "validation" and not held_out_only:
                out["on"] = "validation"
            return out
        what = "a held-out metric threshold {metric: NAME, min: X}" if held_out_only else (
            f"an evidence id ({', '.join(EVIDENCE_IDS)}), {{metric: KEY, min: X, max: Y, on: run|validation}} "
            "or {evidence: KIND}")
        self.fail(path, f"evidence item {item!r} is not {what}")
        return None


def _parse(text: str, where: str, base: Policy | None = None) -> Policy:
    doc = _Doc(text, where)
    data = doc.value
    if data is None:
        raise doc.error((), "the policy file is empty")
    if not isinstance(data, dict):
        raise doc.error((), "a policy file is a mapping (name:, states:, transitions: ...)")
    r = _Reader(doc)
    r.keys(data, _Reader.TOP, (), "policy")

    parent = None
    if "extends" in data:
        if data["extends"] != "default":
            r.fail(("extends",), f"extends must be 'default' (the built-in policy), not {data['extends']!r}")
        else:
            parent = base or default_policy()

    name = data.get("name", "custom" if parent else None)
    if not isinstance(name, str) or not name.strip():
        r.fail(("name",), "the policy needs a name (name: ...)")
        name = "?"
    solo = data.get("solo", parent.solo if parent else False)
    if not isinstance(solo, bool):
        r.fail(("solo",), f"solo must be true or false, not {solo!r}")
        solo = False

    # states
    states = list(parent.states) if parent else []
    if "states" in data:
        for i, st in enumerate(r.words(data["states"], ("states",), "states", allow_one=False)):
            if not _STATE.match(st):
                r.fail(("states", i), f"state {st!r} must be UPPER_CASE letters, digits and _")
            elif st in states and not parent:
                r.fail(("states", i), f"state {st!r} is listed twice")
            elif st not in states:
                states.append(st)
    elif not parent:
        r.fail((), "the policy needs its states (states: [...]) or `extends: default`")
    initial = data.get("initial", parent.initial if parent else (states[0] if states else None))
    initial = r.state(initial, ("initial",), states, "initial") or (states[0] if states else "?")
    if "deployable" in data:
        deployable = {st for i, st in enumerate(r.words(data["deployable"], ("deployable",), "deployable"))
                      if r.state(st, ("deployable", i), states, "deployable")}
    else:
        deployable = set(parent.deployable) if parent else set()
        if not parent:
            r.fail((), "the policy must say which states may be deployed (deployable: [...])")

    # validation settings
    val = parent.validation if parent else ValidationSettings()
    if "validation" in data:
        v = data["validation"]
        if not isinstance(v, dict):
            r.fail(("validation",), "validation must be a mapping")
        else:
            r.keys(v, _Reader.VALIDATION, ("validation",), "validation")
            changes = {}
            if "sign_off" in v:
                if v["sign_off"] not in SIGN_OFF:
                    r.fail(("validation", "sign_off"), f"sign_off must be automatic or validator, not {v['sign_off']!r}")
                else:
                    changes["sign_off"] = v["sign_off"]
            if "require_data" in v:
                if not isinstance(v["require_data"], bool):
                    r.fail(("validation", "require_data"), "require_data must be true or false")
                else:
                    changes["require_data"] = v["require_data"]
            for key in ("smoke_rows", "slice_min_rows"):
                if key in v:
                    if isinstance(v[key], bool) or not isinstance(v[key], int) or not 0 <= v[key] <= 10_000:
                        r.fail(("validation", key), f"{key} must be a whole number from 0 to 10000")
                    else:
                        changes[key] = v[key]
            if "metrics" in v:
                if not isinstance(v["metrics"], list):
                    r.fail(("validation", "metrics"), "metrics must be a list of {metric: NAME, min: X, max: Y}")
                else:
                    items = [r.evidence_item(m, ("validation", "metrics", i), held_out_only=True)
                             for i, m in enumerate(v["metrics"])]
                    changes["metrics"] = tuple(i for i in items if i)
            if "slices" in v:
                changes["slices"] = tuple(r.words(v["slices"], ("validation", "slices"), "slices"))
            val = ValidationSettings(**{**val.__dict__, **changes})

    # transitions
    rules: dict[str, Transition] = {t.name: t for t in parent.transitions} if parent else {}
    raw = data.get("transitions", {} if parent else None)
    if raw is None and not parent:
        r.fail((), "the policy needs transitions (transitions: {name: {from:, to:, roles:}})")
        raw = {}
    if not isinstance(raw, dict):
        r.fail(("transitions",), "transitions must be a mapping of rule name to {from:, to:, roles: ...}")
        raw = {}
    for tname, spec in raw.items():
        path = ("transitions", tname)
        if not isinstance(tname, str) or not _NAME.match(tname):
            r.fail(path, f"transition name {tname!r} must be a lowercase word (approve, stage, ...)")
            continue
        if spec is None:
            if tname not in rules:
                r.fail(path, f"cannot remove transition {tname!r}: there is no such rule"
                             f"{_did_you_mean(tname, list(rules))}")
            rules.pop(tname, None)
            continue
        if not isinstance(spec, dict):
            r.fail(path, f"transition {tname!r} must be a mapping {{from:, to:, roles: ...}}")
            continue
        r.keys(spec, _Reader.RULE, path, f"transition {tname!r}")
        for key in ("from", "to", "roles"):
            if key not in spec:
                r.fail(path, f"transition {tname!r} needs {key}:")
        sources = r.words(spec.get("from", []), path + ("from",), "from")
        if sources != ["*"]:
            sources = [st for i, st in enumerate(sources)
                       if r.state(st, path + ("from",) + ((i,) if isinstance(spec.get("from"), list) else ()),
                                  states, f"transition {tname!r} from")]
        to = r.state(spec.get("to"), path + ("to",), states, f"transition {tname!r} to") if "to" in spec else None
        if to and to in sources:
            r.fail(path + ("to",), f"transition {tname!r} goes from {to} to itself")
        roles = r.words(spec.get("roles", []), path + ("roles",), "roles")
        for i, role in enumerate(roles):
            if role not in ROLES:
                r.fail(path + ("roles",), f"transition {tname!r}: unknown role {role!r}{_did_you_mean(role, ROLES)}")
        if "roles" in spec and not roles:
            r.fail(path + ("roles",), f"transition {tname!r} must name at least one role")
        not_by = r.words(spec.get("not_by", []), path + ("not_by",), "not_by")
        for party in not_by:
            if party not in PARTIES:
                r.fail(path + ("not_by",), f"transition {tname!r}: not_by {party!r} is not one of "
                                           f"{', '.join(PARTIES)}{_did_you_mean(party, PARTIES)}")
        evidence = spec.get("evidence", [])
        if not isinstance(evidence, list):
            r.fail(path + ("evidence",), "evidence must be a list")
            evidence = []
        items = [r.evidence_item(e, path + ("evidence", i)) for i, e in enumerate(evidence)]
        via = spec.get("via")
        if via not in (None, "request"):
            r.fail(path + ("via",), f"via must be request (only by approving a deployment request), not {via!r}")
        rules[tname] = Transition(
            name=tname, sources=tuple(sources), to=to or "?", roles=frozenset(roles), not_by=tuple(not_by),
            evidence=tuple(i for i in items if i is not None), via=via, line=doc.line(path))

    # every rule refers to states that exist (also inherited ones, after additions)
    for t in rules.values():
        if t.to != "?" and t.to not in states:
            r.fail(("transitions", t.name), f"transition {t.name!r} goes to unknown state {t.to!r}")
    reachable = {initial} | {t.to for t in rules.values()}
    for st in states:
        if st not in reachable and st != "DRAFT" and not any(st in t.sources for t in rules.values()):
            r.fail(("states",), f"state {st!r} is neither reached nor left by any transition")

    if r.errors:
        r.errors.sort(key=lambda e: e.details.get("line") or 0)
        first = r.errors[0]
        more = f" (and {len(r.errors) - 1} more problem{'s' * (len(r.errors) > 2)})" if len(r.errors) > 1 else ""
        raise PolicyFileError(first.message + more, line=first.details.get("line"), path=where,
                              problems=[e.message for e in r.errors])
    return Policy(name=name, states=tuple(states), initial=initial, deployable=frozenset(deployable),
                  transitions=tuple(rules.values()), solo=solo, validation=val, source=where,
                  sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


# --------------------------------------------------------------------------- loading


_default: Policy | None = None
_cache: dict[str, tuple[tuple, Policy]] = {}
_lock = threading.Lock()


def default_policy() -> Policy:
    global _default
    if _default is None:
        _default = _parse(DEFAULT_POLICY, "built-in")
    return _default


def parse_policy(text: str, where: str = "policy") -> Policy:
    """A policy from YAML text (``PolicyFileError`` with the line on any problem)."""
    if not isinstance(text, str):
        raise InvalidInput("a policy is YAML text")
    return _parse(text, where)


def load_policy(path: str | os.PathLike) -> Policy:
    """The policy in the file at ``path`` (cached until the file changes)."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        raise PolicyFileError(f"policy file {p} does not exist", path=str(p)) from None
    key = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _cache.get(str(p))
        if hit and hit[0] == key:
            return hit[1]
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"cannot read policy file {p}: {exc}", path=str(p)) from None
    policy = _parse(text, str(p))
    with _lock:
        _cache[str(p)] = (key, policy)
    return policy


def _store_home(store) -> Path | None:
    url = getattr(getattr(store, "db", None), "url", "") or ""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///"):]).parent
    home = os.environ.get("JUPYTER_MODELOPS_HOME")
    return Path(home).expanduser() if home else None


def policy_path(store) -> Path | None:
    """The file the policy in force comes from (None: the built-in policy)."""
    env = os.environ.get(ENV_POLICY)
    if env:
        return Path(env).expanduser()
    explicit = getattr(store, "policy_path", None)
    if explicit:
        return Path(explicit).expanduser()
    home = _store_home(store)
    if home is not None and (home / POLICY_FILE).is_file():
        return home / POLICY_FILE
    return None


def current_policy(store) -> Policy:
    """The policy in force for ``store`` (a broken file fails every governed action, so
    that a typo never silently weakens the rules)."""
    path = policy_path(store)
    return default_policy() if path is None else load_policy(path)
