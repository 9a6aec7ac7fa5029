"""``Client``: the one public Python API, over a local store or a remote server.

Every front end (the ``mo.*`` functions, magics, widgets, CLI) goes through a Client; the
Client goes through a transport's ``call(op, **kwargs)``, so the in-process and HTTP
paths share everything but the wire. Metric points are buffered here, before the
transport, so both paths batch the same way (see ``tracking/buffer.py`` for the
durability contract).
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import Conflict, InvalidInput
from .deploy.client_api import DeployClientMixin
from .governance.client_api import GovernanceClientMixin
from .monitor.client_api import MonitorClientMixin
from .pipeline.client_api import PipelineClientMixin
from .tracking.buffer import MetricBuffer
from .tracking.records import FAILED, FINISHED, KILLED, RUNNING, Artifact, Dataset, Experiment, Metric, Run
from .tracking.validation import check_key, check_metric_value, check_step


class RunPage(list):
    """A page of runs; ``next_page_token`` is None on the last page."""

    def __init__(self, runs: Iterable[Run], next_page_token: str | None) -> None:
        super().__init__(runs)
        self.next_page_token = next_page_token

    def to_frame(self):
        """One row per run: attributes, then ``params.*`` and ``metrics.*`` columns."""
        import pandas as pd

        rows = []
        for r in self:
            row = {"run_id": r.id, "name": r.name, "status": r.status, "user": r.user,
                   "start_time": pd.to_datetime(r.start_time, unit="ms", utc=True),
                   "duration_s": r.duration}
            row.update({f"params.{k}": v for k, v in r.params.items()})
            row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self):
        return self.to_frame()._repr_html_() if self else "<p>No runs.</p>"


class Client(GovernanceClientMixin, DeployClientMixin, MonitorClientMixin, PipelineClientMixin):
    """Access to one store (``Client()``, ``Client(home=...)``, ``Client(db_url=...)``) or
    one server (``Client(url="http://host:8888", token=...)``)."""

    def __init__(self, *, home: str | None = None, db_url: str | None = None,
                 artifact_uri: str | None = None, user: str | None = None,
                 url: str | None = None, token: str | None = None, transport=None,
                 flush_interval: float | None = None) -> None:
        from .config import load_config

        self.config = load_config(home=home, db_url=db_url, artifact_uri=artifact_uri, user=user,
                                  flush_interval=flush_interval)
        if transport is None:
            if url:
                from .http_transport import HttpTransport

                transport = HttpTransport(url, token=token)
            else:
                from .store.store import Store
                from .transport import LocalTransport

                transport = LocalTransport(Store.open(self.config))
        self.transport = transport
        self._buffer = MetricBuffer(self._write_points, flush_interval=self.config.flush_interval)
        self._steps: dict[tuple[str, str], int] = {}
        self._running: set[str] = set()

    # ------------------------------------------------------------------ plumbing
    def _call(self, op: str, /, **kwargs):
        return self.transport.call(op, **kwargs)

    def _write_points(self, points: Sequence[tuple]) -> int:
        return self._call("log_metric_points", points=points)

    def flush(self) -> None:
        """Make every metric logged so far durable (re-raises a failed background write)."""
        self._buffer.flush()

    def close(self) -> None:
        self._buffer.close()
        self.transport.close()

    def __repr__(self) -> str:
        return f"<Client {self.transport.describe()} user={self.user!r}>"

    @property
    def user(self) -> str:
        return getattr(self.transport, "user", None) or self.config.user

    @property
    def store(self):
        """The underlying ``Store`` for the local transport (None over HTTP)."""
        return getattr(self.transport, "store", None)

    # ------------------------------------------------------------------ experiments
    def create_experiment(self, name: str, description: str = "", tags: dict | None = None) -> Experiment:
        return self._call("create_experiment", name=name, description=description, tags=tags)

    def get_experiment(self, name_or_id: str) -> Experiment:
        return self._call("get_experiment", ref=name_or_id)

    def list_experiments(self) -> list[Experiment]:
        return self._call("list_experiments")

    # ------------------------------------------------------------------ runs
    def create_run(self, experiment: str | None = None, name: str | None = None, *,
                   parent_run_id: str | None = None, tags: dict | None = None,
                   source: str | None = None, code_hash: str | None = None,
                   provenance: dict | None = None) -> Run:
        """Start a RUNNING run with provenance captured from this process."""
        from .tracking import provenance as prov

        if source is None:
            source, detected_hash = prov.current_source()
            code_hash = code_hash or detected_hash
        info = prov.capture(source)
        info.update(provenance or {})
        run = self._call(
            "create_run", experiment=experiment, name=name, parent_run_id=parent_run_id,
            tags=tags, source=source or "", code_hash=code_hash or "", provenance=info,
            user=self.user, host=info["host"], pid=os.getpid(),
        )
        self._running.add(run.id)
        return run

    def start_run(self, experiment: str | None = None, name: str | None = None, *,
                  parent_run_id: str | None = None, tags: dict | None = None,
                  run_id: str | None = None, **kw) -> "ActiveRun":
        """A run as a context manager: FINISHED on success, FAILED (with the error) on raise.

        ``run_id`` re-enters a run that is still RUNNING (e.g. from another cell)."""
        if run_id:
            run = self.get_run(run_id)
            if run.status != RUNNING:
                raise Conflict(f"run {run.id[:8]} is {run.status}; finished runs are immutable")
            self._running.add(run.id)
        else:
            run = self.create_run(experiment, name, parent_run_id=parent_run_id, tags=tags, **kw)
        return ActiveRun(self, run)

    def get_run(self, run_id: str) -> Run:
        self._flush_quietly()
        return self._call("get_run", run_id=self.resolve_run_id(run_id))

    def resolve_run_id(self, ref: str) -> str:
        """Full id from an id or a unique prefix (≥ 6 hex digits)."""
        if isinstance(ref, Run):
            return ref.id
        if isinstance(ref, str) and len(ref) == 32 and ref in self._running:
            return ref
        if isinstance(ref, str) and len(ref.replace("-", "")) == 32:
            from .ids import normalize_id

            return normalize_id(ref, "run id")  # a full id needs no round trip
        return self._call("resolve_run_id", ref=ref)

    def end_run(self, run_id: str, status: str = FINISHED, *, error: BaseException | None = None,
                error_type: str | None = None, error_message: str | None = None) -> Run:
        """End a run after making its buffered metrics durable."""
        run_id = self.resolve_run_id(run_id)
        try:
            self._buffer.flush()
        except Exception as exc:  # the run still ends; the caller learns what was lost
            status, error = FAILED, error or exc
        if error is not None:
            if status != KILLED:  # an interrupted run stays KILLED, with its error recorded
                status = FAILED
            error_type = error_type or type(error).__name__
            error_message = error_message or str(error)
        self._running.discard(run_id)
        return self._call("end_run", run_id=run_id, status=status, error_type=error_type,
                          error_message=error_message)

    def child_runs(self, run_id: str) -> list[Run]:
        return self._call("child_runs", run_id=self.resolve_run_id(run_id))

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_params(run_id, {key: value})

    def log_params(self, run_id: str, params: dict) -> None:
        """Params are immutable: a different value for a logged key raises ``Conflict``."""
        self._call("log_params", run_id=self.resolve_run_id(run_id), params=params)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: dict) -> None:
        self._call("set_tags", run_id=self.resolve_run_id(run_id), tags=tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("delete_tag", run_id=self.resolve_run_id(run_id), key=key)

    # ------------------------------------------------------------------ metrics
    def log_metric(self, run_id: str, key: str, value: float, step: int | None = None,
                   timestamp: int | None = None) -> None:
        """Buffer one point. ``step`` defaults to the next step of that metric in this
        run (0, 1, 2, ...); ``timestamp`` to now (ms). NaN and ±inf are kept."""
        if run_id not in self._running:
            run_id = self._check_running(run_id)
        key = check_key(key, "metric key")
        if type(value) is not float:
            value = check_metric_value(key, value)
        sk = (run_id, key)
        if step is None:
            step = self._steps.get(sk, 0)
        elif type(step) is not int:
            step = check_step(step)
        self._steps[sk] = step + 1
        self._buffer.append(
            (run_id, key, step, time.time_ns() // 1_000_000 if timestamp is None else timestamp, value)
        )

    def log_metrics(self, run_id: str, metrics: dict, step: int | None = None,
                    timestamp: int | None = None) -> None:
        if not isinstance(metrics, dict):
            raise InvalidInput(f"metrics must be a mapping, not {type(metrics).__name__}")
        for key, value in metrics.items():
            self.log_metric(run_id, key, value, step, timestamp)

    def log_batch(self, run_id: str, metrics: Sequence[tuple] = (), params: dict | None = None,
                  tags: dict | None = None) -> None:
        """Many points at once: ``metrics`` holds ``(key, value, step[, timestamp])`` tuples."""
        run_id = self._check_running(run_id) if run_id not in self._running else run_id
        if params:
            self.log_params(run_id, params)
        if tags:
            self.set_tags(run_id, tags)
        now = time.time_ns() // 1_000_000
        points = []
        for item in metrics:
            if not isinstance(item, (tuple, list)) or len(item) not in (3, 4):
                raise InvalidInput("log_batch metrics are (key, value, step[, timestamp]) tuples")
            key = check_key(item[0], "metric key")
            points.append((run_id, key, check_step(item[2]),
                           check_step(item[3]) if len(item) == 4 else now,
                           check_metric_value(key, item[1])))
        self._buffer.extend(points)

    def _check_running(self, run_id: str) -> str:
        rid = self.resolve_run_id(run_id)
        run = self._call("get_run", run_id=rid, with_data=False)
        if run.status != RUNNING:
            raise Conflict(f"run {rid[:8]} is {run.status}; metrics go only to running runs")
        self._running.add(rid)
        return rid

    def _flush_quietly(self) -> None:
        if self._buffer.pending:
            # A failure stays recorded and is raised by the next explicit flush()/end_run().
            self._buffer.flush(raise_errors=False)

    def get_metric_history(self, run_id: str, key: str, max_points: int | None = None) -> list[Metric]:
        self._flush_quietly()
        return self._call("metric_history", run_id=self.resolve_run_id(run_id), key=key,
                          max_points=max_points)

    # ------------------------------------------------------------------ artifacts
    def log_bytes(self, run_id: str, data: bytes, name: str, media_type: str | None = None) -> Artifact:
        return self._call("put_artifact", run_id=self.resolve_run_id(run_id), name=name,
                          data=data, media_type=media_type)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike,
                     artifact_path: str | None = None) -> list[Artifact]:
        """Log a file, or every file under a folder, keeping relative names."""
        from .errors import NotFound
        from .store.artifacts import validate_name

        path = Path(local_path)
        if not path.exists():
            raise NotFound(f"no such file or folder: {path}")
        run_id = self.resolve_run_id(run_id)
        prefix = validate_name(artifact_path) if artifact_path else None
        if path.is_file():
            name = prefix if prefix and not prefix.endswith("/") else path.name
            if prefix and artifact_path.endswith("/"):
                name = f"{prefix}/{path.name}"
            return [self.log_bytes(run_id, path.read_bytes(), name)]
        from .tracking.artifacts import folder_files

        files = folder_files(path, prefix or path.name)  # every name checked before any upload
        return [self.log_bytes(run_id, file.read_bytes(), name) for file, name in files]

    def log_text(self, run_id: str, text: str, name: str) -> Artifact:
        if not isinstance(text, str):
            raise InvalidInput(f"log_text takes a str, not {type(text).__name__}")
        return self.log_bytes(run_id, text.encode(), name, "text/plain; charset=utf-8")

    def log_dict(self, run_id: str, data: dict | list, name: str) -> Artifact:
        """JSON, or YAML when ``name`` ends in .yaml/.yml."""
        if name.endswith((".yaml", ".yml")):
            import yaml

            try:
                text = yaml.safe_dump(data, sort_keys=False)
            except yaml.YAMLError:  # numpy values and the like: go through JSON types
                try:
                    plain = json.loads(json.dumps(data, default=_json_default, allow_nan=True))
                    text = yaml.safe_dump(plain, sort_keys=False)
                except (TypeError, ValueError, yaml.YAMLError) as exc:
                    raise InvalidInput(f"log_dict: {exc}") from None
            return self.log_bytes(run_id, text.encode(), name, "application/yaml")
        try:
            text = json.dumps(data, indent=2, default=_json_default, allow_nan=True)
        except TypeError as exc:
            raise InvalidInput(f"log_dict: {exc}") from None
        return self.log_bytes(run_id, text.encode(), name, "application/json")

    def log_figure(self, run_id: str, figure, name: str) -> Artifact:
        """A matplotlib figure (PNG/SVG/PDF by extension) or a plotly figure (HTML)."""
        if hasattr(figure, "savefig"):
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else "png"
            if ext not in ("png", "svg", "pdf", "jpg", "jpeg"):
                raise InvalidInput(f"figure name {name!r} must end in .png, .svg, .pdf or .jpg")
            if "." not in name:
                name += ".png"
            buf = io.BytesIO()
            figure.savefig(buf, format=ext, bbox_inches="tight")
            return self.log_bytes(run_id, buf.getvalue(), name)
        if hasattr(figure, "to_html"):
            return self.log_bytes(run_id, figure.to_html(include_plotlyjs="cdn").encode(), name, "text/html")
        raise InvalidInput(f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}")

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[Artifact]:
        return self._call("list_artifacts", run_id=self.resolve_run_id(run_id), prefix=prefix)

    def read_artifact(self, run_id: str, name: str) -> bytes:
        """Bytes of an artifact, verified against their sha256 (``IntegrityFailure`` if not)."""
        return self._call("read_artifact", run_id=self.resolve_run_id(run_id), name=name)

    def download_artifacts(self, run_id: str, dest: str | os.PathLike, prefix: str = "") -> Path:
        from .store.artifacts import validate_name

        dest = Path(dest)
        for art in self.list_artifacts(run_id, prefix):
            # Names come from a server: never let one write outside ``dest``.
            target = dest / validate_name(art.path)
            if dest.resolve() not in target.resolve().parents:
                raise InvalidInput(f"artifact {art.path!r} would be written outside {dest} (a symbolic link?)")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read_artifact(run_id, art.path))
        return dest

    # ------------------------------------------------------------------ datasets
    def log_input(self, run_id: str, data, name: str, context: str = "training",
                  source: str = "") -> Dataset:
        """Record a dataset the run used: digest, schema, row count and a small profile."""
        from .tracking.datasets import describe

        info = describe(data)
        return self._call("log_dataset", run_id=self.resolve_run_id(run_id), name=name,
                          context=context, source=source, **info)

    def list_inputs(self, run_id: str) -> list[Dataset]:
        return self._call("list_datasets", run_id=self.resolve_run_id(run_id))

    # ------------------------------------------------------------------ search
    def search_runs(self, filter: str | None = None, *, experiment: str | Sequence[str] | None = None,
                    order_by: Sequence[str] | None = None, limit: int = 100,
                    page_token: str | None = None) -> RunPage:
        """Runs matching ``filter`` (e.g. ``"metrics.accuracy > 0.9 and params.C = '1.0'"``)."""
        self._flush_quietly()
        exp_ids = self._experiment_ids(experiment)
        runs, token = self._call("search_runs", filter=filter, experiment_ids=exp_ids,
                                 order_by=list(order_by) if order_by else None, limit=limit,
                                 page_token=page_token)
        return RunPage(runs, token)

    def count_runs(self, filter: str | None = None, *,
                   experiment: str | Sequence[str] | None = None) -> int:
        """How many runs match ``filter`` (same syntax as ``search_runs``)."""
        self._flush_quietly()
        return self._call("count_runs", filter=filter, experiment_ids=self._experiment_ids(experiment))

    def _experiment_ids(self, experiment) -> list[str] | None:
        if experiment is None:
            return None
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        return [self.get_experiment(n).id for n in names]

    def compare_runs(self, run_ids: Sequence[str]):
        """A tidy table (pandas) of params and metrics, one column per run, with a
        ``differs`` column marking the keys whose values differ."""
        self._flush_quietly()
        return self._call("compare_runs", run_ids=[self.resolve_run_id(r) for r in run_ids])

    # ------------------------------------------------------------------ registry
    def register_model(self, model, name: str, **kwargs):
        """Register a fitted model object, a run's logged model (``"runs:/<id>/model"`` or a
        Run), a rules table or an external model reference as a new version of ``name``."""
        from .registry.api import register_model

        return register_model(self, model, name, **kwargs)

    def load_model(self, name: str, version: int | None = None, alias: str | None = None,
                   trusted: bool | list[str] = False):
        """A loaded model with ``.predict(frame)``; its signature is enforced.

        ``trusted`` names extra types skops may load (a list), or ``True`` to trust the
        whole file; pickle-based flavors (pyfunc) load only with ``trusted=True``."""
        from .registry.api import load_model

        return load_model(self, name, version=version, alias=alias, trusted=trusted)

    def log_model(self, run_id: str, model, name: str = "model", **kwargs):
        """Save a model into a run's artifacts (registered later with ``runs:/<id>/<name>``)."""
        from .registry.api import log_model

        return log_model(self, self.resolve_run_id(run_id), model, name, **kwargs)

    def get_model(self, name: str):
        return self._call("get_model", name=name)

    def list_models(self, **kw):
        return self._call("list_models", **kw)

    def get_model_version(self, name: str, version: int | None = None, alias: str | None = None):
        return self._call("get_version", name=name, version=version, alias=alias)

    def list_versions(self, name: str):
        return self._call("list_versions", name=name)

    def set_alias(self, name: str, alias: str, version: int):
        return self._call("set_alias", name=name, alias=alias, version=version)

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("delete_alias", name=name, alias=alias)

    def alias_history(self, name: str, alias: str | None = None):
        return self._call("alias_history", name=name, alias=alias)


class ActiveRun:
    """A RUNNING run bound to a client; the ``mo.*`` functions log to the innermost one."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.id = run.id
        self.name = run.name
        self.experiment_id = run.experiment_id
        self._ended = False

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self._ended:
            if exc is None:
                self.end()
            elif isinstance(exc, KeyboardInterrupt):
                self.end("KILLED", error=exc)
            else:
                self.end(FAILED, error=exc)
        return False  # never swallow the user's exception

    def end(self, status: str = FINISHED, error: BaseException | None = None) -> Run:
        if self._ended:
            return self.info
        self._ended = True
        from . import fluent

        fluent._forget(self)
        return self.client.end_run(self.id, status, error=error)

    @property
    def info(self) -> Run:
        """The stored run, read now (params, latest metrics, tags)."""
        return self.client.get_run(self.id)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id[:8]} {self.name!r}{' ended' if self._ended else ''}>"

    # logging shortcuts -------------------------------------------------------
    def log_param(self, key, value):
        self.client.log_param(self.id, key, value)

    def log_params(self, params):
        self.client.log_params(self.id, params)

    def set_tag(self, key, value):
        self.client.set_tag(self.id, key, value)

    def set_tags(self, tags):
        self.client.set_tags(self.id, tags)

    def log_metric(self, key, value, step=None, timestamp=None):
        self.client.log_metric(self.id, key, value, step, timestamp)

    def log_metrics(self, metrics, step=None):
        self.client.log_metrics(self.id, metrics, step)

    def log_artifact(self, local_path, artifact_path=None):
        return self.client.log_artifact(self.id, local_path, artifact_path)

    def log_text(self, text, name):
        return self.client.log_text(self.id, text, name)

    def log_dict(self, data, name):
        return self.client.log_dict(self.id, data, name)

    def log_figure(self, figure, name):
        return self.client.log_figure(self.id, figure, name)

    def log_input(self, data, name, context="training", source=""):
        return self.client.log_input(self.id, data, name, context, source)

    def log_model(self, model, name="model", **kw):
        return self.client.log_model(self.id, model, name, **kw)


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
