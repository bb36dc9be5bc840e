"""The lab's API gateway: a real Express Gateway and a provider backend, on loopback only.

Express Gateway is the one API gateway installable on this kind of machine (npm ``express-gateway``;
Kong and WSO2 are not), so it is what the SPLP steps run against in the lab and end to end. Layout under
``<lab_dir>/<name>/gateway/``: ``config/`` (``gateway.config.yml`` and ``system.config.yml`` written here,
``models/`` copied from the package), ``server.js``, ``gateway.json`` (`GatewayLabState`) and logs.

Traps handled here:

* the admin API has no authentication at all: both it and the proxy bind 127.0.0.1 only;
* the install is pinned and cached under the lab cache dir (like the base rootfs): ~30 s the first
  time, then nothing. Package install scripts are not run (``--ignore-scripts``: the two the tree has
  only print messages);
* state is in memory (``db.redis.emulate``): a restart gives an empty gateway, as a fresh lab should;
* config changes through the admin API are written to ``gateway.config.yml`` and hot-reloaded by a
  file watcher, asynchronously: the adapter waits for the reload before it reports a route ready.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from lab.procs import free_port, keep, pythonpath, terminate
from toolkit.errors import ConfigurationError, UnavailableError

EG_VERSION = "1.16.11"
# The demo APIs published by their providers on the lab gateway (service endpoints); the SPLP
# catalog of APIs (inventory/splp_apis.yml) names the same ids.
LAB_APIS: tuple[str, ...] = ("kependudukan", "perizinan")
READY_TIMEOUT_S = 40.0


class GatewayLabState(BaseModel):
    """How to reach the lab gateway, and what ``down()`` needs to stop it."""

    model_config = ConfigDict(frozen=True)

    admin_url: str
    proxy_url: str
    backend_url: str
    apis: tuple[str, ...]
    eg_pid: int
    backend_pid: int
    config_dir: Path
    version: str = EG_VERSION
    created_at: datetime


def available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_express_gateway(cache_dir: Path, version: str = EG_VERSION) -> Path:
    """The package directory of the pinned express-gateway, installed once into the cache (locked, so
    two labs starting at once install it once; built aside and renamed, so a failed install leaves nothing)."""
    target = cache_dir / f"express-gateway-{version}"
    module = target / "node_modules" / "express-gateway"
    if (module / "package.json").is_file():
        return module
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ConfigurationError("node and npm are needed for the lab gateway; run scripts/lab_packages.sh")
    with _locked(cache_dir / f"express-gateway-{version}.lock"):
        if (module / "package.json").is_file():
            return module
        work = cache_dir / f".express-gateway-{version}.tmp-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        manifest = {"name": "spbe-lab-gateway", "private": True, "dependencies": {"express-gateway": version}}
        (work / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
        log = cache_dir / f"express-gateway-{version}.install.log"
        with open(log, "wb") as out:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts",
                                   "--loglevel=warn"], cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False, timeout=600)  # fmt: skip
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise UnavailableError(f"npm install express-gateway@{version} failed; see {log}", log=str(log))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    return module


def gateway_config(proxy_port: int, admin_port: int, backend_url: str, apis: tuple[str, ...]) -> dict[str, object]:
    """The starting gateway.config.yml: every demo API published as a service endpoint, none routed yet
    (routing an API to consumers is what `Gateway.ensure_route` does through the admin API)."""
    return {
        "http": {"hostname": "127.0.0.1", "port": proxy_port},
        "admin": {"host": "127.0.0.1", "port": admin_port},
        "apiEndpoints": {"healthz": {"host": "*", "paths": ["/healthz"]}},
        "serviceEndpoints": {api: {"url": backend_url} for api in apis},
        "policies": ["key-auth", "proxy", "rate-limit", "expression", "terminate"],
        "pipelines": {
            # A pipeline must exist for the gateway to start; this one answers the lab's own probe.
            "healthz": {"apiEndpoints": ["healthz"],
                        "policies": [{"terminate": [{"action": {"statusCode": 200, "message": "ok"}}]}]},
        },
    }


def system_config() -> dict[str, object]:
    """In-memory store; the cipher and session secrets are random per lab and stay in this 0600 file."""
    return {
        "db": {"redis": {"emulate": True, "namespace": "EG"}},
        "crypto": {"cipherKey": secrets.token_hex(16), "algorithm": "aes256", "saltRounds": 10},
        "session": {"secret": secrets.token_hex(16), "resave": False, "saveUninitialized": False},
        "accessTokens": {"timeToExpiry": 7200000},
        "refreshTokens": {"timeToExpiry": 7200000},
        "authorizationCodes": {"timeToExpiry": 300000},
    }


class GatewayLab:
    """The gateway part of one named lab; `lab.manager.LabManager` starts and stops it."""

    def __init__(self, lab_dir: Path, name: str, cache_dir: Path, apis: tuple[str, ...] = LAB_APIS) -> None:
        self.dir = Path(lab_dir).resolve() / name / "gateway"
        self.cache_dir = cache_dir
        self.apis = apis

    @property
    def state_file(self) -> Path:
        return self.dir / "gateway.json"

    def status(self) -> GatewayLabState | None:
        try:
            return GatewayLabState.model_validate_json(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def running(self, state: GatewayLabState) -> bool:
        try:
            with urllib.request.urlopen(f"{state.admin_url}/users", timeout=2) as resp:  # noqa: S310 - loopback
                return bool(resp.status == 200)
        except OSError:
            return False

    def up(self) -> GatewayLabState:
        self.down()
        module = ensure_express_gateway(self.cache_dir)
        config_dir = self.dir / "config"
        (config_dir / "models").mkdir(parents=True, exist_ok=True)
        for model in (module / "lib" / "config" / "models").glob("*.json"):
            shutil.copyfile(model, config_dir / "models" / model.name)
        backend_pid, backend_url = self._start_backend()
        proxy_port, admin_port = free_port(), free_port()
        (config_dir / "gateway.config.yml").write_text(
            yaml.safe_dump(gateway_config(proxy_port, admin_port, backend_url, self.apis), sort_keys=False),
            encoding="utf-8")
        system = config_dir / "system.config.yml"
        system.touch(mode=0o600)
        system.write_text(yaml.safe_dump(system_config(), sort_keys=False), encoding="utf-8")
        server = self.dir / "server.js"
        # json.dumps gives valid JavaScript string literals: no path is ever spliced into code unquoted.
        server.write_text(f"require({json.dumps(str(module))})().load({json.dumps(str(config_dir))}).run();\n",
                          encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOG_LEVEL": "info", "NODE_ENV": "production"}
        with open(self.dir / "express-gateway.log", "ab") as log:
            proc = subprocess.Popen(["node", str(server)], cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        state = GatewayLabState(admin_url=f"http://127.0.0.1:{admin_port}", proxy_url=f"http://127.0.0.1:{proxy_port}",
                                backend_url=backend_url, apis=self.apis, eg_pid=keep(proc), backend_pid=backend_pid,
                                config_dir=config_dir, created_at=datetime.now(UTC))
        self._write_state(state)
        self._wait_ready(state, proc)
        return state

    def down(self) -> None:
        state = self.status()
        if state is not None:
            terminate(state.eg_pid, str(self.dir / "server.js"))
            terminate(state.backend_pid, "lab.gateway_backend", str(self.dir))
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _start_backend(self) -> tuple[int, str]:
        self.dir.mkdir(parents=True, exist_ok=True)
        ready = self.dir / "backend.port"
        ready.unlink(missing_ok=True)
        port = free_port()
        with open(self.dir / "backend.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "lab.gateway_backend", "--port", str(port),
                                     "--ready-file", str(ready)], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, "PYTHONPATH": _pythonpath()})  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise UnavailableError(f"lab API backend did not start; see {self.dir / 'backend.log'}")
            time.sleep(0.05)
        return keep(proc), f"http://127.0.0.1:{port}"

    def _wait_ready(self, state: GatewayLabState, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        proxy_port = int(state.proxy_url.rsplit(":", 1)[1])
        while True:
            if self.running(state) and _port_open(proxy_port):
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.dir / "express-gateway.log").read_text(encoding="utf-8", errors="replace")[-1500:]
                self.down()
                raise UnavailableError("lab express-gateway did not become ready", log=tail)
            time.sleep(0.1)

    def _write_state(self, state: GatewayLabState) -> None:
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, self.state_file)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pythonpath() -> str:
    return pythonpath(os.environ.get("PYTHONPATH"))
