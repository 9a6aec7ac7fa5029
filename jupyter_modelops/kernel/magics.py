"""``%%track`` and ``%modelops``: the notebook front end, thin over ``Client``.

User mistakes (bad arguments, unknown runs, policy refusals) surface as one-line
``UsageError``s with a hint; an exception raised by the user's own code inside
``%%track`` still reaches the user after the run is closed FAILED.
"""

from __future__ import annotations

import ast
import difflib
import shlex
import sys
import time

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Unicode
from traitlets.config import Configurable

from .history import ExecutionHistory, notebook_path

NOT_CONFIGURED = {
    "request-deploy": "Deployment requests",
    "requests": "Deployment requests",
    "approve": "Approvals",
    "reject": "Approvals",
    "deployments": "Deployment",
    "sync": "Sync with a shared registry",
    "export": "Notebook-to-pipeline export",
}


def parse_argstring(fn, argstring: str):
    """Like IPython's, but quotes group words and are removed (``--filter "a = 'x'"``)."""
    try:
        argv = shlex.split(argstring)
    except ValueError as exc:
        raise UsageError(f"cannot parse arguments: {exc}") from None
    return fn.parser.parse_args(argv)


def _user_error(exc: Exception) -> UsageError:
    from ..errors import ModelOpsError

    if isinstance(exc, ModelOpsError):
        return UsageError(exc.message)
    return UsageError(str(exc))


@magics_class
class ModelOpsMagics(Magics, Configurable):
    """Track cells as runs and drive the registry from the notebook."""

    experiment = Unicode(
        "", help="Experiment that %%track uses when none is given (default: the notebook's name)."
    ).tag(config=True)
    warn_out_of_order = Bool(
        True, help="Print a warning when a tracked cell uses state produced by a cell below it."
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.history = ExecutionHistory()
        self.last_run_id: str | None = None
        self._completion_cache: dict[str, tuple[float, list[str]]] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def client(self):
        from .. import fluent

        try:
            return fluent.get_client()
        except Exception as exc:  # a store that cannot open is a user-facing problem
            raise _user_error(exc) from None

    def _default_experiment(self) -> str | None:
        if self.experiment:
            return self.experiment
        nb = notebook_path(self.shell.user_ns)
        if nb:
            from pathlib import Path

            return Path(nb).stem
        return None

    # ------------------------------------------------------------------ %%track
    @magic_arguments()
    @argument("--experiment", "-e", default=None, help="Experiment name (default: the notebook's name).")
    @argument("--name", "-n", default=None, help="Run name.")
    @argument("--autolog", action="store_true", help="Autolog scikit-learn estimators fitted in the cell.")
    @argument("--run", default=None, help="Run the cell inside this still-running run instead of a new one.")
    @cell_magic
    def track(self, line: str, cell: str):
        """Run the cell as a tracked run: its source, cell id, execution count, notebook
        path and code hash are recorded; the run ends FINISHED, or FAILED if the cell raises."""
        __tracebackhide__ = True  # users see their cell's frames, not ours
        from .. import fluent
        from ..errors import ModelOpsError

        args = parse_argstring(self.track, line)
        ex = self.history.current
        cell_id = getattr(ex, "cell_id", None)
        nb = notebook_path(self.shell.user_ns)
        problems = self.history.out_of_order(cell_id, cell, nb)
        count = self.shell.execution_count
        tags = {"mo.source_type": "notebook", "mo.execution_count": str(count)}
        if cell_id:
            tags["mo.cell_id"] = cell_id
        if problems:
            tags["mo.out_of_order"] = "true"
        provenance = {
            "cell": {"id": cell_id, "execution_count": count, "source": cell},
            "notebook": nb,
            "out_of_order": problems,
        }
        parent = fluent.active_run()
        try:
            run = fluent.start_run(
                args.experiment or self._default_experiment(), args.name, run_id=args.run,
                nested=parent is not None and args.run is None, tags=None if args.run else tags,
                **({} if args.run else {"source": nb or "", "code_hash": self.history.code_hash(cell),
                                        "provenance": provenance}),
            )
            if args.run:
                run.set_tags({k: v for k, v in tags.items() if k != "mo.source_type"})
        except ModelOpsError as exc:
            raise _user_error(exc) from None
        self.last_run_id = run.id
        if problems and self.warn_out_of_order:
            names = ", ".join(f"`{p['name']}` (cell {p['defined_at_position']})" for p in problems)
            print(f"⚠ out-of-order: this cell (position {problems[0]['cell_position']}) uses {names} "
                  "defined by cells below it; recorded on the run", file=sys.stderr)
        autolog_was_on = False
        if args.autolog:
            from ..tracking import autolog as _autolog

            autolog_was_on = _autolog.is_enabled()
            _autolog.autolog()
        try:
            result = self._execute(cell)
        except KeyboardInterrupt as exc:
            run.end("KILLED", error=exc)
            raise
        except BaseException as exc:
            run.end("FAILED", error=exc)
            raise
        else:
            if args.run is None:
                run.end()
            return result
        finally:
            if args.autolog and not autolog_was_on:
                from ..tracking import autolog as _autolog

                _autolog.autolog(disable=True)

    def _execute(self, cell: str):
        """Execute like a normal cell: magics inside work, the last expression is the value."""
        __tracebackhide__ = True
        shell = self.shell
        code = shell.transform_cell(cell)
        filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
        tree = shell.compile.ast_parse(code, filename=filename)
        tree = shell.transform_ast(tree)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        ns = shell.user_ns
        exec(shell.compile(tree, filename, "exec"), ns)
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), ns)
        return None

    # ------------------------------------------------------------------ %modelops
    @line_magic
    def modelops(self, line: str):
        """%modelops SUBCOMMAND ... — `%modelops help` lists the subcommands."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"cannot parse arguments: {exc}") from None
        sub = words[0] if words else "help"
        handler = SUBCOMMANDS.get(sub)
        if handler is None:
            close = difflib.get_close_matches(sub, list(SUBCOMMANDS), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise UsageError(f"unknown subcommand {sub!r}{hint} (`%modelops help` lists them)")
        rest = line.strip()[len(sub):].strip() if words else ""
        from ..errors import ModelOpsError

        try:
            return handler(self, rest)
        except ModelOpsError as exc:
            raise _user_error(exc) from None

    # ------------------------------------------------------------------ completion
    def complete(self, shell, event) -> list[str]:
        """Completer hook for `%modelops`: subcommands, run ids, model names."""
        try:
            words = event.line.split()
            finished = event.line.endswith(" ")
            if len(words) <= 1 or (len(words) == 2 and not finished):
                return sorted(SUBCOMMANDS)
            sub = words[1]
            if sub in ("show", "compare"):
                return self._recent_run_ids()
            if sub == "register":
                names = [k for k, v in shell.user_ns.items()
                         if not k.startswith("_") and (hasattr(v, "predict") or callable(v) and hasattr(v, "fit"))]
                return names + self._recent_run_ids()
            if sub in ("versions", "alias", "request-deploy"):
                return self._model_names()
            if sub == "runs":
                return ["--experiment", "--filter", "--limit", "--order-by"]
        except Exception:
            return []
        return []

    def _cached(self, key: str, fetch) -> list[str]:
        hit = self._completion_cache.get(key)
        if hit and time.monotonic() - hit[0] < 5:
            return hit[1]
        values = fetch()
        self._completion_cache[key] = (time.monotonic(), values)
        return values

    def _recent_run_ids(self) -> list[str]:
        return self._cached("runs", lambda: [r.id[:8] for r in self.client.search_runs(limit=50)])

    def _model_names(self) -> list[str]:
        return self._cached("models", lambda: [m.name for m in self.client.list_models()])


# ---------------------------------------------------------------------- subcommands
# Each takes (magics, argstring). They parse with magic_arguments and call the Client.

@magic_arguments()
@argument("topic", nargs="?", help="A subcommand to explain.")
def _help(m: ModelOpsMagics, rest: str):
    """List the subcommands, or explain one."""
    args = parse_argstring(_help, rest)
    if args.topic:
        fn = SUBCOMMANDS.get(args.topic)
        if fn is None:
            raise UsageError(f"no subcommand {args.topic!r}")
        if getattr(fn, "parser", None) is None:
            print(f"%modelops {args.topic}\n\n{(fn.__doc__ or '').strip()}")
            return
        fn.parser.prog = f"%modelops {args.topic}"
        print(fn.parser.format_help())
        return
    print("%modelops SUBCOMMAND — track, compare, register and govern from the notebook\n")
    for name, fn in SUBCOMMANDS.items():
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<15} {doc}")
    print("\n%%track [--experiment E] [--name N] [--autolog] [--run ID]  runs a cell as a tracked run")
    print("`%modelops help SUBCOMMAND` explains one subcommand.")


@magic_arguments()
@argument("--experiment", "-e", default=None, help="Only this experiment.")
@argument("--filter", "-f", default=None, help="e.g. \"metrics.accuracy > 0.9 and params.C = '1.0'\"")
@argument("--limit", "-l", type=int, default=25, help="Rows per page.")
@argument("--order-by", "-o", default=None, help="e.g. \"metrics.accuracy DESC\"")
def _runs(m: ModelOpsMagics, rest: str):
    """Runs, newest first (a sortable, filterable, paged table)."""
    args = parse_argstring(_runs, rest)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from . import display

    order = [o.strip() for o in args.order_by.split(",")] if args.order_by else None
    return display.runs_table(m.client, experiment=args.experiment, filter=args.filter,
                              limit=args.limit, order_by=order)


@magic_arguments()
@argument("run", help="Run id or prefix (≥ 6 hex digits).")
def _show(m: ModelOpsMagics, rest: str):
    """One run: params, metrics, artifacts, provenance."""
    args = parse_argstring(_show, rest)
    from . import display

    return display.run_view(m.client, args.run)


@magic_arguments()
@argument("runs", nargs="+", help="Two or more run ids or prefixes.")
def _compare(m: ModelOpsMagics, rest: str):
    """Compare runs side by side; differing values are marked."""
    args = parse_argstring(_compare, rest)
    if len(args.runs) < 2:
        raise UsageError("compare needs at least two runs")
    from . import display

    return display.compare_view(m.client, args.runs)


@magic_arguments()
@argument("source", help="A fitted model variable in the notebook, or a run id whose model to register.")
@argument("--name", required=True, help="Registered model name.")
@argument("--flavor", default=None, help="sklearn, pyfunc, rules, external, onnx (default: detected).")
@argument("--description", default="", help="Version description.")
def _register(m: ModelOpsMagics, rest: str):
    """Register a model variable or a run's model as a new version."""
    args = parse_argstring(_register, rest)
    from .. import fluent

    ns = m.shell.user_ns
    kwargs = {"description": args.description}
    if args.flavor:
        kwargs["flavor"] = args.flavor
    if args.source in ns and not args.source.startswith("_"):
        obj = ns[args.source]
        run_id = fluent.active_run().id if fluent.active_run() else m.last_run_id
        if run_id is not None:
            kwargs["run_id"] = run_id
        version = m.client.register_model(obj, args.name, **kwargs)
    else:
        if not args.source.replace("-", "").isalnum():
            raise UsageError(f"{args.source!r} is neither a variable in the notebook nor a run id")
        try:
            run_id = m.client.resolve_run_id(args.source)
        except Exception as exc:
            raise UsageError(f"{args.source!r} is neither a variable in the notebook nor a run id "
                             f"({_user_error(exc)})") from None
        version = m.client.register_model(f"runs:/{run_id}/model", args.name, **kwargs)
    print(f"registered {args.name} version {version.version} ({version.flavor})")
    return None


def _models(m: ModelOpsMagics, rest: str):
    """Registered models with their latest version and aliases."""
    if rest.strip():
        raise UsageError("models takes no arguments (use `%modelops versions NAME`)")
    from . import display

    return display.models_table(m.client)



@magic_arguments()
@argument("name", help="Registered model name.")
def _versions(m: ModelOpsMagics, rest: str):
    """Versions of one model with state, aliases and source run."""
    args = parse_argstring(_versions, rest)
    from . import display

    return display.versions_table(m.client, args.name)


@magic_arguments()
@argument("name", help="Registered model name.")
@argument("version", type=int, help="Version number.")
@argument("alias", help="Alias, e.g. champion or challenger.")
def _alias(m: ModelOpsMagics, rest: str):
    """Point an alias (champion, challenger, ...) at a version."""
    args = parse_argstring(_alias, rest)
    v = m.client.set_alias(args.name, args.alias, args.version)
    print(f"{args.name}@{args.alias} -> version {v.version}")


@magic_arguments()
@argument("name", help="Registered model name.")
@argument("--version", type=int, default=None)
@argument("--alias", default=None)
@argument("--target", required=True, help="Deployment target (local, batch, kserve, container).")
@argument("--note", default="", help="Justification for the reviewers.")
def _request_deploy(m: ModelOpsMagics, rest: str):
    """Ask for a version to be deployed; a different person approves."""
    args = parse_argstring(_request_deploy, rest)
    if (args.version is None) == (args.alias is None):
        raise UsageError("give exactly one of --version N or --alias A")
    return _capability(m, "request-deploy", args)


@magic_arguments()
@argument("--all", action="store_true", help="Include decided requests.")
def _requests(m: ModelOpsMagics, rest: str):
    """Deployment requests waiting for review."""
    return _capability(m, "requests", parse_argstring(_requests, rest))


@magic_arguments()
@argument("id", help="Request id.")
@argument("--comment", default="", help="Reviewer comment.")
def _approve(m: ModelOpsMagics, rest: str):
    """Approve a deployment request (not your own)."""
    return _capability(m, "approve", parse_argstring(_approve, rest))


@magic_arguments()
@argument("id", help="Request id.")
@argument("--comment", required=True, help="Why it is rejected.")
def _reject(m: ModelOpsMagics, rest: str):
    """Reject a deployment request with a comment."""
    return _capability(m, "reject", parse_argstring(_reject, rest))


@magic_arguments()
def _deployments(m: ModelOpsMagics, rest: str):
    """Deployed versions, their endpoints and health."""
    return _capability(m, "deployments", parse_argstring(_deployments, rest))


@magic_arguments()
@argument("--status", action="store_true", help="Only show sync status.")
def _sync(m: ModelOpsMagics, rest: str):
    """Push local changes to the shared registry and pull its decisions."""
    return _capability(m, "sync", parse_argstring(_sync, rest))


@magic_arguments()
@argument("notebook", nargs="?", default=None, help="Notebook path (default: this notebook).")
@argument("--target", default="python", help="python, local, kfp or airflow.")
@argument("--output", "-o", default=None, help="Output folder or file.")
@argument("--check", action="store_true", help="Run both and compare results.")
def _export(m: ModelOpsMagics, rest: str):
    """Export the notebook to a pipeline."""
    return _capability(m, "export", parse_argstring(_export, rest))


def _capability(m: ModelOpsMagics, sub: str, args):
    """Dispatch to a capability module when it is installed; otherwise say so plainly."""
    import importlib

    try:
        module = importlib.import_module("jupyter_modelops.kernel.capabilities")
        handler = getattr(module, sub.replace("-", "_"))
    except (ImportError, AttributeError):
        print(f"{NOT_CONFIGURED[sub]}: not configured in this installation yet; "
              f"`%modelops {sub}` will work once that capability is enabled.")
        return None
    return handler(m, args)


def _whoami(m: ModelOpsMagics, rest: str):
    """Who you are to the store, and which store."""
    c = m.client
    print(f"user: {c.user}\nstore: {c.transport.describe()}")


def _config(m: ModelOpsMagics, rest: str):
    """Where runs and artifacts are stored, and how to change it."""
    from ..config import ENV_DB, ENV_HOME

    conf = m.client.config
    print(f"home:          {conf.home}   (${ENV_HOME} or c.ModelOpsConfig.home)")
    print(f"store:         {conf.resolved_db_url()}   (${ENV_DB} or c.ModelOpsConfig.db_url)")
    print(f"artifacts:     {conf.resolved_artifact_uri()}")
    print(f"user:          {conf.user}")
    print(f"flush every:   {conf.flush_interval}s")
    print(f"experiment:    {m._default_experiment() or 'Default'} (%%track default)")


SUBCOMMANDS = {
    "help": _help, "runs": _runs, "show": _show, "compare": _compare, "register": _register,
    "models": _models, "versions": _versions, "alias": _alias, "request-deploy": _request_deploy,
    "requests": _requests, "approve": _approve, "reject": _reject, "deployments": _deployments,
    "sync": _sync, "export": _export, "whoami": _whoami, "config": _config,
}
for _fn in (_models, _whoami, _config):
    _fn.parser = None


def _warm_imports() -> None:
    """Import the heavy modules (SQLAlchemy, ipywidgets) while the user is still typing,
    so the first `%modelops runs` does not pay for them. Imports only: no store is opened
    here, so configuration changed after `%load_ext` still applies."""
    try:
        import jupyter_modelops.client  # noqa: F401
        import jupyter_modelops.kernel.widgets.runs  # noqa: F401
        import jupyter_modelops.tracking.search  # noqa: F401
    except Exception:
        pass


def load_ipython_extension(ip) -> None:
    import threading

    threading.Thread(target=_warm_imports, name="modelops-warm-imports", daemon=True).start()
    magics = ModelOpsMagics(shell=ip, parent=ip)
    ip.register_magics(magics)
    ip.configurables.append(magics)  # so `%config ModelOpsMagics.experiment = "x"` works
    from .step_magic import register_step_magic

    register_step_magic(ip)
    ip.events.register("pre_run_cell", magics.history.pre_run_cell)
    ip.events.register("post_run_cell", magics.history.post_run_cell)
    ip.set_hook("complete_command", magics.complete, str_key="%modelops")
    ip._modelops_magics = magics


def unload_ipython_extension(ip) -> None:
    magics = getattr(ip, "_modelops_magics", None)
    if magics is not None:
        ip.events.unregister("pre_run_cell", magics.history.pre_run_cell)
        ip.events.unregister("post_run_cell", magics.history.post_run_cell)
