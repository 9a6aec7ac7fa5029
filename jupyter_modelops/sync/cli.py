"""``jupyter modelops sync``: push this store's changes to the shared registry and pull its
decisions, now; or show the sync status, or the changes the registry refused."""

from __future__ import annotations

import sys

from traitlets import Bool

from ..cli.app import BaseModelOpsApp, _common_aliases, _common_flags


class SyncApp(BaseModelOpsApp):
    """Sync the local store with the team's shared registry."""

    description = ("Push the local store's queued changes (runs, params, metrics, artifacts, models, "
                   "versions, aliases) to the shared registry and pull back what the registry decides "
                   "(canonical version numbers, approvals, life-cycle states, aliases, teammates' "
                   "models). The registry comes from c.ModelOpsConfig.registry_url / "
                   "$JUPYTER_MODELOPS_REGISTRY_URL or --registry, the token from --token or "
                   "$JUPYTER_MODELOPS_REGISTRY_TOKEN. Exit status 1 when the registry cannot be "
                   "reached (nothing is lost: the changes stay queued).")
    examples = """
    jupyter modelops sync
    jupyter modelops sync --status
    jupyter modelops sync --rejected
    jupyter modelops sync --retry-rejected
    jupyter modelops sync --registry=https://modelops.example.org --token=mo_...
    """
    status = Bool(False, help="Only show the sync status.").tag(config=True)
    rejected = Bool(False, help="List the changes the registry refused, with its reason.").tag(config=True)
    retry_rejected = Bool(False, help="Queue the refused changes again, then sync.").tag(config=True)
    aliases = {**_common_aliases, "registry": "ModelOpsConfig.registry_url",
               "token": "ModelOpsConfig.registry_token"}
    flags = {
        **_common_flags,
        "status": ({"SyncApp": {"status": True}}, "Only show the sync status."),
        "rejected": ({"SyncApp": {"rejected": True}}, "List the changes the registry refused."),
        "retry-rejected": ({"SyncApp": {"retry_rejected": True}}, "Queue refused changes again, then sync."),
    }

    def run(self) -> None:
        from ..config import ModelOpsConfig
        from . import outbox
        from .display import report_line, status_lines
        from .engine import Syncer
        from .ops import status as sync_status

        store = self.client.store
        url, token = ModelOpsConfig(parent=self).resolved_registry()
        if self.status:
            st = sync_status(store)
            st["registry_url"] = url or st.get("registry_url")
            if self.as_json:
                return self.print_json(st)
            print("\n".join(status_lines(st)))
            return
        if self.rejected:
            entries = outbox.rejected(store, limit=1000)
            if self.as_json:
                return self.print_json(entries)
            if not entries:
                print("The registry refused none of this store's changes.")
            from ..cli.table import render, when

            rows = [[e["id"][:8], e["op"], when(e["created_at"]), e["error"]] for e in entries]
            if rows:
                print(render(["entry", "operation", "made", "why the registry refused it"], rows))
            return
        if self.retry_rejected:
            n = outbox.retry_rejected(store)
            print(f"queued {n} refused change(s) again", file=sys.stderr)
        syncer = Syncer(store, url, token)
        try:
            report = syncer.sync()
        finally:
            syncer.close()
        if self.as_json:
            return self.print_json(report.to_dict())
        print(report_line(report.to_dict()))
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
