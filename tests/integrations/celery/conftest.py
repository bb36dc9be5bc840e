"""A private Redis on loopback, Celery worker processes (`spbe serve --role worker`), and the engine's settings
switched to ``engine.kind = "celery"`` on the SQLite queue and on PostgreSQL (a fresh database each).

Everything is selected through the environment, so the worker and trigger processes a test starts
(`tests.conftest.engine_env` copies it) see the same queue, broker and test catalog as the test's own `App`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import engine_env, spbe_argv
from tests.support.smtp_sink import free_port
from toolkit.settings import Settings

REDIS = shutil.which("redis-server")


class RedisServer:
    """redis-server on 127.0.0.1, no persistence (a restart loses every message, which is the point)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="spbe-test-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS is not None
        self.proc = subprocess.Popen([REDIS, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_timeout=0.5).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if REDIS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgres"])
def distributed(request: pytest.FixtureRequest, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine on Celery + the private Redis, the queue on SQLite or on a fresh PostgreSQL database."""
    monkeypatch.setenv("SPBE_ENGINE__KIND", "celery")
    monkeypatch.setenv("SPBE_BROKER_URL", redis_server.url)
    monkeypatch.setenv("SPBE_ENGINE__REPUBLISH_AFTER_S", "1")
    if request.param == "postgres":
        monkeypatch.setenv("SPBE_TEST_PG_DSN", request.getfixturevalue("pg_dsn"))
        monkeypatch.setenv("SPBE_QUEUE__KIND", "postgres")
        monkeypatch.setenv("SPBE_SECRETS__POSTGRES_DSN__REF", "env:SPBE_TEST_PG_DSN")
    return str(request.param)


@pytest.fixture
def engine_settings(distributed: str, engine_settings: Settings) -> Settings:
    assert engine_settings.engine.kind == "celery"
    return engine_settings


class Processes:
    """`spbe serve --role ...` processes of one test, stopped (SIGKILL if they hang) when it ends."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """A lease of 5 s, not the engine tests' 1 s: on a loaded machine (a shared CI host) a 1 s lease can run
        out under a live worker, and an idempotent job is then legitimately run again, which the tests here
        would count as a second effect. The kill test waits for the 5 s instead."""
        env = {"SPBE_WORKERS__LEASE_SECONDS": "5", **env}
        with open(self.state_dir / f"proc-{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen(spbe_argv("serve", *args), env=engine_env(self.state_dir, **env),
                                    stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def workers(self, count: int = 4, **env: str) -> subprocess.Popen[bytes]:
        """One worker host of ``count`` worker processes: Celery's prefork pool, as deployed (docs/deploy.md).
        A job runs in a child; the pid an action records is that child's."""
        return self.start("--role", "worker", "--pool", "prefork", "--workers", str(count), **env)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def processes(engine_settings: Settings) -> Iterator[Processes]:
    procs = Processes(engine_settings.state_dir)
    yield procs
    procs.stop()
