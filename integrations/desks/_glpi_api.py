"""The HTTP layer of the GLPI desk client: GLPI's session, its error arrays, and ``range`` paging.

From GLPI's REST API documentation (``apirest.md``, 10.0 branch):

* A session starts with ``GET initSession`` carrying ``App-Token`` (when the API client has one) and
  ``Authorization: user_token <token>``; every later call carries ``Session-Token`` and ``App-Token``. The
  session is opened on the first call, not in the constructor, and opened again once when GLPI answers
  ``401 ["ERROR_SESSION_TOKEN_INVALID", ...]`` (its PHP session expired or was killed). A second 401 is a
  configuration problem (a revoked user token), not something to retry.
* Errors are ``["ERROR_CODE", "message"]``: 404 ``ERROR_ITEM_NOT_FOUND`` is `NotFoundError`; 401 and 403
  (``ERROR_RIGHT_MISSING``) and the 400s that mean a wrong setup (app token missing or wrong, login
  parameters, IP not allowed) are `ConfigurationError`; other 4xx are `InvalidInputError`; 5xx, timeouts and
  refused connections are `UnavailableError` (the outbox and the poller retry those).
* Listings are paged with ``range=start-end`` (inclusive, GLPI's default 0-49); the answer says ``Content-Range:
  start-end/total`` and is 206 while rows remain, so `pages` reads until ``end + 1 == total``.
* Content comes HTML-encoded unless the request says ``X-GLPI-Sanitized-Content: false``, which every call does.

No token ever reaches a message, a log line or an exception: they live only in request headers, and every
message goes through the client's `Masker`, which holds them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

import requests
from pydantic import SecretStr

from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError, UnavailableError
from toolkit.masking import Masker

log = logging.getLogger(__name__)
PAGE = 50  # GLPI's default range 0-49
MAX_PAGES = 10000
SETUP_ERRORS = ("ERROR_APP_TOKEN_PARAMETERS_MISSING", "ERROR_WRONG_APP_TOKEN_PARAMETER", "ERROR_NOT_ALLOWED_IP",
                "ERROR_LOGIN_PARAMETERS_MISSING", "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED",
                "ERROR_GLPI_LOGIN_USER_TOKEN", "ERROR_GLPI_LOGIN", "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM")
_CONTENT_RANGE = re.compile(r"^\s*(\d+)-(\d+)/(\d+)\s*$")


def error_code(response: requests.Response) -> tuple[str, str]:
    """(code, message) of GLPI's ``["ERROR_...", "message"]``; a body that is not one gives ("", text)."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text.strip()[:200]
    if isinstance(body, list) and body and isinstance(body[0], str):
        return body[0], str(body[1]) if len(body) > 1 else ""
    return "", str(body)[:200]


class GlpiApi:
    """One GLPI API client: a `requests.Session`, its GLPI session token, and error mapping."""

    def __init__(self, desk: str, base_url: str, user_token: SecretStr, app_token: SecretStr | None, *,
                 masker: Masker, timeout_s: float = 10.0, verify: bool | str = True) -> None:
        self.desk = desk
        self.base_url = base_url.rstrip("/")
        self.masker = masker
        self.timeout_s = timeout_s
        self._user_token = user_token
        self._session_token: str | None = None
        self._lock = threading.Lock()
        masker.add(user_token)
        self.http = requests.Session()
        self.http.verify = verify
        self.http.headers["X-GLPI-Sanitized-Content"] = "false"
        if app_token is not None:
            masker.add(app_token)
            self.http.headers["App-Token"] = app_token.get_secret_value()
        self.session_starts = 0  # how many times initSession succeeded (tests and `desk status` read it)

    # ------------------------------------------------------------------ session

    def _init_session(self) -> str:
        auth = {"Authorization": f"user_token {self._user_token.get_secret_value()}"}
        response = self._send("GET", "/initSession", headers=auth)
        if response.status_code != 200:
            raise self._error(response, "GET", "/initSession")
        token = response.json().get("session_token") if response.headers.get("Content-Type", "").startswith(
            "application/json") else None
        if not isinstance(token, str) or not token:
            raise UnavailableError(f"{self.desk} (GLPI) answered initSession without a session token",
                                   desk=self.desk, path="/initSession")
        self.masker.add(token)
        self.session_starts += 1
        log.info("GLPI session opened on %s", self.desk)
        return token

    def _token(self, stale: str | None = None) -> str:
        with self._lock:
            if self._session_token is None or self._session_token == stale:
                self._session_token = self._init_session()
            return self._session_token

    def close(self) -> None:
        """``killSession`` (best effort: the desk may be gone), then the HTTP session."""
        with self._lock:
            token, self._session_token = self._session_token, None
        if token is not None:
            try:
                self._send("GET", "/killSession", headers={"Session-Token": token})
            except ToolkitError:
                pass
        self.http.close()

    # ------------------------------------------------------------------ requests

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        try:
            return self.http.request(method, self.base_url + path, **kwargs)
        except requests.Timeout:
            raise UnavailableError(f"{self.desk} (GLPI) timed out after {self.timeout_s:g} s on {method} {path}",
                                   desk=self.desk, method=method, path=path) from None
        except requests.RequestException as exc:
            raise UnavailableError(
                f"{self.desk} (GLPI) at {self.masker(self.base_url)} is unreachable ({type(exc).__name__}) on "
                f"{method} {path}", desk=self.desk, method=method, path=path) from None

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 206, 207), **kwargs: Any
                ) -> requests.Response:
        """One call with the session token; a session GLPI forgot is opened again, once."""
        token = self._token()
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            response = self._send(method, path, headers={**headers, "Session-Token": token}, **kwargs)
            if response.status_code in set(ok):
                return response
            if attempt == 1 and response.status_code == 401 and error_code(response)[0] in (
                    "ERROR_SESSION_TOKEN_INVALID", "ERROR_SESSION_TOKEN_MISSING"):
                log.info("GLPI session on %s expired; opening a new one", self.desk)
                token = self._token(stale=token)
                continue
            raise self._error(response, method, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise UnavailableError(f"{self.desk} (GLPI) answered {method} {path} with a body that is not JSON",
                                   desk=self.desk, method=method, path=path, status=response.status_code) from None

    def pages(self, path: str, params: dict[str, Any] | None = None, page: int = PAGE, limit: int | None = None
              ) -> list[dict[str, Any]]:
        """Every row of a listing (the first ``limit``), reading ``range`` pages until Content-Range says the
        last row came."""
        rows: list[dict[str, Any]] = []
        start = 0
        for _ in range(MAX_PAGES):
            query = {**(params or {}), "range": f"{start}-{start + page - 1}"}
            response = self.request("GET", path, params=query, ok=(200, 206, 400))
            if response.status_code == 400:
                if start and error_code(response)[0] == "ERROR_RANGE_EXCEED_TOTAL":
                    return rows  # rows went away between two pages: what was read is the listing
                raise self._error(response, "GET", path)
            body = response.json()
            chunk = body.get("data", []) if isinstance(body, dict) else body
            rows += chunk
            if limit is not None and len(rows) >= limit:
                return rows[:limit]
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or not chunk:  # no header: GLPI sent everything (an empty listing has none)
                return rows
            end, total = int(match.group(2)), int(match.group(3))
            if end + 1 >= total:
                return rows
            start = end + 1
        raise UnavailableError(f"{self.desk} (GLPI) listing {path} did not end", desk=self.desk, path=path)

    def _error(self, response: requests.Response, method: str, path: str) -> ToolkitError:
        status = response.status_code
        code, message = error_code(response)
        text = self.masker(f"{code} {message}".strip() or response.reason or "")
        ctx = {"desk": self.desk, "method": method, "path": path, "status": status, "code": code}
        head = f"{self.desk} (GLPI) answered {status} to {method} {path}: {text}"
        if status >= 500:
            return UnavailableError(head, **ctx)
        if status == 404 or code == "ERROR_ITEM_NOT_FOUND":
            return NotFoundError(head, **ctx)
        if status in (401, 403) or code in SETUP_ERRORS:
            return ConfigurationError(f"{head} (check the desk's user token, app token and the account's "
                                      "profile in GLPI)", **ctx)
        return InvalidInputError(head, **ctx)
