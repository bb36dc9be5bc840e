"""`spbe ticket schedule propose|confirm|reject` and `spbe incident reject` from other machines (`spbe login`)
against a real server (uvicorn on loopback, `WebServer`): the same command functions run on the server with
the token's person, the same refusals and exit codes as on the control node, bad input refused before
anything is sent, and the endpoints in the OpenAPI document."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO
from tests.conftest import TEST_ACTIONS
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain import install_schedule
from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY
from toolkit.settings import load_settings
from toolkit.web.server import WebServer

JADWAL = Path(__file__).resolve().parents[1] / "commands" / "jadwal_catalog" / "uji-jadwal.yaml"
FAST_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


@dataclass
class Server:
    url: str
    app: App
    home: Path

    def token(self, user: str, scope: str = "act") -> str:
        accounts = open_accounts(self.app)
        try:
            return accounts.tokens.create(as_lab(user), user, "1d", scope).secret.get_secret_value()
        finally:
            accounts.close()

    def machine(self, user: str) -> Spbe:
        """``user``'s own machine: a config home of its own, logged in with ``user``'s act token."""
        remote = Spbe(env={"XDG_CONFIG_HOME": str(self.home / user)})
        done = remote("login", "--server", self.url, input=self.token(user) + "\n")
        assert done.exit_code == 0, done.output
        return remote

    def audit(self, prefix: str) -> list[str]:
        return [e.action for e in self.app.audit.entries() if e.action.startswith(prefix)]


@pytest.fixture
def server(state_dir: Path, tmp_path: Path) -> Iterator[Server]:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for path in DEFAULT_DIRECTORY.glob("*.yaml"):
        if path.name != "roles.yaml":
            shutil.copy(path, catalog / path.name)
    shutil.copy(JADWAL, catalog)
    app = App(load_settings(state_dir=state_dir, catalog_dir=catalog, extra_actions=TEST_ACTIONS,
                            http={"bind": "127.0.0.1:0"}, accounts=FAST_ARGON2))
    web = WebServer(app, app.settings, "127.0.0.1", 0)
    url = web.start()
    assert web.started.wait(30)
    try:
        yield Server(url=url, app=app, home=tmp_path / "homes")
    finally:
        web.stop()
        app.close()


def approved(app: App) -> str:
    ticket = desk.open_ticket(app, "uji-jadwal", as_lab("andi"), "Pemasangan jaringan", {"instansi": "Dinkes"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    return ticket.id


def wita(days: float) -> str:
    """A naive ISO time ``days`` from now in the service's zone, as a person types it."""
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.astimezone(install_schedule.zone_of(None)).replace(tzinfo=None).isoformat(timespec="minutes")


def test_the_team_proposes_and_the_applicant_confirms_from_their_machines(server: Server) -> None:
    ticket_id = approved(server.app)
    yusuf, andi = server.machine("yusuf"), server.machine("andi")
    start, end = wita(3), wita(3.1)
    refused = andi("ticket", "schedule", "propose", ticket_id, "--start", start, "--end", end)
    assert refused.exit_code == 4, refused.output  # the requester never proposes: the server's policy says so
    assert yusuf("ticket", "schedule", "propose", ticket_id, "--start", end, "--end", start).exit_code == 2
    assert yusuf("ticket", "schedule", "propose", ticket_id, "--start", "besok pagi", "--end", end).exit_code == 2
    assert yusuf("ticket", "schedule", "propose", ticket_id, "--as", "yusuf", "--start", start,
                 "--end", end).exit_code == 4  # --as is not honoured against a server
    assert server.audit("schedule.") == []

    done = yusuf("ticket", "schedule", "propose", ticket_id, "--start", start, "--end", end, "--note",
                 "Membawa switch 24 port")
    assert done.exit_code == 0 and "jadwal diusulkan" in done.output and "WITA" in done.output, done.output
    assert yusuf("ticket", "schedule", "confirm", ticket_id).exit_code == 4  # the team cannot confirm

    confirmed = andi.json("ticket", "schedule", "confirm", ticket_id)
    assert confirmed["acted"] and confirmed["schedule"]["status"] == "confirmed"
    assert confirmed["schedule"]["by"] == "yusuf" and confirmed["schedule"]["note"] == "Membawa switch 24 port"
    assert confirmed["zone"] == "Asia/Makassar" and set(confirmed) == {"ticket_id", "schedule", "acted", "zone"}
    again = andi("ticket", "schedule", "confirm", ticket_id)
    assert again.exit_code == 0 and "tidak berubah" in again.output
    assert server.audit("schedule.") == ["schedule.propose", "schedule.confirm"]  # on the server, once each
    [event] = [e for e in server.app.audit.entries() if e.action == "schedule.confirm"]
    assert event.actor == "andi"

    # The control node's CLI reads the same schedule from the server's stores.
    local = Spbe(state_dir=Path(server.app.settings.state_dir), env={
        "SPBE_CATALOG_DIR": str(server.app.settings.catalog_dir), "SPBE_EXTRA_ACTIONS": '["' +
        '","'.join(TEST_ACTIONS) + '"]'})
    assert local.json("ticket", "show", ticket_id)["jadwal"]["status"] == "confirmed"


def test_asking_for_another_date_and_bad_input_from_afar(server: Server) -> None:
    ticket_id = approved(server.app)
    yusuf, andi, budi = server.machine("yusuf"), server.machine("andi"), server.machine("budi")
    for note in ("baris satu\nbaris dua", "{{ 7*7 }}", "x" * 501):  # refused here: nothing is sent
        assert yusuf("ticket", "schedule", "propose", ticket_id, "--start", wita(2), "--end", wita(2.1),
                     "--note", note).exit_code == 2
    assert yusuf("ticket", "schedule", "propose", "../../me", "--start", wita(2), "--end", wita(2.1)).exit_code == 2
    assert server.audit("schedule.") == []
    shell = "$(reboot); rm -rf / `id`"  # harmless text: recorded as written, never run
    assert yusuf("ticket", "schedule", "propose", ticket_id, "--start", wita(2), "--end", wita(2.1),
                 "--note", shell).exit_code == 0
    assert budi("ticket", "schedule", "reject", ticket_id, "--reason", "Bukan tiket saya").exit_code == 3  # unseen
    assert andi("ticket", "schedule", "reject", ticket_id, "--reason", "  ").exit_code == 2
    assert andi("ticket", "schedule", "reject", ticket_id, "--reason", "{% if 1 %}x{% endif %}").exit_code == 2
    rejected = andi.json("ticket", "schedule", "reject", ticket_id, "--reason", "Hari libur daerah")
    assert rejected["schedule"]["status"] == "rejected" and rejected["schedule"]["reason"] == "Hari libur daerah"
    assert rejected["schedule"]["note"] == shell
    assert andi("ticket", "schedule", "confirm", ticket_id).exit_code == 5  # refused: wait for a new proposal
    assert server.audit("schedule.") == ["schedule.propose", "schedule.reject"]


def test_incident_reject_from_afar(server: Server) -> None:
    ticket_id = desk.open_ticket(server.app, "insiden-siber", as_lab("lina"), "Situs berubah", GORONTALO,
                                 EVIDENCE).id
    rina, sari = server.machine("rina"), server.machine("sari")
    assert rina("incident", "reject", ticket_id, "--reason", "Bukan insiden.").exit_code == 4
    assert sari("incident", "reject", ticket_id, "--reason", "a\u202eb").exit_code == 2  # bidi: refused locally
    assert server.app.tickets.get(ticket_id).status.value == "open"
    done = sari("incident", "reject", ticket_id, "--reason", "Pemeliharaan terjadwal, bukan peretasan.")
    assert done.exit_code == 0 and "tidak terverifikasi" in done.output, done.output
    assert server.app.tickets.get(ticket_id).status.value == "closed"
    assert sari("incident", "reject", ticket_id, "--reason", "Lagi.").exit_code == 5  # closed: as locally
    assert server.app.queue.list_jobs(ticket_id=ticket_id) == []


def test_the_schedule_endpoints_are_documented_and_strict(server: Server) -> None:
    api = server.url + "/api/v1"
    paths = httpx.get(api + "/openapi.json", headers={"Authorization": f"Bearer {server.token('yusuf', 'read')}"},
                      timeout=30).json()["paths"]
    for verb in ("propose", "confirm", "reject"):
        assert f"/tickets/{{ticket_id}}/schedule/{verb}" in paths
    ticket_id = approved(server.app)
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {server.token('yusuf')}"}, timeout=30) as c:
        extra = c.post(f"/tickets/{ticket_id}/schedule/propose",
                       json={"start": wita(2), "end": wita(2.1), "as": "andi"})
        assert extra.status_code in (400, 422) and set(extra.json()) == {"error", "message", "fields"}
        past = c.post(f"/tickets/{ticket_id}/schedule/propose", json={"start": "2020-01-01T09:00",
                                                                       "end": "2020-01-01T10:00"})
        assert past.status_code == 400 and past.json()["error"] == "invalid_input", past.text
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {server.token('yusuf', 'read')}"},
                      timeout=30) as c:
        assert c.post(f"/tickets/{ticket_id}/schedule/propose",
                      json={"start": wita(2), "end": wita(2.1)}).status_code == 403  # a read token changes nothing
    assert server.audit("schedule.") == []
