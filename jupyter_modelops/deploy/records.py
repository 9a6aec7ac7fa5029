"""Records of the deployment capability (plain dataclasses; they travel over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tracking.records import Record, _iso

# Deployment statuses.
STARTING, RUNNING, RESTARTING, STOPPING, STOPPED, FAILED = (
    "STARTING", "RUNNING", "RESTARTING", "STOPPING", "STOPPED", "FAILED")
GENERATED, SUCCEEDED = "GENERATED", "SUCCEEDED"   # kserve/container contexts; batch jobs
ACTIVE = (STARTING, RUNNING, RESTARTING, GENERATED)
STATUSES = (STARTING, RUNNING, RESTARTING, STOPPING, STOPPED, FAILED, GENERATED, SUCCEEDED)


@dataclass
class Deployment(Record):
    """A version deployed to a target: a model server (``local``), a scoring job
    (``batch``), an ``InferenceService`` manifest (``kserve``) or a build context
    (``container``). ``version`` is the version served now; with ``alias`` set it follows
    that alias. ``alive`` says whether the server process runs (None: not on this host)."""

    id: str
    model_name: str
    version: int
    target: str
    status: str
    alias: str | None = None
    endpoint: str = ""
    host: str = ""
    pid: int | None = None
    port: int | None = None
    config: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    request_id: str | None = None
    restarts: int = 0
    last_error: str | None = None
    started_by: str = ""
    created_at: int = 0
    started_at: int | None = None
    stopped_at: int | None = None
    updated_at: int = 0
    state: str = ""
    alive: bool | None = None

    @property
    def url(self) -> str:
        return self.endpoint

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)

    def infer_url(self) -> str:
        from urllib.parse import quote

        return f"{self.endpoint}/v2/models/{quote(self.model_name, safe='')}/infer"

    def __repr__(self) -> str:
        via = f"@{self.alias}→" if self.alias else ""
        return (f"<Deployment {self.id[:8]} {self.model_name} {via}v{self.version} {self.target} "
                f"[{self.status}] {self.endpoint}>")

    def _repr_html_(self) -> str:
        from .views import DeploymentsView

        return DeploymentsView([self])._repr_html_()


@dataclass
class Rollout(Record):
    """An alias move made by ``promote`` or ``rollback``, and the deployments that follow it."""

    model_name: str
    alias: str
    action: str
    from_version: int | None
    to_version: int
    actor: str = ""
    reason: str = ""
    state: str = ""
    deployments: list = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"<Rollout {self.action} {self.model_name}@{self.alias}: v{self.from_version} → "
                f"v{self.to_version} ({len(self.deployments)} deployment(s) follow)>")
