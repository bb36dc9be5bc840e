"""The audit log's tamper evidence, checked by tampering with the real SQLite file."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from toolkit.audit import GENESIS, AuditLog, entry_hash
from toolkit.errors import IntegrityError, InvalidInputError


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.db")
    audit.append("andi", "ticket.open", "SPBE-2026-00001", {"service": "pusat-data", "fields": ["vcpu"]})
    audit.append("sari", "ticket.check", "SPBE-2026-00001", {"step": "periksa", "result": "lengkap"})
    audit.append("kadis", "ticket.approve", "SPBE-2026-00001", {"step": "setuju", "reason": "Disetujui."})
    audit.append("engine", "job.enqueue", "SPBE-2026-00002", {"job": 7})
    return audit


def _raw(log: AuditLog, sql: str, *args: object) -> None:
    with sqlite3.connect(log.path) as raw:
        raw.execute(sql, args)
    raw.close()


def test_append_chains_and_verifies(log: AuditLog) -> None:
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    first = entries[0]
    assert first.hash == entry_hash(1, first.at.isoformat(timespec="microseconds"), "andi", "ticket.open",
                                    "SPBE-2026-00001", first.data, GENESIS)
    assert first.at.tzinfo is not None
    result = log.verify_or_raise()
    assert result.ok and result.entries == 4 and result.problems == []
    assert json.loads(log.anchor_path.read_text()) == {"seq": 4, "hash": entries[-1].hash}


def test_entries_filter_and_limit(log: AuditLog) -> None:
    latest = log.entries(ticket_id="SPBE-2026-00001", limit=2)
    assert [e.action for e in latest] == ["ticket.check", "ticket.approve"]
    assert [e.seq for e in log.entries(ticket_id="SPBE-2026-00002")] == [4]


def test_an_edited_entry_is_detected(log: AuditLog) -> None:
    _raw(log, "UPDATE audit SET data = ? WHERE seq = 3", json.dumps({"step": "setuju", "reason": "Ditunda."}))
    result = log.verify()
    assert not result.ok
    assert [(p.seq, "edited" in p.problem) for p in result.problems] == [(3, True)]
    with pytest.raises(IntegrityError, match="3: hash does not match") as info:
        log.verify_or_raise()
    assert info.value.details["problems"][0]["seq"] == 3


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(log: AuditLog) -> None:
    entry = log.entries()[1]
    forged = entry_hash(2, entry.at.isoformat(timespec="microseconds"), "kadis", entry.action,
                        entry.ticket_id, entry.data, entry.prev_hash)
    _raw(log, "UPDATE audit SET actor = 'kadis', hash = ? WHERE seq = 2", forged)
    assert [p.seq for p in log.verify().problems] == [3]


def test_a_deleted_middle_entry_is_detected(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 2")
    problems = log.verify().problems
    assert [p.seq for p in problems] == [3] and "missing" in problems[0].problem


def test_a_deleted_middle_entry_with_renumbering_is_detected(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 2")
    _raw(log, "UPDATE audit SET seq = seq - 1 WHERE seq > 2")
    assert not log.verify().ok


def test_a_deleted_last_entry_is_detected_by_the_anchor(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 4")
    problems = log.verify().problems
    assert len(problems) == 1 and problems[0].seq == 4 and "missing" in problems[0].problem


def test_an_edited_or_missing_anchor_is_detected(log: AuditLog) -> None:
    log.anchor_path.write_text(json.dumps({"seq": 3, "hash": "f" * 64}))
    assert [p.problem for p in log.verify().problems] == ["head anchor does not match the entry it names"]
    log.anchor_path.write_text("{not json")
    assert not log.verify().ok
    log.anchor_path.unlink()
    assert [p.problem for p in log.verify().problems] == ["head anchor is missing"]


def test_an_empty_log_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "a.db").verify()
    assert result.ok and result.entries == 0


def test_secret_values_are_refused_and_nothing_is_written(log: AuditLog) -> None:
    with pytest.raises(InvalidInputError, match=r"data\.params\.password"):
        log.append("engine", "job.start", None, {"params": {"password": SecretStr("rahasia")}})
    with pytest.raises(InvalidInputError):
        log.append("engine", "job.start", None, {"x": object()})
    assert len(log.entries()) == 4 and log.verify().ok


def _append_many(path: str, who: str, count: int, start_at: float) -> None:
    audit = AuditLog(Path(path))
    while time.time() < start_at:
        time.sleep(0.001)
    for n in range(count):
        audit.append(who, "test.append", None, {"n": n})
    audit.close()


def test_concurrent_appends_from_two_processes_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    AuditLog(path).append("setup", "test.start", None, {})
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5
    procs = [ctx.Process(target=_append_many, args=(str(path), who, 40, start_at)) for who in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(path)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, 82))
    assert {e.actor for e in entries[1:]} == {"p1", "p2"}
    actors = [e.actor for e in entries[1:]]
    assert any(a != b for a, b in itertools.pairwise(actors))  # they really interleaved
    assert log.verify().ok
    assert json.loads(log.anchor_path.read_text())["seq"] == 81
