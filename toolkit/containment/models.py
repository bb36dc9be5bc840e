"""Containment requests (validated before anything is touched) and records (what was changed, and how it was).

A request is what the CSIRT asks for; a record is what the toolkit did, with the target's state *before*
the change (``before``) so that ``release`` can put it back exactly. Records are JSON-able data: they are
stored (the state port's `ContainmentRecords`, in ``toolkit.ports.state``), audited and summarised on the ticket.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.field_types import OptionalReason
from toolkit.domain.tickets.models import Username

# The stored record and its enums are the state port's (`toolkit.ports.state`); imported from here too.
from toolkit.ports.state_records import ContainmentKind as ContainmentKind
from toolkit.ports.state_records import ContainmentRecord as ContainmentRecord
from toolkit.ports.state_records import ContainmentStatus as ContainmentStatus

HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
ACCOUNT_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
DEVICE_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
INTERFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,30}\d{1,2}(/\d{1,2}){0,2}$")
TICKET_RE = r"^[A-Za-z0-9._-]{1,64}$"
GATEWAY_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
IDP_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MAX_ITEMS = 32


def _pattern(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value[:80]!r} is not a valid {what}")
        return value
    return AfterValidator(check)


def check_cidr(value: str) -> str:
    """A network in canonical form (host bits zero); ``10.0.0.5`` is taken as ``10.0.0.5/32``."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as exc:
        raise ValueError(f"{value[:60]!r} is not a network address: {exc}") from None


HostName = Annotated[str, _pattern(HOST_RE, "inventory host name")]
Account = Annotated[str, _pattern(ACCOUNT_RE, "local account name")]
DeviceName = Annotated[str, _pattern(DEVICE_RE, "device name")]
InterfaceName = Annotated[str, _pattern(INTERFACE_RE, "interface name")]
GatewayConsumer = Annotated[str, _pattern(GATEWAY_NAME_RE, "gateway consumer name")]
IdpUser = Annotated[str, _pattern(IDP_USER_RE, "identity provider user name")]
Cidr = Annotated[str, AfterValidator(check_cidr)]
TicketId = Annotated[str, Field(pattern=TICKET_RE)]


class ContainmentRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: TicketId
    actor: Username
    auth: AuthMethod  # how the actor was authenticated (recorded in every audit entry)
    reason: OptionalReason = ""


class IsolateHostRequest(ContainmentRequest):
    host: HostName
    management_cidrs: tuple[Cidr, ...] | None = Field(
        default=None, max_length=MAX_ITEMS, description="None: settings, then the inventory host's own list")


class QuarantinePortRequest(ContainmentRequest):
    device: DeviceName
    interface: InterfaceName
    mode: Literal["vlan", "shutdown"] | None = Field(default=None, description="None: settings.containment")
    vlan: int | None = Field(default=None, ge=2, le=4094, description="None: settings.containment")


class AccessRequest(ContainmentRequest):
    host: HostName | None = Field(default=None, description="host whose local accounts are locked")
    accounts: tuple[Account, ...] = Field(default=(), max_length=MAX_ITEMS)
    gateway_consumers: tuple[GatewayConsumer, ...] = Field(default=(), max_length=MAX_ITEMS)
    idp_users: tuple[IdpUser, ...] = Field(default=(), max_length=MAX_ITEMS)


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: TicketId
    actor: Username
    auth: AuthMethod
    record_id: str | None = Field(default=None, pattern=r"^C[0-9]{1,9}$")
    kind: ContainmentKind | None = None
    target: str | None = Field(default=None, max_length=200)
    reason: OptionalReason = ""


class StepOutcome(BaseModel):
    """One part of an access change (accounts, gateway, identity provider): done, not configured or failed."""

    model_config = ConfigDict(frozen=True)
    part: str
    status: Literal["done", "not_configured", "nothing_to_do", "failed"]
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
