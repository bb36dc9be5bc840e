"""The lab Redmine as spbe's desk in a test: settings with the lab mapping pointed at the session's Redmine, and
the people acting in Redmine through its REST API with their own keys (what they would do in its web UI)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from lab.redmine_spec import RedmineHandle
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings, load_settings

LAB_MAPPING = Path(__file__).resolve().parents[2] / "lab" / "desks" / "redmine.yml"
KEY_ENV, HOOK_ENV = "SPBE_TEST_DESK_REDMINE_KEY", "SPBE_TEST_DESK_REDMINE_HOOK"
HOOK_SECRET = "rahasia-webhook-uji-4f1c"  # noqa: S105 - the test desk's webhook key
TIMEOUT = 30


def desk_settings(redmine: RedmineHandle, tmp: Path, monkeypatch: pytest.MonkeyPatch, base: Settings | None = None,
                  **overrides: Any) -> Settings:
    """Settings with the lab Redmine as desk: built anew, or ``base`` (the lab's settings) with the desk added."""
    folder = tmp / "desks"
    folder.mkdir(exist_ok=True)
    mapping = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    mapping["options"] = {"base_url": redmine.base_url, "api_key_secret": "desk-redmine"}
    mapping["poll_overlap_s"] = 5
    (folder / "redmine.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(KEY_ENV, redmine.api_key("spbe"))
    monkeypatch.setenv(HOOK_ENV, HOOK_SECRET)
    secrets = {"desk-redmine": {"ref": f"env:{KEY_ENV}"}, "desk-redmine-webhook": {"ref": f"env:{HOOK_ENV}"},
               "backup_password": {"ref": "env:SPBE_BACKUP_PASSWORD"}}
    if base is not None:
        refs = {name: SecretRef(**ref) for name, ref in secrets.items()}
        return base.model_copy(update={"desks_dir": folder, "secrets": {**base.secrets, **refs}})
    return load_settings(state_dir=tmp / "state", desks_dir=folder, secrets=secrets, **overrides)


class Person:
    """One Redmine account acting through the REST API."""

    def __init__(self, redmine: RedmineHandle, login: str) -> None:
        self.redmine, self.login = redmine, login

    def _url(self, path: str) -> str:
        return f"{self.redmine.base_url}{path}"

    def open(self, subject: str, fields: dict[str, str], files: dict[str, bytes] | None = None) -> str:
        uploads = [self.upload(name, content) for name, content in (files or {}).items()]
        custom = [{"id": self.redmine.custom_fields[name], "value": value} for name, value in fields.items()]
        body: dict[str, Any] = {"project_id": self.redmine.project_id, "tracker_id": self.redmine.trackers["Support"],
                "subject": subject, "custom_fields": custom, "uploads": uploads}
        response = requests.post(self._url("/issues.json"), json={"issue": body},
                                 headers=self.redmine.headers(self.login), timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        return str(response.json()["issue"]["id"])

    def upload(self, name: str, content: bytes) -> dict[str, str]:
        response = requests.post(self._url(f"/uploads.json?filename={name}"), data=content, timeout=TIMEOUT,
                                 headers=self.redmine.headers(self.login) | {
                                     "Content-Type": "application/octet-stream"})
        assert response.status_code == 201, response.text
        return {"token": response.json()["upload"]["token"], "filename": name,
                "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream"}

    def status(self, key: str, status: str, notes: str = "") -> None:
        body: dict[str, Any] = {"status_id": self.redmine.statuses[status], **({"notes": notes} if notes else {})}
        response = requests.put(self._url(f"/issues/{key}.json"), json={"issue": body},
                                headers=self.redmine.headers(self.login), timeout=TIMEOUT)
        assert response.status_code == 204, response.text

    def note(self, key: str, text: str) -> None:
        response = requests.put(self._url(f"/issues/{key}.json"), json={"issue": {"notes": text}},
                                headers=self.redmine.headers(self.login), timeout=TIMEOUT)
        assert response.status_code == 204, response.text

    def download(self, attachment_id: int) -> bytes:
        response = requests.get(self._url(f"/attachments/download/{attachment_id}"), timeout=TIMEOUT,
                                headers=self.redmine.headers(self.login))
        assert response.status_code == 200, response.status_code
        return response.content

    def issue(self, key: str) -> dict[str, Any]:
        response = requests.get(self._url(f"/issues/{key}.json?include=journals,attachments"),
                                headers=self.redmine.headers(self.login), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        issue: dict[str, Any] = response.json()["issue"]
        return issue
