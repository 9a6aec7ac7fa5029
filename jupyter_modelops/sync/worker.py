"""``SyncWorker``: the background sync of a linked store (run by the Jupyter server extension).

Every ``interval`` seconds it runs one ``Syncer.sync()``. While the registry is unreachable
(or answers with errors) it backs off exponentially — ``min(interval, 5 s)`` doubled per
failure, up to ``max_backoff`` — with a little jitter, and returns to the normal interval
after the first success. ``run_once()`` syncs now (what ``%modelops sync`` and the
sidebar's button call when a worker runs in the process); ``trigger()`` wakes the loop.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Callable

from ..ids import now_ms

log = logging.getLogger("jupyter_modelops.sync")

_workers: dict[str, "SyncWorker"] = {}
_workers_lock = threading.Lock()


def worker_for(store) -> "SyncWorker | None":
    """The running worker of ``store`` in this process, if any."""
    with _workers_lock:
        w = _workers.get(store.db.url)
    return w if w is not None and w.running else None


class SyncWorker:
    def __init__(self, store, url: str, token: str | None = None, interval: float = 30.0, *,
                 max_backoff: float | None = None, first_delay: float = 1.0, **syncer_options) -> None:
        # ``store`` may be a callable that opens it (lazily, on the worker thread).
        self._store_arg = store
        self._store = None if callable(store) and not hasattr(store, "db") else store
        self.url = url
        self.token = token
        self.interval = max(0.05, float(interval))
        self.retry_base = min(self.interval, 5.0)
        self.max_backoff = float(max_backoff) if max_backoff is not None else max(self.interval, 300.0)
        self.first_delay = first_delay
        self.syncer_options = syncer_options
        self.failures = 0
        self.last_report = None
        self.last_error: str | None = None
        self.next_attempt: int | None = None
        self._syncer = None
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ control
    @property
    def store(self):
        if self._store is None:
            factory: Callable = self._store_arg
            self._store = factory()
        return self._store

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped.is_set()

    def start(self) -> "SyncWorker":
        if self._thread is not None:
            return self
        self._stopped.clear()
        if self._store is not None:
            with _workers_lock:
                _workers.setdefault(self._store.db.url, self)
        self._thread = threading.Thread(target=self._loop, name="modelops-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with _workers_lock:
            if self._store is not None and _workers.get(self._store.db.url) is self:
                del _workers[self._store.db.url]
        if self._syncer is not None:
            self._syncer.close()
            self._syncer = None

    def trigger(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ one sync
    def run_once(self):
        """Sync now; returns the ``SyncReport`` (raises what the sync raised)."""
        from .engine import Syncer

        with self._lock:
            if self._syncer is None:
                self._syncer = Syncer(self.store, self.url, self.token, **self.syncer_options)
                with _workers_lock:
                    _workers.setdefault(self.store.db.url, self)
            try:
                report = self._syncer.sync()
            except Exception as exc:
                from .engine import describe_error

                self.failures += 1
                self.last_error = describe_error(exc)
                raise
            self.failures = 0
            self.last_error = None
            self.last_report = report
            return report

    def delay(self) -> float:
        if self.failures == 0:
            return self.interval
        base = min(self.max_backoff, self.retry_base * (2 ** (self.failures - 1)))
        return base * random.uniform(0.9, 1.1)

    def _loop(self) -> None:
        wait = self.first_delay
        while not self._stopped.is_set():
            self.next_attempt = now_ms() + int(wait * 1000)
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopped.is_set():
                break
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - offline is normal: log, back off, retry
                log.info("sync with %s failed (%d in a row): %s", self.url, self.failures, self.last_error
                         or exc)
            wait = self.delay()
        self.next_attempt = None

    def info(self) -> dict:
        return {"running": self.running, "interval": self.interval, "failures": self.failures,
                "next_attempt": self.next_attempt, "backoff": self.delay() if self.failures else 0.0}


def start_for_extension(app) -> "SyncWorker | None":
    """Start the background sync of a Jupyter server extension's store when a registry is
    configured and the server is not itself the registry; the store opens on the worker
    thread, so Jupyter starts as fast as before. Returns the worker (stop it at shutdown)."""
    if getattr(app, "registry", False):
        return None
    conf = app.modelops_config()
    url, token = conf.resolved_registry()
    if not url:
        return None
    worker = SyncWorker(lambda: app.store, url, token, conf.sync_interval)
    return worker.start()
