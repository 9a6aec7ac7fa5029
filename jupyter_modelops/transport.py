"""Transports carry service operations from a ``Client`` to a store.

``LocalTransport`` runs them in-process against an opened ``Store``. The HTTP transport
(against any Jupyter server running the extension) implements the same ``call``.
"""

from __future__ import annotations

from typing import Protocol

from .store.store import Store


class Transport(Protocol):
    name: str

    def call(self, op: str, /, **kwargs): ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class LocalTransport:
    name = "local"

    def __init__(self, store: Store) -> None:
        self.store = store

    def call(self, op: str, /, **kwargs):
        from .services import call

        return call(self.store, op, **kwargs)

    def describe(self) -> str:
        return f"local store {self.store.db.url}"

    def close(self) -> None:
        self.store.close()
