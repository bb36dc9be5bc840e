"""The `Notifier` contract on every implementation (conftest.notifier): the ticket timeline and SMTP to a real
aiosmtpd sink. A notification reaches its channel, every recipient is either delivered or reported as
skipped (never silently dropped), and a channel that is down raises `UnavailableError` so the caller retries."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import NotifierHarness
from toolkit.errors import UnavailableError
from toolkit.ports.notifier import Delivery, Notification, Notifier, Recipient

SUPERVISOR = Recipient(username="kadis", name="Budi Santoso", email="kadis@diskominfo.example.go.id",
                       role="kepala-dinas")
NO_MAIL = Recipient(username="kabid", name="Kepala Bidang", role="kepala-bidang")


def _notification(harness: NotifierHarness, *recipients: Recipient, key: str = "esc:1") -> Notification:
    return Notification(ticket_id=harness.ticket_id, key=key, subject="Eskalasi: langkah melewati waktu baku",
                        body="Langkah 'Tindak lanjut laporan' melewati waktu baku 15 menit.",
                        recipients=recipients or (SUPERVISOR,), step_id="tindak-lanjut-laporan")


def test_it_is_a_notifier_with_a_channel_name(notifier: NotifierHarness) -> None:
    assert isinstance(notifier.notifier, Notifier) and notifier.notifier.channel


def test_a_notification_reaches_its_channel(notifier: NotifierHarness) -> None:
    delivery = notifier.notifier.send(_notification(notifier))
    assert isinstance(delivery, Delivery) and delivery.channel == notifier.notifier.channel
    assert delivery.delivered == ("kadis",) and delivery.skipped == ()
    assert notifier.received() == ["Eskalasi: langkah melewati waktu baku"]


def test_every_recipient_is_delivered_or_reported_skipped(notifier: NotifierHarness) -> None:
    delivery = notifier.notifier.send(_notification(notifier, SUPERVISOR, NO_MAIL))
    assert set(delivery.delivered) | set(delivery.skipped) == {"kadis", "kabid"}
    assert not set(delivery.delivered) & set(delivery.skipped)
    assert "kadis" in delivery.delivered  # a recipient every channel can reach is reached


def test_a_channel_that_is_down_raises_unavailable(notifier: NotifierHarness) -> None:
    with notifier.while_down() as down, pytest.raises(UnavailableError):
        down.send(_notification(notifier))
    assert notifier.received() == []
    notifier.notifier.send(_notification(notifier))  # and works again once it is back
    assert len(notifier.received()) == 1
