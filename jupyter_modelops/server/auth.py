"""Authentication and coarse authorization for the shared registry.

``jupyter modelops serve`` runs the Jupyter server with these two classes:

- ``RegistryIdentityProvider`` authenticates ``Authorization: token <t>`` (or
  ``Bearer <t>``) against the hashed API tokens of the ``users`` table (``users.py``).
  There are no cookies, no login page and no Jupyter token; tokens in URLs are ignored
  (they would end up in proxy logs).
- ``RegistryAuthorizer`` maps our roles onto jupyter_server's (action, resource) checks:
  any role may read; ``viewer`` alone may not write; ``modelops:admin`` is for admins;
  every non-ModelOps resource (contents, kernels, terminals, ...) is refused, so the
  registry exposes nothing but the ModelOps API.

The authorizer is deliberately coarse: which role may call which operation, separation
of duties and life-cycle rules are decided by the service layer (``services.authorize``
and the services themselves), for every client alike.

Inside a normal single-user ``jupyter lab`` neither class is used: Jupyter's own token
and identity apply and the store acts as its owner with every role.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Bool, default

from . import api


_SECRET_PARAM = re.compile(r"([?&;](?:token|access_token|_xsrf)=)[^&;\s'\"]*", re.IGNORECASE)
_API_TOKEN = re.compile(r"\b(mo_[0-9a-f]{16}_)[A-Za-z0-9_-]{43}")


def scrub(text: str) -> str:
    """``text`` with token query values and API token secrets replaced by ``[secret]``."""
    return _API_TOKEN.sub(r"\1[secret]", _SECRET_PARAM.sub(r"\1[secret]", text))


class ScrubSecrets(logging.Filter):
    """Removes tokens from log records. jupyter_server scrubs its access log, but a
    refused request is also logged by tornado with the raw URL, ``?token=`` included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's business
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_scrubber(logger: logging.Logger) -> None:
    """Scrub every record that reaches ``logger``'s handlers (and the root's), whichever
    logger it was emitted on: filters on handlers see propagated records too."""
    for handler in list(logger.handlers) + list(logging.getLogger().handlers):
        if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
            handler.addFilter(ScrubSecrets())


@dataclass
class RegistryUser(User):
    """A jupyter_server user that also carries its ModelOps roles."""

    roles: tuple[str, ...] = ()


class RegistryIdentityProvider(IdentityProvider):
    """API tokens from the registry's ``users`` table."""

    need_token = Bool(False)

    @default("token")
    def _token_default(self) -> str:
        return ""  # no shared Jupyter token: every user has their own

    async def get_user(self, handler) -> RegistryUser | None:
        header = handler.request.headers.get("Authorization", "")
        match = self.auth_header_pat.match(header)
        if not match:
            return None
        app = handler.settings.get("modelops")
        if app is None:  # the ModelOps extension is not loaded: nobody can be authenticated
            return None
        from ..users import authenticate

        user = await app.run_blocking(lambda: authenticate(app.store, match.group(2).strip()))
        if user is None:
            self.log.warning("rejected an invalid API token from %s", handler.request.remote_ip)
            return None
        handler._token_authenticated = True  # token requests skip XSRF and origin checks
        return RegistryUser(username=user.name, roles=tuple(user.roles))

    def get_handlers(self) -> list:
        return []  # no login or logout pages

    @property
    def login_available(self) -> bool:
        return False

    @property
    def logout_available(self) -> bool:
        return False

    def validate_security(self, app, ssl_options=None) -> None:
        install_log_scrubber(app.log)
        if app.ip not in ("127.0.0.1", "localhost", "::1") and ssl_options is None:
            app.log.warning(
                "The ModelOps registry listens on %s without TLS: API tokens travel in clear "
                "text. Put it behind an HTTPS reverse proxy or set ServerApp.certfile/keyfile.",
                app.ip or "all addresses")


class RegistryAuthorizer(Authorizer):
    """Roles to jupyter_server's read/write/execute checks (see the module docstring)."""

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        roles = set(getattr(user, "roles", ()) or ())
        if not roles or not resource.startswith("modelops:"):
            return False
        if action == "read":
            return True
        if action != "write" or resource == api.R_API:
            return False
        if resource == api.R_ADMIN:
            return "admin" in roles
        return bool(roles - {"viewer"})
