"""Signed checkpoints of the chain's head, kept where a writer of the state directory cannot reach.

A checkpoint says "the chain had ``hash`` at position ``seq`` at time ``at``", with a MAC under the
checkpoint key. The chain alone cannot show that its newest entries were removed (a shorter chain
is still a valid chain); a checkpoint of a later head can. Copies go to an append-only JSON-lines
file outside ``state_dir`` (`CheckpointFile`, after every N appends) and, from `spbe serve` and
`spbe audit checkpoint`, onto the tickets whose entries they cover (`toolkit.engine.audit_checkpoints`).

`check` compares checkpoints with the chain and words what it finds for `spbe audit verify`.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.audit.chain import AuditProblem, canonical
from toolkit.audit.keys import AuditKey
from toolkit.private_files import open_private, private_dir

_HEX64 = r"^[0-9a-f]{64}$"


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seq: int = Field(ge=0)
    hash: str = Field(pattern=_HEX64)
    at: str = Field(max_length=40)
    mac: str = Field(pattern=_HEX64)


def _message(seq: int, digest: str, at: str) -> bytes:
    return canonical({"checkpoint": "spbe-audit/v1", "seq": seq, "hash": digest, "at": at}).encode("utf-8")


def sign(key: AuditKey, seq: int, digest: str) -> Checkpoint:
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    return Checkpoint(seq=seq, hash=digest, at=at, mac=key.checkpoint_mac(_message(seq, digest, at)))


def parse(key: AuditKey, value: object) -> Checkpoint | None:
    """The checkpoint in ``value`` (a JSON text or a mapping) if its MAC is right, else None."""
    try:
        cp = Checkpoint.model_validate_json(value) if isinstance(value, str | bytes) else \
            Checkpoint.model_validate(value)
    except ValidationError:
        return None
    expected = key.checkpoint_mac(_message(cp.seq, cp.hash, cp.at))
    return cp if hmac.compare_digest(expected, cp.mac) else None


class CheckpointFile:
    """Append-only, one JSON line per checkpoint. Writing is the `AuditLog`'s (under its writer lock,
    through a descriptor opened with ``O_APPEND``); this class opens, encodes and reads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def open_append(self) -> int:
        private_dir(self.path.parent)
        return open_private(self.path, os.O_WRONLY | os.O_APPEND)

    @staticmethod
    def encode(cp: Checkpoint) -> bytes:
        return (canonical(cp.model_dump()) + "\n").encode("utf-8")

    def read(self) -> list[str] | None:
        """The lines, or None when the file does not exist."""
        try:
            return self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return None


def check(checkpoints: Iterable[Checkpoint], hashes: dict[int, str], last_seq: int, *,
          where: str, label: str, ticket_id: str | None = None) -> list[AuditProblem]:
    """Problems of valid (signed) checkpoints against the chain: one for the newest checkpoint that
    is ahead of the chain (entries were removed), one for the first of any that name a different
    hash (the chain was rewritten). ``label`` names the checkpoints' home in the message."""
    problems: list[AuditProblem] = []
    valid = list(checkpoints)
    ahead = [cp for cp in valid if cp.seq > last_seq]
    if ahead:
        top = max(ahead, key=lambda cp: cp.seq)
        problems.append(AuditProblem(
            seq=top.seq, where=where, ticket_id=ticket_id,
            problem=f"entries after {last_seq} missing: {label} has a checkpoint at #{top.seq} ({top.at})"))
    wrong = [cp for cp in valid if cp.seq <= last_seq and cp.seq > 0 and hashes.get(cp.seq) != cp.hash]
    if wrong:
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        first = wrong[0]
        what = "names an entry the chain no longer has" if first.seq not in hashes else \
            "does not match the chain's entry"
        problems.append(AuditProblem(seq=first.seq, where=where, ticket_id=ticket_id,
                                     problem=f"{label}: checkpoint #{first.seq} {what}{more}"))
    return problems


def check_lines(key: AuditKey, path: Path, lines: list[str] | None, hashes: dict[int, str], last_seq: int,
                every: int) -> tuple[list[AuditProblem], int]:
    """The checkpoint file's problems (``lines`` as read, None when it is missing) and how many
    valid checkpoints it holds. A missing or emptied file, or lines that are not signed with the
    key, are problems too."""
    label = f"checkpoint file {path}"
    if lines is None:
        missing = AuditProblem(seq=None, where="checkpoint", problem=f"{label} is missing")
        return ([missing] if last_seq else []), 0
    valid: list[Checkpoint] = []
    bad: list[int] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cp = parse(key, line)
        if cp is None:
            bad.append(number)
        else:
            valid.append(cp)
    problems: list[AuditProblem] = []
    if bad:
        problems.append(AuditProblem(seq=None, where="checkpoint", problem=(
            f"{label}: {len(bad)} line(s) unreadable or not signed with the audit key (first: line {bad[0]})")))
    if not valid and last_seq >= every:
        problems.append(AuditProblem(seq=None, where="checkpoint",
                                     problem=f"{label} holds no checkpoint for a chain of {last_seq} entries"))
    problems += check(valid, hashes, last_seq, where="checkpoint", label=label)
    return problems, len(valid)

