"""The site-to-site VPN plan, keys and tunnel slots without a lab: every bad input is refused with its reason,
keys are real X25519 pairs kept 0600, and a ticket always gets the same tunnel and keys back."""

from __future__ import annotations

import base64
import ipaddress
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr, ValidationError

from integrations.state.allocations import TunnelSlots
from toolkit.actions.network.vpn import allocate_tunnel, plan_request, site_name
from toolkit.bootstrap import App
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError
from toolkit.settings import load_settings
from toolkit.vpn.inventory import DcGateway, allocate_slot
from toolkit.vpn.keys import KeyStore, fingerprint, generate_private_key, public_key
from toolkit.vpn.plan import VpnPlan

KEY_A = public_key(generate_private_key())
KEY_B = public_key(generate_private_key())


def _endpoint(side: str, **overrides: Any) -> dict[str, Any]:
    site = side == "site"
    data: dict[str, Any] = {
        "role": side, "host": "gw-dinkes" if site else "gw-dc",
        "public_address": "203.0.113.10" if site else "198.51.100.1",
        "tunnel_address": "172.31.255.1/30" if site else "172.31.255.2/30",
        "lan_cidrs": ["192.168.10.0/24"] if site else ["10.100.0.0/24", "10.100.1.0/24"],
        "lan_address": "192.168.10.1" if site else "10.100.0.1",
        "public_key": KEY_A if site else KEY_B,
        "private_key_secret": f"vpn-spbe-2025-00001-{side}",
    }  # fmt: skip
    data.update(overrides)
    return data


def _plan(site: dict[str, Any] | None = None, dc: dict[str, Any] | None = None, **overrides: Any) -> VpnPlan:
    data: dict[str, Any] = {
        "ticket": "SPBE-2025-00001", "site_name": "dinas-kesehatan", "interface": "wg0", "listen_port": 51820,
        "site": _endpoint("site", **(site or {})), "dc": _endpoint("dc", **(dc or {})),
        "verify_targets": ["10.100.0.10"],
    }  # fmt: skip
    data.update(overrides)
    return VpnPlan.model_validate(data)


def _refused(**kwargs: Any) -> str:
    with pytest.raises(ValidationError) as info:
        _plan(**kwargs)
    return str(info.value)


def test_a_valid_plan_is_frozen_data_with_public_keys_only() -> None:
    plan = _plan()
    assert plan.site.allowed_ips == ("172.31.255.1/32", "192.168.10.0/24")
    assert plan.dc.allowed_ips == ("172.31.255.2/32", "10.100.0.0/24", "10.100.1.0/24")
    dumped = plan.model_dump_json()
    assert KEY_A in dumped and "private_key\"" not in dumped
    with pytest.raises(ValidationError):
        plan.interface = "wg9"  # type: ignore[misc]
    assert VpnPlan.model_validate_json(dumped) == plan


def test_extra_vars_reveal_the_private_keys_only_when_asked_to_configure() -> None:
    plan = _plan()
    keys = {n: SecretStr(f"secret-{n}") for n in plan.key_names}
    present = plan.extra_vars(keys, "present")
    site = present["spbe_vpn_endpoints"]["gw-dinkes"]
    assert site["private_key"] == "secret-vpn-spbe-2025-00001-site"
    assert site["peer_public_key"] == KEY_B and site["peer_endpoint"] == "198.51.100.1:51820"
    assert site["peer_allowed_ips"] == ["172.31.255.2/32", "10.100.0.0/24", "10.100.1.0/24"]
    assert site["keepalive"] == 25 and present["spbe_vpn_endpoints"]["gw-dc"]["keepalive"] == 0
    absent = plan.extra_vars({}, "absent")
    assert all("private_key" not in e for e in absent["spbe_vpn_endpoints"].values())


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"site": {"lan_cidrs": ["10.100.0.0/23"], "lan_address": "10.100.0.1"}}, "overlaps"),
    ({"site": {"lan_cidrs": ["172.31.255.0/29"], "lan_address": "172.31.255.5"}}, "overlaps"),
    ({"dc": {"lan_cidrs": ["10.100.0.0/24", "10.100.0.128/25"]}}, "overlaps"),
    ({"site": {"public_address": "10.100.0.50"}}, "is inside the DC LAN"),
    ({"site": {"lan_cidrs": ["192.168.10.1/24"]}}, "not a valid IPv4 network"),  # host bits set
    ({"site": {"lan_cidrs": ["192.168.10.0/33"]}}, "valid IPv4 network"),
    ({"site": {"lan_cidrs": ["not-a-cidr"]}}, "valid IPv4 network"),
    ({"site": {"lan_cidrs": ["10.0.0.0/8"], "lan_address": "10.0.0.1"}}, "larger than a /16"),
    ({"site": {"lan_cidrs": ["8.8.8.0/24"], "lan_address": "8.8.8.1"}}, "not private"),
    ({"site": {"lan_cidrs": [f"192.168.{i}.0/24" for i in range(17)]}}, "at most 16"),
    ({"site": {"lan_address": "192.168.11.1"}}, "not in the LAN networks"),
    ({"site": {"tunnel_address": "172.31.254.1/30"}}, "two addresses of one network"),
    ({"site": {"tunnel_address": "172.31.255.2/30"}}, "two addresses of one network"),
    ({"site": {"tunnel_address": "172.31.255.0/30"}}, "not a usable host address"),
    ({"site": {"public_key": KEY_B}}, "different keys"),
    ({"site": {"public_key": "bm90IGEga2V5\n"}}, "WireGuard public key"),
    ({"site": {"host": "gw-dc"}}, "two different gateways"),
    ({"site": {"role": "dc", "host": "gw-x"}}, "swapped"),
    ({"site": {"private_key_secret": "../../etc/shadow"}}, "secret name"),
    ({"verify_targets": ["192.168.10.5"]}, "not in the DC LANs"),
    ({"verify_targets": []}, "at least 1"),
    ({"interface": "wg0; reboot"}, "interface name"),
    ({"interface": "eth0"}, "interface name"),
    ({"listen_port": 80}, "greater than or equal to 1024"),
    ({"site_name": "dinkes\nPostUp = rm -rf /"}, "site name"),
    ({"site_name": "dinkes;reboot"}, "site name"),
    ({"site_name": "$(reboot)"}, "site name"),
    ({"site_name": "{{ lookup('pipe','id') }}"}, "site name"),
    ({"site_name": "x" * 33}, "site name"),
    ({"ticket": "T-1\n[Peer]"}, "ticket id"),
    ({"unexpected": "field"}, "Extra inputs are not permitted"),
])  # fmt: skip
def test_bad_plans_are_refused_with_their_reason(kwargs: dict[str, Any], reason: str) -> None:
    assert reason in _refused(**kwargs)


def test_site_name_from_the_agency_name_is_safe() -> None:
    assert site_name("Dinas Kesehatan") == "dinas-kesehatan"
    assert site_name("Badan $(rm -rf /); Keuangan\n{{x}}") == "badan-rm-rf-keuangan-x"
    assert len(site_name("Dinas " * 40)) <= 32 and site_name("!!!") == "situs"


def test_keys_are_wireguard_compatible_and_stored_0600(tmp_path: Path) -> None:
    store = KeyStore.for_state_dir(tmp_path)
    public = store.ensure("vpn-t1-site")
    assert store.ensure("vpn-t1-site") == public, "ensure never replaces a key"
    path = store.root / "vpn-t1-site.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert len(base64.b64decode(store.private("vpn-t1-site").get_secret_value())) == 32
    if subprocess.run(["which", "wg"], capture_output=True, check=False).returncode == 0:
        wg = subprocess.run(["wg", "pubkey"], input=path.read_text(), capture_output=True, text=True, check=True)
        assert wg.stdout.strip() == public, "wg derives the same public key"
    assert len(fingerprint(public)) == 16 and fingerprint(public) != fingerprint(KEY_A)
    with pytest.raises(InvalidInputError):
        store.ensure("../escape")
    with pytest.raises(NotFoundError):
        store.private("vpn-missing")
    path.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        store.private("vpn-t1-site")


def test_two_writers_racing_end_with_one_key(tmp_path: Path) -> None:
    store = KeyStore.for_state_dir(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        publics = set(pool.map(lambda _: store.ensure("vpn-race"), range(16)))
    assert len(publics) == 1
    assert [p.name for p in store.root.iterdir()] == ["vpn-race.key"]


DC = DcGateway(name="gw-dc", public_address="198.51.100.1", lan_address="10.100.0.1",  # type: ignore[arg-type]
               lan_cidrs=("10.100.0.0/24",), tunnel_pool="172.31.255.0/29", verify_targets=("10.100.0.10",))


def test_tunnel_slots_are_durable_unique_and_refuse_overlaps(tmp_path: Path) -> None:
    slots = TunnelSlots(tmp_path / "vpn.db")
    lan = ipaddress.IPv4Network
    assert DC.capacity == 2
    assert allocate_slot(slots, "T-1", DC, lan("192.168.10.0/24")) == 0
    assert allocate_slot(slots, "T-1", DC, lan("192.168.10.0/24")) == 0, "a re-run gets its slot back"
    with pytest.raises(ConflictError, match=r"overlaps 192.168.10.0/24"):
        allocate_slot(slots, "T-2", DC, lan("192.168.10.128/25"))
    assert allocate_slot(slots, "T-3", DC, lan("192.168.20.0/24")) == 1
    with pytest.raises(ConflictError, match="no free tunnel"):
        allocate_slot(slots, "T-4", DC, lan("192.168.30.0/24"))
    slots.release("T-1")
    with TunnelSlots(tmp_path / "vpn.db") as reopened:
        assert allocate_slot(reopened, "T-4", DC, lan("192.168.30.0/24")) == 0
    slots.close()
    assert DC.tunnel(1) == lan("172.31.255.4/30")


def _inventory(path: Path) -> Path:
    ssh = {"ansible_host": "127.0.0.1"}
    inventory = {"all": {"children": {
        "vpn_site_gateways": {"hosts": {"gw-dinkes": ssh | {
            "spbe_vpn_public_address": "203.0.113.10", "spbe_vpn_lan_address": "192.168.10.1"}}},
        "vpn_dc_gateways": {"hosts": {"gw-dc": ssh | {
            "spbe_vpn_public_address": "198.51.100.1", "spbe_vpn_lan_address": "10.100.0.1",
            "spbe_vpn_lan_cidrs": ["10.100.0.0/24"], "spbe_vpn_tunnel_pool": "172.31.255.0/28",
            "spbe_vpn_listen_port_base": 51900, "spbe_vpn_verify_targets": ["10.100.0.10"]}}},
    }}}  # fmt: skip
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return path


def test_the_tunnel_of_a_request_is_allocated_once(tmp_path: Path) -> None:
    settings = load_settings(state_dir=tmp_path / "state", inventory=_inventory(tmp_path / "inv.yml"))
    request = plan_request(settings, "SPBE-2025-00007", "dinas-kesehatan", "192.168.10.0/24", "203.0.113.10")
    keys = settings.state_dir / "secrets" / "wireguard"
    assert not keys.exists(), "planning allocates nothing"
    app = App(settings)
    first = allocate_tunnel(settings, app.state.tunnels, request, "konfigurasi-vpn")
    again = allocate_tunnel(settings, app.state.tunnels, request, "konfigurasi-vpn")
    assert first == again, "same slot, same keys"
    assert (first.interface, first.listen_port, str(first.site.tunnel_address)) == ("wg0", 51900, "172.31.255.1/30")
    assert first.site.host == "gw-dinkes" and first.dc.host == "gw-dc"
    store = KeyStore.for_state_dir(settings.state_dir)
    assert first.site.public_key == store.public(first.site.private_key_secret)
    with pytest.raises(ConflictError):  # another ticket may not tunnel an overlapping LAN
        allocate_tunnel(settings, app.state.tunnels, plan_request(settings, "SPBE-2025-00008", "bkd",
                                                                  "192.168.10.0/25", "203.0.113.10"), "konfigurasi-vpn")
    app.close()


@pytest.mark.parametrize(("lan", "gateway", "error"), [
    ("192.168.10.0/24", "203.0.113.99", NotFoundError),  # no managed gateway at that address
    ("192.168.20.0/24", "203.0.113.10", InvalidInputError),  # the gateway is not on that LAN
    ("0.0.0.0/0", "203.0.113.10", InvalidInputError),  # oversized: the agency's whole traffic
    ("192.168.10.0/24\n", "203.0.113.10", InvalidInputError),
    ("192.168.10.0/24", "203.0.113.10; reboot", InvalidInputError),
])  # fmt: skip
def test_bad_requests_leave_no_slot_and_no_key(tmp_path: Path, lan: str, gateway: str, error: type) -> None:
    settings = load_settings(state_dir=tmp_path / "state", inventory=_inventory(tmp_path / "inv.yml"))
    with pytest.raises(error):
        plan_request(settings, "SPBE-2025-00009", "dinkes", lan, gateway)
    keys = settings.state_dir / "secrets" / "wireguard"
    assert not keys.exists() or not os.listdir(keys)
    app = App(settings)  # the store the action allocates in
    assert allocate_slot(app.state.tunnels, "X", _dc(settings), ipaddress.IPv4Network("192.168.50.0/24")) == 0, \
        "the failed request holds no slot"
    app.close()


def _dc(settings: Any) -> DcGateway:
    from toolkit.vpn.inventory import dc_gateway

    return dc_gateway(settings.effective_inventory())

