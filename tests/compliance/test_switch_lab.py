"""The ``jaringan-intra`` profile against a real simulated Catalyst over netmiko: misconfigure it by hand,
gather, judge, plan, apply, re-gather, undo; a push that fails verification is rolled back; a plan made
before the device changed is refused; an unreachable switch is an error on every rule, never a pass."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.state.allocations import SegmentAllocator
from lab.models import SwitchLabState
from lab.switches import SwitchLab, available
from toolkit.actions.network.jaringan_intra import segment_change
from toolkit.actions.network.jaringan_models import JaringanRequest
from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.gather_switch import SwitchGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import SwitchProfile, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.remediate_switch import SwitchRemediator
from toolkit.network.ios import parse_running_config
from toolkit.network.refs import ResolvedDevice
from toolkit.network.render import TEMPLATES_DIR
from toolkit.network.session import DeviceSession, SessionOptions

from . import switchlab
from .switchlab import DEVICE

pytestmark = pytest.mark.lab
RULES = ("JI-DRIFT-01", "JI-MGMT-01", "JI-HTTP-01", "JI-SNMP-01", "JI-PORT-01")


@pytest.fixture(scope="module")
def swlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchLabState]:
    if not available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    name = (os.environ.get("SPBE_TEST_LAB", "test") + "-cmp")[:16]
    switches = SwitchLab(tmp_path_factory.mktemp("swlab"), name, count=1)
    state = switches.up()
    try:
        yield state
    finally:
        switches.down()


@pytest.fixture(scope="module")
def profile() -> SwitchProfile:
    loaded = load_profiles()["jaringan-intra"]
    assert isinstance(loaded, SwitchProfile)
    return loaded


class World:
    def __init__(self, lab: SwitchLabState, tmp_path: Path, **overrides: Any) -> None:
        self.inventory = switchlab.inventory(tmp_path, lab, **overrides)
        self.runner = switchlab.runner(lab, self.inventory, tmp_path / "state")
        self.segments = SegmentAllocator(tmp_path / "state.db")
        self.gatherer = SwitchGatherer(self.runner, self.segments)
        self.remediator = SwitchRemediator(self.runner)

    def verdicts(self, profile: SwitchProfile) -> dict[str, Verdict]:
        facts = self.gatherer.gather([DEVICE])[DEVICE]
        assert isinstance(facts, SwitchFacts), facts
        return {r.rule_id: r.outcome.verdict for r in evaluate(profile, facts)}


@pytest.fixture
def world(swlab: SwitchLabState, tmp_path: Path) -> Iterator[World]:
    built = World(swlab, tmp_path)
    yield built
    built.segments.close()


def test_misconfigured_switch_fails_then_remediation_passes_and_undo_restores(
        swlab: SwitchLabState, world: World, profile: SwitchProfile, tmp_path: Path) -> None:
    # An approved segment, pushed through the Jaringan Intra path (its change record is the installed plan).
    allocation = world.segments.claim(switchlab.TICKET, lambda others: switchlab.allocation())
    change = segment_change(world.inventory, switchlab.TICKET,
                            JaringanRequest(site="dinkes", users=5, apps=("simpeg",)), allocation, set())
    assert world.runner.push(change).ok
    switchlab.cli(swlab, [f"interface {p}" if i % 2 == 0 else " shutdown" for p in switchlab.POOL[1:]
                          for i in range(2)], config=True)  # the free pool ports start shut, as they should
    assert world.verdicts(profile) == dict.fromkeys(RULES, Verdict.PASS)

    # By hand, outside any ticket: an extra ACE, a free port in an extra VLAN, and the forbidden settings.
    switchlab.cli(swlab, ["ip access-list extended SPBE-VLAN210", " permit tcp any any eq 22", " exit",
                          "vlan 777", " name LIAR", " exit",
                          "interface FastEthernet0/2", " switchport access vlan 777", " no shutdown", " exit",
                          "ip http server", "snmp-server community public RO",
                          "line vty 0 4", " transport input telnet ssh", " exit"], config=True)
    misconfigured = switchlab.running(swlab)
    facts = world.gatherer.gather([DEVICE])[DEVICE]
    assert isinstance(facts, SwitchFacts)
    assert facts.unused_ports == tuple(switchlab.POOL[1:])
    results = {r.rule_id: r for r in evaluate(profile, facts)}
    assert {k: r.outcome.verdict for k, r in results.items()} == dict.fromkeys(RULES, Verdict.FAIL)
    drift = results["JI-DRIFT-01"].outcome.evidence
    assert "ip access-list extended SPBE-VLAN210" in drift and "interface FastEthernet0/2" in drift
    assert "+ switchport access vlan 777" not in drift and "- switchport access vlan 777" in drift
    assert "FastEthernet0/2" in results["JI-PORT-01"].outcome.evidence

    plan = world.remediator.plan(DEVICE, list(profile.rules), facts, tmp_path)
    assert plan.rule_ids == RULES and plan.kind == "switch"
    for expected in ("-ip http server", "-snmp-server community public RO", "+ transport input ssh",
                     "- transport input telnet ssh", "- permit tcp any any eq 22", "+ shutdown"):
        assert f"\n{expected}\n" in plan.preview, expected
    assert switchlab.running(swlab) == misconfigured  # planning changed nothing

    logged: list[str] = []
    outcome = world.remediator.apply(plan, tmp_path, logged.append)
    assert outcome.ok and not outcome.rolled_back, outcome
    assert world.verdicts(profile) == dict.fromkeys(RULES, Verdict.PASS)
    assert "vlan 777" in switchlab.running(swlab)  # a VLAN no port uses is left alone (not ours)

    undone = world.remediator.undo(plan, tmp_path, logged.append)
    assert undone.ok, undone
    assert switchlab.running(swlab) == misconfigured
    assert world.verdicts(profile) == dict.fromkeys(RULES, Verdict.FAIL)

    again = world.remediator.apply(world.remediator.plan(DEVICE, profile.rules, world.gatherer.gather([DEVICE])[
        DEVICE], tmp_path), tmp_path, logged.append)  # leave the switch compliant for the tests below
    assert again.ok
    assert world.runner.rollback(change).ok


class RevertingSession(DeviceSession):
    """A device that turns ``ip http server`` back on behind the push (an NMS re-applying its template)."""

    def send_config(self, lines: list[str]) -> str:
        output = super().send_config(lines)
        if "no ip http server" in lines:
            super().send_config(["ip http server"])
        return output


def test_a_push_that_fails_verification_is_rolled_back(swlab: SwitchLabState, world: World,
                                                       profile: SwitchProfile, tmp_path: Path) -> None:
    switchlab.cli(swlab, ["ip http server", "line vty 5 15", " transport input all", " exit"], config=True)
    before = switchlab.running(swlab)
    facts = world.gatherer.gather([DEVICE])[DEVICE]
    rules = [r for r in profile.rules if r.id in ("JI-HTTP-01", "JI-MGMT-01")]
    plan = world.remediator.plan(DEVICE, rules, facts, tmp_path)

    def connect(device: ResolvedDevice, options: SessionOptions) -> DeviceSession:
        return RevertingSession(device, options)

    logged: list[str] = []
    outcome = SwitchRemediator(world.runner, connect=connect).apply(plan, tmp_path, logged.append)
    assert not outcome.ok and outcome.rolled_back, outcome
    assert outcome.error is not None and "ip http server" in outcome.error
    assert switchlab.running(swlab) == before  # the vty line too is back as it was
    assert any("restored" in line for line in logged)
    switchlab.cli(swlab, ["no ip http server", "line vty 5 15", " transport input ssh", " exit"], config=True)


def _bad_templates(tmp_path: Path) -> Path:
    """Our templates plus one line this IOS image does not know on trunks (as tests/network does): the
    intended config then holds a line the device refuses mid-push."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, root)
    path = root / "cisco_ios" / "trunk.j2"
    marker = ' {{ vlan_id }}\n'
    assert marker in path.read_text()
    path.write_text(path.read_text().replace(marker, marker + " spanning-tree portfast edge\n"))
    return root


def test_a_line_the_device_refuses_mid_push_is_rolled_back(swlab: SwitchLabState, world: World,
                                                          profile: SwitchProfile, tmp_path: Path) -> None:
    allocation = world.segments.claim(switchlab.TICKET, lambda others: switchlab.allocation(vlan_id=220))
    change = segment_change(world.inventory, switchlab.TICKET,
                            JaringanRequest(site="dinkes", users=5, apps=("simpeg",)), allocation, set())
    assert world.runner.push(change).ok
    switchlab.cli(swlab, ["ip http server", "interface FastEthernet0/1", " description DIUBAH-MANUAL", " exit"],
                  config=True)
    before = switchlab.running(swlab)
    world.runner.templates_dir = _bad_templates(tmp_path)
    facts = world.gatherer.gather([DEVICE])[DEVICE]
    assert isinstance(facts, SwitchFacts) and "spanning-tree portfast edge" in (facts.intended_config or "")
    plan = world.remediator.plan(DEVICE, [r for r in profile.rules if r.id in ("JI-HTTP-01", "JI-DRIFT-01")],
                                 facts, tmp_path)
    assert plan.preview.index("+ description Tiket") < plan.preview.index("+ spanning-tree portfast edge")
    logged: list[str] = []
    outcome = world.remediator.apply(plan, tmp_path, logged.append)
    assert not outcome.ok and outcome.rolled_back, outcome
    assert any(re.search(r"restored \d+ section\(s\) with [1-9]", line) for line in logged), logged
    assert outcome.error is not None and "spanning-tree portfast edge" in outcome.error
    assert "Invalid input" in outcome.error
    assert switchlab.running(swlab) == before  # FastEthernet0/1's description, sent before the refusal, too
    world.runner.templates_dir = TEMPLATES_DIR
    switchlab.cli(swlab, ["no ip http server"], config=True)
    assert world.runner.rollback(change).ok


def test_a_plan_made_before_the_device_changed_is_refused_untouched(swlab: SwitchLabState, world: World,
                                                                   profile: SwitchProfile, tmp_path: Path) -> None:
    switchlab.cli(swlab, ["snmp-server community public RO"], config=True)
    facts = world.gatherer.gather([DEVICE])[DEVICE]
    plan = world.remediator.plan(DEVICE, [r for r in profile.rules if r.id == "JI-SNMP-01"], facts, tmp_path)
    switchlab.cli(swlab, ["no snmp-server community public", "snmp-server community public RW"],
                  config=True)  # changed after the plan
    before = switchlab.running(swlab)
    outcome = world.remediator.apply(plan, tmp_path, lambda _: None)
    assert not outcome.ok and not outcome.rolled_back
    assert outcome.error is not None and "changed since the plan" in outcome.error
    assert switchlab.running(swlab) == before
    assert not world.remediator.undo(plan, tmp_path, lambda _: None).ok  # never applied: nothing to undo
    switchlab.cli(swlab, ["no snmp-server community public"], config=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_switch_is_a_gather_failure_and_every_rule_an_error(
        swlab: SwitchLabState, tmp_path: Path, profile: SwitchProfile) -> None:
    world = World(swlab, tmp_path, host="127.0.0.1", port=_closed_port())
    seen: list[str] = []
    try:
        failure = world.gatherer.gather([DEVICE], progress=seen.append)[DEVICE]
    finally:
        world.segments.close()
    assert isinstance(failure, GatherFailure) and failure.target == DEVICE
    assert "cannot connect" in failure.reason and seen == [DEVICE]
    password = swlab.switches[0].password_file.read_text().strip()
    assert password not in failure.model_dump_json()
    # What the runner records for a target it could not read: facts with nothing gathered, so every rule errs.
    empty = SwitchFacts(device=failure.target, gathered_at=datetime.now(UTC))
    assert {r.outcome.verdict for r in evaluate(profile, empty)} == {Verdict.ERROR}


def test_refused_credentials_are_a_gather_failure_without_the_secret(swlab: SwitchLabState, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("bukan-kata-sandi-yang-benar\n")
    creds = {"username": "spbe", "password_ref": f"file:{wrong}", "secret_ref": "lab:switches/secret"}
    world = World(swlab, tmp_path, credentials=creds)
    try:
        failure = world.gatherer.gather([DEVICE])[DEVICE]
    finally:
        world.segments.close()
    assert isinstance(failure, GatherFailure) and "refused" in failure.reason
    assert "bukan-kata-sandi" not in failure.model_dump_json()


def test_gathering_sends_only_show_running_config(swlab: SwitchLabState, world: World) -> None:
    sent: list[str] = []

    class Recording(DeviceSession):
        def show(self, command: str) -> str:
            sent.append(command)
            return super().show(command)

        def send_config(self, lines: list[str]) -> str:  # pragma: no cover - must never be called
            raise AssertionError(f"gathering tried to configure: {lines}")

    gatherer = SwitchGatherer(world.runner, world.segments, connect=lambda d, o: Recording(d, o))
    facts = gatherer.gather(gatherer.resolve(["site:dinkes"]))[DEVICE]
    assert isinstance(facts, SwitchFacts) and sent == ["show running-config"]
    assert parse_running_config(facts.running_config or "").get("line vty 0 4") is not None
