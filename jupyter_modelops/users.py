"""Users, roles and API tokens of the shared registry.

The registry (``jupyter modelops serve``) knows its users from the ``users`` table; each
holds some of the six roles of ``store.ROLES``. A user authenticates with an API token
sent as ``Authorization: token <t>`` (or ``Bearer <t>``).

A token is ``mo_<id>_<secret>``: ``id`` (16 hex digits) is public and names the token in
listings; ``secret`` is 32 random bytes. Only the sha256 of the whole token is stored, so
a copy of the database gives no usable token; the plaintext is shown once, when it is
made. Checking a token looks its row up by ``id`` and compares hashes with
``hmac.compare_digest``. Tokens never appear in logs or error messages.

These functions are for the registry's operator (the ``jupyter modelops users`` CLI runs
them against the store directly) and for the server's identity provider.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from .errors import Conflict, InvalidInput, NotFound
from .ids import new_id, now_ms
from .store import schema as s
from .store.store import ROLES, Store
from .tracking.records import Record

TOKEN_PREFIX = "mo_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_TOKEN = re.compile(r"^mo_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass
class User(Record):
    """A registry user; ``tokens`` lists ``{"id", "label", "created_at"}`` (never secrets)."""

    id: str
    name: str
    roles: list[str] = field(default_factory=list)
    created_at: int = 0
    updated_at: int = 0
    tokens: list[dict] = field(default_factory=list)


def check_user_name(name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"user name {name!r} must be 1-64 characters: letters, digits, '_', '.', '@', '-'"
        )
    return name


def check_roles(roles) -> list[str]:
    """Known roles, deduplicated, in the canonical order of ``ROLES``."""
    if isinstance(roles, str):
        roles = [r for r in roles.split(",")]
    roles = [str(r).strip() for r in roles if str(r).strip()]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(f"unknown role {', '.join(map(repr, unknown))}; roles are {', '.join(ROLES)}")
    if not roles:
        raise InvalidInput(f"give at least one role ({', '.join(ROLES)})")
    return [r for r in ROLES if r in roles]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row, tokens=()) -> User:
    return User(id=row.id, name=row.name, roles=list(row.roles or []), created_at=row.created_at,
                updated_at=row.updated_at, tokens=list(tokens))


def _row(conn, name: str):
    row = conn.execute(sa.select(s.users).where(s.users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user named {name!r} (add one with `jupyter modelops users add`)")
    return row


def add_user(store: Store, name: str, roles) -> User:
    name = check_user_name(name)
    roles = check_roles(roles)
    ts = now_ms()
    rec = {"id": new_id(), "name": name, "roles": roles, "created_at": ts, "updated_at": ts}
    with store.db.write() as conn:
        if conn.execute(sa.select(s.users.c.id).where(s.users.c.name == name)).first():
            raise Conflict(f"user {name!r} already exists")
        conn.execute(s.users.insert().values(**rec))
    return User(**rec)


def set_roles(store: Store, name: str, roles) -> User:
    name = check_user_name(name)
    roles = check_roles(roles)
    with store.db.write() as conn:
        row = _row(conn, name)
        conn.execute(s.users.update().where(s.users.c.id == row.id).values(roles=roles, updated_at=now_ms()))
    return get_user(store, name)


def get_user(store: Store, name: str) -> User:
    name = check_user_name(name)
    with store.db.read() as conn:
        row = _row(conn, name)
        tokens = _tokens(conn, [row.id]).get(row.id, [])
    return _user(row, tokens)


def _tokens(conn, user_ids: list[str]) -> dict[str, list[dict]]:
    t = s.api_tokens
    out: dict[str, list[dict]] = {}
    if not user_ids:
        return out
    rows = conn.execute(
        sa.select(t.c.id, t.c.user_id, t.c.label, t.c.created_at)
        .where(t.c.user_id.in_(user_ids)).order_by(t.c.created_at, t.c.id)
    )
    for r in rows:
        out.setdefault(r.user_id, []).append({"id": r.id, "label": r.label, "created_at": r.created_at})
    return out


def list_users(store: Store) -> list[User]:
    with store.db.read() as conn:
        rows = conn.execute(sa.select(s.users).order_by(s.users.c.name)).all()
        tokens = _tokens(conn, [r.id for r in rows])
    return [_user(r, tokens.get(r.id, [])) for r in rows]


def create_token(store: Store, name: str, label: str = "") -> str:
    """A new API token for ``name``; the only time its plaintext exists outside the caller."""
    name = check_user_name(name)
    label = str(label or "")
    if len(label) > 255:
        raise InvalidInput("token label is longer than 255 characters")
    token_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    with store.db.write() as conn:
        row = _row(conn, name)
        conn.execute(s.api_tokens.insert().values(
            id=token_id, user_id=row.id, label=label, token_hash=_hash(token), created_at=now_ms()))
    return token


def revoke_token(store: Store, name: str, token_id: str) -> None:
    name = check_user_name(name)
    t = s.api_tokens
    with store.db.write() as conn:
        row = _row(conn, name)
        res = conn.execute(t.delete().where(t.c.id == str(token_id), t.c.user_id == row.id))
        if res.rowcount == 0:
            raise NotFound(f"user {name!r} has no token {token_id!r}")


def authenticate(store: Store, token: str) -> User | None:
    """The user a token belongs to, or None (malformed, unknown or revoked token)."""
    m = _TOKEN.match(token) if isinstance(token, str) else None
    if m is None:
        return None
    t, u = s.api_tokens, s.users
    with store.db.read() as conn:
        row = conn.execute(
            sa.select(t.c.token_hash, u.c.id, u.c.name, u.c.roles, u.c.created_at, u.c.updated_at)
            .join(u, u.c.id == t.c.user_id).where(t.c.id == m.group(1))
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, _hash(token)):
        return None
    return _user(row)
