"""Evidence operations a CSIRT member runs by hand (``spbe evidence ...``), with their audit trail.

Every attempt is audited, refused ones included: a request for a path outside the allowed set or a
bundle that fails verification is exactly what an investigator later wants to find in the log.
A refused request changes nothing (no playbook run, no bundle directory, no ticket event).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit.at_rest import ARTIFACT, Sealer
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, TicketStatus
from toolkit.errors import ConfigurationError, ConflictError, IntegrityError, PermissionDeniedError, ToolkitError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.collect import CollectedBundle, build_request, collect, resolve_host
from toolkit.evidence.manifest import MANIFEST, Person, sha256_bytes
from toolkit.evidence.verify import EvidenceVerification, verify
from toolkit.services import Services


def _collector(app: Services, actor: str) -> Person:
    person = app.directory.person(actor)
    collectors = app.catalog.roles.with_trait(RoleTrait.COLLECTS_EVIDENCE)
    if not person.roles & collectors:
        needed = ", ".join(sorted(collectors))
        raise PermissionDeniedError(f"{actor} may not collect evidence (needs one of: {needed})", user=actor)
    return Person(username=person.username, name=person.name, roles=tuple(sorted(person.roles)))


def collect_for_ticket(app: Services, ticket_id: str, principal: Principal, logs: Sequence[str] | None = None,
                       hash_paths: Sequence[str] | None = None, host: str | None = None) -> CollectedBundle:
    """Collect from the ticket's affected object (or ``host``), attach or reference the bundle."""
    actor = principal.user
    detail = {"logs": list(logs or []), "hash_paths": list(hash_paths or []), "host": host,
              **principal.audit_data()}
    try:
        person = _collector(app, actor)
        ticket = app.tickets.get(ticket_id)
        if ticket.status == TicketStatus.CLOSED:
            raise ConflictError(f"ticket {ticket_id} is closed; open a new report to collect evidence",
                                ticket=ticket_id)
        target = host or str(ticket.fields.get("objek_terdampak") or "")
        inventory = app.settings.effective_inventory()
        name, address = resolve_host(inventory, target)
        request = build_request(app.settings.evidence, ticket_id=ticket_id, host=name, address=address,
                                logs=logs or None, hash_paths=hash_paths or None)
        sealer = Sealer.from_settings(app.settings)  # evidence is encrypted at rest: no key, nothing collected
    except ToolkitError as exc:
        app.audit.append(actor, "evidence.refused", ticket_id, detail | {"error": app.masker(str(exc))})
        raise
    app.audit.append(actor, "evidence.collect", ticket_id, detail | {"host": name})
    result = collect(request=request, cfg=app.settings.evidence, state_dir=app.settings.state_dir,
                     playbooks_dir=app.settings.playbooks_dir, inventory=inventory, collected_by=person,
                     work_dir=app.artifacts_dir(ticket_id) / "evidence-runs",
                     timeout_s=app.settings.playbook_timeout_s, mask=app.masker, sealer=sealer)
    name = f"bukti_{result.manifest.bundle_id}.tar.gz"
    archive = bundles.pack(result.bundle_dir, app.artifacts_dir(ticket_id) / name, sealer)
    data = bundles.read_archive(archive, sealer)  # in clear: the ticket store encrypts its own copy
    digest = sha256_bytes(data)
    if len(data) <= app.settings.evidence.attach_max_bytes:
        app.tickets.attach(ticket_id, AttachmentUpload(name=archive.name, media_type="application/gzip", content=data,
                                                       kind="bukti_insiden"), actor)
        bundles.append_custody(result.bundle_dir, actor, "attached", {"ticket": ticket_id, "archive": archive.name})
        where = f"dilampirkan sebagai {archive.name}"
    else:
        bundles.append_custody(result.bundle_dir, actor, "referenced", {"ticket": ticket_id, "archive": str(archive)})
        where = f"disimpan di node kendali: {archive}"
    text = (f"Paket bukti {result.manifest.bundle_id} dari host {name} dikumpulkan oleh {person.name}: "
            f"{len(result.manifest.files)} berkas, SHA-256 manifes {result.manifest_sha256}; {where}.")
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=actor, text=text,
                                         data={"evidence": result.manifest.bundle_id,
                                               "manifest_sha256": result.manifest_sha256}))
    app.audit.append(actor, "evidence.sealed", ticket_id,
                     {"bundle": result.manifest.bundle_id, "manifest_sha256": result.manifest_sha256,
                      "archive_sha256": digest, "files": len(result.manifest.files)} | principal.audit_data())
    return result


def verify_bundle(app: Services, path: Path, principal: Principal) -> EvidenceVerification:
    """Verify against this installation's evidence ledger; raises `IntegrityError` when it fails. Files
    encrypted at rest are opened with ``settings.vault.key``; without it only a plaintext export verifies."""
    try:
        sealer: Sealer | None = Sealer.from_settings(app.settings)
    except ConfigurationError:
        sealer = None  # verify raises it, naming the setting, if an encrypted file needs the key
    result = verify(path, bundles.ledger(app.settings.state_dir), sealer)
    app.audit.append(principal.user, "evidence.verify", None,
                     {"bundle": result.bundle_id, "path": str(path), "ok": result.ok,
                      "problems": [p.model_dump() for p in result.problems]} | principal.audit_data())
    if not result.ok:
        listing = "; ".join(f"{p.kind} {p.path or ''}: {p.problem}".strip() for p in result.problems)
        raise IntegrityError(f"evidence bundle {result.bundle_id or path} does not verify: {listing}",
                             problems=[p.model_dump() for p in result.problems])
    return result


class StoredEncryption(BaseModel):
    """What `encrypt_stored` changed: bundles and files encrypted, archives and playbook records sealed, and the
    bundles it refused because their files no longer match their manifest."""

    model_config = ConfigDict(frozen=True)
    bundles: int
    files: int
    archives: int
    run_records: int
    refused: list[str]


def encrypt_stored(app: Services, principal: Principal) -> StoredEncryption:
    """Encrypt the evidence an older version kept in clear (the upgrade to encryption at rest): every sealed
    bundle's files, after their hashes check (`toolkit.evidence.bundle.seal_legacy`), the archives kept beside
    the tickets and the records of ``spbe evidence collect`` runs. Idempotent. CSIRT only; audited. A bundle
    whose files do not match its manifest is left as it is and reported (`IntegrityError`, exit 9, after the
    others were done)."""
    actor = principal.user
    try:
        _collector(app, actor)
        sealer = Sealer.from_settings(app.settings)
    except ToolkitError as exc:
        app.audit.append(actor, "evidence.encrypt_refused", None,
                         {"error": app.masker(str(exc))} | principal.audit_data())
        raise
    state_dir = Path(app.settings.state_dir)
    counts = {"bundles": 0, "files": 0, "archives": 0, "run_records": 0}
    refused = []
    for bundle_dir in sorted(p for p in bundles.evidence_root(state_dir).iterdir()
                             if p.is_dir() and (p / MANIFEST).is_file()):
        try:
            done = bundles.seal_legacy(bundle_dir, sealer, actor)
        except IntegrityError:
            refused.append(bundle_dir.name)
            continue
        counts["bundles"] += bool(done)
        counts["files"] += done
    artifacts = state_dir / "artifacts"
    if artifacts.is_dir():
        for archive in sorted(artifacts.glob("*/bukti_EV-*.tar.gz")):
            counts["archives"] += sealer.seal_file(archive, ARTIFACT)
        for runs in sorted(artifacts.glob("*/evidence-runs")):
            counts["run_records"] += sealer.seal_tree(runs)
    result = StoredEncryption(**counts, refused=refused)
    app.audit.append(actor, "evidence.encrypt", None, result.model_dump() | principal.audit_data())
    if refused:
        raise IntegrityError(f"evidence bundles whose files do not match their manifest were left unencrypted: "
                             f"{', '.join(refused)} (run 'spbe evidence verify' on them)", refused=refused)
    return result
