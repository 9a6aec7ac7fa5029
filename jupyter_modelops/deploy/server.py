"""The model server: ``jupyter modelops serve-model``.

A lean HTTP/1.1 server on asyncio (keep-alive, pipelining, ``Expect: 100-continue``)
that serves one registered model version:

- Open Inference Protocol v2: ``GET /v2/health/live``, ``GET /v2/health/ready``,
  ``GET /v2``, ``GET /v2/models/{name}[/versions/{v}]``, ``.../ready``, and
  ``POST /v2/models/{name}[/versions/{v}]/infer``; errors are ``{"error": "..."}``;
- MLflow's scoring protocol: ``POST /invocations`` (``dataframe_split``,
  ``dataframe_records``, ``instances``, ``inputs`` JSON, or CSV), ``GET /ping``,
  ``/health``, ``/version``;
- ``GET /metrics``: Prometheus text (requests by endpoint and status, a latency
  histogram, rows predicted, reloads, and the prediction log's queue, shipped and
  dropped counters).

Why not Starlette/uvicorn: the server answers one small JSON request in well under a
millisecond; an ASGI stack costs several times that per request (measured with
``benchmarks/bench_serving.py``), so this module speaks HTTP itself and predicts inline
on the event loop (prediction is CPU-bound; threads would only add GIL hand-offs).

Monitoring never slows serving down: a sample of requests (``--sample-rate``) goes into
a bounded in-memory queue; when it is full the entry is dropped and counted
(``modelops_prediction_log_dropped_total``), never waited for. A background thread ships
batches to the store through the ``log_predictions`` operation, with the server's
counters. Two more threads follow the deployment: one reloads the model when the alias
it serves moves (every ``--reload-interval`` seconds, or at once on SIGHUP), one runs the
monitor's checks (``--check-interval``). SIGTERM stops gracefully: the listener closes,
the queue is flushed, the process exits 0.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

from ..errors import InvalidInput, ModelOpsError, NotFound
from .predictor import Predictor, Table, csv_table, mlflow_table, oip_datatype, oip_table

SERVER_ACTOR = "modelops:server"
MAX_BODY = 64 << 20
MAX_HEAD = 64 << 10
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 415: "Unsupported Media Type", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
_STATUS = {code: f"HTTP/1.1 {code} {reason}\r\n".encode() for code, reason in _REASONS.items()}
JSON = b"application/json"
TEXT = b"text/plain; version=0.0.4; charset=utf-8"


@dataclass
class ServeOptions:
    name: str = ""
    version: int | None = None
    alias: str | None = None
    deployment_id: str | None = None
    package: str | None = None        # serve a package folder (container images) instead of the store
    host: str = "127.0.0.1"
    port: int = 8080
    fd: int | None = None             # an inherited listening socket (from the supervisor)
    db_url: str | None = None
    artifact_uri: str | None = None
    trusted: object = False
    sample_rate: float = 0.1
    log_queue: int = 10_000
    log_batch: int = 500
    log_interval: float = 1.0
    reload_interval: float = 2.0
    check_interval: float = 0.0
    fast: bool = True
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- metrics


class Metrics:
    BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = collections.defaultdict(int)
        self.hist = [0] * (len(self.BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0
        self.rows = 0
        self.errors = 0
        self.reloads = 0
        self.reload_failures = 0
        self.started = time.time()

    def observe(self, endpoint: str, code: int, seconds: float, rows: int) -> None:
        self.requests[(endpoint, code)] += 1
        self.hist[bisect.bisect_left(self.BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1
        self.rows += rows
        if code >= 400:
            self.errors += 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def render(self, log: "PredictionLog", predictor: Predictor | None) -> bytes:
        out = ["# HELP modelops_requests_total Requests answered, by endpoint and HTTP status.",
               "# TYPE modelops_requests_total counter"]
        for (endpoint, code), n in sorted(self.requests.items()):
            out.append(f'modelops_requests_total{{endpoint="{endpoint}",code="{code}"}} {n}')
        out += ["# HELP modelops_request_duration_seconds Time to answer a scoring request.",
                "# TYPE modelops_request_duration_seconds histogram"]
        acc = 0
        for le, n in zip(self.BUCKETS, self.hist):
            acc += n
            out.append(f'modelops_request_duration_seconds_bucket{{le="{le}"}} {acc}')
        out.append(f'modelops_request_duration_seconds_bucket{{le="+Inf"}} {self.count}')
        out.append(f"modelops_request_duration_seconds_sum {self.sum:.6f}")
        out.append(f"modelops_request_duration_seconds_count {self.count}")
        out += ["# HELP modelops_rows_predicted_total Input rows predicted.",
                "# TYPE modelops_rows_predicted_total counter", f"modelops_rows_predicted_total {self.rows}",
                "# HELP modelops_prediction_log_dropped_total Sampled predictions dropped because the "
                "log queue was full (never blocks serving).",
                "# TYPE modelops_prediction_log_dropped_total counter",
                f"modelops_prediction_log_dropped_total {log.dropped}",
                "# HELP modelops_prediction_log_queued_total Sampled predictions queued for the store.",
                "# TYPE modelops_prediction_log_queued_total counter",
                f"modelops_prediction_log_queued_total {log.queued}",
                "# HELP modelops_prediction_log_shipped_total Predictions written to the store.",
                "# TYPE modelops_prediction_log_shipped_total counter",
                f"modelops_prediction_log_shipped_total {log.shipped}",
                "# HELP modelops_prediction_log_failed_total Predictions lost to failed store writes.",
                "# TYPE modelops_prediction_log_failed_total counter",
                f"modelops_prediction_log_failed_total {log.failed}",
                "# HELP modelops_prediction_log_queue_size Predictions waiting in the queue.",
                "# TYPE modelops_prediction_log_queue_size gauge",
                f"modelops_prediction_log_queue_size {len(log.queue)}",
                "# HELP modelops_prediction_log_queue_capacity Size of the queue.",
                "# TYPE modelops_prediction_log_queue_capacity gauge",
                f"modelops_prediction_log_queue_capacity {log.capacity}",
                "# HELP modelops_model_reloads_total Times the served version changed.",
                "# TYPE modelops_model_reloads_total counter", f"modelops_model_reloads_total {self.reloads}",
                "# HELP modelops_model_reload_failures_total Reloads refused or failed.",
                "# TYPE modelops_model_reload_failures_total counter",
                f"modelops_model_reload_failures_total {self.reload_failures}"]
        if predictor is not None:
            name = predictor.name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            out += ["# HELP modelops_model_info The version being served.", "# TYPE modelops_model_info gauge",
                    f'modelops_model_info{{name="{name}",version="{predictor.version}",'
                    f'flavor="{predictor.flavor}"}} 1']
        out += ["# HELP modelops_uptime_seconds Seconds since the server started.",
                "# TYPE modelops_uptime_seconds gauge", f"modelops_uptime_seconds {time.time() - self.started:.3f}"]
        return ("\n".join(out) + "\n").encode()


# --------------------------------------------------------------------------- prediction log


class PredictionLog:
    """A bounded queue of sampled predictions that never blocks the caller.

    ``offer`` is called on the serving path: it appends or, when ``capacity`` entries wait
    already, counts a drop and returns at once. ``drain`` (the shipping thread) takes
    batches off the other end."""

    def __init__(self, capacity: int = 10_000, sample_rate: float = 1.0) -> None:
        self.capacity = max(1, int(capacity))
        self.sample_rate = float(sample_rate)
        self.queue: collections.deque = collections.deque()
        self.queued = 0
        self.dropped = 0
        self.shipped = 0
        self.failed = 0
        self.ready = threading.Event()
        self.batch = 500

    def sampled(self) -> bool:
        rate = self.sample_rate
        return rate >= 1.0 or (rate > 0.0 and random.random() < rate)

    def offer(self, entry) -> bool:
        if len(self.queue) >= self.capacity:
            self.dropped += 1
            return False
        self.queue.append(entry)
        self.queued += 1
        if len(self.queue) >= self.batch:
            self.ready.set()
        return True

    def drain(self, limit: int) -> list:
        """Entries from the front of the queue, up to ``limit`` logged rows (at least one entry)."""
        out = []
        q = self.queue
        rows = 0
        while q and rows < limit:
            entry = q.popleft()
            out.append(entry)
            rows += len(entry[4]) if entry[4] is not None else 1
        return out


def _log_rows(entries: list) -> list[list]:
    """Queue entries -> rows of ``log_predictions``: [id, at, version, features, prediction,
    latency_ms, status]; a request of several rows gives ids ``<request id>:<row>``."""
    rows = []
    for rid, at, version, columns, values, preds, latency, status in entries:
        if values is None:
            rows.append([rid, at, version, None, preds, latency, status])
            continue
        single = len(values) == 1
        for i, row in enumerate(values):
            feats = dict(zip(columns, row)) if columns is not None else {str(j): v for j, v in enumerate(row)}
            pred = preds[i] if isinstance(preds, list) and i < len(preds) else preds
            rows.append([rid if single else f"{rid}:{i}", at, version, feats, pred, latency, status])
    return rows


# --------------------------------------------------------------------------- the application


class ModelServer:
    """Routing and answers; one instance per process, shared by every connection."""

    def __init__(self, predictor: Predictor | None, options: ServeOptions, log: PredictionLog,
                 metrics: Metrics) -> None:
        self.predictor = predictor
        self.options = options
        self.log = log
        self.metrics = metrics
        self.ready = predictor is not None
        self.on_reload = None  # set by the worker: called on SIGHUP

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _json(status: int, obj) -> tuple[int, bytes, bytes]:
        try:
            body = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            from ..server.api import sanitize

            body = json.dumps(sanitize(obj), separators=(",", ":")).encode()
        return status, JSON, body

    def _error(self, status: int, message: str, mlflow: bool = False):
        body = {"error": message}
        if mlflow:
            body.update(error_code="BAD_REQUEST" if status == 400 else "NOT_FOUND" if status == 404
                        else "INTERNAL_ERROR", message=message)
        return self._json(status, body)

    def _model(self, name: str, version: str | None):
        p = self.predictor
        if p is None:
            raise _Unavailable("the model is still loading")
        if name != p.name:
            raise NotFound(f"model {name!r} is not served here (this server serves {p.name!r})")
        if version is not None and version != str(p.version):
            raise NotFound(f"{p.name} version {version} is not served here (serving version {p.version})")
        return p

    # ------------------------------------------------------------------ dispatch
    def handle(self, method: str, target: str, headers: dict, body: bytes):
        """(status, content type, body bytes, extra header bytes) for one request."""
        path, _, _query = target.partition("?")
        if path == "/invocations" or path.endswith("/infer"):
            if method != "POST":
                return (*self._error(405, f"{path} takes POST"), b"")
            return self._score(path, headers, body)
        if method not in ("GET", "HEAD"):
            return (*self._error(405, f"{path} takes GET"), b"")
        try:
            return (*self._get(path), b"")
        except NotFound as exc:
            return (*self._error(404, exc.message), b"")
        except _Unavailable as exc:
            return (*self._error(503, str(exc)), b"")

    def _get(self, path: str):
        if path == "/v2/health/live":
            return self._json(200, {"live": True})
        if path in ("/ping", "/health"):
            if not self.ready:
                raise _Unavailable("the model is still loading")
            return 200, JSON, b"{}"
        if path == "/v2/health/ready":
            if not self.ready:
                return self._json(503, {"ready": False})
            return self._json(200, {"ready": True})
        if path == "/metrics":
            return 200, TEXT, self.metrics.render(self.log, self.predictor)
        if path == "/v2":
            from .._version import __version__

            return self._json(200, {"name": "jupyter-modelops", "version": __version__,
                                    "extensions": ["metrics", "invocations"]})
        if path == "/version":
            from .._version import __version__

            return 200, b"text/plain", __version__.encode()
        if path.startswith("/v2/models/"):
            parts = [unquote(p) for p in path[len("/v2/models/"):].split("/")]
            ready = parts[-1] == "ready"
            if ready:
                parts = parts[:-1]
            if len(parts) == 1:
                name, version = parts[0], None
            elif len(parts) == 3 and parts[1] == "versions":
                name, version = parts[0], parts[2]
            else:
                raise NotFound(f"no route {path}")
            p = self._model(name, version)
            if ready:
                return self._json(200, {"name": p.name, "ready": True})
            return self._json(200, p.metadata())
        raise NotFound(f"no route {path}")

    def _score(self, path: str, headers: dict, body: bytes):
        started = time.perf_counter()
        mlflow = path == "/invocations"
        endpoint = "invocations" if mlflow else "infer"
        rid = headers.get("x-request-id") or None
        table = None
        p = self.predictor
        try:
            if p is None:
                raise _Unavailable("the model is still loading")
            if mlflow:
                ctype = headers.get("content-type", "application/json")
                if ctype.startswith("text/csv"):
                    table = csv_table(body)
                elif "json" in ctype or not ctype:
                    table = mlflow_table(_loads(body))
                else:
                    raise _Unsupported(f"Content-Type {ctype!r} is not supported: send application/json "
                                       "or text/csv")
            else:
                parts = [unquote(x) for x in path[len("/v2/models/"):-len("/infer")].split("/")]
                if len(parts) == 1:
                    name, version = parts[0], None
                elif len(parts) == 3 and parts[1] == "versions":
                    name, version = parts[0], parts[2]
                else:
                    raise NotFound(f"no route {path}")
                p = self._model(name, version)
                table, body_id = oip_table(_loads(body), p.columns)
                rid = body_id or rid
            preds, raw = p.predict(table)
            rid = rid or uuid.uuid4().hex
            if mlflow:
                status, ctype, out = self._json(200, {"predictions": preds})
            else:
                shape = list(getattr(raw, "shape", None) or [len(preds)])
                data = preds if len(shape) == 1 else _flat(preds)
                status, ctype, out = self._json(200, {
                    "model_name": p.name, "model_version": str(p.version), "id": rid,
                    "outputs": [{"name": "predict", "shape": shape, "datatype": oip_datatype(raw), "data": data}]})
        except (InvalidInput, NotFound, _Unavailable, _Unsupported) as exc:
            code = (400 if isinstance(exc, InvalidInput) else 404 if isinstance(exc, NotFound)
                    else 415 if isinstance(exc, _Unsupported) else 503)
            message = exc.message if isinstance(exc, ModelOpsError) else str(exc)
            status, ctype, out = self._error(code, message, mlflow)
            preds = {"error": message}
            table = None
        except Exception as exc:  # noqa: BLE001 - a model's own failure is a 500 with its one line
            from ..registry.flavors import one_line

            print(f"modelops serve-model: prediction failed: {one_line(exc)}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            status, ctype, out = self._error(500, f"the model failed to predict: {one_line(exc)}", mlflow)
            preds = {"error": one_line(exc)}
            table = None
        elapsed = time.perf_counter() - started
        rows = len(table.rows) if table is not None else 0
        self.metrics.observe(endpoint, status, elapsed, rows)
        log = self.log
        if log.sampled():
            rid = rid or uuid.uuid4().hex
            log.offer((rid, int(time.time() * 1000), p.version if p is not None else 0,
                       (table.columns or (p.columns if p is not None else None)) if table is not None else None,
                       table.rows if table is not None else None, preds, elapsed * 1000.0, status))
        extra = b"X-Request-ID: " + rid.encode("latin-1", "replace") + b"\r\n" if rid else b""
        return status, ctype, out, extra


class _Unavailable(Exception):
    pass


class _Unsupported(Exception):
    pass


def _loads(body: bytes):
    if not body:
        raise InvalidInput("the request has no body")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON ({exc})") from None


def _flat(values) -> list:
    out = []
    for v in values:
        if isinstance(v, list):
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


# --------------------------------------------------------------------------- HTTP


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; requests are answered in order, inline."""

    __slots__ = ("app", "transport", "buf", "continued")

    def __init__(self, app: ModelServer) -> None:
        self.app = app
        self.transport = None
        self.buf = bytearray()
        self.continued = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while buf:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail(431, "request headers are too large")
                return
            head = bytes(buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._fail(400, "malformed request line")
                return
            headers = {}
            for line in lines[1:]:
                k, sep, v = line.partition(":")
                if sep:
                    headers[k.strip().lower()] = v.strip()
            start = end + 4
            if "chunked" in headers.get("transfer-encoding", "").lower():
                parsed = _dechunk(buf, start)
                if parsed is None:
                    self._maybe_continue(headers)
                    return
                if parsed is False:
                    self._fail(400, "malformed chunked body")
                    return
                body, consumed = parsed
            else:
                try:
                    length = int(headers.get("content-length", "0") or 0)
                except ValueError:
                    self._fail(400, "malformed Content-Length")
                    return
                if length < 0 or length > MAX_BODY:
                    self._fail(413, f"the body is larger than {MAX_BODY >> 20} MiB")
                    return
                if len(buf) - start < length:
                    self._maybe_continue(headers)
                    return
                body = bytes(buf[start:start + length])
                consumed = start + length
            del buf[:consumed]
            self.continued = False
            conn = headers.get("connection", "").lower()
            keep = ("close" not in conn) if version == "HTTP/1.1" else ("keep-alive" in conn)
            try:
                status, ctype, out, extra = self.app.handle(method, target, headers, body)
            except Exception:  # noqa: BLE001 - never leave a connection hanging
                traceback.print_exc(file=sys.stderr)
                status, ctype, out, extra = 500, JSON, b'{"error":"internal server error"}', b""
            if method == "HEAD":
                out_body = b""
            else:
                out_body = out
            self.transport.write(b"".join((
                _STATUS.get(status) or f"HTTP/1.1 {status} Error\r\n".encode(),
                b"Content-Type: ", ctype, b"\r\nContent-Length: ", str(len(out)).encode(), b"\r\n",
                extra, b"" if keep else b"Connection: close\r\n", b"\r\n", out_body)))
            if not keep:
                self.transport.close()
                return

    def _maybe_continue(self, headers: dict) -> None:
        if not self.continued and headers.get("expect", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.continued = True

    def _fail(self, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.transport.write(_STATUS[status] + b"Content-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        self.transport.close()
        self.buf.clear()

    def connection_lost(self, exc) -> None:
        self.transport = None


def _dechunk(buf: bytearray, start: int):
    """(body, end offset) of a complete chunked body; None if incomplete; False if malformed."""
    pos = start
    parts = []
    total = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(bytes(buf[pos:eol]).split(b";")[0].strip(), 16)
        except ValueError:
            return False
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                return None
            return b"".join(parts), end + 4
        total += size
        if total > MAX_BODY:
            return False
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos:pos + size]))
        pos += size + 2


# --------------------------------------------------------------------------- loading


class StoreCaller:
    """What the registry's loader needs (``_call``), answered by the services in-process."""

    def __init__(self, store) -> None:
        self.store = store

    def _call(self, op: str, /, **kwargs):
        from .. import services

        return services.call(self.store, op, **kwargs)


def load_from_store(store, name: str, version: int | None, alias: str | None, trusted=False):
    from ..registry.api import load_model

    return load_model(StoreCaller(store), name, version=version, alias=alias, trusted=trusted)


def load_from_package(folder: str, trusted=False, name: str | None = None):
    """A ``LoadedModel`` from a package folder (``manifest.json`` + files + ``modelops.json``)."""
    from pathlib import Path
    from types import SimpleNamespace

    from ..registry.api import LoadedModel
    from ..registry.flavors import get_flavor

    root = Path(folder)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{folder} holds no readable model package manifest.json ({exc})") from None
    about = {}
    if (root / "modelops.json").exists():
        about = json.loads((root / "modelops.json").read_text())
    mod = get_flavor(manifest["flavor"])
    raw = mod.load(root / "files", manifest.get("flavor_info") or {},
                   trusted=trusted if trusted is not False else about.get("trusted_types", False))
    meta = SimpleNamespace(name=name or about.get("name") or "model", version=about.get("version") or 1,
                           signature=manifest.get("signature"))
    return LoadedModel(raw, meta, manifest)


# --------------------------------------------------------------------------- the worker process


class Worker:
    """One serving process: the event loop plus the shipping, reload and check threads."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.store = None
        self.metrics = Metrics()
        self.log = PredictionLog(options.log_queue, options.sample_rate if options.deployment_id else 0.0)
        self.log.batch = max(1, int(options.log_batch))
        self.app = ModelServer(None, options, self.log, self.metrics)
        self.stopping = threading.Event()
        self.wake_reload = threading.Event()
        self.threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ model
    def load_initial(self) -> None:
        o = self.options
        if o.package:
            loaded = load_from_package(o.package, o.trusted, o.name or None)
        else:
            from ..store.store import Store

            self.store = Store(o.db_url, o.artifact_uri, user=SERVER_ACTOR, migrate=False)
            loaded = load_from_store(self.store, o.name, o.version, o.alias, o.trusted)
        self.app.predictor = Predictor(loaded, fast=o.fast)
        self.app.ready = True
        if self.store is not None and o.deployment_id:
            from . import service

            service.record_served(self.store, o.deployment_id, loaded.metadata.id, fast=self.app.predictor.fast)

    def reload_if_moved(self) -> None:
        """Serve the version the alias points at now (if it may be deployed)."""
        o = self.options
        if self.store is None or not o.alias:
            return
        from .. import services
        from . import service

        current = self.app.predictor
        try:
            mv = services.call(self.store, "get_version", name=o.name, alias=o.alias)
        except ModelOpsError as exc:
            print(f"modelops serve-model: cannot read alias {o.alias!r}: {exc.message}", file=sys.stderr)
            return
        if current is not None and mv.version == current.version:
            return
        try:
            from ..governance.lifecycle import require_deployable

            require_deployable(self.store, o.name, mv.version, target="local")
            loaded = load_from_store(self.store, o.name, mv.version, None, o.trusted)
            predictor = Predictor(loaded, fast=o.fast)
        except ModelOpsError as exc:
            self.metrics.reload_failures += 1
            print(f"modelops serve-model: not reloading {o.name} v{mv.version}: {exc.message}", file=sys.stderr)
            if o.deployment_id:
                service.record_reload_refused(self.store, o.deployment_id, mv.version, exc.message)
            return
        self.app.predictor = predictor  # one assignment: requests see the old or the new model
        self.metrics.reloads += 1
        if o.deployment_id:
            service.record_reload(self.store, o.deployment_id, current.version if current else None,
                                  loaded.metadata.id, mv.version)
        print(f"modelops serve-model: now serving {o.name} v{mv.version} (@{o.alias})", file=sys.stderr)

    # ------------------------------------------------------------------ threads
    def _ship(self, final: bool = False) -> None:
        from .. import services

        log = self.log
        while log.queue:
            batch = log.drain(max(log.batch, 1))
            if not batch:
                return
            try:
                log.shipped += len(batch)
                services.call(self.store, "log_predictions", deployment_id=self.options.deployment_id,
                              rows=_log_rows(batch), stats=self.stats())
            except Exception as exc:  # noqa: BLE001 - a store hiccup loses a batch, never serving
                log.shipped -= len(batch)
                log.failed += len(batch)
                msg = exc.message if isinstance(exc, ModelOpsError) else repr(exc)
                print(f"modelops serve-model: could not log {len(batch)} predictions: {msg}", file=sys.stderr)
            if not final and not log.ready.is_set() and len(log.queue) < log.batch:
                return

    def stats(self) -> dict:
        m, log = self.metrics, self.log
        p = self.app.predictor
        return {"requests": m.total, "errors": m.errors, "rows": m.rows, "dropped": log.dropped,
                "queued": log.queued, "shipped": log.shipped, "failed": log.failed, "reloads": m.reloads,
                "version": p.version if p else None, "fast_path": bool(p and p.fast), "pid": os.getpid(),
                "at": int(time.time() * 1000)}

    def _shipper(self) -> None:
        interval = max(0.05, float(self.options.log_interval))
        last_stats = 0.0
        while not self.stopping.is_set():
            self.log.ready.wait(interval)
            self.log.ready.clear()
            if self.stopping.is_set():
                break
            if self.log.queue:
                self._ship()
                last_stats = time.monotonic()
            elif time.monotonic() - last_stats > 5 * interval and self.options.deployment_id:
                from . import service

                try:
                    service.record_stats(self.store, self.options.deployment_id, self.stats())
                except Exception:  # noqa: BLE001
                    pass
                last_stats = time.monotonic()

    def _reloader(self) -> None:
        interval = max(0.1, float(self.options.reload_interval))
        while not self.stopping.is_set():
            self.wake_reload.wait(interval)
            self.wake_reload.clear()
            if self.stopping.is_set():
                break
            try:
                self.reload_if_moved()
            except Exception:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)

    def _checker(self) -> None:
        from .. import services

        interval = float(self.options.check_interval)
        while not self.stopping.wait(interval):
            try:
                services.call(self.store, "check_monitor", deployment_id=self.options.deployment_id)
            except ModelOpsError as exc:
                print(f"modelops serve-model: monitor check: {exc.message}", file=sys.stderr)
            except Exception:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)

    def start_threads(self) -> None:
        o = self.options
        targets = []
        if self.store is not None and o.deployment_id:
            targets.append(("prediction-log", self._shipper))
            if o.check_interval and o.check_interval > 0:
                targets.append(("monitor-check", self._checker))
        if self.store is not None and o.alias:
            targets.append(("reload", self._reloader))
        for name, fn in targets:
            t = threading.Thread(target=fn, name=f"modelops-{name}", daemon=True)
            t.start()
            self.threads.append(t)

    # ------------------------------------------------------------------ run
    def listening_socket(self) -> socket.socket:
        o = self.options
        if o.fd is not None:
            sock = socket.socket(fileno=o.fd)
            sock.setblocking(False)
            return sock
        family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((o.host, o.port))
        sock.listen(1024)
        sock.setblocking(False)
        return sock

    def run(self) -> int:
        import warnings

        warnings.filterwarnings("ignore", message=".*does not have valid feature names.*")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        sock = self.listening_socket()
        try:
            self.load_initial()
        except ModelOpsError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        server = loop.run_until_complete(loop.create_server(lambda: HttpProtocol(self.app), sock=sock,
                                                            backlog=1024))
        stop = loop.create_future()

        def on_term():
            if not stop.done():
                stop.set_result(None)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_term)
        loop.add_signal_handler(signal.SIGHUP, self.wake_reload.set)
        self.start_threads()
        port = sock.getsockname()[1]
        p = self.app.predictor
        print(f"modelops serve-model: serving {p.name} v{p.version} ({p.flavor}"
              f"{', fast path' if p.fast else ''}) on http://{self.options.host}:{port}", file=sys.stderr,
              flush=True)
        try:
            loop.run_until_complete(stop)
        finally:
            server.close()
            self.stopping.set()
            self.log.ready.set()
            self.wake_reload.set()
            for t in self.threads:
                t.join(timeout=5)
            if self.store is not None and self.options.deployment_id:
                try:
                    self._ship(final=True)
                    from . import service

                    service.record_stats(self.store, self.options.deployment_id, self.stats())
                except Exception:  # noqa: BLE001
                    pass
            if self.store is not None:
                self.store.close()
            loop.close()
        print("modelops serve-model: stopped", file=sys.stderr, flush=True)
        return 0


def serve(options: ServeOptions) -> int:
    """Run a worker in this process until SIGTERM (the ``serve-model`` command)."""
    if options.fd is not None:
        from ..server.forkserver import die_with_parent

        die_with_parent()
    return Worker(options).run()
