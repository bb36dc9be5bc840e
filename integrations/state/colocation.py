"""`toolkit.ports.state.RackAllocations` in SQLite: the colocation product's rack units and power, one row
per ticket, in the state database (table ``rack_space``).

Like the other allocators (`integrations.state.allocations`), ``claim`` is one ``BEGIN IMMEDIATE``
transaction: what the ticket holds, else the feature's choice against every other ticket's space, inserted
before any other writer can read -- so two workers never give the same rack units or overdraw a rack's power,
and a retry gets what it had. The choosing (contiguous units, the power budget) is the feature's
(`toolkit.actions.colocation.space`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from toolkit.ports.state_records import RackSpace
from toolkit.sqlite_tx import SqliteStore


class RackSpaceStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "rack allocations")
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS rack_space (ticket_id TEXT PRIMARY KEY, rack TEXT NOT NULL,"
                       " unit_start INTEGER NOT NULL, units INTEGER NOT NULL, power_watt INTEGER NOT NULL,"
                       " allocated_at TEXT NOT NULL)")

    @staticmethod
    def _row(row: sqlite3.Row) -> RackSpace:
        return RackSpace(ticket_id=row["ticket_id"], rack=row["rack"], unit_start=row["unit_start"],
                         units=row["units"], power_watt=row["power_watt"],
                         allocated_at=datetime.fromisoformat(row["allocated_at"]))

    def get(self, ticket_id: str) -> RackSpace | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM rack_space WHERE ticket_id=?", (ticket_id,)).fetchone()
        return self._row(row) if row else None

    def claim(self, ticket_id: str, choose: Callable[[Sequence[RackSpace]], RackSpace]) -> RackSpace:
        with self._tx() as db:
            row = db.execute("SELECT * FROM rack_space WHERE ticket_id=?", (ticket_id,)).fetchone()
            if row is not None:
                return self._row(row)
            chosen = choose([self._row(r) for r in db.execute("SELECT * FROM rack_space ORDER BY allocated_at")])
            if chosen.ticket_id != ticket_id:
                raise ValueError(f"the rack space chosen for {ticket_id} names ticket {chosen.ticket_id}")
            db.execute("INSERT INTO rack_space VALUES (?, ?, ?, ?, ?, ?)",
                       (ticket_id, chosen.rack, chosen.unit_start, chosen.units, chosen.power_watt,
                        chosen.allocated_at.isoformat()))
            return chosen

    def release(self, ticket_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM rack_space WHERE ticket_id=?", (ticket_id,))
