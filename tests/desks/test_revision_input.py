"""What a desk's return names as missing: read from a multi-value field or the note's bullets, matched against
the service's requirements (names, labels, the desk's own field names), never interpreted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toolkit.desks.revision_input import companion_note, labels, read_return
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Service
from toolkit.ports.desk import DeskChange

DESK_FIELDS = {"Nama host": "hostname", "Instansi": "instansi"}
AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def service() -> Service:
    return load_catalog(None).get("pusat-data")


def test_a_field_lists_labels_or_names_and_a_label_may_hold_a_comma(service: Service) -> None:
    letter = "Surat permohonan pemanfaatan Pusat Data kepada Kepala Dinas"
    vpn = "Subnet LAN lokasi instansi untuk VPN (CIDR, mis. 192.168.10.0/24)"
    read = read_return(service, DESK_FIELDS, f"{letter}, {vpn}, hostname", "Mohon dilengkapi.")
    assert read.missing == ("surat_permohonan", "vpn_subnet_lan", "hostname")
    assert read.unknown == () and read.note == "Mohon dilengkapi."


def test_a_field_item_that_is_no_requirement_is_named_not_dropped(service: Service) -> None:
    read = read_return(service, DESK_FIELDS, "hostname, $(reboot); {{ 7*7 }}", "")
    assert read.missing == ("hostname",)
    assert read.unknown == ("$(reboot); {{ 7*7 }}",)


def test_bullets_name_requirements_and_the_rest_is_the_note(service: Service) -> None:
    note = ("Berkas belum lengkap:\n- Surat permohonan\n* nama host\n- Fotokopi KTP\n- `rm -rf /`\n"
            "Mohon dilengkapi.")
    read = read_return(service, DESK_FIELDS, "", note)
    assert read.missing == ("surat_permohonan", "hostname")
    assert read.note == "Berkas belum lengkap:\n- Fotokopi KTP\n- `rm -rf /`\nMohon dilengkapi."
    assert read.unknown == ()


def test_nothing_named_is_an_empty_list_for_the_command_to_refuse(service: Service) -> None:
    read = read_return(service, DESK_FIELDS, "   ", "Kurang lengkap, tolong dicek.\n- sesuatu yang lain")
    assert read.missing == () and read.note.startswith("Kurang lengkap")
    assert "Surat permohonan pemanfaatan Pusat Data kepada Kepala Dinas" in labels(service)


def test_an_overlong_item_is_not_compared(service: Service) -> None:
    read = read_return(service, DESK_FIELDS, "", "- " + "hostname " * 40)
    assert read.missing == ()


def test_a_status_change_without_a_note_takes_its_companion_followup() -> None:
    """A status set apart from its followup (GLPI) is read with the followup written with it."""
    status = DeskChange(id="log-1", issue_key="7", at=AT, account="sari", status_from="new", status_to="waiting")
    followup = DeskChange(id="fu-2", issue_key="7", at=AT + timedelta(seconds=1), account="sari",
                          note="- Surat permohonan")
    other = DeskChange(id="fu-3", issue_key="7", at=AT, account="andi", note="- Nama host")
    late = DeskChange(id="fu-4", issue_key="7", at=AT + timedelta(minutes=5), account="sari", note="- Instansi")
    assert companion_note(status, [status, followup, other, late]) == "- Surat permohonan"
    with_note = status.model_copy(update={"note": "- Instansi"})
    assert companion_note(with_note, [with_note, followup]) == "- Instansi"
