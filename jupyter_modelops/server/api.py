"""The REST API as data: one ``Endpoint`` per HTTP method and path.

This table is the single source of three things that must never drift apart:

- the tornado handlers (``handlers.make_handlers`` builds one handler class per path);
- the OpenAPI document (``openapi.build``);
- the HTTP transport of the ``Client`` (``http_transport``), which maps each service
  operation onto its endpoint and decodes the answer into the records the local
  transport returns.

An endpoint names the service operation it calls and says where each keyword argument
travels: in the path, the query string, a JSON object body (one property per keyword), a
whole JSON body (``body_arg``) or a raw byte body (``raw_arg``). Responses are encoded by
a named ``Codec``. Operations that capabilities (governance, ...) add to ``services.OPS``
and that have no route here yet are served as typed operation calls (``POST /ops/<op>``),
so the HTTP transport covers every operation. Nothing here imports tornado, jupyter_server
or SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..registry.records import AliasEvent, ModelVersion, RegisteredModel
from ..tracking.records import Artifact, Dataset, Experiment, Metric, Run, decode_float, encode_float

# Authorization resources (``AUTH_RESOURCE`` of each handler; see ``auth.py`` for roles).
R_RUNS = "modelops:runs"
R_ARTIFACTS = "modelops:artifacts"
R_MODELS = "modelops:models"
R_APPROVALS = "modelops:approvals"  # governance (approvals, deployments) joins here
R_ADMIN = "modelops:admin"          # user administration, reserved for admins
R_API = "modelops:api"              # whoami and the API description
# The resource of each capability's operations (see "capability operations" below).
CAPABILITIES = {
    "governance": R_APPROVALS, "deploy": "modelops:deployments", "monitor": "modelops:monitoring",
    "pipeline": "modelops:pipelines", "sync": "modelops:sync",
}
RESOURCES = tuple(dict.fromkeys((R_RUNS, R_ARTIFACTS, R_MODELS, R_APPROVALS, R_ADMIN, R_API,
                                 *CAPABILITIES.values())))

# Query parameters Jupyter itself may add to any request; never "unknown".
JUPYTER_QUERY_PARAMS = frozenset({"token", "_xsrf", "no_track_activity"})


def is_cache_buster(key: str, values: list[bytes]) -> bool:
    """JupyterLab's ``ServerConnection`` appends ``?<milliseconds>`` (no value) to GET
    requests so browsers never answer from cache; it is not a parameter of ours."""
    return key.isdigit() and all(not v for v in values)

# --------------------------------------------------------------------------- schemas

STR = {"type": "string"}
NAME = {"type": "string", "minLength": 1}
INT = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}  # int64 on the wire
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
FLOAT = {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}
DIGEST = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def nullable(schema: dict) -> dict:
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


@dataclass(frozen=True)
class Field:
    """One argument on the wire: a path or query parameter, or a JSON body property."""

    name: str                # its name on the wire
    schema: dict
    arg: str | None = None   # the service keyword (default: ``name``)
    required: bool = False
    many: bool = False       # query parameter given repeatedly -> list
    doc: str = ""

    @property
    def kwarg(self) -> str:
        return self.arg or self.name


# Path parameters, by name. ``path`` and ``key`` may contain '/' (artifact names, metric keys).
PATH_FIELDS = {
    "ref": Field("ref", NAME, doc="Experiment name or id."),
    "run_id": Field("run_id", NAME, doc="Run id (32 hex digits)."),
    "key": Field("key", NAME, doc="Metric or tag key; may contain '/'."),
    "path": Field("path", NAME, arg="name", doc="Artifact name inside the run; may contain '/'."),
    "digest": Field("digest", NAME, doc="sha256 of the blob (64 lowercase hex digits)."),
    "name": Field("name", NAME, doc="Registered model name."),
    "version": Field("version", INT32, doc="Version number."),
    "alias": Field("alias", NAME, doc="Alias; 'latest' means the newest version."),
}
GREEDY = frozenset({"path", "key"})


@dataclass(frozen=True, eq=False)
class Endpoint:
    method: str
    path: str                        # OpenAPI template under API_PREFIX, e.g. "/runs/{run_id}"
    op: str | None                   # service operation (None: answered by the handler itself)
    resource: str
    summary: str
    result: str                      # name of the response ``Codec``
    status: int = 200
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] | None = None  # JSON object body, one property per keyword
    body_arg: str | None = None      # the whole JSON body is this keyword
    body_schema: dict | None = None  # schema of that whole body
    raw_arg: str | None = None       # the raw request body (bytes) is this keyword
    stream: str | None = None        # "artifact" | "blob": raw bytes streamed from the blob store
    to_wire: Callable[[dict], dict] | None = None    # client side, before sending
    from_wire: Callable[[dict], dict] | None = None  # server side, before services.call
    path_defaults: dict = field(default_factory=dict)  # client side: value of an absent path param
    body_kwargs: bool = False        # the JSON object body holds every keyword (typed values)
    action: str | None = None        # authorization action, when not the HTTP method's
    tag: str = ""

    @property
    def path_params(self) -> tuple[Field, ...]:
        import re

        return tuple(PATH_FIELDS[n] for n in re.findall(r"{(\w+)}", self.path))

    @property
    def json_body(self) -> bool:
        return self.body is not None or self.body_arg is not None or self.body_kwargs

    @property
    def operation_id(self) -> str:
        return operation_ids()[self]


# --------------------------------------------------------------------------- codecs


@dataclass(frozen=True)
class Codec:
    """How a service result travels: a JSON schema, ``encode`` (server) and ``decode`` (client)."""

    schema: dict | None
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    media_type: str = "application/json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _record(cls, name: str) -> Codec:
    return Codec(_ref(name), lambda r: r.to_dict(), cls.from_dict)


def _records(cls, name: str) -> Codec:
    return Codec({"type": "array", "items": _ref(name)},
                 lambda rs: [r.to_dict() for r in rs], lambda data: [cls.from_dict(d) for d in data])


def _frame_encode(frame) -> dict:
    """compare_runs' DataFrame as ``{"columns", "data"}`` (NaN/inf as strings)."""
    rows = []
    for row in frame.itertuples(index=False, name=None):
        out = []
        for v in row:
            if hasattr(v, "item") and not isinstance(v, (str, bytes)):
                v = v.item()  # numpy scalar
            if isinstance(v, float):
                v = encode_float(v)
            out.append(v)
        rows.append(out)
    return {"columns": [str(c) for c in frame.columns], "data": rows}


def _frame_decode(data: dict):
    import pandas as pd

    columns = data["columns"]
    rows = []
    kind = columns.index("kind") if "kind" in columns else None
    for row in data["data"]:
        if kind is not None and row[kind] == "metric":  # only metric values carry encoded floats
            row = [decode_float(v) if isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity")
                   and i not in (0, 1) else v for i, v in enumerate(row)]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns, dtype=object)  # keeps None, ints and strings
    for col in ("kind", "key"):
        if col in frame:
            frame[col] = frame[col].astype(str)  # the default string dtype, as built locally
    if "differs" in frame:
        frame["differs"] = frame["differs"].astype(bool)
    return frame


def sanitize(value):
    """Strict JSON: non-finite floats in free-form fields become "NaN"/"Infinity" strings."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {k: sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    return value


def _identity(x):
    return x


CODECS: dict[str, Codec] = {
    "Experiment": _record(Experiment, "Experiment"),
    "Experiments": _records(Experiment, "Experiment"),
    "Run": _record(Run, "Run"),
    "Runs": _records(Run, "Run"),
    "RunPage": Codec(
        {"type": "object", "required": ["runs", "next_page_token"],
         "properties": {"runs": {"type": "array", "items": _ref("Run")},
                        "next_page_token": nullable(STR)}},
        lambda page: {"runs": [r.to_dict() for r in page[0]], "next_page_token": page[1]},
        lambda d: ([Run.from_dict(r) for r in d["runs"]], d["next_page_token"]),
    ),
    "Metrics": _records(Metric, "Metric"),
    "Artifact": _record(Artifact, "Artifact"),
    "Artifacts": _records(Artifact, "Artifact"),
    "Dataset": _record(Dataset, "Dataset"),
    "Datasets": _records(Dataset, "Dataset"),
    "Model": _record(RegisteredModel, "RegisteredModel"),
    "Models": _records(RegisteredModel, "RegisteredModel"),
    "Version": _record(ModelVersion, "ModelVersion"),
    "Versions": _records(ModelVersion, "ModelVersion"),
    "AliasEvents": _records(AliasEvent, "AliasEvent"),
    "Strings": Codec({"type": "array", "items": STR}, list, list),
    "Count": Codec({"type": "object", "required": ["count"], "properties": {"count": INT}},
                   lambda n: {"count": n}, lambda d: d["count"]),
    "RunId": Codec({"type": "object", "required": ["run_id"], "properties": {"run_id": STR}},
                   lambda rid: {"run_id": rid}, lambda d: d["run_id"]),
    "Blob": Codec({"type": "object", "required": ["digest", "size"],
                   "properties": {"digest": DIGEST, "size": INT}}, dict, dict),
    "Frame": Codec(
        {"type": "object", "required": ["columns", "data"],
         "properties": {"columns": {"type": "array", "items": STR},
                        "data": {"type": "array", "items": {"type": "array"}}}},
        _frame_encode, _frame_decode,
    ),
    "Series": Codec(
        {"type": "object", "required": ["series"],
         "properties": {"series": {
             "type": "object", "description": "run id -> metric key -> [[step, value], ...]",
             "additionalProperties": {"type": "object", "additionalProperties": {
                 "type": "array", "items": {"type": "array", "prefixItems": [INT, FLOAT],
                                            "minItems": 2, "maxItems": 2}}}}}},
        lambda series: {"series": {r: {k: [[st, encode_float(v)] for st, v in pts]
                                       for k, pts in keys.items()} for r, keys in series.items()}},
        lambda d: {r: {k: [(st, decode_float(v)) for st, v in pts] for k, pts in keys.items()}
                   for r, keys in d["series"].items()},
    ),
    "None": Codec(None, lambda _: None, lambda _: None),
    "Bytes": Codec({"type": "string", "format": "binary"}, _identity, _identity,
                   media_type="application/octet-stream"),
    "Whoami": Codec(_ref("Whoami"), _identity, _identity),
    "OpenAPI": Codec({"type": "object"}, _identity, _identity),
}

# --------------------------------------------------------------------------- wire hooks


def _points_to_wire(kw: dict) -> dict:
    """Metric points travel as arrays ``[run_id, key, step, timestamp, value]``."""
    return {**kw, "points": [[r, k, s, t, encode_float(v)] for r, k, s, t, v in kw["points"]]}


def _points_from_wire(kw: dict) -> dict:
    from ..errors import InvalidInput
    from ..tracking.metrics import check_points

    points = check_points(kw["points"])
    lo, hi = INT["minimum"], INT["maximum"]
    for p in points:
        if not (lo <= p[2] <= hi and lo <= p[3] <= hi):
            raise InvalidInput("metric step and timestamp must fit in 64 bits")
    return {**kw, "points": points}


def _blob_to_wire(kw: dict) -> dict:
    data = bytes(kw["data"])
    return {"data": data, "digest": hashlib.sha256(data).hexdigest()}


def _blob_from_wire(kw: dict) -> dict:
    from ..errors import InvalidInput

    digest = kw.pop("digest")
    actual = hashlib.sha256(kw["data"]).hexdigest()
    if actual != digest:
        raise InvalidInput(f"the body's sha256 is {actual}, not the {digest[:12]}… named in the URL "
                           "(the upload was changed or truncated)", expected=digest, actual=actual)
    return kw


POINT = {
    "type": "array",
    "prefixItems": [NAME, NAME, INT, INT, FLOAT],
    "minItems": 5,
    "maxItems": 5,
    "description": "[run_id, key, step, timestamp_ms, value]; NaN and ±inf as strings",
}

# --------------------------------------------------------------------------- the table

_TAGS = Field("tags", nullable(OBJ))
_RUN_FILTERS = (
    Field("filter", STR, doc="e.g. metrics.accuracy > 0.9 and params.C = '1.0'"),
    Field("experiment_id", STR, arg="experiment_ids", many=True),
    Field("experiment_name", STR, arg="experiment_names", many=True),
    Field("status", STR, many=True),
    Field("parent_run_id", STR),
)

E = Endpoint
ENDPOINTS: tuple[Endpoint, ...] = (
    # ---------------------------------------------------------------- experiments
    E("GET", "/experiments", "list_experiments", R_RUNS, "List experiments", "Experiments",
      tag="experiments"),
    E("POST", "/experiments", "create_experiment", R_RUNS, "Create an experiment", "Experiment", 201,
      body=(Field("name", STR, required=True), Field("description", STR), _TAGS,
            Field("id", nullable(STR))), tag="experiments"),
    E("GET", "/experiments/{ref}", "get_experiment", R_RUNS, "Get an experiment by name or id",
      "Experiment", tag="experiments"),
    # ---------------------------------------------------------------- runs
    E("GET", "/runs", "search_runs", R_RUNS, "Search runs (paged)", "RunPage",
      query=(*_RUN_FILTERS, Field("order_by", STR, many=True, doc="e.g. 'metrics.auc DESC'"),
             Field("limit", INT),
             Field("page_token", STR)), tag="runs"),
    E("POST", "/runs", "create_run", R_RUNS, "Start a run", "Run", 201,
      body=(Field("experiment", nullable(STR)), Field("name", nullable(STR)),
            Field("parent_run_id", nullable(STR)), _TAGS, Field("source", STR),
            Field("code_hash", STR), Field("provenance", nullable(OBJ)), Field("user", nullable(STR)),
            Field("host", nullable(STR)),
            Field("pid", nullable({"type": "integer", "minimum": 0, "maximum": 2**31 - 1})),
            Field("id", nullable(STR))),
      tag="runs"),
    E("GET", "/runs/count", "count_runs", R_RUNS, "Count the runs a search matches", "Count",
      query=(*_RUN_FILTERS, Field("max_count", INT)), tag="runs"),
    E("GET", "/runs/compare", "compare_runs", R_RUNS, "Compare runs side by side", "Frame",
      query=(Field("run_id", STR, arg="run_ids", many=True, required=True),), tag="runs"),
    E("GET", "/runs/resolve", "resolve_run_id", R_RUNS, "Full run id from a unique prefix", "RunId",
      query=(Field("ref", STR, required=True),), tag="runs"),
    E("GET", "/runs/{run_id}", "get_run", R_RUNS, "Get a run", "Run",
      query=(Field("with_data", BOOL, doc="include params, latest metrics and tags"),), tag="runs"),
    E("PATCH", "/runs/{run_id}", "end_run", R_RUNS, "End a run", "Run",
      body=(Field("status", STR), Field("error_type", nullable(STR)),
            Field("error_message", nullable(STR)), Field("end_time", nullable(INT))), tag="runs"),
    E("GET", "/runs/{run_id}/children", "child_runs", R_RUNS, "Child runs", "Runs", tag="runs"),
    E("POST", "/runs/{run_id}/params", "log_params", R_RUNS, "Log params (immutable)", "None", 204,
      body=(Field("params", OBJ, required=True),), tag="runs"),
    E("POST", "/runs/{run_id}/tags", "set_tags", R_RUNS, "Set tags", "None", 204,
      body=(Field("tags", OBJ, required=True),), tag="runs"),
    E("DELETE", "/runs/{run_id}/tags/{key}", "delete_tag", R_RUNS, "Delete a tag", "None", 204,
      tag="runs"),
    # ---------------------------------------------------------------- metrics
    E("POST", "/metrics", "log_metric_points", R_RUNS, "Log a batch of metric points", "Count",
      body_arg="points", body_schema={"type": "array", "items": POINT},
      to_wire=_points_to_wire, from_wire=_points_from_wire, tag="metrics"),
    E("GET", "/runs/{run_id}/metrics", "metric_keys", R_RUNS, "Metric keys of a run", "Strings",
      tag="metrics"),
    E("GET", "/runs/{run_id}/metrics/{key}", "metric_history", R_RUNS,
      "History of one metric (downsampled with max_points)", "Metrics",
      query=(Field("max_points", INT), Field("start_step", INT),
             Field("end_step", INT)), tag="metrics"),
    E("GET", "/metrics/series", "metric_series", R_RUNS,
      "Downsampled histories of several runs and keys in one call (sparklines)", "Series",
      query=(Field("run_id", STR, arg="run_ids", many=True, required=True),
             Field("key", STR, arg="keys", many=True, required=True),
             Field("max_points", INT, doc="points per history, 1 to 1000 (default 50)")),
      tag="metrics"),
    # ---------------------------------------------------------------- artifacts and blobs
    E("GET", "/runs/{run_id}/artifacts", "list_artifacts", R_ARTIFACTS, "List artifacts",
      "Artifacts", query=(Field("prefix", STR),), tag="artifacts"),
    E("POST", "/runs/{run_id}/artifacts", "record_artifact", R_ARTIFACTS,
      "Name an uploaded blob as an artifact", "Artifact", 201,
      body=(Field("name", STR, required=True), Field("digest", STR, required=True),
            Field("size", INT, required=True),
            Field("media_type", nullable(STR))), tag="artifacts"),
    E("PUT", "/runs/{run_id}/artifacts/{path}", "put_artifact", R_ARTIFACTS,
      "Upload an artifact (raw bytes)", "Artifact", 201, raw_arg="data",
      query=(Field("media_type", STR, doc="default: the Content-Type, else guessed from the name"),),
      tag="artifacts"),
    E("GET", "/runs/{run_id}/artifacts/{path}", "read_artifact", R_ARTIFACTS,
      "Download an artifact (streamed raw bytes)", "Bytes", stream="artifact", tag="artifacts"),
    E("GET", "/runs/{run_id}/artifact-info/{path}", "get_artifact", R_ARTIFACTS,
      "Artifact metadata", "Artifact", tag="artifacts"),
    E("PUT", "/blobs/{digest}", "put_blob", R_ARTIFACTS, "Upload a blob under its sha256", "Blob",
      201, raw_arg="data", to_wire=_blob_to_wire, from_wire=_blob_from_wire, tag="artifacts"),
    E("GET", "/blobs/{digest}", "get_blob", R_ARTIFACTS, "Download a blob (streamed raw bytes)",
      "Bytes", stream="blob", tag="artifacts"),
    # ---------------------------------------------------------------- datasets
    E("GET", "/runs/{run_id}/datasets", "list_datasets", R_RUNS, "Datasets a run used", "Datasets",
      tag="datasets"),
    E("POST", "/runs/{run_id}/datasets", "log_dataset", R_RUNS, "Record a dataset a run used",
      "Dataset", 201,
      body=(Field("name", STR, required=True), Field("digest", STR, required=True),
            Field("context", STR), Field("source", STR), Field("schema", nullable(OBJ)),
            Field("num_rows", nullable(INT)), Field("profile", nullable(OBJ)),
            Field("id", nullable(STR))), tag="datasets"),
    # ---------------------------------------------------------------- registry
    E("GET", "/models", "list_models", R_MODELS, "List registered models", "Models",
      query=(Field("kind", STR), Field("limit", INT)), tag="models"),
    E("POST", "/models", "create_model", R_MODELS, "Register a model name", "Model", 201,
      body=(Field("name", STR, required=True), Field("kind", STR), Field("description", STR),
            Field("owner", nullable(STR)), _TAGS, Field("id", nullable(STR))), tag="models"),
    E("GET", "/models/{name}", "get_model", R_MODELS, "Get a model", "Model", tag="models"),
    E("PATCH", "/models/{name}", "update_model", R_MODELS, "Change a model's description or tags",
      "Model", body=(Field("description", nullable(STR)), _TAGS), tag="models"),
    E("GET", "/models/{name}/versions", "list_versions", R_MODELS, "List versions", "Versions",
      tag="models"),
    E("POST", "/models/{name}/versions", "create_version", R_MODELS, "Add a version", "Version", 201,
      body=(Field("flavor", STR, required=True), Field("manifest_digest", STR, required=True),
            Field("run_id", nullable(STR)), Field("signature", nullable(OBJ)),
            Field("lineage", nullable(OBJ)), Field("description", STR), _TAGS,
            Field("trusted", BOOL), Field("kind", nullable(STR)), Field("id", nullable(STR)),
            Field("user", nullable(STR))),
      tag="models"),
    E("GET", "/models/{name}/versions/{version}", "get_version", R_MODELS, "Get a version", "Version",
      query=(Field("alias", STR, doc="refused: give a version or an alias, not both"),), tag="models"),
    E("PATCH", "/models/{name}/versions/{version}", "update_version", R_MODELS,
      "Change a version's description or tags", "Version",
      body=(Field("description", nullable(STR)), _TAGS), tag="models"),
    E("GET", "/models/{name}/aliases/{alias}", "get_version", R_MODELS,
      "Get the version an alias points at ('latest': the newest)", "Version",
      path_defaults={"alias": "latest"}, tag="models"),
    E("PUT", "/models/{name}/aliases/{alias}", "set_alias", R_MODELS, "Point an alias at a version",
      "Version", body=(Field("version", INT32, required=True), Field("user", nullable(STR))),
      tag="models"),
    E("DELETE", "/models/{name}/aliases/{alias}", "delete_alias", R_MODELS, "Delete an alias", "None",
      204, query=(Field("user", STR),), tag="models"),
    E("GET", "/models/{name}/alias-history", "alias_history", R_MODELS,
      "Every move of the model's aliases, oldest first", "AliasEvents",
      query=(Field("alias", STR),), tag="models"),
    # ---------------------------------------------------------------- about the API
    E("GET", "/whoami", None, R_API, "The authenticated user and their roles", "Whoami", tag="meta"),
    E("GET", "/openapi.json", None, R_API, "This API's OpenAPI 3.1 description", "OpenAPI",
      tag="meta"),
)
del E


# --------------------------------------------------------------------------- capability operations

# Capabilities contribute operations to ``services.OPS`` from ``jupyter_modelops.<name>.ops``.
# Those without a REST resource of their own in the table above are served as typed
# operation calls, ``POST /ops/<op>`` with the keywords as a JSON object, so every service
# operation is reachable over HTTP as soon as it exists (and a resource-style route added
# to the table later takes over from it).
def _capability_endpoints() -> tuple[Endpoint, ...]:
    import importlib

    static = {ep.op for ep in ENDPOINTS if ep.op}
    out = []
    for name, resource in CAPABILITIES.items():
        try:
            mod = importlib.import_module(f"jupyter_modelops.{name}.ops")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"jupyter_modelops.{name}"):
                continue
            raise
        read_only = set(getattr(mod, "READ_ONLY", ()))
        for op in sorted(mod.OPS):
            if op in static:
                continue
            out.append(Endpoint(
                "POST", f"/ops/{op}", op, resource, f"{name}: {op.replace('_', ' ')}", "Any",
                body_kwargs=True, action="read" if op in read_only else "write", tag=name))
    return tuple(out)


_cache: dict[str, Any] = {}


def endpoints() -> tuple[Endpoint, ...]:
    """Every endpoint: the table above, then the capability operation calls."""
    if "endpoints" not in _cache:
        from .sync_handlers import ENDPOINTS as SYNC_ENDPOINTS

        _cache["endpoints"] = ENDPOINTS + SYNC_ENDPOINTS + _capability_endpoints()
    return _cache["endpoints"]


def by_op() -> dict[str, list[Endpoint]]:
    if "by_op" not in _cache:
        table: dict[str, list[Endpoint]] = {}
        for ep in endpoints():
            if ep.op:
                table.setdefault(ep.op, []).append(ep)
        _cache["by_op"] = table
    return _cache["by_op"]


def operation_ids() -> dict[Endpoint, str]:
    if "ids" not in _cache:
        ids: dict[Endpoint, str] = {}
        seen: dict[str, int] = {}
        for ep in endpoints():
            base = ep.op or ep.path.strip("/").replace(".", "_").replace("-", "_")
            if ep.op == "get_version" and "{alias}" in ep.path:
                base = "get_version_by_alias"
            seen[base] = seen.get(base, 0) + 1
            ids[ep] = base if seen[base] == 1 else f"{base}_{seen[base]}"
        _cache["ids"] = ids
    return _cache["ids"]


def paths() -> dict[str, list[Endpoint]]:
    """Endpoints grouped by path, literal paths before parametrised ones (routing order)."""
    out: dict[str, list[Endpoint]] = {}
    for ep in endpoints():
        out.setdefault(ep.path, []).append(ep)
    return dict(sorted(out.items(), key=lambda kv: kv[0].count("{")))


# --------------------------------------------------------------------------- typed values

_VALUE_TAGS = ("$float", "$bytes", "$tuple", "$items", "$dict", "$record", "$frame")


def encode_value(v):
    """Any service value as strict JSON: records (nested too), tuples, bytes, non-finite
    floats and DataFrames are tagged so ``decode_value`` rebuilds exactly what was sent."""
    import base64
    import dataclasses

    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else {"$float": encode_float(v)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x) for x in v]}
    if isinstance(v, (list, set, frozenset)):
        return [encode_value(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            out = {k: encode_value(x) for k, x in v.items()}
            return {"$dict": out} if any(k.startswith("$") for k in v) else out
        return {"$items": [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        cls = type(v)
        return {"$record": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode_value(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    if hasattr(v, "item") and type(v).__module__ == "numpy":
        return encode_value(v.item())
    if type(v).__name__ == "DataFrame" and hasattr(v, "itertuples"):
        return {"$frame": _frame_encode(v)}
    raise TypeError(f"cannot send a {type(v).__name__} over the API")


def decode_value(v, *, records: bool = True):
    """The inverse of ``encode_value``. Records are rebuilt only from ``jupyter_modelops``
    dataclasses, and only where ``records`` (the client side; servers accept plain values)."""
    import base64
    import dataclasses
    import importlib

    from ..errors import InvalidInput

    if isinstance(v, list):
        return [decode_value(x, records=records) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) in (1, 2) and next(iter(v)) in _VALUE_TAGS:
        tag = next(iter(v))
        body = v[tag]
        if tag == "$float" and len(v) == 1 and body in ("NaN", "Infinity", "-Infinity"):
            return decode_float(body)
        if tag == "$bytes" and len(v) == 1 and isinstance(body, str):
            return base64.b64decode(body)
        if tag == "$tuple" and len(v) == 1 and isinstance(body, list):
            return tuple(decode_value(x, records=records) for x in body)
        if tag == "$items" and len(v) == 1 and isinstance(body, list):
            return {decode_value(k, records=records): decode_value(x, records=records) for k, x in body}
        if tag == "$dict" and len(v) == 1 and isinstance(body, dict):
            return {k: decode_value(x, records=records) for k, x in body.items()}
        if tag == "$frame" and len(v) == 1 and isinstance(body, dict):
            return _frame_decode(body)
        if tag == "$record" and records and isinstance(body, str) and isinstance(v.get("fields"), dict):
            module, _, qualname = body.partition(":")
            if module.split(".")[0] == "jupyter_modelops":
                cls = importlib.import_module(module)
                for part in qualname.split("."):
                    cls = getattr(cls, part)
                if dataclasses.is_dataclass(cls):
                    values = {k: decode_value(x, records=records) for k, x in v["fields"].items()}
                    init = {f.name for f in dataclasses.fields(cls) if f.init}
                    obj = cls(**{k: x for k, x in values.items() if k in init})
                    for k, x in values.items():
                        if k not in init:
                            object.__setattr__(obj, k, x)
                    return obj
        raise InvalidInput(f"malformed {tag} value")
    return {k: decode_value(x, records=records) for k, x in v.items()}


CODECS["Any"] = Codec(
    {"type": "object", "required": ["result"], "properties": {"result": {}},
     "description": "the operation's result; records, tuples, bytes and NaN/±inf are tagged "
                    "objects ($record, $tuple, $bytes, $float)"},
    lambda result: {"result": encode_value(result)},
    lambda data: decode_value(data["result"]),
)


def route_pattern(path: str) -> str:
    """The tornado regex of an OpenAPI path template (greedy for artifact names, keys)."""
    import re

    def group(m):
        name = m.group(1)
        return f"(?P<{name}>.+)" if name in GREEDY else f"(?P<{name}>[^/]+)"

    return re.sub(r"{(\w+)}", group, path)

