"""Which servers a compliance run reads, and how each is reached, from the Ansible inventory.

The inventory is the one place a site declares its servers (the playbooks use it too), so the gatherer
reads the same host vars Ansible does: ``ansible_host``, ``ansible_port``, ``ansible_user``,
``ansible_ssh_private_key_file`` and the ``UserKnownHostsFile`` of ``ansible_ssh_common_args`` (the lab
writes all of them, `lab.control_files.write_inventory`). What only compliance needs is optional
per-host data, validated here before any of it reaches a command line:

- ``spbe_compliance_app_dirs``: application directories searched for world-writable files
  (default ``/srv/apps`` and ``/var/www``);
- ``spbe_compliance_restic_repo`` and ``spbe_compliance_restic_password_file``: the restic repository and
  the password file *on the target* (default: what ``configure_backup.yml`` creates for ``spbe_app_name``;
  no backup configured: the backup rule ends ``error``);
- ``spbe_compliance_tls_sites``: ``[{name, port}]`` of sites the host serves; their certificate is read
  from the host itself (``openssl s_client`` to 127.0.0.1 with the site's name as SNI).

Selectors are validated by shape before the inventory is consulted: an inventory name, ``group:NAME`` or
``*``. Anything else (``a;b``, ``$(x)``, ``../x``, a newline) is refused as invalid input, never looked up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit import ansible_inventory
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError
from toolkit.ssh.target import HOST_NAME, SshTarget, known_hosts_file

_SELECTOR = re.compile(rf"^(\*|group:[A-Za-z_][A-Za-z0-9_]{{0,63}}|{HOST_NAME})$")
_HOST = re.compile(rf"^{HOST_NAME}$")
_PATH = r"^/[A-Za-z0-9._/+@-]{0,250}$"
_SITE = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$"
DEFAULT_APP_DIRS = ("/srv/apps", "/var/www")


def _safe_path(value: str) -> str:
    if ".." in value.split("/"):
        raise ValueError("'..' is not allowed in a path")
    return value


class TlsSite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=_SITE, max_length=253, description="DNS name sent as SNI and shown as the site")
    port: int = Field(default=443, ge=1, le=65535)


class ServerTarget(SshTarget):
    """One server as the gatherer connects to it (the SSH fields of `SshTarget`, validated the same way) and
    what it reads there; every value already validated for an argv."""

    app_dirs: tuple[str, ...] = Field(default=DEFAULT_APP_DIRS, min_length=1, max_length=32)
    restic_repo: str | None = Field(default=None, pattern=_PATH)
    restic_password_file: str | None = Field(default=None, pattern=_PATH)
    tls_sites: tuple[TlsSite, ...] = Field(default=(), max_length=64)

    @field_validator("app_dirs")
    @classmethod
    def _dirs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not re.fullmatch(_PATH, path) or path == "/":
                raise ValueError(f"invalid application directory {path!r}")
            _safe_path(path)
        return value

    @field_validator("restic_repo", "restic_password_file")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return None if value is None else _safe_path(value)

    @property
    def needs_sudo(self) -> bool:
        """Read commands (``sshd -T``, ``nft list ruleset``) need root; an admin account goes through sudo."""
        return self.user != "root"


def target_of(host: ansible_inventory.InventoryHost) -> ServerTarget:
    """The connection and compliance data of one inventory host, validated; a bad host var is a
    ConfigurationError naming the host and the variable."""
    hv = host.vars
    app = hv.get("spbe_app_name")
    app_ok = isinstance(app, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", app) is not None
    values: dict[str, Any] = {
        "name": host.name, "address": host.address, "port": hv.get("ansible_port", 22),
        "user": hv.get("ansible_user", "root"), "key_file": hv.get("ansible_ssh_private_key_file"),
        "known_hosts": known_hosts_file(hv.get("ansible_ssh_common_args")),
        "app_dirs": tuple(hv.get("spbe_compliance_app_dirs") or DEFAULT_APP_DIRS),
        "restic_repo": hv.get("spbe_compliance_restic_repo") or (f"/var/backups/spbe/{app}" if app_ok else None),
        "restic_password_file": hv.get("spbe_compliance_restic_password_file")
        or (f"/etc/spbe/backup/{app}.restic-password" if app_ok else None),
        "tls_sites": tuple(hv.get("spbe_compliance_tls_sites") or ()),
    }
    try:
        return ServerTarget.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigurationError(f"inventory host {host.name}: {problems}", host=host.name) from None


def check_selectors(selectors: Sequence[str]) -> list[str]:
    """Refuse a selector of the wrong shape before anything is looked up (no lookup with hostile text)."""
    bad = [s for s in selectors if not isinstance(s, str) or not _SELECTOR.fullmatch(s)]
    if bad:
        raise InvalidInputError(f"invalid target selector {bad[0]!r}: an inventory host name, group:NAME or *",
                                errors=[("target", repr(b)) for b in bad])
    if not selectors:
        raise InvalidInputError("no target selector given", errors=[("target", "empty")])
    return list(selectors)


def _ssh_hosts(inventory: ansible_inventory.Inventory) -> list[str]:
    return [name for name, host in inventory.hosts.items() if host.vars.get("ansible_connection", "ssh") == "ssh"]


def resolve(inventory_path: Path, selectors: Sequence[str]) -> list[str]:
    """Host names for ``selectors``, deduplicated in the order asked; an unknown host or group raises
    `NotFoundError` naming it. Hosts Ansible reaches locally (the monitoring node) are not servers here."""
    check_selectors(selectors)
    inventory = ansible_inventory.load(inventory_path)
    servers = set(_ssh_hosts(inventory))
    found: dict[str, None] = {}
    for selector in selectors:
        if selector == "*":
            found.update(dict.fromkeys(_ssh_hosts(inventory)))
        elif selector.startswith("group:"):
            group = selector.removeprefix("group:")
            if group not in inventory.groups:
                raise NotFoundError(f"group {group!r} is not in the inventory {inventory_path}", group=group)
            found.update(dict.fromkeys(h for h in inventory.groups[group] if h in servers))
        elif selector in servers:
            found[selector] = None
        else:
            raise NotFoundError(f"host {selector!r} is not a server of the inventory {inventory_path}",
                                host=selector)
    return list(found)


def targets(inventory_path: Path, names: Sequence[str]) -> dict[str, ServerTarget]:
    """Validated targets for resolved names (an unknown one raises `NotFoundError`)."""
    inventory = ansible_inventory.load(inventory_path)
    for name in names:
        if not isinstance(name, str) or not _HOST.fullmatch(name):
            raise InvalidInputError(f"invalid target name {name!r}", errors=[("target", repr(name))])
    return {name: target_of(inventory.host(name)) for name in names}
