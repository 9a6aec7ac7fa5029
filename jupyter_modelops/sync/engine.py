"""``Syncer``: one sync of a linked local store with the shared registry — push, then pull.

Push: the oldest pending outbox entries are sent in batches (about ``batch_bytes`` of
JSON, zlib-compressed, at most ``batch_entries``). Before a batch, the blobs its entries
name (artifacts; a version's manifest and the files it lists) that the registry lacks are
uploaded. The registry applies a batch exactly once and answers with the outcomes; the
local store then, in one transaction, drops the applied entries, keeps refused ones as
``rejected`` (with the registry's error), takes the canonical number of every new version
and the registry's id of every model both sides created. If the answer is lost (timeout,
crash), the same entries are sent again and the registry recognises them.

Pull: pages of the registry's change feed are merged (``feed.apply_page``), fetching the
blobs of versions this store does not have yet first. Pull runs after a push that emptied
the queue; changes queued meanwhile keep what they edit (aliases, descriptions, tags) from
being overwritten until they have been pushed (``feed._pending_edits``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field

from ..errors import InvalidInput, NotFound, StoreUnavailable
from ..ids import now_ms
from . import feed, outbox
from .apply import encode_batch, op_summary

log = logging.getLogger("jupyter_modelops.sync")

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def store_lock(store) -> threading.Lock:
    """One sync at a time per store in this process."""
    with _locks_guard:
        return _locks.setdefault(store.db.url, threading.Lock())


@dataclass
class SyncReport:
    pushed: int = 0
    rejected: int = 0
    duplicates: int = 0
    batches: int = 0
    blobs_sent: int = 0
    pulled: int = 0
    blobs_fetched: int = 0
    pending: int = 0
    seconds: float = 0.0
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        parts = [f"pushed {self.pushed} change(s) in {self.batches} batch(es)"]
        if self.blobs_sent:
            parts.append(f"uploaded {self.blobs_sent} blob(s)")
        if self.duplicates:
            parts.append(f"{self.duplicates} already on the registry")
        if self.rejected:
            parts.append(f"{self.rejected} refused by the registry")
        parts.append(f"pulled {self.pulled} record(s)")
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


class Syncer:
    """Sync ``store`` with the registry at ``url`` (a ``jupyter modelops serve`` server)."""

    def __init__(self, store, url: str, token: str | None = None, *, transport=None,
                 batch_bytes: int = 4 << 20, batch_entries: int = 5000, page: int = 1000,
                 timeout: float = 120.0) -> None:
        if transport is None:
            if not url:
                raise InvalidInput("no registry configured: set c.ModelOpsConfig.registry_url or "
                                   "$JUPYTER_MODELOPS_REGISTRY_URL")
            from ..http_transport import HttpTransport

            transport = HttpTransport(url, token=token, timeout=timeout)
        self.store = store
        self.url = url
        self.http = transport
        self.batch_bytes = batch_bytes
        self.batch_entries = batch_entries
        self.page = page

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ one sync
    def sync(self, *, pull: bool = True) -> SyncReport:
        """Push everything pending, then pull; records the outcome in the sync status."""
        report = SyncReport()
        t0 = time.monotonic()
        with store_lock(self.store):
            record_attempt(self.store)
            try:
                self.push(report)  # returns once what was queued at its start is pushed
                if pull:
                    self.pull(report)
            except Exception as exc:
                report.seconds = time.monotonic() - t0
                record_outcome(self.store, self.url, report, exc)
                if isinstance(exc, StoreUnavailable):
                    self.http.close()  # no kept-alive connection to a restarted server next time
                raise
            report.seconds = time.monotonic() - t0
            report.pending = outbox.pending_count(self.store)[0]
            record_outcome(self.store, self.url, report, None)
        return report

    # ------------------------------------------------------------------ push
    def push(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        outbox.sweep_reaped_runs(self.store)
        origin = outbox.origin_id(self.store)
        upto = outbox.last_seq(self.store)  # what was queued when the push began: bounded work
        cuts = 0
        while True:
            batch = outbox.read_batch(self.store, max_bytes=self.batch_bytes, max_entries=self.batch_entries,
                                      upto=upto)
            if not batch:
                return report
            report.blobs_sent += self._upload_blobs(batch)
            text = '{"entries":[' + ",".join(
                f'{{"id":"{e["id"]}","op":"{e["op"]}","created_at":{int(e["created_at"])},"kwargs":{e["payload"]}}}'
                for e in batch) + "]}"
            data = encode_batch(text)
            try:
                answer = self.http.call("sync_apply", batch=data, origin=origin,
                                        entries=len(batch), ops=op_summary(batch))
                cuts = 0
            except (InvalidInput, StoreUnavailable) as exc:
                # Too large for the registry: a 413, or (when it refuses before reading the
                # body) the connection cut while sending. Send smaller batches; an entry
                # that alone is too large is refused and kept, so the queue moves on.
                refused = isinstance(exc, InvalidInput) and "larger than" in exc.message
                cut = isinstance(exc, StoreUnavailable) and _cut(exc.message) and len(data) > 4096
                if not (refused or cut):
                    raise
                self.http.close()  # the registry closes such connections: start afresh
                if len(batch) > 1:
                    self.batch_bytes = max(16 << 10, self.batch_bytes // 2)
                    self.batch_entries = max(1, min(self.batch_entries, len(batch)) // 2)
                    continue
                if cut and not self._registry_answers():
                    raise  # the network or the registry is down: this change is not to blame
                cuts += 1
                if cut and cuts < 3:
                    continue
                answer = {"results": {batch[0]["id"]: {
                    "status": "rejected",
                    "error": exc.message if refused else f"the registry cut the connection {cuts} times while "
                                                        f"receiving this change ({len(data)} bytes): too large"}}}
                cuts = 0
            self._acknowledge(batch, answer, report)
            report.batches += 1

    def _registry_answers(self) -> bool:
        """After an upload was cut off: does the registry still answer a small request?
        Only then can the size of the change be what it refused."""
        try:
            self.http.call("sync_status")
            return True
        except (StoreUnavailable, OSError):
            return False

    def _blob_digests(self, batch: list[dict]) -> list[str]:
        out: dict[str, None] = {}
        for e in batch:
            if e["op"] == "record_artifact":
                out[outbox.loads(e["payload"])["digest"]] = None
            elif e["op"] == "create_version":
                digest = outbox.loads(e["payload"])["manifest_digest"]
                for d in self._manifest_files(digest):
                    out[d] = None
                out[digest] = None  # after the files it lists
        return list(out)

    def _manifest_files(self, digest: str) -> list[str]:
        try:
            manifest = json.loads(self.store.artifacts.get_bytes(digest))
        except Exception:  # noqa: BLE001 - not a manifest we can read: send the blob alone
            return []
        files = manifest.get("files") if isinstance(manifest, dict) else None
        return [f["digest"] for f in (files or {}).values() if isinstance(f, dict) and isinstance(f.get("digest"), str)]

    def _upload_blobs(self, batch: list[dict]) -> int:
        digests = self._blob_digests(batch)
        if not digests:
            return 0
        missing = set(self.http.call("sync_missing_blobs", digests=digests))
        sent = 0
        for digest in digests:  # in order: a manifest after its files
            if digest in missing and self.store.artifacts.exists(digest):
                self.http.call("put_blob", data=self.store.artifacts.get_bytes(digest))
                sent += 1
        return sent

    def _acknowledge(self, batch: list[dict], answer: dict, report: SyncReport) -> None:
        results = answer.get("results") or {}
        done, refused = [], {}
        numbers: dict[str, int] = {}
        model_ids: dict[str, str] = {}
        for e in batch:
            out = results.get(e["id"]) or {}
            if out.get("duplicate"):
                report.duplicates += 1
            if out.get("status") == "rejected":
                refused[e["id"]] = out.get("error") or "refused by the registry"
                continue
            done.append(e["id"])
            res = out.get("result") or {}
            if e["op"] in ("create_version", "create_model") and res:
                kw = outbox.loads(e["payload"])
                local_model = kw.get("model_id") if e["op"] == "create_version" else kw.get("id")
                if res.get("model_id") and local_model and res["model_id"] != local_model:
                    model_ids[local_model] = res["model_id"]
                if e["op"] == "create_version" and res.get("version"):
                    numbers[kw["id"]] = int(res["version"])
        with self.store.db.write() as conn:
            outbox.remove(conn, done)
            outbox.mark_rejected(conn, refused)
            for old, new in model_ids.items():
                feed.rekey_model(conn, old, new)
            for vid, number in numbers.items():
                feed.set_canonical_number(conn, vid, number)
        report.pushed += len(done)
        report.rejected += len(refused)
        for entry_id, error in list(refused.items())[:5]:
            log.warning("the registry refused sync entry %s: %s", entry_id[:8], error)

    # ------------------------------------------------------------------ pull
    def pull(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        high: dict = dict(outbox.get_state(self.store, "pull_high", {}) or {})
        cursors = {t: [max(0, int(ms) - feed.OVERLAP_MS), ""] for t, ms in high.items()}
        while True:
            page = self.http.call("sync_changes", cursors=cursors, limit=self.page)
            report.blobs_fetched += self._fetch_blobs(page, report)
            report.pulled += feed.apply_page(self.store, page)
            more = False
            for name, info in page.get("tables", {}).items():
                cursors[name] = info["cursor"]
                if info["rows"]:
                    high[name] = max(int(high.get(name, 0)), int(info["cursor"][0]))
                more = more or bool(info.get("more"))
            if not more:
                break
        with self.store.db.write() as conn:
            outbox.set_state(conn, "pull_high", high)
        return report

    def _fetch_blobs(self, page: dict, report: SyncReport) -> int:
        fetched = 0
        for row in feed.versions_in(page):
            digest = row.get("manifest_digest")
            if not digest:
                continue
            try:
                if not self.store.artifacts.exists(digest):
                    self.store.artifacts.put_bytes(self.http.call("get_blob", digest=digest))
                    fetched += 1
                for d in self._manifest_files(digest):
                    if not self.store.artifacts.exists(d):
                        self.store.artifacts.put_bytes(self.http.call("get_blob", digest=d))
                        fetched += 1
            except NotFound as exc:
                report.warnings.append(f"version {row.get('id', '')[:8]}: {exc.message}")
        return fetched


def _cut(message: str) -> bool:
    m = message.lower()
    return any(w in m for w in ("reset", "broken pipe", "disconnected", "closed"))


# --------------------------------------------------------------------------- status


def record_attempt(store) -> None:
    with store.db.write() as conn:
        st = dict(outbox.get_state(conn, "status", {}) or {})
        st["last_attempt"] = now_ms()
        outbox.set_state(conn, "status", st)


def record_outcome(store, url: str, report: SyncReport, error: BaseException | None) -> None:
    try:
        with store.db.write() as conn:
            st = dict(outbox.get_state(conn, "status", {}) or {})
            st["registry_url"] = url
            st["last_report"] = report.to_dict()
            if error is None:
                st["last_success"] = now_ms()
                st["last_error"] = None
            else:
                st["last_error"] = describe_error(error)
                st["last_error_at"] = now_ms()
                st["failures"] = int(st.get("failures") or 0) + 1
            if error is None:
                st["failures"] = 0
            outbox.set_state(conn, "status", st)
    except Exception:  # noqa: BLE001 - the local store itself failing is reported by the caller
        log.exception("could not record the sync status")


def describe_error(exc: BaseException) -> str:
    from ..errors import ModelOpsError

    if isinstance(exc, ModelOpsError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"[:500]
