"""What an approver approves, made readable: each job's stored plan (and, for Jaringan Intra, what its
analysis found), and a preview of the automated steps the approval will start.

Why both: a job's plan is made once when its step becomes current and stored with it (`engine.planning`);
for Pusat Data and SPLP the approval comes *before* their work steps are current, so no job exists yet.
The preview calls the same pure ``plan()`` on the context the scheduler will build
(`scheduler.action_context`) with the approval being decided added (`_if_approved`); it allocates
nothing, and the job made after the approval stores the plan anew (the worker runs only that).
Jaringan Intra's head of office approves the analysis job's result: the rendered configuration and
the diff against the running configuration of every device, whose digest the installation checks.

Nothing here is marked safe: the template escapes every value; a diff is split into lines so added
and removed lines can be marked by a class as well as by their sign.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolkit.actions.base import ActionContext
from toolkit.domain.catalog.models import Service, StepKind
from toolkit.domain.tickets.models import EventKind, TimelineEvent
from toolkit.domain.workflow import StepStatus, WorkflowState
from toolkit.engine import scheduler
from toolkit.engine.services import EngineServices
from toolkit.errors import ToolkitError
from toolkit.ports.jobs import Job

LABELS = {  # plan and analysis keys as an approver reads them
    "playbook": "Playbook", "inventory": "Inventaris", "host": "Host", "address": "Alamat", "pool": "Kelompok host",
    "need": "Kebutuhan", "extra_vars": "Variabel", "secret_vars": "Rahasia (nama saja)", "gateway": "Gateway",
    "calls": "Panggilan ke gateway", "api": "API", "consumer": "Konsumen", "per_minute": "Batas laju",
    "ttl_days": "Masa berlaku (hari)", "oauth2": "OAuth2", "needs": "Kebutuhan data", "site": "Lokasi",
    "users": "Jumlah pengguna", "apps": "Aplikasi", "vlan_id": "VLAN", "vlan_name": "Nama VLAN", "subnet": "Subnet",
    "netmask": "Netmask", "usable_hosts": "Alamat yang dapat dipakai", "ports": "Port akses",
    "plan_digest": "Sidik rencana", "devices": "Perangkat", "endpoint": "Endpoint", "ticket": "Tiket",
}


@dataclass(frozen=True)
class Block:
    title: str
    text: str
    kind: str  # config | diff | json

    def diff_lines(self) -> list[tuple[str, str]]:
        return diff_lines(self.text)


def diff_lines(text: str) -> list[tuple[str, str]]:
    """(class, line) of a unified diff: ``tambah`` for an added line, ``hapus`` for a removed one,
    ``kepala-diff`` for file and hunk headers, ``""`` for context."""
    out = []
    for line in text.splitlines():
        if line.startswith(("+++", "---", "@@")):
            out.append(("kepala-diff", line))
        elif line.startswith("+"):
            out.append(("tambah", line))
        elif line.startswith("-"):
            out.append(("hapus", line))
        else:
            out.append(("", line))
    return out


@dataclass(frozen=True)
class PlanView:
    step_id: str
    step_title: str
    action: str
    preview: bool  # planned for this page, not yet a job
    rows: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    digest: str | None = None
    error: str | None = None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "-"
    return str(value)


def _rows(plan: dict[str, Any], skip: tuple[str, ...] = ("action",)) -> list[tuple[str, str]]:
    rows = []
    for key, value in plan.items():
        if key in skip:
            continue
        if key == "request" and isinstance(value, dict):
            rows += _rows(value, skip=(*skip, "ticket"))
        elif key == "per_minute":
            rows.append((LABELS[key], f"{value} permintaan per menit"))
        elif key == "extra_vars" and isinstance(value, dict):
            rows += [(f"{LABELS[key]}: {k}", _text(v)) for k, v in value.items()]
        else:
            rows.append((LABELS.get(key, key), _text(value)))
    return rows


def _analysis(job: Job) -> tuple[list[tuple[str, str]], list[Block]]:
    """Jaringan Intra's analysis result: the segment chosen and, per device, the configuration and diff."""
    facts = ((job.result or {}).get("facts") or {}).get("network", {}).get("analysis")
    if not isinstance(facts, dict):
        return [], []
    rows = [(LABELS.get(k, k), _text(facts.get(k))) for k in
            ("site", "users", "vlan_id", "vlan_name", "subnet", "gateway", "netmask", "usable_hosts", "ports")]
    rows.append(("Aplikasi", ", ".join(str(a.get("name") or a.get("id")) for a in facts.get("apps", []))))
    blocks = []
    for device, lines in (facts.get("rendered") or {}).items():
        blocks.append(Block(f"Konfigurasi {device}", "\n".join(lines), "config"))
        blocks.append(Block(f"Perbedaan dengan konfigurasi berjalan {device}",
                            str((facts.get("diffs") or {}).get(device, "")), "diff"))
    return rows, blocks


def _job_view(service: Service, job: Job) -> PlanView:
    step = next((s for s in service.steps if s.id == job.step_id), None)
    rows = _rows(job.plan)
    blocks: list[Block] = []
    if job.action == "network.analyse":
        found, blocks = _analysis(job)
        rows += found
    if not rows and not blocks and job.plan:
        blocks = [Block("Rencana", json.dumps(job.plan, indent=2, ensure_ascii=False), "json")]
    return PlanView(step_id=job.step_id, step_title=step.title if step else job.step_id, action=job.action,
                    preview=False, rows=rows, blocks=blocks, digest=job.plan_digest, error=job.plan_error)


def _if_approved(app: EngineServices, ticket_id: str, step_id: str, approver: str) -> Callable[[str], ActionContext]:
    """The context the scheduler will build once ``approver`` approved ``step_id``: today's trusted
    timeline plus that approval (SPLP's issuing reads who approved, to check they provide the API)."""
    def context(planned_step: str) -> ActionContext:
        ctx = scheduler.action_context(app, ticket_id, planned_step)
        last = max((e.seq for e in ctx.timeline), default=0)
        approval = TimelineEvent(seq=last + 1, ticket_id=ticket_id, at=app.clock.now(), kind=EventKind.APPROVED,
                                 actor=approver, text="(pratinjau persetujuan)", step_id=step_id)
        return ctx.model_copy(update={"timeline": [*ctx.timeline, approval]})

    return context


def _previews(app: EngineServices, service: Service, after: int, leave_out: set[str],
              context: Callable[[str], ActionContext]) -> list[PlanView]:
    """The automated steps between this approval and the next one (not skipped by a branch), planned now
    for the page as they would be if approved. A step that builds on an earlier one's result says so
    instead of a plan."""
    out = []
    for step in service.steps[after + 1:]:
        if step.kind is StepKind.APPROVAL:
            break
        if step.kind is not StepKind.ACTION or step.id in leave_out or not step.action:
            continue
        action = app.actions.get(step.action)
        if action is None:
            continue
        try:
            plan = action.plan(context(step.id)).model_dump(mode="json")
        except ToolkitError as exc:
            out.append(PlanView(step.id, step.title, step.action, True, error=app.masker(str(exc))))
            continue
        out.append(PlanView(step.id, step.title, step.action, True, rows=_rows(plan)))
    return out


def approval_plans(app: EngineServices, service: Service, ticket_id: str, state: WorkflowState,
                   approver: str) -> list[PlanView]:
    """The ticket's stored plans, oldest first, then (at an approval) the previews of what approving
    it as ``approver`` starts."""
    jobs = app.queue.list_jobs(ticket_id=ticket_id, limit=50)
    views = [_job_view(service, job) for job in sorted(jobs, key=lambda j: j.id)]
    current = state.current
    if current is None or current.kind is not StepKind.APPROVAL:
        return views
    skipped = {s.step.id for s in state.steps if s.status is StepStatus.SKIPPED}
    views += _previews(app, service, service.index_of(current.id), skipped | {j.step_id for j in jobs},
                       _if_approved(app, ticket_id, current.id, approver))
    return views
