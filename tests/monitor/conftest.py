"""Fixtures of the deployment and monitoring tests (shared: ``tests/deploy/fixtures.py``)."""

import importlib.util
import pathlib
import sys

_name = "_modelops_deploy_test_fixtures"
if _name not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_name, pathlib.Path(__file__).parents[1] / "deploy" / "fixtures.py")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_name] = _module
    _spec.loader.exec_module(_module)
from _modelops_deploy_test_fixtures import *  # noqa: E402,F401,F403
from _modelops_deploy_test_fixtures import (  # noqa: E402,F401
    _attached_servers,
    _stop_servers,
)
