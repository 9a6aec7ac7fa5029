"""``jupyter modelops``: a traitlets application with one subcommand per capability.

Subcommands stay thin: parse, call the ``Client``, print. Errors from ``errors.py``
become ``error: <message>`` on stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys

from jupyter_core.application import JupyterApp
from traitlets import Bool, Float, Integer, List, Unicode

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


class ServeApp(BaseModelOpsApp):
    """Run the shared registry (the REST API standalone, with users and API tokens)."""

    description = ("Run the shared model registry: the ModelOps REST API as a standalone Jupyter "
                   "server, where users authenticate with API tokens (see `jupyter modelops users`) "
                   "and act with their roles. Migrations are applied on start. Any "
                   "--ServerApp.* option (certfile, base_url, ...) is passed to the server.")
    examples = """
    jupyter modelops serve --port=8765 --home=/srv/modelops
    jupyter modelops serve --db=postgresql://modelops@dbhost/modelops --artifacts=s3://bucket/modelops
    jupyter modelops serve --ip=0.0.0.0 --ServerApp.certfile=cert.pem --ServerApp.keyfile=key.pem
    """
    port = Integer(8765, help="Port to listen on (0: any free port).").tag(config=True)
    ip = Unicode("127.0.0.1", help="Address to listen on.").tag(config=True)
    aliases = {
        "home": "ModelOpsConfig.home",
        "db": "ModelOpsConfig.db_url",
        "artifacts": "ModelOpsConfig.artifact_uri",
        "port": "ServeApp.port",
        "ip": "ServeApp.ip",
        "log-level": "Application.log_level",
    }
    flags = {
        "allow-root": ({"ServerApp": {"allow_root": True}}, "Allow running as root."),
    }

    def initialize(self, argv=None) -> None:
        self._argv = list(sys.argv[1:] if argv is None else argv)
        super().initialize(argv)

    def run(self) -> None:
        from ..server.app import ModelOpsExtension

        # Defaults first; the user's own arguments (forwarded unchanged) override them.
        argv = [f"--ServerApp.port={self.port}", f"--ServerApp.ip={self.ip}",
                "--ServerApp.port_retries=0", "--ServerApp.open_browser=False"]
        type(self).clear_instance()  # the server app is the process's singleton from here on
        ModelOpsExtension.launch_instance(argv + self._argv)


class UsersApp(BaseModelOpsApp):
    """Manage the shared registry's users, roles and API tokens."""

    description = ("Manage the users of the shared registry (the store it serves): add users with "
                   "roles, change roles, make and revoke API tokens. Roles: viewer, data_scientist, "
                   "validator, approver, deployer, admin. A token is printed once and stored only "
                   "as its sha256.")
    examples = """
    jupyter modelops users add alice --role data_scientist --role validator
    jupyter modelops users token alice --label laptop
    jupyter modelops users roles alice --set viewer,approver
    jupyter modelops users list
    jupyter modelops users revoke alice 0123456789abcdef
    """
    roles = List(Unicode(), help="Role to give (repeat --role for several).").tag(
        config=True, multiplicity="append")
    set_roles = Unicode("", help="Comma-separated roles that replace the user's roles.").tag(config=True)
    label = Unicode("", help="A note saying where a token is used.").tag(config=True)
    aliases = {**_common_aliases, "role": "UsersApp.roles", "set": "UsersApp.set_roles",
               "label": "UsersApp.label"}

    def _store(self):
        return self.client.store

    def run(self) -> None:
        from .. import users
        from ..errors import InvalidInput

        action, *args = self.extra_args or ["list"]
        usage = {"add": 1, "token": 1, "roles": 1, "list": 0, "revoke": 2}
        if action not in usage or len(args) != usage[action]:
            raise InvalidInput("usage: jupyter modelops users add NAME --role R | token NAME "
                               "[--label L] | roles NAME --set R,... | list | revoke NAME TOKEN_ID")
        store = self._store()
        if action == "add":
            user = users.add_user(store, args[0], self.roles)
            print(f"added {user.name} with roles {', '.join(user.roles)}")
        elif action == "token":
            token = users.create_token(store, args[0], self.label)
            print("store this token now; it is not shown again:", file=sys.stderr)
            print(token)
        elif action == "roles":
            if not self.set_roles:
                raise InvalidInput("give the new roles with --set R1,R2")
            user = users.set_roles(store, args[0], self.set_roles)
            print(f"{user.name} now has roles {', '.join(user.roles)}")
        elif action == "revoke":
            users.revoke_token(store, args[0], args[1])
            print(f"revoked token {args[1]} of {args[0]}")
        else:
            found = users.list_users(store)
            if self.as_json:
                return self.print_json([u.to_dict() for u in found])
            if not found:
                print("No users yet. Add one: jupyter modelops users add NAME --role data_scientist")
                return
            from .table import render, when

            rows = [[u.name, ", ".join(u.roles),
                     ", ".join(f"{t['id']}" + (f" ({t['label']})" if t["label"] else "") for t in u.tokens),
                     when(u.created_at)] for u in found]
            print(render(["user", "roles", "tokens", "created"], rows))


class DbApp(BaseModelOpsApp):
    """Show, upgrade, check or recover the store's schema and data."""

    description = ("Show the store's schema revision (`db current`), bring it to the newest one "
                   "(`db upgrade`; opening a store does this too), verify the database, every artifact "
                   "blob and the audit chain (`db check`; exit status 1 on any problem), or put back the "
                   "copy taken before an interrupted upgrade (`db recover`).")
    examples = """
    jupyter modelops db current --db=postgresql://modelops@dbhost/modelops
    jupyter modelops db upgrade --home=/srv/modelops
    jupyter modelops db check
    jupyter modelops db recover --db=/home/me/.jupyter_modelops/store.db
    """
    usage = "usage: jupyter modelops db current | upgrade | check | recover"

    def run(self) -> None:
        from ..config import ModelOpsConfig
        from ..errors import InvalidInput
        from ..store.db import Database

        action = (self.extra_args or ["current"])[0]
        if action not in ("current", "upgrade", "check", "recover") or len(self.extra_args) > 1:
            raise InvalidInput(self.usage)
        conf = ModelOpsConfig(parent=self)
        if action == "check":
            return self._check(conf)
        db = Database(conf.resolved_db_url(), migrate=False)
        try:
            if action == "recover":
                from ..store.upgrades import recover

                print(recover(db))
                db.close()
                db = Database(conf.resolved_db_url())  # upgrades the restored store
            elif action == "upgrade":
                from ..store.db import ensure_schema

                ensure_schema(db)
            self._show(db)
        finally:
            db.close()

    def _show(self, db) -> None:
        from ..store.db import HEAD_REVISION, current_revision

        with db.read() as conn:
            rev = current_revision(conn)
        url = db.url.split("@")[-1]
        if self.as_json:
            return self.print_json({"url": url, "revision": rev, "head": HEAD_REVISION})
        state = "up to date" if rev == HEAD_REVISION else f"newest is {HEAD_REVISION}"
        print(f"{url}: revision {rev or '(empty store)'} ({state})")

    def _check(self, conf) -> None:
        from ..store.check import check_store
        from ..store.store import Store

        store = Store(conf.resolved_db_url(), conf.resolved_artifact_uri(), user=conf.user, migrate=False)
        try:
            report = check_store(store, extra=[_audit_findings])
        finally:
            store.close()
        if self.as_json:
            self.print_json(report.to_dict())
        else:
            for finding in report.findings:
                print(finding.line())
            problems = len(report.problems)
            print(f"{report.target}: " + ("no problems found" if report.ok else f"{problems} problem(s) found"),
                  file=sys.stdout if report.ok else sys.stderr)
        if not report.ok:
            self.exit(1)


def _audit_findings(store):
    from ..governance import audit
    from ..store.check import OK, PROBLEM, Finding

    report = audit.verify(store)
    yield Finding("audit", OK if report.ok else PROBLEM, report.message)


class AuditApp(BaseModelOpsApp):
    """Verify, export or list the hash-chained audit log."""

    description = ("The audit log: every change and every governance decision, each entry chained to "
                   "the previous one by its sha256. `audit verify` checks the chain (exit status 1 and "
                   "the first bad entry when an entry was edited, inserted or removed); `audit export` "
                   "writes it as JSON Lines, which `audit verify FILE` checks on its own.")
    examples = """
    jupyter modelops audit verify
    jupyter modelops audit verify --anchor=1234:5f0c...   (the head you kept elsewhere)
    jupyter modelops audit export --output=audit.jsonl
    jupyter modelops audit verify audit.jsonl
    jupyter modelops audit list --limit=50
    """
    output = Unicode("", help="File to export to (default: standard output).").tag(config=True)
    anchor = Unicode("", help="SEQ:HASH of an entry recorded elsewhere; verify fails if it changed "
                              "or is gone.").tag(config=True)
    limit = Integer(50, help="Entries to list (newest first).").tag(config=True)
    aliases = {**_common_aliases, "output": "AuditApp.output", "anchor": "AuditApp.anchor",
               "limit": "AuditApp.limit"}

    def run(self) -> None:
        from ..errors import InvalidInput
        from ..governance import audit

        action, *args = self.extra_args or ["verify"]
        if action not in ("verify", "export", "list") or len(args) > (1 if action == "verify" else 0):
            raise InvalidInput("usage: jupyter modelops audit verify [FILE] [--anchor=SEQ:HASH] | "
                               "export [--output=FILE] | list [--limit=N]")
        if action == "export":
            if self.output:
                with open(self.output, "w", encoding="utf-8") as fh:
                    n = audit.export(self.client.store, fh)
                print(f"exported {n} audit entries to {self.output}", file=sys.stderr)
            else:
                audit.export(self.client.store, sys.stdout)
            return
        if action == "list":
            from .table import render, when

            entries = self.client._call("audit_entries", limit=self.limit, newest_first=True)
            if self.as_json:
                return self.print_json([e.to_dict() for e in entries])
            rows = [[e.seq, when(e.at), e.actor, e.action, e.subject_type, e.subject_id,
                     json.dumps(e.details, sort_keys=True)[:60]] for e in entries]
            print(render(["#", "when", "actor", "action", "subject", "id", "details"], rows))
            return
        anchor = None
        if self.anchor:
            seq, _, digest = self.anchor.partition(":")
            if not seq.isdigit() or len(digest) != 64:
                raise InvalidInput("--anchor takes SEQ:HASH, e.g. 42:<64 hex digits>")
            anchor = (int(seq), digest.lower())
        if args:
            try:
                with open(args[0], encoding="utf-8") as fh:
                    report = audit.verify_rows(audit.read_export(fh), anchor=anchor)
            except OSError as exc:
                raise InvalidInput(f"cannot read {args[0]}: {exc.strerror}") from None
        else:
            report = self.client._call("audit_verify", anchor_seq=anchor[0] if anchor else None,
                                       anchor_hash=anchor[1] if anchor else None)
        if self.as_json:
            self.print_json(report.to_dict())
        else:
            print(report.message if report.ok else f"error: {report.message}",
                  file=sys.stdout if report.ok else sys.stderr)
            for p in report.problems[1:10]:
                print(f"  also: entry #{p['seq']}: {p['problem']}", file=sys.stderr)
        if not report.ok:
            self.exit(1)


class InventoryApp(BaseModelOpsApp):
    """Every governed model: owner, purpose, risk tier, state, approval, evidence."""

    description = ("The model inventory: every registered model (ML, rules, external vendor or C++ "
                   "binaries) with its owner, business purpose, risk tier, governed version and state, "
                   "who approved it and on what evidence, endpoints and monitors. Packages that need "
                   "trust to load (pickle-based) are marked.")
    examples = """
    jupyter modelops inventory
    jupyter modelops inventory --format=csv --output=inventory.csv
    jupyter modelops inventory --format=json --state=PRODUCTION
    """
    format = Unicode("table", help="table, csv or json.").tag(config=True)
    output = Unicode("", help="File to write (default: standard output).").tag(config=True)
    kind = Unicode("", help="Only models of this kind (ml, rules, external, ...).").tag(config=True)
    state = Unicode("", help="Only models whose governed version is in this state.").tag(config=True)
    all_versions = Bool(False, help="One row per version instead of per model.").tag(config=True)
    aliases = {**_common_aliases, "format": "InventoryApp.format", "output": "InventoryApp.output",
               "kind": "InventoryApp.kind", "state": "InventoryApp.state"}
    flags = {**_common_flags,
             "all-versions": ({"InventoryApp": {"all_versions": True}}, "One row per version.")}

    def run(self) -> None:
        from ..errors import InvalidInput
        from ..governance.inventory import to_csv, to_json

        fmt = "json" if self.as_json else self.format
        if fmt not in ("table", "csv", "json"):
            raise InvalidInput(f"--format must be table, csv or json, not {fmt!r}")
        entries = self.client._call("inventory", kind=self.kind or None, state=self.state or None,
                                    all_versions=self.all_versions)
        if fmt == "csv":
            text = to_csv(entries)
        elif fmt == "json":
            text = to_json(entries) + "\n"
        else:
            from .table import render, when

            if not entries:
                text = "No registered models yet.\n"
            else:
                rows = [[e.name, e.kind, e.owner, e.risk_tier, e.version, e.state,
                         _trust_mark(e), e.approved_by or "", when(e.approved_at),
                         ", ".join(e.evidence), len(e.endpoints), e.purpose] for e in entries]
                text = render(["model", "kind", "owner", "risk", "version", "state", "needs trust",
                               "approved by", "approved", "evidence", "endpoints", "purpose"], rows) + "\n"
        if self.output:
            with open(self.output, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            print(f"wrote {len(entries)} models to {self.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)


def _trust_mark(entry) -> str:
    """Why a version needs trust to load: its package is a pickle (runs code when
    loaded) or holds types skops does not trust."""
    if not entry.requires_trust:
        return ""
    return {"pyfunc": "yes (pickle)", "sklearn": "yes (custom types)"}.get(entry.flavor, "yes")


class PolicyApp(BaseModelOpsApp):
    """Check a governance policy file, or show the policy in force."""

    description = ("Governance policies (YAML): `policy check FILE` reports the first problem with its "
                   "line (exit status 1); `policy show` prints the policy in force; `policy default` "
                   "prints the built-in policy to start a file from.")
    examples = """
    jupyter modelops policy check policy.yaml
    jupyter modelops policy show
    jupyter modelops policy default > ~/.jupyter_modelops/policy.yaml
    """

    def run(self) -> None:
        from ..errors import InvalidInput
        from ..governance import policy as pol

        action, *args = self.extra_args or ["show"]
        if action == "check" and len(args) == 1:
            p = pol.load_policy(args[0])
            print(f"{args[0]}: policy '{p.name}' is valid: {len(p.states)} states, "
                  f"{len(p.transitions)} transitions{', solo' if p.solo else ''}")
        elif action == "default" and not args:
            sys.stdout.write(pol.DEFAULT_POLICY)
        elif action == "show" and not args:
            data = self.client._call("get_policy")
            if self.as_json:
                return self.print_json(data)
            print(f"policy '{data['name']}' from {data['source']}{' (solo)' if data['solo'] else ''}")
            print("states: " + ", ".join(data["states"]))
            print("deployable: " + ", ".join(data["deployable"]))
            for t in data["transitions"]:
                extra = "".join([f"; not by {', '.join(t['not_by'])}" if t["not_by"] else "",
                                 f"; evidence {t['evidence']}" if t["evidence"] else "",
                                 "; by approving a request" if t["via"] else ""])
                print(f"  {t['name']:<10} {' | '.join(t['from'])} → {t['to']} "
                      f"(roles {', '.join(t['roles'])}{extra})")
        else:
            raise InvalidInput("usage: jupyter modelops policy check FILE | show | default")


class ExportApp(BaseModelOpsApp):
    """Export a notebook to a pipeline: Python package, local run, Kubeflow Pipelines, Airflow."""

    description = ("Export a notebook to a pipeline that reproduces it: steps from Kale-style tags "
                   "(block:/step:, prev:, imports, functions, pipeline-parameters or papermill's "
                   "parameters, pipeline-metrics, skip), %%step cells or Markdown headings; the "
                   "dataflow between steps from the code. Targets: python (a package, one module per "
                   "step), local (the package, run: parallel, cached, tracked), kfp (Kubeflow Pipelines "
                   "v2 YAML), airflow (a TaskFlow DAG). --check runs the notebook and the pipeline on "
                   "the same parameters and compares their results (exit status 1 if they differ).")
    examples = """
    jupyter modelops export analysis.ipynb
    jupyter modelops export analysis.ipynb --check
    jupyter modelops export analysis.ipynb --target local --param C=0.5
    jupyter modelops export analysis.ipynb --target kfp --output build/kfp
    """
    target = Unicode("python", help="python, local, kfp or airflow.").tag(config=True)
    output = Unicode("", help="Folder to write (default: <notebook>_pipeline next to it).").tag(config=True)
    check = Bool(False, help="Run the notebook and the pipeline and compare them.").tag(config=True)
    params = List(Unicode(), help="NAME=VALUE (JSON, else text) overriding a parameter; repeatable.").tag(
        config=True, multiplicity="append")
    rtol = Float(1e-6, help="Relative tolerance of the parity check.").tag(config=True)
    atol = Float(1e-9, help="Absolute tolerance of the parity check.").tag(config=True)
    aliases = {**_common_aliases, "target": "ExportApp.target", "output": "ExportApp.output",
               "param": "ExportApp.params", "rtol": "ExportApp.rtol", "atol": "ExportApp.atol"}
    flags = {**_common_flags,
             "check": ({"ExportApp": {"check": True}}, "Run the notebook and the pipeline and compare them.")}

    def run(self) -> None:
        from ..errors import InvalidInput
        from ..pipeline.export import export_notebook

        if len(self.extra_args) != 1:
            raise InvalidInput("usage: jupyter modelops export NOTEBOOK [--target=python|local|kfp|airflow] "
                               "[--output=DIR] [--check] [--param=NAME=VALUE ...]")
        params = {}
        for item in self.params:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise InvalidInput(f"--param takes NAME=VALUE, not {item!r}")
            try:
                params[name] = json.loads(value)
            except ValueError:
                params[name] = value
        runs = self.check or self.target == "local"
        report = export_notebook(self.extra_args[0], target=self.target, output=self.output or None,
                                 check=self.check, params=params or None, client=self.client if runs else None,
                                 rtol=self.rtol, atol=self.atol,
                                 progress=None if self.as_json else (lambda line: print(line, flush=True)))
        if self.as_json:
            self.print_json(report.to_dict())
        else:
            print(report)
        if not report.ok:
            self.exit(1)


class ModelOpsApp(BaseModelOpsApp):
    name = "jupyter-modelops"
    description = "ModelOps from Jupyter: track experiments, register and govern models."
    subcommands = {
        "runs": (RunsApp, RunsApp.description),
        "models": (ModelsApp, ModelsApp.description),
        "demo": (DemoApp, DemoApp.description.split(":")[0]),
        "serve": (ServeApp, "Run the shared model registry (REST API, users, API tokens)."),
        "users": (UsersApp, "Manage the shared registry's users, roles and API tokens."),
        "db": (DbApp, DbApp.description.split(" (")[0]),
        "audit": (AuditApp, "Verify or export the hash-chained audit log."),
        "inventory": (InventoryApp, "The inventory of every governed model (table, CSV or JSON)."),
        "policy": (PolicyApp, "Check a governance policy file, or show the policy in force."),
        "export": (ExportApp, "Export a notebook to a pipeline (package, local run, Kubeflow, Airflow); --check proves it."),
        "sync": ("jupyter_modelops.sync.cli.SyncApp", "Push this store's changes to the shared registry and pull its decisions."),
        "serve-model": ("jupyter_modelops.deploy.cli.ServeModelApp",
                        "Serve a model version over HTTP (OIP v2, /invocations, /metrics)."),
        "deploy": ("jupyter_modelops.deploy.cli.DeployApp", "Deploy an approved version (local, batch, kserve, container)."),
        "deployments": ("jupyter_modelops.deploy.cli.DeploymentsApp", "List, show or stop deployments."),
        "promote": ("jupyter_modelops.deploy.cli.PromoteApp", "Point the champion alias at a version (audited)."),
        "rollback": ("jupyter_modelops.deploy.cli.RollbackApp", "Roll the champion alias back to its previous version."),
        "monitor": ("jupyter_modelops.deploy.cli.MonitorApp", "Drift, performance and alerts of a deployment."),
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
