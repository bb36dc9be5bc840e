"""``signing.enroll``: the automated step of the *Tanda Tangan Elektronik* service.

It checks the applicant with the signing service (through the port: BSrE must know the NIK; the
local CA must exist) and records an activation (`toolkit.signing.activation`) for the ticket's
applicant; the applicant then sets their passphrase with ``spbe sign activate``, which issues the
certificate. The passphrase never passes through the ticket, the job or its plan.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError

from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.domain.decisions import effective_fields
from toolkit.errors import InvalidInputError
from toolkit.ports.signing import SignerIdentity
from toolkit.signing.activation import Activations
from toolkit.signing.progress import ENROL_ACTION


class EnrolPlan(ActionPlan):
    action: Literal["signing.enroll"] = "signing.enroll"
    identity: SignerIdentity


class EnrolFacts(ActionFacts):
    username: str = ""
    expires_at: str = ""
    service: str = ""
    state: str = Field(default="", description="the signer's status at the signing service before activation")


class EnrollSignerAction(BaseAction):
    name = ENROL_ACTION
    Plan = EnrolPlan
    Facts = EnrolFacts

    def plan(self, ctx: ActionContext) -> EnrolPlan:
        fields = effective_fields(ctx.ticket.fields, ctx.timeline)
        person = ctx.directory.person(ctx.ticket.requester)
        nip = str(fields.get("nip") or "") or None
        try:
            identity = SignerIdentity(username=person.username, name=person.name,
                                      role=str(fields.get("jabatan") or person.title or "Pemohon"), nip=nip,
                                      organisation=str(fields.get("instansi") or person.opd or "") or None)
        except ValidationError as exc:
            problems = [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            raise InvalidInputError("the signer's identity is not valid: "
                                    + "; ".join(f"{f}: {m}" for f, m in problems), errors=problems) from None
        return EnrolPlan(identity=identity)

    def execute(self, ctx: ActionContext, plan: EnrolPlan, run: RunContext) -> ActionResult:
        signing = run.services.signing  # type: ignore[attr-defined]
        status = signing.status(plan.identity)
        if getattr(signing, "ca", None) is not None and not signing.ca.initialised():
            return ActionResult(ok=False, summary="no signing CA: run 'spbe sign init'",
                                comment="Sertifikat belum dapat diterbitkan: CA tanda tangan elektronik belum dibuat "
                                        "(spbe sign init).")
        activation = Activations(ctx.settings.state_dir / "signing").issue(plan.identity, ctx.ticket.id, ctx.now)
        run.log(f"activation for {plan.identity.username} until {activation.expires_at.isoformat()}")
        comment = (f"Penerbitan sertifikat elektronik untuk {plan.identity.name} disetujui. Pemohon mengaktifkan "
                   f"sertifikat sendiri dengan perintah 'spbe sign activate' dan passphrase pilihannya (passphrase "
                   f"tidak pernah dikirim melalui tiket), paling lambat {activation.expires_at:%d-%m-%Y %H:%M} UTC.")
        return ActionResult(ok=True, summary=f"activation issued for {plan.identity.username}", comment=comment,
                            facts=EnrolFacts(username=plan.identity.username, service=signing.name,
                                             expires_at=activation.expires_at.isoformat(), state=status.state))
