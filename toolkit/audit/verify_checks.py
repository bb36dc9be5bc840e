"""The pure checks of `AuditLog.verify`, on what it read in one snapshot: the rows (MACs, the prev_hash
chain, contiguous seq), the meta table (scheme and key id) and the signed head anchor.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.audit import checkpoints
from toolkit.audit.chain import GENESIS, AuditProblem, entry_hash
from toolkit.audit.keys import AuditKey

KEYED, UNKEYED = "hmac-sha256", "sha256"
MAX_ENTRY_PROBLEMS = 100  # a wrong key fails every entry; the first hundred say enough


def check_rows(rows: Sequence[sqlite3.Row] | Sequence[Mapping[str, Any]],
               key: AuditKey | None) -> tuple[list[AuditProblem], dict[int, str], int]:
    """Problems of the entries, each entry's hash by seq, and the last seq of the unbroken run."""
    problems: list[AuditProblem] = []
    hashes: dict[int, str] = {}
    expected_seq, expected_prev = 1, GENESIS
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            problems.append(AuditProblem(seq=seq, problem=f"entries {expected_seq}..{seq - 1} missing"))
        elif row["prev_hash"] != expected_prev:
            problems.append(AuditProblem(seq=seq, problem="prev_hash does not match the previous entry"))
        try:
            recomputed = entry_hash(seq, row["at"], row["actor"], row["action"], row["ticket_id"],
                                    json.loads(row["data"]), row["prev_hash"], key=key)
        except ValueError:
            recomputed = ""
        if recomputed != row["hash"]:
            problems.append(AuditProblem(seq=seq, problem="hash does not match content (entry edited)"))
        hashes[seq] = row["hash"]
        expected_seq, expected_prev = seq + 1, row["hash"]
    if len(problems) > MAX_ENTRY_PROBLEMS:
        rest = len(problems) - MAX_ENTRY_PROBLEMS
        problems = problems[:MAX_ENTRY_PROBLEMS] + [
            AuditProblem(seq=None, problem=f"... and {rest} more problems of entries")]
    return problems, hashes, expected_seq - 1


def check_meta(meta: dict[str, str], key: AuditKey | None) -> list[AuditProblem]:
    scheme = meta.get("scheme", UNKEYED)
    if key is None:
        return [] if scheme == UNKEYED else [AuditProblem(seq=None, where="key", problem=(
            "the log is keyed but was opened without its key (settings.audit.key)"))]
    if scheme != KEYED:
        return [AuditProblem(seq=None, where="key", problem=(
            "the log holds an unkeyed chain (written before the audit key was configured, or rewritten)"))]
    if meta.get("key_id") != key.key_id:
        return [AuditProblem(seq=None, where="key", problem=(
            f"the log was started with audit key id {meta.get('key_id')}; the configured key has id "
            f"{key.key_id} (a wrong key, or a rewritten log)"))]
    return []


def check_anchor(text: str | None, hashes: dict[int, str], last_seq: int,
                 key: AuditKey | None) -> list[AuditProblem]:
    if text is None:
        return [AuditProblem(seq=None, where="anchor", problem="head anchor is missing")] if hashes else []
    try:
        anchor = json.loads(text)
        seq, digest = int(anchor["seq"]), str(anchor["hash"])
    except (ValueError, KeyError, TypeError):
        return [AuditProblem(seq=None, where="anchor", problem="head anchor is unreadable")]
    if key is not None and checkpoints.parse(key, anchor) is None:
        return [AuditProblem(seq=None, where="anchor", problem="head anchor is not signed with the audit key")]
    if seq > last_seq:
        problem = f"entries after {last_seq} missing (head anchor is at {seq})"
        return [AuditProblem(seq=seq, where="anchor", problem=problem)]
    if hashes.get(seq) != digest:
        return [AuditProblem(seq=seq, where="anchor", problem="head anchor does not match the entry it names")]
    return []
