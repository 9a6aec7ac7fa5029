"""Registry widgets: ``ModelsTable``, ``VersionsTable`` and ``ModelVersionView``."""

from __future__ import annotations

import json
from typing import Sequence

import ipywidgets as w

from ...errors import NotFound
from .. import html as h
from .base import USER_ERRORS, StaticRepr, close_tree, guard, message_html, pager_text, style_widget
from .runs import is_out_of_order


def _json_text(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def _aliases_text(aliases) -> str:
    if isinstance(aliases, dict):
        return ", ".join(f"{a}→v{v}" for a, v in sorted(aliases.items()))
    return ", ".join(aliases or [])


def _alias_badges(aliases) -> h.Safe:
    names = sorted(aliases) if isinstance(aliases, dict) else list(aliases or [])
    return h.join(h.badge(f"@{a}", "info") for a in names)


# --------------------------------------------------------------------------- paged table


class PagedTable(StaticRepr, w.VBox):
    """A read-only table over rows already in memory, shown a page at a time.

    Subclasses set ``columns`` and fill ``rows`` (HTML cells: text is escaped, ``Safe`` is
    not) and ``plain`` (the same rows as text) before calling ``_setup``."""

    columns: Sequence[str] = ()
    numeric: Sequence[int] = ()
    empty = "nothing to show"

    def _setup(self, rows: list[list], plain: list[list], page_size: int, extra=(), **kwargs) -> None:
        self.rows, self.plain, self.page_size, self.page_index = rows, plain, max(int(page_size), 1), 0
        self.body = w.HTML()
        self.prev_button = w.Button(description="◀ Prev", layout=w.Layout(width="auto"))
        self.next_button = w.Button(description="Next ▶", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.prev_button.on_click(lambda _: self.prev_page())
        self.next_button.on_click(lambda _: self.next_page())
        pager = w.HBox([self.prev_button, self.next_button, self.status], layout=w.Layout(align_items="center"))
        pager.layout.display = "flex" if len(rows) > self.page_size else "none"
        super().__init__(children=[style_widget(), w.HTML(str(h.tag("h4", self.heading()))), self.body,
                                   pager, *extra], **kwargs)
        self.add_class("mo-w")
        self._draw()

    def heading(self) -> str:
        return self.title

    @property
    def page_rows(self) -> list[list]:
        a = self.page_index * self.page_size
        return self.rows[a:a + self.page_size]

    @property
    def page_plain(self) -> list[list]:
        a = self.page_index * self.page_size
        return self.plain[a:a + self.page_size]

    def next_page(self) -> None:
        if (self.page_index + 1) * self.page_size < len(self.rows):
            self.page_index += 1
            self._draw()

    def prev_page(self) -> None:
        if self.page_index > 0:
            self.page_index -= 1
            self._draw()

    def _table(self) -> h.Safe:
        return h.table(self.columns, self.page_rows, numeric=self.numeric, empty=self.empty)

    def _pager(self) -> str:
        return pager_text(self.page_index * self.page_size, len(self.page_rows), len(self.rows), False)

    def _draw(self) -> None:
        self.body.value = str(self._table())
        self.status.value = str(h.tag("span", self._pager(), style="margin:0 10px"))
        self.prev_button.disabled = self.page_index == 0
        self.next_button.disabled = (self.page_index + 1) * self.page_size >= len(self.rows)

    def to_html(self) -> h.Safe:
        return h.wrap(h.tag("h4", self.heading()), h.tag("div", self._pager(), class_="mo-muted"), self._table())

    def to_markdown(self) -> str:
        return f"**{h.md_escape(self.heading())}** — {h.md_escape(self._pager())}\n\n" + \
            h.md_table(self.columns, self.page_plain)

    def to_text(self) -> str:
        return f"{self.heading()} — {self._pager()}\n" + h.text_table(self.columns, self.page_plain)


class ModelsTable(PagedTable):
    """Registered models with their latest version and aliases; pick one to see its versions."""

    title = "Registered models"
    columns = ("model", "kind", "latest", "aliases", "owner", "updated", "description")
    numeric = (2,)
    empty = "no registered models yet"

    def __init__(self, client, page_size: int = 25, **kwargs) -> None:
        self.client = client
        self.models = client.list_models()
        rows, plain = [], []
        for m in self.models:
            desc = (m.description or "").strip().splitlines()[0][:80] if m.description else ""
            rows.append([h.tag("b", m.name), m.kind, "" if m.latest_version is None else f"v{m.latest_version}",
                         _alias_badges(m.aliases), m.owner, h.fmt_time(m.updated_at), desc])
            plain.append([m.name, m.kind, m.latest_version or "", _aliases_text(m.aliases), m.owner,
                          h.fmt_time(m.updated_at), desc])
        self.picker = w.Dropdown(options=[m.name for m in self.models], description="model",
                                 layout=w.Layout(width="auto"))
        self.versions_button = w.Button(description="Versions", layout=w.Layout(width="auto"),
                                        disabled=not self.models)
        self.detail = w.VBox()
        self.versions_view: VersionsTable | None = None
        report = guard(lambda text: setattr(self.detail, "children", [w.HTML(message_html(text))]))
        self.versions_button.on_click(report(lambda _: self.show_versions(self.picker.value)))
        extra = [w.HBox([self.picker, self.versions_button]), self.detail] if self.models else []
        self._setup(rows, plain, page_size, extra=extra, **kwargs)

    def heading(self) -> str:
        return f"Registered models ({len(self.models)})"

    def _owned_widgets(self) -> list:
        return [self.versions_view] if self.versions_view is not None else []

    def show_versions(self, name: str) -> VersionsTable:
        old, self.versions_view = self.versions_view, VersionsTable(self.client, name)
        self.detail.children = [self.versions_view]
        if old is not None:
            close_tree(old)
        return self.versions_view


class VersionsTable(PagedTable):
    """Versions of one model (newest first); pick one for details or a deployment request."""

    title = "Versions"
    columns = ("version", "state", "aliases", "flavor", "run", "created by", "created", "description")
    numeric = (0,)
    empty = "no versions yet"

    def __init__(self, client, name: str, page_size: int = 25, **kwargs) -> None:
        self.client = client
        self.name = name
        self.versions = sorted(client.list_versions(name), key=lambda v: -v.version)
        rows, plain = [], []
        short = h.short_ids(v.run_id for v in self.versions if v.run_id)
        for v in self.versions:
            desc = v.description.strip().splitlines()[0][:80] if v.description and v.description.strip() else ""
            run = h.tag("code", short[v.run_id], title=v.run_id) if v.run_id else ""
            rows.append([f"v{v.version}", h.status_badge(v.state), _alias_badges(v.aliases), v.flavor, run,
                         v.created_by, h.fmt_time(v.created_at), desc])
            plain.append([f"v{v.version}", v.state, _aliases_text(v.aliases), v.flavor, short.get(v.run_id, ""),
                          v.created_by, h.fmt_time(v.created_at), desc])
        self.picker = w.Dropdown(options=[(f"v{v.version}", v.version) for v in self.versions],
                                 description="version", layout=w.Layout(width="auto"))
        self.details_button = w.Button(description="Details", layout=w.Layout(width="auto"))
        self.request_button = w.Button(description="Request deployment…", layout=w.Layout(width="auto"))
        self.detail = w.VBox()
        self.detail_view = None
        report = guard(lambda text: setattr(self.detail, "children", [w.HTML(message_html(text))]))
        self.details_button.on_click(report(lambda _: self.show_version(self.picker.value)))
        self.request_button.on_click(report(lambda _: self.show_request_form(self.picker.value)))
        extra = [w.HBox([self.picker, self.details_button, self.request_button]), self.detail] \
            if self.versions else []
        self._setup(rows, plain, page_size, extra=extra, **kwargs)

    def heading(self) -> str:
        return f"Versions of {self.name} ({len(self.versions)})"

    def _owned_widgets(self) -> list:
        return [self.detail_view] if self.detail_view is not None else []

    def _show(self, view):
        old, self.detail_view = self.detail_view, view
        self.detail.children = [view]
        if old is not None:
            close_tree(old)
        return view

    def show_version(self, version: int) -> ModelVersionView:
        return self._show(ModelVersionView(self.client, self.name, version=version))

    def show_request_form(self, version: int):
        from .deploy import DeployRequestForm

        return self._show(DeployRequestForm(self.client, self.name, version=version))


# --------------------------------------------------------------------------- one version


def signature_html(part) -> h.Safe:
    if not part:
        return h.tag("span", "not recorded", class_="mo-muted")
    if isinstance(part, dict) and part.get("type") == "dataframe":
        return h.table(["column", "type"], [[c.get("name", ""), c.get("type", "")]
                                            for c in part.get("columns", []) if isinstance(c, dict)],
                       empty="no columns")
    if isinstance(part, dict) and part.get("type") == "tensor":
        return h.tag("code", f"tensor {part.get('dtype', '?')} shape {part.get('shape', '?')}")
    return h.tag("code", _json_text(part))


def signature_text(part) -> str:
    if not part:
        return "not recorded"
    if isinstance(part, dict) and part.get("type") == "dataframe":
        return ", ".join(f"{c.get('name')}: {c.get('type')}" for c in part.get("columns", []) if isinstance(c, dict))
    if isinstance(part, dict) and part.get("type") == "tensor":
        return f"tensor {part.get('dtype')} {part.get('shape')}"
    return _json_text(part)


def version_datasets(client, version, run) -> list[dict]:
    """Datasets behind a version: its lineage's list, else the datasets its run logged."""
    lineage = version.lineage or {}
    listed = lineage.get("datasets")
    if isinstance(listed, list) and listed:
        return [d if isinstance(d, dict) else {"name": str(d)} for d in listed]
    if run is None:
        return []
    try:
        return [d.to_dict() for d in client.list_inputs(run.id)]
    except USER_ERRORS:
        return []


class ModelVersionView(StaticRepr, w.VBox):
    """``ModelVersionView(client, name, version=None, alias=None)`` — newest when neither."""

    title = "Model version"
    _LINEAGE_SHOWN = {"run_id", "run_name", "code_hash", "datasets", "git", "source"}

    def __init__(self, client, name: str, version: int | None = None, alias: str | None = None,
                 **kwargs) -> None:
        self.client = client
        self.version = v = client.get_model_version(name, version=version, alias=alias)
        try:
            self.model = client.get_model(name)
        except USER_ERRORS:
            self.model = None
        self.run = None
        run_id = v.run_id or (v.lineage or {}).get("run_id")
        if run_id:
            try:
                self.run = client.get_run(run_id)
            except NotFound:
                self.run = None
        self.datasets = version_datasets(client, v, self.run)
        self.sections = {
            "Description": self._description(),
            "Signature": self._signature(),
            "Lineage": self._lineage(),
            "Run metrics": h.table(["metric", "value"], [[k, h.fmt_metric(x)] for k, x in
                                                         sorted((self.run.metrics if self.run else {}).items())],
                                   numeric=(1,), empty="no run metrics"),
            "Tags": h.kv_table(sorted((v.tags or {}).items()), empty="no tags"),
        }
        self.header = w.HTML(str(self._header()))
        self.body = w.HTML(str(h.wrap(*[p for name, body in self.sections.items()
                                        for p in (h.tag("h4", name), body)])))
        super().__init__(children=[style_widget(), self.header, self.body], **kwargs)
        self.add_class("mo-w")

    @property
    def code_hash(self) -> str:
        return str((self.version.lineage or {}).get("code_hash") or (self.run.code_hash if self.run else "") or "")

    def _header(self) -> h.Safe:
        v = self.version
        bits = [h.tag("b", f"{v.name} v{v.version}", style="font-size:14px"), " ", h.badge(v.flavor),
                h.status_badge(v.state), _alias_badges(v.aliases)]
        if not v.trusted:
            bits.append(h.badge("needs trust to load", "muted",
                                title="loading runs code from the package (pickle); pass trusted=True"))
        bits.append(h.tag("span", f" registered by {v.created_by} · {h.fmt_time(v.created_at)}", class_="mo-muted"))
        return h.Safe("<div>" + "".join(h.esc(b) for b in bits) + "</div>")

    def _description(self) -> h.Safe:
        parts = []
        if self.version.description:
            parts.append(h.tag("div", self.version.description, class_="mo-pre"))
        if self.model is not None and self.model.description:
            parts.append(h.tag("div", f"model: {self.model.description}", class_="mo-pre mo-muted"))
        return h.Safe("".join(parts)) if parts else h.tag("p", "no description", class_="mo-muted")

    def _signature(self) -> h.Safe:
        sig = self.version.signature or {}
        return h.Safe(f"{h.tag('b', 'inputs')}{signature_html(sig.get('inputs'))}"
                      f"{h.tag('b', 'outputs')}{signature_html(sig.get('outputs'))}")

    def _lineage(self) -> h.Safe:
        v, run = self.version, self.run
        pairs = []
        if run is not None:
            pairs.append(("run", h.Safe(f"{h.tag('code', run.id)} {h.esc(run.name)} "
                                        f"{h.status_badge(run.status)}"
                                        + (h.badge("⚠ out-of-order", "warn") if is_out_of_order(run) else ""))))
            prov = run.provenance or {}
            if prov.get("notebook") or run.source:
                pairs.append(("source", prov.get("notebook") or run.source))
            cell = prov.get("cell") or {}
            if cell:
                pairs.append(("cell", f"id {cell.get('id') or '?'} · "
                                      f"execution count {cell.get('execution_count', '?')}"))
            git = prov.get("git") or {}
            if git:
                pairs.append(("git", f"{str(git.get('commit', ''))[:12]} {git.get('branch', '')}"
                                     + (" (dirty)" if git.get("dirty") else "")))
        elif v.run_id:
            pairs.append(("run", f"{v.run_id} {(v.lineage or {}).get('run_name', '')} (not in this store)"))
            lin = v.lineage or {}
            if lin.get("source"):
                pairs.append(("source", lin["source"]))
            git = lin.get("git") if isinstance(lin.get("git"), dict) else {}
            if git:
                pairs.append(("git", f"{str(git.get('commit', ''))[:12]} {git.get('branch', '')}"
                                     + (" (dirty)" if git.get("dirty") else "")))
        else:
            pairs.append(("run", h.tag("span", "no source run recorded", class_="mo-muted")))
        pairs.append(("code hash", h.tag("code", self.code_hash) if self.code_hash else
                      h.tag("span", "not recorded", class_="mo-muted")))
        pairs.append(("package", h.tag("code", v.manifest_digest[:12], title=v.manifest_digest)))
        for key, value in sorted((v.lineage or {}).items()):
            if key not in self._LINEAGE_SHOWN:
                pairs.append((key, _json_text(value)))
        rows = [[d.get("name", ""), d.get("context", ""), h.tag("code", str(d.get("digest", ""))[:12]),
                 "" if d.get("num_rows") is None else d.get("num_rows"), d.get("source", "")]
                for d in self.datasets]
        return h.Safe(h.kv_table(pairs) + h.tag("b", "datasets")
                      + h.table(["dataset", "context", "digest", "rows", "source"], rows, numeric=(3,),
                                empty="no datasets recorded"))

    def to_html(self) -> h.Safe:
        return h.wrap(self._header(), *[p for name, body in self.sections.items()
                                        for p in (h.tag("h4", name), body)])

    def _pairs(self):
        v, sig = self.version, self.version.signature or {}
        return [("model", f"{v.name} v{v.version}"), ("flavor", v.flavor), ("state", v.state),
                ("aliases", ", ".join(v.aliases)), ("inputs", signature_text(sig.get("inputs"))),
                ("outputs", signature_text(sig.get("outputs"))),
                ("run", f"{self.run.id} {self.run.name}" if self.run else (v.run_id or "")),
                ("code hash", self.code_hash[:12]),
                ("datasets", ", ".join(str(d.get("name", "")) for d in self.datasets)),
                ("description", v.description)]

    def to_markdown(self) -> str:
        return "**Model version**\n\n" + h.md_table(["", ""], self._pairs())

    def to_text(self) -> str:
        return h.text_table(["model version", ""], self._pairs(), max_width=80)
