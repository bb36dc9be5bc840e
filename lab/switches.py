"""SwitchLab: a named set of simulated Cisco IOS switches on loopback, for netmiko, in one process.

Layout under ``<lab_dir>/<name>/switches/`` (0700): ``password`` and ``secret`` (0600, fresh random
values on every ``up``, never printed), ``host_key`` (the switches' SSH host key), ``known_hosts``,
``server.json`` (the ``SwitchServerConfig``), ``ready.json`` (written by the server once it listens),
``server.log`` and ``switches.json`` (the ``SwitchLabState``). The switch server is
``lab.switch_server`` running in this interpreter, so fake-switches must be installed in it
(``scripts/switch_sim_packages.sh``); ``available()`` says whether it is.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from lab import sshd
from lab.models import LAB_NAME_RE, LabSwitch, SwitchLabState, SwitchServerConfig, SwitchSpec
from lab.procs import is_our_process, keep, port_is_free, pythonpath, terminate
from toolkit.errors import ConfigurationError, UnavailableError

SERVER_MODULE = "lab.switch_server"
USERNAME = "spbe"
# Sites are location ids issue 3's inventory maps requests to: two agencies and the data center first,
# so the default three switches cover "an agency site" and "the data center".
SITES: tuple[str, ...] = ("dinkes", "bkd", "dc", "disdik", "dishub", "bappeda")
ACCESS_PORTS: tuple[str, ...] = (
    *(f"FastEthernet0/{n}" for n in range(1, 25)),
    *(f"GigabitEthernet0/{n}" for n in range(1, 3)),
)
SESSIONS_LOG = "sessions.log"  # one line per SSH session open/close, as the switches saw them
# Below Linux's default ephemeral range (32768-60999), so outgoing connections do not take our ports.
_PORT_RANGE = (20000, 32000)


def available() -> bool:
    """True when this interpreter can run the switch server (fake-switches and Twisted conch installed)."""
    try:
        return all(importlib.util.find_spec(mod) is not None for mod in ("fake_switches", "twisted.conch"))
    except ModuleNotFoundError:
        return False


def switch_names(count: int) -> list[tuple[str, str]]:
    """``(name, site)`` pairs: sites in ``SITES`` order, round robin, numbered within their site."""
    return [
        (f"sw-{SITES[i % len(SITES)]}-{i // len(SITES) + 1:02d}", SITES[i % len(SITES)]) for i in range(count)
    ]


def session_events(state: SwitchLabState) -> list[tuple[float, str, int]]:
    """``(time, switch, +1 open / -1 close)`` for every session the lab's switches have seen, in order."""
    path = state.config.parent / SESSIONS_LOG
    events = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        stamp, switch, what = line.split()
        events.append((float(stamp), switch, 1 if what == "open" else -1))
    return events


def max_open(events: list[tuple[float, str, int]], switches: set[str] | None = None) -> int:
    """The most sessions open at once to ``switches`` (all when None), from `session_events`."""
    current = peak = 0
    for _, switch, delta in events:
        if switches is None or switch in switches:
            current += delta
            peak = max(peak, current)
    return peak


def pick_base_port(count: int, attempts: int = 200) -> int:
    """A base port such that ``base .. base+count-1`` all bind on 127.0.0.1 right now."""
    rng = random.Random()  # noqa: S311 - port choice, not a secret
    for _ in range(attempts):
        base = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - count)
        if all(port_is_free(base + offset) for offset in range(count)):
            return base
    raise UnavailableError(f"no {count} consecutive free loopback ports in {_PORT_RANGE}")


class _PortTaken(UnavailableError):
    """The server could not listen: another process took a port between the bind test and the listen."""


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)


class SwitchLab:
    """Owns the switch server of one named lab; the LabManager of the same name uses one of these."""

    def __init__(
        self,
        lab_dir: Path,
        name: str,
        count: int = 3,
        base_port: int | None = None,
        *,
        start_timeout_s: float = 20.0,
    ) -> None:
        if not LAB_NAME_RE.fullmatch(name):
            raise ConfigurationError(f"invalid lab name {name!r}: lower-case, digits, '-', ≤ 16 chars")
        if count < 1:
            raise ConfigurationError(f"a switch lab needs at least one switch, not {count}", count=count)
        if base_port is not None and not 1024 <= base_port <= 65535 - count:
            raise ConfigurationError(f"base port {base_port} leaves no room for {count} switches")
        self.lab_dir = Path(lab_dir).resolve()
        self.name = name
        self.count = count
        self.base_port = base_port
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def dir(self) -> Path:
        return self.lab_dir / self.name / "switches"

    @property
    def state_file(self) -> Path:
        return self.dir / "switches.json"

    # ------------------------------------------------------------------ public API

    def up(self) -> SwitchLabState:
        """Start fresh switches (a running switch lab of this name is stopped first); returns once they listen.

        With ``base_port`` None, ports are picked by a bind test and the start is retried on a lost race.
        """
        self.down()
        if not available():
            raise UnavailableError(
                f"fake-switches is not installed for {sys.executable}; run scripts/switch_sim_packages.sh"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        password_file, secret_file = self.dir / "password", self.dir / "secret"
        _write_secret(password_file, secrets.token_urlsafe(18))
        _write_secret(secret_file, secrets.token_urlsafe(18))
        host_key = sshd.generate_key(self.dir / "host_key", f"spbe-lab-{self.name}-switches")
        attempts = 1 if self.base_port is not None else 3
        for attempt in range(1, attempts + 1):
            base = self.base_port if self.base_port is not None else pick_base_port(self.count)
            try:
                return self._start(base, password_file, secret_file, host_key)
            except _PortTaken:
                self.down(keep_dir=True)
                if attempt == attempts:
                    self.down()
                    raise
            except BaseException:
                self.down()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def status(self) -> SwitchLabState | None:
        """The recorded state, or None when this switch lab is not up."""
        try:
            return SwitchLabState.model_validate_json(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def running(self, state: SwitchLabState) -> bool:
        """Is the recorded server still alive (False after a crash, a reboot or ``down``)."""
        return self._is_ours(state)

    def down(self, *, keep_dir: bool = False) -> None:
        """Stop the server (only if the recorded pid is still our server) and delete credentials and state.

        Idempotent; secrets go with the directory, so the next ``up`` has new ones.
        """
        state = self.status()
        if state is not None:
            terminate(state.pid, SERVER_MODULE, str(state.config))
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None
        if keep_dir:
            self.state_file.unlink(missing_ok=True)
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            self.dir.parent.rmdir()  # standalone use: leave nothing behind; a full lab's dir is not empty
        except OSError:
            pass

    # ------------------------------------------------------------------ internals

    def _is_ours(self, state: SwitchLabState) -> bool:
        return is_our_process(state.pid, SERVER_MODULE, str(state.config))

    def _start(self, base: int, password_file: Path, secret_file: Path, host_key: Path) -> SwitchLabState:
        names = switch_names(self.count)
        ready_file = self.dir / "ready.json"
        ready_file.unlink(missing_ok=True)
        config = SwitchServerConfig(
            host_key=host_key,
            ready_file=ready_file,
            switches=tuple(
                SwitchSpec(name=name, port=base + i, username=USERNAME, password_file=password_file,
                           secret_file=secret_file, ports=ACCESS_PORTS)  # fmt: skip
                for i, (name, _site) in enumerate(names)
            ),
        )
        config_file = self.dir / "server.json"
        config_file.write_text(config.model_dump_json(indent=2), encoding="utf-8")
        env = dict(os.environ)
        # The server imports lab and toolkit from the same tree as this process, installed or not.
        env["PYTHONPATH"] = pythonpath(env.get("PYTHONPATH"))
        with open(self.dir / "server.log", "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", SERVER_MODULE, "--config", str(config_file),
                 "--sessions-log", str(self.dir / SESSIONS_LOG)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # a Ctrl-C in the shell that ran `spbe lab up` must not stop the lab
            )  # fmt: skip
        state = SwitchLabState(
            name=self.name,
            switches=tuple(
                LabSwitch(name=spec.name, site=site, port=spec.port, username=spec.username,
                          password_file=password_file, secret_file=secret_file, access_ports=ACCESS_PORTS)  # fmt: skip
                for spec, (_name, site) in zip(config.switches, names, strict=True)
            ),
            pid=keep(self._proc),
            config=config_file,
            known_hosts=self.dir / "known_hosts",
            created_at=datetime.now(UTC),
        )
        self._write_state(state)  # before waiting, so down() can stop a server that never got ready
        self._wait_ready(ready_file)
        key_type, key = Path(f"{host_key}.pub").read_text(encoding="utf-8").split()[:2]
        state.known_hosts.write_text(
            "".join(f"[{s.host}]:{s.port} {key_type} {key}\n" for s in state.switches), encoding="utf-8"
        )
        return state

    def _wait_ready(self, ready_file: Path) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if ready_file.exists():
                ready = json.loads(ready_file.read_text(encoding="utf-8"))
                if ready.get("pid") == self._proc.pid:
                    return
            exited = self._proc.poll() is not None
            if exited or time.monotonic() > deadline:
                tail = (self.dir / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
                error = _PortTaken if exited and "cannot listen" in tail else UnavailableError
                raise error(f"switch server of lab {self.name!r} did not start", log=tail)
            time.sleep(0.05)

    def _write_state(self, state: SwitchLabState) -> None:
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, self.state_file)
