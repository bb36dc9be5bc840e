"""Nothing the service desk accepts is refused by a playbook after approval.

Every boundary value of every catalog field that reaches a playbook goes through intake
(`validate_request`) and, when accepted, through the action's own code that turns ticket fields into
extra vars, then through the playbook's real input assertions: its ``tasks/validate_*.yml``, run by
ansible-playbook with the playbook's own play vars, one inventory host per value, all in one run.
Values intake refuses are also given to the assertions verbatim (for the fields that reach a variable
unchanged): the playbook, run by hand, must refuse them too, so both apply one rule.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from tests.support.boundaries import BASE, CATALOG, action_context, boundary_values, intake
from toolkit.actions.ansible.pusat_data import ConfigureBackupAction, InstallMonitoringAction, ProvisionServerAction
from toolkit.actions.ansible.recovery import RestoreOrRebuildAction
from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, run_playbook
from toolkit.actions.network.vpn import SiteToSiteVpnAction
from toolkit.errors import ToolkitError

pytestmark = pytest.mark.slow  # one ansible-playbook run over a few hundred inventory hosts, ~25 s

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
HOST, ADDRESS = "pd-app-01", "10.0.0.5"
VPN_SITE_PUBLIC = "203.0.113.10"

Vars = dict[str, Any]


def _provision(fields: Mapping[str, Any], tmp: Path) -> Vars:
    ctx = action_context(CATALOG.get("pusat-data"), fields, management_cidrs=("10.0.0.0/24",), monitoring_cidrs=())
    return ProvisionServerAction().variables(ctx, HOST)


def _monitoring(fields: Mapping[str, Any], tmp: Path) -> Vars:
    return InstallMonitoringAction().variables(action_context(CATALOG.get("pusat-data"), fields), HOST)


def _backup(fields: Mapping[str, Any], tmp: Path) -> Vars:
    return ConfigureBackupAction().variables(action_context(CATALOG.get("pusat-data"), fields), HOST)


def _write_once(path: Path, text: str) -> None:
    """Write ``path`` unless it already holds ``text``: an inventory rewritten unchanged is still a new version
    to `toolkit.ansible_inventory` (its mtime moved), parsed again by an ``ansible-inventory`` process of
    ~0.6 CPU-s; the harness asks for the same few inventories a hundred times."""
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _restore(fields: Mapping[str, Any], tmp: Path) -> Vars:
    inventory = tmp / "hosts.yml"
    _write_once(inventory, yaml.safe_dump({"all": {"hosts": {HOST: {"ansible_host": ADDRESS}}}}))
    ctx = action_context(CATALOG.get("insiden-siber"), fields, effective_inventory=lambda: inventory)
    return dict(RestoreOrRebuildAction().plan(ctx).restore_vars.to_extra_vars())


def _vpn(fields: Mapping[str, Any], tmp: Path) -> Vars:
    """The tunnel as `SiteToSiteVpnAction` plans and allocates it, against gateways whose networks the values cannot hit
    (an overlap with the data center's own networks is a fact of the inventory, not of the ticket)."""
    from integrations.state.allocations import TunnelSlots
    from toolkit.actions.network.vpn import allocate_tunnel
    from toolkit.sqlite_tx import STATE_DB
    from toolkit.vpn.keys import KeyStore

    lan = ipaddress.IPv4Network(str(fields["vpn_subnet_lan"]))
    state = tmp / f"vpn-{lan.network_address}-{lan.prefixlen}"  # a slot and keys per LAN, as per ticket
    inventory = state / "hosts.yml"
    state.mkdir(exist_ok=True)
    _write_once(inventory, yaml.safe_dump({"all": {"children": {
        "vpn_site_gateways": {"hosts": {"gw-site": {
            "spbe_vpn_public_address": VPN_SITE_PUBLIC,
            "spbe_vpn_lan_address": str(next(iter(lan.hosts()), lan.network_address))}}},
        "vpn_dc_gateways": {"hosts": {"gw-dc": {
            "spbe_vpn_public_address": "198.51.100.1", "spbe_vpn_lan_address": "198.18.0.1",
            "spbe_vpn_lan_cidrs": ["198.18.0.0/24"], "spbe_vpn_tunnel_pool": "198.19.255.0/24",
            "spbe_vpn_verify_targets": ["198.18.0.10"]}}},
    }}}))  # fmt: skip
    ctx = action_context(CATALOG.get("pusat-data"), fields, state_dir=state, effective_inventory=lambda: inventory)
    with TunnelSlots(state / STATE_DB) as slots:
        plan = allocate_tunnel(ctx.settings, slots, SiteToSiteVpnAction().plan(ctx), "konfigurasi-vpn")  # as it runs
    store = KeyStore.for_state_dir(state)
    keys: dict[str, SecretStr] = {name: store.private(name) for name in plan.key_names}
    return plan.extra_vars(keys, "present")


@dataclass(frozen=True)
class Sink:
    """One playbook fed from ticket fields: which fields, through which action code, and (``direct``)
    which variable carries a field's value unchanged."""

    playbook: str
    service: str
    fields: tuple[str, ...]
    extra_vars: Callable[[Mapping[str, Any], Path], Vars]
    base: Mapping[str, Any] = field(default_factory=dict)
    direct: Mapping[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.playbook.removesuffix(".yml")


VPN_BASE = {"produk": "vpn", "vpn_subnet_lan": "192.168.10.0/24", "vpn_ip_gateway": VPN_SITE_PUBLIC}
SINKS = (
    Sink("provision_server.yml", "pusat-data", ("nama_aplikasi", "hostname", "web_stack"), _provision,
         direct={"nama_aplikasi": "spbe_app_name", "hostname": "spbe_hostname"}),
    Sink("install_monitoring.yml", "pusat-data", ("hostname", "instansi"), _monitoring,
         direct={"hostname": "spbe_hostname"}),
    Sink("configure_backup.yml", "pusat-data", ("nama_aplikasi",), _backup, direct={"nama_aplikasi": "spbe_app_name"}),
    Sink("restore_backup.yml", "insiden-siber", ("nama_aplikasi",), _restore,
         direct={"nama_aplikasi": "spbe_app_name"}),
    Sink("site_to_site_vpn.yml", "pusat-data", ("vpn_subnet_lan", "instansi"), _vpn, base=VPN_BASE),
)


@dataclass
class Case:
    sink: Sink
    name: str
    value: Any
    accepted: bool  # by intake
    hosts: dict[str, Vars]  # inventory host -> its variables; empty when nothing reaches the playbook
    refused_by_action: str | None = None

    def describe(self) -> str:
        return f"{self.sink.service}.{self.name}={self.value!r} ({self.sink.playbook})"


class _Hosts:
    """Inventory hosts of the harness: one per distinct set of variables (many boundary values of a
    free-text field become the same derived variable), for the VPN one per gateway of the tunnel."""

    def __init__(self) -> None:
        self.by_vars: dict[str, dict[str, Vars]] = {}

    def __call__(self, sink: Sink, extra: Vars) -> dict[str, Vars]:
        key = sink.group + json.dumps(extra, sort_keys=True)
        if key not in self.by_vars:
            case_id = f"{sink.group}-{len(self.by_vars):04d}"
            endpoints = extra.get("spbe_vpn_endpoints")
            if not endpoints:
                self.by_vars[key] = {case_id: extra}
            else:
                renamed = {f"{case_id}-{name}": entry for name, entry in endpoints.items()}
                self.by_vars[key] = {host: extra | {"spbe_vpn_endpoints": renamed} for host in renamed}
        return self.by_vars[key]


def build_cases(tmp: Path) -> list[Case]:
    cases: list[Case] = []
    hosts = _Hosts()
    for sink in SINKS:
        service = CATALOG.get(sink.service)
        base = BASE[sink.service] | dict(sink.base)
        valid = sink.extra_vars(intake(service, base) or {}, tmp)
        for name in sink.fields:
            for value in boundary_values(service.requirements.field(name)):
                cleaned = intake(service, base | {name: value})
                case = Case(sink, name, value, cleaned is not None, {})
                if cleaned is not None:
                    try:
                        case.hosts = hosts(sink, sink.extra_vars(cleaned, tmp))
                    except ToolkitError as exc:
                        case.refused_by_action = str(exc)
                elif name in sink.direct and isinstance(value, str) and value and "{" not in value:
                    case.hosts = hosts(sink, valid | {sink.direct[name]: value})  # as a hand-run would pass it
                cases.append(case)
    return cases


def _harness(cases: list[Case], tmp: Path) -> tuple[Path, Path]:
    groups: dict[str, dict[str, Vars]] = {}
    for case in cases:
        for host, values in case.hosts.items():
            local = {"ansible_connection": "local", "ansible_host": "127.0.0.1",
                     "ansible_python_interpreter": sys.executable}
            groups.setdefault(case.sink.group, {})[host] = values | local
    plays = []
    for sink in {s.group: s for s in SINKS}.values():
        play = yaml.safe_load((PLAYBOOKS / sink.playbook).read_text(encoding="utf-8"))[0]
        plays.append({
            "name": f"The input assertions of {sink.playbook}", "hosts": sink.group, "gather_facts": False,
            "vars": play.get("vars", {}), "vars_files": [str(PLAYBOOKS / f) for f in play.get("vars_files", [])],
            "tasks": [{"name": "Validate", "ansible.builtin.import_tasks":
                       str(PLAYBOOKS / "tasks" / f"validate_{sink.group}.yml")}],
        })  # fmt: skip
    inventory, playbook = tmp / "cases.yml", tmp / "harness.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {g: {"hosts": h} for g, h in groups.items()}}}),
                         encoding="utf-8")
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    return playbook, inventory


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Case], PlaybookSummary]:
    tmp = tmp_path_factory.mktemp("intake")
    cases = build_cases(tmp)
    playbook, inventory = _harness(cases, tmp)
    summary = run_playbook(PlaybookRun(playbook=playbook, inventory=inventory, private_data_dir=tmp / "runs",
                                       timeout_s=900))
    return cases, summary


def _refused_hosts(summary: PlaybookSummary) -> dict[str, str]:
    return {t.host: t.msg for t in summary.failed_tasks}


def test_every_value_accepted_at_intake_passes_the_playbook_assertions(outcome: tuple[list[Case], PlaybookSummary]):
    cases, summary = outcome
    refused = _refused_hosts(summary)
    problems = [f"{c.describe()}: accepted at intake, refused by the action: {c.refused_by_action}"
                for c in cases if c.accepted and c.refused_by_action]
    problems += [f"{c.describe()}: accepted at intake, refused by the playbook: {refused[h]}"
                 for c in cases if c.accepted for h in c.hosts if h in refused]
    assert not problems, "\n".join(problems)
    unrun = [h for c in cases for h in c.hosts if h not in summary.hosts]
    assert not unrun, f"hosts the harness never ran: {unrun[:5]}"


def test_values_refused_at_intake_are_refused_by_the_playbook_too(outcome: tuple[list[Case], PlaybookSummary]):
    cases, summary = outcome
    refused = _refused_hosts(summary)
    looser = [c.describe() for c in cases if not c.accepted and c.hosts and not all(h in refused for h in c.hosts)]
    assert not looser, "the playbook accepts what intake refuses:\n" + "\n".join(looser)


def test_the_harness_probes_both_sides_of_every_field(outcome: tuple[list[Case], PlaybookSummary]):
    cases, _ = outcome
    for sink in SINKS:
        for name in sink.fields:
            mine = [c for c in cases if c.sink is sink and c.name == name]
            assert any(c.accepted and c.hosts for c in mine), (sink.playbook, name, "nothing accepted")
            assert any(not c.accepted for c in mine), (sink.playbook, name, "nothing refused")
