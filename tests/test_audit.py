"""The audit log's tamper evidence, checked by tampering with the real SQLite file, the head anchor
and the checkpoint file, as someone who can write the state directory but does not hold the key."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from toolkit.audit import GENESIS, AuditKey, AuditLog, entry_hash, generate_key
from toolkit.audit import checkpoints as cps
from toolkit.errors import ConfigurationError, IntegrityError, InvalidInputError

TICKET = "SPBE-2026-00001"


def _key() -> AuditKey:
    return AuditKey.parse(SecretStr(generate_key()))


@pytest.fixture
def key() -> AuditKey:
    return _key()


@pytest.fixture
def checkpoint_file(tmp_path: Path) -> Path:
    return tmp_path / "elsewhere" / "checkpoints.jsonl"


@pytest.fixture
def log(tmp_path: Path, key: AuditKey, checkpoint_file: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.db", key=key, checkpoint_file=checkpoint_file)
    audit.append("andi", "ticket.open", TICKET, {"service": "pusat-data", "fields": ["vcpu"]})
    audit.append("sari", "ticket.check", TICKET, {"step": "periksa", "result": "lengkap"})
    audit.append("kadis", "ticket.approve", TICKET, {"step": "setuju", "reason": "Disetujui."})
    audit.append("engine", "job.enqueue", "SPBE-2026-00002", {"job": 7})
    return audit


def _raw(log: AuditLog, sql: str, *args: object) -> None:
    with sqlite3.connect(log.path) as raw:
        raw.execute(sql, args)
    raw.close()


def _rehash(log: AuditLog, start: int, key: AuditKey | None) -> tuple[int, str]:
    """What an attacker does after editing rows: recompute every hash from ``start`` on with the
    hash they can compute (plain SHA-256, or HMAC under a key of their own), so every link holds."""
    with sqlite3.connect(log.path) as raw:
        raw.row_factory = sqlite3.Row
        rows = raw.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        prev = GENESIS
        for row in rows:
            if row["seq"] >= start:
                digest = entry_hash(row["seq"], row["at"], row["actor"], row["action"], row["ticket_id"],
                                    json.loads(row["data"]), prev, key=key)
                raw.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row["seq"]))
                prev = digest
            else:
                prev = row["hash"]
    raw.close()
    return rows[-1]["seq"], prev


def _write_head(log: AuditLog, value: dict[str, object]) -> None:
    log.anchor_path.write_text(json.dumps(value))


def test_append_chains_and_verifies(log: AuditLog, key: AuditKey, checkpoint_file: Path) -> None:
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    first = entries[0]
    assert first.hash == entry_hash(1, first.at.isoformat(timespec="microseconds"), "andi", "ticket.open",
                                    TICKET, first.data, GENESIS, key=key)
    assert first.hash != entry_hash(1, first.at.isoformat(timespec="microseconds"), "andi", "ticket.open",
                                    TICKET, first.data, GENESIS, key=None)  # keyed, not plain SHA-256
    assert first.at.tzinfo is not None
    result = log.verify_or_raise()
    assert result.ok and result.entries == 4 and result.problems == [] and result.checkpoints == 4
    anchor = cps.parse(key, log.anchor_path.read_text().strip())
    assert anchor is not None and (anchor.seq, anchor.hash) == (4, entries[-1].hash)
    lines = checkpoint_file.read_text().splitlines()
    assert [cps.parse(key, line).seq for line in lines] == [1, 2, 3, 4]  # type: ignore[union-attr]
    assert checkpoint_file.stat().st_mode & 0o777 == 0o600


def test_entries_filter_and_limit(log: AuditLog) -> None:
    latest = log.entries(ticket_id=TICKET, limit=2)
    assert [e.action for e in latest] == ["ticket.check", "ticket.approve"]
    assert [e.seq for e in log.entries(ticket_id="SPBE-2026-00002")] == [4]
    assert [e.seq for e in log.entries(after=2)] == [3, 4]


def test_an_edited_entry_is_detected(log: AuditLog) -> None:
    _raw(log, "UPDATE audit SET data = ? WHERE seq = 3", json.dumps({"step": "setuju", "reason": "Ditunda."}))
    result = log.verify()
    assert not result.ok
    assert [(p.seq, "edited" in p.problem) for p in result.problems] == [(3, True)]
    with pytest.raises(IntegrityError, match="3: hash does not match") as info:
        log.verify_or_raise()
    assert info.value.details["problems"][0]["seq"] == 3


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(log: AuditLog, key: AuditKey) -> None:
    """Even someone holding the key who re-signs one entry but not the rest breaks the chain."""
    entry = log.entries()[1]
    forged = entry_hash(2, entry.at.isoformat(timespec="microseconds"), "kadis", entry.action,
                        entry.ticket_id, entry.data, entry.prev_hash, key=key)
    _raw(log, "UPDATE audit SET actor = 'kadis', hash = ? WHERE seq = 2", forged)
    assert [(p.where, p.seq) for p in log.verify().problems] == [("chain", 3), ("checkpoint", 2)]


def test_a_changed_approver_rehashed_with_plain_sha256_is_detected(log: AuditLog) -> None:
    """The attack the unkeyed chain let through: change who approved, re-hash every entry from there
    with SHA-256 and rewrite the head beside the database; every link is consistent again."""
    _raw(log, "UPDATE audit SET actor = 'sari' WHERE seq = 3")
    seq, head = _rehash(log, 3, key=None)
    _write_head(log, {"seq": seq, "hash": head})
    problems = log.verify().problems
    assert [(p.where, p.seq) for p in problems if "edited" in p.problem] == [("chain", 3), ("chain", 4)]
    assert any(p.where == "anchor" and "not signed" in p.problem for p in problems)
    assert any(p.where == "checkpoint" and p.seq == 3 and "does not match" in p.problem for p in problems)


def test_a_chain_rehashed_under_a_wrong_key_is_detected(log: AuditLog, checkpoint_file: Path) -> None:
    """An attacker with a key of their own re-signs everything, the anchor and the checkpoint file too."""
    wrong = _key()
    _raw(log, "UPDATE audit SET actor = 'sari' WHERE seq = 3")
    seq, head = _rehash(log, 1, key=wrong)
    _write_head(log, cps.sign(wrong, seq, head).model_dump())
    checkpoint_file.write_text(cps.CheckpointFile.encode(cps.sign(wrong, seq, head)).decode())
    problems = log.verify().problems
    assert [p.seq for p in problems if p.where == "chain"] == [1, 2, 3, 4]
    assert any(p.where == "anchor" and "not signed" in p.problem for p in problems)
    assert any(p.where == "checkpoint" and "not signed with the audit key" in p.problem for p in problems)


def test_a_deleted_middle_entry_is_detected(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 2")
    problems = log.verify().problems
    assert [(p.where, p.seq) for p in problems] == [("chain", 3), ("checkpoint", 2)]
    assert "missing" in problems[0].problem and "no longer has" in problems[1].problem


def test_a_deleted_middle_entry_with_renumbering_is_detected(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 2")
    _raw(log, "UPDATE audit SET seq = seq - 1 WHERE seq > 2")
    assert not log.verify().ok


def test_an_inserted_entry_is_detected(log: AuditLog) -> None:
    """A row slipped in between approval and enqueue, renumbered and linked, without the key."""
    entries = log.entries()
    _raw(log, "UPDATE audit SET seq = seq + 10 WHERE seq >= 3")
    _raw(log, "UPDATE audit SET seq = seq - 9 WHERE seq >= 13")
    at = entries[1].at.isoformat(timespec="microseconds")
    forged = entry_hash(3, at, "kadis", "ticket.approve", TICKET, {"step": "lain"}, entries[1].hash, key=None)
    _raw(log, "INSERT INTO audit VALUES (3, ?, 'kadis', 'ticket.approve', ?, ?, ?, ?)",
         at, TICKET, json.dumps({"step": "lain"}), entries[1].hash, forged)
    problems = log.verify().problems
    assert (3, "hash does not match content (entry edited)") in [(p.seq, p.problem) for p in problems]
    assert {p.seq for p in problems if p.where == "chain"} == {3, 4, 5}  # the forgery and every moved entry


def test_a_deleted_last_entry_is_detected_by_the_anchor_and_the_checkpoints(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq = 4")
    problems = log.verify().problems
    assert {p.where for p in problems} == {"anchor", "checkpoint"}
    assert all(p.seq == 4 and "missing" in p.problem for p in problems)


def test_deleted_last_entries_with_a_rewritten_head_are_detected_by_the_checkpoint_file(log: AuditLog) -> None:
    _raw(log, "DELETE FROM audit WHERE seq >= 3")
    _write_head(log, {"seq": 2, "hash": log.entries()[-1].hash})
    problems = log.verify().problems
    assert [(p.where, p.seq) for p in problems if "missing" in p.problem] == [("checkpoint", 4)]
    assert any(p.where == "anchor" and "not signed" in p.problem for p in problems)


def test_an_edited_or_missing_anchor_is_detected(log: AuditLog, key: AuditKey) -> None:
    _write_head(log, {"seq": 3, "hash": "f" * 64})
    assert [p.problem for p in log.verify().problems] == ["head anchor is not signed with the audit key"]
    _write_head(log, cps.sign(key, 3, "f" * 64).model_dump())  # signed, but not what the chain says
    assert [p.problem for p in log.verify().problems] == ["head anchor does not match the entry it names"]
    log.anchor_path.write_text("{not json")
    assert not log.verify().ok
    log.anchor_path.unlink()
    assert [p.problem for p in log.verify().problems] == ["head anchor is missing"]


def test_a_missing_emptied_or_forged_checkpoint_file_is_detected(log: AuditLog, checkpoint_file: Path) -> None:
    checkpoint_file.write_text("")
    assert [p.where for p in log.verify().problems] == ["checkpoint"]
    checkpoint_file.write_text(json.dumps({"seq": 9, "hash": "a" * 64, "at": "2026-01-01T00:00:00", "mac": "b" * 64}))
    assert any("not signed" in p.problem for p in log.verify().problems)
    checkpoint_file.unlink()
    assert [p.problem for p in log.verify().problems] == [f"checkpoint file {checkpoint_file} is missing"]


def test_checkpoints_every_n_entries_and_on_demand(tmp_path: Path, key: AuditKey, checkpoint_file: Path) -> None:
    audit = AuditLog(tmp_path / "a.db", key=key, checkpoint_file=checkpoint_file, checkpoint_every=2)
    for n in range(5):
        audit.append("engine", "test.append", None, {"n": n})
    assert [cps.parse(key, line).seq for line in checkpoint_file.read_text().splitlines()] == [2, 4]  # type: ignore[union-attr]
    cp = audit.checkpoint()
    assert cp.seq == 5 and cps.parse(key, checkpoint_file.read_text().splitlines()[-1]) == cp
    assert audit.verify().ok


def test_the_key_guards_appends(tmp_path: Path, key: AuditKey, checkpoint_file: Path) -> None:
    """Honest mistakes are refused before they break the chain: another key, no key, an unkeyed chain."""
    path = tmp_path / "audit.db"
    AuditLog(path, key=key).append("andi", "ticket.open", TICKET, {})
    with pytest.raises(ConfigurationError, match="not the key audit log"):
        AuditLog(path, key=_key()).append("andi", "ticket.open", TICKET, {})
    with pytest.raises(ConfigurationError, match="is keyed"):
        AuditLog(path).append("andi", "ticket.open", TICKET, {})
    assert [p.where for p in AuditLog(path, key=_key()).verify().problems][:2] == ["key", "chain"]
    legacy = tmp_path / "legacy.db"
    AuditLog(legacy).append("andi", "ticket.open", TICKET, {})
    with pytest.raises(ConfigurationError, match="unkeyed"):
        AuditLog(legacy, key=key).check_writable()
    assert AuditLog(path, key=key).verify().ok
    with pytest.raises(ConfigurationError, match="checkpoint"):
        AuditLog(tmp_path / "b.db", checkpoint_file=checkpoint_file)


def test_the_key_never_shows(key: AuditKey, log: AuditLog, tmp_path: Path) -> None:
    secret = generate_key()
    parsed = AuditKey.parse(SecretStr(secret))
    assert secret not in repr(parsed) and parsed.key_id in repr(parsed)
    with pytest.raises(ConfigurationError) as info:
        AuditKey.parse(SecretStr("too-short-" + secret[:8]))
    assert secret[:8] not in str(info.value) and "spbe audit keygen" in str(info.value)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(parsed)
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in stored


def test_an_empty_log_verifies(tmp_path: Path, key: AuditKey, checkpoint_file: Path) -> None:
    result = AuditLog(tmp_path / "a.db", key=key, checkpoint_file=checkpoint_file).verify()
    assert result.ok and result.entries == 0


def test_secret_values_are_refused_and_nothing_is_written(log: AuditLog) -> None:
    with pytest.raises(InvalidInputError, match=r"data\.params\.password"):
        log.append("engine", "job.start", None, {"params": {"password": SecretStr("rahasia")}})
    with pytest.raises(InvalidInputError):
        log.append("engine", "job.start", None, {"x": object()})
    assert len(log.entries()) == 4 and log.verify().ok


def _append_many(path: str, secret: str, checkpoints: str, who: str, count: int, start_at: float) -> None:
    audit = AuditLog(Path(path), key=AuditKey.parse(SecretStr(secret)), checkpoint_file=Path(checkpoints))
    while time.time() < start_at:
        time.sleep(0.001)
    for n in range(count):
        audit.append(who, "test.append", None, {"n": n})
    audit.close()


def test_concurrent_appends_from_two_processes_keep_the_chain(tmp_path: Path, checkpoint_file: Path) -> None:
    path, secret = tmp_path / "audit.db", generate_key()
    key = AuditKey.parse(SecretStr(secret))
    AuditLog(path, key=key, checkpoint_file=checkpoint_file).append("setup", "test.start", None, {})
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5
    procs = [ctx.Process(target=_append_many, args=(str(path), secret, str(checkpoint_file), who, 40, start_at))
             for who in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(path, key=key, checkpoint_file=checkpoint_file)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, 82))
    assert {e.actor for e in entries[1:]} == {"p1", "p2"}
    actors = [e.actor for e in entries[1:]]
    assert any(a != b for a, b in itertools.pairwise(actors))  # they really interleaved
    assert log.verify().ok
    assert json.loads(log.anchor_path.read_text())["seq"] == 81
    seqs = [cps.parse(key, line).seq for line in checkpoint_file.read_text().splitlines()]  # type: ignore[union-attr]
    assert seqs == list(range(1, 82))  # in order: written under the same lock as the rows


def test_a_deleted_checkpoint_file_is_reported_and_written_again(log: AuditLog, key: AuditKey,
                                                                 checkpoint_file: Path) -> None:
    checkpoint_file.unlink()
    assert [p.where for p in log.verify().problems] == ["checkpoint"]
    log.append("engine", "job.enqueue", TICKET, {"job": 8})  # the same process, its descriptor still open
    assert [cps.parse(key, line).seq for line in checkpoint_file.read_text().splitlines()] == [5]  # type: ignore[union-attr]
    assert log.verify().ok


def test_the_audit_log_of_a_deployment_refuses_an_entry_that_does_not_say_how_the_actor_was_proven(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry says how its actor was authenticated (issue 12): a lab ``--as`` approval and a portal
    login must be told apart by an auditor. The deployment's log refuses an entry without it, and
    nothing is written."""
    from toolkit.audit.factory import open_audit_log
    from toolkit.settings import load_settings

    monkeypatch.setenv("SPBE_AUDIT_KEY", generate_key())
    settings = load_settings(state_dir=tmp_path / "state", audit={"checkpoint_file": tmp_path / "cp.jsonl"})
    log = open_audit_log(settings)
    with pytest.raises(InvalidInputError, match="authenticated"):
        log.append("kadis", "ticket.approve", "SPBE-2026-00001", {"step": "persetujuan"})
    assert log.entries() == []
    log.append("kadis", "ticket.approve", "SPBE-2026-00001", {"step": "persetujuan", "auth": "session"})
    assert [e.data["auth"] for e in log.entries()] == ["session"]


def test_plain_entry_data_is_stored_and_hashed_as_the_json_round_trip_would() -> None:
    """The fast path of `normalise` and `entry_hash_of_text` give byte for byte what the general path gives."""
    import hashlib
    import json as _json

    from pydantic_core import to_jsonable_python

    from toolkit.audit.chain import canonical, entry_hash, normalise

    cases = [{"auth": "engine", "job": 3, "x": [1, (2, 3)], "f": 1.5, "n": None, "b": True,
              "u": 'ünï "q" \n\u2028\x00', "d": {"z": 1, "a": [{}]}}, {"big": 10**30}, {}]
    for data in cases:
        slow = _json.loads(canonical(to_jsonable_python(dict(data))))
        fast = normalise(data)
        assert fast == slow and canonical(fast) == canonical(slow)
        for ticket_id in ("SPBE-2026-00001", None):
            whole = canonical({"seq": 7, "at": "2026-01-01T00:00:00.000001+00:00", "actor": 'ä"\\',
                               "action": "job.start", "ticket_id": ticket_id, "data": fast, "prev_hash": "0" * 64})
            assert entry_hash(7, "2026-01-01T00:00:00.000001+00:00", 'ä"\\', "job.start", ticket_id, fast, "0" * 64,
                              key=None) == hashlib.sha256(whole.encode()).hexdigest()
