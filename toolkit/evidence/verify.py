"""`spbe evidence verify`: does a bundle still hold exactly what was sealed?

Checked, each problem reported (not just the first):
- every file the manifest lists exists with its SHA-256 and size (edited or removed files);
- nothing under the bundle that the manifest does not list (added files);
- the manifest's own SHA-256 equals what the first custody entry recorded, and what the evidence
  ledger recorded when it was sealed (an edited manifest, even with its custody rewritten);
- the custody chain: every entry's hash, ``prev_hash`` links and contiguous ``seq``;
- the ledger itself verifies (`toolkit.audit.AuditLog.verify`).
Without a ledger (a bundle copied elsewhere) the first three still hold, and the result says the
ledger was not consulted.

Files encrypted at rest (`toolkit.at_rest`) are opened with the given `Sealer` and hashed in clear, as
the manifest records them: a changed byte of the ciphertext fails authentication and is reported as
``edited``. Verifying them without the key raises `ConfigurationError` (it proves nothing either way);
a plaintext archive (an export) needs no key.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit.at_rest import Sealer
from toolkit.audit import AuditLog
from toolkit.errors import IntegrityError, NotFoundError
from toolkit.evidence.bundle import load_manifest, read_custody, read_file, unpack
from toolkit.evidence.manifest import CUSTODY, MANIFEST, entry_hash, sha256_bytes


class EvidenceProblem(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: str  # edited | removed | added | manifest | custody | ledger
    path: str | None
    problem: str


class EvidenceVerification(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    bundle_id: str | None
    manifest_sha256: str | None
    files: int
    ledger_checked: bool
    problems: list[EvidenceProblem]


def _check_files(bundle_dir: Path, bundle_id: str, listed: dict[str, tuple[str, int]],
                 sealer: Sealer | None) -> list[EvidenceProblem]:
    problems = []
    for rel, (digest, size) in sorted(listed.items()):
        path = bundle_dir / rel
        if path.is_symlink() or not path.is_file():
            problems.append(EvidenceProblem(kind="removed", path=rel, problem="listed in the manifest but missing"))
            continue
        try:
            content = read_file(bundle_dir, bundle_id, rel, sealer)
        except IntegrityError:
            problems.append(EvidenceProblem(kind="edited", path=rel,
                                            problem="encrypted content does not authenticate (altered)"))
            continue
        actual, actual_size = sha256_bytes(content), len(content)
        if actual != digest or actual_size != size:
            problems.append(EvidenceProblem(kind="edited", path=rel,
                                            problem=f"sha256 {actual[:16]}… != manifest {digest[:16]}…"))
    known = set(listed) | {MANIFEST, CUSTODY}
    for path in sorted(bundle_dir.rglob("*")):
        rel = path.relative_to(bundle_dir).as_posix()
        if path.name.startswith(".") and path.parent == bundle_dir:
            continue  # lock files
        if (path.is_file() or path.is_symlink()) and rel not in known:
            problems.append(EvidenceProblem(kind="added", path=rel, problem="not listed in the manifest"))
    return problems


def _check_custody(bundle_dir: Path, manifest_digest: str) -> tuple[list[EvidenceProblem], str | None]:
    problems = []
    try:
        entries = read_custody(bundle_dir)
    except IntegrityError as exc:
        return [EvidenceProblem(kind="custody", path=CUSTODY, problem=str(exc))], None
    if not entries:
        return [EvidenceProblem(kind="custody", path=CUSTODY, problem="no custody record")], None
    prev, sealed_digest = manifest_digest, None
    for index, raw in enumerate(entries, start=1):
        if raw.get("seq") != index:
            problems.append(EvidenceProblem(kind="custody", path=CUSTODY, problem=f"entry {index}: seq out of order"))
        if raw.get("prev_hash") != prev:
            problems.append(EvidenceProblem(kind="custody", path=CUSTODY,
                                            problem=f"entry {index}: prev_hash does not chain"))
        if entry_hash(raw) != raw.get("hash"):
            problems.append(EvidenceProblem(kind="custody", path=CUSTODY, problem=f"entry {index}: edited"))
        if index == 1:
            sealed_digest = (raw.get("detail") or {}).get("manifest_sha256")
        prev = str(raw.get("hash"))
    if sealed_digest != manifest_digest:
        problems.append(EvidenceProblem(kind="manifest", path=MANIFEST,
                                        problem="manifest sha256 differs from the one recorded when sealed"))
    return problems, sealed_digest


def _check_ledger(evidence_ledger: AuditLog, bundle_id: str, manifest_digest: str,
                  prev_hash: str) -> list[EvidenceProblem]:
    problems = []
    result = evidence_ledger.verify()
    for problem in result.problems:
        problems.append(EvidenceProblem(kind="ledger", path=None, problem=f"ledger {problem.seq}: {problem.problem}"))
    entries = [e for e in evidence_ledger.entries() if e.data.get("bundle") == bundle_id]
    if not entries:
        problems.append(EvidenceProblem(kind="ledger", path=None, problem=f"bundle {bundle_id} is not in the ledger"))
        return problems
    entry = entries[0]
    if entry.data.get("manifest_sha256") != manifest_digest:
        problems.append(EvidenceProblem(kind="manifest", path=MANIFEST,
                                        problem="manifest sha256 differs from the evidence ledger"))
    if entry.prev_hash != prev_hash:
        problems.append(EvidenceProblem(kind="manifest", path=MANIFEST,
                                        problem="manifest prev_hash does not chain to the previous ledger entry"))
    return problems


def verify_dir(bundle_dir: Path, evidence_ledger: AuditLog | None = None,
               sealer: Sealer | None = None) -> EvidenceVerification:
    if not (bundle_dir / MANIFEST).is_file():
        problem = EvidenceProblem(kind="manifest", path=MANIFEST, problem="no manifest.json: not a sealed bundle")
        return EvidenceVerification(ok=False, bundle_id=None, manifest_sha256=None, files=0, ledger_checked=False,
                                    problems=[problem])
    try:
        manifest, data = load_manifest(bundle_dir)
    except IntegrityError as exc:
        digest = sha256_bytes((bundle_dir / MANIFEST).read_bytes())
        problem = EvidenceProblem(kind="manifest", path=MANIFEST, problem=str(exc))
        return EvidenceVerification(ok=False, bundle_id=None, manifest_sha256=digest, files=0, ledger_checked=False,
                                    problems=[problem])
    digest = sha256_bytes(data)
    listed = {f.path: (f.sha256, f.size) for f in manifest.files}
    problems = _check_files(bundle_dir, manifest.bundle_id, listed, sealer)
    custody_problems, _ = _check_custody(bundle_dir, digest)
    problems += custody_problems
    if evidence_ledger is not None:
        problems += _check_ledger(evidence_ledger, manifest.bundle_id, digest, manifest.prev_hash)
    return EvidenceVerification(ok=not problems, bundle_id=manifest.bundle_id, manifest_sha256=digest,
                                files=len(listed), ledger_checked=evidence_ledger is not None, problems=problems)


def verify(path: Path, evidence_ledger: AuditLog | None = None, sealer: Sealer | None = None) -> EvidenceVerification:
    """Verify a bundle directory or a packed ``.tar.gz`` bundle (sealed or not)."""
    path = Path(path)
    if path.is_dir():
        return verify_dir(path, evidence_ledger, sealer)
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="spbe-evidence-") as scratch:
            return verify_dir(unpack(path, Path(scratch), sealer=sealer), evidence_ledger, sealer)
    raise NotFoundError(f"no bundle at {path}", path=str(path))
