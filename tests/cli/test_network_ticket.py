"""`spbe network diff|push|verify|rollback --ticket T`: the plan the ticket's analysis attached, read through
the command layer (visible tickets only, audited, spbe's own file only), since the plan file in the ticket's
working directory is encrypted at rest; ``--plan FILE`` still takes a plan in clear and names the way out
when given the encrypted job file. Devices here are stand-ins nobody listens on: a run that reaches them
failing as unreachable shows the plan was read and checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.e2e.network_support import KTP
from tests.network import netlab
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.actions.network.jaringan_models import PLAN_KIND, plan_attachment
from toolkit.at_rest import ARTIFACT, Sealer
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.settings import load_settings

FIELDS = {"instansi": "Dinas Kesehatan", "lokasi": "dinkes", "jumlah_user": "12", "aplikasi": "simpeg, dns",
          "kontak_email": "it@dinkes.example.go.id"}


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    netlab.inventory(tmp_path)
    for name in ("pw", "en"):  # the stand-ins' credential files (nobody listens on their port)
        (tmp_path / name).write_text("uji-tidak-dipakai\n")
    return tmp_path / "network.yml"


@pytest.fixture
def ticket(state_dir: Path, inventory: Path) -> Iterator[tuple[str, bytes]]:
    """A Jaringan Intra ticket of andi's with a plan attached by spbe, as the analysis attaches it."""
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        opened = desk.open_ticket(app, "jaringan-intra", as_lab("andi"), "Jaringan uji", FIELDS, [KTP])
        plan = netlab.plan(netlab.inventory(inventory.parent), 252, {"sw-dc-01": ["FastEthernet0/14"]})
        content = plan.model_dump_json(indent=2).encode()
        app.tickets.attach(opened.id, AttachmentUpload(name=plan_attachment(opened.id), media_type="application/json",
                                                       content=content, kind=PLAN_KIND), ENGINE_USER)
        yield opened.id, content
    finally:
        app.close()


def _run(state_dir: Path, tmp_path: Path, *args: str) -> Result:
    env = {"COLUMNS": "200", "SPBE_CONFIG": str(tmp_path / "none.toml"), "SPBE_DEPLOYMENT": "lab"}
    return Spbe(state_dir=state_dir, env=env, catch_exceptions=True)(*args)


def test_the_plan_is_read_from_the_ticket(state_dir: Path, tmp_path: Path, inventory: Path,
                                          ticket: tuple[str, bytes]) -> None:
    ticket_id, _ = ticket
    result = _run(state_dir, tmp_path, "network", "verify", "--inventory", str(inventory), "--ticket", ticket_id,
                  "--as", "sari", "--json")
    assert result.exit_code == 6, result.output  # the plan's one device, unreachable: it was read and checked
    assert [r["device"] for r in json.loads(result.stdout)["results"]] == ["sw-dc-01"]
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        reads = [e for e in app.audit.entries() if e.action == "ticket.download" and e.ticket_id == ticket_id]
    finally:
        app.close()
    assert [(e.actor, e.data["name"]) for e in reads] == [("sari", plan_attachment(ticket_id))]


def test_a_ticket_the_reader_may_not_see_is_as_absent_as_a_missing_one(
        state_dir: Path, tmp_path: Path, inventory: Path, ticket: tuple[str, bytes]) -> None:
    ticket_id, _ = ticket
    hidden = _run(state_dir, tmp_path, "network", "diff", "--inventory", str(inventory), "--ticket", ticket_id,
                  "--as", "budi")  # another applicant
    missing = _run(state_dir, tmp_path, "network", "diff", "--inventory", str(inventory), "--ticket", "JI-2026-99999",
                   "--as", "budi")
    assert hidden.exit_code == missing.exit_code == 3, (hidden.output, missing.output)
    assert "sw-dc-01" not in hidden.output


def test_only_the_plan_spbe_attached_counts(state_dir: Path, tmp_path: Path, inventory: Path) -> None:
    """A requester's upload named like the plan is never taken for it."""
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        opened = desk.open_ticket(app, "jaringan-intra", as_lab("andi"), "Jaringan uji", FIELDS, [KTP])
        forged = netlab.plan(netlab.inventory(inventory.parent), 253, {"sw-dc-01": ["FastEthernet0/15"]})
        app.tickets.attach(opened.id, AttachmentUpload(name=plan_attachment(opened.id), media_type="application/json",
                                                       content=forged.model_dump_json().encode()), "andi")
    finally:
        app.close()
    result = _run(state_dir, tmp_path, "network", "push", "--inventory", str(inventory), "--ticket", opened.id,
                  "--as", "sari")
    assert result.exit_code == 3 and "has no file" in result.output, result.output


@pytest.mark.parametrize("ticket_id", ["../../etc/passwd", "JI-1;reboot", "$(id)", "JI-1\nsw-dc-01", "{{ 7*7 }}",
                                       "J" * 5000])
def test_a_hostile_ticket_id_finds_nothing(state_dir: Path, tmp_path: Path, inventory: Path, ticket_id: str) -> None:
    result = _run(state_dir, tmp_path, "network", "diff", "--inventory", str(inventory), "--ticket", ticket_id,
                  "--as", "sari")
    assert result.exit_code in (2, 3), result.output
    assert "Traceback" not in result.output and "49" not in result.output


def test_ticket_and_plan_together_are_refused(state_dir: Path, tmp_path: Path, inventory: Path,
                                              ticket: tuple[str, bytes]) -> None:
    ticket_id, content = ticket
    plan_file = tmp_path / "plan.json"
    plan_file.write_bytes(content)
    result = _run(state_dir, tmp_path, "network", "verify", "--inventory", str(inventory), "--ticket", ticket_id,
                  "--plan", str(plan_file), "--as", "sari")
    assert result.exit_code == 2 and "not both" in result.output


def test_a_plan_file_in_clear_still_works_and_the_sealed_job_file_is_named_for_what_it_is(
        state_dir: Path, tmp_path: Path, inventory: Path, ticket: tuple[str, bytes]) -> None:
    _, content = ticket
    clear = tmp_path / "plan.json"
    clear.write_bytes(content)
    result = _run(state_dir, tmp_path, "network", "verify", "--inventory", str(inventory), "--plan", str(clear))
    assert result.exit_code == 6, result.output  # read, checked, its device unreachable
    sealed = Sealer.from_settings(load_settings(state_dir=state_dir)).write_file(tmp_path / "sealed.json", content,
                                                                                  ARTIFACT)
    refused = _run(state_dir, tmp_path, "network", "verify", "--inventory", str(inventory), "--plan", str(sealed))
    assert refused.exit_code == 2 and "encrypted at rest" in refused.output and "--ticket" in refused.output
