"""The JSON error kinds of the HTTP API and the `ToolkitError` each stands for, in one table.

The server answers with ``(status, kind)`` for an error (`toolkit.web.errors`), and the remote CLI turns
the kind back into the same error class and so the same exit code (`toolkit.cli.remote`): both read this
table, so a kind cannot mean one thing on the wire and another at the terminal. No FastAPI here: the
CLI imports it on every run.
"""

from __future__ import annotations

from toolkit.errors import (
    ActionFailedError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
    UnavailableError,
)

# (class, status, kind): most specific first.
STATUS: tuple[tuple[type[ToolkitError], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "permission_denied"),
    (InvalidInputError, 400, "invalid_input"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (UnavailableError, 503, "unavailable"),
    (ActionFailedError, 502, "action_failed"),
    (ConfigurationError, 500, "configuration"),
    (IntegrityError, 500, "integrity"),
)

# A kind as the client reads it: the table's, and "too_large" (a 413 of the body limit) as bad input.
KINDS: dict[str, type[ToolkitError]] = {kind: cls for cls, _, kind in STATUS} | {"too_large": InvalidInputError}
