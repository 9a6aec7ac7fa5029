"""The deployment and monitoring subcommands of ``jupyter modelops``:
``serve-model``, ``deploy``, ``deployments``, ``promote``, ``rollback`` and ``monitor``.

Thin, like every subcommand: parse, call the client (or run the server), print.
"""

from __future__ import annotations

import json
import sys

from traitlets import Bool, Float, Integer, List, Unicode

from ..cli.app import BaseModelOpsApp, _common_aliases, _common_flags
from ..errors import InvalidInput


def _deploy_api():
    from .client_api import DeployClientMixin

    return DeployClientMixin


def _monitor_api():
    from ..monitor.client_api import MonitorClientMixin

    return MonitorClientMixin


class ServeModelApp(BaseModelOpsApp):
    """Serve a registered model version over HTTP (OIP v2 and MLflow's /invocations)."""

    description = ("Serve a registered model version: the Open Inference Protocol v2 (/v2/health/ready, "
                   "/v2/models/NAME/infer), MLflow's POST /invocations (dataframe_split, dataframe_records, "
                   "CSV) and Prometheus /metrics. --alias follows the alias (reloads when it moves); "
                   "--package serves a package folder without a store (container images).")
    examples = """
    jupyter modelops serve-model churn --alias=champion --port=8080
    jupyter modelops serve-model churn --version=3 --home=/srv/modelops
    jupyter modelops serve-model --package=/opt/model --host=0.0.0.0 --port=8080
    """
    version_ = Integer(None, allow_none=True, help="Version to serve.").tag(config=True)
    alias = Unicode("", help="Alias to serve and follow.").tag(config=True)
    port = Integer(8080, help="Port (0: any free port).").tag(config=True)
    host = Unicode("127.0.0.1", help="Address to listen on.").tag(config=True)
    package = Unicode("", help="Serve this model package folder instead of the store.").tag(config=True)
    deployment = Unicode("", help="The deployment this server is (set by the local target).").tag(config=True)
    supervise = Bool(False, help="Run a supervisor that restarts the server when it crashes.").tag(config=True)
    sample_rate = Float(0.1, help="Share of requests whose inputs and predictions are logged.").tag(config=True)
    log_queue = Integer(10_000, help="Capacity of the prediction log queue (full: entries are dropped).").tag(
        config=True)
    log_batch = Integer(500, help="Predictions per write to the store.").tag(config=True)
    log_interval = Float(1.0, help="Seconds between writes of the prediction log.").tag(config=True)
    reload_interval = Float(2.0, help="Seconds between checks of the alias (SIGHUP: now).").tag(config=True)
    check_interval = Float(0.0, help="Seconds between monitoring checks (0: none).").tag(config=True)
    max_restarts = Integer(5, help="Crashes within a minute before the supervisor gives up.").tag(config=True)
    trusted = Bool(False, help="Trust every type in the model file (pickle-based packages).").tag(config=True)
    trust = List(Unicode(), help="A type name skops may load (repeat).").tag(config=True, multiplicity="append")
    fd = Integer(None, allow_none=True, help="Listen on this inherited socket (set by the supervisor).").tag(
        config=True)
    fast_path = Bool(True, help="Use the array fast path for numeric scikit-learn models.").tag(config=True)
    aliases = {
        **_common_aliases, "version": "ServeModelApp.version_", "alias": "ServeModelApp.alias",
        "port": "ServeModelApp.port", "host": "ServeModelApp.host", "package": "ServeModelApp.package",
        "deployment": "ServeModelApp.deployment", "sample-rate": "ServeModelApp.sample_rate",
        "log-queue": "ServeModelApp.log_queue", "log-batch": "ServeModelApp.log_batch",
        "log-interval": "ServeModelApp.log_interval", "reload-interval": "ServeModelApp.reload_interval",
        "check-interval": "ServeModelApp.check_interval", "max-restarts": "ServeModelApp.max_restarts",
        "trust": "ServeModelApp.trust", "fd": "ServeModelApp.fd",
    }
    flags = {
        **_common_flags,
        "supervise": ({"ServeModelApp": {"supervise": True}}, "Restart the server when it crashes."),
        "trusted": ({"ServeModelApp": {"trusted": True}}, "Trust every type in the model file."),
        "no-fast-path": ({"ServeModelApp": {"fast_path": False}}, "Always take the checked DataFrame path."),
    }

    def options(self):
        from ..config import ModelOpsConfig
        from .server import ServeOptions

        if len(self.extra_args) > 1:
            raise InvalidInput("usage: jupyter modelops serve-model NAME (--version=N | --alias=A) [--port=P]")
        name = self.extra_args[0] if self.extra_args else ""
        if not name and not self.package:
            raise InvalidInput("give the model to serve: jupyter modelops serve-model NAME --alias=champion")
        if self.version_ is not None and self.alias:
            raise InvalidInput("give --version or --alias, not both")
        conf = ModelOpsConfig(parent=self)
        trusted = True if self.trusted else (list(self.trust) or False)
        return ServeOptions(
            name=name, version=self.version_, alias=self.alias or None, deployment_id=self.deployment or None,
            package=self.package or None, host=self.host, port=self.port, fd=self.fd,
            db_url=None if self.package else conf.resolved_db_url(),
            artifact_uri=None if self.package else conf.resolved_artifact_uri(), trusted=trusted,
            sample_rate=self.sample_rate, log_queue=self.log_queue, log_batch=self.log_batch,
            log_interval=self.log_interval, reload_interval=self.reload_interval,
            check_interval=self.check_interval, fast=self.fast_path)

    def run(self) -> None:
        opts = self.options()
        if self.supervise:
            from .supervisor import supervise

            code = supervise(opts, max_restarts=self.max_restarts)
        else:
            from .server import serve

            code = serve(opts)
        if code:
            self.exit(code)


def _print_deployment(dep, as_json: bool) -> None:
    if as_json:
        print(json.dumps(dep.to_dict(), indent=2, default=str))
        return
    print(f"deployment {dep.id[:8]}: {dep.model_name} v{dep.version}"
          f"{f' (@{dep.alias})' if dep.alias else ''} -> {dep.target} [{dep.status}]"
          f"{f'; version is {dep.state}' if dep.state else ''}")
    if dep.endpoint:
        print(f"endpoint: {dep.endpoint}")
    if dep.target == "local" and dep.endpoint:
        print(f"  POST {dep.infer_url()}  |  POST {dep.endpoint}/invocations  |  GET {dep.endpoint}/metrics")
    for key in ("run_id", "manifest_path", "context", "output"):
        if dep.details.get(key):
            print(f"{key.replace('_', ' ')}: {dep.details[key]}")
    if dep.last_error:
        print(f"last error: {dep.last_error}")


class DeployApp(BaseModelOpsApp):
    """Deploy an approved model version to a target."""

    description = ("Deploy an approved version: `local` starts a supervised model server, `batch` scores "
                   "--input into --output (recorded as a run), `kserve` writes an InferenceService manifest, "
                   "`container` a Docker build context. Only versions the policy lets deploy are deployed.")
    examples = """
    jupyter modelops deploy churn --alias=champion --target=local --port=8080
    jupyter modelops deploy churn --version=3 --target=batch --input=customers.parquet --output=scores.parquet
    jupyter modelops deploy churn --version=3 --target=kserve --output=churn-isvc.yaml
    jupyter modelops deploy churn --version=3 --target=container --output=build/churn
    """
    version_ = Integer(None, allow_none=True, help="Version to deploy.").tag(config=True)
    alias = Unicode("", help="Alias to deploy and follow.").tag(config=True)
    target = Unicode("local", help="local, batch, kserve, container (or a plugin's).").tag(config=True)
    port = Integer(0, help="local: port (0: a free one).").tag(config=True)
    input = Unicode("", help="batch: the file to score (CSV or Parquet).").tag(config=True)
    output = Unicode("", help="batch: output file; kserve: manifest file; container: folder.").tag(config=True)
    config_json = Unicode("", help="Target config as a JSON object.").tag(config=True)
    aliases = {**_common_aliases, "version": "DeployApp.version_", "alias": "DeployApp.alias",
               "target": "DeployApp.target", "port": "DeployApp.port", "input": "DeployApp.input",
               "output": "DeployApp.output", "config": "DeployApp.config_json"}

    def run(self) -> None:
        if len(self.extra_args) != 1:
            raise InvalidInput("usage: jupyter modelops deploy NAME (--version=N | --alias=A) --target=T")
        config = {}
        if self.config_json:
            try:
                config = json.loads(self.config_json)
            except ValueError as exc:
                raise InvalidInput(f"--config is not JSON: {exc}") from None
        if self.port:
            config["port"] = self.port
        if self.input:
            config["input"] = {"path": self.input}
        if self.output:
            config["output"] = self.output
        dep = _deploy_api().deploy(self.client, self.extra_args[0], self.version_, alias=self.alias or None,
                                   target=self.target, config=config)
        _print_deployment(dep, self.as_json)


class DeploymentsApp(BaseModelOpsApp):
    """List deployments, show one, or stop one."""

    description = "Deployments (active ones; --all for every one), `deployments show ID`, `deployments stop ID`."
    examples = """
    jupyter modelops deployments
    jupyter modelops deployments churn --all
    jupyter modelops deployments show 1f2e3d4c
    jupyter modelops deployments stop 1f2e3d4c
    """
    all = Bool(False, help="Every deployment, stopped ones too.").tag(config=True)
    flags = {**_common_flags, "all": ({"DeploymentsApp": {"all": True}}, "Every deployment, stopped ones too.")}

    def run(self) -> None:
        api = _deploy_api()
        args = list(self.extra_args)
        if args[:1] in (["show"], ["stop"]):
            if len(args) != 2:
                raise InvalidInput(f"usage: jupyter modelops deployments {args[0]} ID")
            dep = (api.stop_deployment(self.client, args[1]) if args[0] == "stop"
                   else api.get_deployment(self.client, args[1]))
            return _print_deployment(dep, self.as_json)
        if len(args) > 1:
            raise InvalidInput("usage: jupyter modelops deployments [NAME] [--all] | show ID | stop ID")
        deps = api.deployments(self.client, args[0] if args else None, all=self.all)
        if self.as_json:
            return self.print_json([d.to_dict() for d in deps])
        print(repr(deps) if deps else "No deployments." + ("" if self.all else " (--all shows stopped ones)"))


class PromoteApp(BaseModelOpsApp):
    """Point the champion alias at a version (by default the challenger's)."""

    description = ("Promote a version to champion (or --alias): it must be approved; it moves to PRODUCTION "
                   "and running deployments that follow the alias reload. Audited.")
    examples = """
    jupyter modelops promote churn            (the version @challenger points at)
    jupyter modelops promote churn 4 --reason="beats v3 on the March holdout"
    """
    alias = Unicode("champion", help="The alias to move.").tag(config=True)
    from_alias = Unicode("challenger", help="Without a version: promote the version of this alias.").tag(config=True)
    reason = Unicode("", help="Why (kept in the audit log).").tag(config=True)
    aliases = {**_common_aliases, "alias": "PromoteApp.alias", "from-alias": "PromoteApp.from_alias",
               "reason": "PromoteApp.reason"}

    def run(self) -> None:
        args = list(self.extra_args)
        if not 1 <= len(args) <= 2 or (len(args) == 2 and not args[1].isdigit()):
            raise InvalidInput("usage: jupyter modelops promote NAME [VERSION] [--alias=champion]")
        out = _deploy_api().promote(self.client, args[0], int(args[1]) if len(args) == 2 else None,
                                    alias=self.alias, from_alias=self.from_alias, reason=self.reason)
        _print_rollout(out, self.as_json)


class RollbackApp(BaseModelOpsApp):
    """Point the champion alias back at the version it had before."""

    description = ("Roll back: the alias (champion) goes back to its previous version, from the alias "
                   "history; running deployments that follow it reload. Audited.")
    examples = """
    jupyter modelops rollback churn
    jupyter modelops rollback churn --alias=challenger --reason="drift alert"
    """
    alias = Unicode("champion", help="The alias to move back.").tag(config=True)
    reason = Unicode("", help="Why (kept in the audit log).").tag(config=True)
    aliases = {**_common_aliases, "alias": "RollbackApp.alias", "reason": "RollbackApp.reason"}

    def run(self) -> None:
        if len(self.extra_args) != 1:
            raise InvalidInput("usage: jupyter modelops rollback NAME [--alias=champion]")
        out = _deploy_api().rollback(self.client, self.extra_args[0], alias=self.alias, reason=self.reason)
        _print_rollout(out, self.as_json)


def _print_rollout(out, as_json: bool) -> None:
    if as_json:
        print(json.dumps(out.to_dict(), indent=2, default=str))
        return
    print(f"{out.action}: {out.model_name}@{out.alias} v{out.from_version} -> v{out.to_version} "
          f"(version is {out.state})")
    for d in out.deployments:
        print(f"  deployment {d.id[:8]} {d.endpoint} now serves v{d.version} [{d.status}]")


class MonitorApp(BaseModelOpsApp):
    """Check a deployment's monitoring now, or write its drift report."""

    description = ("Monitoring of a deployment: the drift of recent inputs against the reference, latency, "
                   "errors and accuracy (with ground truth). --check runs the alert rules (a breach moves the "
                   "version to WATCH/BREACH); --report=FILE.html writes the drift report as a standalone page; "
                   "--events lists alerts.")
    examples = """
    jupyter modelops monitor 1f2e3d4c
    jupyter modelops monitor 1f2e3d4c --check
    jupyter modelops monitor 1f2e3d4c --report=drift.html
    jupyter modelops monitor --events churn
    """
    check = Bool(False, help="Run the check and its alert rules now.").tag(config=True)
    events = Bool(False, help="List alerts and notifications (of a model, or of all).").tag(config=True)
    report = Unicode("", help="Write the drift report to this HTML file.").tag(config=True)
    window = Integer(0, help="Rows of recent traffic to consider (0: the monitor's window).").tag(config=True)
    aliases = {**_common_aliases, "report": "MonitorApp.report", "window": "MonitorApp.window"}
    flags = {**_common_flags, "check": ({"MonitorApp": {"check": True}}, "Run the check and its rules now."),
             "events": ({"MonitorApp": {"events": True}}, "List alerts and notifications.")}

    def run(self) -> None:
        api = _monitor_api()
        args = list(self.extra_args)
        if self.events:
            events = api.monitor_events(self.client, args[0] if args else None)
            if self.as_json:
                return self.print_json([e.to_dict() for e in events])
            from ..cli.table import render, when

            print(render(["when", "model", "version", "kind", "rule", "state", "message"],
                         [[when(e.created_at), e.model_name, e.version, e.kind, e.rule, e.severity, e.message]
                          for e in events]) if events else "No monitoring events.")
            return
        if len(args) != 1:
            raise InvalidInput("usage: jupyter modelops monitor DEPLOYMENT [--check] [--report=FILE.html]")
        window = self.window or None
        if self.check:
            rep = api.check_monitor(self.client, args[0], window=window)
            if self.as_json:
                return self.print_json(rep.to_dict())
            print(f"{rep.model_name} v{rep.version}: {rep.rows} rows; version is {rep.state}")
            for k, v in sorted(rep.metrics.items()):
                print(f"  {k}: {v}")
            print("firing: " + (", ".join(f["rule"] for f in rep.firing) or "nothing"))
            drift = rep.drift
        else:
            drift = api.drift_report(self.client, args[0], window=window)
            if self.as_json:
                return self.print_json(drift.to_dict())
            print(f"{drift.model_name} v{drift.version}: {drift.current_rows} rows against {drift.reference_rows} "
                  f"reference rows ({drift.reference_source}); dataset drift: {drift.dataset_drift} "
                  f"({drift.drifted_columns}/{len(drift.columns)} columns)")
            for c in drift.columns:
                print(f"  {'✘' if c.drifted else '✔'} {c.column:<24} {c.test:<15} {c.statistic}  psi {c.psi}")
        if self.report and drift is not None:
            drift.save_html(self.report)
            print(f"wrote {self.report}", file=sys.stderr)
