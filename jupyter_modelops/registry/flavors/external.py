"""External models (vendor black boxes, C/C++ binaries): a reference, never code we run."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import InvalidInput
from ..external import ExternalHandle, ExternalModel

NAME = "external"
KIND = "external"
FILE = "external.json"


def can_save(obj) -> bool:
    return isinstance(obj, ExternalModel)


def save(obj: ExternalModel, folder: Path, **opts) -> dict:
    if opts:
        raise InvalidInput(f"the external flavor takes no options (got {', '.join(opts)})")
    record = obj.checked()
    (folder / FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    return {"file": FILE, "uri": record["uri"], "sha256": record["sha256"],
            "verified": record["verified"]}


def requires_trust(info: dict) -> bool:
    return False


def load(folder: Path, info: dict, *, trusted=False):
    try:
        record = json.loads((folder / str(info.get("file", FILE))).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the external model description is not valid JSON ({exc})") from None
    return ExternalHandle(record)
