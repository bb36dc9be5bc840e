"""python-keycloak's exceptions turned into toolkit errors, with Keycloak's own words, masked.

python-keycloak raises ``KeycloakConnectionError`` when the server cannot be reached,
``KeycloakAuthenticationError`` for any 401, and a ``KeycloakGetError``/``PostError``/... carrying
``response_code`` and the raw ``response_body`` otherwise. The body is parsed for Keycloak's
messages (``errorMessage``, ``error_description``, ``error``), cut short and masked; the raw body
and python-keycloak's own message (which quotes it) are never passed on, and the original
exception is not chained, so nothing the server echoed can leak into a ticket or a log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from toolkit.errors import (
    ActionFailedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
    UnavailableError,
)
from toolkit.masking import Masker

_MAX_DETAIL = 200


# OAuth2 error codes (RFC 6749 5.2) that mean "these credentials are refused", whatever the status
# (Keycloak answers a disabled client with 400, a wrong secret with 401).
_REFUSED = frozenset({"invalid_client", "unauthorized_client", "invalid_grant"})


def _body(exc: KeycloakError) -> Any:
    body: Any = exc.response_body
    try:
        return json.loads(body) if isinstance(body, bytes | str) and body else None
    except ValueError:
        return None


def keycloak_message(exc: KeycloakError) -> str:
    """Keycloak's explanation from the response body, or '' when it gave none we can read."""
    parsed = _body(exc)
    if isinstance(parsed, dict):
        for key in ("errorMessage", "error_description", "error", "message"):
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return "".join(c if c.isprintable() else " " for c in value)[:_MAX_DETAIL]
    return ""


@contextmanager
def mapped_errors(what: str, *, masker: Masker, server: str, **context: Any) -> Iterator[None]:
    """Run a python-keycloak call; re-raise its failure as the toolkit error of the same meaning.

    404 → `NotFoundError`, 409 → `ConflictError`, 401/403 → `PermissionDeniedError`, 400 →
    `InvalidInputError`, 5xx or no answer → `UnavailableError` (retry later), else `ActionFailedError`.
    """
    try:
        yield
    except ToolkitError:
        raise
    except KeycloakConnectionError:
        raise UnavailableError(f"Keycloak at {server} is unreachable ({what})", **context) from None
    except KeycloakError as exc:
        code = exc.response_code
        said = masker(keycloak_message(exc))
        detail = f": {said}" if said else ""
        error: type[ToolkitError]
        oauth_error = (_body(exc) or {}).get("error") if isinstance(_body(exc), dict) else None
        if isinstance(exc, KeycloakAuthenticationError) or code in (401, 403) or oauth_error in _REFUSED:
            error = PermissionDeniedError
        elif code == 404:
            error = NotFoundError
        elif code == 409:
            error = ConflictError
        elif code == 400:
            error = InvalidInputError
        elif code is None or code >= 500:
            error = UnavailableError
        else:
            error = ActionFailedError
        extra: dict[str, Any] = {"errors": [(what, said or str(code))]} if error is InvalidInputError else {}
        raise error(f"Keycloak answered {code} to {what}{detail}", status=code, **context, **extra) from None
