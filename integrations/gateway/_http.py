"""One HTTP client for every gateway adapter: timeouts, and HTTP failures turned into toolkit errors.

Each product reports errors differently (Kong: ``{"message": ...}``; WSO2: ``{"code", "message",
"description"}``; Express Gateway: plain text), so the adapter passes a function that pulls the human
message out of a body. Every message goes through the adapter's `Masker` before it lands in an
exception, so a gateway that echoes a key or token back never leaks it into a ticket or log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import requests

from toolkit.masking import Masker
from toolkit.ports.gateway import (
    GatewayAuthError,
    GatewayConflictError,
    GatewayNotFoundError,
    GatewayRequestError,
    GatewayUnavailableError,
)

DEFAULT_TIMEOUT_S = 10.0


def plain_message(response: requests.Response) -> str:
    return response.text.strip()


def json_message(*keys: str) -> Callable[[requests.Response], str]:
    """The first of ``keys`` present in a JSON error body, else the raw text."""

    def extract(response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text.strip()
        if isinstance(body, dict):
            for key in keys:
                if body.get(key):
                    return str(body[key])
        return json.dumps(body)[:500]

    return extract


class AdminClient:
    """A session bound to one admin API base URL; ``headers`` may be replaced (token refresh)."""

    def __init__(self, product: str, base_url: str, *, masker: Masker, timeout_s: float = DEFAULT_TIMEOUT_S,
                 headers: dict[str, str] | None = None, message: Callable[[requests.Response], str] = plain_message,
                 verify: bool | str = True) -> None:
        self.product = product
        self.base_url = base_url.rstrip("/")
        self.masker = masker
        self.timeout_s = timeout_s
        self.message = message
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers.update(headers or {})

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 204), allow: Iterable[int] = (),
                **kwargs: Any) -> requests.Response:
        """Send one request. Statuses in ``ok`` or ``allow`` are returned; anything else raises.

        ``allow`` is for answers the caller handles itself (a 404 that means "absent", a 409 that means
        "someone else created it first")."""
        kwargs.setdefault("timeout", self.timeout_s)
        where = path.split("?", 1)[0]
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout:
            raise GatewayUnavailableError(
                f"{self.product} admin API timed out after {self.timeout_s:g} s on {method} {where}",
                **GatewayUnavailableError.context(self.product, method, where)) from None
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise GatewayUnavailableError(
                f"{self.product} admin API at {self.masker(self.base_url)} is unreachable ({reason})"
                f" on {method} {where}",
                **GatewayUnavailableError.context(self.product, method, where)) from None
        status = response.status_code
        if status in set(ok) | set(allow):
            return response
        raise self.error(response, method, where)

    def error(self, response: requests.Response, method: str, where: str) -> Exception:
        status = response.status_code
        text = self.masker(self.message(response) or response.reason or "")
        ctx = GatewayUnavailableError.context(self.product, method, where, status, text)
        head = f"{self.product} answered {status} to {method} {where}: {text}"
        if status in (401, 403):
            return GatewayAuthError(f"{head} (check the gateway admin credential in the settings)", **ctx)
        if status == 404:
            return GatewayNotFoundError(head, **ctx)
        if status == 409:
            return GatewayConflictError(head, **ctx)
        if status >= 500:
            return GatewayUnavailableError(head, **ctx)
        return GatewayRequestError(head, **ctx)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GatewayRequestError(
                f"{self.product} answered {method} {path.split('?', 1)[0]} with a body that is not JSON",
                **GatewayRequestError.context(self.product, method, path, response.status_code)) from None
