"""The OpenAPI 3.1 document, built from the route table in ``api.py``.

Record schemas come from the record dataclasses themselves, so a field added to ``Run``
appears in the document without anyone remembering to add it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import lru_cache

from .._version import __version__
from ..registry.records import AliasEvent, ModelVersion, RegisteredModel
from ..tracking.records import Artifact, Dataset, Experiment, Metric, Run
from . import API_PREFIX, api

RECORDS = {
    "Experiment": Experiment, "Run": Run, "Metric": Metric, "Artifact": Artifact,
    "Dataset": Dataset, "RegisteredModel": RegisteredModel, "ModelVersion": ModelVersion,
    "AliasEvent": AliasEvent,
}
# Fields whose JSON form differs from their Python type.
OVERRIDES = {
    ("Run", "metrics"): {"type": "object", "additionalProperties": api.FLOAT},
    ("Metric", "value"): api.FLOAT,
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message", "details"],
            "properties": {
                "type": {"type": "string", "description": "NotFound, Conflict, InvalidInput, ..."},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
WHOAMI = {
    "type": "object",
    "required": ["username", "display_name", "roles", "mode", "version"],
    "properties": {
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "mode": {"type": "string", "enum": ["embedded", "registry"]},
        "version": {"type": "string"},
    },
}
ERROR_STATUSES = {
    "400": "Invalid input (malformed JSON, unknown fields, bad values)",
    "401": "No or invalid token",
    "403": "The user's roles do not allow this",
    "404": "No such object",
    "409": "Conflicts with stored state",
    "413": "Request body too large",
    "422": "A governance or safety rule forbids it",
}


def _type_schema(tp) -> dict:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = _type_schema(inner[0]) if len(inner) == 1 else {"anyOf": [_type_schema(a) for a in inner]}
        return api.nullable(schema) if type(None) in args else schema
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is dict or origin is dict:
        schema: dict = {"type": "object"}
        if len(args) == 2 and args[1] is not typing.Any:
            schema["additionalProperties"] = _type_schema(args[1])
        return schema
    if tp is list or origin is list:
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    return {}


def record_schema(name: str, cls) -> dict:
    hints = typing.get_type_hints(cls)
    props = {}
    for f in dataclasses.fields(cls):
        props[f.name] = OVERRIDES.get((name, f.name)) or _type_schema(hints[f.name])
    return {"type": "object", "required": list(props), "properties": props}


def _parameter(f: api.Field, where: str) -> dict:
    schema = {"type": "array", "items": f.schema} if f.many else f.schema
    p = {"name": f.name, "in": where, "required": True if where == "path" else f.required,
         "schema": schema}
    if f.many:
        p.update(style="form", explode=True)
    if f.doc:
        p["description"] = f.doc
    return p


def body_schema(ep: api.Endpoint) -> dict | None:
    if ep.body_kwargs:
        return {"type": "object", "description": "the operation's keyword arguments (see the "
                "Python API); tuples, bytes and NaN/±inf tagged as in the result"}
    if ep.body_arg:
        return ep.body_schema
    if ep.body is None:
        return None
    return {
        "type": "object",
        "properties": {f.name: f.schema for f in ep.body},
        "required": [f.name for f in ep.body if f.required],
        "additionalProperties": False,
    }


def _operation(ep: api.Endpoint) -> dict:
    codec = api.CODECS[ep.result]
    op: dict = {"operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag] if ep.tag else [],
                "x-auth-resource": ep.resource,
                "x-auth-action": ep.action or ("read" if ep.method == "GET" else "write")}
    if ep.op:
        op["x-service-operation"] = ep.op
    params = [_parameter(f, "path") for f in ep.path_params] + [_parameter(f, "query") for f in ep.query]
    if params:
        op["parameters"] = params
    if ep.json_body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body_schema(ep)}}}
    elif ep.raw_arg:
        op["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    responses: dict = {}
    if codec.schema is None:
        responses[str(ep.status)] = {"description": "Done"}
    elif ep.stream:
        responses[str(ep.status)] = {
            "description": "The bytes, streamed, with the stored media type; the ETag and "
                           "X-Content-SHA256 headers carry the sha256 to verify them against",
            "content": {"*/*": {"schema": codec.schema}},
        }
    else:
        responses[str(ep.status)] = {"description": "OK",
                                     "content": {codec.media_type: {"schema": codec.schema}}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in ERROR_STATUSES.items():
        if status == "413" and not (ep.json_body or ep.raw_arg):
            continue
        responses[status] = {"description": text, **error}
    responses["default"] = {"description": "Server error", **error}
    op["responses"] = responses
    return op


@lru_cache(maxsize=8)
def build(server_url: str = API_PREFIX) -> dict:
    """The document; ``server_url`` is where the API lives (``<base_url>modelops/api/v1``)."""
    doc_paths: dict = {}
    for path, endpoints in api.paths().items():
        doc_paths[path] = {ep.method.lower(): _operation(ep) for ep in endpoints}
    schemas = {name: record_schema(name, cls) for name, cls in RECORDS.items()}
    schemas["Error"] = ERROR
    schemas["Whoami"] = WHOAMI
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-modelops",
            "version": __version__,
            "description": "Experiment tracking and the model registry of jupyter-modelops. "
                           "Authenticate with 'Authorization: token <token>' (or Bearer).",
        },
        "servers": [{"url": server_url}],
        "security": [{"token": []}],
        "paths": doc_paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "an API token (Jupyter's token when embedded)"}},
        },
    }
