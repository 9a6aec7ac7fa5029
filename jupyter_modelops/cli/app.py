"""``jupyter modelops``: a traitlets application with one subcommand per capability.

Subcommands stay thin: parse, call the ``Client``, print. Errors from ``errors.py``
become ``error: <message>`` on stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys

from jupyter_core.application import JupyterApp
from traitlets import Bool, Integer, Unicode

from .._version import __version__
from ..errors import ModelOpsError

_common_aliases = {
    "home": "ModelOpsConfig.home",
    "db": "ModelOpsConfig.db_url",
    "artifacts": "ModelOpsConfig.artifact_uri",
    "user": "ModelOpsConfig.user",
    "log-level": "Application.log_level",
}
_common_flags = {
    "json": ({"BaseModelOpsApp": {"as_json": True}}, "Print JSON instead of a table."),
}


class BaseModelOpsApp(JupyterApp):
    """Shared plumbing: config file, store options, error reporting."""

    version = __version__
    config_file_name = "jupyter_modelops_config"
    aliases = dict(_common_aliases)
    flags = dict(_common_flags)
    as_json = Bool(False, help="Print JSON instead of a table.").tag(config=True)

    @property
    def classes(self):
        from ..config import ModelOpsConfig

        return [type(self), ModelOpsConfig]

    @property
    def client(self):
        if getattr(self, "_client", None) is None:
            from ..client import Client
            from ..config import ModelOpsConfig
            from ..store.store import Store
            from ..transport import LocalTransport

            conf = ModelOpsConfig(parent=self)
            self._client = Client(transport=LocalTransport(Store.open(conf)), user=conf.user,
                                  home=conf.home)
        return self._client

    def print_json(self, data) -> None:
        print(json.dumps(data, indent=2, default=str))

    def start(self) -> None:
        try:
            self.run()
        except ModelOpsError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            self.exit(1)
        finally:
            if getattr(self, "_client", None) is not None:
                self._client.close()

    def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class RunsApp(BaseModelOpsApp):
    """List runs, newest first, or those matching a filter."""

    description = "List tracked runs (newest first), optionally filtered and ordered."
    examples = """
    jupyter modelops runs
    jupyter modelops runs --experiment=churn --filter="metrics.accuracy > 0.9" --order-by="metrics.accuracy DESC"
    jupyter modelops runs show 01f3a2b4
    """
    experiment = Unicode("", help="Only runs of this experiment.").tag(config=True)
    filter = Unicode("", help="Filter, e.g. \"metrics.auc > 0.8 and params.C = '1.0'\".").tag(config=True)
    order_by = Unicode("", help="Comma-separated order, e.g. \"metrics.auc DESC, start_time\".").tag(config=True)
    limit = Integer(20, help="Maximum number of runs to show.").tag(config=True)
    aliases = {
        **_common_aliases,
        "experiment": "RunsApp.experiment",
        "filter": "RunsApp.filter",
        "order-by": "RunsApp.order_by",
        "limit": "RunsApp.limit",
    }

    def run(self) -> None:
        if self.extra_args[:1] == ["show"]:
            if len(self.extra_args) != 2:
                from ..errors import InvalidInput

                raise InvalidInput("usage: jupyter modelops runs show RUN_ID")
            return self.show(self.extra_args[1])
        order = [o.strip() for o in self.order_by.split(",") if o.strip()] or None
        page = self.client.search_runs(self.filter or None, experiment=self.experiment or None,
                                       order_by=order, limit=self.limit)
        if self.as_json:
            return self.print_json([r.to_dict() for r in page])
        if not page:
            print("No runs yet. Try `jupyter modelops demo`.")
            return
        from .table import duration, render, when

        metric_keys = sorted({k for r in page for k in r.metrics})[:4]
        headers = ["run", "name", "status", "started", "duration", *metric_keys]
        rows = [[r.id[:8], r.name, r.status, when(r.start_time), duration(r.duration),
                 *[r.metrics.get(k) for k in metric_keys]] for r in page]
        print(render(headers, rows))
        if page.next_page_token:
            print(f"… more runs; raise --limit (now {self.limit}) to see them")

    def show(self, ref: str) -> None:
        run = self.client.get_run(ref)
        if self.as_json:
            return self.print_json(run.to_dict())
        from .table import duration, render, when

        exp = self.client.get_experiment(run.experiment_id)
        print(f"run {run.id}  {run.name!r}  [{run.status}]")
        print(f"experiment {exp.name}  user {run.user}@{run.host}  started {when(run.start_time)}  "
              f"duration {duration(run.duration)}")
        if run.error_type:
            print(f"error: {run.error_type}: {run.error_message}")
        if run.source:
            print(f"source {run.source}" + (f"  code {run.code_hash[:12]}" if run.code_hash else ""))
        git = run.provenance.get("git") or {}
        if git:
            print(f"git {git.get('commit', '')[:12]} on {git.get('branch')}{' (dirty)' if git.get('dirty') else ''}")
        if run.params:
            print("\n" + render(["param", "value"], sorted(run.params.items())))
        if run.metrics:
            print("\n" + render(["metric", "latest"], sorted(run.metrics.items())))
        arts = self.client.list_artifacts(run.id)
        if arts:
            print("\n" + render(["artifact", "size", "sha256"], [[a.path, a.size, a.digest[:12]] for a in arts]))


class ModelsApp(BaseModelOpsApp):
    """List registered models, or the versions of one."""

    description = "List registered models, or the versions of one model."
    examples = """
    jupyter modelops models
    jupyter modelops models churn
    """

    def run(self) -> None:
        from .table import render, when

        if self.extra_args:
            name = self.extra_args[0]
            versions = self.client.list_versions(name)
            if self.as_json:
                return self.print_json([v.to_dict() for v in versions])
            rows = [[v.version, v.flavor, v.state, ",".join(v.aliases), (v.run_id or "")[:8],
                     v.created_by, when(v.created_at)] for v in versions]
            print(render(["version", "flavor", "state", "aliases", "run", "by", "created"], rows))
            return
        models = self.client.list_models()
        if self.as_json:
            return self.print_json([m.to_dict() for m in models])
        if not models:
            print("No registered models yet. Try `jupyter modelops demo`.")
            return
        rows = [[m.name, m.kind, m.latest_version,
                 ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items())), m.owner, when(m.updated_at)]
                for m in models]
        print(render(["model", "kind", "latest", "aliases", "owner", "updated"], rows))


class DemoApp(BaseModelOpsApp):
    """Train, track, compare, register and reload models on a bundled dataset."""

    description = ("The headless tour: trains three scikit-learn models on a dataset that ships "
                   "with scikit-learn, tracks them, compares them, registers the best, loads it "
                   "back and predicts.")
    experiment = Unicode("demo", help="Experiment to track the demo runs in.").tag(config=True)
    aliases = {**_common_aliases, "experiment": "DemoApp.experiment"}

    def run(self) -> None:
        from ..demo import run_demo

        run_demo(self.client, experiment=self.experiment, out=sys.stdout)


class ModelOpsApp(BaseModelOpsApp):
    name = "jupyter-modelops"
    description = "ModelOps from Jupyter: track experiments, register and govern models."
    subcommands = {
        "runs": (RunsApp, RunsApp.description),
        "models": (ModelsApp, ModelsApp.description),
        "demo": (DemoApp, DemoApp.description.split(":")[0]),
    }

    def run(self) -> None:
        if self.subapp is None:
            self.print_help()
            print("\nSubcommands: " + ", ".join(self.subcommands))
            print("Start with: jupyter modelops demo")

    def start(self) -> None:
        if self.subapp is not None:
            return self.subapp.start()
        if self.extra_args:
            import difflib

            word = self.extra_args[0]
            close = difflib.get_close_matches(word, list(self.subcommands), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            print(f"error: unknown subcommand {word!r}{hint}", file=sys.stderr)
            self.exit(2)
        self.run()


main = launch_new_instance = ModelOpsApp.launch_instance

if __name__ == "__main__":  # pragma: no cover
    main()
