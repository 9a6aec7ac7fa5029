"""``Store``: the metadata database plus the artifact blobs, opened together.

Service functions take a ``Store`` as their first argument; nothing else in the package
touches the engine directly. ``store.user`` and ``store.roles`` say who is acting: the
embedded store acts as its single local user with every role, while the server hands
each request a view of the shared store as the authenticated user (``as_actor``), so
the same service code enforces roles for every client.
"""

from __future__ import annotations

import os
import socket

from ..config import ModelOpsConfig, load_config
from .artifacts import ArtifactStore
from .db import Database

ROLES = ("viewer", "data_scientist", "validator", "approver", "deployer", "admin")
ALL_ROLES = frozenset(ROLES)


class Store:
    """An opened store. Cheap to share between threads; one per process and location."""

    def __init__(self, db_url: str, artifact_uri: str, *, user: str, migrate: bool = True,
                 roles: frozenset[str] | None = None) -> None:
        self.db = Database(db_url, migrate=migrate)
        self.artifacts = ArtifactStore(artifact_uri)
        self.user = user
        self.roles = ALL_ROLES if roles is None else frozenset(roles)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        # False on the shared registry: ops that execute notebooks or pipelines refuse there.
        self.runs_code = True
        # Where relative notebook and pipeline paths given to ops start (None: the process's
        # working folder). Inside jupyter lab: the server's root folder, as the file browser shows.
        self.workdir: str | None = None

    def as_actor(self, user: str, roles) -> "Store":
        """The same store, acting as ``user`` with ``roles`` (shares engine and blobs)."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view.user = user
        view.roles = frozenset(roles)
        return view

    @classmethod
    def open(cls, config: ModelOpsConfig | None = None, **overrides) -> "Store":
        """Open (creating and upgrading as needed) the store that ``config`` points at.

        Runs left RUNNING on this host by a process that no longer exists are marked
        KILLED here, so a crash is visible the next time anyone looks.
        """
        conf = config or load_config(**overrides)
        store = cls(conf.resolved_db_url(), conf.resolved_artifact_uri(), user=conf.user)
        from ..tracking.runs import reap_dead_runs

        reap_dead_runs(store)
        return store

    @property
    def url(self) -> str:
        return self.db.url

    def close(self) -> None:
        self.db.close()

    def __repr__(self) -> str:
        return f"<Store {self.db.url} artifacts={self.artifacts.uri}>"
