"""Bad input at the service desk: a clear error naming the field, a non-zero exit, nothing run,
the ticket unchanged. Driven through the real CLI on the real catalog and embedded store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOOD = {
    "instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
    "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
    "kontak_email": "it@dinkes.example.go.id",
}


@pytest.fixture
def letter(tmp_path: Path) -> Path:
    path = tmp_path / "surat.pdf"
    path.write_bytes(b"%PDF-1.4\n% surat permohonan\n%%EOF\n")
    return path


# `spbe`: the shared fixture (tests/conftest.py), spbe in-process on the test's state directory.


def _open_args(fields: dict[str, str], attach: list[str]) -> list[str]:
    args = ["ticket", "open", "pusat-data", "--as", "andi", "--title", "Hosting SIMPUS", "--json"]
    for name, value in fields.items():
        args += ["-f", f"{name}={value}"]
    for item in attach:
        args += ["-a", item]
        if item.startswith("surat_permohonan="):  # hosting also needs the application's approval (SOP 002 step 4)
            approval = Path(item.partition("=")[2]).with_name("persetujuan-aplikasi.pdf")
            approval.write_bytes(b"%PDF-1.4\n% persetujuan aplikasi\n%%EOF\n")
            args += ["-a", f"dokumen_persetujuan_aplikasi={approval}"]
    return args


def _tickets(spbe) -> list:  # type: ignore[no-untyped-def]
    result = spbe("ticket", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_unknown_service_is_refused(spbe):
    result = spbe("ticket", "open", "layanan-fiktif", "--as", "andi", "--title", "x")
    assert result.exit_code == 3
    assert "layanan-fiktif" in result.output and "pusat-data" in result.output
    assert _tickets(spbe) == []


def test_missing_attachment_is_named(spbe):
    result = spbe(*_open_args(GOOD, []))
    assert result.exit_code == 2
    assert "surat_permohonan" in result.output
    assert _tickets(spbe) == []


def test_missing_field_is_named(spbe, letter):
    fields = {k: v for k, v in GOOD.items() if k != "hostname"}
    result = spbe(*_open_args(fields, [f"surat_permohonan={letter}"]))
    assert result.exit_code == 2
    assert "'hostname'" in result.output
    assert _tickets(spbe) == []


@pytest.mark.parametrize("hostname", [
    "web01;rm -rf /", "$(id)", "web\n01", "web 01", "`id`", "a" * 300, "-web", "web_01", "../etc",
    "{{ 7*7 }}",
])
def test_malformed_hostname_is_refused(spbe, letter, hostname):
    result = spbe(*_open_args(GOOD | {"hostname": hostname}, [f"surat_permohonan={letter}"]))
    assert result.exit_code == 2, result.output
    assert "hostname" in result.output
    assert _tickets(spbe) == []


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("keterangan", "Tolong {{ config }} dijalankan", "template syntax"),
    ("keterangan", "{% for x in y %}", "template syntax"),
    ("keterangan", "x" * 5000, "keterangan"),
    ("instansi", "Dinas\nKesehatan", "newlines"),
    ("instansi", "x" * 201, "instansi"),
    ("nama_aplikasi", "../simpus", "nama_aplikasi"),
    ("vcpu", "999", "vcpu"),
    ("vcpu", "2; reboot", "vcpu"),
    ("produk", "warnet", "produk"),
    ("kontak_email", "a@b", "kontak_email"),
    ("backup", "mungkin", "backup"),
    ("bidang_baru", "x", "unknown field"),
])
def test_malformed_fields_are_refused_with_the_field_named(spbe, letter, field, value, problem):
    result = spbe(*_open_args(GOOD | {field: value}, [f"surat_permohonan={letter}"]))
    assert result.exit_code == 2, result.output
    assert field in result.output and problem in result.output
    assert _tickets(spbe) == []


def test_oversized_field_is_refused_before_validation(spbe, letter):
    result = spbe(*_open_args(GOOD | {"keterangan": "x" * 20000}, [f"surat_permohonan={letter}"]))
    assert result.exit_code == 2
    assert "too large" in result.output


def test_traversal_and_non_utf8_attachment_names_are_refused(spbe, tmp_path):
    bad_dir = tmp_path / "odd"
    bad_dir.mkdir()
    non_utf8 = os.fsdecode(bytes(bad_dir) + b"/surat\xff.pdf")
    Path(non_utf8).write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = spbe(*_open_args(GOOD, [f"surat_permohonan={non_utf8}"]))
    assert result.exit_code == 2
    assert "UTF-8" in result.output
    dotted = tmp_path / "..surat.pdf"
    dotted.write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = spbe(*_open_args(GOOD, [f"surat_permohonan={dotted}"]))
    assert result.exit_code == 2
    assert ".." in result.output
    assert _tickets(spbe) == []


def test_attachment_of_the_wrong_type_is_refused(spbe, tmp_path):
    exe = tmp_path / "surat.sh"
    exe.write_text("#!/bin/sh\n")
    result = spbe(*_open_args(GOOD, [f"surat_permohonan={exe}"]))
    assert result.exit_code == 2
    assert "application/pdf" in result.output


def _opened(spbe, letter) -> str:  # type: ignore[no-untyped-def]
    result = spbe(*_open_args(GOOD, [f"surat_permohonan={letter}"]))
    assert result.exit_code == 0, result.output
    ticket_id = json.loads(result.output)["id"]
    assert spbe("ticket", "check", ticket_id, "--as", "sari").exit_code == 0
    return ticket_id


def _timeline(spbe, ticket_id: str) -> list:  # type: ignore[no-untyped-def]
    result = spbe("ticket", "show", ticket_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["timeline"]


@pytest.mark.parametrize(("actor", "code", "needle"), [
    ("rudi", 4, "kepala-dinas"),      # a team member, not the approver
    ("sari", 4, "kepala-dinas"),      # the coordinator, not the approver
    ("andi", 4, "opened"),            # the requester
    ("orang-asing", 3, "orang-asing"),  # not in the directory at all
])
def test_approval_by_the_wrong_person_is_refused_and_changes_nothing(spbe, letter, actor, code, needle):
    ticket_id = _opened(spbe, letter)
    before = _timeline(spbe, ticket_id)
    result = spbe("ticket", "approve", ticket_id, "--as", actor, "--reason", "setuju")
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert _timeline(spbe, ticket_id) == before
    jobs = spbe("jobs", "list", "--json")
    assert json.loads(jobs.output) == []


def test_requester_who_is_also_kepala_dinas_cannot_approve_own_ticket(spbe, letter):
    result = spbe(*[a if a != "andi" else "kadis2" for a in _open_args(GOOD, [f"surat_permohonan={letter}"])])
    assert result.exit_code == 0, result.output
    ticket_id = json.loads(result.output)["id"]
    spbe("ticket", "check", ticket_id, "--as", "sari")
    result = spbe("ticket", "approve", ticket_id, "--as", "kadis2", "--reason", "setuju")
    assert result.exit_code == 4
    assert "may not decide" in result.output


def test_approve_and_defer_need_a_written_reason(spbe, letter):
    ticket_id = _opened(spbe, letter)
    before = _timeline(spbe, ticket_id)
    for verb in ("approve", "defer"):
        result = spbe("ticket", verb, ticket_id, "--as", "kadis", "--reason", "   ")
        assert result.exit_code == 2
        assert "reason" in result.output
    assert _timeline(spbe, ticket_id) == before


def test_defer_then_approve_is_recorded_with_reasons(spbe, letter):
    ticket_id = _opened(spbe, letter)
    assert spbe("ticket", "defer", ticket_id, "--as", "kadis", "--reason", "Menunggu anggaran").exit_code == 0
    shown = json.loads(spbe("ticket", "show", ticket_id, "--json").output)
    assert shown["ticket"]["status"] == "deferred"
    assert spbe("ticket", "approve", ticket_id, "--as", "kadis", "--reason", "Anggaran tersedia").exit_code == 0
    timeline = _timeline(spbe, ticket_id)
    kinds = [e["kind"] for e in timeline]
    assert "deferred" in kinds and "approved" in kinds
    texts = " ".join(e["text"] for e in timeline)
    assert "Menunggu anggaran" in texts and "Anggaran tersedia" in texts
    audit = json.loads(spbe("audit", "list", "--ticket", ticket_id, "--json").output)
    actions = [e["action"] for e in audit]
    assert actions[:4] == ["ticket.open", "ticket.check", "ticket.defer", "ticket.approve"]
    assert spbe("audit", "verify").exit_code == 0


def test_human_step_out_of_order_is_refused(spbe, letter):
    ticket_id = _opened(spbe, letter)
    result = spbe("ticket", "advance", ticket_id, "--as", "dewi", "--step", "instalasi-aplikasi", "--note", "x")
    assert result.exit_code == 5
    assert "not the current step" in result.output
    result = spbe("ticket", "close", ticket_id, "--as", "sari")
    assert result.exit_code == 5


@pytest.mark.parametrize("title", ["Hosting\nSIMPUS", "Hosting \x1b[31mSIMPUS", "Hosting {{ 7*7 }}", "x" * 201])
def test_malformed_title_is_refused(spbe, letter, title):
    args = _open_args(GOOD, [f"surat_permohonan={letter}"])
    args[args.index("--title") + 1] = title
    result = spbe(*args)
    assert result.exit_code == 2, result.output
    assert "title" in result.output
    assert _tickets(spbe) == []


def test_steps_with_their_own_command_cannot_be_recorded_by_hand(spbe, letter):
    result = spbe(*_open_args(GOOD, [f"surat_permohonan={letter}"]))
    ticket_id = json.loads(result.output)["id"]
    result = spbe("ticket", "advance", ticket_id, "--as", "sari", "--step", "pemeriksaan-kelengkapan",
                  "--note", "sudah")
    assert result.exit_code == 5 and "spbe ticket check" in result.output


def test_only_the_requester_or_staff_may_comment(spbe, letter):
    ticket_id = _opened(spbe, letter)
    assert spbe("ticket", "comment", ticket_id, "--as", "budi", "saya ikut").exit_code == 4
    assert spbe("ticket", "comment", ticket_id, "--as", "andi", "Mohon dipercepat").exit_code == 0
    assert spbe("ticket", "comment", ticket_id, "--as", "rudi", "Sedang disiapkan").exit_code == 0
    texts = [e["text"] for e in _timeline(spbe, ticket_id) if e["kind"] == "comment"]
    assert texts == ["Mohon dipercepat", "Sedang disiapkan"]


def test_a_second_approval_of_the_same_step_is_refused(spbe, letter):
    ticket_id = _opened(spbe, letter)
    assert spbe("ticket", "approve", ticket_id, "--as", "kadis", "--reason", "setuju").exit_code == 0
    result = spbe("ticket", "approve", ticket_id, "--as", "kadis", "--reason", "setuju lagi")
    assert result.exit_code == 5
    approvals = [e for e in _timeline(spbe, ticket_id) if e["kind"] == "approved"]
    assert len(approvals) == 1
