"""Collect evidence from one affected host: validate the request, run the playbook, seal the bundle.

Used by the workflow action (`toolkit.actions.documents.evidence`) and by ``spbe evidence collect``.
The request is a frozen model built only from validated paths (`toolkit.evidence.paths`); the
playbook gets it as extra vars, never as command text.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, RunStatus, run_playbook
from toolkit.at_rest import Sealer
from toolkit.domain import yaml_doc
from toolkit.errors import ActionFailedError, ConfigurationError, NotFoundError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.config import EvidenceSettings
from toolkit.evidence.manifest import Collector, Manifest, Person, RemoteHash, Request, SourceHost, canonical
from toolkit.evidence.paths import check_hash_path, check_log_path
from toolkit.private_files import tighten_tree, write_private

PLAYBOOK = "collect_evidence.yml"
TOOL = "spbe 0.1"


class EvidenceRequest(BaseModel):
    """What to collect, from where; every path already checked against the allowed sets."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    host: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    address: str
    logs: tuple[str, ...]
    hash_paths: tuple[str, ...]


def build_request(cfg: EvidenceSettings, *, ticket_id: str | None, host: str, address: str,
                  logs: Iterable[str] | None = None, hash_paths: Iterable[str] | None = None) -> EvidenceRequest:
    """Raises `EvidencePathError` for the first path outside the allowed set (nothing has run yet)."""
    chosen_logs = tuple(dict.fromkeys(cfg.default_logs if logs is None else logs))
    chosen_hashes = tuple(dict.fromkeys(cfg.default_hash_paths if hash_paths is None else hash_paths))
    for path in chosen_logs:
        check_log_path(path, cfg.allowed_logs)
    for path in chosen_hashes:
        check_hash_path(path, cfg.hash_prefixes)
    return EvidenceRequest(ticket_id=ticket_id, host=host, address=address, logs=chosen_logs,
                           hash_paths=chosen_hashes)


def resolve_host(inventory: Path, name: str) -> tuple[str, str]:
    """The inventory host for an affected object: by inventory name, ``spbe_hostname`` or address.
    Returns ``(inventory name, address)``."""
    try:
        data = yaml_doc.safe_load(Path(inventory).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigurationError(f"inventory {inventory} cannot be read: {exc.strerror}") from None
    hosts: dict[str, dict[str, Any]] = {}

    def walk(group: dict[str, Any]) -> None:
        for host, host_vars in (group.get("hosts") or {}).items():
            hosts.setdefault(str(host), dict(host_vars or {}))
        for child in (group.get("children") or {}).values():
            walk(child or {})

    for group in data.values():
        walk(group or {})
    for host, host_vars in hosts.items():
        if name in (host, host_vars.get("spbe_hostname"), host_vars.get("ansible_host")):
            if host_vars.get("ansible_connection") == "local":
                continue
            return host, str(host_vars.get("ansible_host", host))
    raise NotFoundError(f"affected object '{name}' is not a host of the inventory {inventory}", host=name)


def playbook_vars(request: EvidenceRequest, files_dir: Path, cfg: EvidenceSettings) -> dict[str, Any]:
    return {"spbe_target": request.host, "spbe_ticket": request.ticket_id or "adhoc",
            "spbe_bundle_files": str(files_dir), "spbe_logs": list(request.logs),
            "spbe_hash_paths": list(request.hash_paths), "spbe_max_file_bytes": cfg.max_file_bytes,
            "spbe_max_files": cfg.max_files}


def _source_address(address: str) -> str | None:
    """The local address the kernel routes toward ``address`` (a UDP connect sends no packet)."""
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 22))
            return str(probe.getsockname()[0])
    except OSError:
        return None


class CollectedBundle(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    bundle_dir: Path
    manifest: Manifest
    manifest_sha256: str
    run: PlaybookSummary


def _remote(published: dict[str, Any], request: EvidenceRequest) -> tuple[list[bundles.FileSpec], list[RemoteHash],
                                                                         list[RemoteHash]]:
    specs: list[bundles.FileSpec] = []
    for name in published.get("volatile", []):
        specs.append(bundles.FileSpec(path=f"volatile/{name}.txt", kind="volatile",
                                      source=str(published.get("volatile_command", {}).get(name, name))))
    fetched: dict[str, Any] = published.get("fetched", {})
    for path, stat in sorted(fetched.items()):
        specs.append(bundles.FileSpec(path=f"logs{path}", kind="log", source=path,
                                      source_sha256=stat.get("checksum")))
    not_collected: list[RemoteHash] = []
    too_large = {item["key"]: item["value"] for item in published.get("too_large", [])}
    for path, stat in sorted((published.get("requested") or {}).items()):
        if not stat.get("exists"):
            not_collected.append(RemoteHash(path=path, sha256=None, status="missing", reason="tidak ada di host"))
        elif stat.get("islnk"):
            not_collected.append(RemoteHash(path=path, sha256=None, status="refused",
                                            reason="tautan simbolik, tidak diikuti"))
    for path, size in sorted(too_large.items()):
        not_collected.append(RemoteHash(path=path, sha256=None, size=int(size), status="refused",
                                        reason="melebihi batas ukuran"))
    hashes: list[RemoteHash] = []
    for path in request.hash_paths:
        stat = (published.get("hashes") or {}).get(path) or {}
        if not stat.get("exists"):
            hashes.append(RemoteHash(path=path, sha256=None, status="missing", reason="tidak ada di host"))
        elif stat.get("islnk") or not stat.get("isreg"):
            hashes.append(RemoteHash(path=path, sha256=None, status="refused",
                                     reason="bukan berkas biasa (tautan atau direktori)"))
        else:
            hashes.append(RemoteHash(path=path, sha256=stat.get("checksum"), size=stat.get("size"),
                                     mtime=stat.get("mtime")))
    return specs, hashes, not_collected


def collect(
    *,
    request: EvidenceRequest,
    cfg: EvidenceSettings,
    state_dir: Path,
    playbooks_dir: Path,
    inventory: Path,
    collected_by: Person,
    work_dir: Path,
    timeout_s: int,
    log: Callable[[str], None] = lambda _: None,
    should_cancel: Callable[[], bool] = lambda: False,
    mask: Callable[[str], str] = lambda s: s,
    sealer: Sealer | None,
) -> CollectedBundle:
    """Run the playbook and seal what it fetched. With a ``sealer`` (``settings.vault.key``; callers pass
    it, resolved before anything runs) the bundle's files are encrypted as they are sealed, and so are the
    playbook run's own records (its events echo the volatile data)."""
    started = datetime.now(UTC)
    bundle_id, bundle_dir = bundles.new_bundle(state_dir, request.ticket_id, started)
    files_dir = bundle_dir / "files"
    for sub in ("volatile", "logs"):
        (files_dir / sub).mkdir(mode=0o700)
    summary = run_playbook(
        PlaybookRun(playbook=playbooks_dir / PLAYBOOK, inventory=inventory, limit=request.host,
                    extra_vars=playbook_vars(request, files_dir, cfg), private_data_dir=work_dir,
                    timeout_s=timeout_s),
        on_line=log, should_cancel=should_cancel, mask=mask,
    )
    if sealer is not None:
        sealer.seal_tree(summary.artifact_dir.parent.parent)  # this run's private data dir only
    if summary.status != RunStatus.SUCCESSFUL:
        failed = "; ".join(f"{t.task}: {t.msg}" for t in summary.failed_tasks) or summary.status
        raise ActionFailedError(f"evidence collection on {request.host} failed: {failed}", host=request.host,
                                bundle=bundle_id)
    published = ((summary.stats.get("spbe") or {}).get("evidence") or {}).get(request.host)
    if not published:
        raise ActionFailedError(f"evidence playbook published nothing for {request.host}", host=request.host)
    specs, hashes, not_collected = _remote(published, request)
    tighten_tree(bundle_dir)  # the playbook fetched the files with the controller's umask
    hashes_file = files_dir / "hashes.json"
    write_private(hashes_file, canonical([h.model_dump(mode="json") for h in hashes]) + b"\n")
    specs.append(bundles.FileSpec(path="hashes.json", kind="hashes", source="sha256 di host (ansible stat)"))
    manifest, digest = bundles.seal(
        bundle_dir, bundle_id=bundle_id, ticket_id=request.ticket_id,
        host=SourceHost(name=request.host, address=request.address), collected_at=started,
        collected_by=collected_by,
        collector=Collector(node=socket.gethostname(), tool=TOOL, source_address=_source_address(request.address),
                            method=f"ansible-playbook {PLAYBOOK} over SSH (become root), fetch with checksum"),
        request=Request(logs=request.logs, hash_paths=request.hash_paths), files=specs,
        remote_hashes=hashes, not_collected=not_collected, evidence_ledger=bundles.ledger(state_dir),
        sealer=sealer,
    )
    return CollectedBundle(bundle_dir=bundle_dir, manifest=manifest, manifest_sha256=digest, run=summary)
