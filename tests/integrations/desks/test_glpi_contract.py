"""The shared `DeskClient` contract (tests/contracts/desk_contract.py) on `GlpiDesk` against the fake GLPI
(`lab.glpi_fake`, which follows GLPI's documented REST API; GLPI is not installable here), with the Fields plugin
installed (`lab.glpi_fake_fields`): the request form is the container "Formulir Permohonan" (a dropdown
"Layanan", a text "Instansi", a textarea "Spesifikasi"), named to the client by ``fields_container``.

A person's "move with a note" is GLPI's followup form with its split button "add and change the status"
(``_status`` in the followup's input): one request, a followup and a status entry in the history, read as one
change. spbe's own set_status (a PUT, then a followup announcing it) is read as one change by its marker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import SecretStr

from integrations.desks.glpi import GlpiDesk
from lab.glpi_fake import GlpiFake
from lab.glpi_fake_store import SEED_CATEGORIES
from tests.contracts.desk_contract import DeskContract, DeskHarness
from tests.support.smtp_sink import free_port
from toolkit.settings import Settings

CATEGORIES = {name: cid for cid, name in SEED_CATEGORIES}
CONTAINER = "Formulir Permohonan"
DISKOMINFO, PENDIDIKAN = "Root entity > Diskominfo", "Root entity > Dinas Pendidikan"


class GlpiActor:
    """A person of the fake GLPI acting with their own user token, as GLPI's UI would on their behalf."""

    def __init__(self, glpi: GlpiFake, login: str) -> None:
        self.login, self.person = login, glpi.person(login)
        assert glpi.store.fields_plugin is not None
        self.form = glpi.store.fields_plugin

    def open(self, subject: str, fields: dict[str, str], description: str = "") -> str:
        category = CATEGORIES.get(fields.get("Layanan", ""), 0)
        return str(self.person.create_ticket(subject, description, entity=1, category=category,
                                             **self.form.input_for(fields)))

    def comment(self, key: str, text: str) -> None:
        self.person.add_followup(int(key), text)

    def move(self, key: str, status: str, note: str = "") -> None:
        if note:  # the followup form's "add and change the status": one request, one change
            self.person.add_followup(int(key), note, status=status)
        else:
            self.person.set_status(int(key), status)

    def set_field(self, key: str, field: str, value: str) -> None:
        self.person.update_ticket(int(key), **self.form.input_for({field: value}))


def _client(glpi: GlpiFake, url: str, user_token: str, timeout_s: float = 10.0) -> GlpiDesk:
    return GlpiDesk(Settings(), name="glpi-uji", base_url=url, user_token=SecretStr(user_token),
                    app_token=SecretStr(glpi.app_token), fields_container=CONTAINER, timeout_s=timeout_s)


@pytest.fixture
def desk() -> Iterator[DeskHarness]:
    with GlpiFake() as glpi:

        @contextmanager
        def late(delay_s: float) -> Iterator[GlpiDesk]:
            glpi.fail_next("POST", "/", status=0, stall_s=delay_s)  # carried out; the answer comes after timeout
            with _client(glpi, glpi.url, glpi.user_token("spbe"), timeout_s=delay_s / 3) as client:
                yield client

        logins = ("spbe", "andi", "sari", "kadis", "tamu")
        with _client(glpi, glpi.url, glpi.user_token("spbe")) as bot:
            yield DeskHarness(
                client=bot, project=DISKOMINFO, actor=lambda login: GlpiActor(glpi, login),
                client_as=lambda login: _client(glpi, glpi.url, glpi.user_token(login)),
                down_client=lambda key: _client(glpi, f"http://127.0.0.1:{free_port()}/apirest.php", key, 3),
                bad_key_client=lambda key: _client(glpi, glpi.url, key), late_client=late,
                bot="spbe", requester="andi", checker="sari", approver="kadis", stranger="tamu",
                new="new", checked="processing", approved="planned", fields=("Layanan", "Instansi", "Spesifikasi"),
                service="Pusat Data", other_project=PENDIDIKAN,
                credentials=(*(glpi.user_token(login) for login in logins), glpi.app_token))


class TestGlpiDesk(DeskContract):
    """The contract, on the fake GLPI with the Fields plugin."""
