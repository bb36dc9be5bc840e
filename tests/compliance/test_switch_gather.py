"""`SwitchGatherer` and `SwitchRemediator.plan` without a device: selectors are checked before anything is
read, what a switch says stays data (evidence and preview quote it, no command is made of it), and the
intended config follows the pushed plans and the free access ports.

The device here is an in-memory stand-in for `DeviceSession` (the one call gathering makes, ``show
running-config``); the same paths run against the simulated Catalyst in ``test_switch_lab.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from integrations.state.allocations import SegmentAllocator
from toolkit.actions.network.jaringan_intra import segment_change
from toolkit.actions.network.jaringan_models import JaringanRequest
from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.gather_switch import SwitchGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import SwitchProfile, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.remediate_switch import SwitchRemediator
from toolkit.compliance.switch_fixes import SwitchChange, checked, config_lines
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.network.errors import DeviceUnreachableError
from toolkit.network.fanout import NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.ios import parse_running_config
from toolkit.network.refs import RefResolver, ResolvedDevice
from toolkit.network.session import SessionOptions
from toolkit.ports.state_records import SegmentAllocation

PASSWORD = "kanari-sandi-switch-7f3a"  # noqa: S105 - a canary, not a credential
JINJA = "{{ 7 * 7 }}{% for x in range(3) %}x{% endfor %}"
MARKDOWN = "**[klik di sini](http://evil.example/)** <script>alert(1)</script>"
POOL = ["FastEthernet0/1", "FastEthernet0/2", "FastEthernet0/3"]


def _device(name: str, role: str) -> dict[str, Any]:
    return {"name": name, "platform": "cisco_ios", "role": role, "host": "127.0.0.1", "port": 9,
            "trunk_ports": ["GigabitEthernet0/1"],
            "credentials": {"username": "spbe", "password_ref": "env:SPBE_TEST_SW_PASSWORD"}}


INVENTORY = NetworkInventory.model_validate({
    "sites": [
        {"id": "dinkes", "name": "Dinas Kesehatan", "opd": "Dinas Kesehatan",
         "devices": [_device("sw-dinkes-01", "access"), _device("sw-dinkes-02", "distribution")],
         "access_ports": [{"device": "sw-dinkes-01", "interfaces": POOL}]},
        {"id": "bkd", "name": "BKD", "opd": "BKD", "devices": [_device("sw-bkd-01", "access")]},
    ],
    "vlan_pool": {"start": 100, "end": 999},
    "ip_pool": {"supernet": "10.20.0.0/16", "reserved": ["10.20.0.0/24"]},
    "apps": [{"id": "simpeg", "name": "SIMPEG", "addresses": ["10.10.0.10/32"],
              "services": [{"protocol": "tcp", "port": 443}]}],
})

RUNNING = """Building configuration...

Current configuration : 999 bytes
!
hostname sw-dinkes-01
!
interface FastEthernet0/1
 shutdown
!
interface FastEthernet0/2
 shutdown
!
interface FastEthernet0/3
 shutdown
!
interface GigabitEthernet0/1
!
line con 0
line vty 0 4
 login local
 transport input ssh
!
end
"""


class StandIn:
    """What `DeviceSession` offers gathering, answering from text; counts what it was asked."""

    def __init__(self, texts: dict[str, str], asked: list[str]) -> None:
        self.texts = texts
        self.asked = asked
        self.name = ""

    def __call__(self, device: ResolvedDevice, options: SessionOptions) -> StandIn:
        assert device.password.get_secret_value() == PASSWORD
        self.name = device.name
        return self

    def __enter__(self) -> StandIn:
        if self.name not in self.texts:
            raise DeviceUnreachableError(self.name, f"cannot connect to 127.0.0.1:9 ({PASSWORD} refused)")
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def running_config(self) -> str:
        self.asked.append(f"{self.name}: show running-config")
        return self.texts[self.name]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NetworkRunner:
    monkeypatch.setenv("SPBE_TEST_SW_PASSWORD", PASSWORD)
    return NetworkRunner(INVENTORY, RefResolver(), state_dir=tmp_path / "state")


@pytest.fixture
def segments(tmp_path: Path) -> Iterator[SegmentAllocator]:
    store = SegmentAllocator(tmp_path / "state.db")
    yield store
    store.close()


def gatherer(runner: NetworkRunner, segments: SegmentAllocator, texts: dict[str, str],
             asked: list[str] | None = None) -> SwitchGatherer:
    return SwitchGatherer(runner, segments, connect=StandIn(texts, [] if asked is None else asked))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def profile() -> SwitchProfile:
    loaded = load_profiles()["jaringan-intra"]
    assert isinstance(loaded, SwitchProfile)
    return loaded


# ---------------------------------------------------------------------------------------------- selectors

def test_selectors_name_devices_sites_roles_and_everything(runner: NetworkRunner, segments: SegmentAllocator) -> None:
    g = gatherer(runner, segments, {})
    assert g.kind == "switch"
    assert g.resolve(["*"]) == ["sw-dinkes-01", "sw-dinkes-02", "sw-bkd-01"]
    assert g.resolve(["site:dinkes"]) == ["sw-dinkes-01", "sw-dinkes-02"]
    assert g.resolve(["group:access"]) == ["sw-dinkes-01", "sw-bkd-01"]
    assert g.resolve(["sw-bkd-01", "site:bkd", "sw-dinkes-02"]) == ["sw-dinkes-02", "sw-bkd-01"]


@pytest.mark.parametrize("selector", ["sw-lain-09", "site:dishub", "group:firewall"])
def test_an_unknown_target_is_not_found_by_name(runner: NetworkRunner, segments: SegmentAllocator,
                                                selector: str) -> None:
    with pytest.raises(NotFoundError, match=selector.rpartition(":")[2]):
        gatherer(runner, segments, {}).resolve(["sw-bkd-01", selector])


@pytest.mark.parametrize("selector", ["a;b", "$(x)", "sw-bkd-01\nreload", "../x", "site:../x", "", "SW-BKD-01",
                                      "group:*", "sw bkd", "`id`", "{{ 7 * 7 }}"])
def test_a_malformed_selector_is_invalid_input_before_any_read(runner: NetworkRunner, segments: SegmentAllocator,
                                                               selector: str) -> None:
    asked: list[str] = []
    g = gatherer(runner, segments, {"sw-bkd-01": RUNNING}, asked)
    with pytest.raises(InvalidInputError, match="invalid switch target selector"):
        g.resolve([selector])
    with pytest.raises(InvalidInputError):
        g.gather(["sw-bkd-01", selector])
    assert asked == []


def test_gather_refuses_an_unknown_target_before_reading_any(runner: NetworkRunner,
                                                             segments: SegmentAllocator) -> None:
    asked: list[str] = []
    with pytest.raises(NotFoundError, match="sw-lain-09"):
        gatherer(runner, segments, {"sw-bkd-01": RUNNING}, asked).gather(["sw-bkd-01", "sw-lain-09"])
    assert asked == []


def test_an_unreachable_switch_is_a_masked_gather_failure(runner: NetworkRunner, segments: SegmentAllocator,
                                                          profile: SwitchProfile) -> None:
    seen: list[str] = []
    result = gatherer(runner, segments, {"sw-dinkes-01": RUNNING}).gather(["sw-dinkes-01", "sw-bkd-01"],
                                                                          progress=seen.append)
    failure = result["sw-bkd-01"]
    assert isinstance(failure, GatherFailure) and "cannot connect" in failure.reason
    assert PASSWORD not in failure.model_dump_json() and "***" in failure.reason
    assert sorted(seen) == ["sw-bkd-01", "sw-dinkes-01"]
    facts = result["sw-dinkes-01"]
    assert isinstance(facts, SwitchFacts) and facts.unused_ports == tuple(POOL)
    assert {r.rule_id: r.outcome.verdict for r in evaluate(profile, facts)} == dict.fromkeys(
        ("JI-DRIFT-01", "JI-MGMT-01", "JI-HTTP-01", "JI-SNMP-01", "JI-PORT-01"), Verdict.PASS)


# ---------------------------------------------------------------------------------------------- intended config

def _allocation(ports: tuple[str, ...] = ("FastEthernet0/1",)) -> SegmentAllocation:
    return SegmentAllocation(ticket_id="JI-2026-0007", site="dinkes", vlan_id=210,
                             subnet=IPv4Network("10.20.60.0/24"), ports={"sw-dinkes-01": ports}, users=5,
                             allocated_at=datetime.now(UTC))


def _record(runner: NetworkRunner, allocation: SegmentAllocation, **plan_changes: Any) -> None:
    """The change record `NetworkRunner.push` leaves for a pushed plan."""
    change = segment_change(INVENTORY, allocation.ticket_id, JaringanRequest(site="dinkes", users=5,
                                                                             apps=("simpeg",)), allocation, set())
    runner.changes_dir.mkdir(parents=True)
    plan = change.model_dump(mode="json") | plan_changes
    (runner.changes_dir / "dinkes-vlan210.json").write_text(json.dumps({"plan": plan, "backups": {}}))


def test_an_allocated_but_unpushed_plan_holds_its_ports_and_owns_no_section(
        runner: NetworkRunner, segments: SegmentAllocator) -> None:
    allocation = segments.claim("JI-2026-0007", lambda others: _allocation())
    facts = gatherer(runner, segments, {"sw-dinkes-01": RUNNING}).gather(["sw-dinkes-01"])["sw-dinkes-01"]
    assert isinstance(facts, SwitchFacts) and facts.unused_ports == tuple(POOL[1:])
    assert "vlan 210" not in (facts.intended_config or "")
    _record(runner, allocation)
    pushed = gatherer(runner, segments, {"sw-dinkes-01": RUNNING}).gather(["sw-dinkes-01"])["sw-dinkes-01"]
    assert isinstance(pushed, SwitchFacts)
    intended = parse_running_config(pushed.intended_config or "")
    assert intended.get("vlan 210") is not None and intended.get("interface Vlan210") is not None
    acl = intended.get("ip access-list extended SPBE-VLAN210")
    assert acl is not None and acl.children == ("permit tcp 10.20.60.0 0.0.0.255 host 10.10.0.10 eq 443",
                                                "deny ip any any")
    port = intended.get("interface FastEthernet0/1")
    assert port is not None and "switchport access vlan 210" in port.children and "shutdown" not in port.children
    free = intended.get("interface FastEthernet0/2")
    assert free is not None and free.children == ("shutdown",)


def test_a_change_record_of_another_plan_leaves_the_intended_config_unknown(
        runner: NetworkRunner, segments: SegmentAllocator, profile: SwitchProfile) -> None:
    allocation = segments.claim("JI-2026-0007", lambda others: _allocation())
    _record(runner, allocation, vlan_name="JI-2026-0999")
    facts = gatherer(runner, segments, {"sw-dinkes-01": RUNNING}).gather(["sw-dinkes-01"])["sw-dinkes-01"]
    assert isinstance(facts, SwitchFacts) and facts.intended_config is None
    verdicts = {r.rule_id: r.outcome.verdict for r in evaluate(profile, facts)}
    assert verdicts["JI-DRIFT-01"] is Verdict.ERROR and verdicts["JI-HTTP-01"] is Verdict.PASS


# ---------------------------------------------------------------------------------------------- data stays data

CRAFTED = RUNNING.replace("interface FastEthernet0/2\n shutdown\n", (
    f"interface FastEthernet0/2\n description {MARKDOWN} {JINJA}\n switchport access vlan 777\n"
    f"## Semua aturan lulus\n{JINJA}\n")).replace("line con 0\n", (
        f"ip http server\nsnmp-server community public RO\nsnmp-server community {JINJA}\nline con 0\n")).replace(
    " transport input ssh", f" transport input telnet ssh\n exec-banner {MARKDOWN}")


def test_a_crafted_running_config_is_quoted_as_evidence_and_never_becomes_a_command(
        runner: NetworkRunner, segments: SegmentAllocator, profile: SwitchProfile, tmp_path: Path) -> None:
    facts = gatherer(runner, segments, {"sw-dinkes-01": CRAFTED}).gather(["sw-dinkes-01"])["sw-dinkes-01"]
    assert isinstance(facts, SwitchFacts)
    results = {r.rule_id: r.outcome for r in evaluate(profile, facts)}
    assert {k: o.verdict for k, o in results.items()} == dict.fromkeys(results, Verdict.FAIL)
    drift = results["JI-DRIFT-01"].evidence
    assert f"- description {MARKDOWN} {JINJA}" in drift and "49" not in drift and "xxx" not in drift
    assert f"exec-banner {MARKDOWN}" in results["JI-MGMT-01"].evidence

    plan = SwitchRemediator(runner).plan("sw-dinkes-01", list(profile.rules), facts, tmp_path)
    assert f"- description {MARKDOWN} {JINJA}" in plan.preview  # the preview shows it, as data
    change = SwitchChange.model_validate(plan.detail)
    lines = config_lines(parse_running_config(change.after), parse_running_config(change.before),
                         list(change.headers))
    sent = "\n".join(lines)
    assert "{{" not in sent and "**" not in sent and "Semua" not in sent and "exec-banner" not in sent
    assert " no description" in lines and " no switchport access vlan 777" in lines
    assert {"no ip http server", "no snmp-server community public RO", " transport input ssh"} <= set(lines)
    assert f"snmp-server community {JINJA}" not in sent  # not a default community: left for a person


@pytest.mark.parametrize("line", ["snmp-server community {{ 7 * 7 }}", "interface Fa0/1; reload",
                                  " description $(reboot)", " description `id`", "hostname x\nreload",
                                  "reload", "do write erase", "\x1b[2J"])
def test_a_line_the_toolkit_does_not_send_is_refused(line: str) -> None:
    with pytest.raises(InvalidInputError, match="refusing to send"):
        checked(["interface FastEthernet0/1", line])


def test_a_rule_without_a_known_remediation_is_refused(runner: NetworkRunner, segments: SegmentAllocator,
                                                      profile: SwitchProfile, tmp_path: Path) -> None:
    from toolkit.compliance.switch_checks import ForbiddenConfig

    facts = gatherer(runner, segments, {"sw-dinkes-01": CRAFTED}).gather(["sw-dinkes-01"])["sw-dinkes-01"]
    rule = profile.rules[2].model_copy(update={"id": "SITE-NTP-01",
                                               "check": ForbiddenConfig(type="forbidden-config", line="^ntp ")})
    with pytest.raises(InvalidInputError, match="SITE-NTP-01"):
        SwitchRemediator(runner).plan("sw-dinkes-01", [rule], facts, tmp_path)
    with pytest.raises(NotFoundError):
        SwitchRemediator(runner).plan("sw-lain-09", profile.rules, facts, tmp_path)


def test_from_settings_reaches_devices_as_the_network_actions_do(tmp_path: Path, segments: SegmentAllocator,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from toolkit.settings import load_settings

    inventory = tmp_path / "network.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY.model_dump(mode="json")))
    known_hosts = tmp_path / "known_hosts"
    settings = load_settings(state_dir=tmp_path / "state", network={
        "inventory": str(inventory), "known_hosts": str(known_hosts), "max_workers": 3, "read_timeout_s": 7})
    g = SwitchGatherer.from_settings(settings, segments)
    assert g.resolve(["group:distribution"]) == ["sw-dinkes-02"]
    assert g.runner.options.max_workers == 3 and g.runner.session_options.known_hosts == known_hosts
    assert g.runner.session_options.read_timeout == 7 and g.runner.backup_dir == tmp_path / "state/network/backups"
    r = SwitchRemediator.from_settings(settings)
    assert r.kind == "switch" and r.runner.changes_dir == tmp_path / "state/network/changes"
