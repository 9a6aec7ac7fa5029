"""One exception hierarchy for every layer.

The REST layer maps these to HTTP status codes in one place, magics turn them into
one-line ``UsageError``s, and the CLI prints ``error: <message>``. A message must be
useful on its own line: say what was wrong and, where possible, how to fix it.
"""

from __future__ import annotations

from typing import Any


class ModelOpsError(Exception):
    """Base class; ``details`` carries machine-readable context for API clients."""

    http_status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, "message": self.message, "details": self.details}


class NotFound(ModelOpsError):
    """A run, experiment, model, version or artifact that does not exist."""

    http_status = 404


class Conflict(ModelOpsError):
    """The request contradicts stored state (a param logged twice with another value)."""

    http_status = 409


class InvalidInput(ModelOpsError):
    """Malformed input: wrong type, bad filter syntax, unsafe artifact name."""

    http_status = 400


class PolicyViolation(ModelOpsError):
    """A governance or safety rule forbids the action (untrusted types, bad transition)."""

    http_status = 422


class Unauthenticated(ModelOpsError):
    """No credentials, or credentials the server does not accept."""

    http_status = 401


class Forbidden(ModelOpsError):
    """The caller's role does not allow the action."""

    http_status = 403


class IntegrityFailure(ModelOpsError):
    """Stored data failed verification (artifact hash mismatch, broken audit chain)."""

    http_status = 500


class StoreUnavailable(ModelOpsError):
    """The store cannot be opened safely (interrupted migration, newer schema)."""

    http_status = 503
