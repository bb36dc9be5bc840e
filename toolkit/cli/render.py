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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.markup import escape
from rich.table import Table

from toolkit.domain.catalog.roles import RoleBook
from toolkit.domain.confidentiality import HIDDEN, privileged
from toolkit.domain.tickets.field_types import refused_character
from toolkit.domain.tickets.models import Ticket, TimelineEvent
from toolkit.domain.workflow import WorkflowState
from toolkit.worktime.calendars import LocalZone

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


def when_short(value: datetime | None, now: datetime | None = None) -> str:
    """A time for a list column, at most 11 characters, the way ``ls -l`` does it: ``MM-DD HH:MM`` in the
    current year, the date ``YYYY-MM-DD`` before it. The full time is in ``show`` and ``--json``."""
    if value is None:
        return "-"
    local = value.astimezone()
    current = (now or datetime.now(local.tzinfo)).astimezone(local.tzinfo)
    return local.strftime("%m-%d %H:%M" if local.year == current.year else "%Y-%m-%d")


@dataclass(frozen=True)
class Column:
    """A column of a list table (`list_table`).

    ``kind="key"``: ids, states, times, numbers, user names: never cut and never wrapped, the column is as
    wide as its widest cell. ``kind="text"``: free text (titles, errors, summaries): wraps in its own column
    and gives way to the keys, down to ``TEXT_MIN`` characters. ``drop``: when the keys and ``TEXT_MIN`` of
    every text column do not fit the terminal, the column with the highest ``drop`` goes first (0: never);
    the table's caption names what went, so the reader knows to look at ``show`` or ``--json``."""

    header: str
    kind: Literal["key", "text"] = "key"
    drop: int = 0
    justify: Literal["left", "right"] = "left"


TEXT_MIN = 12  # a free-text column narrower than this is noise; the column is dropped instead
TEXT_LINES = 3  # free text longer than about this many lines of its column is shortened with "…" (see `show`)
_GAP = 2  # spaces between two columns (no box: a pipe gets plain aligned text, as from ps or kubectl)


def list_table(console: Console, title: str, columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> Table:
    """A list for a terminal of any width, or a pipe: ids, states and times are never cut or wrapped.

    Cells are rich markup (values through `plain`). The widths are worked out here, not left to rich: rich
    cuts a ``no_wrap`` column with "…" once the wrapping columns cannot shrink any further (``SPBE-2026…``),
    and without ``no_wrap`` it wraps every column to a few letters. Here each key column keeps the width of
    its widest cell, optional columns are dropped whole until the rest fits ``console.width``, and free text
    gets what is left, wrapped, shortened with "…" past about `TEXT_LINES` lines."""
    data = [[console.render_str(cell) for cell in row] for row in rows]
    widths = [max([len(col.header)] + [max((cell_len(line) for line in row[i].plain.splitlines()), default=0)
                                       for row in data]) for i, col in enumerate(columns)]

    def floor(i: int) -> int:
        return widths[i] if columns[i].kind == "key" else min(widths[i], TEXT_MIN)

    shown = list(range(len(columns)))
    while sum(map(floor, shown)) + _GAP * (len(shown) - 1) > console.width:
        droppable = [i for i in shown if columns[i].drop > 0]
        if not droppable:
            break  # a terminal narrower than the ids themselves: rich crops, nothing better is possible
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    texts = [i for i in shown if columns[i].kind == "text"]
    spare = console.width - sum(widths[i] for i in shown if i not in texts) - _GAP * (len(shown) - 1)
    cap = max(TEXT_MIN, spare // max(len(texts), 1)) * TEXT_LINES
    hidden = [col.header for i, col in enumerate(columns) if i not in shown]
    caption = f"not shown at width {console.width}: {', '.join(hidden)} (see --json)" if hidden else None
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left", box=None,
                  padding=(0, _GAP // 2), pad_edge=False, show_edge=False, header_style="bold")
    for i in shown:
        col = columns[i]
        if col.kind == "key":
            table.add_column(col.header, justify=col.justify, no_wrap=True, min_width=widths[i])
        else:
            table.add_column(col.header, justify=col.justify, overflow="fold", min_width=floor(i))
    for row in data:
        for i in texts:
            if row[i].cell_len > cap:
                space = row[i].plain.rfind(" ", 0, cap)  # end at a word when one ends near the limit
                row[i].truncate(space + 1 if space > cap * 2 // 3 else cap, overflow="ellipsis")
        table.add_row(*(row[i] for i in shown))
    return table


def visible_fields(roles: RoleBook, service: Any, ticket: Ticket, viewer_roles: frozenset[str]) -> dict[str, Any]:
    """Confidential fields (reporter identity) are shown only to the roles the SOP trusts with them."""
    show = privileged(roles, viewer_roles)
    out: dict[str, Any] = {}
    for spec in service.requirements.fields:  # the catalog's order, as the applicant filled them in
        if spec.name in ticket.fields:
            value = ticket.fields[spec.name]
            out[spec.name] = value if show or not spec.confidential else HIDDEN
    return out


TICKET_COLUMNS = (Column("ID"), Column("Layanan", drop=2), Column("Judul", "text"), Column("Pemohon", drop=1),
                  Column("Status"), Column("Dibuka", drop=3))


def ticket_table(console: Console, tickets: list[Ticket]) -> Table:
    return list_table(console, "Tiket", TICKET_COLUMNS, (
        [*map(plain, (t.id, t.service_id, t.title, t.requester, t.status.value)), when_short(t.created_at)]
        for t in tickets))


def ticket_detail(console: Console, service: Any, ticket: Ticket, state: WorkflowState,
                  timeline: list[TimelineEvent], fields: dict[str, Any], zone: LocalZone | None = None) -> None:
    """``zone``: the office's (`toolkit.worktime`), in which the deadlines are shown with its label (WITA);
    None: this machine's local time."""

    def due(value: datetime) -> str:
        return zone.format(value) if zone is not None else when(value)

    console.print(f"[bold]{plain(ticket.id)}[/] — {plain(ticket.title)}")
    status = STATUS_LABEL[ticket.status.value]
    console.print(f"Layanan: {plain(service.name)} ({plain(service.id)})   Status: [bold]{status}[/]   "
                  f"Pemohon: {plain(ticket.requester)}   Ditugaskan: {plain(ticket.assignee)}")
    sla = state.sla
    flag = "[red]TERLAMPAUI[/]" if sla.breached else "dalam batas"
    console.print(f"SLA: {plain(sla.label)} — tenggat {due(sla.deadline)} ({flag})")
    current = next((s for s in state.steps if s.status.value == "current" and s.deadline is not None), None)
    if current is not None and current.deadline is not None:
        late = " [red](terlambat)[/]" if current.late else ""
        console.print(f"Langkah saat ini: {plain(current.step.title)} — tenggat {due(current.deadline)}{late}")
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


JOB_COLUMNS = (Column("ID", justify="right"), Column("Ticket"), Column("Step"), Column("Action", drop=3),
               Column("State"), Column("Attempt", drop=5, justify="right"), Column("Started", drop=2),
               Column("Finished", drop=4), Column("Error", "text", drop=1))


def job_table(console: Console, jobs: list[Any]) -> Table:
    """The error is shortened to one line of 60 characters ("…"); ``spbe jobs show`` has all of it."""
    return list_table(console, "Jobs", JOB_COLUMNS, (
        [str(j.id), plain(j.ticket_id), plain(j.step_id), plain(j.action), plain(j.state.value), str(j.attempt),
         when_short(j.started_at), when_short(j.finished_at), plain(shorten(j.error or ""))] for j in jobs))


def job_detail(console: Console, job: Any) -> None:
    """One job as label/value lines (for ``spbe jobs show``): full times, the whole error, wrapped."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    for label, value in (("job", str(job.id)), ("ticket", plain(job.ticket_id)), ("step", plain(job.step_id)),
                         ("action", plain(job.action)), ("state", plain(job.state.value)),
                         ("attempt", str(job.attempt)), ("started", when(job.started_at)),
                         ("finished", when(job.finished_at)), ("error", plain(job.error or "-"))):
        grid.add_row(label, value)
    console.print(grid)


def shorten(text: str, limit: int = 60) -> str:
    """The first line of ``text``, at most ``limit`` characters, ending in "…" when anything was left out."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if len(first) <= limit and first == text.strip():
        return first
    return first[: limit - 1].rstrip() + "…"
