"""The audit chain in PostgreSQL (`integrations.audit.postgres`): one chain for several processes.

Four processes append at once (single entries and batches) and the chain verifies after: contiguous seq,
every prev_hash the hash before it, the anchor at the head, every checkpoint in the file on the chain. Then
the tamper evidence of the SQLite log, on the database: an edited, removed or truncated entry is seen; the
application cannot rewrite entries at all (the append-only trigger); a wrong key is refused.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from integrations.audit.postgres import _LOCK, PostgresAuditLog
from toolkit.audit import AuditKey, AuditLog, generate_key
from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError, ConflictError, InvalidInputError, UnavailableError
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings

TICKET = "SPBE-2026-00001"
WRITERS, EACH = 4, 40


def _settings(state_dir: Path) -> Settings:
    return Settings(state_dir=state_dir, secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_AUDIT_DSN")})


@pytest.fixture
def dsn(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPBE_TEST_AUDIT_DSN", pg_dsn)  # children (spawn) inherit it
    return pg_dsn


@pytest.fixture
def key_text() -> str:
    return generate_key()


@pytest.fixture
def log(dsn: str, tmp_path: Path, key_text: str) -> Iterator[PostgresAuditLog]:
    audit = PostgresAuditLog(settings=_settings(tmp_path / "state"), key=AuditKey.parse(SecretStr(key_text)),
                             checkpoint_file=tmp_path / "elsewhere" / "checkpoints.jsonl")
    yield audit
    audit.close()


def _append_from_child(state_dir: str, key_text: str, checkpoint_file: str, me: int, go: object) -> None:
    audit = PostgresAuditLog(settings=_settings(Path(state_dir)), key=AuditKey.parse(SecretStr(key_text)),
                             checkpoint_file=Path(checkpoint_file))
    go.wait(60)  # type: ignore[attr-defined]  # every writer is ready: they race from here
    for n in range(EACH):
        if n % 4 == 3:  # a batch of two, as the engine's AuditWriter writes them
            audit.append_many([(f"w{me}", "job.start", TICKET, {"auth": "engine", "n": n}),
                               (f"w{me}", "job.finish", TICKET, {"auth": "engine", "n": n})])
        else:
            audit.append(f"w{me}", "ticket.approve", TICKET, {"auth": "session", "n": n})
    audit.close()


@pytest.mark.slow  # processes of their own (spawn), seconds each: the full suite runs it
def test_four_processes_appending_at_once_leave_one_chain_that_verifies(log: PostgresAuditLog, tmp_path: Path,
                                                                         key_text: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_append_from_child, args=(str(tmp_path / "state"), key_text,
                                                          str(tmp_path / "elsewhere" / "checkpoints.jsonl"), me, go))
             for me in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    per_writer = EACH + EACH // 4  # a batch is two entries
    result = log.verify()
    assert result.ok, result.problems
    assert result.entries == WRITERS * per_writer
    assert result.checkpoints == WRITERS * EACH  # one per append or batch (checkpoint_every = 1)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, WRITERS * per_writer + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    for me in range(WRITERS):  # a batch stays together, in order
        mine = [e for e in entries if e.actor == f"w{me}"]
        assert len(mine) == per_writer
        starts = [i for i, e in enumerate(entries) if e.actor == f"w{me}" and e.action == "job.start"]
        assert all(entries[i + 1].action == "job.finish" and entries[i + 1].actor == f"w{me}" for i in starts)
    assert log.head() == (entries[-1].seq, entries[-1].hash)


def _superuser(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=True)


def test_the_application_cannot_rewrite_an_entry(log: PostgresAuditLog, dsn: str) -> None:
    log.append("andi", "ticket.open", TICKET, {"auth": "session"})
    with _superuser(dsn) as conn:
        for statement in ("UPDATE audit SET actor = 'budi'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
    assert log.verify().ok


def test_an_edited_a_removed_and_a_truncated_entry_are_seen(log: PostgresAuditLog, dsn: str) -> None:
    for n in range(5):
        log.append("andi", "ticket.approve", TICKET, {"auth": "session", "n": n})
    with _superuser(dsn) as conn:  # an owner can switch the trigger off: the MACs are what stay
        conn.execute("ALTER TABLE audit DISABLE TRIGGER USER")
        conn.execute("UPDATE audit SET data = '{\"auth\":\"session\",\"n\":99}' WHERE seq = 2")
    assert [p.seq for p in log.verify().problems] == [2]
    with _superuser(dsn) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 3")
    problems = log.verify().problems
    assert any("entries 3..3 missing" in p.problem for p in problems)
    with _superuser(dsn) as conn:
        conn.execute("DELETE FROM audit WHERE seq >= 4")
    found = {p.where for p in log.verify().problems}
    assert {"anchor", "checkpoint"} <= found  # the signed head and the file outside the database both show it


def test_a_wrong_key_is_refused_and_an_entry_must_say_how_its_actor_was_proven(
        log: PostgresAuditLog, tmp_path: Path) -> None:
    log.append("andi", "ticket.open", TICKET, {"auth": "session"})
    with pytest.raises(InvalidInputError, match="authenticated"):
        log.append("andi", "ticket.approve", TICKET, {})
    other = PostgresAuditLog(settings=_settings(tmp_path / "state"), key=AuditKey.parse(SecretStr(generate_key())))
    try:
        with pytest.raises(ConfigurationError, match="not the key"):
            other.check_writable()
        assert not other.verify().ok
    finally:
        other.close()


def test_audit_kind_postgres_is_what_the_composition_root_builds(dsn: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_AUDIT_KEY", generate_key())
    settings = Settings(state_dir=tmp_path / "state",
                        secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_AUDIT_DSN")},
                        audit={"kind": "postgres", "checkpoint_file": tmp_path / "cp.jsonl",
                               "options": {"pool_max": 4}})
    app = App(settings)
    try:
        assert isinstance(app.audit, PostgresAuditLog)
        app.audit.check_writable()
        app.audit.append("andi", "ticket.open", TICKET, {"auth": "session"})
        assert app.audit.verify_or_raise().entries == 1
        assert not (tmp_path / "state" / "audit.db").exists()
    finally:
        app.close()


def test_a_database_never_migrated_names_the_command(postgres_cluster, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_TEST_AUDIT_DSN", postgres_cluster.dsn())  # the cluster's "postgres": no tables
    with pytest.raises(ConfigurationError, match="spbe store migrate-schema"):
        PostgresAuditLog(settings=_settings(tmp_path / "state"), key=AuditKey.parse(SecretStr(generate_key())))


def test_spbe_audit_verify_checkpoint_and_list_on_the_postgres_chain(dsn: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI through the composition root: ``audit.kind = "postgres"`` from the environment, as a host's
    settings would say it; the DSN's password never printed."""
    from tests.support.cli import Spbe

    monkeypatch.setenv("SPBE_AUDIT_KEY", generate_key())
    env = {"SPBE_AUDIT__KIND": "postgres", "SPBE_AUDIT__CHECKPOINT_FILE": str(tmp_path / "cp.jsonl"),
           "SPBE_SECRETS__POSTGRES_DSN__REF": "env:SPBE_TEST_AUDIT_DSN"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = App(Settings(state_dir=tmp_path / "state"))  # the same settings, from the environment
    app.audit.append("andi", "ticket.open", None, {"auth": "session"})
    app.close()
    spbe = Spbe(state_dir=tmp_path / "state", env=env)
    shown = spbe.json("audit", "verify")
    assert shown["ok"] and (shown["entries"], shown["checkpoints"]) == (1, 1)
    spbe("audit", "checkpoint")
    assert spbe.json("audit", "verify")["checkpoints"] == 2
    password = next(p.split("=", 1)[1] for p in dsn.split() if p.startswith("password="))
    listed = spbe("audit", "list")
    assert listed.exit_code == 0 and "ticket.open" in listed.stdout and password not in listed.stdout + listed.stderr


def test_an_embedded_chain_imported_verifies_with_the_same_hashes(log: PostgresAuditLog, tmp_path: Path,
                                                                   key_text: str) -> None:
    """Moving an installation from SQLite: the chain is copied verbatim and still verifies; never merged."""
    key = AuditKey.parse(SecretStr(key_text))
    embedded = AuditLog(tmp_path / "sqlite" / "audit.db", key=key, checkpoint_file=tmp_path / "sqlite-cp.jsonl")
    for n in range(30):
        embedded.append("andi", "ticket.approve", f"SPBE-2026-{n:05d}", {"auth": "session", "n": n, "why": "ok\n;$()"})
    assert log.import_chain(embedded) == 30
    assert log.verify().ok
    assert [(e.seq, e.hash) for e in log.entries()] == [(e.seq, e.hash) for e in embedded.entries()]
    log.append("engine", "job.start", None, {"auth": "engine"})  # the chain goes on from the imported head
    assert log.verify().ok and log.head()[0] == 31
    with pytest.raises(ConflictError, match="not empty"):
        log.import_chain(embedded)
    other = AuditLog(tmp_path / "other.db", key=AuditKey.parse(SecretStr(generate_key())))
    with pytest.raises(ConfigurationError, match="keyed with this log's audit key"):
        log.import_chain(other)
    embedded.close()
    other.close()


def _hold_the_chain_lock(dsn: str, held: object) -> None:
    """A writer that takes the chain's lock mid-append and is then killed (SIGKILL) before it commits."""
    conn = psycopg.connect(dsn)
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    conn.execute("INSERT INTO audit (seq, at, actor, action, ticket_id, data, prev_hash, hash) "
                 "VALUES (999, 'x', 'x', 'x', NULL, '{}', 'x', 'x')")  # uncommitted: must never be seen
    held.set()  # type: ignore[attr-defined]
    time.sleep(600)


@pytest.mark.slow  # processes of their own (spawn), seconds each: the full suite runs it
def test_a_writer_killed_mid_append_leaves_no_lock_and_no_entry(log: PostgresAuditLog, dsn: str,
                                                                 tmp_path: Path, key_text: str) -> None:
    log.append("andi", "ticket.open", TICKET, {"auth": "session"})
    ctx = multiprocessing.get_context("spawn")
    held = ctx.Event()
    proc = ctx.Process(target=_hold_the_chain_lock, args=(dsn, held), daemon=True)
    proc.start()
    try:
        _impatient_append_refused(tmp_path, key_text, held)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
    log.append("budi", "ticket.approve", TICKET, {"auth": "session"})  # the server ended the dead session's lock
    result = log.verify()
    assert result.ok and result.entries == 2 and [e.seq for e in log.entries()] == [1, 2]


def _impatient_append_refused(tmp_path: Path, key_text: str, held: object) -> None:
    assert held.wait(60)  # type: ignore[attr-defined]
    impatient = PostgresAuditLog(settings=_settings(tmp_path / "state"), key=AuditKey.parse(SecretStr(key_text)),
                                 busy_timeout_ms=300)
    try:
        with pytest.raises(UnavailableError, match="audit log unavailable"):  # waits its busy timeout, no longer
            impatient.append("budi", "ticket.approve", TICKET, {"auth": "session"})
    finally:
        impatient.close()
