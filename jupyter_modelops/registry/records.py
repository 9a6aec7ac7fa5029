"""Plain records returned by the registry services and the client (both transports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tracking.records import Record, _iso

REGISTERED = "REGISTERED"


@dataclass
class RegisteredModel(Record):
    """A named model: the stable identity that versions, aliases and governance hang on."""

    id: str
    name: str
    kind: str = "ml"  # ml | rules | external | pyfunc | onnx | ...
    description: str = ""
    owner: str = ""
    tags: dict = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version number

    def __repr__(self) -> str:
        return f"<RegisteredModel {self.name!r} kind={self.kind} latest={self.latest_version}>"


@dataclass
class ModelVersion(Record):
    """One immutable model package (``manifest_digest``) under a model name.

    ``trusted`` is False when loading needs the caller's trust (pickle-based flavors,
    skops files holding types skops does not know); see ``registry/package.py``.
    """

    id: str
    model_id: str
    name: str
    version: int
    flavor: str
    manifest_digest: str
    run_id: str | None = None
    signature: dict | None = None
    description: str = ""
    tags: dict = field(default_factory=dict)
    lineage: dict = field(default_factory=dict)
    state: str = REGISTERED
    trusted: bool = False
    created_by: str = ""
    created_at: int = 0
    updated_at: int = 0
    aliases: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)

    def __repr__(self) -> str:
        extra = f" aliases={self.aliases}" if self.aliases else ""
        return f"<ModelVersion {self.name!r} v{self.version} {self.flavor} {self.state}{extra}>"


@dataclass
class AliasEvent(Record):
    """One move of an alias: ``old_version`` None means created, ``new_version`` None deleted."""

    id: str
    model_name: str
    alias: str
    old_version: int | None
    new_version: int | None
    changed_by: str
    changed_at: int

    @property
    def changed(self) -> str | None:
        return _iso(self.changed_at)
