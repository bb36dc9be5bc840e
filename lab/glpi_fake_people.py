"""A person using GLPI, for tests: every action goes through the REST API with that person's own user token,
the way GLPI's web UI would write the same rows (a ticket, a followup, a validation request or answer, a
status change, an uploaded document). Works against the fake (`lab.glpi_fake`) or any GLPI."""

from __future__ import annotations

import json
from typing import Any

import requests

STATUS = {"new": 1, "processing": 2, "planned": 3, "waiting": 4, "solved": 5, "closed": 6}
TIMEOUT_S = 10.0


class GlpiPerson:
    def __init__(self, url: str, app_token: str, user_token: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"App-Token": app_token, "X-GLPI-Sanitized-Content": "false"})
        answer = self.http.get(f"{self.url}/initSession", headers={"Authorization": f"user_token {user_token}"},
                               timeout=TIMEOUT_S)
        answer.raise_for_status()
        self.http.headers["Session-Token"] = answer.json()["session_token"]
        self.user_id = int(self._call("GET", "/getFullSession")["session"]["glpiID"])

    def close(self) -> None:
        self._call("GET", "/killSession")
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.url + path, json=body, timeout=TIMEOUT_S, **kwargs)
        if answer.status_code >= 400:
            raise requests.HTTPError(f"{answer.status_code} {answer.text}", response=answer)
        return answer.json()

    def _add(self, itemtype: str, data: dict[str, Any]) -> int:
        return int(self._call("POST", f"/{itemtype}", {"input": data})["id"])

    def create_ticket(self, name: str, content: str = "", entity: int = 1, category: int = 1,
                      **fields: Any) -> int:
        return self._add("Ticket", {"name": name, "content": content, "entities_id": entity,
                                    "itilcategories_id": category, **fields})

    def add_followup(self, ticket: int, content: str, private: bool = False, status: str | None = None) -> int:
        """A followup; with ``status``, GLPI's split button "add and change the status" (one request)."""
        extra = {"_status": STATUS[status]} if status else {}
        return self._add("ITILFollowup", {"itemtype": "Ticket", "items_id": ticket, "content": content,
                                          "is_private": int(private), **extra})

    def request_validation(self, ticket: int, validator_id: int, comment: str = "") -> int:
        return self._add("TicketValidation", {"tickets_id": ticket, "users_id_validate": validator_id,
                                              "comment_submission": comment})

    def answer_validation(self, validation: int, accepted: bool, comment: str = "") -> None:
        self._call("PUT", f"/TicketValidation/{validation}",
                   {"input": {"status": 3 if accepted else 4, "comment_validation": comment}})

    def update_ticket(self, ticket: int, **fields: Any) -> None:
        """A ``PUT Ticket/:id``: native fields and, with the Fields plugin, its values (``c_id`` for a container
        other than the ticket's ``dom`` one)."""
        self._call("PUT", f"/Ticket/{ticket}", {"input": {"id": ticket, **fields}})

    def set_status(self, ticket: int, status: str) -> None:
        self._call("PUT", f"/Ticket/{ticket}", {"input": {"status": STATUS[status]}})

    def upload(self, ticket: int, filename: str, content: bytes, comment: str = "") -> int:
        manifest = {"input": {"name": filename, "_filename": [filename], "comment": comment,
                              "itemtype": "Ticket", "items_id": ticket}}
        files: dict[str, Any] = {"uploadManifest": (None, json.dumps(manifest), "application/json"),
                 "filename[0]": (filename, content, "application/octet-stream")}
        answer = self.http.post(f"{self.url}/Document", files=files, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return int(answer.json()["id"])
