"""Sealing and verifying bundles on the control node (no lab): every kind of tampering is found.

Bundles here are encrypted at rest as in production (a `Sealer`); tests/evidence/test_at_rest.py covers
the encryption itself and plaintext bundles of older versions."""

from __future__ import annotations

import json
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from toolkit.at_rest import Sealer
from toolkit.audit import AuditLog
from toolkit.errors import IntegrityError, InvalidInputError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.manifest import Collector, Person, Request, SourceHost, canonical, entry_hash, sha256_bytes
from toolkit.evidence.verify import EvidenceVerification
from toolkit.evidence.verify import verify as verify_with
from toolkit.vault import generate_key


def verify(path: Path, ledger: AuditLog | None = None) -> EvidenceVerification:
    return verify_with(path, ledger, SEALER)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SEALER = Sealer(SecretStr(generate_key()))


def _seal(state: Path, name: str = "SPBE-2026-00001") -> Path:
    bundle_id, path = bundles.new_bundle(state, name, NOW)
    files = path / "files"
    (files / "volatile").mkdir()
    (files / "logs" / "var" / "log").mkdir(parents=True)
    (files / "volatile" / "processes.txt").write_text("PID CMD\n1 init\n")
    (files / "logs" / "var" / "log" / "auth.log").write_text("Nov 23 sshd: Failed password for root\n")
    digest = sha256_bytes((files / "logs" / "var" / "log" / "auth.log").read_bytes())
    bundles.seal(
        path, bundle_id=bundle_id, ticket_id=name, host=SourceHost(name="pd-app-01", address="10.0.0.2"),
        collected_at=NOW, collected_by=Person(username="rina", name="Rina", roles=("csirt",)),
        collector=Collector(node="ctl", tool="spbe", method="test"),
        request=Request(logs=("/var/log/auth.log",), hash_paths=()),
        files=[bundles.FileSpec(path="volatile/processes.txt", kind="volatile", source="ps"),
               bundles.FileSpec(path="logs/var/log/auth.log", kind="log", source="/var/log/auth.log",
                                source_sha256=digest)],
        evidence_ledger=bundles.ledger(state), sealer=SEALER)
    return path


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    return state, _seal(state)


def _kinds(state: Path, path: Path) -> set[str]:
    return {p.kind for p in verify(path, bundles.ledger(state)).problems}


def test_a_fresh_bundle_verifies_and_chains_into_the_ledger(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first, second = _seal(state), _seal(state, "SPBE-2026-00002")
    ledger = bundles.ledger(state)
    for path in (first, second):
        result = verify(path, ledger)
        assert result.ok, result.problems
        assert result.files == 2 and result.ledger_checked
    entries = ledger.entries()
    assert [e.data["bundle"] for e in entries] == [first.name, second.name]
    manifest = json.loads((second / "manifest.json").read_bytes())
    assert manifest["prev_hash"] == entries[0].hash  # the manifest is chained to the previous entry
    assert entries[1].data["manifest_sha256"] == sha256_bytes((second / "manifest.json").read_bytes())
    assert ledger.verify().ok


def test_edited_file(sealed: tuple[Path, Path]) -> None:
    state, path = sealed
    (path / "files" / "logs" / "var" / "log" / "auth.log").write_text("nothing happened\n")
    assert _kinds(state, path) == {"edited"}


def test_removed_file(sealed: tuple[Path, Path]) -> None:
    state, path = sealed
    (path / "files" / "volatile" / "processes.txt").unlink()
    assert _kinds(state, path) == {"removed"}


def test_added_file(sealed: tuple[Path, Path]) -> None:
    state, path = sealed
    (path / "files" / "volatile" / "planted.txt").write_text("x")
    assert _kinds(state, path) == {"added"}


def test_edited_manifest_even_with_its_custody_rewritten(sealed: tuple[Path, Path]) -> None:
    """The attacker edits the manifest (hiding a file's true hash) and rebuilds the custody chain so
    the bundle is self-consistent: the ledger still disagrees."""
    state, path = sealed
    log = path / "files" / "logs" / "var" / "log" / "auth.log"
    log.write_text("nothing happened\n")
    manifest = json.loads((path / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        if entry["path"].endswith("auth.log"):
            entry["sha256"] = sha256_bytes(log.read_bytes())
            entry["size"] = log.stat().st_size
    os.chmod(path / "manifest.json", 0o600)
    data = canonical(manifest)
    (path / "manifest.json").write_bytes(data)
    raw = json.loads((path / "custody.jsonl").read_text().splitlines()[0])
    raw["detail"]["manifest_sha256"] = raw["prev_hash"] = sha256_bytes(data)
    raw["hash"] = entry_hash(raw)
    (path / "custody.jsonl").write_bytes(canonical(raw) + b"\n")
    assert verify(path).ok  # without the ledger, a careful forgery holds together...
    assert _kinds(state, path) == {"manifest"}  # ...with it, it does not


def test_custody_edits_are_found(sealed: tuple[Path, Path]) -> None:
    state, path = sealed
    bundles.append_custody(path, "rina", "verified", {"ok": True})
    lines = (path / "custody.jsonl").read_text().splitlines()
    raw = json.loads(lines[1])
    raw["actor"] = "mallory"
    (path / "custody.jsonl").write_text(lines[0] + "\n" + json.dumps(raw) + "\n")
    assert _kinds(state, path) == {"custody"}


def test_packed_bundle_verifies_and_is_stable(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    state, path = sealed
    one, two = bundles.pack(path, tmp_path / "a.tar.gz", SEALER), bundles.pack(path, tmp_path / "b.tar.gz", SEALER)
    assert bundles.read_archive(one, SEALER) == bundles.read_archive(two, SEALER)
    assert verify(one, bundles.ledger(state)).ok
    export = tmp_path / "export.tar.gz"
    export.write_bytes(bundles.archive_bytes(path, SEALER))  # the archive in clear, as attached to the ticket
    assert verify_with(export, bundles.ledger(state)).ok  # verifies without the key


def test_packed_bundle_with_a_traversal_member_is_refused(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    _, path = sealed
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(path, arcname=path.name)
        info = tarfile.TarInfo(f"{path.name}/../../escape.txt")
        info.size = 0
        tar.addfile(info)
    with pytest.raises(IntegrityError, match="unsafe member"):
        verify(evil)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_sealing_refuses_undescribed_files_and_double_sealing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = _seal(state)
    with pytest.raises(Exception, match="already sealed"):
        bundles.seal(path, bundle_id=path.name, ticket_id=None, host=SourceHost(name="h", address="a"),
                     collected_at=NOW, collected_by=Person(username="r", name="R"),
                     collector=Collector(node="c", tool="t", method="m"), request=Request(logs=(), hash_paths=()),
                     files=[], evidence_ledger=bundles.ledger(state), sealer=SEALER)
    bundle_id, fresh = bundles.new_bundle(state, "T-1", NOW)
    (fresh / "files" / "stray.txt").write_text("?")
    with pytest.raises(InvalidInputError, match="did not describe"):
        bundles.seal(fresh, bundle_id=bundle_id, ticket_id="T-1", host=SourceHost(name="h", address="a"),
                     collected_at=NOW, collected_by=Person(username="r", name="R"),
                     collector=Collector(node="c", tool="t", method="m"), request=Request(logs=(), hash_paths=()),
                     files=[], evidence_ledger=bundles.ledger(state), sealer=SEALER)
    assert not (fresh / "manifest.json").exists()
