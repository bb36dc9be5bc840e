"""``evidence.collect``: the SOP's "analisis insiden siber dan pengumpulan bukti dukung" as an action.

The affected object is the ticket's ``objek_terdampak`` resolved in the inventory; what is collected
is the settings' default set (``settings.evidence.default_logs`` / ``default_hash_paths``), already
inside the allowed set. A sealed bundle is attached to the ticket as a ``.tar.gz`` when it is at most
``settings.evidence.attach_max_bytes``; a larger one stays on the control node and the ticket gets
its path and hashes (the custody record says which happened).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from toolkit.actions.base import (
    ActionContext,
    ActionFacts,
    ActionPlan,
    ActionResult,
    Artifact,
    BaseAction,
    RunContext,
)
from toolkit.at_rest import Sealer
from toolkit.errors import NotFoundError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.collect import CollectedBundle, build_request, collect, resolve_host
from toolkit.evidence.manifest import Person, sha256_bytes


def responsible(ctx: ActionContext) -> Person:
    """Who answers for the step: the ticket's assignee when they hold the step's role, otherwise the
    first holder of the role in the directory."""
    role = str(ctx.step.actor)
    if ctx.ticket.assignee:
        try:
            person = ctx.directory.person(ctx.ticket.assignee)
        except NotFoundError:
            person = None
        if person is not None and person.has_role(role):
            return Person(username=person.username, name=person.name, roles=tuple(sorted(person.roles)))
    holders = ctx.directory.people_with_role(role)
    if holders:
        first = holders[0]
        return Person(username=first.username, name=first.name, roles=tuple(sorted(first.roles)))
    return Person(username="spbe", name="Sistem", roles=())


def affected_host(ctx: ActionContext) -> tuple[str, str]:
    name = ctx.ticket.fields.get("objek_terdampak")
    if not name:
        raise NotFoundError(f"ticket {ctx.ticket.id} names no affected object (objek_terdampak)")
    return resolve_host(ctx.settings.effective_inventory(), str(name))


def _archive(result: CollectedBundle, ctx: ActionContext, run: RunContext) -> tuple[dict[str, Any], Artifact | None]:
    name = f"bukti_{result.manifest.bundle_id}.tar.gz"
    sealer = Sealer.from_settings(ctx.settings)
    path = bundles.pack(result.bundle_dir, run.work_dir / name, sealer)  # sealed; the outbox attaches it in clear
    data = bundles.read_archive(path, sealer)
    info = {"name": name, "size": len(data), "sha256": sha256_bytes(data), "path": str(path),
            "bundle_dir": str(result.bundle_dir)}
    attach = len(data) <= ctx.settings.evidence.attach_max_bytes
    actor = result.manifest.collected_by.username
    if attach:
        bundles.append_custody(result.bundle_dir, actor, "attached",
                               {"ticket": ctx.ticket.id, "archive": name, "archive_sha256": info["sha256"]})
        return info | {"attached": True}, Artifact(name=name, path=path, media_type="application/gzip",
                                                   kind="bukti_insiden")
    bundles.append_custody(result.bundle_dir, actor, "referenced",
                           {"ticket": ctx.ticket.id, "archive": str(path), "archive_sha256": info["sha256"],
                            "reason": f"larger than {ctx.settings.evidence.attach_max_bytes} bytes"})
    return info | {"attached": False}, None


class EvidencePlan(ActionPlan):
    action: Literal["evidence.collect"] = "evidence.collect"
    playbook: str = "collect_evidence.yml"
    host: str
    address: str
    logs: tuple[str, ...]
    hash_paths: tuple[str, ...]
    collected_by: str


class EvidenceFacts(ActionFacts):
    bundle_id: str
    manifest_sha256: str
    host: str
    address: str
    collected_by: str
    collected_at: str
    files: list[dict[str, Any]]
    not_collected: list[dict[str, Any]]
    remote_hashes: list[dict[str, Any]]
    archive: dict[str, Any]


class EvidenceCollectAction(BaseAction):
    name = "evidence.collect"
    idempotent = True  # read-only on the host; a re-run seals a new bundle beside the first
    Plan = EvidencePlan
    Facts = EvidenceFacts

    def plan(self, ctx: ActionContext) -> EvidencePlan:
        host, address = affected_host(ctx)
        request = build_request(ctx.settings.evidence, ticket_id=ctx.ticket.id, host=host, address=address)
        person = responsible(ctx)
        return EvidencePlan(host=host, address=address, logs=tuple(request.logs),
                            hash_paths=tuple(request.hash_paths), collected_by=person.username)

    def execute(self, ctx: ActionContext, plan: EvidencePlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        request = build_request(ctx.settings.evidence, ticket_id=ctx.ticket.id, host=plan.host,
                                address=plan.address, logs=list(plan.logs), hash_paths=list(plan.hash_paths))
        result = collect(request=request, cfg=ctx.settings.evidence, state_dir=ctx.settings.state_dir,
                         playbooks_dir=ctx.settings.playbooks_dir, inventory=ctx.settings.effective_inventory(),
                         collected_by=responsible(ctx),
                         work_dir=run.work_dir / f"runner-job{run.job_id}-a{run.attempt}",
                         timeout_s=ctx.settings.playbook_timeout_s, log=run.log, should_cancel=run.should_cancel,
                         mask=run.mask, sealer=Sealer.from_settings(ctx.settings))
        archive, artifact = _archive(result, ctx, run)
        manifest = result.manifest
        run.log(f"sealed {manifest.bundle_id}: {len(manifest.files)} files, manifest sha256 {result.manifest_sha256}")
        facts = EvidenceFacts.model_validate({
            "bundle_id": manifest.bundle_id, "manifest_sha256": result.manifest_sha256, "host": manifest.host.name,
            "address": manifest.host.address, "collected_by": manifest.collected_by.username,
            "collected_at": manifest.collected_at.isoformat(), "files": [
                {"path": f.path, "sha256": f.sha256, "size": f.size, "kind": f.kind, "source": f.source}
                for f in manifest.files],
            "not_collected": [n.model_dump(mode="json") for n in manifest.not_collected],
            "remote_hashes": [h.model_dump(mode="json") for h in manifest.remote_hashes],
            "archive": archive,
        })
        comment = run.services.renderer.render("comments", "bukti_insiden", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "job_id": run.job_id,
            "bukti": facts.model_dump(mode="json"), "durasi_s": time.monotonic() - started,
        })
        return ActionResult(ok=True, summary=f"evidence {manifest.bundle_id} from {manifest.host.name}: "
                                             f"{len(manifest.files)} files sealed",
                            comment=run.mask(comment), facts=facts, changed=[],
                            artifacts=[artifact] if artifact else [], duration_s=time.monotonic() - started)
