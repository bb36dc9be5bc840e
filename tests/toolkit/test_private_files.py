"""Owner-only state files: created 0600/0700 whatever the umask, older loose ones tightened."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from integrations.queue.sqlite_queue import SqliteJobQueue
from tests.support.cli import Spbe
from toolkit.private_files import owner_only_umask, private_dir, private_file, tighten_tree, write_private
from toolkit.settings import load_settings

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(autouse=True)
def loose_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_directories_are_0700_and_parents_above_the_root_are_left_alone(tmp_path):
    outside = tmp_path / "var-lib"
    outside.mkdir()
    assert _mode(outside) == 0o755
    made = private_dir(outside / "spbe" / "artifacts" / "SPBE-2026-00001")
    assert [_mode(p) for p in (made, made.parent, made.parent.parent)] == [0o700] * 3
    assert _mode(outside) == 0o755


def test_existing_directories_are_tightened_from_the_root_down(tmp_path):
    state = tmp_path / "state"
    (state / "artifacts" / "T1").mkdir(parents=True)
    tmp_path.chmod(0o755)
    private_dir(state / "artifacts" / "T1", root=state)
    assert [_mode(p) for p in (state, state / "artifacts", state / "artifacts" / "T1")] == [0o700] * 3
    assert _mode(tmp_path) == 0o755  # above the root: not ours to change


def test_a_sticky_shared_directory_such_as_tmp_is_never_closed(tmp_path):
    """A report written to /tmp once turned the machine's /tmp into 1700 (root owns it): every other user
    (postgres, dovecot's nobody) lost it. A sticky directory is shared by design and stays as it is."""
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    shared.chmod(0o1777)
    private_dir(shared)
    assert _mode(shared) == 0o1777
    made = private_dir(shared / "spbe" / "laporan", root=shared)
    assert _mode(shared) == 0o1777 and _mode(made) == _mode(made.parent) == 0o700


def test_files_are_created_0600_and_loose_ones_tightened_with_their_sqlite_sidecars(tmp_path):
    assert _mode(private_file(tmp_path / "baru.db")) == 0o600
    old = tmp_path / "lama.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    assert {_mode(old), _mode(tmp_path / "lama.db-wal")} == {0o644}
    private_file(old)
    assert {_mode(old), _mode(tmp_path / "lama.db-wal"), _mode(tmp_path / "lama.db-shm")} == {0o600}
    conn.close()


def test_an_existing_queue_from_an_older_version_is_tightened(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "queue.db").touch()
    assert _mode(state / "queue.db") == 0o644
    SqliteJobQueue(settings=load_settings(state_dir=state))
    assert (_mode(state), _mode(state / "queue.db")) == (0o700, 0o600)
    assert _mode(state / "queue.db-wal") == 0o600


def test_write_private_is_0600_from_the_first_byte_and_over_an_old_file(tmp_path):
    assert _mode(write_private(tmp_path / "baru.md", "isi")) == 0o600
    old = tmp_path / "lama.md"
    old.write_text("lama")
    write_private(old, b"baru")
    assert (_mode(old), old.read_bytes()) == (0o600, b"baru")


def test_tighten_tree_drops_shared_bits_keeps_read_only_and_links(tmp_path):
    (tmp_path / "run" / "artifacts").mkdir(parents=True)
    (tmp_path / "run" / "artifacts" / "stdout").write_text("x")
    sealed = tmp_path / "run" / "manifest.json"
    sealed.write_text("{}")
    sealed.chmod(0o444)
    outside = tmp_path / "luar.txt"
    outside.write_text("x")
    (tmp_path / "run" / "link").symlink_to(outside)
    tighten_tree(tmp_path / "run")
    assert _mode(tmp_path / "run") == _mode(tmp_path / "run" / "artifacts") == 0o700
    assert _mode(tmp_path / "run" / "artifacts" / "stdout") == 0o600
    assert _mode(sealed) == 0o400
    assert _mode(outside) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_another_users_files_are_left_alone(tmp_path):
    theirs = tmp_path / "milik-orang-lain"
    theirs.write_text("x")
    os.chown(theirs, NOBODY, NOBODY)
    private_file(theirs)
    assert _mode(theirs) == 0o644


def test_the_cli_umask_is_owner_only_for_the_command_and_restored_after():
    seen: dict[str, int] = {}

    @click.group()
    @click.pass_context
    def group(ctx: click.Context) -> None:
        owner_only_umask(ctx)

    @group.command("ticket")
    def ticket() -> None:
        seen["ticket"] = os.umask(0o077)

    class KeepsUmask(click.Command):
        keep_umask = True  # as the lab's plugin command says of itself

    @group.command("lab", cls=KeepsUmask)
    def lab() -> None:
        seen["lab"] = os.umask(0o022)

    runner = Spbe(command=group, catch_exceptions=True)
    for name in ("ticket", "lab"):
        assert runner(name).exit_code == 0
        assert os.umask(0o022) == 0o022
    assert seen == {"ticket": 0o077, "lab": 0o022}


def test_tightening_an_open_sqlite_database_keeps_its_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops this process's POSIX locks on it, SQLite's too: if
    private_file opened the database, another process closing its last connection would believe
    nobody else has it open, checkpoint and delete the WAL under our live connection."""
    db = tmp_path / "store.db"
    private_file(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        private_file(db)  # a store built again in the same process, as a job's own vault or audit log is
        other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT COUNT(*) FROM t')"
                 ".fetchone(); c.close()")
        subprocess.run([sys.executable, "-c", other, str(db)], check=True, timeout=60)
        assert (tmp_path / "store.db-wal").exists() and (tmp_path / "store.db-shm").exists()
        conn.execute("INSERT INTO t VALUES (2)")
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    finally:
        conn.close()
