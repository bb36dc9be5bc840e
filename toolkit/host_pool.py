"""Which data-center host serves which ticket.

Without this, every Pusat Data ticket would provision the first host of the pool, so a second
ticket would rename and re-firewall the first ticket's server. A host is allocated once per ticket,
durably (SQLite, one transaction), and only if its declared capacity covers the request; when no
host fits, the step fails with a clear message instead of touching a server that is in use.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit.errors import ConfigurationError, ConflictError, UnavailableError
from toolkit.private_files import private_dir, private_file

POOL_GROUP = "pusat_data_pool"


class PoolHost(BaseModel):
    """A provisionable host; capacities come from inventory vars ``spbe_vcpu``, ``spbe_ram_gb`` and
    ``spbe_disk_gb`` and are unchecked when the inventory does not declare them (the lab)."""

    model_config = ConfigDict(frozen=True)
    name: str
    address: str
    vcpu: int | None = None
    ram_gb: int | None = None
    disk_gb: int | None = None

    def fits(self, vcpu: int, ram_gb: int, disk_gb: int) -> bool:
        return all(have is None or have >= want
                   for have, want in ((self.vcpu, vcpu), (self.ram_gb, ram_gb), (self.disk_gb, disk_gb)))


def pool_hosts(inventory: Path) -> list[PoolHost]:
    """The hosts of ``pusat_data_pool``, read with Ansible's own parser (INI and YAML alike)."""
    if not inventory.is_file():
        raise ConfigurationError(f"inventory {inventory} does not exist (settings: inventory, SPBE_INVENTORY)")
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
    group = manager.groups.get(POOL_GROUP)
    if group is None or not group.get_hosts():
        raise ConfigurationError(f"inventory {inventory} has no hosts in group '{POOL_GROUP}'")
    hosts = []
    for host in group.get_hosts():
        hostvars = host.get_vars()
        hosts.append(PoolHost(
            name=host.name, address=str(hostvars.get("ansible_host", host.name)),
            vcpu=hostvars.get("spbe_vcpu"), ram_gb=hostvars.get("spbe_ram_gb"), disk_gb=hostvars.get("spbe_disk_gb"),
        ))
    return hosts


class HostPool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        private_file(self.path)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS allocations (host TEXT PRIMARY KEY, ticket_id TEXT NOT NULL"
                       " UNIQUE, allocated_at TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"host allocations unavailable: {exc}") from None
        return conn

    def allocation(self, ticket_id: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT host FROM allocations WHERE ticket_id=?", (ticket_id,)).fetchone()
        return str(row[0]) if row else None

    def allocate(self, ticket_id: str, candidates: list[PoolHost], vcpu: int, ram_gb: int, disk_gb: int) -> PoolHost:
        """The ticket's host: the one it already has, else the first free host that fits."""
        by_name = {h.name: h for h in candidates}
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT host FROM allocations WHERE ticket_id=?", (ticket_id,)).fetchone()
            if row is not None:
                db.execute("COMMIT")
                if row[0] not in by_name:
                    raise ConfigurationError(f"host {row[0]} allocated to {ticket_id} is no longer in the inventory")
                return by_name[row[0]]
            taken = {r[0] for r in db.execute("SELECT host FROM allocations")}
            free = [h for h in candidates if h.name not in taken]
            fitting = [h for h in free if h.fits(vcpu, ram_gb, disk_gb)]
            if not fitting:
                db.execute("ROLLBACK")
                reason = (f"all {len(candidates)} host(s) are allocated" if not free else
                          f"none of the free host(s) {', '.join(h.name for h in free)} has {vcpu} vCPU, "
                          f"{ram_gb} GB RAM and {disk_gb} GB disk")
                raise ConflictError(f"no host in {POOL_GROUP} for {ticket_id}: {reason}", ticket=ticket_id)
            chosen = fitting[0]
            db.execute("INSERT INTO allocations (host, ticket_id, allocated_at) VALUES (?, ?, ?)",
                       (chosen.name, ticket_id, datetime.now(UTC).isoformat()))
            db.execute("COMMIT")
            return chosen
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"host allocations unavailable: {exc}") from None
        finally:
            db.close()

    def release(self, ticket_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM allocations WHERE ticket_id=?", (ticket_id,))
