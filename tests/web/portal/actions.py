"""The test berita acara for ``uji-berkas``: a real action run by the real engine, writing a short markdown
document that the outbox attaches to the ticket, as the document steps of the real services do."""

from __future__ import annotations

from toolkit.actions.base import ActionContext, ActionPlan, ActionResult, Artifact, BaseAction, RunContext
from toolkit.private_files import write_private


class BeritaAcaraPlan(ActionPlan):
    filename: str


class BeritaAcaraUji(BaseAction):
    name = "test.berita_acara"
    Plan = BeritaAcaraPlan

    def plan(self, ctx: ActionContext) -> BeritaAcaraPlan:
        return BeritaAcaraPlan(action=self.name, filename=f"berita_acara_instalasi_server_{ctx.ticket.id}.md")

    def execute(self, ctx: ActionContext, plan: BeritaAcaraPlan, run: RunContext) -> ActionResult:
        path = run.work_dir / plan.filename
        write_private(path, f"# Berita Acara Instalasi Server\n\nTiket {ctx.ticket.id}: server "
                            f"{ctx.ticket.fields.get('hostname')} telah dipasang.\n")
        return ActionResult(ok=True, summary="berita acara", comment="Berita acara instalasi server dibuat.",
                            artifacts=[Artifact(name=plan.filename, path=path, media_type="text/markdown",
                                                kind="berita_acara_instalasi_server")])


BERITA_ACARA = BeritaAcaraUji()
