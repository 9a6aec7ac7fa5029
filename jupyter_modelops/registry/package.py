"""Model packages: a flavor's files as content-addressed blobs, tied together by a manifest.

Saving: the flavor writes files into a temp folder; each file becomes a blob
(``put_blob``); a JSON manifest lists them by relative path with digest and size, and
the manifest's own digest identifies the package (``ModelVersion.manifest_digest``). Two
registrations of the same bytes share storage, and a package can never change under a
version. Loading goes the other way through ``get_blob``, which verifies every hash, so a
tampered blob is an ``IntegrityFailure`` and never reaches a deserialiser.

Everything goes through ``client._call``, so packages work over any transport.
"""

from __future__ import annotations

import json
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityFailure, InvalidInput, ModelOpsError
from ..store.artifacts import check_digest, validate_name
from . import signature as sig
from .flavors import FLAVORS, detect_flavor, get_flavor, one_line

FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_MEDIA_TYPE = "application/json"
MAX_MANIFEST = 16 << 20


@dataclass
class Package:
    """A saved package: the manifest, its digest and its size."""

    digest: str
    size: int
    manifest: dict

    @property
    def flavor(self) -> str:
        return self.manifest["flavor"]

    @property
    def signature(self) -> dict | None:
        return self.manifest.get("signature")

    @property
    def requires_trust(self) -> bool:
        return bool(self.manifest.get("requires_trust"))

    @property
    def files(self) -> dict:
        return self.manifest.get("files", {})


def created_with() -> dict:
    from ..tracking.provenance import environment

    try:
        from .._version import __version__
    except ImportError:  # pragma: no cover
        __version__ = "unknown"
    packages = environment().get("packages", {})
    return {"python": platform.python_version(), "jupyter_modelops": __version__,
            "packages": {k: v for k, v in packages.items() if k != "jupyter-modelops"}}


def _resolve_signature(mod, model, info: dict, signature, input_example) -> dict | None:
    if signature is not None:
        if not isinstance(signature, dict) or "inputs" not in signature:
            raise InvalidInput("signature must be a mapping with 'inputs' (and optionally 'outputs')")
        return signature
    if input_example is not None:
        output = None
        predict = getattr(model, "predict", None) or (model if callable(model) else None)
        if predict is not None:
            try:
                output = predict(input_example)
            except Exception:  # noqa: BLE001 - the output schema is a nicety, not a requirement
                output = None
        return sig.infer(input_example, output)
    default = getattr(mod, "default_signature", None)
    return default(model, info) if default else None


def save(client, model, *, flavor: str | None = None, signature: dict | None = None,
         input_example=None, **opts) -> Package:
    """Write ``model`` as a package into the client's blob store."""
    name = flavor or detect_flavor(model)
    mod = get_flavor(name)
    if flavor and not mod.can_save(model) and not (name == "onnx" and isinstance(model, (bytes, bytearray))):
        raise InvalidInput(f"the {name} flavor cannot save a {type(model).__name__}")
    files: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="modelops-package-") as tmp:
        folder = Path(tmp)
        info = mod.save(model, folder, **opts)
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = validate_name(path.relative_to(folder).as_posix())
            if rel == MANIFEST:
                raise InvalidInput(f"a flavor must not write a file named {MANIFEST}")
            stored = client._call("put_blob", data=path.read_bytes())
            files[rel] = {"digest": stored["digest"], "size": stored["size"]}
    manifest = {
        "format": FORMAT,
        "flavor": name,
        "flavor_info": info,
        "files": files,
        "signature": _resolve_signature(mod, model, info, signature, input_example),
        "requires_trust": bool(mod.requires_trust(info)),
        "created_with": created_with(),
    }
    try:
        data = json.dumps(manifest, sort_keys=True, indent=1, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the model's description is not plain JSON: {exc}") from None
    stored = client._call("put_blob", data=data)
    return Package(stored["digest"], stored["size"], manifest)


def read_manifest(client, digest: str) -> dict:
    """The manifest stored under ``digest``, checked for shape (not yet for its files)."""
    check_digest(digest)
    data = client._call("get_blob", digest=digest)
    if len(data) > MAX_MANIFEST:
        raise InvalidInput(f"package manifest {digest[:12]}… is too large to be a manifest")
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"blob {digest[:12]}… is not a package manifest (not JSON)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InvalidInput(f"blob {digest[:12]}… is not a package manifest")
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"package format {manifest.get('format')!r} is not supported by this "
                           f"jupyter-modelops (it reads format {FORMAT}); upgrade the package")
    if manifest.get("flavor") not in FLAVORS:
        raise InvalidInput(f"package flavor {manifest.get('flavor')!r} is unknown here "
                           f"(known: {', '.join(sorted(FLAVORS))})")
    if not isinstance(manifest.get("flavor_info", {}), dict):
        raise InvalidInput("package manifest has a malformed flavor_info")
    return manifest


def download(client, manifest: dict, folder: Path) -> None:
    """Fetch every file of a package into ``folder``, refusing unsafe paths."""
    for rel, entry in manifest["files"].items():
        if not isinstance(rel, str) or "\x00" in rel:
            raise InvalidInput(f"package file name {rel!r} is not a safe relative path")
        clean = validate_name(rel)  # no '..', no absolute paths, no backslashes
        if clean != rel:
            raise InvalidInput(f"package file name {rel!r} is not a normalised relative path")
        if not isinstance(entry, dict):
            raise InvalidInput(f"package file {rel!r} has a malformed entry")
        digest = check_digest(entry.get("digest"))
        data = client._call("get_blob", digest=digest)
        if entry.get("size") is not None and len(data) != entry["size"]:
            raise IntegrityFailure(f"package file {rel} has {len(data)} bytes, not {entry['size']}")
        target = folder / clean
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def load(client, digest: str, *, trusted=False) -> tuple[dict, object]:
    """(manifest, model object) for the package stored under ``digest``."""
    manifest = read_manifest(client, digest)
    mod = get_flavor(manifest["flavor"])
    with tempfile.TemporaryDirectory(prefix="modelops-load-") as tmp:
        folder = Path(tmp)
        download(client, manifest, folder)
        try:
            obj = mod.load(folder, manifest.get("flavor_info") or {}, trusted=trusted)
        except ModelOpsError:
            raise
        except FileNotFoundError as exc:
            raise InvalidInput(f"the {manifest['flavor']} package lacks a file it needs "
                               f"({Path(exc.filename or '?').name})") from None
        except Exception as exc:  # noqa: BLE001 - no third-party traceback for a bad package
            raise InvalidInput(f"could not load the {manifest['flavor']} model: {one_line(exc)}") from None
    return manifest, obj
