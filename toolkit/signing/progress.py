"""Where a document's signing stands, read from the ticket: shared by the signing command and the desk's
`record_step` (which must not record the SOP's signing step before every party has signed).

A signature counts when a timeline comment carries its record (``data["signature"]``) and was posted
by the signer themselves; the signing command also checks the file's own signatures against that
count before it adds one, so a forged record cannot stand in for a signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.domain.catalog.models import Service, Step, StepKind
from toolkit.domain.policy import SIGNATURE
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import AttachmentRef, Ticket
from toolkit.errors import ConflictError, IntegrityError, NotFoundError

if TYPE_CHECKING:
    from toolkit.services import Services

ENROL_ACTION = "signing.enroll"


@dataclass(frozen=True)
class SigningState:
    document: str
    step: Step
    done: tuple[dict[str, Any], ...]  # the signature records, in order

    @property
    def complete(self) -> bool:
        return len(self.done) >= len(self.step.signers)

    @property
    def next_role(self) -> str | None:
        return None if self.complete else self.step.signers[len(self.done)]


def signing_state(app: Services, ticket: Ticket, service: Service, document: str) -> SigningState:
    step = service.signing_step(document)
    if step is None:
        raise NotFoundError(f"no one signs a '{document}' in service {service.id}", document=document)
    done = tuple(e.data[SIGNATURE] for e in app.policy.signatures(ticket, step, app.tickets.timeline(ticket.id)))
    return SigningState(document=document, step=step, done=done)


def source_pdf(ticket: Ticket, state: SigningState) -> AttachmentRef:
    """The version to sign next: the newest one the engine rendered when nobody has signed yet (a PDF of
    that kind attached by a person is never taken for the document), else the one the last signature
    produced, which must still be the newest (a version attached after it stops the signing)."""
    pdfs = [a for a in ticket.attachments if a.kind == state.document and a.media_type == "application/pdf"]
    if state.done:
        recorded = state.done[-1].get("attachment")
        if not pdfs or pdfs[-1].name != recorded:
            raise IntegrityError(f"a version of '{state.document}' on {ticket.id} was attached after the last "
                                 f"signature ({pdfs[-1].name if pdfs else 'none'}, expected {recorded}): not signing",
                                 ticket=ticket.id)
        return pdfs[-1]
    rendered = [a for a in pdfs if a.added_by == ENGINE_USER]
    if not rendered:
        raise NotFoundError(f"ticket {ticket.id} has no rendered PDF of '{state.document}' to sign", ticket=ticket.id)
    return rendered[-1]


def require_signed(app: Services, ticket: Ticket, step: Step) -> None:
    """For `record_step`: a signing step is recorded only when every party has signed (ConflictError)."""
    if not step.signers or step.signs is None:
        return
    service = app.catalog.get(ticket.service_id)
    state = signing_state(app, ticket, service, step.signs)
    if not state.complete:
        raise ConflictError(f"step '{step.id}' is done when every party has signed '{step.signs}' "
                            f"({len(state.done)} of {len(step.signers)} so far; 'spbe document sign')",
                            ticket=ticket.id)




def activation_step(service: Service) -> Step | None:
    """The human step right after the enrolment action (``signing.enroll``): the applicant's activation."""
    for index, step in enumerate(service.steps[:-1]):
        if step.action == ENROL_ACTION:
            following = service.steps[index + 1]
            return following if following.kind is StepKind.HUMAN else None
    return None


def require_evidence(app: Services, ticket: Ticket, step: Step) -> None:
    """For `record_step`: a step whose proof is a signature or a certificate is recorded only with it. The
    SOP's signing step needs every party's signature; the activation step of *Tanda Tangan Elektronik*
    needs this ticket's activation to have been used (`spbe sign activate`). ConflictError otherwise."""
    require_signed(app, ticket, step)
    service = app.catalog.get(ticket.service_id)
    found = activation_step(service)
    if found is None or found.id != step.id:
        return
    from toolkit.signing.activation import Activations

    try:
        activation = Activations(Path(app.settings.state_dir) / "signing").get(ticket.requester)
    except NotFoundError:
        activation = None
    if activation is None or activation.ticket_id != ticket.id or activation.used_at is None:
        raise ConflictError(f"step '{step.id}' is done when {ticket.requester} has activated the certificate "
                            "('spbe sign activate')", ticket=ticket.id)
