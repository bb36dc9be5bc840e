"""The sealed record of an evidence bundle and its chain of custody.

A bundle directory holds::

    manifest.json      who, when, from where, what was asked, and the SHA-256 and size of every file
    custody.jsonl      the chain of custody: one JSON entry per line, each hashed and chained
    files/...          the evidence itself (volatile/, logs/<remote path>, hashes.json)

``manifest.json`` is written once, as canonical JSON (sorted keys, no whitespace), and never
changed; its SHA-256 is the bundle's identity. The first custody entry (``sealed``) names that
hash, later entries (``attached``, ``verified``, ``exported``) are appended. Each entry's ``hash`` is
the SHA-256 of its canonical JSON without ``hash``, and carries the previous entry's hash as
``prev_hash`` (the manifest's hash for the first), the same construction as `toolkit.audit`.

Across bundles, the manifest's ``prev_hash`` is the head of the evidence ledger (an `AuditLog` in
``<state_dir>/evidence/ledger.db``) when the bundle was sealed, and the ledger entry written then
records the manifest's hash: rewriting a manifest and re-hashing the bundle's own files still
leaves the ledger disagreeing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "spbe-evidence/1"
MANIFEST = "manifest.json"
CUSTODY = "custody.jsonl"
FILES = "files"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Frozen):
    username: str
    name: str
    roles: tuple[str, ...] = ()


class SourceHost(_Frozen):
    name: str = Field(description="inventory name")
    address: str


class Collector(_Frozen):
    node: str = Field(description="the control node's host name")
    tool: str
    method: str
    source_address: str | None = Field(default=None, description="the control node's address toward the host")


class FileEntry(_Frozen):
    path: str = Field(description="relative to the bundle, under files/")
    sha256: str
    size: int
    kind: Literal["volatile", "log", "hashes"]
    source: str = Field(description="the remote path, or the command that produced it")
    source_sha256: str | None = Field(default=None, description="as computed on the host, for logs")
    note: str | None = None


class RemoteHash(_Frozen):
    path: str
    sha256: str | None
    size: int | None = None
    mtime: float | None = None
    status: Literal["hashed", "missing", "refused"] = "hashed"
    reason: str | None = None


class Request(_Frozen):
    logs: tuple[str, ...]
    hash_paths: tuple[str, ...]


class Manifest(_Frozen):
    schema_: str = Field(default=SCHEMA, alias="schema")
    bundle_id: str
    ticket_id: str | None
    host: SourceHost
    collected_at: datetime
    sealed_at: datetime
    collected_by: Person
    collector: Collector
    request: Request
    files: tuple[FileEntry, ...]
    remote_hashes: tuple[RemoteHash, ...] = ()
    not_collected: tuple[RemoteHash, ...] = Field(default=(), description="requested logs that were missing, "
                                                  "symlinks or too large")
    prev_hash: str = Field(description="evidence ledger head when sealed")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def dump(self) -> bytes:
        return canonical(self.model_dump(mode="json", by_alias=True))


class CustodyEntry(_Frozen):
    seq: int
    at: datetime
    actor: str
    action: Literal["sealed", "attached", "referenced", "verified", "exported", "encrypted"]
    detail: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


def entry_hash(raw: dict[str, Any]) -> str:
    """The hash a custody entry must carry: over its stored JSON, ``hash`` left out."""
    return sha256_bytes(canonical({k: v for k, v in raw.items() if k != "hash"}))
