"""The governance subcommands of ``%modelops``: request-deploy, requests, approve, reject.

``magics.py`` parses the arguments and calls these with ``(magics, args)``; they call the
client's governance methods (through ``GovernanceClientMixin``, so they work whether or
not ``Client`` inherits it) and print one short summary. Policy refusals surface as the
magic's one-line ``UsageError``.
"""

from __future__ import annotations

from ..governance.client_api import GovernanceClientMixin as _G
from . import html as h

_MARK = {"passed": "✔", "failed": "✘", "not_run": "…", "warning": "!"}


def _checklist_lines(req) -> list[str]:
    lines = []
    for item in req.checklist:
        mark = "✔" if item.get("ok") else ("✘" if item.get("required", True) else "·")
        need = "" if item.get("required", True) else " (not required)"
        lines.append(f"  {mark} {item.get('label')}{need}: {item.get('detail', '')}")
    return lines


def _summary(req) -> str:
    out = [f"request {req.id[:8]}: {req.model_name} v{req.version} -> {req.target} [{req.status}] "
           f"— version is {req.state}"]
    if req.validation:
        out.append(f"validation {req.validation.get('status')}: {req.validation.get('summary')}")
    if req.checklist:
        out.append("evidence:")
        out += _checklist_lines(req)
    return "\n".join(out)


def request_deploy(m, args):
    """``%modelops request-deploy NAME (--version N | --alias A) --target T [--note TEXT]``"""
    req = _G.request_deployment(m.client, args.name, args.version, alias=args.alias, target=args.target,
                                justification=args.note or "")
    print(_summary(req))
    lacking = [i.get("label") for i in req.missing]
    if lacking:
        print("missing before approval: " + ", ".join(lacking))
    print(f"a reviewer other than you approves it: %modelops approve {req.id[:8]}")
    return None


class RequestsView:
    """Deployment requests as a table (HTML in a notebook, text elsewhere)."""

    COLUMNS = ["request", "model", "version", "target", "status", "state", "requested by", "validation",
               "decided by", "created"]

    def __init__(self, requests: list) -> None:
        self.requests = list(requests)

    def _rows(self) -> list[list]:
        return [[r.id[:8], r.model_name, r.version, r.target, r.status, r.state, r.requested_by,
                 (r.validation or {}).get("status", ""), r.decided_by or "", h.fmt_time(r.created_at)]
                for r in self.requests]

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self):
        return iter(self.requests)

    def _repr_html_(self) -> str:
        return str(h.wrap(h.table(self.COLUMNS, self._rows(), empty="no deployment requests")))

    def __repr__(self) -> str:
        if not self.requests:
            return "no deployment requests"
        return h.text_table(self.COLUMNS, self._rows())


def requests(m, args):
    """``%modelops requests [--all]``: pending requests (all with --all), newest first."""
    return RequestsView(_G.list_requests(m.client, all=bool(getattr(args, "all", False))))


def approve(m, args):
    """``%modelops approve ID [--comment TEXT]``"""
    req = _G.approve_request(m.client, args.id, args.comment or "")
    selfish = any(r.get("self_review") for r in req.reviews if r.get("decision") == "approve")
    print(f"approved request {req.id[:8]}: {req.model_name} v{req.version} -> {req.target}; "
          f"version is {req.state}" + (" (self-approved under a solo policy)" if selfish else ""))
    return None


def reject(m, args):
    """``%modelops reject ID --comment TEXT``"""
    req = _G.reject_request(m.client, args.id, args.comment)
    print(f"rejected request {req.id[:8]}: {req.model_name} v{req.version} -> {req.target}; "
          f"version is {req.state}")
    return None


def sync(m, args):
    """``%modelops sync [--status]``: push local changes to the shared registry and pull its
    decisions now (through the background worker when one runs), or show where sync stands."""
    from ..sync.display import report_line, status_lines

    client = m.client
    me = getattr(client.transport, "whoami", None) if client.store is None else None
    if me and me.get("mode") == "registry":
        print(f"this notebook works directly on the shared registry {client.transport.url}: "
              "there is nothing to sync")
        return None
    if getattr(args, "status", False):
        print("\n".join(status_lines(client._call("sync_status"))))
        return None
    report = client._call("sync_now")
    print(report_line(report))
    for warning in report.get("warnings") or ():
        print(f"warning: {warning}")
    return None


def deployments(m, args):
    """``%modelops deployments``: active deployments with their endpoints and health (a
    table in the notebook; ``client.deployments(all=True)`` lists stopped ones too)."""
    from ..deploy.client_api import DeployClientMixin

    return DeployClientMixin.deployments(m.client)


def export(m, args):
    """``%modelops export [NOTEBOOK] [--target python|local|kfp|airflow] [--output DIR] [--check]``:
    export a notebook (this one by default) to a pipeline; ``--check`` runs the notebook
    and the pipeline and compares them. Warns about hidden state: names this kernel holds
    that no cell of the notebook defines."""
    from ..errors import InvalidInput
    from ..pipeline.export import export_notebook
    from .history import notebook_path

    notebook = args.notebook or notebook_path(m.shell.user_ns)
    if not notebook:
        raise InvalidInput("this kernel does not know which notebook it runs; give it: "
                           "%modelops export NOTEBOOK.ipynb")
    runs = args.check or args.target == "local"
    report = export_notebook(notebook, target=args.target, output=args.output, check=args.check,
                             client=m.client if runs else None, namespace=m.shell.user_ns,
                             namespace_hidden=set(getattr(m.shell, "user_ns_hidden", {}) or ()))
    print(report)
    return None
