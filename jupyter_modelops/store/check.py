"""``check_store``: is this store whole? The database, every blob, and (given by the
caller, which owns it) the audit chain.

Each check yields findings; a finding is a problem unless its level is ``info``. Used by
``jupyter modelops db check``, which exits non-zero when any problem is found.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import sqlalchemy as sa

from . import schema as s

OK, INFO, PROBLEM = "ok", "info", "problem"


@dataclass
class Finding:
    check: str
    level: str
    message: str

    def line(self) -> str:
        mark = {OK: "ok", INFO: "note", PROBLEM: "PROBLEM"}[self.level]
        return f"{mark:7} {self.check}: {self.message}"


@dataclass
class CheckReport:
    target: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == PROBLEM for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == PROBLEM]

    def to_dict(self) -> dict:
        return {"target": self.target, "ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def check_database(store) -> Iterable[Finding]:
    """SQLite's own integrity and foreign-key checks; the schema revision; upgrade markers."""
    from .db import HEAD_REVISION, current_revision
    from .upgrades import read_marker

    db = store.db
    try:
        with db.read() as conn:
            rev = current_revision(conn)
            marker = read_marker(conn)
    except sa.exc.DatabaseError as exc:
        yield Finding("database", PROBLEM, f"cannot be read: {exc.orig or exc}")
        yield Finding("schema", PROBLEM, "unknown (the database cannot be read)")
        return
    if db.dialect == "sqlite":
        try:
            yield from _sqlite_integrity(db)
        except sa.exc.DatabaseError as exc:  # too damaged to even run the checks
            yield Finding("database", PROBLEM, f"cannot be checked: {exc.orig or exc}")
    else:
        yield Finding("database", INFO, f"{db.dialect}: storage integrity is the server's (use its own tools)")
    if marker is not None:
        yield Finding("schema", PROBLEM, f"an upgrade to {marker['to_rev']} started by pid {marker['pid']} on "
                                         f"{marker['host']} did not finish (`jupyter modelops db recover`)")
    elif rev == HEAD_REVISION:
        yield Finding("schema", OK, f"revision {rev} (newest)")
    else:
        yield Finding("schema", PROBLEM, f"revision {rev or '(none)'}, expected {HEAD_REVISION} "
                                         "(`jupyter modelops db upgrade`)")


def _sqlite_integrity(db) -> Iterable[Finding]:
    with db.read() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
        fks = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if rows == ["ok"]:
        yield Finding("database", OK, "integrity_check ok")
    else:
        more = f" (+{len(rows) - 3} more)" if len(rows) > 3 else ""
        yield Finding("database", PROBLEM, f"integrity_check: {'; '.join(rows[:3])}{more}")
    if not fks:
        yield Finding("database", OK, "foreign_key_check ok")
    else:
        tables = sorted({f"{r[0]} -> {r[2]}" for r in fks})
        yield Finding("database", PROBLEM, f"{len(fks)} row(s) point at rows that do not exist "
                                           f"({', '.join(tables[:5])})")


def _referenced_digests(store) -> dict[str, str]:
    """Blob digest -> where the first reference to it is (artifacts, model packages)."""
    refs: dict[str, str] = {}
    with store.db.read() as conn:
        for run_id, path, digest in conn.execute(sa.select(s.artifacts.c.run_id, s.artifacts.c.path,
                                                           s.artifacts.c.digest)):
            refs.setdefault(digest, f"artifact {path!r} of run {run_id[:8]}")
        manifests = conn.execute(sa.select(s.model_versions.c.id, s.model_versions.c.manifest_digest)).all()
    for version_id, digest in manifests:
        refs.setdefault(digest, f"package of model version {version_id[:8]}")
        try:
            manifest = json.loads(store.artifacts.get_bytes(digest))
        except Exception:  # noqa: BLE001 - a missing/corrupt manifest is reported with the blobs
            continue
        files = manifest.get("files") if isinstance(manifest, dict) else None
        for name, f in (files or {}).items():
            if isinstance(f, dict) and isinstance(f.get("digest"), str):
                refs.setdefault(f["digest"], f"file {name!r} of model version {version_id[:8]}")
    return refs


def check_artifacts(store, progress: Callable[[int], None] | None = None) -> Iterable[Finding]:
    """Re-hash every blob; report blobs whose content changed and referenced blobs that are gone."""
    blobs = store.artifacts
    refs = _referenced_digests(store)
    if blobs.local_root is None:
        missing = [d for d in refs if not blobs.exists(d)]
        corrupt = [d for d in refs if d not in missing and not blobs.verify(d)]
        checked = len(refs)
        stale = 0
    else:
        root = blobs.local_root / "sha256"
        corrupt, checked = [], 0
        present = set()
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                h = hashlib.sha256()
                with open(os.path.join(dirpath, name), "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
                checked += 1
                present.add(name)
                if h.hexdigest() != name:
                    corrupt.append(name)
                if progress:
                    progress(checked)
        missing = [d for d in refs if d not in present]
        tmp = blobs.local_root / "tmp"
        stale = sum(1 for _ in tmp.iterdir()) if tmp.is_dir() else 0
    for digest in corrupt:
        yield Finding("artifacts", PROBLEM, f"blob {digest[:12]}… is corrupt (its content no longer matches "
                                            f"its sha256){_where(refs, digest)}")
    for digest in missing:
        yield Finding("artifacts", PROBLEM, f"blob {digest[:12]}… is missing{_where(refs, digest)}")
    if not corrupt and not missing:
        yield Finding("artifacts", OK, f"{checked} blob(s) re-hashed, {len(refs)} referenced, none missing")
    if stale:
        yield Finding("artifacts", INFO, f"{stale} leftover temporary upload file(s) in {blobs.local_root / 'tmp'} "
                                         "(from interrupted writes; safe to delete)")


def _where(refs: dict[str, str], digest: str) -> str:
    return f" — {refs[digest]}" if digest in refs else ""


def check_store(store, extra: Iterable[Callable[[object], Iterable[Finding]]] = ()) -> CheckReport:
    """Run every check; ``extra`` adds checks owned by higher layers (the audit chain)."""
    from .upgrades import sqlite_path

    report = CheckReport(target=str(sqlite_path(store.db) or store.db.url.split("@")[-1]))
    report.findings.extend(check_database(store))
    if any(f.check == "schema" and f.level == PROBLEM for f in report.findings):
        report.findings.append(Finding("artifacts", INFO, "not checked until the schema is current"))
        return report
    for check in (check_artifacts, *extra):
        report.findings.extend(check(store))
    return report
