"""Responses of the Keycloak fake in Keycloak's shapes.

Keycloak answers OAuth2 errors as ``{"error": code, "error_description": text}``, admin conflicts
and validation failures as ``{"errorMessage": text}``, and not-found / denied as
``{"error": text, "error_description": "For more on this error consult the server log."}``.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def no_content() -> Response:
    return Response(status=204)


def error(status: int, message: str, *, oauth: str | None = None) -> Response:
    if oauth is not None:
        return json_response({"error": oauth, "error_description": message}, status)
    if status in (400, 409):
        return json_response({"errorMessage": message}, status)
    return json_response({"error": message, "error_description": "For more on this error consult the server log."},
                         status)


class HttpError(Exception):
    """Raised inside a handler to answer with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def fail(status: int, message: str, *, oauth: str | None = None) -> HttpError:
    return HttpError(error(status, message, oauth=oauth))
