"""Typed records of a running lab, written to ``<lab_dir>/<name>/lab.json``.

The state file is the only hand-off between ``lab up`` and later commands (``status``, ``down``, the
pytest fixture, playbook runs), so it carries everything needed to reach a host *and* to tear it down
again (process ids, veth names), even when the lab is only half up.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

LAB_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
HOST_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
# 10.213.<n>.0/24 per lab; n = 0 and 255 are left alone so the range never touches a broadcast edge.
SUBNET_PREFIX = "10.213"
SUBNET_SLOTS = 254


def subnet_index(name: str) -> int:
    """Derive the lab's third octet from its name, deterministically, in 1..254.

    Deterministic so a half-up lab can be torn down by a new process that only knows the name;
    collisions between two names are detected by the manager, not avoided here.
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % SUBNET_SLOTS + 1


class LabHost(BaseModel):
    """One target machine: a chrooted Debian copy in its own netns, reachable over SSH."""

    model_config = ConfigDict(frozen=True)

    name: str
    address: str
    root_address: str = Field(description="the control node's side of the /30 (the management source)")
    port: int = 22
    user: str = "root"
    private_key: Path
    netns: str
    veth_root: str
    host_dir: Path = Field(description="upper/work/merged dirs and logs of this host")
    init_pid: int | None = Field(default=None, description="host pid of the `unshare` parent process")
    overlay: bool = Field(default=True, description="False when the copy was made with cp -a")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not HOST_NAME_RE.fullmatch(value):
            raise ValueError(f"invalid lab host name: {value!r}")
        return value


class LabState(BaseModel):
    """Everything a caller needs to use a lab, and everything ``down()`` needs to remove it."""

    model_config = ConfigDict(frozen=True)

    name: str
    lab_dir: Path
    subnet: str
    base_rootfs: Path
    hosts: tuple[LabHost, ...]
    inventory: Path
    known_hosts: Path
    file_sd_dir: Path
    rules_dir: Path
    prometheus_url: str | None = None
    prometheus_pid: int | None = None
    created_at: datetime

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not LAB_NAME_RE.fullmatch(value):
            raise ValueError(f"invalid lab name: {value!r}")
        return value

    def host(self, name: str) -> LabHost:
        """Look a host up by name; a KeyError names the hosts that do exist."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"{name!r} is not in lab {self.name!r} (hosts: {[h.name for h in self.hosts]})")
