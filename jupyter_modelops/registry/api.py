"""Client-side registry workflows: log, register and load models.

These orchestrate several service calls (blobs, run artifacts, versions) and use nothing
but ``client._call``, so they behave the same in-process and over HTTP. The heavy work —
serialising a model, checking trust, enforcing signatures — happens in the caller's
process, where the model object lives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import IntegrityFailure, InvalidInput, ModelOpsError, NotFound
from ..ids import new_id
from ..store.artifacts import validate_name
from . import package
from . import signature as sig
from .flavors import get_flavor
from .records import ModelVersion
from .validation import check_model_name

_RUN_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


@dataclass
class ModelInfo:
    """What ``log_model`` stored: register it later with ``register_model(info.uri, name)``."""

    run_id: str
    artifact_path: str
    flavor: str
    manifest_digest: str
    signature: dict | None
    requires_trust: bool

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "artifact_path": self.artifact_path, "flavor": self.flavor,
                "manifest_digest": self.manifest_digest, "signature": self.signature,
                "requires_trust": self.requires_trust, "uri": self.uri}


class LoadedModel:
    """A registered model ready to predict; inputs are checked against its signature."""

    def __init__(self, raw, metadata: ModelVersion, manifest: dict) -> None:
        self.raw = raw
        self.metadata = metadata
        self.manifest = manifest
        self.signature = metadata.signature if metadata.signature is not None else manifest.get("signature")

    @property
    def flavor(self) -> str:
        return self.manifest["flavor"]

    def prepare(self, X):
        """``X`` as the model expects it (``InvalidInput`` naming every problem otherwise)."""
        return sig.enforce(self.signature, X)

    def predict(self, X):
        if self.flavor == "external":  # nothing to check inputs for: it cannot run here
            return self.raw.predict(X)
        return self.raw.predict(self.prepare(X))

    @property
    def predict_proba(self):
        fn = getattr(self.raw, "predict_proba", None)
        if fn is None:
            raise AttributeError(f"this {self.flavor} model has no predict_proba")
        return lambda X: fn(self.prepare(X))

    def describe(self) -> dict:
        """Flavor, signature and, for external models, the declared interface."""
        out = {"name": self.metadata.name, "version": self.metadata.version, "flavor": self.flavor,
               "signature": self.signature, "summary": sig.describe(self.signature)}
        if hasattr(self.raw, "describe"):
            out.update(self.raw.describe())
        return out

    def __repr__(self) -> str:
        return (f"<LoadedModel {self.metadata.name!r} v{self.metadata.version} {self.flavor}: "
                f"{sig.describe(self.signature)}>")


# --------------------------------------------------------------------------- logging


def log_model(client, run_id: str, model, name: str = "model", *, flavor: str | None = None,
              signature: dict | None = None, input_example=None, **opts) -> ModelInfo:
    """Save ``model`` as a package inside a run, as artifacts ``<name>/...``."""
    name = validate_name(name)
    pkg = package.save(client, model, flavor=flavor, signature=signature, input_example=input_example, **opts)
    for rel, entry in pkg.files.items():
        client._call("record_artifact", run_id=run_id, name=f"{name}/{rel}", digest=entry["digest"],
                     size=entry["size"], media_type=None)
    # The manifest goes last: a half-logged model is never registrable.
    client._call("record_artifact", run_id=run_id, name=f"{name}/{package.MANIFEST}", digest=pkg.digest,
                 size=pkg.size, media_type=package.MANIFEST_MEDIA_TYPE)
    return ModelInfo(run_id, name, pkg.flavor, pkg.digest, pkg.signature, pkg.requires_trust)


# --------------------------------------------------------------------------- registering


def _logged_model_ref(client, model) -> tuple[str, str] | None:
    """(run id, artifact path) when ``model`` points at a model logged in a run."""
    from ..tracking.records import Run

    if isinstance(model, Run):
        return model.id, "model"
    if type(model).__name__ == "ActiveRun" and hasattr(model, "client") and isinstance(getattr(model, "id", None), str):
        return model.id, "model"
    if isinstance(model, ModelInfo):
        return model.run_id, model.artifact_path
    if isinstance(model, str):
        if model.startswith("runs:/"):
            ref, _, path = model[len("runs:/"):].strip("/").partition("/")
            if not ref:
                raise InvalidInput(f"{model!r} names no run; use runs:/<run_id>/<artifact path>")
            return client.resolve_run_id(ref), validate_name(path or "model")
        if _RUN_ID.match(model.strip()):
            return client.resolve_run_id(model.strip()), "model"
    return None


def _active_run_id(client) -> str | None:
    """The innermost ``mo.start_run()`` run, if it writes to the same store as ``client``."""
    try:
        from .. import fluent

        active = fluent.active_run()
    except (ImportError, AttributeError):
        return None
    if active is None:
        return None
    other = getattr(active, "client", None)
    if other is client:
        return active.id
    try:
        return active.id if other.transport.describe() == client.transport.describe() else None
    except AttributeError:
        return None


def lineage(client, run_id: str | None, artifact: str | None = None) -> dict:
    """Where a version came from: run, code, data and commit."""
    if not run_id:
        return {}
    run = client._call("get_run", run_id=run_id, with_data=False)
    git = (run.provenance or {}).get("git") or {}
    datasets = client._call("list_datasets", run_id=run_id)
    out = {
        "run_id": run.id,
        "experiment_id": run.experiment_id,
        "run_name": run.name,
        "source": run.source,
        "code_hash": run.code_hash,
        "git": {k: git[k] for k in ("commit", "branch", "dirty") if k in git},
        "datasets": [{"name": d.name, "digest": d.digest, "context": d.context, "source": d.source}
                     for d in datasets],
    }
    if artifact:
        out["model_uri"] = f"runs:/{run.id}/{artifact}"
    return out


def register_model(client, model, name: str, *, run_id: str | None = None, flavor: str | None = None,
                   signature: dict | None = None, input_example=None, description: str = "",
                   tags: dict | None = None, trusted=None, kind: str | None = None,
                   **opts) -> ModelVersion:
    """Register ``model`` as the next version of ``name``.

    ``model`` is a fitted object (flavor picked automatically), a rules table (dict, YAML
    text or file), an ``ExternalModel``, ``"runs:/<run_id>/<path>"``, or a run whose
    model was logged as ``model``. The version's lineage records the run (explicit
    ``run_id``, the logged model's run, or the active ``mo.start_run()`` run).

    ``trusted`` (True or a list of type names) loads the package back once from the store
    before the version is created, proving it loads; it does not change who may load it:
    versions whose files run code on load are stored ``trusted=False`` and every loader
    must pass ``trusted`` itself.
    """
    name = check_model_name(name)
    ref = _logged_model_ref(client, model)
    artifact = None
    if ref is not None:
        run_id, artifact = ref
        try:
            art = client._call("get_artifact", run_id=run_id, name=f"{artifact}/{package.MANIFEST}")
        except NotFound:
            raise NotFound(f"run {run_id[:8]} has no model logged at {artifact!r} "
                           f"(log one with log_model(run_id, model, {artifact!r}))") from None
        digest = art.digest
        manifest = package.read_manifest(client, digest)
        if flavor and flavor != manifest["flavor"]:
            raise InvalidInput(f"the model logged at {artifact!r} is a {manifest['flavor']} model, not {flavor}")
    else:
        if run_id is None:
            run_id = _active_run_id(client)
        elif not isinstance(run_id, str):
            run_id = getattr(run_id, "id", run_id)
        if run_id is not None:
            run_id = client.resolve_run_id(run_id)
        pkg = package.save(client, model, flavor=flavor, signature=signature,
                           input_example=input_example, **opts)
        digest, manifest = pkg.digest, pkg.manifest
    if trusted is not None and trusted is not False:
        package.load(client, digest, trusted=trusted)
    return client._call(
        "create_version", name=name, flavor=manifest["flavor"], manifest_digest=digest, run_id=run_id,
        signature=manifest.get("signature"), lineage=lineage(client, run_id, artifact),
        description=description or "", tags=tags, trusted=not manifest.get("requires_trust", True),
        kind=kind or get_flavor(manifest["flavor"]).KIND, id=new_id(),
    )


# --------------------------------------------------------------------------- loading


def load_model(client, name: str, version: int | None = None, alias: str | None = None,
               trusted=False) -> LoadedModel:
    """Load a version (by number, by alias, or the newest) for prediction.

    ``trusted`` is False, True, or a list of type names that skops may load.
    """
    mv = client._call("get_version", name=name, version=version, alias=alias)
    try:
        manifest, raw = package.load(client, mv.manifest_digest, trusted=trusted)
        if manifest["flavor"] != mv.flavor:
            raise IntegrityFailure(f"the package is a {manifest['flavor']} model but the version "
                                   f"says {mv.flavor}")
    except ModelOpsError as exc:
        # Same error class, with the version it concerns in front.
        err = type(exc)(f"model {mv.name!r} v{mv.version}: {exc.message}", **exc.details)
        raise err from None
    return LoadedModel(raw, mv, manifest)
