"""The one HTTP session of a Redmine desk client: the API key header, timeouts, JSON, and every failure turned
into the error the `DeskClient` port promises.

Mapping (port docstring): unreachable, timed out or 5xx → `UnavailableError` (the outbox and the poller retry);
404 → `NotFoundError`; 401/403 → `ConfigurationError` (a wrong key or a missing permission: retrying will not
help); 422 → `InvalidInputError` with Redmine's ``{"errors": [...]}`` list. Every message names the desk, the
method and the path (never the query string, never a header) and goes through the client's `Masker`, which
holds the API key: a Redmine that echoes the key back (it does, in ``/users/current.json``) cannot leak it into
an exception or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError, UnavailableError
from toolkit.masking import Masker

log = logging.getLogger(__name__)


class RedmineHttp:
    def __init__(self, desk: str, base_url: str, api_key: str, *, masker: Masker, timeout_s: float,
                 verify_tls: bool) -> None:
        self.desk = desk
        self.base_url = base_url.rstrip("/")
        self.masker = masker
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.session.headers.update({"X-Redmine-API-Key": api_key, "Accept": "application/json"})
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc)

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        """An absolute URL on this desk. A full URL (an attachment's ``content_url``) is accepted only on the
        desk's own origin: the API key is never sent anywhere else."""
        if not path.startswith(("http://", "https://")):
            return self.base_url + path
        parts = urlsplit(path)
        if (parts.scheme, parts.netloc) != self._origin:
            raise ConfigurationError(f"desk {self.desk}: refusing to send the API key to another origin "
                                     f"({parts.scheme}://{parts.netloc})", desk=self.desk)
        return path

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 204), allow: Iterable[int] = (),
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        where = self.masker(urlsplit(path).path)
        log.debug("desk %s: %s %s", self.desk, method, where)
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout:
            raise UnavailableError(f"desk {self.desk} (redmine) timed out after {self.timeout_s:g} s on "
                                   f"{method} {where}", desk=self.desk, method=method, path=where) from None
        except requests.RequestException as exc:
            raise UnavailableError(f"desk {self.desk} (redmine) at {self.masker(self.base_url)} is unreachable "
                                   f"({type(exc).__name__}) on {method} {where}",
                                   desk=self.desk, method=method, path=where) from None
        if response.status_code in set(ok) | set(allow):
            return response
        raise self.error(response, method, where)

    def error(self, response: requests.Response, method: str, where: str) -> ToolkitError:
        status = response.status_code
        errors = _errors(response)
        text = self.masker("; ".join(errors) if errors else (response.reason or ""))
        ctx: dict[str, Any] = {"desk": self.desk, "method": method, "path": where, "status": status}
        head = f"desk {self.desk} (redmine) answered {status} to {method} {where}"
        if status == 401:
            return ConfigurationError(f"{head}: the API key was refused (check the desk's api key secret and that "
                                      "Redmine's REST API is enabled)", **ctx)
        if status == 403:
            return ConfigurationError(f"{head}: the desk account lacks the permission for this (check its role "
                                      "in the project)", **ctx)
        if status == 404:
            return NotFoundError(f"{head}: not found", **ctx)
        if status == 422:
            return InvalidInputError(f"{head}: {text}", errors=[("redmine", self.masker(e)) for e in errors], **ctx)
        if status >= 500:
            return UnavailableError(f"{head}: {text}", **ctx)
        return InvalidInputError(f"{head}: {text}", errors=[("redmine", text)], **ctx)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            # A login page or a proxy's HTML: the URL is not Redmine's API (or the API is disabled).
            raise ConfigurationError(f"desk {self.desk} (redmine) answered {method} {urlsplit(path).path} with a "
                                     "body that is not JSON (is base_url Redmine and its REST API enabled?)",
                                     desk=self.desk, status=response.status_code) from None

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        body = self.json("GET", path, params=params or None)
        return body if isinstance(body, dict) else {}

    def pages(self, path: str, key: str, *, limit: int | None = None, page_size: int = 100,
              **params: Any) -> list[dict[str, Any]]:
        """A listing followed through ``offset``/``limit``/``total_count`` (Redmine caps a page at 100)."""
        items: list[dict[str, Any]] = []
        offset = 0
        while limit is None or len(items) < limit:
            size = page_size if limit is None else min(page_size, limit - len(items))
            body = self.get(path, **params, offset=offset, limit=size)
            page = body.get(key) or []
            items += page
            offset += len(page)
            if not page or offset >= int(body.get("total_count", offset)):
                break
        return items


def _errors(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str(e) for e in errors] if isinstance(errors, list) else []
