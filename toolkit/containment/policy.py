"""Who may contain what, and when: the checks made before any target is touched.

* Only holders of ``settings.containment.roles`` (the CSIRT) contain or release.
* The ticket must be open and **verified as an incident**. Verification is read from the ticket's own
  timeline, so it is recorded where the SOP records it:
    1. any timeline event whose data carries ``"incident_verified": true`` (what a workflow step or a
       CSIRT command posts when it confirms the incident); or
    2. a completed or approved step whose catalog entry has ``verifies_incident: true``; or, until the
       catalog marks its steps, the SOPs' own verification steps: Gorontalo's ``verifikasi-awal`` (the
       coordinator forwards the report "jika laporan terverifikasi") and Surakarta's
       ``penentuan-jenis-insiden`` with ``jenis_insiden = keamanan`` (a security incident, not a general one).
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

from toolkit.decisions import effective_fields
from toolkit.directory import Directory, Person
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent

INCIDENT_SERVICES: dict[str, tuple[str, dict[str, Any]]] = {
    # service id: (its verification step, ticket fields that must hold for it to count)
    "insiden-siber": ("verifikasi-awal", {}),
    "keamanan-informasi": ("penentuan-jenis-insiden", {"jenis_insiden": "keamanan"}),
}
_DONE_KINDS = frozenset({EventKind.APPROVED, EventKind.STEP_COMPLETED})


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)
    verified: bool
    how: str
    event_seq: int | None = None
    by: str | None = None


def require_role(directory: Directory, actor: str, roles: Sequence[str], operation: str) -> Person:
    person = directory.person(actor)  # NotFoundError for an unknown user
    if not any(person.has_role(role) for role in roles):
        raise PermissionDeniedError(
            f"only {' / '.join(roles)} may {operation}; {actor} holds: {', '.join(sorted(person.roles)) or 'none'}",
            user=actor, required=list(roles))
    return person


def incident_verification(service: Any, ticket: Ticket, timeline: Iterable[TimelineEvent]) -> Verification:
    """How (and whether) the ticket was verified as an incident; see the module docstring."""
    events = list(timeline)
    for event in reversed(events):
        if event.data.get("incident_verified") is True:
            return Verification(verified=True, how=f"event #{event.seq} ({event.kind.value})",
                                event_seq=event.seq, by=event.actor)
    marked = {s.id for s in getattr(service, "steps", ()) if getattr(s, "verifies_incident", False)}
    default_step, required = INCIDENT_SERVICES.get(ticket.service_id, (None, {}))
    steps = marked or ({default_step} if default_step else set())
    if not steps:
        return Verification(verified=False, how=f"service {ticket.service_id} is not an incident service")
    fields = effective_fields(ticket.fields, events)  # a branch decided on the way (spbe ticket decide) counts
    mismatched = {k: fields.get(k) for k, v in required.items() if fields.get(k) != v}
    for event in reversed(events):
        if event.kind in _DONE_KINDS and event.step_id in steps:
            if mismatched:
                return Verification(verified=False, how=f"step {event.step_id} done but {mismatched} "
                                                        f"(required: {required})")
            return Verification(verified=True, how=f"step {event.step_id} ({event.kind.value})",
                                event_seq=event.seq, by=event.actor)
    return Verification(verified=False, how=f"none of the verification steps {sorted(steps)} is done")


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
