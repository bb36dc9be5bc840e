"""Several processes opening one new SQLite file at the same moment (two `spbe serve` on a fresh state dir).

Switching a new database to WAL takes the exclusive lock; two processes doing it at once deadlock on
their shared locks and SQLite answers one of them "database is locked" at once, without waiting. CI
saw exactly that: the second `spbe serve` died with "audit log unavailable: database is locked".
Each round starts eight processes held at a barrier (modules imported before it, so they really
meet) on a new file; every one of them must open it and write.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from integrations.state.allocations import HostPool
from toolkit.audit.log import AuditLog
from toolkit.sqlite_tx import connect

PROCESSES = 8


def _raw(path: Path) -> None:
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("COMMIT")
    finally:
        conn.close()


def _audit(path: Path) -> None:
    AuditLog(path).append("uji", "uji.buka", None, {})


def _host_pool(path: Path) -> None:
    HostPool(path).close()


def _open(opener: Callable[[Path], None], path: Path, barrier: object, out: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        opener(path)
        out.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
        out.put(repr(exc))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("opener", "rounds"), [(_raw, 25), (_audit, 8), (_host_pool, 8)],
                         ids=["connect", "audit-log", "host-pool"])
@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_processes_opening_a_new_database_at_once_all_get_in(opener: Callable[[Path], None], rounds: int) -> None:
    ctx = multiprocessing.get_context("fork")
    failures: list[str] = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "store.db"
            barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
            procs = [ctx.Process(target=_open, args=(opener, path, barrier, out)) for _ in range(PROCESSES)]
            for proc in procs:
                proc.start()
            results = [out.get(timeout=60) for _ in procs]
            for proc in procs:
                proc.join(timeout=60)
            out.close()
            out.join_thread()
            failures += [r for r in results if r != "ok"]
            if opener is _raw:
                conn = connect(path)
                try:
                    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == PROCESSES - len(failures)
                    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                finally:
                    conn.close()
    assert not failures, failures[:3]


def test_synchronous_is_normal_or_full_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NORMAL or FULL"):
        connect(tmp_path / "x.db", synchronous="OFF; DROP TABLE t")
