"""`spbe ticket list` and `spbe ticket show` through the HTTP API, after `spbe login`.

The server decides what this person may see (their own tickets, or their services' as staff) and
redacts a confidential reporter; this side only renders, with the local commands' tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from toolkit.cli import remote
from toolkit.cli.render import Column, emit_json, list_table, plain, ticket_table
from toolkit.domain.tickets.models import Ticket


def logged_in() -> bool:
    return remote.load() is not None


def _client() -> remote.RemoteClient:
    creds = remote.load()
    assert creds is not None
    return remote.RemoteClient(creds)


def list_tickets(obj: Any, status: str | None, service_id: str | None, as_json: bool) -> None:
    client = _client()
    try:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = client.get("/tickets", status=status, service=service_id, offset=offset, limit=500)
            items += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
    finally:
        client.close()
    if as_json:
        emit_json(obj.console, items)
        return
    tickets = [Ticket(**item, fields={}) for item in items]
    obj.console.print(ticket_table(obj.console, tickets))


def show_ticket(obj: Any, ticket_id: str, as_json: bool) -> None:
    client = _client()
    try:
        detail = client.get(f"/tickets/{ticket_id}")
    finally:
        client.close()
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


def _short(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
