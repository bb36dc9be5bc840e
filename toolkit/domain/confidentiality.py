"""The reporter's secrecy: "Data pelapor dilindungi dan dijamin kerahasiaannya" (Gorontalo SOP).

For a service whose catalog marks fields ``confidential`` (the reporter's name and contact), the
reporter is hidden from every viewer outside `PRIVILEGED_VIEWERS`: the confidential field values, the
ticket's requester (their username identifies them) and their name wherever the timeline, a document
or a notice would show it. This module decides *who is hidden from whom*; documents
(`toolkit.document_context`) and the CLI apply it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolkit.domain.catalog.loader import packaged_roles
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.tickets.models import Ticket, TimelineEvent

PRIVILEGED_VIEWERS = packaged_roles().with_trait(RoleTrait.SEES_CONFIDENTIAL)
REPORTER_ROLES = packaged_roles().with_trait(RoleTrait.REPORTER)
HIDDEN = "[dirahasiakan]"


def reporter_confidential(service: Any) -> bool:
    return bool(service.requirements.confidential_fields)


def privileged(viewer_roles: Iterable[str]) -> bool:
    return bool(frozenset(viewer_roles) & PRIVILEGED_VIEWERS)


def hidden_users(service: Any, ticket: Ticket, viewer_roles: Iterable[str]) -> frozenset[str]:
    """Usernames this viewer must not see on this ticket (the reporter, for confidential services)."""
    if reporter_confidential(service) and not privileged(viewer_roles):
        return frozenset({ticket.requester})
    return frozenset()


def redact_ticket(service: Any, ticket: Ticket, viewer_roles: Iterable[str]) -> Ticket:
    roles = frozenset(viewer_roles)
    if privileged(roles):
        return ticket
    secret = set(service.requirements.confidential_fields)
    fields = {k: (HIDDEN if k in secret and v not in (None, "") else v) for k, v in ticket.fields.items()}
    hidden = hidden_users(service, ticket, roles)
    requester = HIDDEN if ticket.requester in hidden else ticket.requester
    attachments = tuple(a.model_copy(update={"added_by": HIDDEN}) if a.added_by in hidden else a
                        for a in ticket.attachments)
    return ticket.model_copy(update={"fields": fields, "requester": requester, "attachments": attachments})


def redact_events(service: Any, ticket: Ticket, events: Iterable[TimelineEvent],
                  viewer_roles: Iterable[str]) -> list[TimelineEvent]:
    hidden = hidden_users(service, ticket, viewer_roles)
    return [e.model_copy(update={"actor": HIDDEN}) if e.actor in hidden else e for e in events]
