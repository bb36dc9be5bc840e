"""Deliver a notify step's notice beyond the ticket, through the configured `Notifier`.

With the default ``timeline`` notifier the ticket comment *is* the notice, and nothing more happens.
With another (``smtp``) the same Indonesian text is also sent to the step's recipients: people of the
directory holding the step's roles, and the applicant; a confidential reporter is reached only through
the contact they gave (``pelapor_kontak``) when it is an e-mail address, and is named "Pelapor".
"""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.actions.base import ActionContext
from toolkit.domain.catalog.roles import RoleBook, RoleTrait
from toolkit.domain.confidentiality import reporter_confidential
from toolkit.domain.tickets.field_types import is_email
from toolkit.ports.notifier import Delivery, Notification, Notifier, Recipient


def applicant_roles(roles: RoleBook) -> frozenset[str]:
    return roles.with_trait(RoleTrait.APPLICANT)


def reporter_role(roles: RoleBook) -> str:
    """A confidential reporter is addressed by the role's name, never their own (toolkit.domain.confidentiality)."""
    return min(roles.with_trait(RoleTrait.REPORTER))


def _applicant(ctx: ActionContext) -> Recipient | None:
    fields = ctx.ticket.fields
    if reporter_confidential(ctx.service):
        contact = str(fields.get("pelapor_kontak") or "")
        reporter = reporter_role(ctx.roles)
        return Recipient(username=reporter, name=ctx.roles.label(reporter) or reporter, email=contact,
                         role=reporter) \
            if is_email(contact) else None
    try:
        person = ctx.directory.person(ctx.ticket.requester)
    except Exception:  # noqa: BLE001 - NotFoundError: an applicant outside the directory
        person = None
    email = (person.email if person else None) or fields.get("kontak_email")
    name = person.name if person else ctx.ticket.requester
    applicant = min(applicant_roles(ctx.roles) - {reporter_role(ctx.roles)})
    return Recipient(username=ctx.ticket.requester, name=name, email=email, role=applicant) if email else None


def recipients(ctx: ActionContext, roles: list[str]) -> tuple[Recipient, ...]:
    found: dict[str, Recipient] = {}
    for role in roles:
        if role in applicant_roles(ctx.roles):
            applicant = _applicant(ctx)
            if applicant is not None:
                found.setdefault(applicant.username, applicant)
            continue
        for person in ctx.directory.people_with_role(role):
            found.setdefault(person.username, Recipient(username=person.username, name=person.name,
                                                        email=person.email, role=role))
    return tuple(found.values())


def deliver(ctx: ActionContext, notifier: Notifier, to_roles: Sequence[str], text: str,
            job_id: int) -> Delivery | None:
    """Send ``text`` through the configured notifier (the root's) unless it is the ticket timeline; None if
    not sent."""
    cfg = ctx.settings.notifier
    if cfg.kind == "timeline":
        return None
    to = recipients(ctx, list(to_roles))
    if not to:
        return Delivery(channel=cfg.kind)
    subject = f"[{ctx.ticket.id}] {ctx.step.title}"[:200]
    return notifier.send(Notification(ticket_id=ctx.ticket.id, key=f"{ctx.ticket.id}:{ctx.step.id}:job{job_id}",
                                      subject=" ".join(subject.split()), body=text, recipients=to,
                                      step_id=ctx.step.id))
