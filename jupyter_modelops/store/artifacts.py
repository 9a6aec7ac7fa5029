"""Content-addressed artifact blobs.

Blobs are stored once per sha256 under ``sha256/ab/<digest>`` in a local folder or any
fsspec URL. Writes go to a temporary name and are renamed into place, so a crash or a
full disk never leaves a partial blob under a real digest. Reads verify the hash, so a
tampered or truncated blob is reported instead of returned.

Artifact *names* (the paths users see) live in the metadata store; ``validate_name``
keeps them relative, normalised and free of ``..`` and NUL.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import posixpath
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import IntegrityFailure, InvalidInput, NotFound, StoreUnavailable

CHUNK = 1 << 20
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME = 1024


def validate_name(name: str) -> str:
    """Return the normalised artifact name or raise ``InvalidInput`` saying why."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("artifact name must be a non-empty string")
    if "\x00" in name:
        raise InvalidInput("artifact name must not contain NUL bytes")
    if "\\" in name:
        raise InvalidInput(f"artifact name {name!r} must use '/' as separator")
    if name.startswith("/") or _DRIVE.match(name):
        raise InvalidInput(f"artifact name {name!r} must be relative, not absolute")
    parts = name.split("/")
    if any(p == ".." for p in parts):
        raise InvalidInput(f"artifact name {name!r} must not contain '..'")
    parts = [p for p in parts if p not in ("", ".")]
    if not parts:
        raise InvalidInput(f"artifact name {name!r} names no file")
    clean = posixpath.join(*parts)
    if len(clean) > MAX_NAME:
        raise InvalidInput(f"artifact name is longer than {MAX_NAME} characters")
    if any(ord(c) < 32 for c in clean):
        raise InvalidInput(f"artifact name {name!r} contains control characters")
    return clean


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(f"{digest!r} is not a sha256 digest (64 lowercase hex digits)")
    return digest


class ArtifactStore:
    """Blob storage keyed by sha256; local folders fast-path, anything else via fsspec."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        if "://" in uri and not uri.startswith("file://"):
            import fsspec

            self._fs, self._root = fsspec.core.url_to_fs(uri)
            self.local_root = None
        else:
            path = uri[len("file://"):] if uri.startswith("file://") else uri
            self.local_root = Path(path).expanduser().resolve()
            self._fs = None
            self._root = str(self.local_root)

    # ------------------------------------------------------------------ layout
    def _rel(self, digest: str) -> str:
        check_digest(digest)
        return f"sha256/{digest[:2]}/{digest}"

    def _local_path(self, digest: str) -> Path:
        return self.local_root / self._rel(digest)

    # ------------------------------------------------------------------ writes
    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: str | os.PathLike) -> tuple[str, int]:
        try:
            with open(path, "rb") as fh:
                return self.put_stream(fh)
        except FileNotFoundError:
            raise NotFound(f"no such file: {os.fspath(path)}") from None
        except IsADirectoryError:
            raise InvalidInput(f"{os.fspath(path)} is a folder; use log_artifact on it") from None

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream; returns ``(sha256, size)``. Never leaves a partial blob."""
        if self.local_root is None:
            return self._put_remote(stream)
        tmp_dir = self.local_root / "tmp"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        except OSError as exc:
            raise StoreUnavailable(_write_error(exc, tmp_dir)) from exc
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            final = self._local_path(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            # Always rename the verified copy into place: it also heals a blob that was
            # corrupted on disk since it was first stored.
            os.replace(tmp, final)
            return digest, size
        except OSError as exc:
            with _suppress():
                os.unlink(tmp)
            raise StoreUnavailable(_write_error(exc, self.local_root)) from exc
        except BaseException:
            with _suppress():
                os.unlink(tmp)
            raise

    def _put_remote(self, stream: BinaryIO) -> tuple[str, int]:
        data = stream.read()
        digest = hashlib.sha256(data).hexdigest()
        path = f"{self._root.rstrip('/')}/{self._rel(digest)}"
        if not self._fs.exists(path):
            tmp = f"{self._root.rstrip('/')}/tmp/{digest}.{os.getpid()}"
            self._fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self._fs.makedirs(posixpath.dirname(tmp), exist_ok=True)
            self._fs.pipe_file(tmp, data)
            self._fs.mv(tmp, path)
        return digest, len(data)

    # ------------------------------------------------------------------ reads
    def exists(self, digest: str) -> bool:
        if self.local_root is None:
            return self._fs.exists(f"{self._root.rstrip('/')}/{self._rel(digest)}")
        return self._local_path(digest).is_file()

    def _open_raw(self, digest: str) -> BinaryIO:
        try:
            if self.local_root is None:
                return self._fs.open(f"{self._root.rstrip('/')}/{self._rel(digest)}", "rb")
            return open(self._local_path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"artifact blob {digest[:12]}… is missing from {self.uri}") from None

    def iter_chunks(self, digest: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """Stream a blob; raises ``IntegrityFailure`` at the end if the hash differs."""
        h = hashlib.sha256()
        with self._open_raw(digest) as fh:
            while chunk := fh.read(chunk_size):
                h.update(chunk)
                yield chunk
        if h.hexdigest() != digest:
            raise IntegrityFailure(
                f"artifact blob {digest[:12]}… failed verification: its content was changed",
                digest=digest,
            )

    def get_bytes(self, digest: str) -> bytes:
        return b"".join(self.iter_chunks(digest))

    def verify(self, digest: str) -> bool:
        try:
            for _ in self.iter_chunks(digest):
                pass
            return True
        except (IntegrityFailure, NotFound):
            return False

    def copy_to(self, digest: str, dest: str | os.PathLike) -> None:
        """Write a verified copy to ``dest`` (removed again if verification fails)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(dest, "wb") as out:
                for chunk in self.iter_chunks(digest):
                    out.write(chunk)
        except BaseException:
            with _suppress():
                dest.unlink()
            raise


def _write_error(exc: OSError, where) -> str:
    """One line that says what happened and where (a full disk is the usual cause)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"could not write artifact: disk full ({exc.strerror or 'no space left'}) in {where}"
    return f"could not write artifact in {where}: {exc.strerror or exc}"


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)
