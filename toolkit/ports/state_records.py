"""The records the engine's small stores hold (`toolkit.ports.state`), as frozen models.

They live beside the ports rather than in the features that fill them so that a store implementation
(`integrations/state`, or a server database later) depends only on the ports and the domain: the
network, VPN, containment and SPLP code imports them from here, never the other way round.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.ports.gateway import CredentialKind


class SegmentAllocation(BaseModel):
    """One ticket's share of the network pools; ``ports`` maps device -> access interfaces."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    site: str
    vlan_id: int
    subnet: ipaddress.IPv4Network
    ports: dict[str, tuple[str, ...]]
    users: int
    allocated_at: datetime


class TunnelSlot(BaseModel):
    """A (ticket, step)'s tunnel slot on one DC gateway, with the site LAN it routes (overlap checks)."""

    model_config = ConfigDict(frozen=True)
    ticket: str
    step: str
    dc_host: str
    slot: int = Field(ge=0)
    site_lan: ipaddress.IPv4Network


class RackSpace(BaseModel):
    """A colocation ticket's rack units (``unit_start`` .. ``unit_start + units - 1``) and power budget in one rack."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    rack: str
    unit_start: int = Field(ge=1)
    units: int = Field(ge=1)
    power_watt: int = Field(ge=1)
    allocated_at: datetime

    @property
    def unit_range(self) -> range:
        return range(self.unit_start, self.unit_start + self.units)


class ContainmentKind(StrEnum):
    ISOLATE_HOST = "isolate_host"
    QUARANTINE_PORT = "quarantine_port"
    ACCESS = "access"


class ContainmentStatus(StrEnum):
    APPLYING = "applying"  # recorded before touching the target: a crash leaves evidence of the attempt
    ACTIVE = "active"
    FAILED = "failed"
    RELEASING = "releasing"
    RELEASED = "released"


OPEN_STATES = (ContainmentStatus.APPLYING, ContainmentStatus.ACTIVE, ContainmentStatus.RELEASING)


class ContainmentRecord(BaseModel):
    """One containment of one target. ``before`` is the state release restores; ``applied`` what was done."""

    model_config = ConfigDict(frozen=True)
    id: str
    ticket_id: str
    kind: ContainmentKind
    target: str
    status: ContainmentStatus
    actor: str
    created_at: datetime
    updated_at: datetime
    params: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, Any] = Field(default_factory=dict)
    applied: dict[str, Any] = Field(default_factory=dict)
    released_by: str | None = None
    released_at: datetime | None = None
    release: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """The record without bulky before-state contents: for listings, the audit log and the ticket."""
        return {
            "id": self.id, "ticket": self.ticket_id, "kind": self.kind.value, "target": self.target,
            "status": self.status.value, "actor": self.actor, "created_at": self.created_at.isoformat(),
            "released_by": self.released_by,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "params": self.params,
        }  # fmt: skip


CredentialStatus = Literal["active", "expiring", "revoked", "expired"]


class IssuedCredential(BaseModel):
    """What `spbe api list` shows for one ticket's credential (never the secret: that is in the vault)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: str
    api: str
    consumer: str
    consumer_id: str
    gateway: str
    kind: CredentialKind
    key_id: str
    masked: str = Field(description="last 4 characters of the key")
    per_minute: int
    endpoint: str
    applicant: str
    oauth2_client: str | None = None
    issued_at: datetime
    expires_at: datetime
    status: CredentialStatus = "active"
    ended_at: datetime | None = None
    ended_by: str | None = None
    reason: str | None = None

    def status_at(self, now: datetime) -> Literal["active", "revoked", "expired"]:
        """The status a person should see: a credential past its date is expired even before the
        sweep has revoked it at the gateway."""
        if self.status == "revoked":
            return "revoked"
        if self.status in ("expired", "expiring") or self.expires_at <= now:
            return "expired"
        return "active"


class EscalationClaim(BaseModel):
    """One (ticket, escalation key) claim; ``notified_at`` is None until the notification went out."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    key: str
    notified_at: datetime | None = None


def utc_iso(value: datetime | None) -> str | None:
    """The one text form of an instant in the stores: UTC, seconds (comparable as text in SQL)."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")
