"""Document and notification steps: rendered from the ticket's facts, posted to the ticket.

A berita acara is only as good as the facts under it, so these actions render from the recorded
results of earlier steps (never from free text typed at the end) and fail loudly when a required
fact is missing instead of attaching an incomplete document.

A document is attached twice from one rendering (`toolkit.letters.kit`): the Markdown people read on the
ticket and its PDF (letterhead, number, page numbers, signature blocks), laid out from that same Markdown.
The job's facts name the PDF's number and, per signing party, the page and box where a visible signature
goes (`toolkit.letters.models.SignatureBox`), for the signing step that follows.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.actions.notify.delivery import applicant_roles, reporter_role
from toolkit.document_context import build_context
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.confidentiality import reporter_confidential
from toolkit.letters.models import SignatureBox

_DOCUMENT_MADE = "Dokumen telah dibuat dari hasil langkah-langkah sebelumnya dan dilampirkan pada tiket ini."
_VIEWER: frozenset[str] = frozenset()  # documents are read by the applicant: confidential fields stay hidden


def _context(ctx: ActionContext, run: RunContext) -> dict[str, Any]:
    return build_context(ticket=ctx.ticket, service=ctx.service, prior=ctx.prior, timeline=ctx.timeline,
                         directory=ctx.directory, now=ctx.now, roles=ctx.roles, viewer_roles=_VIEWER,
                         numbers=run.services.letters.numbers)


def signing_order(step: Any) -> tuple[str, ...]:
    """The roles of the SOP step in the order the SOP gives them: its participants, then its actor."""
    return tuple(dict.fromkeys((*(getattr(step, "participants", ()) or ()), str(step.actor))))


class DocumentPlan(ActionPlan):
    action: Literal["document.render"] = "document.render"
    template: str
    filename: str
    step: str


class NotifyPlan(ActionPlan):
    action: Literal["notify.ticket"] = "notify.ticket"
    template: str
    to_roles: tuple[str, ...]
    step: str


class DocumentFacts(ActionFacts):
    dokumen: str
    pdf: str
    nomor: list[str]
    halaman: int
    tanda_tangan: list[SignatureBox]


class NotifyFacts(ActionFacts):
    recipients: list[str]
    template: str
    delivery: dict[str, Any] | None = None


class DocumentAction(BaseAction):
    name = "document.render"
    Plan = DocumentPlan
    Facts = DocumentFacts

    def plan(self, ctx: ActionContext) -> DocumentPlan:
        template = str(ctx.step.action)
        return DocumentPlan(template=template, filename=f"{template}_{ctx.ticket.id}.md", step=ctx.step.id)

    def execute(self, ctx: ActionContext, plan: DocumentPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        renderer = run.services.renderer
        applicant = min(ctx.roles.with_trait(RoleTrait.APPLICANT) - ctx.roles.with_trait(RoleTrait.REPORTER),
                        default=None)  # the role the context gives the requester (toolkit.document_context)
        made = run.services.letters.render_document(renderer, plan.template, _context(ctx, run), mask=run.mask,
                                                    applicant_role=applicant, signing_order=signing_order(ctx.step))
        pdf_name = plan.filename.removesuffix(".md") + ".pdf"
        markdown = run.write_artifact(plan.filename, made.markdown, media_type="text/markdown", kind=plan.template)
        pdf = run.write_artifact(pdf_name, made.pdf.pdf, media_type="application/pdf", kind=plan.template)
        run.log(f"rendered {plan.template} ({len(made.markdown)} characters) to {markdown.name}, "
                f"{made.pdf.pages} page(s) to {pdf_name}, number {', '.join(made.numbers) or '-'}")
        comment = renderer.render("comments", "hasil_aksi", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": True, "host": {},
            "durasi_s": time.monotonic() - started, "ringkasan": _DOCUMENT_MADE,
            "lampiran": [plan.filename, pdf_name], "job_id": run.job_id,
        })
        facts = DocumentFacts(dokumen=plan.filename, pdf=pdf_name, nomor=list(made.numbers), halaman=made.pdf.pages,
                              tanda_tangan=list(made.pdf.signatures))
        return ActionResult(ok=True, summary=f"rendered {plan.filename} and {pdf_name}", comment=run.mask(comment),
                            facts=facts,
                            artifacts=[markdown, pdf],
                            duration_s=time.monotonic() - started)


class TicketNotifyAction(BaseAction):
    """Notifications go to the ticket (the applicant reads it there); mail and chat notifiers
    plug in behind the same step later."""

    name = "notify.ticket"
    Plan = NotifyPlan
    Facts = NotifyFacts

    def plan(self, ctx: ActionContext) -> NotifyPlan:
        template = str(ctx.step.action).removeprefix("notify.")
        roles = tuple(ctx.step.participants) or (ctx.step.actor,)
        return NotifyPlan(template=template, to_roles=roles, step=ctx.step.id)

    def execute(self, ctx: ActionContext, plan: NotifyPlan, run: RunContext) -> ActionResult:
        renderer = run.services.renderer
        text = run.mask(renderer.render("comments", plan.template, _context(ctx, run)))
        recipients: list[str] = []
        for role in plan.to_roles:
            if role in applicant_roles(ctx.roles):
                # A confidential reporter is not named in job facts and logs (toolkit.domain.confidentiality).
                recipients.append(reporter_role(ctx.roles) if reporter_confidential(ctx.service)
                                  else ctx.ticket.requester)
            else:
                recipients += [p.username for p in ctx.directory.people_with_role(role)]
        run.log(f"notification {plan.template} to {', '.join(recipients)}")
        from toolkit.actions.notify.delivery import deliver  # the configured notifier (mail), besides the ticket

        sent = deliver(ctx, run.services.notifier, plan.to_roles, text, run.job_id)
        return ActionResult(ok=True, summary=f"notified {', '.join(plan.to_roles)} ({plan.template})",
                            comment=text,
                            facts=NotifyFacts(recipients=recipients, template=plan.template,
                                              delivery=sent.model_dump(mode="json") if sent else None))
