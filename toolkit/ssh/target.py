"""Where and as whom a managed host is reached over SSH, from the host vars Ansible itself uses.

The inventory is the one place a site declares how its servers are reached, so paramiko reads the same
``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file`` and the
``UserKnownHostsFile`` of ``ansible_ssh_common_args`` as the playbooks do. `connect` always checks the
host key against that file (`paramiko.RejectPolicy`): an unknown or changed key refuses the host.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path
from typing import Any, Protocol

import paramiko
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import ConfigurationError

HOST_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"


class Endpoint(Protocol):
    """What `connect` needs of a target (`SshTarget`, the compliance gatherer's `ServerTarget`)."""

    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def key_file(self) -> Path | None: ...
    @property
    def known_hosts(self) -> Path | None: ...


class SshTarget(BaseModel):
    """One managed host as paramiko reaches it; every value validated before it is used."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=rf"^{HOST_NAME}$")
    address: str = Field(pattern=r"^[A-Za-z0-9.:-]{1,253}$")
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(default="root", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    key_file: Path | None = None
    known_hosts: Path | None = None

    @property
    def needs_sudo(self) -> bool:
        """Root's work (nft, /etc) goes through ``sudo -n`` for any other account, as Ansible's become does."""
        return self.user != "root"


def known_hosts_file(common_args: Any) -> Path | None:
    """The ``UserKnownHostsFile`` Ansible is told to use (``ansible_ssh_common_args``), so paramiko checks
    the same host keys; None when it names none (then the user's own known_hosts, as ssh would)."""
    if not isinstance(common_args, str):
        return None
    words = shlex.split(common_args)
    for index, word in enumerate(words):
        option = word[2:] if word.startswith("-o") and len(word) > 2 else (
            words[index + 1] if word == "-o" and index + 1 < len(words) else "")
        key, sep, value = option.partition("=")
        if sep and key.strip().lower() == "userknownhostsfile":
            return Path(value.strip().split()[0])
    return None


def target_from_vars(name: str, address: str, host_vars: dict[str, Any]) -> SshTarget:
    """The SSH target of an inventory host; a bad host var is a `ConfigurationError` naming the host."""
    values = {"name": name, "address": address, "port": host_vars.get("ansible_port", 22),
              "user": host_vars.get("ansible_user", "root"), "key_file": host_vars.get("ansible_ssh_private_key_file"),
              "known_hosts": known_hosts_file(host_vars.get("ansible_ssh_common_args"))}
    try:
        return SshTarget.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigurationError(f"inventory host {name}: {problems}", host=name) from None


def connect(target: Endpoint, timeout_s: float) -> paramiko.SSHClient:
    """An authenticated client; the host key must already be in the target's known_hosts (strict).

    Raises paramiko's own errors (`paramiko.BadHostKeyException`, `paramiko.AuthenticationException`,
    `paramiko.SSHException` for an unknown key) and `OSError`/`TimeoutError`: each caller words them."""
    client = paramiko.SSHClient()
    if target.known_hosts is not None:
        client.load_host_keys(str(target.known_hosts))
    else:
        client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = socket.create_connection((target.address, target.port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # Nagle held each key-exchange packet ~40 ms
    try:
        client.connect(target.address, port=target.port, username=target.user, sock=sock,
                       key_filename=str(target.key_file) if target.key_file else None,
                       timeout=timeout_s, banner_timeout=timeout_s, auth_timeout=timeout_s, allow_agent=False,
                       look_for_keys=target.key_file is None)
    except BaseException:
        client.close()
        sock.close()
        raise
    return client
