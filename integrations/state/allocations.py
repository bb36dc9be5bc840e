"""The SQLite allocators: pool hosts, network segments and VPN tunnel slots, in the state database.

Each ``claim`` is one ``BEGIN IMMEDIATE`` transaction (`toolkit.sqlite_tx`): it reads what the (ticket,
step) holds and what is taken, asks the feature's ``choose`` and inserts the answer before any other
writer -- thread or `spbe serve` process -- can read, so nothing is handed out twice and a retry gets
what it had. The choosing itself (capacity, VLAN pools, overlaps) stays in the features
(`toolkit.host_pool`, `toolkit.network.allocation`, `toolkit.vpn.inventory`). Table names are distinct
across every store sharing the file (``host_allocations``, ``segments``, ``tunnel_slots``).
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from toolkit.ports.state_records import SegmentAllocation, TunnelSlot
from toolkit.sqlite_tx import SqliteStore


class HostPool(SqliteStore):
    """`toolkit.ports.state.HostAllocations` in SQLite: one row per host, unique per (ticket, step)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "host allocations")
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS host_allocations (host TEXT PRIMARY KEY, ticket_id TEXT NOT NULL,"
                       " step_id TEXT NOT NULL, allocated_at TEXT NOT NULL, UNIQUE (ticket_id, step_id))")

    @staticmethod
    def _held(db: sqlite3.Connection, ticket_id: str, step_id: str) -> str | None:
        row = db.execute("SELECT host FROM host_allocations WHERE ticket_id=? AND step_id=?",
                         (ticket_id, step_id)).fetchone()
        return str(row["host"]) if row else None

    def allocation(self, ticket_id: str, step_id: str) -> str | None:
        with self._tx() as db:
            return self._held(db, ticket_id, step_id)

    def claim(self, ticket_id: str, step_id: str, choose: Callable[[frozenset[str]], str]) -> str:
        with self._tx() as db:
            held = self._held(db, ticket_id, step_id)
            if held is None:
                held = choose(frozenset(str(r["host"]) for r in db.execute("SELECT host FROM host_allocations")))
                db.execute("INSERT INTO host_allocations (host, ticket_id, step_id, allocated_at) VALUES (?, ?, ?, ?)",
                           (held, ticket_id, step_id, datetime.now(UTC).isoformat()))
            return held

    def release(self, ticket_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM host_allocations WHERE ticket_id=?", (ticket_id,))


class SegmentAllocator(SqliteStore):
    """`toolkit.ports.state.SegmentAllocations` in SQLite: one row per ticket."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "network allocations")
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS segments (ticket_id TEXT PRIMARY KEY, site TEXT NOT NULL,"
                       " vlan_id INTEGER NOT NULL, subnet TEXT NOT NULL, ports TEXT NOT NULL,"
                       " users INTEGER NOT NULL, allocated_at TEXT NOT NULL)")

    @staticmethod
    def _row(row: sqlite3.Row) -> SegmentAllocation:
        ports = {device: tuple(names) for device, names in json.loads(row["ports"]).items()}
        return SegmentAllocation(ticket_id=row["ticket_id"], site=row["site"], vlan_id=row["vlan_id"],
                                 subnet=ipaddress.IPv4Network(row["subnet"]), ports=ports, users=row["users"],
                                 allocated_at=datetime.fromisoformat(row["allocated_at"]))

    def get(self, ticket_id: str) -> SegmentAllocation | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM segments WHERE ticket_id=?", (ticket_id,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[SegmentAllocation]:
        with self._tx() as db:
            return [self._row(r) for r in db.execute("SELECT * FROM segments ORDER BY allocated_at")]

    def claim(self, ticket_id: str,
              choose: Callable[[Sequence[SegmentAllocation]], SegmentAllocation]) -> SegmentAllocation:
        with self._tx() as db:  # IMMEDIATE: reading what is taken and taking the rest is one step
            row = db.execute("SELECT * FROM segments WHERE ticket_id=?", (ticket_id,)).fetchone()
            if row is not None:
                return self._row(row)
            chosen = choose([self._row(r) for r in db.execute("SELECT * FROM segments ORDER BY allocated_at")])
            if chosen.ticket_id != ticket_id:
                raise ValueError(f"the allocation chosen for {ticket_id} names ticket {chosen.ticket_id}")
            db.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (ticket_id, chosen.site, chosen.vlan_id, str(chosen.subnet), json.dumps(chosen.ports),
                        chosen.users, chosen.allocated_at.isoformat()))
            return chosen

    def release(self, ticket_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM segments WHERE ticket_id=?", (ticket_id,))


class TunnelSlots(SqliteStore):
    """`toolkit.ports.state.TunnelAllocations` in SQLite: (ticket, step) -> slot, unique per DC gateway."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "tunnel allocations")
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS tunnel_slots (ticket TEXT NOT NULL, step TEXT NOT NULL,"
                       " dc_host TEXT NOT NULL, slot INTEGER NOT NULL, site_lan TEXT NOT NULL,"
                       " created_at TEXT NOT NULL, PRIMARY KEY (ticket, step), UNIQUE (dc_host, slot))")

    def claim(self, ticket: str, step: str, dc_host: str, site_lan: ipaddress.IPv4Network,
              choose: Callable[[Sequence[TunnelSlot]], int]) -> int:
        with self._tx() as db:
            row = db.execute("SELECT slot FROM tunnel_slots WHERE ticket = ? AND step = ?", (ticket, step)).fetchone()
            if row is not None:
                return int(row["slot"])
            taken = [TunnelSlot(ticket=r["ticket"], step=r["step"], dc_host=r["dc_host"], slot=r["slot"],
                                site_lan=ipaddress.IPv4Network(r["site_lan"]))
                     for r in db.execute("SELECT * FROM tunnel_slots WHERE dc_host = ? ORDER BY slot", (dc_host,))]
            slot = choose(taken)
            db.execute("INSERT INTO tunnel_slots VALUES (?, ?, ?, ?, ?, ?)",
                       (ticket, step, dc_host, slot, str(site_lan), datetime.now(UTC).isoformat()))
            return slot

    def release(self, ticket: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM tunnel_slots WHERE ticket = ?", (ticket,))
