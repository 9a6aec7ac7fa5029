"""``import jupyter_modelops`` stays light, and lists its public API."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "pandas", "numpy", "sklearn", "matplotlib", "scipy",
         "fsspec", "jupyter_server", "IPython")

PUBLIC = {"start_run", "end_run", "active_run", "log_param", "log_params", "set_tag", "set_tags",
          "log_metric", "log_metrics", "log_artifact", "log_text", "log_dict", "log_figure",
          "log_input", "log_model", "flush", "get_run", "search_runs", "compare_runs",
          "register_model", "load_model", "set_alias", "configure", "get_client", "set_client",
          "Client", "ModelOpsError", "errors", "__version__"}


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_loads_nothing_heavy():
    loaded = json.loads(_fresh(
        "import sys, json, jupyter_modelops as mo; mo.__version__; dir(mo);"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    ))
    assert loaded == []


def test_dir_lists_the_public_api():
    import jupyter_modelops as mo

    names = set(dir(mo))
    assert PUBLIC <= names
    assert all(not n.startswith("_") or n == "__version__" for n in names)
    for name in PUBLIC - {"__version__", "errors"}:
        assert callable(getattr(mo, name)), name
    assert isinstance(mo.__version__, str) and mo.__version__


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    import jupyter_modelops as mo

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mo.nope  # noqa: B018


def test_lazy_attributes_resolve():
    import jupyter_modelops as mo
    from jupyter_modelops import errors
    from jupyter_modelops.client import Client

    assert mo.Client is Client
    assert mo.errors is errors and mo.ModelOpsError is errors.ModelOpsError
