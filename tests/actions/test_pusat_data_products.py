"""The Pusat Data product decides what is provisioned: which steps (and so which actions) a request plans,
the fields each product needs, and the colocation/cloud inputs refused before anything reaches a host or
a switch (issue 17, seed 002)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from integrations.state.colocation import RackSpaceStore
from tests.support.document_samples import (
    BACKUP,
    FIELDS,
    T0,
    ansible_result,
    context,
    make_job,
    make_ticket,
    pusat_data_service,
    render_doc,
    repository_renderer,
)
from toolkit.actions.ansible.cloud import CloudVmVars
from toolkit.actions.colocation.allocate import ColocationRequest, colocation_change, parse_request
from toolkit.actions.colocation.space import ColocationInventory, choose_segment, choose_space, load_colocation
from toolkit.documents import MissingTemplateDataError
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.tickets.requests import validate_request
from toolkit.errors import ConfigurationError, ConflictError, IncompleteRequestError, InvalidInputError
from toolkit.network.allocation import DeviceObservation, SiteObservation
from toolkit.network.inventory import load_inventory
from toolkit.ports.state_records import RackSpace, SegmentAllocation

SERVICE = load_catalog().get("pusat-data")
BASE = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan", "kontak_email": "it@dinkes.example.go.id"}
PRODUCTS = {
    "hosting-aplikasi": {"nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4",
                         "disk_gb": "40", "backup": "ya"},
    "layanan-cloud": {"nama_aplikasi": "simpus", "hostname": "vm-simpus", "vcpu": "2", "ram_gb": "2", "disk_gb": "20"},
    "colocation": {"hostname": "srv-dinkes.example.go.id", "colo_unit_rak": "2", "colo_daya_watt": "400"},
    "backup": {"nama_aplikasi": "simpus", "hostname": "pd-app-01"},
    "vpn": {"vpn_subnet_lan": "192.168.10.0/24", "vpn_ip_gateway": "203.0.113.5"},
}
SERVER_ACTIONS = {"ansible.provision_server", "ansible.install_monitoring"}
REPO = Path(__file__).resolve().parents[2]


def _request(produk: str, **over: str) -> dict[str, object]:
    attachments = ["surat_permohonan"] + (["dokumen_persetujuan_aplikasi"] if produk == "hosting-aplikasi" else [])
    return validate_request(SERVICE, {**BASE, "produk": produk, **PRODUCTS[produk], **over}, attachments)


def _actions(values: dict[str, object]) -> list[str]:
    return [s.action for s in SERVICE.steps_for(values) if s.kind.value == "action"]


@pytest.mark.parametrize(("produk", "expected"), [
    ("hosting-aplikasi", ["ansible.provision_server", "ansible.install_monitoring", "ansible.configure_backup"]),
    ("layanan-cloud", ["ansible.provision_cloud_vm", "ansible.install_monitoring"]),
    ("colocation", ["colocation.allocate"]),
    ("backup", ["ansible.configure_backup"]),
    ("vpn", ["vpn.site_to_site"]),
])
def test_each_product_plans_only_its_own_actions(produk: str, expected: list[str]) -> None:
    assert _actions(_request(produk)) == expected


def test_a_vpn_or_backup_request_plans_no_web_server_and_no_application_steps() -> None:
    for produk in ("vpn", "backup", "colocation"):
        steps = {s.id for s in SERVICE.steps_for(_request(produk, backup="ya"))}
        assert not steps & {"instalasi-server", "instalasi-monitoring", "konfigurasi-backup", "instalasi-aplikasi",
                            "uji-fungsionalitas"}, produk
        assert not SERVER_ACTIONS & set(_actions(_request(produk))), produk


def test_hosting_without_backup_skips_the_add_on() -> None:
    assert "ansible.configure_backup" not in _actions(_request("hosting-aplikasi", backup="tidak"))


@pytest.mark.parametrize(("produk", "missing"), [
    ("hosting-aplikasi", "vcpu"), ("layanan-cloud", "disk_gb"), ("colocation", "colo_unit_rak"),
    ("colocation", "colo_daya_watt"), ("backup", "hostname"), ("vpn", "vpn_subnet_lan"),
])
def test_each_product_requires_its_own_fields(produk: str, missing: str) -> None:
    raw = {**BASE, "produk": produk, **PRODUCTS[produk]}
    raw.pop(missing, None)
    with pytest.raises(IncompleteRequestError, match=missing):
        validate_request(SERVICE, raw, ["surat_permohonan"])


def test_a_vpn_request_needs_no_server_fields() -> None:
    values = _request("vpn")
    assert values["hostname"] is None and values["vcpu"] is None


@pytest.mark.parametrize("value", ["rak-a1\nend", "rak-a1;reload", "$(reboot)", "{{ 7*7 }}", "../rak", "a" * 40,
                                   "RAK-A1 ", "rak a1"])
def test_a_hostile_rack_is_refused_at_intake(value: str) -> None:
    with pytest.raises(InvalidInputError, match="colo_rak"):
        _request("colocation", colo_rak=value)


@pytest.mark.parametrize(("field", "value"), [
    ("vcpu", "0"), ("vcpu", "65"), ("ram_gb", "513"), ("disk_gb", "9"), ("disk_gb", "10001"), ("vcpu", "2;3"),
    ("colo_unit_rak", "11"), ("colo_daya_watt", "3001"), ("colo_jumlah_port", "5"), ("colo_unit_rak", "$(id)"),
])
def test_out_of_range_specs_are_refused(field: str, value: str) -> None:
    produk = "colocation" if field.startswith("colo_") else "layanan-cloud"
    with pytest.raises(InvalidInputError, match=field):
        _request(produk, **{field: value})


@pytest.mark.parametrize("equipment", ["srv\nend", "srv;reload", "$(reboot)", "{{ x }}", "srv | include", "a" * 65])
def test_the_colocation_model_refuses_hostile_equipment_names(equipment: str) -> None:
    with pytest.raises(ValidationError):
        ColocationRequest(equipment=equipment, units=1, power_watt=100, ports=1)


def test_cloud_vars_hold_the_catalog_bounds() -> None:
    most = CloudVmVars(ticket="T-1", hostname="vm-1", vcpu=64, ram_gb=512, disk_gb=10000)
    assert most.to_extra_vars()["spbe_vcpu"] == 64
    for bad in ({"vcpu": 0}, {"ram_gb": 513}, {"disk_gb": 9}, {"hostname": "vm\n1"}):
        with pytest.raises(ValidationError):
            CloudVmVars(**{"ticket": "T-1", "hostname": "vm-1", "vcpu": 1, "ram_gb": 1, "disk_gb": 10, **bad})


def _inventory() -> ColocationInventory:
    return ColocationInventory.model_validate({
        "site": "dc", "apps": ["dns"], "ports": [{"device": "sw-dc-01", "interfaces": ["FastEthernet0/11",
                                                                                      "FastEthernet0/12"]}],
        "racks": [{"id": "rak-a1", "units": 6, "power_watt": 1000, "reserved_units": [1, 6]},
                  {"id": "rak-a2", "units": 6, "power_watt": 1000}]})


def _space(ticket: str, rack: str, start: int, units: int, watts: int) -> RackSpace:
    return RackSpace(ticket_id=ticket, rack=rack, unit_start=start, units=units, power_watt=watts,
                     allocated_at=datetime.now(UTC))


def test_rack_space_is_contiguous_and_within_the_power_budget() -> None:
    inv = _inventory()
    first = choose_space(inv, "T1", 2, 400, None, [])
    assert (first.rack, first.unit_start) == ("rak-a1", 2)  # U1 is reserved
    second = choose_space(inv, "T2", 2, 500, None, [first])
    assert (second.rack, second.unit_start) == ("rak-a1", 4)
    third = choose_space(inv, "T3", 1, 200, None, [first, second])  # 100 W left in rak-a1
    assert third.rack == "rak-a2"
    with pytest.raises(ConflictError, match="power"):
        choose_space(inv, "T4", 1, 200, "rak-a1", [first, second])
    with pytest.raises(ConflictError, match="contiguous"):
        choose_space(inv, "T5", 5, 10, "rak-a1", [])


def test_the_rack_store_keeps_a_tickets_space_and_gives_it_once(tmp_path: Path) -> None:
    store = RackSpaceStore(tmp_path / "state.db")
    inv = _inventory()
    a = store.claim("T1", lambda others: choose_space(inv, "T1", 2, 400, None, others))
    again = store.claim("T1", lambda others: choose_space(inv, "T1", 3, 900, None, others))
    b = store.claim("T2", lambda others: choose_space(inv, "T2", 2, 400, None, others))
    assert again == a and set(a.unit_range).isdisjoint(b.unit_range)
    assert store.get("T2") == b
    store.close()


def test_colocation_ports_skip_busy_and_held_ones_and_the_change_is_safe() -> None:
    network = load_inventory(REPO / "inventory" / "network" / "example.yml")
    site = network.sites[0]
    device = site.devices[0]
    ports = list(site.pool(device.name))[:2]  # colocation ports are pool ports: the push refuses any other
    inv = ColocationInventory.model_validate({"site": site.id, "apps": [network.apps[0].id],
                                              "ports": [{"device": device.name, "interfaces": ports}],
                                              "racks": [{"id": "rak-a1", "units": 42, "power_watt": 3000}]})
    inv.check_against(network)
    seen = SiteObservation(site=site.id, devices=(DeviceObservation(device=device.name, port_vlans={ports[0]: 300}),))
    held = SegmentAllocation(ticket_id="T0", site=site.id, vlan_id=network.vlan_pool.start,
                             subnet=ipaddress.IPv4Network("10.255.255.0/29"), ports={}, users=1,
                             allocated_at=datetime.now(UTC))
    segment = choose_segment(network, inv, "T1", 1, seen, [held])
    assert segment.ports == {device.name: (ports[1],)} and segment.vlan_id != held.vlan_id
    request = ColocationRequest(equipment="srv.dinkes.go.id", units=2, power_watt=300, ports=1)
    change = colocation_change(network, inv, "SPBE-2026-00001", request, "rak-a1", range(3, 5), segment.vlan_id,
                               segment.subnet, dict(segment.ports))
    assert change.description == "Kolokasi SPBE-2026-00001 srv-dinkes-go-id rak-a1 U3-4"
    assert change.devices[0].access_ports == (ports[1],) and change.devices[0].gateway


def test_a_colocation_inventory_naming_a_hostile_interface_is_refused(tmp_path: Path) -> None:
    network = load_inventory(REPO / "inventory" / "network" / "example.yml")
    site = network.sites[0]
    bad = tmp_path / "colocation.yml"
    bad.write_text(f"site: {site.id}\napps: [{network.apps[0].id}]\nports:\n  - device: {site.devices[0].name}\n"
                   "    interfaces: ['FastEthernet0/1\\nreload']\nracks:\n  - {id: rak-a1, units: 42, power_watt: 1}\n")
    with pytest.raises(ConfigurationError, match="not an access interface"):
        load_colocation(bad).check_against(network)
    bad.write_text("site: dc\napps: [dns]\nports: [{device: sw-dc-01, interfaces: [Fa0/1]}]\n"
                   "racks: [{id: 'rak;reload', units: 42, power_watt: 1}]\n")
    with pytest.raises(ConfigurationError, match="racks"):
        load_colocation(bad)


class _Ctx:
    """What `parse_request` reads of an action context: the ticket's validated fields."""

    def __init__(self, fields: dict[str, object]) -> None:
        self.ticket = type("T", (), {"fields": fields})()


@pytest.mark.parametrize("over", [
    {"colo_unit_rak": "1", "colo_daya_watt": "50", "colo_jumlah_port": "1", "colo_rak": "ab"},
    {"colo_unit_rak": "10", "colo_daya_watt": "3000", "colo_jumlah_port": "4", "colo_rak": "a" + "b" * 30 + "c",
     "hostname": "a" * 31 + "." + "b" * 32},
    {"hostname": "x.y.example.go.id", "colo_rak": "rak-a1"},
])
def test_what_intake_accepts_for_colocation_the_action_accepts(over: dict[str, str]) -> None:
    values = _request("colocation", **over)
    request = parse_request(_Ctx(values))  # type: ignore[arg-type]
    assert (request.units, request.power_watt, request.ports) == (
        values["colo_unit_rak"], values["colo_daya_watt"], values["colo_jumlah_port"])


@pytest.mark.parametrize("over", [
    {"vcpu": "1", "ram_gb": "1", "disk_gb": "10"},
    {"vcpu": "64", "ram_gb": "512", "disk_gb": "10000", "hostname": "a" * 31 + "." + "b" * 32},
])
def test_what_intake_accepts_for_cloud_the_playbook_vars_accept(over: dict[str, str]) -> None:
    values = _request("layanan-cloud", **over)
    CloudVmVars.model_validate({"ticket": "SPBE-2026-00001", "hostname": values["hostname"], "vcpu": values["vcpu"],
                                "ram_gb": values["ram_gb"], "disk_gb": values["disk_gb"]})


COLOCATION_FACTS = {"rack": "rak-a2", "unit_start": 3, "unit_end": 4, "units": 2, "power_watt": 450, "site": "dc",
                    "vlan_id": 101, "subnet": "10.20.1.0/29", "gateway": "10.20.1.1",
                    "ports": {"sw-dc-01": ["FastEthernet0/11"]}, "equipment": "srv-dinkes",
                    "description": "Kolokasi PD-2026-0042 srv-dinkes rak-a2 U3-4",
                    "devices": [{"device": "sw-dc-01", "status": "changed", "status_label": "diubah sesuai rencana",
                                 "verified": True, "error": None}], "configured": True}


def _documents(produk: str, prior: dict[str, object], **fields: object) -> dict[str, str]:
    ctx = context(pusat_data_service(), ticket=make_ticket(fields={**FIELDS, "produk": produk, **fields}), prior=prior)
    renderer = repository_renderer()
    return {t: render_doc(renderer, t, ctx) for t in ("berita_acara_instalasi_server", "laporan_pelaksanaan",
                                                       "berita_acara_pemanfaatan")}


def test_the_documents_of_a_colocation_ticket_show_rack_power_and_port_and_no_server() -> None:
    job = make_job(2, "alokasi-kolokasi", "colocation.allocate", T0, {
        "ok": True, "summary": "-", "comment": "-", "facts": COLOCATION_FACTS, "changed": [], "duration_s": 1.0})
    docs = _documents("colocation", {"alokasi-kolokasi": job})
    ba = docs["berita_acara_instalasi_server"]
    assert "Colocation Perangkat srv-dinkes" in ba and "U3 s/d U4" in ba and "450 watt" in ba
    assert "sw-dc-01 FastEthernet0/11" in ba and "terpasang dan terverifikasi" in ba
    assert "### A. Server" not in ba and "### B. Monitoring" not in ba and "siap dimanfaatkan" in ba
    assert "rak rak-a2 U3-U4, daya 450 watt" in docs["laporan_pelaksanaan"]
    assert "tidak ada aplikasi yang dipasang" in docs["berita_acara_pemanfaatan"]


def test_the_documents_of_a_backup_ticket_show_only_the_backup() -> None:
    job = make_job(2, "pencadangan-server", "ansible.configure_backup", T0,
                   ansible_result("configure_backup.yml", "pd-app-01", BACKUP, 30.0, 5))
    docs = _documents("backup", {"pencadangan-server": job})
    ba = docs["berita_acara_instalasi_server"]
    assert "/var/backups/spbe/simpeg" in ba and "4f1c2a9b" in ba and "### A. Server" not in ba
    assert "Backup / pencadangan server pd-app-01" in docs["laporan_pelaksanaan"]


def test_a_backup_berita_acara_without_its_backup_run_is_refused() -> None:
    with pytest.raises(MissingTemplateDataError, match="pencadangan-server"):
        _documents("backup", {})


def test_the_backup_product_targets_only_a_named_server_of_the_pool(tmp_path: Path) -> None:
    from toolkit.actions.ansible.pusat_data import existing_pool_host
    from toolkit.settings import load_settings

    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    pusat_data_pool:\n      hosts:\n"
                         "        pd-app-01: {ansible_host: 10.213.9.2}\n"
                         "    monitoring:\n      hosts:\n        mon-01: {ansible_host: 10.213.9.6}\n")
    settings = load_settings(state_dir=tmp_path, inventory=inventory)

    class Ctx:
        def __init__(self, host: object) -> None:
            self.settings = settings
            self.ticket = type("T", (), {"fields": {"produk": "backup", "hostname": host}})()

    assert existing_pool_host(Ctx("pd-app-01")) == ("pd-app-01", "10.213.9.2")  # type: ignore[arg-type]
    for host in ("mon-01", "pd-app-02", "pd-app-01\nall", "all", None):
        with pytest.raises(InvalidInputError, match="hostname"):
            existing_pool_host(Ctx(host))  # type: ignore[arg-type]
