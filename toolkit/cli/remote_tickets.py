"""`spbe ticket show` of a ticket on a server (after `spbe login`): the API's detail, rendered.

The server decides what this person may see (their own tickets, or their services' as staff) and
redacts a confidential reporter; this side only renders. The detail carries no catalog (labels, SOP
numbers), so it has its own layout; every other remote command renders with the local tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from toolkit.cli.install_schedule_cmd import print_summary
from toolkit.cli.render import Column, emit_json, list_table, plain


def show_ticket(obj: Any, detail: dict[str, Any], as_json: bool) -> None:
    """The API's ticket detail (`RemoteDesk.detail`) as ``spbe ticket show`` prints it."""
    if as_json:
        emit_json(obj.console, detail)
        return
    console = obj.console
    ticket = detail["ticket"]
    console.print(f"[bold]{plain(ticket['id'])}[/] {plain(ticket['title'])}")
    console.print(f"layanan {plain(ticket['service_id'])} · pemohon {plain(ticket['requester'])} · status "
                  f"{plain(ticket['status'])} · SLA {plain(detail['sla']['label'])}, tenggat "
                  f"{plain(detail['sla']['deadline'])}{' (terlampaui)' if detail['sla']['breached'] else ''}")
    fields = Table(show_header=False, box=None)
    for name, value in detail["fields"].items():
        fields.add_row(plain(name), plain(str(value)))
    console.print(fields)
    columns = (Column("Langkah"), Column("Status"), Column("Pelaksana", drop=1), Column("Selesai", drop=2))
    console.print(list_table(console, "Langkah SOP", columns, (
        [plain(s["id"]), plain(s["status"]), plain(s["actor"]), plain(_short(s["completed_at"]))]
        for s in detail["steps"])))
    for event in detail["timeline"]:
        console.print(f"[dim]{plain(_short(event['at']))}[/] [bold]{plain(event['actor'])}[/] {plain(event['kind'])}")
        console.print(plain(event["text"]))
    for kind in ("attachments", "documents"):
        for item in detail[kind]:
            console.print(f"{kind[:-1]}: {plain(item['name'])} ({item['size']} B, {plain(item['media_type'])})")
    print_summary(console, detail.get("jadwal"))


def _short(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
