"""Automated validation of a model version, run by the service when deployment is requested.

Checks, each ``passed`` / ``failed`` / ``not_run`` (with why) / ``warning``:

- **load**: the package loads with the registry's safe loader. Versions that need trust
  (pickle-based pyfunc) are not loaded unless a validator runs validation with
  ``trusted=True``; the result then says "not run: requires trust".
- **signature**: the version declares its inputs, and the held-out data fits them.
- **smoke**: a few rows predict without error and give one output per row (rows of the
  held-out data, or one row made from the signature).
- **thresholds**: the policy's metric thresholds on the held-out data.
- **slices**: the same metrics per value of the slice columns (reported, not judged).

Held-out data arrives as a blob in a safe tabular format (Parquet or CSV, never pickle),
uploaded by the client, or as a run artifact ``{run_id, artifact}``.

Overall: ``failed`` if any check failed; ``not_run`` if a check that decides could not
run; else ``passed``.
"""

from __future__ import annotations

import io
import math
import time

from ..errors import InvalidInput, ModelOpsError
from ..registry.flavors import one_line
from .records import FAILED, NOT_RUN, PASSED

WARNING = "warning"
MAX_DATA = 512 << 20
FORMATS = ("parquet", "csv")
MAX_SLICE_VALUES = 20
CLASSIFICATION = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION = ("r2", "mae", "mse", "rmse")


class _StoreReader:
    """What ``registry.package.load`` needs from a client, answered from the store
    directly (the service validates with its own eyes, not the caller's)."""

    def __init__(self, store) -> None:
        self.store = store

    def _call(self, op: str, **kw):
        if op == "get_blob":
            return self.store.artifacts.get_bytes(kw["digest"])
        raise InvalidInput(f"validation cannot call {op}")  # pragma: no cover


# --------------------------------------------------------------------------- data


def check_spec(spec) -> dict:
    """The held-out data spec a request carries (plain JSON)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise InvalidInput("validation_data must be a mapping {digest|run_id+artifact, format, target}")
    allowed = {"digest", "format", "target", "features", "rows", "run_id", "artifact", "name", "slices"}
    unknown = set(spec) - allowed
    if unknown:
        raise InvalidInput(f"validation_data has unknown keys: {', '.join(sorted(unknown))}")
    out = dict(spec)
    if "digest" in spec:
        from ..store.artifacts import check_digest

        check_digest(spec["digest"])
    elif "run_id" in spec and "artifact" in spec:
        from ..ids import normalize_id
        from ..store.artifacts import validate_name

        out["run_id"] = normalize_id(spec["run_id"], "run id")
        out["artifact"] = validate_name(spec["artifact"])
    else:
        raise InvalidInput("validation_data needs a blob digest, or run_id and artifact")
    fmt = spec.get("format") or _format_of(out.get("artifact", ""))
    if fmt not in FORMATS:
        raise InvalidInput(f"held-out data must be Parquet or CSV (never pickle), not {fmt!r}")
    out["format"] = fmt
    for key in ("target", "name"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise InvalidInput(f"validation_data {key} must be a column name")
    for key in ("features", "slices"):
        if spec.get(key) is not None and (not isinstance(spec[key], list)
                                          or not all(isinstance(c, str) for c in spec[key])):
            raise InvalidInput(f"validation_data {key} must be a list of column names")
    return out


def _format_of(name: str) -> str | None:
    low = name.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".csv.gz")):
        return "csv"
    return None


def read_data(store, spec: dict):
    """The held-out frame (pandas), read from Parquet or CSV bytes."""
    import pandas as pd

    if "digest" in spec:
        data = store.artifacts.get_bytes(spec["digest"])
    else:
        from ..tracking.artifacts import read_artifact

        data = read_artifact(store, spec["run_id"], spec["artifact"])
    if len(data) > MAX_DATA:
        raise InvalidInput(f"held-out data of {len(data) >> 20} MiB is too large to validate here")
    try:
        if spec["format"] == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            compression = "gzip" if data[:2] == b"\x1f\x8b" else None
            frame = pd.read_csv(io.BytesIO(data), compression=compression)
    except Exception as exc:  # noqa: BLE001 - any reader error is the data's problem
        raise InvalidInput(f"cannot read the held-out data as {spec['format']}: {one_line(exc)}") from None
    return frame


def encode_frame(X, y=None, *, target: str | None = None) -> tuple[bytes, dict]:
    """(Parquet bytes, spec) for held-out data from the notebook: ``X`` (DataFrame or
    2-D array) and ``y`` (Series, array or list) — used by the client before upload."""
    import numpy as np
    import pandas as pd

    if isinstance(X, pd.Series):
        X = X.to_frame()
    if not isinstance(X, pd.DataFrame):
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise InvalidInput("validation_data X must be a DataFrame or a 2-D array")
        X = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
    frame = X.copy()
    frame.columns = [str(c) for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise InvalidInput("validation_data X has duplicate column names")
    features = list(frame.columns)
    spec = {"format": "parquet", "features": features, "rows": int(len(frame))}
    if y is not None:
        name = target or (str(y.name) if isinstance(y, pd.Series) and y.name is not None else "target")
        if name in frame.columns:
            name = "__target__"
        values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
        if values.ndim != 1 or len(values) != len(frame):
            raise InvalidInput(f"validation_data y must be one value per row of X ({len(frame)}), "
                               f"not shape {values.shape}")
        frame[name] = values
        spec["target"] = name
    for col in frame.columns:
        if frame[col].dtype == object:
            kinds = {type(v) for v in frame[col].dropna().head(1000)}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bool, int, float}):
                frame[col] = frame[col].astype("string")
    buf = io.BytesIO()
    try:
        frame.to_parquet(buf, index=False)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"validation_data cannot be stored as Parquet: {one_line(exc)}") from None
    return buf.getvalue(), spec


# --------------------------------------------------------------------------- metrics


def _is_classification(y, y_pred) -> bool:
    import numpy as np
    import pandas as pd

    y = pd.Series(y)
    if y.dtype == object or pd.api.types.is_bool_dtype(y) or isinstance(y.dtype, pd.CategoricalDtype) \
            or pd.api.types.is_string_dtype(y):
        return True
    pred = np.asarray(y_pred)
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= 50:
        return pred.dtype.kind in "iubOUS" or bool(np.all(np.mod(pred.astype(float), 1) == 0))
    return False


def compute_metrics(y, y_pred, proba=None, names=None) -> dict:
    """The metrics that fit the task (classification when the labels are discrete)."""
    import numpy as np
    from sklearn import metrics as skm

    y = np.asarray(y)
    y_pred = np.asarray(y_pred)
    out: dict[str, float] = {}
    if _is_classification(y, y_pred):
        labels = np.unique(np.concatenate([y.astype(str), y_pred.astype(str)]))
        binary = len(labels) <= 2
        ys, ps = y.astype(str), y_pred.astype(str)
        avg = "binary" if binary and len(np.unique(ys)) == 2 else "macro"
        pos = None
        if avg == "binary":
            classes = sorted(np.unique(ys))
            pos = "1" if "1" in classes else ("True" if "True" in classes else classes[-1])
        kw = {"average": avg, "zero_division": 0, **({"pos_label": pos} if pos is not None else {})}
        out["accuracy"] = float(skm.accuracy_score(ys, ps))
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(ys, ps))
        out["precision"] = float(skm.precision_score(ys, ps, **kw))
        out["recall"] = float(skm.recall_score(ys, ps, **kw))
        out["f1"] = float(skm.f1_score(ys, ps, **kw))
        if proba is not None:
            try:
                proba = np.asarray(proba, dtype=float)
                if proba.ndim == 2 and proba.shape[1] == 2 and avg == "binary":
                    classes = list(names) if names is not None else sorted(np.unique(ys))
                    col = [str(c) for c in classes].index(pos) if pos in [str(c) for c in classes] else 1
                    out["roc_auc"] = float(skm.roc_auc_score((ys == pos).astype(int), proba[:, col]))
                    out["log_loss"] = float(skm.log_loss((ys == pos).astype(int), proba[:, col]))
            except Exception:  # noqa: BLE001 - probabilities are a bonus
                pass
    else:
        y = y.astype(float)
        pred = y_pred.astype(float)
        out["r2"] = float(skm.r2_score(y, pred))
        out["mae"] = float(skm.mean_absolute_error(y, pred))
        out["mse"] = float(skm.mean_squared_error(y, pred))
        out["rmse"] = math.sqrt(out["mse"])
    return {k: v for k, v in out.items() if math.isfinite(v)}


# --------------------------------------------------------------------------- the run


def _check(name: str, status: str, detail: str, *, decides: bool = True) -> dict:
    return {"name": name, "status": status, "detail": detail, "decides": decides}


def _example_rows(signature: dict | None, n: int):
    """A few rows made from the signature, for a smoke prediction without data."""
    import numpy as np
    import pandas as pd

    spec = (signature or {}).get("inputs") or {}
    if spec.get("type") == "dataframe" and spec.get("columns"):
        values = {"string": "a", "bool": False, "datetime": pd.Timestamp("2020-01-01")}
        return pd.DataFrame({c["name"]: [values.get(c["type"], 0)] * n for c in spec["columns"]})
    if spec.get("type") == "tensor" and spec.get("shape"):
        shape = [n if d in (-1, None) else d for d in spec["shape"]]
        dtype = spec.get("dtype", "float64")
        return np.zeros(shape, dtype="float64" if dtype in ("any", "string", "bool", "datetime") else dtype)
    return None


def _features(frame, spec: dict, signature: dict | None):
    """The model's input from the held-out frame (tensor models get the feature columns
    as an array; frame models get the frame and pick their columns)."""
    target = spec.get("target")
    cols = spec.get("features") or [c for c in frame.columns if c != target]
    X = frame[[c for c in cols if c in frame.columns]]
    if ((signature or {}).get("inputs") or {}).get("type") == "tensor":
        return X.to_numpy()
    return X


def _predict(model, X):
    return model.predict(X)


def _proba(model, X):
    fn = getattr(model.raw, "predict_proba", None)
    if fn is None:
        return None, None
    try:
        return fn(model.prepare(X)), getattr(model.raw, "classes_", None)
    except Exception:  # noqa: BLE001
        return None, None


def run(store, version, policy, spec: dict | None = None, *, trusted: bool = False,
        slices: list[str] | None = None) -> dict:
    """Validate ``version`` (a ``ModelVersion``) under ``policy``; returns the result record
    ``{status, summary, checks, metrics, slices, data, trusted, seconds}``."""
    import numpy as np

    started = time.monotonic()
    settings = policy.validation
    spec = spec or {}
    checks: list[dict] = []
    metrics: dict = {}
    slice_metrics: dict = {}
    result_data = {}

    frame = None
    if spec:
        try:
            frame = read_data(store, spec)
            result_data = {"rows": int(len(frame)), "columns": int(frame.shape[1]),
                           "digest": spec.get("digest"), "artifact": spec.get("artifact"),
                           "target": spec.get("target")}
        except ModelOpsError as exc:
            checks.append(_check("data", FAILED, exc.message))
    elif settings.require_data:
        checks.append(_check("data", FAILED, "the policy requires held-out data (validation_data=(X, y))"))

    # load
    model = None
    if version.flavor == "external":
        checks.append(_check("load", PASSED, "external model: a reference to a binary that runs elsewhere",
                             decides=False))
    if not version.trusted and not trusted:
        checks.append(_check("load", NOT_RUN, f"not run: requires trust ({version.flavor} packages run code "
                                              "when loaded); a validator can run validation with trusted=True"))
    else:
        try:
            from ..registry.api import LoadedModel
            from ..registry.package import load

            manifest, raw = load(_StoreReader(store), version.manifest_digest, trusted=True if trusted else False)
            model = LoadedModel(raw, version, manifest)
            if version.flavor != "external":
                checks.append(_check("load", PASSED, f"{version.flavor} package loads"
                                                     + (" (trusted by the validator)" if trusted else "")))
        except ModelOpsError as exc:
            checks.append(_check("load", FAILED, exc.message))
        except Exception as exc:  # noqa: BLE001
            checks.append(_check("load", FAILED, one_line(exc)))

    signature = version.signature
    if version.flavor == "external":
        interface = model.raw.interface if model is not None else {}
        ok = bool(interface.get("inputs"))
        checks.append(_check("signature", PASSED if ok else WARNING,
                             "declared interface: " + ", ".join(
                                 str(i.get("name", i)) if isinstance(i, dict) else str(i)
                                 for i in interface.get("inputs", [])) if ok else
                             "the external model declares no inputs (interface={'inputs': ...})", decides=False))
        verified = bool(model is not None and model.raw.record.get("verified"))
        checks.append(_check("binary", PASSED if verified else WARNING,
                             f"sha256 {model.raw.sha256[:12]}… verified at registration" if verified else
                             "the binary's sha256 was declared, not verified (not reachable from the registry)",
                             decides=False))
        checks.append(_check("smoke", NOT_RUN, "not run: the model runs outside this process", decides=False))
    else:
        from ..registry import signature as sig

        if signature and signature.get("inputs"):
            detail = f"inputs: {sig.describe(signature)}"
            status = PASSED
            if frame is not None:
                try:
                    sig.enforce(signature, _features(frame, spec, signature))
                    detail += "; the held-out data fits"
                except ModelOpsError as exc:
                    status, detail = FAILED, f"the held-out data does not fit the signature: {exc.message}"
            checks.append(_check("signature", status, detail))
        else:
            checks.append(_check("signature", WARNING, "the version declares no input signature "
                                                       "(register it with input_example=...)", decides=False))
        if model is not None:
            n = max(1, settings.smoke_rows)
            rows = _features(frame, spec, signature)[:n] if frame is not None else _example_rows(signature, n)
            if rows is None:
                checks.append(_check("smoke", NOT_RUN, "not run: no held-out data and no signature to build "
                                                       "an example from"))
            else:
                try:
                    out = np.asarray(_predict(model, rows))
                    if out.ndim == 0 or len(out) != len(rows):
                        checks.append(_check("smoke", FAILED, f"{len(rows)} rows gave {out.size} predictions"))
                    else:
                        checks.append(_check("smoke", PASSED, f"{len(rows)} rows predicted"
                                                              + ("" if frame is not None else " (made from the signature)")))
                except ModelOpsError as exc:
                    checks.append(_check("smoke", FAILED, exc.message))
                except Exception as exc:  # noqa: BLE001
                    checks.append(_check("smoke", FAILED, f"predict raised {one_line(exc)}"))

    # held-out metrics and thresholds
    thresholds = list(settings.metrics)
    target = spec.get("target")
    can_score = model is not None and frame is not None and version.flavor != "external"
    if frame is not None and not target:
        checks.append(_check("metrics", WARNING, "held-out data has no target column: no metrics", decides=False))
    elif can_score and target in frame.columns:
        try:
            X = _features(frame, spec, signature)
            y = frame[target].to_numpy()
            y_pred = np.asarray(_predict(model, X))
            proba, classes = _proba(model, X)
            metrics = compute_metrics(y, y_pred, proba, classes)
            checks.append(_check("metrics", PASSED, f"{len(metrics)} metrics on {len(frame)} held-out rows",
                                 decides=False))
            for col in list(slices or []) + [c for c in settings.slices if c not in (slices or [])]:
                if col not in frame.columns:
                    checks.append(_check(f"slice:{col}", WARNING, f"no column {col!r} in the held-out data",
                                         decides=False))
                    continue
                import pandas as pd

                per = {}
                text = frame[col].astype("string")
                for value in list(text.value_counts(dropna=False).index)[:MAX_SLICE_VALUES]:
                    if pd.isna(value):
                        mask = text.isna().to_numpy()
                    else:
                        mask = (text == value).fillna(False).to_numpy(dtype=bool)
                    if mask.sum() < max(1, settings.slice_min_rows):
                        continue
                    sub_proba = proba[mask] if proba is not None else None
                    per[str(value)] = {"rows": int(mask.sum()),
                                       **compute_metrics(y[mask], y_pred[mask], sub_proba, classes)}
                slice_metrics[col] = per
        except ModelOpsError as exc:
            checks.append(_check("metrics", FAILED, exc.message))
        except Exception as exc:  # noqa: BLE001
            checks.append(_check("metrics", FAILED, f"scoring failed: {one_line(exc)}"))
    elif frame is not None and target and target not in frame.columns:
        checks.append(_check("metrics", FAILED, f"the held-out data has no target column {target!r}"))
    for t in thresholds:
        key, lo, hi = t["metric"], t.get("min"), t.get("max")
        bounds = " and ".join([f"≥ {lo}"] * (lo is not None) + [f"≤ {hi}"] * (hi is not None))
        name = f"threshold:{key}"
        if key not in metrics:
            why = ("the model runs outside this process" if version.flavor == "external" else
                   "no held-out data" if frame is None else "the model was not scored" if not metrics else
                   f"{key} does not apply to this task")
            checks.append(_check(name, NOT_RUN, f"not run: {key} {bounds} needs held-out scores ({why})"))
            continue
        value = metrics[key]
        ok = (lo is None or value >= lo) and (hi is None or value <= hi)
        checks.append(_check(name, PASSED if ok else FAILED, f"{key} = {value:.4g}, required {bounds}"))

    deciding = [c for c in checks if c["decides"]]
    if any(c["status"] == FAILED for c in checks):
        status = FAILED
    elif any(c["status"] == NOT_RUN for c in deciding):
        status = NOT_RUN
    else:
        status = PASSED
    failed = [c for c in checks if c["status"] == FAILED]
    not_run = [c for c in deciding if c["status"] == NOT_RUN]
    if status == FAILED:
        summary = "; ".join(f"{c['name']}: {c['detail']}" for c in failed)
    elif status == NOT_RUN:
        summary = "; ".join(f"{c['name']}: {c['detail']}" for c in not_run)
    else:
        summary = f"{sum(c['status'] == PASSED for c in checks)} checks passed" + (
            f"; {', '.join(f'{k}={v:.4g}' for k, v in list(metrics.items())[:4])}" if metrics else "")
    return {"status": status, "summary": summary[:1000], "checks": checks, "metrics": metrics,
            "slices": slice_metrics, "data": result_data, "trusted": bool(trusted),
            "seconds": round(time.monotonic() - started, 3)}
