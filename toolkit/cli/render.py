"""Rich rendering shared by the CLI commands (tables for people, JSON for scripts).

Everything a person, a peer or the store wrote reaches the terminal through `plain`: rich markup in
it is escaped, so ``[dirahasiakan]`` shows as written and ``[bold red]`` styles nothing, and the
characters free text may not contain (`toolkit.domain.tickets.field_types.refused_character`: C0/C1
controls, bidi overrides, line separators) are shown as ``\\uXXXX``, because text stored before the
rules, or written by a host, must not drive the terminal or reorder a line either. Markup in a
command's own format strings is the only markup there is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.markup import escape
from rich.table import Table

from toolkit.domain.confidentiality import HIDDEN, PRIVILEGED_VIEWERS
from toolkit.domain.tickets.field_types import refused_character
from toolkit.domain.tickets.models import Ticket, TimelineEvent
from toolkit.domain.workflow import WorkflowState

STATUS_LABEL = {"open": "baru", "in_progress": "diproses", "deferred": "ditunda", "closed": "ditutup"}
_STATUS_MARK = {"done": "[green]✓ selesai[/]", "current": "[yellow]▶ berjalan[/]", "pending": "· menunggu",
                "skipped": "[dim]– dilewati[/]"}


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """Emoji codes off: ``:warning:`` typed into a ticket is text, not a picture."""
    return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=soft_wrap)


def visible(text: str) -> str:
    """``text`` with every character free text may not contain written as a ``\\uXXXX`` escape
    (newlines and tabs stay). The escape is also valid inside a JSON string, so `emit_json` uses it."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if refused_character(c, multiline=True) else c for c in text)


def display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return str(value)


def plain(value: Any) -> str:
    """Any value, shown as plain text inside rich markup (see the module docstring)."""
    return escape(visible(display(value)))


def emit_json(console: Console, data: Any) -> None:
    """Pretty JSON for scripts. Not `Console.print_json`: it parses and re-dumps the text, which
    would undo the escapes `visible` puts in for the terminal."""
    def default(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    text = JSONHighlighter()(visible(json.dumps(data, default=default, ensure_ascii=False, indent=2)))
    text.no_wrap = True
    text.overflow = None
    console.print(text, soft_wrap=True)


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


def ticket_table(tickets: list[Ticket]) -> Table:
    table = Table(title="Tiket")
    for col in ("ID", "Layanan", "Judul", "Pemohon", "Status", "Dibuka"):
        table.add_column(col)
    for t in tickets:
        table.add_row(*map(plain, (t.id, t.service_id, t.title, t.requester, t.status.value, when(t.created_at))))
    return table


def ticket_detail(console: Console, service: Any, ticket: Ticket, state: WorkflowState,
                  timeline: list[TimelineEvent], fields: dict[str, Any]) -> None:
    console.print(f"[bold]{plain(ticket.id)}[/] — {plain(ticket.title)}")
    status = STATUS_LABEL[ticket.status.value]
    console.print(f"Layanan: {plain(service.name)} ({plain(service.id)})   Status: [bold]{status}[/]   "
                  f"Pemohon: {plain(ticket.requester)}   Ditugaskan: {plain(ticket.assignee)}")
    sla = state.sla
    flag = "[red]TERLAMPAUI[/]" if sla.breached else "dalam batas"
    console.print(f"SLA: {plain(sla.label)} — tenggat {when(sla.deadline)} ({flag})")
    fields_table = Table(title="Data permohonan", show_header=False)
    labels = {f.name: f.label for f in service.requirements.fields}
    for name, value in fields.items():
        fields_table.add_row(plain(labels.get(name, name)), plain(value))
    console.print(fields_table)
    if ticket.attachments:
        att = Table(title="Lampiran")
        for col in ("Nama", "Jenis", "Ukuran", "SHA-256", "Oleh"):
            att.add_column(col)
        for a in ticket.attachments:
            att.add_row(plain(a.name), plain(a.kind), str(a.size), plain(a.sha256[:16]) + "…", plain(a.added_by))
        console.print(att)
    steps = Table(title="Tahapan SOP")
    for col in ("No", "Langkah", "Pelaksana", "Jenis", "Status", "Selesai"):
        steps.add_column(col)
    for s in state.steps:
        late = " [red](terlambat)[/]" if s.late else ""
        steps.add_row(str(s.step.sop_no or "+"), plain(s.step.title), plain(s.step.actor), plain(s.step.kind),
                      _STATUS_MARK[s.status.value] + late, when(s.completed_at))
    console.print(steps)
    events = Table(title="Riwayat")
    for col in ("#", "Waktu", "Oleh", "Jenis", "Keterangan"):
        events.add_column(col)
    for e in timeline:
        events.add_row(str(e.seq), when(e.at), plain(e.actor), plain(e.kind.value), plain(e.text))
    console.print(events)


def job_table(jobs: list[Any]) -> Table:
    table = Table(title="Jobs")
    for col in ("ID", "Ticket", "Step", "Action", "State", "Attempt", "Started", "Finished", "Error"):
        table.add_column(col)
    for j in jobs:
        table.add_row(str(j.id), plain(j.ticket_id), plain(j.step_id), plain(j.action), plain(j.state.value),
                      str(j.attempt), when(j.started_at), when(j.finished_at), plain((j.error or "")[:60]))
    return table
