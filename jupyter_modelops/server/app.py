"""``ModelOpsExtension``: the REST API as a Jupyter server extension.

Two ways to run it:

- inside ``jupyter lab`` / ``jupyter server`` (enabled by the installed
  ``jupyter_server_config.d/jupyter_modelops.json``): the API serves the user's embedded
  store; Jupyter's token and identity apply and the store acts as its owner (the
  ``ModelOpsConfig.user``, the same identity the notebook's ``mo.*`` records) with every
  role. The store is opened on the first request, so Jupyter starts as fast as before.
- standalone, as the team's shared registry (``jupyter modelops serve``, which calls
  ``ModelOpsExtension.launch_instance``): users authenticate with API tokens and act with
  their roles (``auth.py``); the store is opened, and migrated, at start; nothing but the
  ModelOps API is served.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, Integer, default

from . import API_PREFIX

MiB = 1 << 20


class RegistryServerApp(ServerApp):
    """The Jupyter server of the standalone registry: it loads no other extension (not
    even those enabled in config files, such as jupyterlab), so it serves only the API."""

    name = "jupyter-modelops-registry"

    def init_server_extensions(self) -> None:
        self.jpserver_extensions = {"jupyter_modelops": True}
        super().init_server_extensions()


class ModelOpsExtension(ExtensionApp):
    """The ModelOps REST API (``/modelops/api/v1``)."""

    name = "modelops"
    description = "The jupyter-modelops REST API and shared model registry."
    extension_url = API_PREFIX + "/whoami"
    load_other_extensions = False
    serverapp_class = RegistryServerApp
    # Applied to the server only when launched standalone, i.e. as the shared registry.
    serverapp_config = {
        "identity_provider_class": "jupyter_modelops.server.auth.RegistryIdentityProvider",
        "authorizer_class": "jupyter_modelops.server.auth.RegistryAuthorizer",
        "terminals_enabled": False,
        "reraise_server_extension_failures": True,  # no store, no registry: exit with the error
    }
    aliases = {
        "home": "ModelOpsConfig.home",
        "db": "ModelOpsConfig.db_url",
        "artifacts": "ModelOpsConfig.artifact_uri",
    }

    max_json_body_size = Integer(
        8 * MiB, help="Largest JSON request body accepted (bytes); larger ones get 413."
    ).tag(config=True)
    max_upload_size = Integer(
        64 * MiB,
        help="Largest raw upload (artifact or blob, bytes); larger ones get 413. Bigger "
        "artifacts can still be written to a store the client opens directly.",
    ).tag(config=True)
    worker_threads = Integer(
        8, help="Threads that run store operations, so the event loop never waits on the database."
    ).tag(config=True)
    open_store_at_start = Bool(
        help="Open (and migrate) the store when the server starts. Default: only as the "
        "shared registry; inside jupyter lab the store opens on the first request."
    ).tag(config=True)

    @default("open_browser")
    def _default_open_browser(self) -> bool:
        return False

    @default("default_url")
    def _default_url(self) -> str:
        return API_PREFIX + "/whoami"

    @default("open_store_at_start")
    def _default_open_store_at_start(self) -> bool:
        return self.registry

    @property
    def registry(self) -> bool:
        """True when users authenticate with registry API tokens (the shared registry)."""
        from .auth import RegistryIdentityProvider

        return isinstance(getattr(self.serverapp, "identity_provider", None), RegistryIdentityProvider)

    # ------------------------------------------------------------------ store
    def modelops_config(self):
        """Server config (``c.ModelOpsConfig.*``, ``--db``) > environment > config files."""
        from ..config import load_config

        section = self.config.get("ModelOpsConfig", {}) if self.config else {}
        return load_config(**{k: v for k, v in dict(section).items()})

    @property
    def store(self):
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    from ..store.store import Store

                    conf = self.modelops_config()
                    self._store = Store.open(conf)
                    # The shared registry stores and governs; it never runs users' code.
                    self._store.runs_code = not self.registry
                    if not self.registry:  # relative paths from the sidebar: the file browser's
                        self._store.workdir = self.serverapp.root_dir
                    self.log.info("ModelOps store: %s, artifacts %s", self._store.db.url.split("@")[-1],
                                  self._store.artifacts.uri)
        return self._store

    async def run_blocking(self, fn):
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    # ------------------------------------------------------------------ ExtensionApp hooks
    def initialize_settings(self) -> None:
        self._store = None
        self._store_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(self.worker_threads, thread_name_prefix="modelops")
        if self.open_store_at_start:
            self.store  # noqa: B018 - migrations run now, and a bad URL fails the start
        from .sync_handlers import start_sync

        start_sync(self)  # background sync with the shared registry, when one is configured

    def initialize_handlers(self) -> None:
        from .handlers import make_handlers
        from .registry_proxy import make_proxy_handlers

        if not self.registry:  # inside jupyter lab: the linked team registry, for the sidebar
            self.handlers.extend(make_proxy_handlers())
        self.handlers.extend(make_handlers())

    async def stop_extension(self) -> None:
        from .sync_handlers import stop_sync

        stop_sync(self)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()


main = launch_new_instance = ModelOpsExtension.launch_instance
