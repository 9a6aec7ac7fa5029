"""The shared registry never reads notebooks from its disk nor runs their code."""

import pytest

from jupyter_modelops import services
from jupyter_modelops.errors import PolicyViolation


@pytest.mark.parametrize("op, kwargs", [
    ("export_notebook", {"notebook": "/etc/analysis.ipynb", "target": "local"}),
    ("run_pipeline", {"notebook": "/etc/analysis.ipynb"}),
    ("plan_pipeline", {"notebook": "/etc/analysis.ipynb"}),
])
def test_registry_refuses_code_and_disk_access(store, op, kwargs):
    store.runs_code = False  # as the standalone registry sets it
    with pytest.raises(PolicyViolation, match="shared registry does not read or run notebooks"):
        services.call(store, op, **kwargs)
