"""Rules tables (see ``registry/rules.py``): stored as JSON, validated on save and on load."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import InvalidInput
from ..rules import looks_like_table, parse_text, read_table

NAME = "rules"
KIND = "rules"
FILE = "rules.json"


def can_save(obj) -> bool:
    return looks_like_table(obj)


def save(obj, folder: Path, **opts) -> dict:
    if opts:
        raise InvalidInput(f"the rules flavor takes no options (got {', '.join(opts)})")
    table = read_table(obj)
    text = json.dumps(table.to_dict(), indent=2, ensure_ascii=False, default=str)
    (folder / FILE).write_text(text, encoding="utf-8")
    return {"file": FILE, "hit_policy": table.hit_policy, "output": table.output_name,
            "rules": len(table.rules)}


def requires_trust(info: dict) -> bool:
    return False


def default_signature(obj, info: dict) -> dict:
    return read_table(obj).signature()


def load(folder: Path, info: dict, *, trusted=False):
    return read_table(parse_text((folder / str(info.get("file", FILE))).read_bytes()))
