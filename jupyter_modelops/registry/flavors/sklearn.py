"""scikit-learn estimators, persisted with skops — never with pickle.

skops files are zip archives that describe objects instead of holding code, and skops
lists every type in a file that it does not know to be safe. Loading refuses those types
unless the caller trusts them by name (or with ``trusted=True``), so a model file can
never run code just by being loaded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ...errors import InvalidInput, PolicyViolation
from . import one_line

NAME = "sklearn"
KIND = "ml"
FILE = "model.skops"
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")


def can_save(obj) -> bool:
    return any(c.__module__.split(".")[0] == "sklearn" for c in type(obj).__mro__)


def save(obj, folder: Path, **opts) -> dict:
    import sklearn
    import skops
    import skops.io as sio

    if opts:
        raise InvalidInput(f"the sklearn flavor takes no options (got {', '.join(opts)})")
    path = folder / FILE
    try:
        sio.dump(obj, path)
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any skops failure is a user-facing one-liner
        raise InvalidInput(f"skops cannot save this {type(obj).__name__}: {one_line(exc)}") from None
    return {
        "file": FILE,
        "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "methods": [m for m in METHODS if hasattr(obj, m)],
        "untrusted_types": list(untrusted),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
    }


def requires_trust(info: dict) -> bool:
    """True when the file holds types beyond skops' and our default-trusted ones."""
    types = info.get("untrusted_types") or []
    if not isinstance(types, list):
        return True
    return any(not isinstance(t, str) or t not in DEFAULT_TRUSTED for t in types)


def default_signature(obj, info: dict) -> dict | None:
    """Column names (types unknown) from ``feature_names_in_``, else the input width."""
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        return {"inputs": {"type": "dataframe",
                           "columns": [{"name": str(n), "type": "any"} for n in names]},
                "outputs": None}
    width = getattr(obj, "n_features_in_", None)
    if isinstance(width, int):
        return {"inputs": {"type": "tensor", "dtype": "any", "shape": [-1, width]}, "outputs": None}
    return None


def allowed_types(trusted) -> set[str] | bool:
    """``trusted`` as given by a caller: True, or an iterable of type names."""
    if trusted is True:
        return True
    if not trusted:
        return set()
    if isinstance(trusted, str):
        return {trusted}
    try:
        return {str(t) for t in trusted}
    except TypeError:
        raise InvalidInput("trusted must be True/False or a list of type names") from None


def looks_like_pickle(data: bytes) -> bool:
    if len(data) >= 2 and data[0] == 0x80 and 1 <= data[1] <= 5:  # protocol 2+ header
        return True
    return data[:1] in (b"(", b"c", b"}", b"]", b"I", b"S", b"V", b"N") and data.rstrip().endswith(b".")


def check_file(data: bytes, name: str) -> None:
    """Refuse what is not a skops archive before skops reads it, with a clear reason."""
    if looks_like_pickle(data):
        raise PolicyViolation(
            f"{name} is a Python pickle, not a skops file; pickles run code when loaded, so it "
            "is refused (save the model with skops, e.g. by registering it again)"
        )
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidInput(f"{name} is not a skops file (it is not a zip archive)")


# scikit-learn's own fitted-state containers (and the score functions its selectors
# reference by default) that skops leaves untrusted only because they are compiled or
# private. They hold arrays, not code; without them every tree, forest, boosting,
# neighbours or calibrated model would need an explicit ``trusted=``. Anything else —
# above all user-defined classes — is still refused and named.
DEFAULT_TRUSTED = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfTweedieLossIdentity",
    "sklearn._loss.loss.HalfTweedieLoss",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.ExponentialLoss",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.cluster._bisect_k_means._BisectingTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.gaussian_process.kernels.ConstantKernel",
    "sklearn.gaussian_process.kernels.Product",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.gaussian_process.kernels.WhiteKernel",
    "sklearn.gaussian_process.kernels.Matern",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
    "sklearn.feature_selection._univariate_selection.chi2",
    "scipy.interpolate._bsplines.BSpline",
})


def load(folder: Path, info: dict, *, trusted=False):
    import skops.io as sio

    name = str(info.get("file", FILE))
    path = folder / name
    data = path.read_bytes()
    check_file(data, name)
    try:
        untrusted = list(sio.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name} is not a valid skops file ({one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - skops internals must not leak as tracebacks
        raise InvalidInput(f"{name} cannot be read by skops ({one_line(exc)})") from None
    allowed = allowed_types(trusted)
    refused = [] if allowed is True else [
        t for t in untrusted if t not in allowed and t not in DEFAULT_TRUSTED
    ]
    if refused:
        shown = ", ".join(refused)
        raise PolicyViolation(
            f"the model file holds types that skops does not trust: {shown}; if you trust them, "
            f"load with trusted={refused!r} (or trusted=True to trust every type in the file)",
            untrusted_types=refused,
        )
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"could not load the sklearn model from {name}: {one_line(exc)}") from None
