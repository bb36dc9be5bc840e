"""Issue 13 point 3: each service's approval page shows the concrete plan the approver approves, from the
real stores and the real plan models, without the lab.

- Pusat Data: the provisioning plan previewed from the request (playbook, host need, variables), planned
  by the same pure ``plan()`` the scheduler calls once the approval makes the step current.
- SPLP: the API, consumer, the gateway's call plan and the rate limit.
- Jaringan Intra: the analysis job the scheduler really enqueued, finished with the facts the analysis
  computes (the change rendered per device by the real templates, diffed against a running config by the
  real candidate/diff code): the rendered config and its diff with added and removed lines marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.principals import as_lab
from tests.web.portal.conftest import PDF, Served, portal_settings, running
from toolkit.actions.base import ActionResult
from toolkit.actions.network.jaringan_intra import plan_digest
from toolkit.actions.network.jaringan_models import Analysis, AnalysisFacts, AnalysisNetwork
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.network import build_change, load_inventory, render_change
from toolkit.network.candidate import affected_headers, candidate, section_diff
from toolkit.network.ios import parse_running_config
from toolkit.ports.jobs import JobState
from toolkit.web.portal.plans import diff_lines

REPO = Path(__file__).resolve().parents[3]
NETWORK = REPO / "inventory" / "network" / "example.yml"
RUNNING = """hostname sw-dinkes-01
!
vlan 1
 name default
!
interface FastEthernet0/1
 switchport mode access
 switchport access vlan 1
!
interface FastEthernet0/2
 switchport mode access
 switchport access vlan 1
!
interface GigabitEthernet0/1
 switchport mode trunk
 switchport trunk allowed vlan 1
!
end
"""


POOL = ("all:\n  children:\n    spbe_pool:\n      hosts:\n        pool-01:\n          ansible_host: 10.0.20.11\n"
        "          spbe_capacity: {vcpu: 8, ram_gb: 32, disk_gb: 500}\n")


@pytest.fixture
def planned(state_dir: Path, tmp_path: Path) -> Iterator[Served]:
    """The portal on a deployment with an Ansible inventory (one pool host) and a network inventory."""
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(POOL)
    with running(App(portal_settings(state_dir, inventory=hosts, network={"inventory": NETWORK}))) as served:
        yield served


def attachments(app: App, service_id: str) -> list[AttachmentUpload]:
    service = app.catalog.get(service_id)
    return [AttachmentUpload(name=f"{a.name}.pdf", media_type="application/pdf", content=PDF, kind=a.name)
            for a in service.requirements.attachments if "application/pdf" in a.media_types]


def plan_section(html: str) -> str:
    start = html.index('id="h-rencana"')
    return html[start:html.index('id="h-putuskan"') if 'id="h-putuskan"' in html else len(html)]


def test_pusat_data_approval_shows_the_provisioning_plan(planned: Served) -> None:
    app = planned.app
    fields = {"instansi": "BKD", "perihal": "Hosting SIMPEG", "produk": "hosting-aplikasi", "nama_aplikasi": "simpeg",
              "hostname": "simpeg-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40", "uat": "tidak",
              "kontak_email": "it@bkd.example.go.id"}
    ticket_id = desk.open_ticket(app, "pusat-data", as_lab("budi"), "Hosting SIMPEG", fields,
                                 attachments(app, "pusat-data")).id
    desk.check(app, ticket_id, as_lab("sari"))
    page = plan_section(planned.login("kadis").get(f"/persetujuan/{ticket_id}").text)
    assert "instalasi dan konfigurasi server" in page and "pratinjau" in page
    assert "<dt>Kebutuhan</dt><dd>vcpu=2, ram_gb=4, disk_gb=40</dd>" in page, page
    assert "<dt>Playbook</dt>" in page
    assert "VPN site-to-site" not in page  # skipped by the branch (produk is not vpn): not previewed
    assert app.queue.list_jobs(ticket_id=ticket_id) == []  # the page planned, it created nothing


def test_splp_approval_shows_the_api_the_gateway_plan_and_the_rate_limit(served: Served) -> None:
    fields = {"instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus",
              "kebutuhan_data": "Verifikasi NIK pasien.", "rate_limit_per_menit": "120",
              "kontak_email": "it@dinkes.example.go.id", "jenis_kredensial": "api-key"}
    ticket_id = desk.open_ticket(served.app, "splp", as_lab("andi"), "Akses API kependudukan", fields,
                                 attachments(served.app, "splp")).id
    desk.check(served.app, ticket_id, as_lab("sari"))
    page = plan_section(served.login("prov-dukcapil").get(f"/persetujuan/{ticket_id}").text)
    assert "gateway.issue_endpoint" in page
    assert "<dt>API</dt><dd>kependudukan</dd>" in page and "<dt>Konsumen</dt><dd>simpus</dd>" in page
    assert "<dt>Batas laju</dt><dd>120 permintaan per menit</dd>" in page
    assert "<dt>Panggilan ke gateway</dt>" in page


def analysis_result(ticket_id: str) -> dict[str, object]:
    """What the analysis computes for a Dinkes segment, from the real inventory, templates and diff code."""
    inventory = load_inventory(NETWORK)
    change = build_change(inventory, site="dinkes", vlan_id=120, vlan_name=ticket_id, subnet="10.20.1.0/24",
                          description=f"Tiket {ticket_id} dinkes 12 pengguna", apps=["simpeg", "dns"],
                          access_ports={"sw-dinkes-01": ["FastEthernet0/1", "FastEthernet0/2"]})
    device = "sw-dinkes-01"
    rendered = {device: render_change(change, "cisco_ios", device)}
    running = parse_running_config(RUNNING)
    diff = section_diff(running, candidate(running, rendered[device]), affected_headers(change, device), device)
    analysis = Analysis(
        site="dinkes", site_name="Dinas Kesehatan", opd="Dinas Kesehatan Provinsi Gorontalo", users=12, vlan_id=120,
        vlan_name=ticket_id, subnet="10.20.1.0/24", gateway="10.20.1.1", netmask="255.255.255.0", usable_hosts=254,
        ports={device: ["FastEthernet0/1", "FastEthernet0/2"]},
        apps=[{"id": "simpeg", "name": "SIMPEG"}, {"id": "dns", "name": "DNS Pusat Data"}],
        devices=[{"name": device, "platform": "cisco_ios", "vlans_in_use": [1]}],
        plan=change.model_dump(mode="json"), rendered=rendered, diffs={device: diff},
        plan_digest=plan_digest(change, rendered))
    facts = AnalysisFacts(network=AnalysisNetwork(analysis=analysis))
    return ActionResult(ok=True, summary="analysis", comment="Analisis kebutuhan jaringan selesai.",
                        facts=facts).model_dump(mode="json")


def test_jaringan_intra_plan_approval_shows_the_rendered_config_and_its_diff(planned: Served) -> None:
    app = planned.app
    fields = {"instansi": "Dinas Kesehatan", "lokasi": "dinkes", "jumlah_user": "12", "aplikasi": "simpeg,dns",
              "kontak_email": "it@dinkes.example.go.id"}
    ticket_id = desk.open_ticket(app, "jaringan-intra", as_lab("andi"), "Jaringan ruang staf", fields,
                                 attachments(app, "jaringan-intra")).id
    desk.check(app, ticket_id, as_lab("sari"))
    desk.approve(app, ticket_id, as_lab("kadis"), "Disetujui untuk dianalisis.")
    (job,) = app.queue.list_jobs(ticket_id=ticket_id)  # the scheduler's real job, with its real plan
    assert job.action == "network.analyse" and job.plan["request"]["site"] == "dinkes" and job.plan_digest
    claimed = app.queue.claim("uji", 60, ticket_id=ticket_id)
    assert claimed is not None and claimed.id == job.id
    assert app.queue.finish(job.id, claimed.lease_token or "", JobState.SUCCEEDED, analysis_result(ticket_id), None, [])
    html = planned.login("kadis").get(f"/persetujuan/{ticket_id}").text
    page = plan_section(html)
    assert 'id="h-putuskan"' in html  # the plan approval is the kepala dinas's decision now
    assert "Konfigurasi sw-dinkes-01" in page and "vlan 120" in page
    assert "<dt>VLAN</dt><dd>120</dd>" in page and "<dt>Subnet</dt><dd>10.20.1.0/24</dd>" in page
    assert job.plan_digest[:16] in page
    diff = app.queue.get(job.id).result["facts"]["network"]["analysis"]["diffs"]["sw-dinkes-01"]  # type: ignore[index]
    added = [line for cls, line in diff_lines(diff) if cls == "tambah"]
    assert added and all(f'<span class="tambah">{escape(line)}</span>' in page for line in added)
    assert re.search(r'<pre class="diff"[^>]*aria-label="[^"]*baris \+ ditambahkan', page)


def escape(text: str) -> str:
    from markupsafe import escape as markup_escape

    return str(markup_escape(text))
