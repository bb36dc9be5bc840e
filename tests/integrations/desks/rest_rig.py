"""The reference desk (lab/reference_desk.py) and `RestDesk` clients of it, for the ``rest`` desk's tests.

Shaped for the shared `DeskClient` contract (tests/contracts/desk_contract.py): `RestActor` is a `DeskActor` (a
desk account acting with its own token, the way the desk's UI would), and `RestRig` holds every piece its
``DeskHarness`` asks for (``client``, ``actor``, ``client_as``, ``down_client``, ``bad_key_client``,
``late_client`` and the SOP's accounts, statuses and fields in this desk's terms): the contract runs here with
``DeskHarness(**rig.harness())`` (test_rest_contract.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from integrations.desks.rest import RestDesk, RestOptions
from lab.reference_desk import ReferenceDesk
from tests.support.smtp_sink import free_port
from toolkit.masking import Masker
from toolkit.settings import Settings, load_settings

MAPPING = Path(__file__).resolve().parents[3] / "lab" / "desks" / "rest.yml"
PROJECT = "spbe-uji"
FIELDS = ("Layanan", "Instansi", "Keterangan")


def mapping_options() -> dict[str, Any]:
    """The lab mapping's options: the tests drive the very spec an operator would deploy."""
    options: dict[str, Any] = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))["options"]
    return options


def settings_for(desk: ReferenceDesk, folder: Path, **extra: str) -> Settings:
    """One ``settings.secrets`` entry per desk account (``desk-rest-<login>``; the bot's is ``desk-rest``)."""
    secrets: dict[str, dict[str, str]] = {}
    for login, token in {**desk.tokens, **extra}.items():
        path = folder / f"token-{login}"
        path.write_text(token, encoding="utf-8")
        name = "desk-rest" if login == "spbe" else f"desk-rest-{login}"
        secrets[name] = {"ref": f"file:{path}"}
    return load_settings(state_dir=folder / "state", secrets=secrets)


class RestActor:
    """A desk account acting with its own token over the desk's API (not through the client under test)."""

    def __init__(self, desk: ReferenceDesk, login: str) -> None:
        self.desk, self.login = desk, login

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.request(method, self.desk.url + path, json=body, timeout=10,
                                    headers={"Authorization": f"Bearer {self.desk.tokens[self.login]}"})
        assert response.status_code in (200, 201), (response.status_code, response.text)
        data: dict[str, Any] = response.json()["data"]
        return data

    def open(self, subject: str, fields: dict[str, str], description: str = "") -> str:
        body = {"antrian": PROJECT, "judul": subject, "uraian": description, "kolom": fields}
        return str(self._send("POST", "/api/v1/tiket", body)["id"])

    def comment(self, key: str, text: str) -> None:
        self._send("POST", f"/api/v1/tiket/{key}/catatan", {"isi": text})

    def move(self, key: str, status: str, note: str = "") -> None:
        self._send("POST", f"/api/v1/tiket/{key}/status", {"status": status, "catatan": note})

    def set_field(self, key: str, field: str, value: str) -> None:
        self._send("PATCH", f"/api/v1/tiket/{key}/kolom", {"kolom": {field: value}})


@dataclass
class RestRig:
    desk: ReferenceDesk
    settings: Settings
    folder: Path
    masker: Masker = field(default_factory=Masker)
    opened: list[RestDesk] = field(default_factory=list)

    def make(self, login: str = "spbe", *, base_url: str | None = None, token: str | None = None,
             timeout_s: float = 2.0, **changes: Any) -> RestDesk:
        """A client as ``login`` (its own token), through the options schema as the hub builds it."""
        settings = self.settings
        if token is not None:
            settings = settings_for(self.desk, self.folder / "other", **{login: token})
        raw = {**mapping_options(), "base_url": base_url or self.desk.url, "timeout_s": timeout_s,
               "token_secret": "desk-rest" if login == "spbe" else f"desk-rest-{login}", **changes}
        client = RestDesk(settings, name="rest", masker=self.masker, **RestOptions.model_validate(raw).kwargs())
        self.opened.append(client)
        return client

    _client: RestDesk | None = None

    @property
    def client(self) -> RestDesk:
        """The client under test, as the bot."""
        if self._client is None:
            self._client = self.make()
        return self._client

    def actor(self, login: str) -> RestActor:
        return RestActor(self.desk, login)

    def down_client(self, token: str) -> RestDesk:
        (self.folder / "other").mkdir(exist_ok=True)
        return self.make(base_url=f"http://127.0.0.1:{free_port()}", token=token)

    def bad_key_client(self, token: str) -> RestDesk:
        (self.folder / "other").mkdir(exist_ok=True)
        return self.make(token=token)

    @contextmanager
    def late_client(self, delay_s: float) -> Iterator[RestDesk]:
        """Every write lands, its answer comes after the client gave up."""
        self.desk.faults.add("/api/v1/tiket/", "late", count=1000, method="POST", delay_s=delay_s)
        try:
            yield self.make(timeout_s=min(0.5, delay_s / 3))
        finally:
            self.desk.faults.clear()

    def harness(self) -> dict[str, Any]:
        """The keyword arguments of the contract's ``DeskHarness``."""
        return {"client": self.client, "project": PROJECT, "actor": self.actor, "client_as": self.make,
                "down_client": self.down_client, "bad_key_client": self.bad_key_client,
                "late_client": self.late_client, "bot": "spbe", "requester": "andi", "checker": "sari",
                "approver": "kadis", "stranger": "tamu", "new": "Baru", "checked": "Diperiksa",
                "approved": "Disetujui", "fields": FIELDS, "service": "pusat-data", "other_project": "umum",
                "credentials": tuple(self.desk.tokens.values())}

    def close(self) -> None:
        for client in self.opened:
            client.close()
