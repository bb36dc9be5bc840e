"""Notices by e-mail link to the ticket's page in the portal when ``settings.portal.url`` is set."""

from __future__ import annotations

from pathlib import Path

from integrations.notify.smtp import SmtpNotifier
from toolkit.ports.notifier import Notification, Recipient
from toolkit.settings import load_settings

NOTICE = Notification(ticket_id="SPBE-2026-00007", key="SPBE-2026-00007:eskalasi", subject="Tiket terlambat",
                      body="Langkah pemeriksaan melewati batas waktu.",
                      recipients=(Recipient(username="sari", name="Sari", email="sari@example.go.id"),))


def test_the_notice_links_to_the_ticket_page(state_dir: Path) -> None:
    settings = load_settings(state_dir=state_dir, portal={"url": "https://layanan.example.go.id/"})
    message = SmtpNotifier(settings=settings).message(NOTICE)
    link = "https://layanan.example.go.id/tiket/SPBE-2026-00007"
    assert message["X-SPBE-Ticket-URL"] == link
    assert message.get_content().rstrip().endswith(f"Lihat tiket di portal: {link}")


def test_without_a_portal_url_the_notice_is_unchanged(state_dir: Path) -> None:
    message = SmtpNotifier(settings=load_settings(state_dir=state_dir)).message(NOTICE)
    assert message["X-SPBE-Ticket-URL"] is None and "portal" not in message.get_content()
