"""Rich rendering shared by the CLI commands (tables for people, JSON for scripts)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from toolkit.tickets.models import Ticket, TimelineEvent
from toolkit.workflow import WorkflowState

PRIVILEGED_VIEWERS = frozenset({"koordinator-layanan", "csirt"})
HIDDEN = "[dirahasiakan]"
STATUS_LABEL = {"open": "baru", "in_progress": "diproses", "deferred": "ditunda", "closed": "ditutup"}
_STATUS_MARK = {"done": "[green]✓ selesai[/]", "current": "[yellow]▶ berjalan[/]", "pending": "· menunggu",
                "skipped": "[dim]– dilewati[/]"}


def emit_json(console: Console, data: Any) -> None:
    def default(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    console.print_json(json.dumps(data, default=default, ensure_ascii=False))


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def visible_fields(service: Any, ticket: Ticket, viewer_roles: frozenset[str]) -> dict[str, Any]:
    """Confidential fields (reporter identity) are shown only to the roles the SOP trusts with them."""
    show = bool(viewer_roles & PRIVILEGED_VIEWERS)
    out: dict[str, Any] = {}
    for spec in service.requirements.fields:  # the catalog's order, as the applicant filled them in
        if spec.name in ticket.fields:
            value = ticket.fields[spec.name]
            out[spec.name] = value if show or not spec.confidential else HIDDEN
    return out


def display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return str(value)


def ticket_table(tickets: list[Ticket]) -> Table:
    table = Table(title="Tiket")
    for col in ("ID", "Layanan", "Judul", "Pemohon", "Status", "Dibuka"):
        table.add_column(col)
    for t in tickets:
        table.add_row(*map(escape, (t.id, t.service_id, t.title, t.requester, t.status.value, when(t.created_at))))
    return table


def ticket_detail(console: Console, service: Any, ticket: Ticket, state: WorkflowState,
                  timeline: list[TimelineEvent], fields: dict[str, Any]) -> None:
    console.print(f"[bold]{ticket.id}[/] — {escape(ticket.title)}")
    status = STATUS_LABEL[ticket.status.value]
    console.print(f"Layanan: {escape(service.name)} ({service.id})   Status: [bold]{status}[/]   "
                  f"Pemohon: {ticket.requester}   Ditugaskan: {ticket.assignee or '-'}")
    sla = state.sla
    flag = "[red]TERLAMPAUI[/]" if sla.breached else "dalam batas"
    console.print(f"SLA: {escape(sla.label)} — tenggat {when(sla.deadline)} ({flag})")
    fields_table = Table(title="Data permohonan", show_header=False)
    labels = {f.name: f.label for f in service.requirements.fields}
    for name, value in fields.items():
        fields_table.add_row(escape(labels.get(name, name)), escape(display(value)))
    console.print(fields_table)
    if ticket.attachments:
        att = Table(title="Lampiran")
        for col in ("Nama", "Jenis", "Ukuran", "SHA-256", "Oleh"):
            att.add_column(col)
        for a in ticket.attachments:
            att.add_row(escape(a.name), a.kind or "-", str(a.size), a.sha256[:16] + "…", a.added_by)
        console.print(att)
    steps = Table(title="Tahapan SOP")
    for col in ("No", "Langkah", "Pelaksana", "Jenis", "Status", "Selesai"):
        steps.add_column(col)
    for s in state.steps:
        late = " [red](terlambat)[/]" if s.late else ""
        steps.add_row(str(s.step.sop_no or "+"), escape(s.step.title), s.step.actor, str(s.step.kind),
                      _STATUS_MARK[s.status.value] + late, when(s.completed_at))
    console.print(steps)
    events = Table(title="Riwayat")
    for col in ("#", "Waktu", "Oleh", "Jenis", "Keterangan"):
        events.add_column(col)
    for e in timeline:
        events.add_row(str(e.seq), when(e.at), e.actor, e.kind.value, escape(e.text))
    console.print(events)


def job_table(jobs: list[Any]) -> Table:
    table = Table(title="Jobs")
    for col in ("ID", "Ticket", "Step", "Action", "State", "Attempt", "Started", "Finished", "Error"):
        table.add_column(col)
    for j in jobs:
        table.add_row(str(j.id), j.ticket_id, j.step_id, j.action, j.state.value, str(j.attempt),
                      when(j.started_at), when(j.finished_at), escape((j.error or "")[:60]))
    return table
