"""``kserve``: a KServe ``InferenceService`` (``serving.kserve.io/v1beta1``) manifest.

By default the predictor is a custom container running this package's model server
(``serve-model`` speaks the Open Inference Protocol v2, as KServe's v2 runtimes do),
from the image the ``container`` target's build context makes; ``storage_uri`` and
``model_format`` switch to a KServe serving runtime instead. Resources come from the
config, else from the approved deployment request's ``resources``. The manifest is
checked against the JSON schema shipped in ``deploy/schemas`` before anything is written,
stored as a blob (``details.manifest_digest``) and written to ``output`` when given. No
cluster is contacted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...errors import InvalidInput
from . import check_keys

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "inferenceservice-v1beta1.json"
CONFIG = {
    "name": (str, None),
    "namespace": (str, None),
    "image": (str, None),
    "storage_uri": (str, None),
    "model_format": (str, None),
    "runtime": (str, None),
    "service_account": (str, None),
    "min_replicas": (int, None),
    "max_replicas": (int, None),
    "cpu": ((str, int), None),
    "memory": (str, None),
    "port": (int, 8080),
    "output": (str, None),
    "labels": (dict, None),
    "annotations": (dict, None),
}
_QUANTITY = re.compile(r"^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")


def slug(text: str, limit: int = 63) -> str:
    """A DNS-1123 label from any text."""
    out = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    out = re.sub(r"-{2,}", "-", out)[:limit].strip("-")
    return out or "model"


def label_value(text) -> str:
    out = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text))[:63].strip("-_.")
    return out


def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def validate(manifest: dict) -> None:
    """Raise ``InvalidInput`` naming the first problem if the manifest breaks the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise InvalidInput(f"the InferenceService manifest is invalid at {where}: {e.message}")


def default_image(name: str, version: int) -> str:
    return f"modelops/{slug(name)}:v{version}"


class KServeTarget:
    name = "kserve"
    serving = True
    monitored = False

    def check_config(self, config: dict) -> dict:
        cfg = check_keys(config, CONFIG, self.name)
        for key in ("name", "namespace", "service_account"):
            if cfg[key] is not None and slug(cfg[key]) != cfg[key]:
                raise InvalidInput(f"{key} {cfg[key]!r} must be a DNS-1123 label (lowercase letters, digits, '-')")
        if (cfg["storage_uri"] is None) != (cfg["model_format"] is None):
            raise InvalidInput("give storage_uri and model_format together (a KServe runtime), or neither "
                               "(this package's model server image)")
        for key in ("cpu", "memory"):
            if cfg[key] is not None and not _QUANTITY.match(str(cfg[key])):
                raise InvalidInput(f"{key} {cfg[key]!r} is not a Kubernetes quantity (e.g. 500m, 2Gi)")
        for key in ("labels", "annotations"):
            if cfg[key] is not None and not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in cfg[key].items()):
                raise InvalidInput(f"{key} must map text to text")
        if not 1 <= cfg["port"] <= 65535:
            raise InvalidInput("port must be from 1 to 65535")
        return cfg

    def manifest(self, store, dep) -> dict:
        cfg = dep.config
        request = None
        if dep.request_id:
            from ...governance.approvals import get_request

            request = get_request(store, dep.request_id)
        res_req = (request.resources if request else {}) or {}
        cpu = cfg["cpu"] or res_req.get("cpu") or "1"
        memory = cfg["memory"] or res_req.get("memory") or "2Gi"
        replicas = res_req.get("replicas") if isinstance(res_req.get("replicas"), int) else 1
        resources = {"requests": {"cpu": str(cpu), "memory": str(memory)},
                     "limits": {"cpu": str(cpu), "memory": str(memory)}}
        port = cfg["port"]
        name = cfg["name"] or slug(dep.model_name)
        labels = {"app.kubernetes.io/name": slug(dep.model_name), "app.kubernetes.io/managed-by": "jupyter-modelops",
                  "modelops.jupyter.org/version": str(dep.version), **(cfg["labels"] or {})}
        labels = {k: label_value(v) for k, v in labels.items()}
        annotations = {"modelops.jupyter.org/model": dep.model_name, "modelops.jupyter.org/version": str(dep.version),
                       "modelops.jupyter.org/deployment": dep.id,
                       "serving.kserve.io/deploymentMode": "Serverless", **(cfg["annotations"] or {})}
        if dep.alias:
            annotations["modelops.jupyter.org/alias"] = dep.alias
        if request is not None:
            annotations["modelops.jupyter.org/approved-by"] = request.decided_by or ""
            annotations["modelops.jupyter.org/request"] = request.id
        predictor: dict = {"minReplicas": cfg["min_replicas"] if cfg["min_replicas"] is not None else replicas,
                           "maxReplicas": cfg["max_replicas"] if cfg["max_replicas"] is not None else max(replicas, 1)}
        if cfg["service_account"]:
            predictor["serviceAccountName"] = cfg["service_account"]
        if cfg["storage_uri"]:
            model = {"modelFormat": {"name": cfg["model_format"]}, "protocolVersion": "v2",
                     "storageUri": cfg["storage_uri"], "resources": resources}
            if cfg["runtime"]:
                model["runtime"] = cfg["runtime"]
            predictor["model"] = model
        else:
            probe = {"httpGet": {"path": "/v2/health/ready", "port": port}, "periodSeconds": 5}
            predictor["containers"] = [{
                "name": "kserve-container",
                "image": cfg["image"] or default_image(dep.model_name, dep.version),
                "args": [f"--port={port}", "--host=0.0.0.0"],
                "env": [{"name": "MODELOPS_MODEL", "value": dep.model_name},
                        {"name": "MODELOPS_VERSION", "value": str(dep.version)}],
                "ports": [{"containerPort": port, "protocol": "TCP"}],
                "resources": resources,
                "readinessProbe": probe,
                "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": port}, "periodSeconds": 10},
            }]
        manifest = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                    "metadata": {"name": name, "labels": labels, "annotations": annotations},
                    "spec": {"predictor": predictor}}
        if cfg["namespace"]:
            manifest["metadata"]["namespace"] = cfg["namespace"]
        return manifest

    def start(self, store, dep) -> dict:
        import yaml

        from ...ids import now_ms

        manifest = self.manifest(store, dep)
        validate(manifest)
        text = yaml.safe_dump(manifest, sort_keys=False)
        digest, _ = store.artifacts.put_bytes(text.encode())
        path = None
        if dep.config.get("output"):
            path = Path(dep.config["output"]).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        ns = manifest["metadata"].get("namespace", "default")
        return {"status": "GENERATED", "endpoint": f"kserve://{ns}/{manifest['metadata']['name']}",
                "started_at": now_ms(),
                "details": {**dep.details, "manifest": manifest, "manifest_digest": digest,
                            "manifest_path": str(path) if path else None}}

    def stop(self, store, row) -> None:
        return None
