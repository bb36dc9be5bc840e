"""When the CSIRT may contain, and what an isolation must keep reachable.

* Who contains is `toolkit.domain.policy.Policy.authorize_containment` (the CSIRT; the member the
  incident was forwarded to, once it was).
* The ticket must be open and **verified as an incident**: the catalog names the service's verification
  step (``incident.verification_step``) and, where the SOP branches, the condition that makes it a
  security incident (``incident.verified_when``: Surakarta's row 4, ``jenis_insiden = keamanan``).
  Verification is read from the ticket's *trusted* timeline (the policy's), so a forged completion of
  the verification step verifies nothing. An event carrying ``"incident_verified": true`` counts too;
  the policy accepts it only from the verification step's role or the CSIRT.
* The management addresses an isolated host keeps must not lock the CSIRT out: not empty, no
  ``0.0.0.0/0`` or ``::/0`` (which isolates nothing), and they must hold the address the control node
  itself connects from (else ansible, and so the release, could never reach the host again).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from toolkit.domain.decisions import effective_fields
from toolkit.domain.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from toolkit.errors import ConflictError, InvalidInputError

_DONE_KINDS = frozenset({EventKind.APPROVED, EventKind.STEP_COMPLETED})


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)
    verified: bool
    how: str
    event_seq: int | None = None
    by: str | None = None


def incident_verification(service: Any, ticket: Ticket, timeline: Iterable[TimelineEvent]) -> Verification:
    """How (and whether) the ticket was verified as an incident; ``timeline`` is the policy's trusted one."""
    events = list(timeline)
    for event in reversed(events):
        if event.data.get("incident_verified") is True:
            return Verification(verified=True, how=f"event #{event.seq} ({event.kind.value})",
                                event_seq=event.seq, by=event.actor)
    if service.incident is None:
        return Verification(verified=False, how=f"service {ticket.service_id} is not an incident service")
    step_id, condition = service.incident.verification_step, service.incident.verified_when
    fields = effective_fields(ticket.fields, events)  # a branch decided on the way (spbe ticket decide) counts
    for event in reversed(events):
        if event.kind in _DONE_KINDS and event.step_id == step_id:
            if condition is not None and not condition.matches(fields):
                return Verification(verified=False, how=f"step {step_id} done but not {condition.describe()} "
                                                        f"({condition.field} = {fields.get(condition.field)})")
            return Verification(verified=True, how=f"step {step_id} ({event.kind.value})",
                                event_seq=event.seq, by=event.actor)
    return Verification(verified=False, how=f"the verification step {step_id} is not done")


def require_verified(service: Any, ticket: Ticket, timeline: Iterable[TimelineEvent]) -> Verification:
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket.id} is closed", ticket=ticket.id)
    verification = incident_verification(service, ticket, timeline)
    if not verification.verified:
        raise ConflictError(f"ticket {ticket.id} is not verified as an incident: {verification.how}",
                            ticket=ticket.id)
    return verification


def control_source_address(address: str, port: int = 22) -> str:
    """The local address this machine uses to reach ``address`` (the kernel's route choice; no packet is sent)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((address, port))
        except OSError as exc:
            raise InvalidInputError(f"no route to {address}: {exc.strerror}",
                                    errors=[("host", "unreachable")]) from None
        return str(sock.getsockname()[0])


def check_management(cidrs: Sequence[str], control_source: str) -> tuple[str, ...]:
    """Refuse a management list that would lock the CSIRT out or isolate nothing; returns it canonical."""
    if not cidrs:
        raise InvalidInputError("the management address list is empty: isolation would lock the CSIRT out",
                                errors=[("management_cidrs", "empty")])
    networks = []
    for value in cidrs:
        try:
            networks.append(ipaddress.ip_network(value, strict=True))
        except ValueError as exc:
            raise InvalidInputError(f"management address {value[:60]!r}: {exc}",
                                    errors=[("management_cidrs", "invalid")]) from None
    for net in networks:
        if net.prefixlen == 0:
            raise InvalidInputError(f"management address {net} allows everyone: the isolation would isolate nothing",
                                    errors=[("management_cidrs", "allows everything")])
    source = ipaddress.ip_address(control_source)
    if not any(source in net for net in networks if net.version == source.version):
        raise InvalidInputError(
            f"management addresses {', '.join(map(str, networks))} leave out {source}, the address this control "
            "node reaches the host from: isolation would cut the CSIRT's own access (and the release) off",
            errors=[("management_cidrs", "locks the control node out")], control_source=str(source))
    return tuple(str(n) for n in networks)
