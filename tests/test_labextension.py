"""The JupyterLab sidebar is built into the package and JupyterLab accepts it.

The browser tests (``labextension/ui-tests``) exercise the views; these check the
packaging a user meets after ``pip install``: the built federated extension sits where
``_jupyter_labextension_paths`` says, the wheel maps it to
``share/jupyter/labextensions/jupyter-modelops``, and ``jupyter labextension list``
reports it enabled and OK when it is found there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import jupyter_modelops

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(jupyter_modelops.__file__).parent
BUILT = PKG / "labextension"

needs_build = pytest.mark.skipif(not (BUILT / "package.json").exists(),
                                 reason="labextension not built (install the package to build it)")


def test_the_package_declares_its_labextension():
    [entry] = jupyter_modelops._jupyter_labextension_paths()
    assert entry == {"src": "labextension", "dest": "jupyter-modelops"}
    source = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert source["name"] == entry["dest"]
    assert (ROOT / "labextension" / source["jupyterlab"]["outputDir"]).resolve() == PKG / entry["src"]
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["shared-data"]["jupyter_modelops/labextension"] == "share/jupyter/labextensions/jupyter-modelops"


@needs_build
def test_jupyterlab_lists_the_built_extension_enabled(tmp_path):
    data = tmp_path / "share" / "jupyter"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "jupyter-modelops").symlink_to(BUILT, target_is_directory=True)
    env = {**os.environ, "JUPYTER_PATH": str(data), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], env=env,
                         capture_output=True, text=True, timeout=120)
    listing = (out.stdout + out.stderr).splitlines()
    # the listing groups extensions under the folder they were found in: ours, not the venv's
    start = next(i for i, ln in enumerate(listing) if ln.strip().startswith(str(data / "labextensions")))
    section = []
    for ln in listing[start + 1:]:
        if not ln.startswith((" ", "\t")) or not ln.strip():
            break
        section.append(ln)
    line = next((ln for ln in section if "jupyter-modelops" in ln), "")
    assert "enabled" in line and "OK" in line, "\n".join(listing)
    built = json.loads((BUILT / "package.json").read_text())
    assert built["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
