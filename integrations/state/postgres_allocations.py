"""The PostgreSQL allocators: pool hosts, network segments, VPN tunnel slots and colocation rack space.

The same contract as the SQLite ones (`integrations.state.allocations`, `integrations.state.colocation`):
``claim`` returns what the (ticket, step) already holds, else asks the feature's ``choose`` with what is
taken and inserts its answer, all in one transaction. Here that transaction first locks the table against
every other writer (`PgStore._tx` ``exclusive``), so two workers on two hosts never both see a host, a
VLAN, a slot or a rack unit as free; the constraints of revision 0002_state (host primary key, unique
(ticket, step), unique (DC gateway, slot), unique VLAN, no two overlapping subnets) refuse a duplicate even
from a writer that skipped the lock. A ``choose`` that raises stores nothing (the transaction rolls back).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Sequence

from psycopg.rows import DictRow

from integrations.state.postgres_tx import Cursor, PgStore, utc, utc_now
from toolkit.ports.state_records import RackSpace, SegmentAllocation, TunnelSlot


class PgHostPool(PgStore):
    """`toolkit.ports.state.HostAllocations`: table ``host_allocations``."""

    @staticmethod
    def _held(cur: Cursor, ticket_id: str, step_id: str) -> str | None:
        row = cur.execute("SELECT host FROM host_allocations WHERE ticket_id = %s AND step_id = %s",
                          (ticket_id, step_id)).fetchone()
        return str(row["host"]) if row else None

    def allocation(self, ticket_id: str, step_id: str) -> str | None:
        with self._tx() as cur:
            return self._held(cur, ticket_id, step_id)

    def claim(self, ticket_id: str, step_id: str, choose: Callable[[frozenset[str]], str]) -> str:
        with self._tx(exclusive="host_allocations") as cur:
            held = self._held(cur, ticket_id, step_id)
            if held is None:
                taken = frozenset(str(r["host"]) for r in cur.execute("SELECT host FROM host_allocations"))
                held = choose(taken)
                cur.execute("INSERT INTO host_allocations (host, ticket_id, step_id, allocated_at) "
                            "VALUES (%s, %s, %s, %s)", (held, ticket_id, step_id, utc_now()))
            return held

    def release(self, ticket_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM host_allocations WHERE ticket_id = %s", (ticket_id,))


class PgSegmentAllocator(PgStore):
    """`toolkit.ports.state.SegmentAllocations`: table ``segments``, one row per ticket."""

    @staticmethod
    def _row(row: DictRow) -> SegmentAllocation:
        ports = {device: tuple(names) for device, names in json.loads(str(row["ports"])).items()}
        return SegmentAllocation(ticket_id=row["ticket_id"], site=row["site"], vlan_id=row["vlan_id"],
                                 subnet=ipaddress.IPv4Network(str(row["subnet"])), ports=ports, users=row["users"],
                                 allocated_at=utc(row["allocated_at"]))

    def get(self, ticket_id: str) -> SegmentAllocation | None:
        with self._tx() as cur:
            row = cur.execute("SELECT * FROM segments WHERE ticket_id = %s", (ticket_id,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[SegmentAllocation]:
        with self._tx() as cur:
            return [self._row(r) for r in cur.execute("SELECT * FROM segments ORDER BY allocated_at, ticket_id")]

    def claim(self, ticket_id: str,
              choose: Callable[[Sequence[SegmentAllocation]], SegmentAllocation]) -> SegmentAllocation:
        with self._tx(exclusive="segments") as cur:
            row = cur.execute("SELECT * FROM segments WHERE ticket_id = %s", (ticket_id,)).fetchone()
            if row is not None:
                return self._row(row)
            others = [self._row(r) for r in cur.execute("SELECT * FROM segments ORDER BY allocated_at, ticket_id")]
            chosen = choose(others)
            if chosen.ticket_id != ticket_id:
                raise ValueError(f"the allocation chosen for {ticket_id} names ticket {chosen.ticket_id}")
            cur.execute("INSERT INTO segments (ticket_id, site, vlan_id, subnet, ports, users, allocated_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (ticket_id, chosen.site, chosen.vlan_id, str(chosen.subnet), json.dumps(chosen.ports),
                         chosen.users, chosen.allocated_at))
            return chosen

    def release(self, ticket_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM segments WHERE ticket_id = %s", (ticket_id,))


class PgTunnelSlots(PgStore):
    """`toolkit.ports.state.TunnelAllocations`: table ``tunnel_slots``, unique per (DC gateway, slot)."""

    def claim(self, ticket: str, step: str, dc_host: str, site_lan: ipaddress.IPv4Network,
              choose: Callable[[Sequence[TunnelSlot]], int]) -> int:
        with self._tx(exclusive="tunnel_slots") as cur:
            row = cur.execute("SELECT slot FROM tunnel_slots WHERE ticket = %s AND step = %s",
                              (ticket, step)).fetchone()
            if row is not None:
                return int(row["slot"])
            taken = [TunnelSlot(ticket=r["ticket"], step=r["step"], dc_host=r["dc_host"], slot=r["slot"],
                                site_lan=ipaddress.IPv4Network(str(r["site_lan"])))
                     for r in cur.execute("SELECT * FROM tunnel_slots WHERE dc_host = %s ORDER BY slot", (dc_host,))]
            slot = choose(taken)
            cur.execute("INSERT INTO tunnel_slots (ticket, step, dc_host, slot, site_lan, created_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", (ticket, step, dc_host, slot, str(site_lan), utc_now()))
            return slot

    def release(self, ticket: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM tunnel_slots WHERE ticket = %s", (ticket,))


class PgRackSpace(PgStore):
    """`toolkit.ports.state.RackAllocations`: table ``rack_space``, one row per ticket."""

    @staticmethod
    def _row(row: DictRow) -> RackSpace:
        return RackSpace(ticket_id=row["ticket_id"], rack=row["rack"], unit_start=row["unit_start"],
                         units=row["units"], power_watt=row["power_watt"],
                         allocated_at=utc(row["allocated_at"]))

    def get(self, ticket_id: str) -> RackSpace | None:
        with self._tx() as cur:
            row = cur.execute("SELECT * FROM rack_space WHERE ticket_id = %s", (ticket_id,)).fetchone()
        return self._row(row) if row else None

    def claim(self, ticket_id: str, choose: Callable[[Sequence[RackSpace]], RackSpace]) -> RackSpace:
        with self._tx(exclusive="rack_space") as cur:
            row = cur.execute("SELECT * FROM rack_space WHERE ticket_id = %s", (ticket_id,)).fetchone()
            if row is not None:
                return self._row(row)
            chosen = choose([self._row(r) for r in cur.execute(
                "SELECT * FROM rack_space ORDER BY allocated_at, ticket_id")])
            if chosen.ticket_id != ticket_id:
                raise ValueError(f"the rack space chosen for {ticket_id} names ticket {chosen.ticket_id}")
            cur.execute("INSERT INTO rack_space (ticket_id, rack, unit_start, units, power_watt, allocated_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        (ticket_id, chosen.rack, chosen.unit_start, chosen.units, chosen.power_watt,
                         chosen.allocated_at))
            return chosen

    def release(self, ticket_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM rack_space WHERE ticket_id = %s", (ticket_id,))
