"""SPLP end to end: a ticket from open to closed through the lab's REAL Express Gateway.

The endpoint and key are issued on the real gateway, the try-out is a real call through its proxy to
the provider backend, the key lives only in the vault (revealed once), and no comment, document, job
log or file of the state directory holds it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.support.principals import as_lab
from tests.support.signatures import sign_in_order
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload, TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.errors import PermissionDeniedError, ToolkitError
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings
from toolkit.vault import SecretVault, generate_key

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FIELDS = {
    "instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus-dinkes",
    "kebutuhan_data": "NIK dan nama pasien untuk verifikasi pendaftaran", "rate_limit_per_menit": "5",
    "kontak_email": "it@dinkes.example.go.id",
}
LETTER = AttachmentUpload(name="surat-permohonan-api.pdf", media_type="application/pdf",
                          content=b"%PDF-1.4\n% Surat permohonan API\n%%EOF\n", kind="surat_permohonan")


@pytest.fixture
def splp_settings(lab: LabState, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    return settings_for(lab, state_dir=state_dir)


def test_splp_ticket_runs_from_open_to_closed(lab: LabState, splp_settings: Settings) -> None:
    assert lab.gateway is not None, lab.warnings
    app = App(splp_settings)
    ticket = desk.open_ticket(app, "splp", as_lab("andi"), "Akses API kependudukan untuk SIMPUS", FIELDS, [LETTER])
    desk.check(app, ticket.id, as_lab("sari"))
    with pytest.raises(PermissionDeniedError, match="provider of API 'kependudukan'"):
        desk.approve(app, ticket.id, as_lab("prov-dpmptsp"), "Setuju.")  # a provider, but of another API
    desk.approve(app, ticket.id, as_lab("prov-dukcapil"), "Disetujui untuk verifikasi pasien.")
    desk.record_step(app, ticket.id, as_lab("sari"), "pengarahan-ke-tim", "Diteruskan ke Tim Pengembangan Aplikasi.")

    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("pemberian-endpoint", JobState.SUCCEEDED), ("try-out-endpoint", JobState.SUCCEEDED)], [j.error for j in jobs]
    issued = jobs[0].result["facts"]  # type: ignore[index]
    tried = jobs[1].result["facts"]  # type: ignore[index]
    assert issued["endpoint"] == f"{lab.gateway.proxy_url}/kependudukan" and issued["per_minute"] == 5
    assert (tried["status_with_key"], tried["status_without_key"]) == (200, 401)

    # The applicant gets the key once; the second reveal is refused.
    vault = SecretVault.from_settings(splp_settings, audit=app.audit, directory=app.directory)
    secret = vault.reveal(ticket.id, "api-key", as_lab("andi")).get_secret_value()
    with pytest.raises(ToolkitError):
        vault.reveal(ticket.id, "api-key", as_lab("andi"))
    headers = {"Authorization": f"apiKey {issued['key_id']}:{secret}"}
    assert requests.get(issued["endpoint"] + "/pasien", headers=headers, timeout=10).status_code == 200

    desk.record_step(app, ticket.id, as_lab("andi"), "konfirmasi-pengguna", "Endpoint sesuai kebutuhan.")
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs][-1:] == [("berita-acara-perjanjian", JobState.SUCCEEDED)]
    # Step 8: the API user, the API's provider and the team sign the agreement; the report waits for them.
    sign_in_order(app, ticket.id, "berita_acara_perjanjian_api", ["andi", "prov-dukcapil", "dewi"])
    assert [(j.step_id, j.state) for j in run_ticket(app, ticket.id)] == [("laporan-pelaksanaan", JobState.SUCCEEDED)]
    desk.close(app, ticket.id, as_lab("sari"), "Dokumen lengkap.")
    run_ticket(app, ticket.id)
    assert app.tickets.get(ticket.id).status == TicketStatus.CLOSED

    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_perjanjian_api_{ticket.id}.md").decode()
    assert "Admin API Disdukcapil" in ba and issued["masked_key"] in ba and issued["endpoint"] in ba
    # The secret appears nowhere the ticket, its documents, logs or state files can show.
    texts = [e.text for e in app.tickets.timeline(ticket.id)] + [ba]
    for job in app.queue.step_results(ticket.id).values():
        texts += [line for _, line in app.queue.logs(job.id)] + [str(job.result)]
    assert issued["masked_key"] in "\n".join(texts)
    assert all(secret not in text for text in texts)
    for path in Path(splp_settings.state_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path

    gateway = ExpressGatewayAdapter(splp_settings, **splp_settings.gateway.options)  # the lab's URLs
    assert gateway.get_consumer("simpus-dinkes") is not None
    gateway.delete_consumer("simpus-dinkes")
