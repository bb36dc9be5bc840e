"""Offer the satisfaction survey (SKM) to the applicant when their ticket closes.

Every way a ticket closes (the koordinator's close, the engine closing a self-closing service, a
cancellation, an unverified incident report, an outside desk) ends in a status event that the trigger reads
and an `advance` of the ticket, so the offer is made there, once: the notification carries the marker
`OFFER` and the dedupe key ``<ticket>:survey-offer``, so two processes advancing the same closed ticket post
it once. A service whose reporter is confidential gets none (`toolkit.survey.models.surveyed`). The text
(Bahasa Indonesia, `templates/comments/survei_kepuasan.md.j2`) says how to answer: the portal's ticket page
when ``settings.portal.url`` is set, and the CLI command.
"""

from __future__ import annotations

from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus, TimelineEvent
from toolkit.engine.services import EngineServices
from toolkit.survey.ikm import ELEMENTS
from toolkit.survey.models import surveyed

OFFER = "survey_offer"  # data key of the offer's notification


def survey_command(ticket_id: str) -> str:
    return f"spbe survey answer {ticket_id} " + " ".join(f"--{c.lower()} N" for c in ELEMENTS)


def offer_survey(app: EngineServices, ticket: Ticket, timeline: list[TimelineEvent]) -> None:
    """Post the offer on a closed ticket that has none yet (a no-op otherwise)."""
    if ticket.status != TicketStatus.CLOSED or any(OFFER in e.data for e in timeline if e.actor == ENGINE_USER):
        return
    service = app.catalog.get(ticket.service_id)
    if not surveyed(service):
        return
    text = str(app.renderer.render("comments", "survei_kepuasan", {
        "tiket": {"id": ticket.id, "judul": ticket.title}, "layanan": {"nama": service.name},
        "unsur": [{"kode": code, "nama": name} for code, name in ELEMENTS.items()],
        "perintah": survey_command(ticket.id), "tautan": app.settings.portal.ticket_url(ticket.id)}))
    app.tickets.post(ticket.id, NewEvent(kind=EventKind.NOTIFICATION, actor=ENGINE_USER, text=text,
                                         data={OFFER: True}, dedupe_key=f"{ticket.id}:survey-offer"))
