"""References to models that run outside this process (vendor black boxes, C/C++).

The registry cannot open them, but it can still govern them: it records where they live,
the sha256 of the exact binary, and the interface their owners declare. Where the file
is reachable as a local path, its hash is checked at registration, so the inventory never
records a binary other than the one that was reviewed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IntegrityFailure, InvalidInput, PolicyViolation

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
INTERFACE_KEYS = ("inputs", "outputs", "runtime", "vendor", "notes")


@dataclass
class ExternalModel:
    """``register_model(ExternalModel(uri=..., sha256=..., interface={...}), "name")``.

    ``interface`` describes how to call it: ``inputs``/``outputs`` (lists of
    ``{name, type}`` or free text), ``runtime`` (e.g. "c++17 shared library"),
    ``vendor`` and ``notes``. ``sha256`` may be omitted for a local file (it is computed).
    """

    uri: str
    sha256: str | None = None
    interface: dict = field(default_factory=dict)

    def local_path(self) -> Path | None:
        uri = self.uri
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        elif "://" in uri:
            return None
        return Path(uri).expanduser()

    def checked(self) -> dict:
        """The JSON record to store, after validating it and verifying the local file."""
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise InvalidInput("an external model needs a uri (a path, file://, s3://, https://...)")
        if not isinstance(self.interface, dict):
            raise InvalidInput("an external model's interface must be a mapping")
        try:
            interface = json.loads(json.dumps(self.interface))
        except (TypeError, ValueError):
            raise InvalidInput("an external model's interface must hold plain JSON values") from None
        declared = self.sha256.strip().lower() if isinstance(self.sha256, str) else self.sha256
        if declared is not None and not _SHA256.match(declared):
            raise InvalidInput(f"sha256 {self.sha256!r} is not 64 hex digits")
        path = self.local_path()
        actual = None
        if path is not None and path.is_file():
            actual = file_sha256(path)
            if declared is not None and actual != declared:
                raise IntegrityFailure(
                    f"external model file {path} has sha256 {actual[:12]}…, not the declared "
                    f"{declared[:12]}…: it is not the binary that was described", path=str(path))
        if declared is None and actual is None:
            raise InvalidInput(f"give the sha256 of {self.uri}: it cannot be read from here to compute it")
        return {"uri": self.uri, "sha256": declared or actual, "interface": interface,
                "verified": actual is not None}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class ExternalHandle:
    """What loading an external model gives: its description, and a refusal to predict here."""

    def __init__(self, record: dict) -> None:
        self.record = record

    @property
    def uri(self) -> str:
        return self.record.get("uri", "")

    @property
    def sha256(self) -> str:
        return self.record.get("sha256", "")

    @property
    def interface(self) -> dict:
        return dict(self.record.get("interface") or {})

    def describe(self) -> dict:
        return {"uri": self.uri, "sha256": self.sha256, "verified": self.record.get("verified", False),
                **{"interface": self.interface}}

    def predict(self, X):
        runtime = self.interface.get("runtime")
        where = f" ({runtime})" if runtime else ""
        raise PolicyViolation(
            f"external model {self.uri}{where} runs outside this process; deploy it to its "
            "target and call it there (describe() shows its interface)"
        )

    def __repr__(self) -> str:
        return f"<ExternalModel {self.uri} sha256={self.sha256[:12]}…>"
