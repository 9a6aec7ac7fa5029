"""Run artifacts: named files whose bytes live in the content-addressed blob store."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from ..errors import InvalidInput, NotFound
from ..ids import normalize_id, now_ms
from ..store import schema as s
from ..store.artifacts import check_digest, validate_name
from ..store.store import Store
from .records import Artifact
from .runs import require_running


def guess_media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def folder_files(folder: Path, base: str) -> list[tuple[Path, str]]:
    """``(file, artifact name)`` for every file under ``folder``, named ``base/relative``.

    Every name is checked before anything is read, so one bad name logs nothing. A
    symbolic link that leads outside the folder is refused: logging a results folder
    must never upload ``~/.ssh`` because someone left a link in it. Links that stay
    inside are skipped (what they point to is logged under its own name)."""
    root = folder.resolve()
    out: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if target != root and root not in target.parents:
                    rel = path.relative_to(folder).as_posix()
                    raise InvalidInput(f"{rel!r} in {folder} is a symbolic link to {target}, outside "
                                       "the folder; copy the file in or remove the link")
                continue
            if path.is_file():
                out.append((path, validate_name(f"{base}/{path.relative_to(folder).as_posix()}")))
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
    return sorted(out, key=lambda pair: pair[1])


def record_artifact(store: Store, run_id: str, name: str, digest: str, size: int,
                    media_type: str | None = None) -> Artifact:
    """Name an already stored blob inside a run (replacing an earlier file of that name)."""
    run_id = normalize_id(run_id, "run id")
    name = validate_name(name)
    check_digest(digest)
    if not store.artifacts.exists(digest):
        raise NotFound(f"blob {digest[:12]}… is not in the artifact store; upload it first")
    rec = {"run_id": run_id, "path": name, "digest": digest, "size": int(size),
           "media_type": media_type or guess_media_type(name), "created_at": now_ms()}
    a = s.artifacts
    with store.db.write() as conn:
        require_running(conn, run_id)
        conn.execute(a.delete().where(a.c.run_id == run_id, a.c.path == name))
        conn.execute(a.insert().values(**rec))
    rec.pop("run_id")
    return Artifact(**rec)


def put_artifact(store: Store, run_id: str, name: str, data: bytes,
                 media_type: str | None = None) -> Artifact:
    name = validate_name(name)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"artifact data must be bytes, not {type(data).__name__}")
    # Check the run before writing the blob so a refused write stores nothing.
    with store.db.read() as conn:
        require_running(conn, normalize_id(run_id, "run id"))
    digest, size = store.artifacts.put_bytes(bytes(data))
    return record_artifact(store, run_id, name, digest, size, media_type)


def list_artifacts(store: Store, run_id: str, prefix: str = "") -> list[Artifact]:
    run_id = normalize_id(run_id, "run id")
    a = s.artifacts
    q = sa.select(a).where(a.c.run_id == run_id)
    if prefix:
        prefix = validate_name(prefix)
        q = q.where(sa.or_(a.c.path == prefix, a.c.path.startswith(prefix + "/", autoescape=True)))
    with store.db.read() as conn:
        rows = conn.execute(q.order_by(a.c.path)).all()
        if not rows and conn.execute(sa.select(s.runs.c.id).where(s.runs.c.id == run_id)).first() is None:
            raise NotFound(f"no run with id {run_id}")
    return [Artifact(r.path, r.digest, r.size, r.media_type, r.created_at) for r in rows]


def get_artifact(store: Store, run_id: str, name: str) -> Artifact:
    run_id = normalize_id(run_id, "run id")
    name = validate_name(name)
    a = s.artifacts
    with store.db.read() as conn:
        r = conn.execute(sa.select(a).where(a.c.run_id == run_id, a.c.path == name)).first()
    if r is None:
        raise NotFound(f"run {run_id[:8]} has no artifact {name!r}")
    return Artifact(r.path, r.digest, r.size, r.media_type, r.created_at)


def read_artifact(store: Store, run_id: str, name: str) -> bytes:
    """The artifact's bytes, verified against their sha256."""
    return store.artifacts.get_bytes(get_artifact(store, run_id, name).digest)


def stream_artifact(store: Store, run_id: str, name: str) -> tuple[Artifact, Iterator[bytes]]:
    art = get_artifact(store, run_id, name)
    return art, store.artifacts.iter_chunks(art.digest)
