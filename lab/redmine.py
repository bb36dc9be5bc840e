"""A private Redmine 5 (Debian's package, SQLite) on loopback, one per caller: the real peer of the
service-desk adapter tests.

scripts/redmine_packages.sh installs Redmine once; dbconfig-common seeds its production database with the
default data (admin, roles, trackers, statuses). `RedmineServer` never touches that installation's state:
it gives each caller a Redmine *instance root* of its own (database copy, ``database.yml``, secret, log,
tmp, cache, attachments) in ``state_dir``, so two pytest-xdist workers each run their own server.

How the instance root is redirected: Debian's Redmine is multi-tenant. ``Redmine.root`` is
``/usr/share/redmine/instances/$REDMINE_INSTANCE`` and everything per instance hangs off it (the
``database.yml`` it reads, ``files/``, ``tmp/``, ``log/``). ``REDMINE_INSTANCE=../../../../<state_dir>``
climbs from there to ``/`` (lexically and through the ``instances`` symlink alike), so the root is
``state_dir`` with no file written under /usr or /var/lib/redmine. ``DATABASE_URL=sqlite3:<copy>`` is
honoured by Rails 6.1 too, but moves only the database: cache, logs and attachments would stay shared.

Redmine runs as ``www-data`` (never as root: root-owned files in tmp/log break a later server), so
``state_dir`` is made ``www-data``'s, mode 0700, and every folder above it must let ``www-data`` through.
Provisioning (lab/redmine_provision.rb, from the spec of lab/redmine_spec.py) runs inside the server
process, from the instance's own config.ru, after Rails' boot and before it listens: one Ruby boot
(~4 s of CPU, most of a start) instead of a `rails runner` and a server. The server runs in a process
group of its own; `stop` ends the group and checks that nothing naming ``state_dir`` is left.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from lab.procs import free_port, processes_naming, sweep
from lab.redmine_spec import RedmineHandle, handle_from, provision_spec

REDMINE_ROOT = Path("/usr/share/redmine")
# Where dbconfig-common created the seeded database of the package's only instance, "default".
SEED_DATABASE = Path("/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default")
RUN_AS = "www-data"
PROVISION_SCRIPT = Path(__file__).with_name("redmine_provision.rb")
START_DEADLINE_S = 120.0  # ~4 s on an idle machine; only bounds a broken start on a loaded one
STOP_DEADLINE_S = 15.0
PORT_ATTEMPTS = 3  # a free port can be taken between the probe and rackup's bind
STATE_PREFIX = "spbe-redmine-"  # the folders the fixture and `python -m lab.redmine` make in the temp folder
OWNER_FILE = "owner"  # "<pid> <start time>" of the process that started the instance
UNCLAIMED_AFTER_S = 3600.0  # a folder with no owner yet is someone's start in progress, unless this old


class RedmineError(RuntimeError):
    """Redmine could not be prepared, started, provisioned or stopped; the message says where to look."""


def redmine_missing() -> str | None:
    """Why a private Redmine cannot start here, or None when it can."""
    if os.geteuid() != 0:
        return "a private Redmine runs as www-data: it needs root to start"
    if not (REDMINE_ROOT / "config.ru").is_file() or not SEED_DATABASE.is_file():
        return "Redmine is not installed (run scripts/redmine_packages.sh)"
    gemfile_local = REDMINE_ROOT / "Gemfile.local"
    if not gemfile_local.is_file() or "webrick" not in gemfile_local.read_text(encoding="utf-8"):
        return "Redmine's bundle has no WEBrick (run scripts/redmine_packages.sh)"
    return None


def _started(pid: int) -> str | None:
    """The start time (clock ticks since boot) of ``pid``, or None if it is gone: with the pid, an
    identity that survives pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def sweep_orphans(parent: Path | None = None) -> list[str]:
    """Stop and remove the private Redmines under ``parent`` (the temp folder) whose owner is dead: what a
    killed test session left (its server keeps running, its folder stays). Another live session's
    instance is left alone. Returns one line per thing removed."""
    import tempfile

    removed: list[str] = []
    for folder in sorted(Path(parent or tempfile.gettempdir()).glob(STATE_PREFIX + "*")):
        try:
            pid, started = (folder / OWNER_FILE).read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            try:
                if time.time() - folder.stat().st_mtime < UNCLAIMED_AFTER_S:
                    continue
            except OSError:
                continue
        else:
            if _started(int(pid)) == started:
                continue
        removed += sweep(str(folder) + "/")
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"removed the orphaned Redmine folder {folder}")
    return removed


class RedmineServer:
    """One private Redmine in ``state_dir``: `start` prepares, provisions and serves it and returns the
    `RedmineHandle`; `stop` ends it. ``timings`` (seconds, wall) and ``cpu`` (CPU seconds: Ruby's boot
    and the provisioning as Ruby measured them, the server's total at the end of `start`) say where the
    start went."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.resolve()
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.handle: RedmineHandle | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port = 0
        self._account = pwd.getpwnam(RUN_AS)

    @property
    def log_file(self) -> Path:
        return self.state_dir / "log" / "rackup.log"

    def __enter__(self) -> RedmineHandle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RedmineHandle:
        missing = redmine_missing()
        if missing:
            raise RedmineError(missing)
        t0 = time.monotonic()
        spec = provision_spec()
        self._prepare(spec)
        self.timings["prepare"] = time.monotonic() - t0
        try:
            self._spawn()
            answer = self._wait_ready()
            self.timings["ready"] = time.monotonic() - t0
            self.cpu.update({f"ruby_{part}": float(s) for part, s in answer["cpu"].items()})
            handle = handle_from(self.base_url, spec, answer)
            t1 = time.monotonic()
            self._check_keys(handle)
            self.timings["check_keys"] = time.monotonic() - t1
        except BaseException:
            self.stop()
            raise
        finally:
            for name in ("provision.json", "provision.answer"):
                (self.state_dir / "tmp" / name).unlink(missing_ok=True)  # passwords, API keys
        self.timings["start"] = time.monotonic() - t0
        self.cpu["server"] = self.server_cpu_s()
        self.handle = handle
        return handle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # --- the instance root ---------------------------------------------------------------------------

    def _prepare(self, spec: dict[str, Any]) -> None:
        """The instance root: a copy of the seeded database, the per-instance config, the provisioning
        script and its spec, a config.ru that runs it; all www-data's."""
        root = self.state_dir
        root.mkdir(parents=True, exist_ok=True)
        self._check_reachable(root)
        (root / OWNER_FILE).write_text(f"{os.getpid()} {_started(os.getpid())}\n", encoding="utf-8")
        for sub in ("config", "db", "log", "tmp/cache", "tmp/pids", "files", "public/plugin_assets"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        database = root / "db" / "redmine.sqlite3"
        shutil.copyfile(SEED_DATABASE, database)
        # timeout (ms): WEBrick serves requests on threads, and SQLite lets one write at a time.
        (root / "config" / "database.yml").write_text(
            f"production:\n  adapter: sqlite3\n  database: {database}\n  timeout: 10000\n  encoding: utf8\n",
            encoding="utf-8")
        (root / "config" / "secret_key.txt").write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        shutil.copyfile(PROVISION_SCRIPT, root / "tmp" / "provision.rb")
        spec_file = root / "tmp" / "provision.json"
        spec_file.touch(mode=0o600)
        spec_file.write_text(json.dumps(spec), encoding="utf-8")  # passwords: www-data's file in a 0700 root
        # Provisioning after Rails' boot, before the server listens: one Ruby boot for both.
        (root / "config.ru").write_text(
            "# Written by lab/redmine.py: Redmine's own config.ru, with this instance provisioned first.\n"
            f"require {json.dumps(str(REDMINE_ROOT / 'config' / 'environment'))}\n"
            f"load {json.dumps(str(root / 'tmp' / 'provision.rb'))}\n"
            "run Rails.application\n", encoding="utf-8")
        for folder, dirs, files in os.walk(root):
            for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
                os.chown(name, self._account.pw_uid, self._account.pw_gid)
        root.chmod(0o700)

    def _check_reachable(self, root: Path) -> None:
        """www-data must be able to traverse every folder above ``root`` (pytest's own temporary folders
        are root's, mode 0700: they are not)."""
        for parent in root.parents:
            st = parent.stat()
            if st.st_uid == self._account.pw_uid or st.st_mode & stat.S_IXOTH:
                continue
            if st.st_gid == self._account.pw_gid and st.st_mode & stat.S_IXGRP:
                continue
            raise RedmineError(f"{RUN_AS} cannot reach {root}: {parent} is closed to it "
                               f"(mode {stat.filemode(st.st_mode)}); use a folder under /tmp")

    def _env(self) -> dict[str, str]:
        """A clean environment for Ruby: nothing of the caller's (tokens, SPBE_* settings) leaks in."""
        climb = "../" * (len((REDMINE_ROOT / "instances").parts) - 1)
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.state_dir), "LANG": "C.UTF-8",
                "RAILS_ENV": "production", "REDMINE_INSTANCE": climb.rstrip("/") + str(self.state_dir),
                "SPBE_REDMINE_SPEC": str(self.state_dir / "tmp" / "provision.json"),
                "SPBE_REDMINE_ANSWER": str(self.state_dir / "tmp" / "provision.answer")}

    def _run_as(self) -> dict[str, Any]:
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": [],
                "cwd": REDMINE_ROOT, "env": self._env()}

    # --- the server ----------------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._port = free_port()
        if self._log is None:
            self._log = self.log_file.open("ab")
        # -P names state_dir on the command line: a leftover server is found by it (lab.procs.sweep).
        argv = ["bundle", "exec", "rackup", "-E", "production", "-o", "127.0.0.1", "-p", str(self._port),
                "-P", str(self.state_dir / "tmp" / "pids" / "rackup.pid"), str(self.state_dir / "config.ru")]
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      process_group=0, **self._run_as())

    def _wait_ready(self) -> dict[str, Any]:
        """Until the provisioning answer is written and the login page answers; returns the answer. A
        server that lost its port to someone else is started again (provisioning is idempotent)."""
        answer_file = self.state_dir / "tmp" / "provision.answer"
        deadline = time.monotonic() + START_DEADLINE_S
        attempts = 1
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                if "Address already in use" in self._log_tail() and attempts < PORT_ATTEMPTS:
                    attempts += 1
                    self._spawn()
                    continue
                raise RedmineError(f"Redmine exited with {self._proc.returncode} while starting; "
                                   f"see {self.log_file}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/login", timeout=5) as resp:  # noqa: S310 - loopback
                    if resp.status == 200 and answer_file.is_file():
                        return self._read_answer(answer_file)
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RedmineError(f"Redmine did not answer on {self.base_url} within {START_DEADLINE_S:.0f} s; "
                                   f"see {self.log_file}")
            time.sleep(0.1)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def server_cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        if self._proc is None or self._proc.poll() is not None:
            return 0.0
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """The server's resident memory (VmRSS), KiB; 0 when it is not running."""
        if self._proc is None or self._proc.poll() is not None:
            return 0
        for line in Path(f"/proc/{self._proc.pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        """SIGINT to the server's process group (Rack's handler for it shuts WEBrick down cleanly; SIGTERM
        would too, with a FATAL backtrace in the log), SIGKILL after STOP_DEADLINE_S; then nothing may
        still name ``state_dir``."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_DEADLINE_S)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything the server forked and left behind
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None
        left = processes_naming(str(self.state_dir) + "/")
        if left:
            raise RedmineError(f"processes left running after Redmine stopped: {left}")

    # --- provisioning --------------------------------------------------------------------------------

    def _read_answer(self, answer_file: Path) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(answer_file.read_text(encoding="utf-8"))
        database = self.state_dir / "db" / "redmine.sqlite3"
        if Path(answer["root"]) != self.state_dir or Path(answer["database"]) != database:
            raise RedmineError(f"Redmine used another instance ({answer['root']}, {answer['database']})")
        return answer

    def _check_keys(self, handle: RedmineHandle) -> None:
        """Every API key works over REST: GET /users/current.json answers its own login."""
        for login, user in handle.users.items():
            request = urllib.request.Request(handle.base_url + "/users/current.json",  # noqa: S310 - loopback
                                             headers={"X-Redmine-API-Key": user.api_key})
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
                    current = json.load(resp)["user"]["login"]
            except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                raise RedmineError(f"the API key of {login} does not work: {exc}") from None
            if current != login:
                raise RedmineError(f"the API key of {login} logs in as {current}")


def main() -> None:
    """``python -m lab.redmine``: start a private Redmine in a temporary folder, print where the start went
    (wall and CPU seconds, memory) and the ids it provisioned, as JSON, then stop it. No API key is printed."""
    import tempfile

    for line in sweep_orphans():
        print(line)
    state_dir = Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    server = RedmineServer(state_dir)
    try:
        handle = server.start()
        report: dict[str, Any] = {
            "timings_s": server.timings, "cpu_s": server.cpu, "rss_kib": server.rss_kib(),
            "base_url": handle.base_url, "project_id": handle.project_id, "statuses": handle.statuses,
            "custom_fields": handle.custom_fields, "trackers": handle.trackers, "roles": handle.roles,
            "users": {login: user.id for login, user in handle.users.items()}}
        t0 = time.monotonic()
    finally:
        server.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    report["timings_s"]["stop"] = time.monotonic() - t0
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
