"""Seal, extend and pack evidence bundles (layout and hashing rules: `toolkit.evidence.manifest`).

Sealing happens on the control node right after collection: every file under ``files/`` is hashed
here (what the host reported is kept beside it as ``source_sha256``), a file nobody described is an
error rather than something silently included, and the manifest is written once, read-only.

**Encrypted at rest.** With a `Sealer` (``settings.vault.key``, `toolkit.at_rest`) every file under
``files/`` is encrypted in place right after it is hashed, bound to its bundle and path; the hashes in the
manifest stay over the *plaintext*, so the chain of custody proves the content, not an encoding of it, and
a packed ``.tar.gz`` (plaintext inside, what is attached to the ticket and handed on) verifies anywhere.
The manifest and the custody record stay readable: they say who, when and which hashes, not what. The
archive kept on the control node is sealed as a whole (`pack`); `read_archive` and `unpack` open it.
A bundle sealed before encryption existed is read as it is and encrypted by `seal_legacy`.
"""

from __future__ import annotations

import fcntl
import gzip
import io
import json
import os
import secrets
import tarfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit.at_rest import ARTIFACT, MAGIC, SETTING, Sealer, is_sealed
from toolkit.audit import AuditLog
from toolkit.errors import ConfigurationError, ConflictError, IntegrityError, InvalidInputError
from toolkit.evidence.manifest import (
    CUSTODY,
    FILES,
    MANIFEST,
    Collector,
    CustodyEntry,
    FileEntry,
    Manifest,
    Person,
    RemoteHash,
    Request,
    SourceHost,
    canonical,
    entry_hash,
    sha256_bytes,
)
from toolkit.private_files import open_private, private_dir

_CHUNK = 1024 * 1024


def evidence_root(state_dir: Path) -> Path:
    return private_dir(Path(state_dir) / "evidence")


def ledger(state_dir: Path) -> AuditLog:
    """The evidence ledger: one hash-chained entry per sealed bundle (see the manifest module)."""
    return AuditLog(evidence_root(state_dir) / "ledger.db")


def new_bundle(state_dir: Path, ticket_id: str | None, now: datetime) -> tuple[str, Path]:
    """A fresh, empty bundle directory with a unique id: ``EV-<ticket>-<UTC time>-<random>``."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    bundle_id = f"EV-{ticket_id or 'adhoc'}-{stamp}-{secrets.token_hex(3)}"
    path = evidence_root(state_dir) / bundle_id
    os.mkdir(path, 0o700)  # a fresh id: an existing directory is an error, never reused
    os.chmod(path, 0o700)
    private_dir(path / FILES)
    return bundle_id, path


def sha256_file(path: Path) -> tuple[str, int]:
    import hashlib

    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def file_context(bundle_id: str, rel: str) -> bytes:
    """What a bundle file's ciphertext is bound to: its bundle and its path (``files/...``)."""
    return b"evidence\0" + bundle_id.encode("utf-8") + b"\0" + rel.encode("utf-8")


def open_content(raw: bytes, context: bytes, sealer: Sealer | None, what: str) -> bytes:
    """Plaintext of stored evidence: as is when it was never encrypted; opened with ``sealer`` when it was
    (`IntegrityError` when altered); a `ConfigurationError` naming the setting when there is no key."""
    if not is_sealed(raw):
        return raw
    if sealer is None:
        raise ConfigurationError(f"{what} is encrypted at rest: reading it needs {SETTING} "
                                 "(the key it was encrypted with)", setting=SETTING)
    return sealer.open(raw, context, what=what)


def read_file(bundle_dir: Path, bundle_id: str, rel: str, sealer: Sealer | None) -> bytes:
    """A bundle file's plaintext (``rel``: relative to the bundle, e.g. ``files/logs/var/log/auth.log``)."""
    return open_content((bundle_dir / rel).read_bytes(), file_context(bundle_id, rel), sealer,
                        f"evidence file {rel} of {bundle_id}")


def _hash_and_seal(path: Path, context: bytes, sealer: Sealer | None) -> tuple[str, int]:
    """The plaintext's SHA-256 and size; with a sealer, the file is replaced by its ciphertext."""
    if sealer is None:
        return sha256_file(path)
    data = path.read_bytes()
    if is_sealed(data):
        raise InvalidInputError(f"{path.name} is already encrypted; evidence is sealed from the collected "
                                "plaintext", errors=[("files", path.name)])
    sealer.write_file(path, data, context, durable=False)  # as durable as the fetched plaintext was
    return sha256_bytes(data), len(data)


@dataclass(frozen=True)
class FileSpec:
    """A file the collector put under ``files/`` and what it is."""

    path: str  # relative to files/
    kind: str
    source: str
    source_sha256: str | None = None


def _on_disk(files_dir: Path) -> set[str]:
    found = set()
    for path in files_dir.rglob("*"):
        if path.is_symlink():
            raise IntegrityError(f"bundle contains a symlink: {path.relative_to(files_dir)}")
        if path.is_file():
            found.add(path.relative_to(files_dir).as_posix())
    return found


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = open_private(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def seal(
    bundle_dir: Path,
    *,
    bundle_id: str,
    ticket_id: str | None,
    host: SourceHost,
    collected_at: datetime,
    collected_by: Person,
    collector: Collector,
    request: Request,
    files: Iterable[FileSpec],
    remote_hashes: Iterable[RemoteHash] = (),
    not_collected: Iterable[RemoteHash] = (),
    evidence_ledger: AuditLog,
    sealer: Sealer | None,
) -> tuple[Manifest, str]:
    """Write the manifest and the first custody entry, and chain the bundle into the ledger; with a
    ``sealer`` (production: always) the files are encrypted as they are hashed. Returns the manifest and
    its SHA-256."""
    if (bundle_dir / MANIFEST).exists():
        raise ConflictError(f"bundle {bundle_id} is already sealed", bundle=bundle_id)
    files_dir = bundle_dir / FILES
    specs = {spec.path: spec for spec in files}
    present = _on_disk(files_dir)
    undescribed = sorted(present - set(specs))
    if undescribed:
        raise InvalidInputError(f"files in bundle {bundle_id} that the collector did not describe: {undescribed}",
                                errors=[("files", "undescribed")])
    entries = []
    for rel in sorted(specs):
        spec = specs[rel]
        if rel not in present:
            raise InvalidInputError(f"described file {rel} is not in bundle {bundle_id}", errors=[("files", rel)])
        digest, size = _hash_and_seal(files_dir / rel, file_context(bundle_id, f"{FILES}/{rel}"), sealer)
        note = None
        if spec.source_sha256 is not None and spec.source_sha256 != digest:
            note = "isi berubah antara pembacaan hash di host dan pengambilan (log aktif)"
        entries.append(FileEntry(path=f"{FILES}/{rel}", sha256=digest, size=size, kind=spec.kind,  # type: ignore[arg-type]
                                 source=spec.source, source_sha256=spec.source_sha256, note=note))
    with _locked(evidence_ledger.path.with_name("ledger.seal.lock")):
        _, head = evidence_ledger.head()
        manifest = Manifest(bundle_id=bundle_id, ticket_id=ticket_id, host=host, collected_at=collected_at,
                            sealed_at=datetime.now(UTC), collected_by=collected_by, collector=collector,
                            request=request, files=tuple(entries), remote_hashes=tuple(remote_hashes),
                            not_collected=tuple(not_collected), prev_hash=head)
        data = manifest.dump()
        digest = sha256_bytes(data)
        target = bundle_dir / MANIFEST
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400), "wb") as handle:
            handle.write(data)  # read-only from its creation: the sealed manifest is never rewritten
        entry = evidence_ledger.append(collected_by.username, "evidence.sealed", ticket_id,
                                       {"bundle": bundle_id, "manifest_sha256": digest, "files": len(entries),
                                        "host": host.name})
    append_custody(bundle_dir, collected_by.username, "sealed",
                   {"manifest_sha256": digest, "ledger_seq": entry.seq, "ledger_hash": entry.hash})
    return manifest, digest


def read_custody(bundle_dir: Path) -> list[dict[str, Any]]:
    path = bundle_dir / CUSTODY
    if not path.exists():
        return []
    raw = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw.append(json.loads(line))
        except ValueError:
            raise IntegrityError(f"custody line {number} is not JSON", line=number) from None
    return raw


def append_custody(bundle_dir: Path, actor: str, action: str, detail: dict[str, Any]) -> CustodyEntry:
    """Add one chained entry; the first one chains to the manifest's hash."""
    with _locked(bundle_dir / ".custody.lock"):
        existing = read_custody(bundle_dir)
        if existing:
            prev, seq = str(existing[-1]["hash"]), int(existing[-1]["seq"]) + 1
        else:
            prev, seq = sha256_bytes((bundle_dir / MANIFEST).read_bytes()), 1
        raw: dict[str, Any] = {"seq": seq, "at": datetime.now(UTC).isoformat(timespec="microseconds"),
                               "actor": actor, "action": action, "detail": detail, "prev_hash": prev}
        raw["hash"] = entry_hash(raw)
        with os.fdopen(open_private(bundle_dir / CUSTODY, os.O_WRONLY | os.O_APPEND), "ab") as handle:
            handle.write(canonical(raw) + b"\n")
    return CustodyEntry.model_validate(raw)


def load_manifest(bundle_dir: Path) -> tuple[Manifest, bytes]:
    data = (bundle_dir / MANIFEST).read_bytes()
    try:
        return Manifest.model_validate_json(data), data
    except ValueError as exc:
        raise IntegrityError(f"manifest of {bundle_dir.name} is not a valid manifest: {exc}") from None


# -- packing ----------------------------------------------------------------------------------
def archive_bytes(bundle_dir: Path, sealer: Sealer | None) -> bytes:
    """A tar.gz of the bundle (manifest, custody, files) with the files in clear, stable for the same
    content: sorted members, fixed owner and times, gzip header without a timestamp."""
    bundle_id = bundle_dir.name  # `new_bundle` names the directory after the bundle
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        members = sorted(p for p in bundle_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
                         and not p.is_symlink())
        for path in members:
            rel = path.relative_to(bundle_dir).as_posix()
            content = read_file(bundle_dir, bundle_id, rel, sealer)
            info = tarfile.TarInfo(f"{bundle_dir.name}/{rel}")
            info.size = len(content)
            info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = 0o400, 0, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(content))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    return packed.getvalue()


def pack(bundle_dir: Path, dest: Path, sealer: Sealer | None = None) -> Path:
    """Write the bundle's archive (`archive_bytes`) to ``dest``: sealed as a whole with a ``sealer``
    (the copy kept on the control node), plain without one (an export)."""
    data = archive_bytes(bundle_dir, sealer)
    if sealer is not None:
        return sealer.write_file(dest, data, ARTIFACT, durable=False)  # rebuilt from the bundle if lost
    with os.fdopen(open_private(dest, os.O_WRONLY | os.O_TRUNC), "wb") as raw:
        raw.write(data)
    return dest


def read_archive(archive: Path, sealer: Sealer | None) -> bytes:
    """A packed bundle's tar.gz in clear, whether it was written sealed or not."""
    return open_content(Path(archive).read_bytes(), ARTIFACT, sealer, f"evidence archive {Path(archive).name}")


def unpack(archive: Path, dest: Path, max_bytes: int = 2 * 1024 * 1024 * 1024, sealer: Sealer | None = None) -> Path:
    """Extract a packed bundle for verification, refusing anything but plain files inside one
    top-level directory (no links, devices, absolute names or ``..``). A sealed archive is opened first."""
    total = 0
    with archive.open("rb") as handle:
        sealed = is_sealed(handle.read(len(MAGIC)))
    # A plaintext archive (an export) is streamed as before; a sealed one is opened in memory (AES-GCM
    # authenticates the whole blob before it gives any of it back).
    fileobj = io.BytesIO(read_archive(archive, sealer)) if sealed else None
    with tarfile.open(None if sealed else archive, mode="r:gz", fileobj=fileobj) as tar:
        members = tar.getmembers()
        tops = {m.name.split("/", 1)[0] for m in members}
        if len(tops) != 1:
            raise IntegrityError(f"{archive.name}: expected one bundle directory, found {sorted(tops)}")
        for member in members:
            parts = member.name.split("/")
            if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                raise IntegrityError(f"{archive.name}: unsafe member {member.name!r}")
            total += member.size
            if total > max_bytes:
                raise IntegrityError(f"{archive.name}: larger than {max_bytes} bytes unpacked")
        tar.extractall(dest, members=members, filter="data")
    return dest / tops.pop()


def seal_legacy(bundle_dir: Path, sealer: Sealer, actor: str) -> int:
    """Encrypt the plaintext files of a bundle sealed before encryption existed, each only after its
    SHA-256 and size match the manifest (tampered evidence is refused, never laundered into ciphertext);
    the custody record says so (``encrypted``). Returns how many files were encrypted."""
    manifest, _ = load_manifest(bundle_dir)
    pending = []
    for entry in manifest.files:
        raw = (bundle_dir / entry.path).read_bytes()
        if is_sealed(raw):
            continue
        if sha256_bytes(raw) != entry.sha256 or len(raw) != entry.size:
            raise IntegrityError(f"evidence file {entry.path} of {manifest.bundle_id} does not match its manifest; "
                                 "not encrypted", bundle=manifest.bundle_id, path=entry.path)
        pending.append((entry.path, raw))
    for rel, raw in pending:
        sealer.write_file(bundle_dir / rel, raw, file_context(manifest.bundle_id, rel))
    if pending:
        append_custody(bundle_dir, actor, "encrypted", {"files": len(pending), "key_id": sealer.key_id.hex()})
    return len(pending)
