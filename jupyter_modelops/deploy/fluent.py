"""``mo.deploy(...)``, ``mo.promote(...)``, ``mo.rollback(...)`` and friends on the default
client (they work whether or not ``Client`` inherits ``DeployClientMixin`` yet)."""

from __future__ import annotations

from .client_api import DeployClientMixin as _D


def _client():
    from ..fluent import get_client

    return get_client()


def deploy(name: str, version: int | None = None, **kw):
    return _D.deploy(_client(), name, version, **kw)


def batch_score(name: str, data, version: int | None = None, **kw):
    return _D.batch_score(_client(), name, data, version, **kw)


def deployments(name: str | None = None, **kw):
    return _D.deployments(_client(), name, **kw)


def stop_deployment(deployment_id, comment: str = ""):
    return _D.stop_deployment(_client(), deployment_id, comment)


def promote(name: str, version: int | None = None, **kw):
    return _D.promote(_client(), name, version, **kw)


def rollback(name: str, **kw):
    return _D.rollback(_client(), name, **kw)


FLUENT = ("deploy", "batch_score", "deployments", "stop_deployment", "promote", "rollback")
