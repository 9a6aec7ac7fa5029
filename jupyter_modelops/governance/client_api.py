"""``GovernanceClientMixin``: the governance methods of ``Client``.

Each method is a thin call of a service operation through ``self._call``, so it behaves
the same in-process and over HTTP. The only client-side work is turning notebook data
(``validation_data=(X, y)``) into a Parquet blob before the request names it.

The methods also work unbound on any object with ``_call`` —
``GovernanceClientMixin.request_deployment(client, ...)`` — which is how the magics use
them on a ``Client`` that does not inherit the mixin yet.
"""

from __future__ import annotations

from typing import Any


def _data_spec(client, data, target: str | None = None, what: str = "validation_data") -> dict | None:
    """A held-out / reference data spec from what the notebook hands in:

    - ``(X, y)`` or ``(X,)``: uploaded as Parquet (never pickle);
    - a DataFrame with ``target=`` naming its label column;
    - ``"runs:/<run_id>/<artifact>.parquet|csv"``: an artifact already logged;
    - a mapping: passed as is (``{"digest"|"run_id"+"artifact", "format", "target"}``)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return data
    if isinstance(data, str):
        if not data.startswith("runs:/"):
            from ..errors import InvalidInput

            raise InvalidInput(f"{what} as text must be runs:/<run_id>/<artifact> (a Parquet or CSV artifact)")
        ref, _, artifact = data[len("runs:/"):].partition("/")
        spec = {"run_id": client._call("resolve_run_id", ref=ref), "artifact": artifact}
        if target:
            spec["target"] = target
        return spec
    from .validation import encode_frame

    if isinstance(data, (tuple, list)) and 1 <= len(data) <= 2 and not _looks_like_rows(data):
        X, y = data[0], data[1] if len(data) == 2 else None
        payload, spec = encode_frame(X, y)
    else:
        frame = data
        y = None
        if target is not None:
            try:
                y = frame[target]
                frame = frame.drop(columns=[target])
            except (KeyError, AttributeError, TypeError):
                from ..errors import InvalidInput

                raise InvalidInput(f"{what} has no column {target!r}") from None
        payload, spec = encode_frame(frame, y, target=target)
    stored = client._call("put_blob", data=payload)
    spec["digest"] = stored["digest"]
    return spec


def _looks_like_rows(data) -> bool:
    """A list of records or numbers (one table), rather than an (X, y) pair."""
    return isinstance(data, list) and data and all(isinstance(r, (dict, int, float)) for r in data)


class GovernanceClientMixin:
    """Deployment requests, reviews, life cycle, model cards, inventory and audit log."""

    # ------------------------------------------------------------------ requests
    def request_deployment(self, name: str, version: int | None = None, *, alias: str | None = None,
                           target: str = "local", resources: dict | None = None, justification: str = "",
                           validation_data: Any = None, target_column: str | None = None,
                           reference_data: Any = None, slices: list[str] | None = None):
        """Ask for a version (or ``alias``) to be deployed to ``target``; a different person
        approves. Validation runs in the service on the held-out ``validation_data``
        (``(X, y)``, a DataFrame with ``target_column``, or ``"runs:/<id>/<file>.parquet"``),
        and the request carries the evidence bundle. Returns the ``DeploymentRequest``."""
        from ..ids import new_id

        spec = _data_spec(self, validation_data, target_column)
        reference = _data_spec(self, reference_data, None, "reference_data")
        return self._call("request_deployment", name=name, version=version, alias=alias, target=target,
                          resources=resources, justification=justification, validation_data=spec,
                          reference_data=reference, slices=list(slices) if slices else None, id=new_id())

    def list_requests(self, status: str | None = "PENDING", *, name: str | None = None, all: bool = False,
                      limit: int = 200):
        """Deployment requests, newest first (pending unless ``status=`` or ``all=True``)."""
        return self._call("list_requests", status=status, name=name, all=all, limit=limit)

    def get_request(self, request_id: str):
        """One request with its checklist, evidence, validation result and reviews."""
        return self._call("get_request", request_id=request_id)

    def approve_request(self, request_id: str, comment: str = ""):
        """Approve (not your own request, unless the policy is solo)."""
        return self._call("approve_request", request_id=request_id, comment=comment)

    def reject_request(self, request_id: str, comment: str):
        """Reject, saying why."""
        return self._call("reject_request", request_id=request_id, comment=comment)

    def validate_request(self, request_id: str, comment: str = ""):
        """A validator's sign-off (not the developer's)."""
        return self._call("validate_request", request_id=request_id, comment=comment)

    def withdraw_request(self, request_id: str, comment: str = ""):
        return self._call("withdraw_request", request_id=request_id, comment=comment)

    def run_validation(self, request_id: str, trusted: bool = False):
        """Run the automated validation again (``trusted=True``: validators, for packages
        that need trust to load)."""
        return self._call("run_validation", request_id=request_id, trusted=trusted)

    def check_evidence(self, name: str, version: int | None = None, alias: str | None = None):
        """The evidence checklist a request for this version would be decided on."""
        return self._call("check_evidence", name=name, version=version, alias=alias)

    def add_evidence(self, name: str, version: int, kind: str, status: str, summary: str = "",
                     data: dict | None = None, request_id: str | None = None):
        """Attach evidence (``status``: passed, failed or info)."""
        return self._call("add_evidence", name=name, version=version, kind=kind, status=status,
                          summary=summary, data=data, request_id=request_id)

    # ------------------------------------------------------------------ life cycle
    def transition(self, name: str, version: int, to: str, comment: str = ""):
        """Move a version to state ``to`` under the policy (roles, duties and evidence apply)."""
        return self._call("transition", name=name, version=version, to=to, comment=comment)

    def lifecycle_history(self, name: str, version: int | None = None):
        return self._call("lifecycle_history", name=name, version=version)

    def get_policy(self) -> dict:
        """The policy in force (states, transitions, validation settings, where it comes from)."""
        return self._call("get_policy")

    # ------------------------------------------------------------------ cards and inventory
    def get_model_card(self, name: str, version: int | None = None, alias: str | None = None):
        """The version's model card (``.markdown``, ``.html``; displays in a notebook)."""
        return self._call("get_model_card", name=name, version=version, alias=alias)

    def update_model_card(self, name: str, version: int, sections: dict | None = None, **more):
        """Edit card sections: ``update_model_card("churn", 3, intended_use="...", limitations="...")``."""
        return self._call("update_model_card", name=name, version=version, sections={**(sections or {}), **more})

    def set_model_info(self, name: str, owner: str | None = None, purpose: str | None = None,
                       risk_tier: str | None = None):
        return self._call("set_model_info", name=name, owner=owner, purpose=purpose, risk_tier=risk_tier)

    def inventory(self, *, kind: str | None = None, state: str | None = None, all_versions: bool = False):
        """Every governed model: owner, purpose, risk tier, state, approval and evidence."""
        return self._call("inventory", kind=kind, state=state, all_versions=all_versions)

    # ------------------------------------------------------------------ audit
    def audit_verify(self, anchor: tuple[int, str] | None = None):
        """Check the audit chain; ``.ok``, ``.message`` and ``.first_bad`` say what was found."""
        seq, digest = anchor if anchor else (None, None)
        return self._call("audit_verify", anchor_seq=seq, anchor_hash=digest)

    def audit_entries(self, *, subject_type: str | None = None, subject_id: str | None = None,
                      action: str | None = None, after: int = 0, limit: int = 1000):
        return self._call("audit_entries", subject_type=subject_type, subject_id=subject_id, action=action,
                          after=after, limit=limit)
