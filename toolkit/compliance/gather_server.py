"""`ServerGatherer`: the facts of ``server`` profiles, one SSH session per target, targets in parallel.

One paramiko connection per target carries every read of `toolkit.compliance.server_commands` (each on
its own channel, so each has its own exit status); the host key must be in the known_hosts file Ansible
is told to use (strict, `paramiko.RejectPolicy`), never learnt on the fly. Prometheus is asked once per
sweep over HTTP (``/api/v1/targets``), and its answer is every target's ``prometheus_targets`` fact.

A target that cannot be reached, refuses the key or times out while connecting is a `GatherFailure`.
A single read that fails leaves its fact ``None``; the rules that need it end ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import paramiko
import requests

from toolkit.compliance.config import ComplianceSettings
from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gathering import GatherFailure, TargetKind
from toolkit.compliance.server_commands import Command, commands
from toolkit.compliance.server_targets import ServerTarget, resolve, targets
from toolkit.ssh.target import connect

MAX_OUTPUT = 4 * 1024 * 1024  # a fact larger than this is not a configuration: cut, and the rule errs


class ServerGatherer:
    """Reads `ServerFacts` from the inventory's servers; see the module docstring for the contract."""

    kind: TargetKind = "server"

    def __init__(self, settings: Any) -> None:
        self._inventory = settings.effective_inventory()
        self._config: ComplianceSettings = settings.compliance

    def resolve(self, selectors: Sequence[str]) -> list[str]:
        return resolve(self._inventory, selectors)

    def gather(self, targets_: Sequence[str],
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        found = targets(self._inventory, targets_)
        prometheus = self._prometheus_targets()

        def one(name: str) -> ServerFacts | GatherFailure:
            try:
                return read_server(found[name], self._config, prometheus)
            finally:
                if progress is not None:
                    progress(name)

        workers = max(1, min(self._config.gather_workers, len(found)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gather-server") as pool:
            results = list(pool.map(one, list(found)))
        return dict(zip(found, results, strict=True))

    def _prometheus_targets(self) -> str | None:
        """The body of ``/api/v1/targets``; None when unconfigured or unanswered (the rule ends error)."""
        url = self._config.prometheus_url
        if url is None:
            return None
        try:
            response = requests.get(f"{url.rstrip('/')}/api/v1/targets", params={"state": "active"},
                                    timeout=self._config.command_timeout_s)
        except requests.RequestException:
            return None
        return response.text if response.status_code == 200 else None


def _connect(target: ServerTarget, config: ComplianceSettings) -> paramiko.SSHClient:
    return connect(target, config.ssh_timeout_s)  # strict host keys, as every SSH user of the toolkit


def _run(client: paramiko.SSHClient, command: Command, sudo: bool, timeout_s: float) -> object | None:
    """One read on its own channel; ``None`` on a failing exit status, a timeout or oversized output."""
    try:
        _stdin, stdout, _stderr = client.exec_command(command.line(sudo), timeout=timeout_s)
        _stdin.close()
        data = stdout.read(MAX_OUTPUT + 1)
        rc = stdout.channel.recv_exit_status()
    except (OSError, paramiko.SSHException):
        return None
    if rc not in command.ok_rc or len(data) > MAX_OUTPUT:
        return None
    return command.parse(data.decode("utf-8", errors="replace"))


def read_server(target: ServerTarget, config: ComplianceSettings,
                prometheus: str | None) -> ServerFacts | GatherFailure:
    """Every fact of one server over one SSH session (see `server_commands`)."""
    try:
        client = _connect(target, config)
    except paramiko.BadHostKeyException:
        return GatherFailure(target=target.name, reason="host key does not match known_hosts")
    except paramiko.AuthenticationException:
        return GatherFailure(target=target.name, reason=f"SSH authentication refused for {target.user}")
    except paramiko.SSHException as exc:  # includes an unknown host key (RejectPolicy)
        return GatherFailure(target=target.name, reason=f"SSH failed: {str(exc)[:200]}")
    except TimeoutError:
        return GatherFailure(target=target.name, reason=f"no SSH answer within {config.ssh_timeout_s:g} s")
    except OSError as exc:
        return GatherFailure(target=target.name, reason=f"unreachable: {exc.strerror or type(exc).__name__}")
    try:
        gathered_at = datetime.now(UTC)
        values: dict[str, Any] = {}
        tls: dict[str, str] = {}
        for command in commands(target):
            value = _run(client, command, target.needs_sudo, config.command_timeout_s)
            if command.fact.startswith("tls:"):
                if isinstance(value, str) and value.strip():
                    tls[command.fact.removeprefix("tls:")] = value.strip()
            elif value is not None:
                values[command.fact] = value
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            return GatherFailure(target=target.name, reason="SSH session closed while reading")
    finally:
        client.close()
    if target.tls_sites and len(tls) == len(target.tls_sites):
        values["tls_not_after"] = tls  # one unreadable site: the fact is missing, the TLS rule errs
    if "app_dirs" in values:
        values["app_dirs"] = tuple(values["app_dirs"])
    return ServerFacts(host=target.name, address=target.address, gathered_at=gathered_at,
                       prometheus_targets=prometheus, **values)
