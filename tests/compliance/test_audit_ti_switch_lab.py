"""The Audit TI loop of issue 14 point 7 on a real simulated Catalyst: the test misconfigures the switch by hand,
`run_profile` finds it, an Audit TI ticket opens, identification and the remediation plan run (the network
diff attached), the Kepala Bidang TI approves, the remediation is pushed over netmiko, the verification reads
the switch again and the ticket closes by itself; and a push the device refuses part way is rolled back, the
ticket staying open on ``perbaikan`` with a comment that says so.

Real: the packaged catalog, roles, profiles and templates, the SQLite state and ticket store, the worker, and
the gatherer/remediator the composition root builds from ``settings.network`` (the lab's inventory and host
keys), reading the App's own segment allocations. The only part given by hand is the failing test's gatherer:
the real `SwitchGatherer` whose runner renders the intended config from templates holding a line this IOS
image refuses (as tests/compliance/test_switch_lab.py does), which no setting can express.

The switch lab is this module's own (one process, started once), like test_switch_lab.py's; each test leaves
the switch exactly as it found it, and its fixture checks that.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab.models import SwitchLabState
from lab.switches import SwitchLab, available
from tests.support.audit_ti import current_step, work_off
from tests.support.principals import as_lab
from toolkit.actions.network.jaringan_intra import segment_change
from toolkit.actions.network.jaringan_models import JaringanRequest
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.compliance import audit_tickets, run_profile
from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.gather_switch import SwitchGatherer
from toolkit.compliance.models import evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.domain.tickets.models import EventKind, TicketStatus
from toolkit.errors import PermissionDeniedError
from toolkit.network.fanout import NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.ios import parse_running_config
from toolkit.network.plan import NetworkChange
from toolkit.network.render import TEMPLATES_DIR
from toolkit.network.runner_factory import build_runner
from toolkit.settings import load_settings

from . import switchlab
from .switchlab import DEVICE, POOL

pytestmark = pytest.mark.lab

PROFILE = "jaringan-intra"
RULES = ("JI-DRIFT-01", "JI-MGMT-01", "JI-HTTP-01", "JI-SNMP-01", "JI-PORT-01")
ANALYST = as_lab("hendra")  # analis-sistem-informasi-jaringan: runs checks
HEAD = as_lab("kabid")  # kepala-bidang-ti: approves the remediation plan (inventory/roles.yml)
PLAN_FILE = f"rencana-perbaikan-{DEVICE}.txt"


@pytest.fixture(scope="module")
def swlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchLabState]:
    if not available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    name = (os.environ.get("SPBE_TEST_LAB", "test") + "-ati")[:16]
    switches = SwitchLab(tmp_path_factory.mktemp("atilab"), name, count=1)
    state = switches.up()
    try:
        yield state
    finally:
        switches.down()


@dataclass
class World:
    """One installation (state, tickets, queue) whose network inventory is the lab's switch."""
    lab: SwitchLabState
    app: App
    inventory: NetworkInventory
    runner: NetworkRunner  # built as the root builds it: pushes record their plans in the App's state_dir
    pushed: list[NetworkChange] = field(default_factory=list)

    def push_segment(self, vlan_id: int) -> None:
        """An approved Jaringan Intra segment in the App's own allocation store, pushed: the installed plan
        the drift rule compares the running config with."""
        allocation = self.app.state.segments.claim(switchlab.TICKET, lambda others: switchlab.allocation(vlan_id))
        change = segment_change(self.inventory, switchlab.TICKET,
                                JaringanRequest(site="dinkes", users=5, apps=("simpeg",)), allocation, set())
        assert self.runner.push(change).ok
        self.pushed.append(change)

    def verdicts(self) -> dict[str, Verdict]:
        """The rules judged on a fresh read through the App's own gatherer (no ticket, no run recorded)."""
        facts = self.app.compliance.gatherer("switch").gather([DEVICE])[DEVICE]
        assert isinstance(facts, SwitchFacts), facts
        return {r.rule_id: r.outcome.verdict
                for r in evaluate(self.app.compliance.profile(PROFILE), facts)}


def _restore(world: World) -> None:
    """Undo, idempotently, whatever these tests may have changed (also after a failure part way)."""
    for change in reversed(world.pushed):
        world.runner.rollback(change)
    commands = ["no ip http server", "no snmp-server community public", "no vlan 777"]
    for vty in ("line vty 0 4", "line vty 5 15"):
        commands += [vty, " transport input ssh", " exit"]
    for port in POOL:
        commands += [f"interface {port}", " no description", " no switchport access vlan", " no shutdown",
                     " exit"]
    switchlab.cli(world.lab, commands, config=True)


@pytest.fixture
def world(swlab: SwitchLabState, tmp_path: Path) -> Iterator[World]:
    pristine = switchlab.running(swlab)
    inventory = switchlab.inventory(tmp_path, swlab)  # writes tmp_path/network.yml, placeholders resolved
    settings = load_settings(state_dir=tmp_path / "state", deployment="lab",
                             network={"inventory": tmp_path / "network.yml", "known_hosts": swlab.known_hosts})
    app = App(settings)
    built = World(swlab, app, inventory, build_runner(settings, inventory))
    try:
        yield built
    finally:
        try:
            _restore(built)
        finally:
            app.close()
    assert switchlab.running(swlab) == pristine, "the test left the shared switch changed"


def _texts(app: App, ticket_id: str, step: str) -> list[str]:
    """What the timeline says on ``step`` (a job's result is its step-completed/failed event's text)."""
    return [e.text for e in app.tickets.timeline(ticket_id) if e.step_id == step]


def _assert_no_secret(world: World, ticket_id: str) -> None:
    """The switch's password and enable secret are nowhere on the ticket: timeline, fields, attachments."""
    app, switch = world.app, world.lab.switches[0]
    ticket = app.tickets.get(ticket_id)
    seen = [e.text + str(e.data) for e in app.tickets.timeline(ticket_id)] + [str(ticket.fields)]
    seen += [app.tickets.read_attachment(ticket_id, a.name).decode(errors="replace") for a in ticket.attachments]
    for canary in (switch.password_file.read_text().strip(), switch.secret_file.read_text().strip()):
        assert len(canary) >= 8 and not any(canary in text for text in seen)


def _refusing_templates(tmp_path: Path) -> Path:
    """Our templates plus one line this IOS image does not know on trunks (as test_switch_lab.py does): the
    intended config then holds a line the device refuses mid-push."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, root)
    path = root / "cisco_ios" / "trunk.j2"
    marker = " {{ vlan_id }}\n"
    assert marker in path.read_text()
    path.write_text(path.read_text().replace(marker, marker + " spanning-tree portfast edge\n"))
    return root


def _shut_free_ports(lab: SwitchLabState) -> None:
    """The free pool ports start shut, as they should (a fresh simulator has them up)."""
    switchlab.cli(lab, [line for port in POOL[1:] for line in (f"interface {port}", " shutdown", " exit")],
                  config=True)


def test_a_drifted_switch_with_telnet_on_is_ticketed_fixed_after_approval_and_closed(world: World) -> None:
    app, lab = world.app, world.lab
    world.push_segment(210)
    _shut_free_ports(lab)
    clean = run_profile(app, app.compliance, ANALYST, PROFILE, [DEVICE])
    assert [r.verdict for r in clean.run.targets[0].rules] == ["pass"] * len(RULES)
    assert clean.tickets == {} and audit_tickets(app, PROFILE, DEVICE) == []

    # By hand, outside any ticket: an extra ACE, a free port in an extra VLAN and up, the forbidden settings.
    switchlab.cli(lab, ["ip access-list extended SPBE-VLAN210", " permit tcp any any eq 22", " exit",
                        "vlan 777", " name LIAR", " exit",
                        "interface FastEthernet0/2", " switchport access vlan 777", " no shutdown", " exit",
                        "ip http server", "snmp-server community public RO",
                        "line vty 0 4", " transport input telnet ssh", " exit"], config=True)
    misconfigured = switchlab.running(lab)

    report = run_profile(app, app.compliance, ANALYST, PROFILE, [DEVICE])
    (record,) = report.run.targets
    assert [r.rule_id for r in record.failing()] == list(RULES) and not record.errors()
    (ticket_id,) = report.opened
    assert report.tickets == {DEVICE: ticket_id}
    ticket = app.tickets.get(ticket_id)
    assert ticket.service_id == "audit-ti" and ticket.requester == "spbe"
    assert ticket.fields["profil"] == PROFILE and ticket.fields["target"] == DEVICE
    assert ticket.fields["run_id"] == report.run.id and "JI-HTTP-01" in ticket.fields["temuan"]

    work_off(app, ticket_id)  # identification and the plan; nothing is changed before the approval
    assert current_step(app, ticket_id) == "persetujuan-perbaikan"
    assert switchlab.running(lab) == misconfigured
    identified = "\n".join(_texts(app, ticket_id, "identifikasi"))
    assert all(rule in identified for rule in RULES)
    plan = app.tickets.read_attachment(ticket_id, PLAN_FILE).decode()
    for expected in ("-ip http server", "-snmp-server community public RO", "+ transport input ssh",
                     "- transport input telnet ssh", "- permit tcp any any eq 22", "+ shutdown"):
        assert f"\n{expected}\n" in plan, expected
    again = run_profile(app, app.compliance, ANALYST, PROFILE, [DEVICE])
    assert again.tickets == {DEVICE: ticket_id} and again.opened == ()  # not again while one is open

    with pytest.raises(PermissionDeniedError):
        desk.approve(app, ticket_id, ANALYST, "saya setuju")  # not the role the catalog names
    assert switchlab.running(lab) == misconfigured
    desk.approve(app, ticket_id, HEAD, "Rencana perbaikan switch disetujui.")
    work_off(app, ticket_id)

    closed = app.tickets.get(ticket_id)
    assert closed.status == TicketStatus.CLOSED, current_step(app, ticket_id)
    assert any(a.name.startswith("laporan_audit_ti") for a in closed.attachments)
    assert any("berhasil" in t for t in _texts(app, ticket_id, "perbaikan"))
    verified = [r for r in app.state.compliance_history.runs(profile=PROFILE) if r.trigger_ref == ticket_id]
    assert verified and not verified[-1].targets[0].failing() and not verified[-1].targets[0].errors()

    # The switch as read back by hand, and judged afresh.
    text = switchlab.running(lab)
    fixed = parse_running_config(text)
    assert "ip http server" not in text and "snmp-server community public" not in text
    port, vty, acl = (fixed.get(h) for h in ("interface FastEthernet0/2", "line vty 0 4",
                                             "ip access-list extended SPBE-VLAN210"))
    assert port is not None and port.children == ("shutdown",)  # out of VLAN 777 and shut
    assert vty is not None and vty.children == ("login local", "transport input ssh")
    assert acl is not None and acl.children and "permit tcp any any eq 22" not in acl.children
    assert "vlan 777" in text  # a VLAN no port uses is left alone (not ours)
    assert world.verdicts() == dict.fromkeys(RULES, Verdict.PASS)
    _assert_no_secret(world, ticket_id)


def test_a_remediation_the_switch_refuses_is_rolled_back_and_the_ticket_stays_open(
        world: World, tmp_path: Path) -> None:
    app, lab = world.app, world.lab
    world.push_segment(220)
    _shut_free_ports(lab)
    # The intended config rendered with a trunk line this IOS image refuses: the push fails on the device.
    refusing = build_runner(app.settings, world.inventory)
    refusing.templates_dir = _refusing_templates(tmp_path)
    app.compliance_parts["gather:switch"] = SwitchGatherer(refusing, app.state.segments, clock=app.clock)
    switchlab.cli(lab, ["ip http server", "interface FastEthernet0/1", " description DIUBAH-MANUAL", " exit"],
                  config=True)
    before = switchlab.running(lab)

    report = run_profile(app, app.compliance, ANALYST, PROFILE, [DEVICE])
    assert {r.rule_id for r in report.run.targets[0].failing()} == {"JI-DRIFT-01", "JI-HTTP-01"}
    ticket_id = report.tickets[DEVICE]
    work_off(app, ticket_id)
    assert current_step(app, ticket_id) == "persetujuan-perbaikan"
    plan = app.tickets.read_attachment(ticket_id, PLAN_FILE).decode()
    assert "+ spanning-tree portfast edge" in plan and "-ip http server" in plan
    desk.approve(app, ticket_id, HEAD, "Disetujui.")
    work_off(app, ticket_id)

    assert switchlab.running(lab) == before  # FastEthernet0/1's description, sent before the refusal, too
    ticket = app.tickets.get(ticket_id)
    assert ticket.status != TicketStatus.CLOSED and current_step(app, ticket_id) == "perbaikan"
    results = [e.kind for e in app.tickets.timeline(ticket_id) if e.step_id == "perbaikan"
               and e.kind in (EventKind.STEP_COMPLETED, EventKind.STEP_FAILED)]
    assert results == [EventKind.STEP_FAILED]  # once: a push is not retried by itself
    texts = _texts(app, ticket_id, "perbaikan")
    # "dibatalkan" alone is in the step's title; the rollback is reported by the sentence that follows it.
    assert any("seluruh perubahan telah **dibatalkan**" in t and "spanning-tree portfast edge" in t
               and "Invalid input" in t for t in texts), texts
    assert not _texts(app, ticket_id, "verifikasi")  # nothing is verified after a failed remediation
    _assert_no_secret(world, ticket_id)
