"""Governance operations for the service table (``services.OPS``), with their access rules.

``WRITE_ROLES`` is the coarse gate ``services.authorize`` applies; the finer rules —
which role each life-cycle rule needs, separation of duties by name, evidence — are
checked inside the operations, so every transport obeys them.
"""

from __future__ import annotations

from typing import Callable


def _lazy(module: str, name: str) -> Callable:
    def call(store, *args, **kwargs):
        import importlib

        return getattr(importlib.import_module(f"jupyter_modelops.governance.{module}"), name)(store, *args, **kwargs)

    call.__name__ = name
    call.__qualname__ = name
    return call


def _audit_verify(store, anchor_seq: int | None = None, anchor_hash: str | None = None):
    from . import audit

    anchor = (int(anchor_seq), str(anchor_hash)) if anchor_seq is not None and anchor_hash else None
    return audit.verify(store, anchor=anchor)


def _audit_entries(store, **kw):
    from . import audit

    return audit.entries(store, **kw)


def _get_policy(store) -> dict:
    from .policy import current_policy

    return current_policy(store).to_dict()


OPS: dict[str, Callable] = {
    # requests and reviews
    "request_deployment": _lazy("approvals", "request_deployment"),
    "list_requests": _lazy("approvals", "list_requests"),
    "get_request": _lazy("approvals", "get_request"),
    "approve_request": _lazy("approvals", "approve_request"),
    "reject_request": _lazy("approvals", "reject_request"),
    "validate_request": _lazy("approvals", "validate_request"),
    "withdraw_request": _lazy("approvals", "withdraw_request"),
    "run_validation": _lazy("approvals", "run_validation"),
    "check_evidence": _lazy("approvals", "check_evidence"),
    "add_evidence": _lazy("approvals", "add_evidence"),
    "list_evidence": _lazy("approvals", "list_evidence"),
    # life cycle
    "transition": _lazy("lifecycle", "transition"),
    "lifecycle_history": _lazy("lifecycle", "history"),
    "get_policy": _get_policy,
    # model cards and the inventory
    "get_model_card": _lazy("cards", "get_model_card"),
    "update_model_card": _lazy("cards", "update_model_card"),
    "set_model_info": _lazy("inventory", "set_model_info"),
    "inventory": _lazy("inventory", "inventory"),
    # audit log
    "audit_verify": _audit_verify,
    "audit_entries": _audit_entries,
}

_ANYONE_WHO_MOVES = frozenset({"data_scientist", "validator", "approver", "deployer", "admin"})
WRITE_ROLES: dict[str, frozenset[str]] = {
    "request_deployment": frozenset({"data_scientist", "admin"}),
    "withdraw_request": frozenset({"data_scientist", "admin"}),
    "approve_request": frozenset({"approver", "admin"}),
    "reject_request": frozenset({"approver", "validator", "admin"}),
    "validate_request": frozenset({"validator", "admin"}),
    "run_validation": frozenset({"data_scientist", "validator", "admin"}),
    "add_evidence": frozenset({"data_scientist", "validator", "admin"}),
    "transition": _ANYONE_WHO_MOVES,  # each rule names its own roles
    "update_model_card": frozenset({"data_scientist", "validator", "admin"}),
    "set_model_info": frozenset({"data_scientist", "approver", "admin"}),
}


def _audit_write(conn, store, op: str, kwargs: dict, result) -> None:
    """Every write of the other capabilities (tracking, registry...) goes to the audit log,
    in the transaction of the change; governance operations write their own entries."""
    if op in OPS:
        return
    from .audit import record_op

    record_op(conn, store, op, kwargs, result)


# Called by services.call inside the transaction of every write op.
WRITE_HOOKS = [_audit_write]

READ_ONLY = {"list_requests", "get_request", "check_evidence", "list_evidence", "lifecycle_history", "get_policy",
             "get_model_card", "inventory", "audit_verify", "audit_entries"}

# Governance writes open their own transactions (validation loads and runs a model,
# which must not hold the store's write lock) and audit themselves, refusals included.
NO_TRANSACTION = frozenset(op for op in OPS if op not in READ_ONLY)
