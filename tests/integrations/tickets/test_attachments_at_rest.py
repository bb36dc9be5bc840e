"""Attachments are encrypted at rest in the embedded store (`toolkit.at_rest`, key ``settings.vault.key``).

The raw store is read byte for byte (every file under the state directory: the SQLite file, its ``-wal``
and ``-shm``, the other stores) and holds no plaintext of a canary attachment; spbe's command layer reads
it back. Also: a changed byte or a blob moved to another row is an `IntegrityError`, another key or no key a
`ConfigurationError` naming the setting (and never the key), plaintext stored by an older version is read
and sealed when the store opens with a key, and an attachment at the size limit round-trips."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from integrations.tickets.embedded import EmbeddedTicketStore
from integrations.tickets.embedded_db import _SCHEMA, SEALED_VERSION
from tests.support.attachment_samples import pdf_bytes
from tests.support.principals import as_lab
from toolkit.at_rest import MAGIC, OVERHEAD
from toolkit.bootstrap import App
from toolkit.commands import views
from toolkit.domain.tickets.models import MAX_ATTACHMENT_BYTES, AttachmentUpload, TicketDraft
from toolkit.errors import ConfigurationError, IntegrityError
from toolkit.settings import Settings, load_settings
from toolkit.vault import generate_key

CANARY = "CANARY-lampiran-5d83e1a0"
CANARY_BYTES = CANARY.encode()
PUSAT_DATA = {
    "instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
    "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
    "kontak_email": "it@dinkes.example.go.id",
}


def _approval(folder: Path) -> Path:
    """Hosting needs the application approval document too (SOP 002 step 4)."""
    path = folder / "persetujuan.pdf"
    path.write_bytes(pdf_bytes("Persetujuan aplikasi"))
    return path


def _draft(*uploads: AttachmentUpload) -> TicketDraft:
    return TicketDraft(service_id="pusat-data", title="Permohonan server aplikasi", requester="andi",
                       fields={"instansi": "Dinas Kesehatan"}, sla_variant="standar", attachments=uploads)


def _upload(name: str = "ktp.pdf", content: bytes = pdf_bytes(CANARY)) -> AttachmentUpload:
    return AttachmentUpload(name=name, media_type="application/pdf", content=content, kind="kartu_identitas")


def _files_holding(state_dir: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(state_dir)) for p in sorted(state_dir.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state")


def test_the_raw_store_holds_no_plaintext_and_spbe_reads_it_back(settings: Settings, vault_key: str) -> None:
    state_dir = Path(settings.state_dir)
    store = EmbeddedTicketStore(settings=settings)
    ticket = store.create(_draft(_upload()))
    store.attach(ticket.id, _upload("lampiran.txt", f"catatan {CANARY}\n".encode()), "sari")
    wal = state_dir / "tickets.db-wal"
    assert wal.is_file() and wal.stat().st_size > 0  # the WAL is read while it still holds the writes
    assert _files_holding(state_dir, CANARY_BYTES) == []
    assert _files_holding(state_dir, vault_key.encode()) == []  # nor the key
    assert store.read_attachment(ticket.id, "ktp.pdf") == pdf_bytes(CANARY)
    assert store.read_attachment(ticket.id, "lampiran.txt") == f"catatan {CANARY}\n".encode()
    ref = store.get(ticket.id).attachments[0]
    assert ref.size == len(pdf_bytes(CANARY))  # the ticket describes the plaintext
    store.close()
    with sqlite3.connect(state_dir / "tickets.db") as raw:
        (blob,) = raw.execute("SELECT content FROM attachments WHERE name = 'ktp.pdf'").fetchone()
        assert blob.startswith(MAGIC) and len(blob) == ref.size + OVERHEAD
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SEALED_VERSION
    assert _files_holding(state_dir, CANARY_BYTES) == []  # after the checkpoint too


def test_through_the_cli_and_the_command_layer(spbe, state_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "surat.pdf"
    source.write_bytes(pdf_bytes(CANARY))
    args = ["ticket", "open", "pusat-data", "--as", "andi", "--title", "Hosting", "--json",
            "-a", f"surat_permohonan={source}", "-a", f"dokumen_persetujuan_aplikasi={_approval(tmp_path)}"]
    for name, value in PUSAT_DATA.items():
        args += ["-f", f"{name}={value}"]
    result = spbe(*args)
    assert result.exit_code == 0, result.output
    ticket_id = json.loads(result.stdout)["id"]
    assert _files_holding(state_dir, CANARY_BYTES) == []
    app = App(load_settings(state_dir=state_dir))
    try:
        ref, content = views.attachment(app, ticket_id, "surat.pdf", as_lab("andi"))
    finally:
        app.close()
    assert content == pdf_bytes(CANARY) and ref.sha256 == hashlib.sha256(content).hexdigest()


def test_a_missing_key_refuses_the_upload_with_exit_8_and_stores_nothing(
        spbe, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SPBE_VAULT_KEY")
    source = tmp_path / "surat.pdf"
    source.write_bytes(pdf_bytes(CANARY))
    args = ["ticket", "open", "pusat-data", "--as", "andi", "--title", "Hosting", "-a", f"surat_permohonan={source}",
            "-a", f"dokumen_persetujuan_aplikasi={_approval(tmp_path)}"]
    for name, value in PUSAT_DATA.items():
        args += ["-f", f"{name}={value}"]
    result = spbe(*args, catch_exceptions=True)
    assert result.exit_code == 8, result.output
    assert "settings.vault.key" in result.stderr and "SPBE_VAULT_KEY" in result.stderr
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit | None)
    assert json.loads(spbe("ticket", "list", "--json").stdout) == []
    assert _files_holding(state_dir, CANARY_BYTES) == []


def test_another_key_is_a_configuration_error_without_either_key(settings: Settings, vault_key: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedTicketStore(settings=settings) as store:
        ticket = store.create(_draft(_upload()))
    other = generate_key()
    monkeypatch.setenv("SPBE_VAULT_KEY", other)
    with EmbeddedTicketStore(settings=settings) as store:
        assert store.get(ticket.id).attachments[0].name == "ktp.pdf"  # tickets stay readable
        with pytest.raises(ConfigurationError) as caught:
            store.read_attachment(ticket.id, "ktp.pdf")
    text = f"{caught.value} {caught.value.details}"
    assert "settings.vault.key" in text and vault_key not in text and other not in text


def test_a_changed_byte_or_a_moved_blob_is_an_integrity_error(settings: Settings) -> None:
    with EmbeddedTicketStore(settings=settings) as store:
        first = store.create(_draft(_upload()))
        second = store.create(_draft(_upload()))
    path = Path(settings.state_dir) / "tickets.db"
    with sqlite3.connect(path) as raw:
        (blob,) = raw.execute("SELECT content FROM attachments WHERE ticket_id = ?", (first.id,)).fetchone()
        raw.execute("UPDATE attachments SET content = ? WHERE ticket_id = ?", (blob, second.id))  # moved
        flipped = bytearray(blob)
        flipped[-20] ^= 0x40
        raw.execute("UPDATE attachments SET content = ? WHERE ticket_id = ?", (bytes(flipped), first.id))
    with EmbeddedTicketStore(settings=settings) as store:
        for ticket_id in (first.id, second.id):
            with pytest.raises(IntegrityError) as caught:
                store.read_attachment(ticket_id, "ktp.pdf")
            assert caught.value.exit_code == 9 and ticket_id in str(caught.value)


def _legacy_store(settings: Settings, content: bytes) -> Path:
    """A ticket file as the version before encryption wrote it: the same schema, content in clear."""
    path = Path(settings.state_dir) / "tickets.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    for statement in _SCHEMA.split(";"):
        raw.execute(statement)
    now = "2026-01-05T02:00:00+00:00"
    raw.execute("INSERT INTO tickets VALUES ('SPBE-2026-00001', 2026, 1, 'pusat-data', 'Lama', 'andi', '{}', 'open',"
                " NULL, 'standar', ?, ?)", (now, now))
    for name, data in (("ktp.pdf", content), ("magic.bin", MAGIC + b"plaintext that starts like a blob")):
        raw.execute("INSERT INTO attachments VALUES ('SPBE-2026-00001', ?, 'application/pdf', ?, ?, NULL, ?, "
                    "'andi', ?)", (name, len(data), hashlib.sha256(data).hexdigest(), data, now))
    raw.commit()
    raw.close()
    return path


def test_plaintext_of_an_older_version_is_read_and_sealed_once_a_key_is_set(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    content = pdf_bytes(CANARY) * 40  # several pages: overflow pages must not keep the plaintext either
    path = _legacy_store(settings, content)
    monkeypatch.delenv("SPBE_VAULT_KEY")
    with EmbeddedTicketStore(settings=settings) as store:  # without a key: still readable, nothing changed
        assert store.read_attachment("SPBE-2026-00001", "ktp.pdf") == content
    assert CANARY_BYTES in path.read_bytes()
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    with EmbeddedTicketStore(settings=settings) as store:
        assert store.read_attachment("SPBE-2026-00001", "ktp.pdf") == content
        assert store.read_attachment("SPBE-2026-00001", "magic.bin").startswith(MAGIC + b"plaintext")
        assert store.seal_legacy_attachments() == 0  # once per file
    assert _files_holding(Path(settings.state_dir), CANARY_BYTES) == []
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SEALED_VERSION
        blobs = [bytes(b) for (b,) in raw.execute("SELECT content FROM attachments ORDER BY name")]
    assert all(b.startswith(MAGIC) for b in blobs) and b"plaintext that starts" not in blobs[1]


def test_an_attachment_at_the_size_limit_round_trips(settings: Settings) -> None:
    content = (CANARY_BYTES + bytes(range(256))) * (MAX_ATTACHMENT_BYTES // (len(CANARY_BYTES) + 256))
    content += b"\0" * (MAX_ATTACHMENT_BYTES - len(content))
    assert len(content) == MAX_ATTACHMENT_BYTES
    with EmbeddedTicketStore(settings=settings) as store:
        ticket = store.create(_draft())
        ref = store.attach(ticket.id, _upload("arsip.bin", content), "sari")
        assert ref.size == MAX_ATTACHMENT_BYTES
        assert store.read_attachment(ticket.id, "arsip.bin") == content
        assert store.attach(ticket.id, _upload("arsip.bin", content), "sari") == ref  # a retried delivery
    assert _files_holding(Path(settings.state_dir), CANARY_BYTES) == []


def test_a_malformed_key_stops_the_upload_and_is_never_echoed(spbe, state_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               caplog: pytest.LogCaptureFixture) -> None:
    key_canary = "CANARY-kunci-salah-88e1f0c2d4"
    source = tmp_path / "surat.pdf"
    source.write_bytes(pdf_bytes(CANARY))
    args = ["-v", "ticket", "open", "pusat-data", "--as", "andi", "--title", "Hosting", "-a",
            f"surat_permohonan={source}", "-a", f"dokumen_persetujuan_aplikasi={_approval(tmp_path)}"]
    for name, value in PUSAT_DATA.items():
        args += ["-f", f"{name}={value}"]
    result = spbe(*args, env={"SPBE_VAULT_KEY": key_canary}, catch_exceptions=True)
    assert result.exit_code == 8 and "settings.vault.key" in result.stderr, result.output
    assert key_canary not in result.output and key_canary not in caplog.text
    assert _files_holding(state_dir, key_canary.encode()) == [] and _files_holding(state_dir, CANARY_BYTES) == []


def test_a_migration_cut_short_seals_the_rest_and_leaves_the_sealed_alone(settings: Settings) -> None:
    with EmbeddedTicketStore(settings=settings) as store:
        ticket = store.create(_draft(_upload()))
    path = Path(settings.state_dir) / "tickets.db"
    with sqlite3.connect(path) as raw:
        (before,) = raw.execute("SELECT content FROM attachments").fetchone()
        late = f"catatan {CANARY}".encode()
        raw.execute("INSERT INTO attachments SELECT ticket_id, 'late.txt', 'text/plain', ?, ?, NULL, ?, added_by, "
                    "added_at FROM attachments", (len(late), hashlib.sha256(late).hexdigest(), late))
        raw.execute("PRAGMA user_version = 0")
    with EmbeddedTicketStore(settings=settings) as store:
        assert store.read_attachment(ticket.id, "late.txt") == late
        assert store.read_attachment(ticket.id, "ktp.pdf") == pdf_bytes(CANARY)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT content FROM attachments WHERE name = 'ktp.pdf'").fetchone()[0] == before
    assert _files_holding(Path(settings.state_dir), CANARY_BYTES) == []
