"""The Audit TI loop on the real engine: a run finds, a ticket opens, the catalog's role approves the plan,
the remediation runs, the rules are checked again and the ticket closes by itself; and the ways it must not.

Real: packaged catalog, roles file and templates, SQLite state and ticket store, the policy, the worker.
The servers are dicts behind the Gatherer/Remediator ports (tests/support/compliance_parts.py); the real
SSH/Ansible/netmiko/gateway parts are proved on the lab in tests/compliance/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.audit_ti import SSH_PROFILE, current_step, work_off
from tests.support.clock import ManualClock
from tests.support.compliance_parts import HARDENED, WEAK, DictGatherer, DictRemediator, DictServers
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.compliance import audit_tickets, run_profile
from toolkit.commands.schedules import add_schedule
from toolkit.domain.tickets.models import EventKind, NewEvent, TicketStatus
from toolkit.engine import scheduler
from toolkit.engine.server import Server
from toolkit.errors import PermissionDeniedError
from toolkit.ports.compliance_records import WaiverRequest
from toolkit.settings import load_settings

ANALYST = as_lab("hendra")  # analis-sistem-informasi-jaringan: runs checks
HEAD = as_lab("kabid")  # kepala-bidang-ti: approves the remediation plan


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[App, DictServers, DictRemediator]]:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "uji.yaml").write_text(SSH_PROFILE, encoding="utf-8")
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    servers = DictServers(clock.now, {"web-1": WEAK, "web-2": HARDENED, "web-3": None, "web-4": WEAK})
    remediator = DictRemediator(servers, fail_on={"web-4"})
    app = App(load_settings(state_dir=tmp_path / "state", deployment="lab",
                            compliance={"profiles_dir": profiles}),
              clock=clock, compliance_parts={"gather:server": DictGatherer(servers), "remedy:server": remediator})
    yield app, servers, remediator
    app.close()


def test_a_failure_becomes_one_ticket_that_closes_itself_after_the_approved_remediation(world):
    app, servers, remediator = world
    report = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["*"])
    by_target = {t.target: t for t in report.run.targets}
    assert [r.rule_id for r in by_target["web-1"].failing()] == ["UJI-SSH-01", "UJI-SSH-02"]
    assert not by_target["web-2"].failing() and not by_target["web-2"].errors()
    assert by_target["web-3"].unreachable and all(r.verdict == "error" for r in by_target["web-3"].rules)
    assert set(report.tickets) == {"web-1", "web-4"}  # failures only; an unreachable host is no finding
    assert app.state.compliance_history.get(report.run.id) == report.run

    ticket_id = report.tickets["web-1"]
    ticket = app.tickets.get(ticket_id)
    assert ticket.service_id == "audit-ti" and ticket.requester == "spbe"
    assert ticket.fields["profil"] == "uji-ssh" and ticket.fields["run_id"] == report.run.id
    work_off(app, ticket_id)
    assert current_step(app, ticket_id) == "persetujuan-perbaikan"  # identified, plan attached; nothing changed
    assert remediator.applied == [] and servers.hosts["web-1"] == WEAK
    assert any(a.name == "rencana-perbaikan-web-1.txt" for a in app.tickets.get(ticket_id).attachments)

    again = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"])
    assert again.tickets == {"web-1": ticket_id} and again.opened == ()  # not again while one is open

    with pytest.raises(PermissionDeniedError):
        desk.approve(app, ticket_id, ANALYST, "saya setuju")  # not the role the catalog names
    desk.approve(app, ticket_id, HEAD, "Rencana perbaikan SSH disetujui.")
    work_off(app, ticket_id)
    assert remediator.applied == ["web-1"] and servers.hosts["web-1"] == HARDENED
    closed = app.tickets.get(ticket_id)
    assert closed.status == TicketStatus.CLOSED
    assert any(a.name.startswith("laporan_audit_ti") for a in closed.attachments)
    verified = [r for r in app.state.compliance_history.runs(profile="uji-ssh") if r.trigger == "ticket"]
    assert verified and not verified[-1].targets[0].failing()

    servers.hosts["web-1"] = WEAK  # the finding comes back after closing
    back = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"])
    (new_id,) = back.opened
    assert new_id != ticket_id and app.tickets.get(new_id).fields["tiket_sebelumnya"] == ticket_id
    assert [t.id for t in audit_tickets(app, "uji-ssh", "web-1")] == [ticket_id, new_id]


def test_a_remediation_that_fails_is_rolled_back_and_the_ticket_stays_open(world):
    app, servers, _ = world
    ticket_id = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-4"]).tickets["web-4"]
    work_off(app, ticket_id)
    desk.approve(app, ticket_id, HEAD, "Disetujui.")
    work_off(app, ticket_id)
    assert servers.hosts["web-4"] == WEAK  # back to the before-state
    ticket = app.tickets.get(ticket_id)
    assert ticket.status != TicketStatus.CLOSED and current_step(app, ticket_id) == "perbaikan"
    texts = [e.text for e in app.tickets.timeline(ticket_id) if e.step_id == "perbaikan"]
    assert any("telah **dibatalkan**" in t and "sshd -t refused" in t for t in texts)


def test_an_approved_waiver_excuses_the_rule_and_expires(world):
    app, servers, _ = world
    servers.hosts["web-1"] = WEAK.replace("passwordauthentication yes", "passwordauthentication no")
    store = app.state.waivers
    now = app.clock.now()
    waiver = store.request(WaiverRequest(profile="uji-ssh", rule_id="UJI-SSH-01", target="web-1",
                                         reason="Aplikasi lama membutuhkan login root sampai migrasi.",
                                         expires_on=date(2026, 3, 31)), "hendra", now)
    store.decide(waiver.id, "approved", "kabid", now)
    report = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"])
    (rule,) = [r for r in report.run.targets[0].rules if r.rule_id == "UJI-SSH-01"]
    assert rule.verdict == "fail" and rule.waiver == waiver.id and report.tickets == {}
    app.clock.advance(timedelta(days=30))  # 1 April 2026 in WIB: the waiver has expired
    later = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"])
    assert [r.rule_id for r in later.run.targets[0].failing()] == ["UJI-SSH-01"] and later.opened


def test_evidence_crafted_by_a_target_stays_text_on_the_ticket(world):
    app, servers, _ = world
    servers.hosts["web-1"] = "permitrootlogin {{7*7}}<b>[x](javascript:alert(1))|\npasswordauthentication no\n"
    ticket_id = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"]).tickets["web-1"]
    comments = [e.text for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.COMMENT]
    text = "\n".join(comments)
    assert "{{7\\*7}}" in text  # quoted as text (Markdown-escaped), never evaluated
    assert "<b>" not in text and "&lt;b&gt;" in text  # no raw HTML
    assert "[x](javascript:" not in text and "\\[x\\](javascript:" in text  # no link


def test_only_the_roles_that_run_checks_may_run_them(world):
    app, _, _ = world
    with pytest.raises(PermissionDeniedError):
        run_profile(app, app.compliance, as_lab("kabid"), "uji-ssh", ["*"])
    assert app.state.compliance_history.runs() == []


def test_a_forged_approval_row_does_not_remediate(world):
    app, servers, remediator = world
    ticket_id = run_profile(app, app.compliance, ANALYST, "uji-ssh", ["web-1"]).tickets["web-1"]
    work_off(app, ticket_id)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.APPROVED, actor="hendra", text="disetujui",
                                         step_id="persetujuan-perbaikan"))  # a row no command wrote
    scheduler.advance(app, ticket_id)
    work_off(app, ticket_id)
    assert remediator.applied == [] and servers.hosts["web-1"] == WEAK
    assert current_step(app, ticket_id) == "persetujuan-perbaikan"
    assert any(e.data.get("refused_event") for e in app.tickets.timeline(ticket_id))


def test_a_fired_schedule_runs_the_sweep_as_the_engine_and_opens_the_tickets(world):
    app, _, _ = world
    add_schedule(app, as_lab("eko"), schedule_id="ssh-harian", profile="uji-ssh", targets=["web-1", "web-2"],
                 cron="0 2 * * *", timezone="Asia/Jakarta")
    app.clock.advance(timedelta(days=1))  # past 02:00 WIB (19:00 UTC)
    Server(app, workers=1, monotonic=lambda: 10_000.0).tick()
    [fired] = app.state.schedules.runs()
    assert fired.outcome == "done" and "1 ticket(s) opened" in fired.detail
    [run] = app.state.compliance_history.runs()
    assert (run.trigger, run.trigger_ref, run.by) == ("schedule", "ssh-harian", "spbe")
    [ticket] = audit_tickets(app, "uji-ssh", "web-1")
    assert ticket.requester == "spbe" and not audit_tickets(app, "uji-ssh", "web-2")
