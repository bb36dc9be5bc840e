"""The `DeskClient` contract (tests/contracts/desk_contract.py) on `RedmineDesk` against the real Redmine 5 of
tests/fixtures/redmine.py: the people act with their own API keys over Redmine's REST API, the client under test
acts as the non-admin ``spbe`` bot. Plus what is Redmine's own: the options schema, the key given by name in
``settings.secrets``, a 422 with Redmine's ``errors``, and the key never sent to another origin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from pydantic import SecretStr

from integrations.desks.redmine import RedmineDesk, RedmineOptions
from lab.redmine_spec import (
    APPROVED,
    CHECKED,
    INSTANSI,
    LAYANAN,
    NEW,
    PROJECT_IDENTIFIER,
    SPESIFIKASI,
    RedmineHandle,
)
from tests.contracts.desk_contract import DeskContract, DeskHarness
from tests.support.late_proxy import LateProxy
from tests.support.smtp_sink import free_port
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.masking import MASK
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings

pytestmark = [pytest.mark.redmine, pytest.mark.slow]
TIMEOUT = 30


class RedmineActor:
    """A person of the test desk acting with their own API key, as Redmine's UI would on their behalf."""

    def __init__(self, redmine: RedmineHandle, login: str) -> None:
        self.redmine, self.login = redmine, login

    def _send(self, method: str, path: str, body: dict[str, Any]) -> requests.Response:
        response = requests.request(method, self.redmine.base_url + path, json=body, timeout=TIMEOUT,
                                    headers=self.redmine.headers(self.login))
        assert response.status_code in {201, 204}, (response.status_code, response.text)
        return response

    def _custom(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        return [{"id": self.redmine.custom_fields[name], "value": value} for name, value in fields.items()]

    def open(self, subject: str, fields: dict[str, str], description: str = "") -> str:
        issue = {"project_id": self.redmine.project_id, "tracker_id": self.redmine.trackers["Support"],
                 "subject": subject, "description": description, "custom_fields": self._custom(fields)}
        return str(self._send("POST", "/issues.json", {"issue": issue}).json()["issue"]["id"])

    def comment(self, key: str, text: str) -> None:
        self._send("PUT", f"/issues/{key}.json", {"issue": {"notes": text}})

    def move(self, key: str, status: str, note: str = "") -> None:
        self._send("PUT", f"/issues/{key}.json", {"issue": {"status_id": self.redmine.statuses[status],
                                                            "notes": note}})

    def set_field(self, key: str, field: str, value: str) -> None:
        self._send("PUT", f"/issues/{key}.json", {"issue": {"custom_fields": self._custom({field: value})}})


def _client(url: str, key: str, timeout_s: float = 10.0) -> RedmineDesk:
    return RedmineDesk(Settings(), name="redmine-uji", base_url=url, api_key=SecretStr(key), timeout_s=timeout_s)


@pytest.fixture(scope="module")
def bot(redmine: RedmineHandle) -> Iterator[RedmineDesk]:
    with _client(redmine.base_url, redmine.api_key("spbe")) as client:
        yield client


@pytest.fixture
def desk(redmine: RedmineHandle, bot: RedmineDesk) -> DeskHarness:
    @contextmanager
    def late(delay_s: float) -> Iterator[RedmineDesk]:
        base = urlsplit(redmine.base_url)
        with LateProxy(base.hostname or "127.0.0.1", base.port or 80, delay_s) as proxy, _client(
                f"http://127.0.0.1:{proxy.port}", redmine.api_key("spbe"), timeout_s=delay_s / 3) as client:
            yield client

    return DeskHarness(
        client=bot, project=PROJECT_IDENTIFIER, actor=lambda login: RedmineActor(redmine, login),
        client_as=lambda login: _client(redmine.base_url, redmine.api_key(login)),
        down_client=lambda key: _client(f"http://127.0.0.1:{free_port()}", key, timeout_s=3),
        bad_key_client=lambda key: _client(redmine.base_url, key), late_client=late,
        bot="spbe", requester="andi", checker="sari", approver="kadis", stranger="tamu",
        new=NEW, checked=CHECKED, approved=APPROVED, fields=(LAYANAN, INSTANSI, SPESIFIKASI), service="pusat-data",
        credentials=tuple(redmine.api_key(login) for login in redmine.users))


class TestRedmineDesk(DeskContract):
    """The contract, on the real Redmine."""


def test_the_key_can_be_named_in_settings_secrets(redmine: RedmineHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_TEST_REDMINE_KEY", redmine.api_key("spbe"))
    options = RedmineOptions.model_validate({"base_url": redmine.base_url, "api_key_secret": "redmine_bot"})
    settings = Settings(secrets={"redmine_bot": SecretRef(ref="env:SPBE_TEST_REDMINE_KEY")})
    with RedmineDesk(settings, name="redmine-uji", **options.kwargs()) as client:
        assert client.capabilities().account == "spbe"
    shown = RedmineOptions.model_validate({"base_url": redmine.base_url, "api_key": redmine.api_key("spbe")})
    assert redmine.api_key("spbe") not in f"{shown!r} {shown.model_dump()}"
    with pytest.raises(ConfigurationError, match="api_key_secret"):
        RedmineDesk(Settings(), base_url=redmine.base_url)


def test_a_422_carries_redmines_errors(redmine: RedmineHandle, bot: RedmineDesk) -> None:
    key = RedmineActor(redmine, "andi").open("Permohonan 422", {LAYANAN: "pusat-data"})
    with pytest.raises(InvalidInputError) as refused:
        bot.http.request("PUT", f"/issues/{key}.json", json={"issue": {"subject": ""}})
    assert "422" in str(refused.value) and "Subject" in str(refused.value)
    assert refused.value.details["errors"]


def test_the_key_is_never_sent_to_another_origin(redmine: RedmineHandle, bot: RedmineDesk) -> None:
    with pytest.raises(ConfigurationError, match="another origin") as refused:
        bot.http.request("GET", f"http://127.0.0.1:{free_port()}/attachments/download/1")
    assert redmine.api_key("spbe") not in str(refused.value) and MASK not in str(refused.value)
