"""``mo.request_deployment(...)`` and friends: the governance methods on the default client.

They work whether or not ``Client`` inherits ``GovernanceClientMixin`` yet (they call the
mixin's methods on the default client).
"""

from __future__ import annotations

from .client_api import GovernanceClientMixin as _G


def _client():
    from ..fluent import get_client

    return get_client()


def request_deployment(name: str, version: int | None = None, **kw):
    return _G.request_deployment(_client(), name, version, **kw)


def list_requests(status: str | None = "PENDING", **kw):
    return _G.list_requests(_client(), status, **kw)


def get_request(request_id: str):
    return _G.get_request(_client(), request_id)


def approve_request(request_id: str, comment: str = ""):
    return _G.approve_request(_client(), request_id, comment)


def reject_request(request_id: str, comment: str):
    return _G.reject_request(_client(), request_id, comment)


def transition(name: str, version: int, to: str, comment: str = ""):
    return _G.transition(_client(), name, version, to, comment)


def get_model_card(name: str, version: int | None = None, alias: str | None = None):
    return _G.get_model_card(_client(), name, version, alias)


def update_model_card(name: str, version: int, sections: dict | None = None, **more):
    return _G.update_model_card(_client(), name, version, sections, **more)


def set_model_info(name: str, **kw):
    return _G.set_model_info(_client(), name, **kw)


def inventory(**kw):
    return _G.inventory(_client(), **kw)


FLUENT = ("request_deployment", "list_requests", "get_request", "approve_request", "reject_request",
          "transition", "get_model_card", "update_model_card", "set_model_info", "inventory")
