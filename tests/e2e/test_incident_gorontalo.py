"""Penanganan Insiden Siber (Gorontalo) end to end on the lab: a defaced Pusat Data server is reported,
verified, inspected, its evidence sealed, isolated, restored from its restic backup (the 48 h path),
checked, documented and closed, with the reporter's identity kept from everyone but the coordinator
and the CSIRT. Every playbook runs for real over SSH against the lab host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from lab.sshd import host_exec
from tests.conftest import CANARY_BACKUP_PASSWORD
from tests.support.principals import as_lab
from toolkit.actions.ansible.pusat_data_vars import BackupVars, ProvisionVars
from toolkit.actions.ansible.runner import PlaybookRun, run_playbook
from toolkit.at_rest import Sealer
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, TicketStatus
from toolkit.engine.progress import progress
from toolkit.engine.server import run_ticket
from toolkit.evidence import bundle as bundles
from toolkit.evidence.verify import verify
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

pytestmark = [pytest.mark.lab, pytest.mark.slow]
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"

REPORTER = {"pelapor_nama": "Nur Aisyah Pelapor", "pelapor_kontak": "nur.aisyah@example.go.id"}
FIELDS = REPORTER | {"instansi": "Dinas Kesehatan", "objek_terdampak": "pd-app-01", "nama_aplikasi": "simpus",
                     "deskripsi": "Halaman depan SIMPUS berubah menjadi pesan peretas.", "ada_backup": "ya",
                     "perlu_press_release": "ya"}
# Step 6: the mitigation strategy the CSIRT records before the step; its document is rendered from it.
STRATEGY = {"strategi_penahanan": "Isolasi host dari jaringan; hanya alamat manajemen CSIRT yang dibuka.",
            "strategi_pemberantasan": "Cabut akses yang tidak sah; perbaiki izin berkas situs.",
            "strategi_pemulihan": "Pulihkan aplikasi dari backup terakhir yang bersih."}
EVIDENCE = [AttachmentUpload(name="layar.png", media_type="image/png", content=b"\x89PNG\r\n", kind="tangkapan_layar"),
            AttachmentUpload(name="log.txt", media_type="text/plain", content=b"GET / 200\n", kind="log_sistem"),
            AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4\n",
                             kind="kartu_identitas")]


def _sh(lab, script: str) -> str:  # type: ignore[no-untyped-def]
    result = host_exec(lab.hosts[0].init_pid, ["sh", "-c", script])
    assert result.returncode == 0, result.stderr
    return result.stdout


def _pusat_data_server(lab, work: Path) -> None:  # type: ignore[no-untyped-def]
    """What the Pusat Data service left behind: a provisioned server with its nightly restic backup."""
    host = lab.hosts[0].name
    for playbook, extra in (
        ("provision_server.yml", ProvisionVars(ticket="SPBE-PD", target=host, hostname="simpus-app",
                                               app_name="simpus").to_extra_vars()),
        ("configure_backup.yml", BackupVars(ticket="SPBE-PD", target=host, app_name="simpus",
                                            backup_password=SecretStr(CANARY_BACKUP_PASSWORD)).to_extra_vars()),
    ):
        summary = run_playbook(PlaybookRun(playbook=PLAYBOOKS / playbook, inventory=lab.inventory,
                                           limit=host, extra_vars=extra, private_data_dir=work))
        assert summary.status == "successful", summary.failed_tasks


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One installation for the module: the second incident is the desk's second ticket."""
    return tmp_path_factory.mktemp("incident-state")


def _app(lab, state: Path) -> App:  # type: ignore[no-untyped-def]
    return App(load_settings(state_dir=state, inventory=lab.inventory,
                             containment={"management_cidrs": [f"{lab.hosts[0].root_address}/32"]}))


def _ran(app: App, ticket_id: str) -> list[tuple[str, JobState]]:
    jobs = run_ticket(app, ticket_id)
    failed = [(j.step_id, j.error) for j in jobs if j.state != JobState.SUCCEEDED]
    assert not failed, failed
    return [(j.step_id, j.state) for j in jobs]


def test_gorontalo_incident_from_report_to_close(lab, state: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _pusat_data_server(lab, tmp_path / "pd")
    original = _sh(lab, "sha256sum /srv/apps/simpus/index.html").split()[0]
    _sh(lab, "echo '<h1>HACKED</h1>' > /srv/apps/simpus/index.html && chmod 666 /srv/apps/simpus/index.html"
             " && mkdir -p /var/log/spbe && echo 'sshd: Accepted password for root from 203.0.113.9' "
             "> /var/log/spbe/auth.log")
    app = _app(lab, state)

    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs SIMPUS diretas", FIELDS, EVIDENCE)
    assert ticket.sla_variant == "dengan-backup"
    desk.assign(app, ticket.id, as_lab("sari"), "rina")  # the coordinator forwards the report to the CSIRT
    desk.approve(app, ticket.id, as_lab("sari"), "Laporan terverifikasi: tangkapan layar dan log sesuai.")
    assert _ran(app, ticket.id) == [
        ("pemeriksaan-objek", JobState.SUCCEEDED), ("pengumpulan-bukti", JobState.SUCCEEDED),
        ("laporan-insiden", JobState.SUCCEEDED), ("press-release-insiden", JobState.SUCCEEDED)]

    evidence = app.queue.step_results(ticket.id)["pengumpulan-bukti"].result["facts"]
    bundle_dir = Path(evidence["archive"]["bundle_dir"])
    assert verify(bundle_dir, bundles.ledger(app.settings.state_dir), Sealer.from_settings(app.settings)).ok
    hashes = {h["path"]: h for h in evidence["remote_hashes"]}
    assert "/etc/passwd" in hashes and hashes["/etc/passwd"]["sha256"]
    assert any(f["path"].endswith("var/log/spbe/auth.log") for f in evidence["files"])
    report = app.tickets.read_attachment(ticket.id, f"laporan_insiden_siber_{ticket.id}.md").decode()
    assert evidence["bundle_id"] in report and "Bukti Dukung Insiden" in report

    decide(app, ticket.id, as_lab("rina"), STRATEGY, "Strategi sesuai panduan penanganan insiden.")
    desk.record_step(app, ticket.id, as_lab("rina"), "strategi-mitigasi",
                     "Isolasi host, pulihkan aplikasi dari backup terakhir, cabut akses yang tidak sah.")
    assert _ran(app, ticket.id) == [("dokumen-strategi-mitigasi", JobState.SUCCEEDED),
                                    ("penanganan-insiden", JobState.SUCCEEDED),
                                    ("pemulihan-sistem", JobState.SUCCEEDED)]
    strategy = app.tickets.read_attachment(ticket.id, f"strategi_mitigasi_{ticket.id}.md").decode()
    assert STRATEGY["strategi_pemulihan"] in strategy and "Menggunakan Backup 48 jam" in strategy
    recovery = app.queue.step_results(ticket.id)["pemulihan-sistem"].result["facts"]
    assert recovery["path"] == "restore" and recovery["app"] == "simpus"
    assert _sh(lab, "sha256sum /srv/apps/simpus/index.html").split()[0] == original
    assert "HACKED" in _sh(lab, f"cat {recovery['quarantine']}/index.html")  # kept for the investigation

    decide(app, ticket.id, as_lab("rina"), {"akar_masalah": "Berkas situs dapat ditulis siapa saja (mode 666).",
                                    "rekomendasi": "Tetapkan izin berkas 644 dan pemilik aplikasi.",
                                    "rencana_pencegahan": "Pemeriksaan izin berkas otomatis setiap minggu."},
           "Hasil analisis bukti.")
    desk.record_step(app, ticket.id, as_lab("rina"), "pemastian-keberhasilan", "Situs tampil normal dari backup.")
    assert _ran(app, ticket.id) == [("press-release-keberhasilan", JobState.SUCCEEDED),
                                    ("laporan-penanganan", JobState.SUCCEEDED)]
    desk.record_step(app, ticket.id, as_lab("fajar"), "perbaikan-keamanan",
                     "Izin berkas ditetapkan 644; CMS diperbarui.")
    assert _ran(app, ticket.id) == [("verifikasi-perbaikan", JobState.SUCCEEDED),
                                    ("laporan-perbaikan", JobState.SUCCEEDED)]
    checks = {c["id"]: c["status"] for c in
              app.queue.step_results(ticket.id)["verifikasi-perbaikan"].result["facts"]["checks"]}
    assert checks == {"ssh_password_auth": "lulus", "ssh_root_login": "lulus", "nftables_active": "lulus",
                      "web_root_world_writable": "lulus", "security_updates": "tidak_dapat_diperiksa"}

    # The CSIRT lifts the isolation once the system is verified, before closing (spbe release).
    from toolkit.containment.models import ContainmentKind, ReleaseRequest
    from toolkit.containment.service import ContainmentService

    ContainmentService(app).release(ReleaseRequest(ticket_id=ticket.id, actor="rina", auth=AuthMethod.LAB_AS,
                                                   target="pd-app-01",
                                                   kind=ContainmentKind.ISOLATE_HOST, reason="Sistem pulih."))
    assert "spbe_isolation" not in _sh(lab, "nft list ruleset")

    desk.close(app, ticket.id, as_lab("sari"), "Insiden selesai ditangani.")
    assert _ran(app, ticket.id) == [("notifikasi-penyelesaian", JobState.SUCCEEDED)]
    final = app.tickets.get(ticket.id)
    state = progress(app.catalog.get("insiden-siber"), final, app.tickets.timeline(ticket.id), app.queue, app.policy)
    assert final.status == TicketStatus.CLOSED and state.finished and not state.sla.breached
    assert {a.kind for a in final.attachments} >= {
        "bukti_insiden", "laporan_insiden_siber", "press_release_insiden", "press_release_keberhasilan",
        "laporan_penanganan_insiden", "laporan_perbaikan_keamanan", "strategi_mitigasi"}
    assert app.audit.verify().ok and app.queue.outbox_pending_count() == 0
    from toolkit.audit.reconcile import verify_with_tickets  # every decision on the ticket is audited

    checked = verify_with_tickets(app.audit, app.tickets)
    # the approval, the two decisions (strategy; analysis), the release
    assert checked.ok and checked.decisions == 4, checked.problems

    # The reporter: named nowhere others read (comments, documents, job logs, results, audit), and the
    # backup password nowhere at all.
    timeline = app.tickets.timeline(ticket.id)
    texts = [e.text for e in timeline] + [app.tickets.read_attachment(ticket.id, a.name).decode("utf-8", "replace")
                                          for a in final.attachments if a.name.endswith(".md")]
    texts += [line for job in app.queue.list_jobs(ticket_id=ticket.id) for _, line in app.queue.logs(job.id)]
    texts += [str(job.result) for job in app.queue.list_jobs(ticket_id=ticket.id)]
    texts += [str(entry.data) for entry in app.audit.entries()]
    leaks = [t[:80] for t in texts if re.search(r"Nur Aisyah|nur\.aisyah|(?<![a-z])lina(?![a-z])", t)]
    assert leaks == []
    closing = next(e for e in timeline
                   if e.step_id == "notifikasi-penyelesaian" and e.kind == EventKind.STEP_COMPLETED)
    assert closing.text.startswith("Yth. Bapak/Ibu Pelapor")
    secrets = [str(p) for p in Path(app.settings.state_dir).rglob("*")
               if p.is_file() and CANARY_BACKUP_PASSWORD.encode() in p.read_bytes()]
    assert secrets == []


def test_without_a_backup_the_server_is_rebuilt_and_stays_isolated(lab, state: Path) -> None:  # type: ignore[no-untyped-def]
    """The 72 h path, on the server the first test left: CSIRT finds the backup unusable and decides so;
    the compromised copy is set aside, the server re-provisioned, and the isolation left in place."""
    _sh(lab, "echo '<h1>HACKED AGAIN</h1>' > /srv/apps/simpus/index.html")
    app = _app(lab, state)
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs SIMPUS diretas lagi",
                              FIELDS | {"perlu_press_release": "tidak"}, EVIDENCE)
    desk.assign(app, ticket.id, as_lab("sari"), "rina")
    desk.approve(app, ticket.id, as_lab("sari"), "Laporan terverifikasi.")
    assert [s for s, _ in _ran(app, ticket.id)] == ["pemeriksaan-objek", "pengumpulan-bukti", "laporan-insiden"]
    decide(app, ticket.id, as_lab("rina"), {"ada_backup": "tidak"},
           "Backup ikut dimodifikasi penyerang; tidak dipercaya.")
    state = progress(app.catalog.get("insiden-siber"), app.tickets.get(ticket.id), app.tickets.timeline(ticket.id),
                     app.queue, app.policy)
    assert state.sla.variant_id == "tanpa-backup"
    decide(app, ticket.id, as_lab("rina"), STRATEGY, "Strategi sesuai panduan penanganan insiden.")
    desk.record_step(app, ticket.id, as_lab("rina"), "strategi-mitigasi", "Isolasi lalu bangun ulang server.")
    assert _ran(app, ticket.id) == [("dokumen-strategi-mitigasi", JobState.SUCCEEDED),
                                    ("penanganan-insiden", JobState.SUCCEEDED),
                                    ("pemulihan-sistem", JobState.SUCCEEDED)]
    facts = app.queue.step_results(ticket.id)["pemulihan-sistem"].result["facts"]
    assert facts["path"] == "rebuild" and facts["rebuild"]["firewall_kept_isolated"] is True
    assert facts["rebuild"]["provision"]["hostname"] == "simpus-app"
    assert "spbe_isolation" in _sh(lab, "nft list ruleset")  # provisioning did not lift the isolation
    assert "HACKED AGAIN" in _sh(lab, f"cat {facts['quarantine']}/index.html")
    assert "HACKED" not in _sh(lab, "cat /srv/apps/simpus/index.html")
    comment = [e for e in app.tickets.timeline(ticket.id) if e.step_id == "pemulihan-sistem"][-1].text
    assert "dibangun ulang" in comment and "72 jam" in comment and "masih diisolasi" in comment
