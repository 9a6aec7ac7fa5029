"""``DeployRequestForm``: ask for a model version to be deployed, with the evidence shown."""

from __future__ import annotations

import re

import ipywidgets as w

from .. import html as h
from .base import USER_ERRORS, StaticRepr, error_line, guard, message_html, style_widget
from .evidence import evaluate_evidence

TARGETS = ("local", "batch", "kserve", "container")
NOT_CONFIGURED = "deployment requests are not configured in this installation yet"
_CPU = re.compile(r"^\d+(\.\d+)?m?$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")


class DeployRequestForm(StaticRepr, w.VBox):
    """``DeployRequestForm(client, name, version=None, alias=None, policy=None)``.

    Target, resources and a justification for the reviewers; the evidence checklist the
    policy requires, each item ✔/✘ from the version's run and lineage; and *Request
    deployment*, which calls ``client.request_deployment`` where governance is installed."""

    title = "Deployment request"

    def __init__(self, client, name: str, version: int | None = None, alias: str | None = None,
                 policy=None, **kwargs) -> None:
        self.client = client
        self.policy = policy
        self.version = client.get_model_version(name, version=version, alias=alias)
        self.alias = alias
        self.evidence = evaluate_evidence(client, self.version, policy)
        self.request = None

        self.target = w.Dropdown(options=list(TARGETS), value="local", description="target")
        self.cpu = w.Text(value="1", description="cpu", placeholder="1 or 500m")
        self.memory = w.Text(value="2Gi", description="memory", placeholder="2Gi")
        self.replicas = w.BoundedIntText(value=1, min=1, max=100, description="replicas")
        self.justification = w.Textarea(description="why", placeholder="Why this version should be deployed "
                                        "(what changed, how it was validated) — for the reviewers",
                                        layout=w.Layout(width="95%", height="80px"))
        self.checklist = w.HTML(str(self._checklist_html()))
        self.submit_button = w.Button(description="Request deployment",
                                      button_style="warning" if self.missing else "primary",
                                      tooltip="A different person reviews and approves the request")
        self.result = w.HTML()
        self.submit_button.on_click(
            guard(lambda text: setattr(self.result, "value", message_html(text)))(lambda _: self.submit()))
        super().__init__(children=[
            style_widget(), w.HTML(str(self._heading_html())), self.checklist,
            w.HBox([self.target, self.replicas]), w.HBox([self.cpu, self.memory]),
            self.justification, self.submit_button, self.result,
        ], **kwargs)
        self.add_class("mo-w")

    @property
    def missing(self) -> list:
        return [i for i in self.evidence if not i.ok]

    @property
    def resources(self) -> dict:
        return {"cpu": self.cpu.value.strip(), "memory": self.memory.value.strip(),
                "replicas": int(self.replicas.value)}

    def _heading(self) -> str:
        v = self.version
        via = f" (@{self.alias})" if self.alias else ""
        return f"Request deployment of {v.name} v{v.version}{via}"

    def _heading_html(self) -> h.Safe:
        v = self.version
        return h.Safe(f"{h.tag('h4', self._heading())}<div>{h.badge(v.flavor)}{h.status_badge(v.state)}"
                      f"{h.tag('span', f' run {v.run_id or chr(8212)}', class_='mo-muted')}</div>")

    def _checklist_html(self) -> h.Safe:
        rows = [[h.tag("span", i.mark, style=f"color:{'#2e7d32' if i.ok else '#c62828'};font-weight:bold"),
                 i.label, i.detail, "" if i.ok else i.fix] for i in self.evidence]
        summary = (h.tag("div", "All required evidence is present.", class_="mo-muted") if not self.missing else
                   h.tag("div", "Missing: " + ", ".join(i.label for i in self.missing), class_="mo-err"))
        return h.Safe(h.tag("b", "Evidence the policy requires") + h.table(["", "evidence", "found", "to fix"], rows)
                      + summary)

    def _validate(self) -> str | None:
        if not _CPU.match(self.resources["cpu"]):
            return f"cpu {self.resources['cpu']!r} should look like 1, 0.5 or 500m"
        if not _MEMORY.match(self.resources["memory"]):
            return f"memory {self.resources['memory']!r} should look like 512Mi or 2Gi"
        return None

    def submit(self):
        """Send the request (what the button does); returns the request or None."""
        problem = self._validate()
        if problem:
            self.result.value = message_html(problem)
            return None
        request = getattr(self.client, "request_deployment", None)
        if request is None:
            self.result.value = message_html(NOT_CONFIGURED, "muted")
            return None
        try:
            self.request = request(self.version.name, version=self.version.version, target=self.target.value,
                                   resources=self.resources, justification=self.justification.value.strip())
        except USER_ERRORS as exc:
            self.result.value = message_html(error_line(exc))
            return None
        rid = getattr(self.request, "id", None) or (self.request.get("id") if isinstance(self.request, dict) else None)
        self.result.value = str(h.tag("div", f"request {rid or ''} submitted; a reviewer other than "
                                             "you will approve or reject it", style="color:#2e7d32"))
        self.submit_button.disabled = True
        return self.request

    # ------------------------------------------------------------------ static forms
    def to_html(self) -> h.Safe:
        form = h.kv_table([("target", self.target.value), ("cpu", self.resources["cpu"]),
                           ("memory", self.resources["memory"]), ("replicas", self.resources["replicas"]),
                           ("justification", h.tag("div", self.justification.value, class_="mo-pre"))])
        return h.wrap(self._heading_html(), self._checklist_html(), form)

    def _rows(self):
        return [[i.mark, i.label, i.detail if i.ok else f"{i.detail} — {i.fix}"] for i in self.evidence]

    def to_markdown(self) -> str:
        missing = ", ".join(i.label for i in self.missing) or "nothing"
        return (f"**{h.md_escape(self._heading())}**\n\n" + h.md_table(["", "evidence", "status"], self._rows())
                + f"\n\nmissing: {h.md_escape(missing)}")

    def to_text(self) -> str:
        missing = ", ".join(i.label for i in self.missing) or "nothing"
        return (self._heading() + "\n" + h.text_table(["", "evidence", "status"], self._rows(), max_width=70)
                + f"\nmissing: {missing}")
