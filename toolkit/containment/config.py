"""Containment settings (``settings.containment``): who may contain, what stays reachable, the quarantine VLAN."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.domain.catalog.roles import RoleBook, RoleTrait


class ContainmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[str, ...] | None = Field(
        default=None, min_length=1,
        description="roles that may contain and release; None: the role book's 'contains' roles (the CSIRT)")

    def effective_roles(self, roles: RoleBook) -> tuple[str, ...]:
        """``roles``: the catalog's role book, whose ``contains`` roles act when none are configured."""
        return self.roles or tuple(sorted(roles.with_trait(RoleTrait.CONTAINS)))
    management_cidrs: tuple[str, ...] = Field(
        default=(), description="CSIRT management addresses an isolated host still talks to; empty: the "
                                "inventory host's spbe_csirt_mgmt_cidrs")
    quarantine_mode: Literal["vlan", "shutdown"] = "vlan"
    quarantine_vlan: int = Field(default=999, ge=2, le=4094, description="VLAN of quarantined access ports")
    network_inventory: Path | None = Field(default=None, description="the network inventory the switch ports "
                                                                     "are looked up in; None: network.inventory")
    apply: Literal["ssh", "playbook"] = Field(
        default="ssh", description="how a host is isolated and released: 'ssh', one SSH session from a warm "
                                   "connection (toolkit/containment/host_ssh.py, well under a second); "
                                   "'playbook', ansible-playbook contain_isolate_host.yml / release_host.yml "
                                   "(seconds; also what operators run by hand). Both write the same table.")
    ssh_connect_timeout_s: float = Field(default=10.0, gt=0, le=120, description="fast path: SSH connect, "
                                                                               "key exchange and login")
    ssh_command_timeout_s: float = Field(default=60.0, gt=0, le=600, description="fast path: the isolation or "
                                                                               "release script on the host")
    ssh_idle_s: float = Field(default=300.0, ge=0, le=3600,
                              description="a warm SSH connection unused this long is closed (0: never kept)")
