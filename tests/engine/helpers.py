"""Drive a test ticket to its first automated step the way people would, through the desk."""

from __future__ import annotations

from pathlib import Path

from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk


def approved_ticket(app: App, **fields: str) -> str:
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji mesin", {"instansi": "Dinas Uji", **fields}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui untuk pengujian.")
    return ticket.id


def executions(state_dir: Path) -> list[str]:
    path = state_dir / "executions.log"
    return path.read_text().splitlines() if path.exists() else []
