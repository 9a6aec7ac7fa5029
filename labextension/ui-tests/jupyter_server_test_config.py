"""JupyterLab server for the sidebar's browser tests (started by fixtures.py `lab`).

Galata's settings, then what Debian's Chromium and an offline machine need: loopback
only, no news or update checks, a read-only extension manager. The store, the root dir,
the registry link and TMPDIR come from the environment fixtures.py sets.
"""

import os
from pathlib import Path

from jupyter_core.paths import jupyter_path
from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821
configure_jupyter_server(c)

c.ServerApp.port = int(os.environ.get("MODELOPS_UI_LAB_PORT", "8888"))
c.ServerApp.ip = "127.0.0.1"
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.ServerApp.allow_root = True
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

# The extension must be visible to this JupyterLab. An installed package (pip install,
# or `jupyter labextension develop`) puts it on the labextensions path; otherwise serve
# the freshly built folder of the source tree through a symlink in the run folder.
_name = "jupyter-modelops"
if not any(Path(p, _name, "package.json").is_file() for p in jupyter_path("labextensions")):
    built = Path(__file__).resolve().parents[2] / "jupyter_modelops" / "labextension"
    extra = Path(os.environ.get("MODELOPS_UI_RUN", ".tmp")) / "labextensions"
    extra.mkdir(parents=True, exist_ok=True)
    if not (extra / _name).exists():
        (extra / _name).symlink_to(built, target_is_directory=True)
    c.LabServerApp.extra_labextensions_path = [c.LabServerApp.extra_labextensions_path, str(extra)]
