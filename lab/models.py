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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lab.gateway import GatewayLabState

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

    def ansible_vars(self, known_hosts: Path) -> dict[str, object]:
        """How Ansible reaches this host: its key, the lab's known_hosts with strict checking, its netns."""
        return {
            "ansible_host": self.address,
            "ansible_port": self.port,
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.private_key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
            ),
            "ansible_python_interpreter": "/usr/bin/python3",
            "spbe_lab_netns": self.netns,
        }

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not HOST_NAME_RE.fullmatch(value):
            raise ValueError(f"invalid lab host name: {value!r}")
        return value


class LabVpn(BaseModel):
    """The VPN part of a lab (``lab.vpn``): an agency-site gateway and a data-center gateway (lab
    hosts with sshd, so the toolkit configures them over SSH), joined by an underlay link that stands for the
    internet, each with a LAN namespace behind it (a site client, a DC server). Addresses are the lab's own."""

    model_config = ConfigDict(frozen=True)

    site_gateway: LabHost
    dc_gateway: LabHost
    underlay_cidr: str
    site_underlay: str
    dc_underlay: str
    site_lan: str
    site_lan_gateway: str
    site_client: str
    site_client_netns: str
    dc_lan: str
    dc_lan_gateway: str
    dc_server: str
    dc_server_netns: str
    tunnel_pool: str
    listen_port_base: int


class LabIncident(BaseModel):
    """The CSIRT incident part of a lab (``lab.incident``): the affected host (a lab host with sshd and a
    web server) and an attacker and a CSIRT management namespace on a segment shared with it."""

    model_config = ConfigDict(frozen=True)

    affected: LabHost
    segment_cidr: str
    affected_address: str = Field(description="the affected host's address on the segment (its eth1)")
    csirt_address: str
    attacker_address: str
    segment_netns: str
    csirt_netns: str
    attacker_netns: str
    web_port: int = 80


class SwitchSpec(BaseModel):
    """One switch as the switch server builds it; credentials by file, so the config holds no secret."""

    model_config = ConfigDict(frozen=True)

    name: str
    port: int = Field(ge=1, le=65535)
    username: str
    password_file: Path
    secret_file: Path
    ports: tuple[str, ...] = Field(default=(), description="interface names; empty means the model's own")


class SwitchServerConfig(BaseModel):
    """The switch server's input (``--config``): every switch of one lab, served by one process."""

    model_config = ConfigDict(frozen=True)

    host: Literal["127.0.0.1"] = "127.0.0.1"
    host_key: Path
    ready_file: Path
    switches: tuple[SwitchSpec, ...]


class LabSwitch(BaseModel):
    """A simulated Cisco IOS switch as a netmiko user sees it; secrets stay in their 0600 files."""

    model_config = ConfigDict(frozen=True)

    name: str
    site: str = Field(description="location id, e.g. 'dinkes', 'bkd', 'dc' (the data center)")
    host: str = "127.0.0.1"
    port: int
    device_type: str = "cisco_ios"
    username: str
    password_file: Path
    secret_file: Path
    access_ports: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not HOST_NAME_RE.fullmatch(value):
            raise ValueError(f"invalid lab switch name: {value!r}")
        return value


class SwitchLabState(BaseModel):
    """What ``SwitchLab.down()`` needs (pid, and the config path that proves the pid is ours) and users need."""

    model_config = ConfigDict(frozen=True)

    name: str
    switches: tuple[LabSwitch, ...]
    pid: int
    config: Path
    known_hosts: Path = Field(description="host key of every switch, as [127.0.0.1]:port lines")
    created_at: datetime


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
    # Defaults keep lab.json files written before the switches existed loadable.
    switches: tuple[LabSwitch, ...] = ()
    switch_pid: int | None = None
    switch_known_hosts: Path | None = None
    warnings: tuple[str, ...] = ()
    gateway: GatewayLabState | None = Field(default=None, description="the SPLP API gateway (Express Gateway)")
    vpn: LabVpn | None = None
    incident: LabIncident | None = None
    config_file: Path | None = Field(default=None, description="spbe settings pointing at this lab (spbe.toml)")
    network_inventory: Path | None = Field(default=None, description="the network inventory of this lab's switches")
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

    def switch(self, name: str) -> LabSwitch:
        """Look a switch up by name; a KeyError names the switches that do exist."""
        for switch in self.switches:
            if switch.name == name:
                return switch
        raise KeyError(f"{name!r} is not in lab {self.name!r} (switches: {[s.name for s in self.switches]})")
