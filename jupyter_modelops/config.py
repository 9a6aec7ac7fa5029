"""Where the store lives and who the user is.

Resolution order for each setting: explicit argument or command-line option > traitlets
config file (``jupyter_modelops_config.py``/``.json`` on the Jupyter config path) >
environment variable > built-in default. The default home is ``~/.jupyter_modelops``; the metadata store is a SQLite file
and the artifacts a content-addressed folder inside it.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from traitlets import Float, Unicode, default
from traitlets.config import Configurable

ENV_HOME = "JUPYTER_MODELOPS_HOME"
ENV_DB = "JUPYTER_MODELOPS_DB"
ENV_ARTIFACTS = "JUPYTER_MODELOPS_ARTIFACTS"
ENV_USER = "JUPYTER_MODELOPS_USER"
ENV_REGISTRY = "JUPYTER_MODELOPS_REGISTRY_URL"
ENV_REGISTRY_TOKEN = "JUPYTER_MODELOPS_REGISTRY_TOKEN"


class ModelOpsConfig(Configurable):
    """Settings shared by the library, the magics, the CLI and the server extension."""

    home = Unicode(
        help="Folder holding the embedded store (SQLite file and artifacts). "
        f"Overridden by ${ENV_HOME}.",
    ).tag(config=True)

    db_url = Unicode(
        help="SQLAlchemy URL of the metadata store, e.g. sqlite:////path/store.db or "
        f"postgresql+psycopg://user@host/db. Empty means <home>/store.db. Overridden by ${ENV_DB}.",
    ).tag(config=True)

    artifact_uri = Unicode(
        help="Folder or fsspec URL (s3://bucket/prefix) for artifact blobs. Empty means "
        f"<home>/artifacts. Overridden by ${ENV_ARTIFACTS}.",
    ).tag(config=True)

    user = Unicode(
        help=f"Identity recorded on runs and governance actions. Overridden by ${ENV_USER}.",
    ).tag(config=True)

    flush_interval = Float(
        1.0,
        help="Seconds between background flushes of buffered metrics. Points logged in the "
        "last interval before a hard kill may be lost; end_run/flush/exit make them durable.",
    ).tag(config=True)

    registry_url = Unicode(
        help="URL of the team's shared registry (a `jupyter modelops serve` server). When "
        f"set, local changes are queued and synced to it. Overridden by ${ENV_REGISTRY}.",
    ).tag(config=True)

    registry_token = Unicode(
        help=f"API token for the shared registry. Overridden by ${ENV_REGISTRY_TOKEN}.",
    ).tag(config=True)

    sync_interval = Float(
        30.0,
        help="Seconds between background syncs with the shared registry (backs off "
        "exponentially while it is unreachable).",
    ).tag(config=True)

    def resolved_registry(self) -> tuple[str, str]:
        """(url, token) of the shared registry; ('', '') when none is configured."""
        return self.registry_url, self.registry_token

    @default("home")
    def _default_home(self) -> str:
        return os.environ.get(ENV_HOME) or str(Path("~/.jupyter_modelops").expanduser())

    @default("user")
    def _default_user(self) -> str:
        if os.environ.get(ENV_USER):
            return os.environ[ENV_USER]
        try:
            return getpass.getuser()
        except Exception:  # no passwd entry in some containers
            return "unknown"

    @default("db_url")
    def _default_db_url(self) -> str:
        return os.environ.get(ENV_DB, "")

    @default("artifact_uri")
    def _default_artifact_uri(self) -> str:
        return os.environ.get(ENV_ARTIFACTS, "")

    @default("registry_url")
    def _default_registry_url(self) -> str:
        return os.environ.get(ENV_REGISTRY, "")

    @default("registry_token")
    def _default_registry_token(self) -> str:
        return os.environ.get(ENV_REGISTRY_TOKEN, "")

    def resolved_db_url(self) -> str:
        url = self.db_url
        if url:
            return url
        return "sqlite:///" + str(Path(self.home).expanduser() / "store.db")

    def resolved_artifact_uri(self) -> str:
        uri = self.artifact_uri
        if uri:
            return uri
        return str(Path(self.home).expanduser() / "artifacts")


def load_config(**overrides) -> ModelOpsConfig:
    """Build a config from the Jupyter config path, then environment, then ``overrides``."""
    from traitlets.config import Config

    cfg = Config()
    try:
        from jupyter_core.paths import jupyter_config_path
        from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

        for folder in reversed(jupyter_config_path()):
            for loader_cls, fname in (
                (JSONFileConfigLoader, "jupyter_modelops_config.json"),
                (PyFileConfigLoader, "jupyter_modelops_config.py"),
            ):
                if os.path.isfile(os.path.join(folder, fname)):
                    cfg.merge(loader_cls(fname, path=folder).load_config())
    except ImportError:  # jupyter_core is a dependency, but keep the library usable alone
        pass
    conf = ModelOpsConfig(config=cfg)
    for key, value in overrides.items():
        if value is not None:
            setattr(conf, key, value)
    return conf
