"""``container``: a Docker build context for a model server image — no Docker needed to
make it.

The context holds::

    Dockerfile          python:<this Python>-slim, non-root user, HEALTHCHECK on /v2/health/ready
    requirements.txt    pinned: the versions the model was saved with, else this environment's
    entrypoint.sh       exec python -m jupyter_modelops.deploy serve-model --package /opt/model ...
    model/              the version's package (manifest.json, files/...) and modelops.json
    app/jupyter_modelops/   this package's source (the server runs from it; no index needed)
    README.md, .dockerignore

It is written to ``output`` (default: the deployment's folder) and stored as a tar.gz
blob (``details.context_digest``), so it can be fetched over any transport.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

from ...errors import InvalidInput
from . import check_keys

CONFIG = {"output": (str, None), "python": (str, None), "port": (int, 8080), "base_image": (str, None),
          "trusted": ((bool, list), False)}
# What the model server imports, with the distribution that provides it.
RUNTIME = ("numpy", "pandas", "scipy", "scikit-learn", "skops", "PyYAML", "traitlets", "jupyter_core",
           "SQLAlchemy", "fsspec", "cloudpickle", "pyarrow")
FLAVOR_EXTRA = {"onnx": ("onnxruntime", "onnx")}


def _version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def requirements(manifest: dict) -> list[str]:
    saved = {k.lower().replace("_", "-"): v for k, v in
             ((manifest.get("created_with") or {}).get("packages") or {}).items()}
    out = []
    for dist in RUNTIME + FLAVOR_EXTRA.get(manifest.get("flavor"), ()):
        key = dist.lower().replace("_", "-")
        ver = saved.get(key) or _version_of(dist)
        out.append(f"{dist}=={ver}" if ver else dist)
    return out


DOCKERFILE = """\
# Model server for {name} v{version} ({flavor}), made by jupyter-modelops {modelops}.
# Build: docker build -t {image} .   Run: docker run -p {port}:{port} {image}
FROM {base}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/opt/app \\
    JUPYTER_MODELOPS_HOME=/tmp/modelops PORT={port}
WORKDIR /opt/app
COPY requirements.txt /opt/app/requirements.txt
RUN pip install --no-cache-dir -r /opt/app/requirements.txt
COPY app/ /opt/app/
COPY model/ /opt/model/
COPY entrypoint.sh /usr/local/bin/modelops-entrypoint
RUN chmod 0755 /usr/local/bin/modelops-entrypoint && useradd --uid 10001 --no-create-home modelops
USER 10001
EXPOSE {port}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \\
  CMD python -c "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/v2/health/ready' % os.environ.get('PORT', '{port}'), timeout=2).status == 200 else 1)"
ENTRYPOINT ["/usr/local/bin/modelops-entrypoint"]
"""

ENTRYPOINT = """\
#!/bin/sh
# Serve the packaged model (OIP v2, /invocations, /metrics); extra arguments override these.
exec python -m jupyter_modelops.deploy serve-model --package=/opt/model --host=0.0.0.0 \\
    --port="${{PORT:-{port}}}"{trusted} "$@"
"""


def _source_files() -> list[tuple[str, Path]]:
    root = Path(__file__).resolve().parents[2]  # .../jupyter_modelops
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root.parent)
        parts = rel.parts
        if not path.is_file() or "__pycache__" in parts or "labextension" in parts:
            continue
        if path.suffix not in (".py", ".json", ".yaml", ".mako", ".css", ".js", ".ini", ".md", ".txt"):
            continue
        out.append((rel.as_posix(), path))
    return out


class ContainerTarget:
    name = "container"
    serving = True
    monitored = False

    def check_config(self, config: dict) -> dict:
        cfg = check_keys(config, CONFIG, self.name)
        if cfg["python"] is not None and not all(p.isdigit() for p in cfg["python"].split(".")):
            raise InvalidInput("python must be a version such as 3.11")
        if not 1 <= cfg["port"] <= 65535:
            raise InvalidInput("port must be from 1 to 65535")
        if cfg["base_image"] is not None and (not cfg["base_image"].strip() or any(c.isspace() for c in cfg["base_image"])):
            raise InvalidInput("base_image must be an image reference such as python:3.11-slim")
        return cfg

    def files(self, store, dep) -> dict[str, bytes]:
        """Every file of the context, by relative path."""
        from ..._version import __version__
        from ...registry import package
        from ..server import StoreCaller
        from .kserve import default_image

        caller = StoreCaller(store)
        mv = caller._call("get_version", name=dep.model_name, version=dep.version)
        manifest = package.read_manifest(caller, mv.manifest_digest)
        cfg = dep.config
        out: dict[str, bytes] = {}
        for rel, entry in manifest["files"].items():
            data = store.artifacts.get_bytes(entry["digest"])
            out[f"model/files/{package.validate_name(rel)}"] = data
        out["model/manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
        trusted = cfg["trusted"]
        about = {"name": dep.model_name, "version": dep.version, "flavor": manifest["flavor"],
                 "manifest_digest": mv.manifest_digest, "deployment": dep.id, "request": dep.request_id,
                 "trusted_types": trusted if isinstance(trusted, list) else bool(trusted),
                 "signature": manifest.get("signature")}
        out["model/modelops.json"] = json.dumps(about, indent=1, sort_keys=True).encode()
        reqs = requirements(manifest)
        out["requirements.txt"] = ("# pinned: the versions the model was saved with, else the deploying "
                                   "environment's\n" + "\n".join(reqs) + "\n").encode()
        py = cfg["python"] or f"{sys.version_info.major}.{sys.version_info.minor}"
        image = default_image(dep.model_name, dep.version)
        out["Dockerfile"] = DOCKERFILE.format(name=dep.model_name, version=dep.version, flavor=manifest["flavor"],
                                              modelops=__version__, image=image, port=cfg["port"],
                                              base=cfg["base_image"] or f"python:{py}-slim").encode()
        out["entrypoint.sh"] = ENTRYPOINT.format(port=cfg["port"],
                                                 trusted=" --trusted" if trusted is True else "").encode()
        out[".dockerignore"] = b"**/__pycache__\n**/*.pyc\n"
        out["README.md"] = (f"# {dep.model_name} v{dep.version} model server\n\n"
                            f"    docker build -t {image} .\n    docker run --rm -p {cfg['port']}:{cfg['port']} {image}\n"
                            f"    curl localhost:{cfg['port']}/v2/health/ready\n\n"
                            "Made by jupyter-modelops from an approved version; the model package's files "
                            "are verified by sha256 (model/manifest.json).\n").encode()
        for rel, path in _source_files():
            out[f"app/{rel}"] = path.read_bytes()
        return out

    def start(self, store, dep) -> dict:
        from ...ids import now_ms
        from .local import deployment_dir

        files = self.files(store, dep)
        folder = Path(dep.config["output"]).expanduser() if dep.config["output"] else \
            deployment_dir(store, dep.id) / "container"
        if folder.exists() and any(folder.iterdir()) and not (folder / "Dockerfile").exists():
            raise InvalidInput(f"{folder} is not empty and holds no build context; choose an empty folder")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
            for rel in sorted(files):
                data = files[rel]
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                if rel == "entrypoint.sh":
                    target.chmod(0o755)
                info = tarfile.TarInfo(rel)
                info.size = len(data)
                info.mode = 0o755 if rel == "entrypoint.sh" else 0o644
                info.mtime = 0
                tar.addfile(info, io.BytesIO(data))
        digest, size = store.artifacts.put_bytes(buf.getvalue())
        listing = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()
                   if not rel.startswith("app/")}
        return {"status": "GENERATED", "endpoint": str(folder), "started_at": now_ms(),
                "details": {**dep.details, "context": str(folder), "context_digest": digest, "context_size": size,
                            "files": listing, "source_files": sum(1 for r in files if r.startswith("app/"))}}

    def stop(self, store, row) -> None:
        return None
