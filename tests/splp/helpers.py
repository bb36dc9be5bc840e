"""Drive an SPLP ticket through the real engine up to the issued endpoint (steps 1-6)."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload, Ticket
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import Job

LETTER = AttachmentUpload(name="surat-permohonan-api.pdf", media_type="application/pdf",
                          content=b"%PDF-1.4\n% Surat permohonan API\n%%EOF\n", kind="surat_permohonan")


def fields(consumer: str, api: str = "kependudukan", **extra: str) -> dict[str, str]:
    return {"instansi": "Dinas Kesehatan", "api_id": api, "aplikasi_konsumen": consumer,
            "kebutuhan_data": "NIK dan nama pasien untuk verifikasi pendaftaran", "rate_limit_per_menit": "5",
            "kontak_email": "it@dinkes.example.go.id", **extra}


def approved_ticket(app: App, consumer: str, api: str = "kependudukan", **extra: str) -> Ticket:
    """Open, check, approve (by the API's provider) and route an SPLP ticket; nothing automated ran yet."""
    provider = {"kependudukan": "prov-dukcapil", "perizinan": "prov-dpmptsp"}[api]
    ticket = desk.open_ticket(app, "splp", as_lab("andi"), f"Akses API {api} untuk {consumer}",
                              fields(consumer, api, **extra), [LETTER])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab(provider), "Disetujui.")
    desk.record_step(app, ticket.id, as_lab("sari"), "pengarahan-ke-tim", "Diteruskan ke Tim Pengembangan Aplikasi.")
    return ticket


def issue(app: App, consumer: str, api: str = "kependudukan", **extra: str) -> tuple[Ticket, list[Job]]:
    ticket = approved_ticket(app, consumer, api, **extra)
    return ticket, run_ticket(app, ticket.id)


def facts(jobs: list[Job], step: str = "pemberian-endpoint") -> dict[str, Any]:
    job = next(j for j in jobs if j.step_id == step)
    assert job.result is not None, job.error
    result: dict[str, Any] = job.result["facts"]
    return result


def call(endpoint: str, key_id: str, secret: str) -> int:
    """A real call through the gateway's proxy with an Express Gateway key."""
    headers = {"Authorization": f"apiKey {key_id}:{secret}"}
    return requests.get(endpoint + "/pasien", headers=headers, timeout=10).status_code


def comments(app: App, ticket_id: str) -> list[str]:
    return [e.text for e in app.tickets.timeline(ticket_id) if str(e.kind) == "comment"]
