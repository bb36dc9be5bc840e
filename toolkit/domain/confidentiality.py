"""The reporter's secrecy: "Data pelapor dilindungi dan dijamin kerahasiaannya" (Gorontalo SOP).

For a service whose catalog marks fields ``confidential`` (the reporter's name and contact), the
reporter is hidden from every viewer without a role of the ``sees-confidential`` trait (in the
catalog's role book): the confidential field values, the ticket's requester (their username
identifies them) and their name wherever the timeline, a document or a notice would show it. This
module decides *who is hidden from whom*; documents (`toolkit.document_context`), the CLI and the
portal apply it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolkit.domain.catalog.roles import RoleBook, RoleTrait
from toolkit.domain.tickets.models import Ticket, TimelineEvent

HIDDEN = "[dirahasiakan]"


def reporter_confidential(service: Any) -> bool:
    return bool(service.requirements.confidential_fields)


def privileged(roles: RoleBook, viewer_roles: Iterable[str]) -> bool:
    """``roles`` is the catalog's role book (``catalog.roles``): a deployment's own roles.yaml decides."""
    return bool(frozenset(viewer_roles) & roles.with_trait(RoleTrait.SEES_CONFIDENTIAL))


def anonymous(service: Any, ticket: Ticket) -> bool:
    """A complaint whose complainant asked to stay anonymous (``complaints.anonymous_field``): hidden from
    every viewer but the complainant, the roles that see confidential reports included ("the koordinator
    sees the complaint, not who sent it"). The viewer who is the requester is not redacted by the callers."""
    spec = getattr(service, "complaints", None)
    return spec is not None and ticket.fields.get(spec.anonymous_field) is True


def hidden_users(roles: RoleBook, service: Any, ticket: Ticket, viewer_roles: Iterable[str]) -> frozenset[str]:
    """Usernames this viewer must not see on this ticket (the reporter, for confidential services)."""
    if anonymous(service, ticket):
        return frozenset({ticket.requester})
    if reporter_confidential(service) and not privileged(roles, viewer_roles):
        return frozenset({ticket.requester})
    return frozenset()


def redact_ticket(roles: RoleBook, service: Any, ticket: Ticket, viewer_roles: Iterable[str]) -> Ticket:
    viewer = frozenset(viewer_roles)
    hiding = anonymous(service, ticket)
    if privileged(roles, viewer) and not hiding:
        return ticket
    secret = set(service.requirements.confidential_fields)
    if hiding:
        secret |= set(service.complaints.identity_fields)
    fields = {k: (HIDDEN if k in secret and v not in (None, "") else v) for k, v in ticket.fields.items()}
    hidden = hidden_users(roles, service, ticket, viewer)
    requester = HIDDEN if ticket.requester in hidden else ticket.requester
    attachments = tuple(a.model_copy(update={"added_by": HIDDEN}) if a.added_by in hidden else a
                        for a in ticket.attachments)
    return ticket.model_copy(update={"fields": fields, "requester": requester, "attachments": attachments})


def redact_events(roles: RoleBook, service: Any, ticket: Ticket, events: Iterable[TimelineEvent],
                  viewer_roles: Iterable[str]) -> list[TimelineEvent]:
    hidden = hidden_users(roles, service, ticket, viewer_roles)
    return [e.model_copy(update={"actor": HIDDEN}) if e.actor in hidden else e for e in events]
