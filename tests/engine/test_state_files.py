"""After the engine has run every kind of service it can run without the lab, the state directory holds
exactly the databases docs/architecture.md lists in its "State" section, and ``state.db`` exactly the
tables it names there.

One state directory for all of them, as in production: a ticket of the counting actions to its close
(notification included), one down the non-idempotent path, one whose action allocates a pool host, a
segment and a tunnel slot through the services, escalations of tickets past their SLA, and a secret in
the vault. A store that opened a file of its own again, or two stores sharing a table name, fail here.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.test_allocation_processes import INVENTORY
from tests.support.principals import as_lab
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import TicketStatus
from toolkit.engine.escalation import check_once
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings
from toolkit.vault import VaultMeta, generate_key

REPO = Path(__file__).resolve().parents[2]
EVIDENCE_LEDGER = "evidence/ledger.db"  # written only when CSIRT evidence is sealed (a lab run)
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def documented() -> tuple[set[str], str]:
    """The database files of the State section (paths relative to state_dir) and the section's text."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## State\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    return {re.match(r"\| `([^`]+\.db)`", line).group(1) for line in table}, section  # type: ignore[union-attr]


def database_files(state_dir: Path) -> set[str]:
    """Every SQLite file under ``state_dir`` (its WAL and shared-memory files counted as the database)."""
    found = set()
    for path in state_dir.rglob("*"):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            is_database = handle.read(16) == b"SQLite format 3\x00"
        name = str(path.relative_to(state_dir))
        if is_database or name.endswith(SQLITE_SIDE_FILES):
            found.add(re.sub(r"(-wal|-shm|-journal)$", "", name))
    return found


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    text = (TEST_CATALOG / "uji-mesin.yaml").read_text(encoding="utf-8")
    (catalog / "uji-mesin.yaml").write_text(text, encoding="utf-8")
    allocating = text.replace("id: uji-mesin", "id: uji-alokasi", 1)
    (catalog / "uji-alokasi.yaml").write_text(allocating.replace("action: test.counter,", "action: test.allocate,", 1),
                                              encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    settings = load_settings(state_dir=tmp_path / "state", catalog_dir=catalog, inventory=inventory,
                             extra_actions=(*TEST_ACTIONS, "tests.support.actions:ALLOCATOR"))
    app = App(settings)
    yield app
    app.close()


def _to_the_end(app: App, service: str, **fields: object) -> str:
    ticket = desk.open_ticket(app, service, as_lab("andi"), "Uji berkas keadaan",
                              {"instansi": "Dinas Uji", **fields}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui untuk pengujian.")
    while work_once(app, "uji") is not None:
        pass
    desk.close(app, ticket.id, as_lab("sari"), "Seluruh tahapan selesai.")
    while work_once(app, "uji") is not None:
        pass
    assert app.tickets.get(ticket.id).status == TicketStatus.CLOSED
    assert {j.state for j in app.queue.list_jobs(ticket_id=ticket.id)} == {JobState.SUCCEEDED}
    return ticket.id


def test_the_state_dir_holds_exactly_the_documented_databases(app: App) -> None:
    state_dir = Path(app.settings.state_dir)
    _to_the_end(app, "uji-mesin")
    _to_the_end(app, "uji-mesin", sekali=True)
    allocated = _to_the_end(app, "uji-alokasi")
    assert app.state.hosts.allocation(allocated, "aksi-pertama") is not None
    assert app.state.segments.get(allocated) is not None
    late = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji eskalasi", {"instansi": "Dinas Uji"}, [])
    assert check_once(app, now=app.clock.now() + timedelta(days=2)), "a ticket past its SLA is escalated"
    assert [c.ticket_id for c in app.state.escalations.claims()] == [late.id]
    app.vault.put(allocated, "api-key", SecretStr("rahasia-uji-0001"), meta=VaultMeta(recipient="andi"))
    accounts = open_accounts(app)  # the front door's credentials (spbe user add)
    accounts.admin.add(as_lab("sari"), "andi", SecretStr("Gunung-Tambora-1815-meletus"))
    accounts.close()

    files, section = documented()
    assert database_files(state_dir) == files - {EVIDENCE_LEDGER}, section
    app.close()
    with sqlite3.connect(state_dir / "state.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if not row[0].startswith("sqlite_")}
    db.close()
    assert tables == {"host_allocations", "segments", "tunnel_slots", "rack_space", "containment", "issued",
                      "escalations", "schedules", "schedule_runs", "compliance_runs", "compliance_waivers", "secrets",
                      "survey_answers",
                      "document_sequences", "document_numbers"}
    named = set(re.findall(r"`(\w+)`", section.split("`state.db`", 1)[1].split("\n", 1)[0]))
    assert tables <= named, f"docs/architecture.md's State section does not name {tables - named}"
