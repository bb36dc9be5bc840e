"""Every list command stays readable in an 80-column terminal and in a pipe (issue 13, point 5).

Before: `spbe ticket list` printed ``SPBE-2026…`` for every ticket, and `spbe jobs list` wrapped each cell to a
few letters. The real CLI runs here with its output captured (not a TTY) and ``COLUMNS`` set, on stores
holding the real long ids: ticket ids, the catalog's longest step id and action, evidence bundle ids. Each
id must appear whole on one line, no line may exceed the width, and ``--json`` still holds everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.cli.render import when_short
from toolkit.containment.models import ContainmentKind
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.tickets.models import TicketDraft
from toolkit.evidence.bundle import ledger
from toolkit.ports.jobs import JobSpec, JobState
from toolkit.settings import load_settings
from toolkit.vault import VaultMeta, generate_key

WIDTHS = (80, 200)
LONG_TITLE = ("Permohonan hosting aplikasi Sistem Informasi Manajemen Puskesmas (SIMPUS) untuk empat puluh dua "
              "puskesmas di seluruh kabupaten, dengan cadangan harian dan pemantauan")
LONG_ERROR = ("ansible-playbook failed on simpus-app-01: fatal: [10.213.7.2]: UNREACHABLE! => "
              "Failed to connect to the host via ssh: ssh: connect to host 10.213.7.2 port 22: "
              "Connection timed out\nsecond line of the error that only `spbe jobs show` prints")
CATALOG = load_catalog()
LONGEST_STEP = max((s.id for svc in CATALOG.services() for s in svc.steps), key=len)
LONGEST_ACTION = max((s.action for svc in CATALOG.services() for s in svc.steps if s.action), key=len)
LONGEST_SERVICE = max((svc.id for svc in CATALOG.services()), key=len)


@dataclass(frozen=True)
class Stores:
    tickets: list[str]
    jobs: list[str]
    bundles: list[str]
    containments: list[str]


@pytest.fixture
def stores(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Stores:
    """Tickets, jobs (one failed with a long error), audit entries, a secret, evidence and containment,
    written through the stores' own ports, with the longest real ids the catalog has."""
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    app = App(load_settings(state_dir=state_dir))
    services = [svc.id for svc in CATALOG.services()]
    tickets = []
    for n, service in enumerate([LONGEST_SERVICE, *services[-2:]]):  # the last two show their requester
        ticket = app.tickets.create(TicketDraft(service_id=service, title=LONG_TITLE if n == 0 else "Jaringan BKD",
                                                requester="koordinator", fields={}, sla_variant="standar"))
        tickets.append(ticket.id)
        app.audit.append("koordinator", "ticket.open", ticket.id, {"service": service, "auth": "lab-as"})
    jobs = []
    for n, ticket_id in enumerate(tickets):
        job, _ = app.queue.enqueue(JobSpec(ticket_id=ticket_id, step_id=LONGEST_STEP, action=LONGEST_ACTION,
                                           idempotency_key=f"{ticket_id}:{LONGEST_STEP}", idempotent=True))
        jobs.append(str(job.id))
        if n == 0:
            claimed = app.queue.claim("worker-1", 30.0)
            assert claimed is not None and claimed.id == job.id
            assert app.queue.finish(job.id, claimed.lease_token or "", JobState.FAILED, None, LONG_ERROR, [])
    app.vault.put(tickets[0], "api_key", SecretStr("CANARY-list-tables-0a1b2c3d"),
                  meta=VaultMeta(recipient="koordinator", expires_at=datetime.now(UTC) + timedelta(days=365)))
    bundles = []
    evidence = ledger(state_dir)
    try:
        for ticket_id in tickets[:2]:
            bundle = f"EV-{ticket_id}-20260305T102233Z-a1b2c3"
            evidence.append("rina", "evidence.sealed", ticket_id, {"bundle": bundle, "host": "ir-web-01",
                                                                    "manifest_sha256": "ab" * 32})
            bundles.append(bundle)
    finally:
        evidence.close()
    record, _ = app.state.containment.begin(tickets[0], ContainmentKind.ISOLATE_HOST, "ir-web-01", "rina", {})
    app.close()
    return Stores(tickets, jobs, bundles, [record.id])


def _run(spbe: Spbe, width: int, *args: str) -> list[str]:
    result = spbe(*args, env={"COLUMNS": str(width), "LINES": "50", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"{args} at {width} columns:\n" + "\n".join(too_wide)
    return lines


def _whole_on_a_line(lines: list[str], *ids: str) -> None:
    for value in ids:
        assert any(value in line for line in lines), f"{value!r} is not whole on any line:\n" + "\n".join(lines)


def _cell(lines: list[str], row_key: str, value: str) -> None:
    """``value`` whole on the same line as ``row_key``: the row's own cell, not a wrapped piece elsewhere."""
    assert any(row_key in line and value in line for line in lines), \
        f"{value!r} not beside {row_key!r}:\n" + "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_ticket_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "ticket", "list")
    for ticket_id in stores.tickets:
        _cell(lines, ticket_id, "open")
    _whole_on_a_line(lines, "Permohonan")  # the title wraps in its own column, it is not dropped
    title_lines = [line for line in lines if line.rstrip() and not line.startswith(("SPBE-", "Tiket", "ID ", "not "))]
    assert len(title_lines) <= 4, lines  # a long title does not make a row of ten lines: `show` has it all
    if width == 200:
        _cell(lines, stores.tickets[0], LONGEST_SERVICE)
        _cell(lines, stores.tickets[2], "koordinator")  # the incident services hide their reporter
        assert not any("not shown" in line for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_jobs_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "jobs", "list")
    for job_id, ticket_id in zip(stores.jobs, stores.tickets, strict=True):
        row = next((line for line in lines if f" {ticket_id} " in line and line.split()[0] == job_id), None)
        assert row is not None, f"job {job_id} of {ticket_id} has no row:\n" + "\n".join(lines)
        assert LONGEST_STEP in row and ("failed" in row or "queued" in row), row
    assert any("ansible-playbook" in line for line in lines)  # the error, shortened, not dropped
    assert not any("second line" in line for line in lines)  # its rest is for `jobs show`
    if width == 200:
        _cell(lines, stores.tickets[0], LONGEST_ACTION)
    else:
        assert any("not shown at width 80" in line for line in lines)


def test_jobs_show_has_the_whole_error(spbe: Spbe, stores: Stores) -> None:
    lines = _run(spbe, 80, "jobs", "show", stores.jobs[0])
    text = " ".join(line.strip() for line in lines)
    assert "second line of the error" in text and LONGEST_ACTION in text and LONGEST_STEP in text


@pytest.mark.parametrize("width", WIDTHS)
def test_catalog_list(spbe: Spbe, width: int) -> None:
    lines = _run(spbe, width, "catalog", "list")
    for service in CATALOG.services():
        _cell(lines, service.id, str(len(service.steps)))


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "audit", "list")
    for ticket_id in stores.tickets:
        _cell(lines, ticket_id, "ticket.open")
    _cell(lines, stores.tickets[0], "secret.store")


@pytest.mark.parametrize("width", WIDTHS)
def test_secret_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "secret", "list", stores.tickets[0])
    _cell(lines, "api_key", "sealed")
    _cell(lines, "api_key", "c3d")


@pytest.mark.parametrize("width", WIDTHS)
def test_evidence_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "evidence", "list")
    for bundle in stores.bundles:
        _cell(lines, bundle, "ir-web-01")


@pytest.mark.parametrize("width", WIDTHS)
def test_containment_list(spbe: Spbe, stores: Stores, width: int) -> None:
    lines = _run(spbe, width, "contain", "list")
    _cell(lines, stores.tickets[0], "ir-web-01")
    _cell(lines, stores.tickets[0], "applying")
    assert any(line.split()[:1] == stores.containments for line in lines), lines


def test_json_keeps_every_field(spbe: Spbe, stores: Stores) -> None:
    """The table leaves things out at 80 columns; --json never does."""
    jobs = spbe.json("jobs", "list", env={"COLUMNS": "80"})
    failed = next(j for j in jobs if str(j["id"]) == stores.jobs[0])
    assert failed["error"] == LONG_ERROR and failed["action"] == LONGEST_ACTION
    tickets = spbe.json("ticket", "list", env={"COLUMNS": "80"})
    assert {t["id"] for t in tickets} == set(stores.tickets)
    assert next(t for t in tickets if t["id"] == stores.tickets[0])["title"] == LONG_TITLE


def test_no_column_is_cut_by_rich(spbe: Spbe, stores: Stores) -> None:
    """The ellipsis rich puts on a column it had to squeeze (the old ``SPBE-2026…``) appears nowhere."""
    for args in (("ticket", "list"), ("jobs", "list"), ("audit", "list"), ("evidence", "list"),
                 ("contain", "list"), ("secret", "list", stores.tickets[0])):
        text = "\n".join(_run(spbe, 80, *args))
        shortened = 1 if args[0] in ("jobs", "ticket") else 0  # the long title and error, shortened on purpose
        assert text.count("…") == shortened, (args, text)



def test_short_times_name_the_year_when_it_is_not_this_one() -> None:
    now = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    this_year, last_year = datetime(2026, 1, 2, 3, 4, tzinfo=UTC), datetime(2025, 12, 30, 23, 0, tzinfo=UTC)
    assert when_short(this_year, now) == this_year.astimezone().strftime("%m-%d %H:%M")
    assert when_short(last_year, now) == last_year.astimezone().strftime("%Y-%m-%d")
    assert when_short(None) == "-"
