"""Evidence is encrypted at rest (`toolkit.at_rest`): no plaintext of a canary under the state directory,
the chain of custody still over the plaintext, and `spbe evidence verify` opening what it checks.

No lab: the bundle is sealed from files put where the playbook would fetch them (the collection itself,
through the playbook and the CLI, is tests/evidence/test_collect_lab.py, which also checks the raw store)."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from integrations.tickets.embedded import EmbeddedTicketStore
from toolkit.at_rest import MAGIC, Sealer
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import AttachmentUpload, TicketDraft
from toolkit.errors import IntegrityError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.manifest import Collector, Person, Request, SourceHost, sha256_bytes
from toolkit.evidence.verify import verify
from toolkit.private_files import private_dir
from toolkit.settings import Settings, load_settings
from toolkit.vault import generate_key

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CANARY = b"CANARY-bukti-71c4e09b"
LOG = b"Nov 23 03:00:01 pd-app-01 sshd[812]: Accepted password for " + CANARY + b" from 10.0.0.9\n"
PS = b"PID CMD\n1 init\n4242 /tmp/.x/" + CANARY + b" --mine\n"


def _holding(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def _seal(state: Path, sealer: Sealer | None, ticket: str = "SPBE-2026-00001") -> Path:
    bundle_id, path = bundles.new_bundle(state, ticket, NOW)
    files = path / "files"
    (files / "volatile").mkdir()
    (files / "logs" / "var" / "log").mkdir(parents=True)
    (files / "volatile" / "processes.txt").write_bytes(PS)
    (files / "logs" / "var" / "log" / "auth.log").write_bytes(LOG)
    bundles.seal(
        path, bundle_id=bundle_id, ticket_id=ticket, host=SourceHost(name="pd-app-01", address="10.0.0.2"),
        collected_at=NOW, collected_by=Person(username="rina", name="Rina", roles=("csirt",)),
        collector=Collector(node="ctl", tool="spbe", method="test"),
        request=Request(logs=("/var/log/auth.log",), hash_paths=()),
        files=[bundles.FileSpec(path="volatile/processes.txt", kind="volatile", source="ps"),
               bundles.FileSpec(path="logs/var/log/auth.log", kind="log", source="/var/log/auth.log",
                                source_sha256=sha256_bytes(LOG))],
        evidence_ledger=bundles.ledger(state), sealer=sealer)
    return path


@pytest.fixture
def sealer(vault_key: str) -> Sealer:
    return Sealer(SecretStr(vault_key))


def test_sealed_evidence_leaves_no_plaintext_in_the_state_dir(state_dir: Path, sealer: Sealer) -> None:
    """Bundle files, the archive kept beside the ticket and the ticket store's attached copy: all ciphertext;
    the manifest still records the plaintext's hashes, and spbe reads the plaintext back."""
    path = _seal(state_dir, sealer)
    manifest, _ = bundles.load_manifest(path)
    assert {f.path: f.sha256 for f in manifest.files} == {"files/logs/var/log/auth.log": sha256_bytes(LOG),
                                                          "files/volatile/processes.txt": sha256_bytes(PS)}
    assert all((path / f.path).read_bytes().startswith(MAGIC) for f in manifest.files)
    archive = bundles.pack(path, private_dir(state_dir / "artifacts") / "bukti.tar.gz", sealer)
    data = bundles.read_archive(archive, sealer)
    with EmbeddedTicketStore(settings=Settings(state_dir=state_dir)) as store:
        ticket = store.create(TicketDraft(service_id="keamanan-informasi", title="Defacement", requester="andi",
                                          fields={}, sla_variant="standar"))
        store.attach(ticket.id, AttachmentUpload(name="bukti.tar.gz", media_type="application/gzip", content=data,
                                                 kind="bukti_insiden"), "rina")
        assert _holding(state_dir, CANARY) == []  # with the WAL still holding the attachment
        assert store.read_attachment(ticket.id, "bukti.tar.gz") == data
    assert _holding(state_dir, CANARY) == []
    assert bundles.read_file(path, manifest.bundle_id, "files/logs/var/log/auth.log", sealer) == LOG
    result = verify(path, bundles.ledger(state_dir), sealer)
    assert result.ok and result.files == 2, result.problems
    assert verify(archive, bundles.ledger(state_dir), sealer).ok  # the sealed archive on the control node


def test_the_attached_archive_is_plaintext_inside_and_verifies_without_the_key(
        state_dir: Path, sealer: Sealer, tmp_path: Path) -> None:
    path = _seal(state_dir, sealer)
    export = tmp_path / "export.tar.gz"
    export.write_bytes(bundles.archive_bytes(path, sealer))
    with tarfile.open(export) as tar:
        member = tar.extractfile(f"{path.name}/files/logs/var/log/auth.log")
        assert member is not None and member.read() == LOG
    assert verify(export, bundles.ledger(state_dir)).ok  # no sealer: what CSIRT Nasional receives


def test_the_cli_verifies_and_exits_9_on_a_changed_ciphertext_byte(spbe, state_dir: Path, sealer: Sealer) -> None:  # type: ignore[no-untyped-def]
    path = _seal(state_dir, sealer)
    archive = bundles.pack(path, private_dir(state_dir / "artifacts") / "bukti.tar.gz", sealer)
    for target in (path, archive):
        result = spbe("evidence", "verify", str(target), "--as", "rina")
        assert result.exit_code == 0, result.output
    log = path / "files" / "logs" / "var" / "log" / "auth.log"
    blob = bytearray(log.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    log.write_bytes(bytes(blob))
    result = spbe("evidence", "verify", str(path), "--as", "rina", "--json", catch_exceptions=True)
    assert result.exit_code == 9, result.output
    assert "auth.log" in result.output and "does not authenticate" in result.output
    blob = bytearray(archive.read_bytes())
    blob[-5] ^= 0x01
    archive.write_bytes(bytes(blob))
    result = spbe("evidence", "verify", str(archive), "--as", "rina", catch_exceptions=True)
    assert result.exit_code == 9 and "Traceback" not in result.output, result.output


def test_without_the_key_or_with_another_verify_exits_8_naming_the_setting(
        spbe, state_dir: Path, sealer: Sealer, vault_key: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path = _seal(state_dir, sealer)
    other = generate_key()
    monkeypatch.setenv("SPBE_VAULT_KEY", other)
    result = spbe("evidence", "verify", str(path), "--as", "rina", catch_exceptions=True)
    assert result.exit_code == 8 and "settings.vault.key" in result.stderr, result.output
    assert vault_key not in result.output and other not in result.output
    monkeypatch.delenv("SPBE_VAULT_KEY")
    result = spbe("evidence", "verify", str(path), "--as", "rina", catch_exceptions=True)
    assert result.exit_code == 8 and "settings.vault.key" in result.stderr, result.output
    assert "Traceback" not in result.output
    audit = [line for p in state_dir.rglob("*") if p.is_file() for line in [p.read_bytes()]
             if vault_key.encode() in line or other.encode() in line]
    assert audit == []  # the keys are nowhere in the state directory (audit log included)


def test_a_bundle_of_an_older_version_verifies_and_is_encrypted_after_its_hashes_are_checked(
        state_dir: Path, sealer: Sealer) -> None:
    legacy = _seal(state_dir, None)  # as sealed before encryption existed
    assert verify(legacy, bundles.ledger(state_dir)).ok  # readable as it is, without a key
    assert bundles.seal_legacy(legacy, sealer, "rina") == 2
    assert bundles.seal_legacy(legacy, sealer, "rina") == 0
    assert _holding(legacy, CANARY) == []
    custody = [json.loads(line) for line in (legacy / "custody.jsonl").read_text().splitlines()]
    assert custody[-1]["action"] == "encrypted" and custody[-1]["detail"]["files"] == 2
    result = verify(legacy, bundles.ledger(state_dir), sealer)
    assert result.ok, result.problems

    tampered = _seal(state_dir, None, "SPBE-2026-00002")
    (tampered / "files" / "volatile" / "processes.txt").write_bytes(b"PID CMD\n1 init\n")
    with pytest.raises(IntegrityError, match="does not match its manifest"):
        bundles.seal_legacy(tampered, sealer, "rina")  # never laundered into ciphertext
    assert (tampered / "files" / "logs" / "var" / "log" / "auth.log").read_bytes() == LOG  # nothing half-done


def test_spbe_evidence_encrypt_upgrades_what_an_older_version_left_in_clear(spbe, state_dir: Path) -> None:  # type: ignore[no-untyped-def]
    first, tampered = _seal(state_dir, None), _seal(state_dir, None, "SPBE-2026-00002")
    archive = private_dir(state_dir / "artifacts" / "SPBE-2026-00001") / f"bukti_{first.name}.tar.gz"
    bundles.pack(first, archive)  # in clear, as the older version kept it
    runs = private_dir(state_dir / "artifacts" / "SPBE-2026-00001" / "evidence-runs" / "20261123T030000-ab12cd34")
    (runs / "stdout").write_bytes(b"TASK [Capture volatile data] " + CANARY + b"\n")
    (tampered / "files" / "volatile" / "processes.txt").write_bytes(b"PID CMD\n1 init\n")
    assert spbe("evidence", "encrypt", "--as", "andi").exit_code == 4  # not CSIRT: nothing changed
    assert CANARY in (first / "files" / "volatile" / "processes.txt").read_bytes()

    result = spbe("evidence", "encrypt", "--as", "rina", "--json", catch_exceptions=True)
    assert result.exit_code == 9 and tampered.name in result.output  # reported, after the others were done
    assert _holding(state_dir, CANARY) == [
        str((tampered / "files" / "logs" / "var" / "log" / "auth.log").relative_to(state_dir))]  # left as it was
    for target in (first, archive):
        assert spbe("evidence", "verify", str(target), "--as", "rina").exit_code == 0
    again = spbe("evidence", "encrypt", "--as", "rina", catch_exceptions=True)
    assert again.exit_code == 9
    app = App(load_settings(state_dir=state_dir))
    try:
        done = [e.data for e in app.audit.entries() if e.action == "evidence.encrypt"]
        refused = [e.actor for e in app.audit.entries() if e.action == "evidence.encrypt_refused"]
    finally:
        app.close()
    assert [(d["bundles"], d["files"], d["archives"], d["run_records"]) for d in done] == [(1, 2, 1, 1), (0, 0, 0, 0)]
    assert done[0]["refused"] == [tampered.name] and refused == ["andi"]
