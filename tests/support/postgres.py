"""A private PostgreSQL 15 cluster on loopback for the tests, and the ``pg_dsn`` fixture (a fresh database each).

The cluster is started once per test session and pytest-xdist worker (``postgres_cluster``, ~1 s: initdb,
start, one migrated template database); each test gets its own database copied from the template
(``CREATE DATABASE ... TEMPLATE``, a file copy of a few MB, tens of ms), dropped after it. The template is at the
schema's head revision, so a test starts from what ``spbe store migrate-schema`` makes. ``fsync=off``: a test
cluster's durability is not what is tested (the guarantees tested are about concurrent processes, which
PostgreSQL's locking gives whatever fsync does).

TCP logins need the superuser's password (scram-sha-256), so the DSN carries a real secret and the tests can
check it never leaks. Without the binaries the tests are skipped with the reason, except in CI (``CI=true``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp_sink import free_port

PG_BIN = Path(os.environ.get("SPBE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PREFIX = "spbe-test-pg-"
OWNER_FILE = "owner"  # the pid of the test process that made the cluster


def _base_dir() -> Path:
    """Where clusters live: a folder the postgres user can reach (this machine's /tmp is root's, mode 0700);
    /dev/shm first (memory: the cluster's files cost no disk I/O), else /var/tmp; SPBE_TEST_PG_DIR overrides."""
    configured = os.environ.get("SPBE_TEST_PG_DIR")
    if configured:
        return Path(configured)
    shared = (Path("/dev/shm"), Path("/var/tmp"))  # noqa: S108 - only a parent: mkdtemp makes the folder, 0700
    for candidate in (*shared, Path(tempfile.gettempdir())):
        try:
            if candidate.is_dir() and candidate.stat().st_mode & 0o001:
                return candidate
        except OSError:
            continue
    return Path(tempfile.gettempdir())
TEMPLATE = "spbe_template"


def postgres_missing() -> str | None:
    """Why a private cluster cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user to run the cluster as"
    return None


def _as_owner(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, the commands run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=_base_dir()))
        (self.root / OWNER_FILE).write_text(f"{os.getpid()}\n")  # first: a concurrent sweep leaves it alone
        self.data = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)  # a real secret: the canary tests look for it in outputs
        self._lock = threading.Lock()
        self._count = 0

    def dsn(self, dbname: str = "postgres") -> str:
        return (f"host=127.0.0.1 port={self.port} user=postgres password={self.password} dbname={dbname}"
                " connect_timeout=5")

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(_as_owner([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                                  "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                                  f"--pwfile={pwfile}", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        pwfile.unlink()
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                                  "-o", options, "start"]), check=True, stdout=subprocess.DEVNULL)
        self._make_template()

    def _make_template(self) -> None:
        import psycopg

        from integrations.postgres.migrate import migrate

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        migrate(self.dsn(TEMPLATE))
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {TEMPLATE} WITH is_template true ALLOW_CONNECTIONS false")

    def fresh_database(self, prefix: str = "t") -> str:
        """A new database at the schema's head; returns its name."""
        import psycopg

        with self._lock:
            self._count += 1
            name = f"{prefix}_{os.getpid()}_{self._count}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def restart(self) -> None:
        """Stop (fast: connections are cut) and start again on the same port: a database restart mid-run."""
        self._ctl("-m", "fast", "stop")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                                  "-o", options, "start"]), check=True, stdout=subprocess.DEVNULL)

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans() -> None:
    """Clusters of a killed session: stopped and removed. A cluster is another live session's while the
    process that made it (its ``owner`` file, written before anything else) runs; a folder without an owner
    file yet is someone's start in progress, left alone for an hour."""
    for root in _base_dir().glob(PREFIX + "*"):
        try:
            owner = int((root / OWNER_FILE).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            owner = 0
        if owner and _alive(owner):
            continue
        if not owner:
            try:
                if time.time() - root.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w",
                                      "stop"]), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """This session's (this xdist worker's) private cluster."""
    missing = postgres_missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI runs the PostgreSQL tests, but {missing}")
        pytest.skip(missing)
    sweep_orphans()
    cluster = PostgresCluster()
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh database (name) at the schema's head, dropped after the test."""
    name = postgres_cluster.fresh_database()
    try:
        yield name
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture
def pg_dsn(postgres_cluster: PostgresCluster, pg_database: str) -> str:
    """The libpq DSN (with the password) of this test's fresh database."""
    return postgres_cluster.dsn(pg_database)


__all__ = ["PostgresCluster", "pg_database", "pg_dsn", "postgres_cluster", "postgres_missing"]
