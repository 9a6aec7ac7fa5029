"""The drift reference of a deployment, fixed when it is deployed.

Where it comes from, first found wins:

1. ``reference`` data passed to ``deploy`` (a DataFrame the client uploaded as Parquet, or
   a run artifact);
2. the version's ``drift_reference`` evidence (``request_deployment(reference_data=...)``);
3. the held-out data of the approving request (``validation_data``), without its target
   column — data the approver saw, drawn like the training data;
4. the profile (means, standard deviations) of the version's training dataset, found
   through its lineage by digest — enough for a mean-shift test, no rows.

Rows are sampled down to ``MAX_ROWS`` (seeded) and stored as a Parquet blob; the
reference records its source, the kind of every column, and the digests of the training
datasets named in the lineage, so a report says exactly what it compared against.
"""

from __future__ import annotations

import io

import sqlalchemy as sa

from ..errors import InvalidInput, ModelOpsError
from ..store import schema as s
from .drift import kinds_of

MAX_ROWS = 5000


def _input_columns(vrow) -> list[str] | None:
    spec = (vrow.signature or {}).get("inputs") or {}
    if spec.get("type") == "dataframe":
        return [c["name"] for c in spec.get("columns", [])]
    return None


def frame_reference(store, frame, source: str, columns: list[str] | None = None, target: str | None = None,
                    extra: dict | None = None) -> dict:
    """Sample ``frame``, store it as a Parquet blob and describe it."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput("reference data must be a table")
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    if target and target in frame.columns:
        frame = frame.drop(columns=[target])
    if "__target__" in frame.columns:
        frame = frame.drop(columns=["__target__"])
    if columns:
        keep = [c for c in columns if c in frame.columns]
        if keep:
            frame = frame[keep]
    if frame.empty or not len(frame.columns):
        raise InvalidInput("the reference data has no rows or no columns the model takes")
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=0)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].astype("string")
    buf = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buf, index=False)
    digest, size = store.artifacts.put_bytes(buf.getvalue())
    return {"digest": digest, "format": "parquet", "rows": int(len(frame)), "columns": kinds_of(frame),
            "source": source, **(extra or {})}


def _read(store, spec: dict):
    from ..governance.validation import read_data

    return read_data(store, spec)


def build_reference(store, mrow, vrow, request=None, spec: dict | None = None) -> dict:
    """The reference for a deployment of ``vrow`` (see the module docstring)."""
    columns = _input_columns(vrow)
    training = [d.get("digest") for d in (vrow.lineage or {}).get("datasets", []) if d.get("context") == "training"]
    extra = {"training_datasets": [d for d in training if d]}
    if spec:
        return frame_reference(store, _read(store, spec), "reference data given at deployment", columns,
                               spec.get("target"), extra)
    EV, REQ = s.governance_evidence, s.deployment_requests
    with store.db.read() as conn:
        ev = conn.execute(sa.select(EV).where(EV.c.version_id == vrow.id, EV.c.kind == "drift_reference")
                          .order_by(EV.c.created_at.desc()).limit(1)).first()
        req = None
        if request is not None:
            req = conn.execute(sa.select(REQ.c.validation).where(REQ.c.id == request.id)).first()
        if req is None:
            req = conn.execute(sa.select(REQ.c.validation).where(
                REQ.c.version_id == vrow.id, REQ.c.status == "APPROVED").order_by(REQ.c.decided_at.desc())
                .limit(1)).first()
        profiles = []
        if training:
            D = s.datasets
            profiles = conn.execute(sa.select(D.c.profile, D.c.name, D.c.digest).where(D.c.digest.in_(training))
                                    .order_by(D.c.created_at.desc())).all()
    candidates = []
    if ev is not None and ev.data:
        candidates.append((ev.data, f"drift reference evidence ({ev.summary})"))
    if req is not None and (req.validation or {}).get("data"):
        candidates.append((req.validation["data"], "held-out data of the approving request"))
    for data, source in candidates:
        try:
            return frame_reference(store, _read(store, data), source, columns, data.get("target"), extra)
        except ModelOpsError:
            continue
    for prof in profiles:
        numeric = {k: {"mean": v.get("mean"), "std": v.get("std")} for k, v in (prof.profile or {}).items()
                   if isinstance(v, dict) and v.get("mean") is not None}
        if columns:
            numeric = {k: v for k, v in numeric.items() if k in columns}
        if numeric:
            return {"profile": numeric, "rows": 0, "columns": {k: "numeric" for k in numeric},
                    "source": f"profile of training dataset {prof.name!r}", **extra}
    return {"source": "none", "rows": 0, "columns": {}, **extra}


def load_reference(store, reference: dict):
    """(frame or None, profile or None) of a stored reference."""
    if reference.get("digest"):
        import pandas as pd

        return pd.read_parquet(io.BytesIO(store.artifacts.get_bytes(reference["digest"]))), None
    return None, reference.get("profile")
