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
