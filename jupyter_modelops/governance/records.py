"""Plain records of governance: they travel over HTTP as ``to_dict()`` / ``from_dict()``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tracking.records import Record, _iso

# Deployment request statuses.
PENDING, APPROVED, REJECTED, WITHDRAWN = "PENDING", "APPROVED", "REJECTED", "WITHDRAWN"
REQUEST_STATUSES = (PENDING, APPROVED, REJECTED, WITHDRAWN)

# Evidence statuses.
PASSED, FAILED, NOT_RUN, INFO = "passed", "failed", "not_run", "info"


@dataclass
class EvidenceItem(Record):
    """One line of an evidence checklist: what a rule requires and whether it is there.

    ``id`` uses the ids of ``kernel/widgets/evidence.py`` (``metrics_logged``,
    ``model_card``, ``validation_results``, ``training_data``, ``code_hash``,
    ``no_out_of_order``, ``metric:<key>``...), so the notebook preview and the service
    decision name the same things."""

    id: str
    label: str
    ok: bool
    detail: str = ""
    fix: str = ""
    required: bool = True

    @property
    def mark(self) -> str:
        return "✔" if self.ok else ("✘" if self.required else "·")


@dataclass
class Evidence(Record):
    """A stored piece of evidence about a version: the bundle assembled for a request, an
    automated validation result, or evidence a person attached (a test-suite report...)."""

    id: str
    version_id: str
    kind: str
    status: str
    summary: str = ""
    data: dict = field(default_factory=dict)
    request_id: str | None = None
    digest: str | None = None
    created_by: str = ""
    created_at: int = 0

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)


@dataclass
class Review(Record):
    """A reviewer's decision that took effect on a request (``approve``, ``reject``,
    ``validate``). Refused attempts are not reviews; the audit log records them."""

    id: str
    request_id: str
    reviewer: str
    role: str
    decision: str
    comment: str = ""
    self_review: bool = False
    evidence_digest: str = ""
    created_at: int = 0

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)


@dataclass
class DeploymentRequest(Record):
    """A request to deploy one model version to a target, with its evidence and reviews."""

    id: str
    model_name: str
    version: int
    version_id: str
    target: str
    status: str
    requested_by: str
    state: str = ""                   # the version's life-cycle state, read now
    alias: str | None = None
    resources: dict = field(default_factory=dict)
    justification: str = ""
    policy: dict = field(default_factory=dict)        # {name, sha256, source}
    validation: dict = field(default_factory=dict)    # automated validation result (summary)
    checklist: list = field(default_factory=list)     # EvidenceItem dicts, computed now
    evidence: list = field(default_factory=list)      # Evidence dicts stored for the request
    reviews: list = field(default_factory=list)       # Review dicts
    decided_by: str | None = None
    decided_at: int | None = None
    decision_comment: str = ""
    created_at: int = 0
    updated_at: int = 0

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def missing(self) -> list[dict]:
        return [i for i in self.checklist if not i.get("ok") and i.get("required", True)]

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)

    def __repr__(self) -> str:
        return (f"<DeploymentRequest {self.id[:8]} {self.model_name!r} v{self.version} -> "
                f"{self.target} {self.status} ({self.state})>")


@dataclass
class LifecycleEvent(Record):
    """One move of a version through its life cycle."""

    id: str
    model_name: str
    version: int
    from_state: str
    to_state: str
    rule: str
    actor: str
    comment: str = ""
    request_id: str | None = None
    self_approved: bool = False
    details: dict = field(default_factory=dict)
    created_at: int = 0

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)


@dataclass
class ModelCard(Record):
    """A version's model card: facts read from the registry plus editable text sections.

    ``markdown`` and ``html`` are renderings of the whole card (user text escaped)."""

    model_name: str
    version: int
    sections: dict = field(default_factory=dict)   # editable text, by section key
    facts: dict = field(default_factory=dict)      # from the registry: metrics, data, lineage...
    revision: int = 0                              # 0: generated, never edited
    updated_by: str = ""
    updated_at: int = 0
    digest: str = ""                               # sha256 of the card's content
    markdown: str = ""
    html: str = ""

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_html_(self) -> str:
        return self.html


@dataclass
class InventoryEntry(Record):
    """One governed model: who owns it, what it is for, where it stands and on what evidence.

    ``endpoints`` and ``monitors`` are filled by the deployment and monitoring capabilities
    (empty until they exist)."""

    name: str
    kind: str
    owner: str
    purpose: str = ""
    risk_tier: str = ""
    version: int | None = None          # the governed version (in production, else newest)
    flavor: str = ""
    state: str = ""
    requires_trust: bool = False        # pickle-based (or otherwise untrusted) package
    versions: dict = field(default_factory=dict)   # state -> [version numbers]
    approved_by: str | None = None
    approved_at: int | None = None
    approval_request: str | None = None
    evidence: list = field(default_factory=list)   # labels of the evidence approved on
    validation: str = ""                # passed | failed | not_run | ""
    policy: str = ""
    endpoints: list = field(default_factory=list)
    monitors: list = field(default_factory=list)
    updated_at: int = 0


@dataclass
class AuditEntry(Record):
    seq: int
    id: str
    at: int
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    @property
    def when(self) -> str | None:
        return _iso(self.at)


@dataclass
class AuditReport(Record):
    """What ``audit verify`` found: ``ok``, the number of entries, the head of the chain
    and, when broken, the first bad entry and every problem."""

    ok: bool
    entries: int
    head_seq: int | None = None
    head_hash: str = ""
    first_bad: dict | None = None       # {seq, id, problem}
    problems: list = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.ok:
            return (f"audit log intact: {self.entries} entries, head #{self.head_seq} "
                    f"{self.head_hash[:16]}" if self.entries else "audit log is empty")
        bad = self.first_bad or {}
        return f"audit log broken at entry #{bad.get('seq')} ({bad.get('id') or '?'}): {bad.get('problem')}"
