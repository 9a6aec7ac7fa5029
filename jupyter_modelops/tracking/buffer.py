"""The buffered metric write path.

Durability contract (also in the README):

* ``log_metric`` appends to memory and returns; it never waits for the disk.
* A background thread writes pending points in batches every ``flush_interval`` seconds
  (default 1 s) or as soon as ``batch_size`` points are pending.
* ``end_run``, ``mo.flush()`` and normal interpreter exit write everything pending
  before they return. After ``flush()`` returns, the points survive a crash of the
  process (SQLite WAL with synchronous=NORMAL survives a process kill; a power loss may
  lose the last transactions).
* A hard kill (SIGKILL, OOM) loses at most the points logged since the last flush, i.e.
  within the last interval; the run is then marked KILLED on the next open.

The buffer is transport-agnostic: its ``sink`` is the local service or an HTTP call.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import Callable, Sequence

_buffers: "weakref.WeakSet[MetricBuffer]" = weakref.WeakSet()


class MetricBuffer:
    def __init__(self, sink: Callable[[Sequence[tuple]], int], *, flush_interval: float = 1.0,
                 batch_size: int = 20_000, max_pending: int = 1_000_000) -> None:
        self._sink = sink
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._points: list[tuple] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.error: BaseException | None = None
        self.written = 0
        _buffers.add(self)

    def append(self, point: tuple) -> None:
        with self._lock:
            self._points.append(point)
            n = len(self._points)
        if self._thread is None:
            self._start()
        if n >= self.batch_size:
            if n >= self.max_pending:
                self.flush()  # backpressure: bound memory when the sink is slower than the caller
            elif not self._wake.is_set():  # one wake-up per batch, not one per point
                self._wake.set()

    def extend(self, points: Sequence[tuple]) -> None:
        with self._lock:
            self._points.extend(points)
            n = len(self._points)
        if self._thread is None:
            self._start()
        if n >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._points)

    def flush(self, raise_errors: bool = True) -> int:
        """Write everything pending now. Re-raises a failure of an earlier background write."""
        with self._flush_lock:
            with self._lock:
                batch, self._points = self._points, []
            written = 0
            try:
                for i in range(0, len(batch), 100_000):
                    written += self._sink(batch[i:i + 100_000])
            except BaseException as exc:
                self.error = exc
            self.written += written
            err = self.error
            if raise_errors:  # a background flush keeps the error for the next flush()
                self.error = None
        if err is not None and raise_errors:
            raise err
        return written

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._loop, name="modelops-metric-flush", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._points:
                self.flush(raise_errors=False)  # the error is kept for the next flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush(raise_errors=False)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._points = []  # the parent owns what it had buffered


def _flush_all_at_exit() -> None:
    for buf in list(_buffers):
        try:
            buf.close()
        except Exception:
            pass


def _reset_in_child() -> None:
    for buf in list(_buffers):
        buf._after_fork()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
