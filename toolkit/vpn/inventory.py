"""The VPN gateways as the inventory declares them, and the durable tunnel slots handed out on them.

Inventory groups (the lab writes them; a real deployment lists its own gateways the same way):

- ``vpn_site_gateways``: agency-site gateways the data-center team manages, each with
  ``spbe_vpn_public_address`` (how the data center reaches it; the applicant gives this address on the
  ticket, which is how a ticket finds its gateway) and ``spbe_vpn_lan_address`` (its address on the LAN);
- ``vpn_dc_gateways``: the data-center gateway with ``spbe_vpn_public_address``, ``spbe_vpn_lan_address``,
  ``spbe_vpn_lan_cidrs`` (the DC networks an agency reaches), ``spbe_vpn_tunnel_pool`` (cut into /30s, one
  per tunnel), ``spbe_vpn_listen_port_base`` and ``spbe_vpn_verify_targets`` (DC addresses pinged through
  a new tunnel).

A slot (tunnel /30, interface ``wg<slot>``, UDP port base + slot) is allocated once per ticket, in one
SQLite transaction, so two tickets never get the same tunnel and a re-run gets the same one back.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import ConfigurationError, ConflictError, NotFoundError, UnavailableError
from toolkit.private_files import private_dir, private_file

SITE_GROUP = "vpn_site_gateways"
DC_GROUP = "vpn_dc_gateways"


class SiteGateway(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    public_address: ipaddress.IPv4Address
    lan_address: ipaddress.IPv4Address


class DcGateway(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    public_address: ipaddress.IPv4Address
    lan_address: ipaddress.IPv4Address
    lan_cidrs: tuple[ipaddress.IPv4Network, ...] = Field(min_length=1)
    tunnel_pool: ipaddress.IPv4Network
    listen_port_base: int = Field(default=51820, ge=1024, le=65000)
    verify_targets: tuple[ipaddress.IPv4Address, ...] = Field(min_length=1)

    @property
    def capacity(self) -> int:
        return 2 ** (30 - self.tunnel_pool.prefixlen) if self.tunnel_pool.prefixlen <= 30 else 0

    def tunnel(self, slot: int) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(self.tunnel_pool.network_address) + 4 * slot, 30))


def _group_hosts(inventory: Path, group: str) -> list[tuple[str, dict[str, Any]]]:
    if not inventory.is_file():
        raise ConfigurationError(f"inventory {inventory} does not exist (settings: inventory, SPBE_INVENTORY)")
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
    found = manager.groups.get(group)
    if found is None or not found.get_hosts():
        raise ConfigurationError(f"inventory {inventory} has no hosts in group '{group}'", group=group)
    return [(host.name, host.get_vars()) for host in found.get_hosts()]


def _model(model: type[BaseModel], name: str, hostvars: dict[str, Any], inventory: Path) -> Any:
    values = {key.removeprefix("spbe_vpn_"): value for key, value in hostvars.items() if key.startswith("spbe_vpn_")}
    try:
        return model(name=name, **{k: v for k, v in values.items() if k in model.model_fields})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigurationError(f"inventory {inventory}, host {name}: {problems}", host=name) from None


def site_gateway(inventory: Path, public_address: str) -> SiteGateway:
    """The managed site gateway answering at ``public_address`` (the address the applicant gave)."""
    gateways = [_model(SiteGateway, n, v, inventory) for n, v in _group_hosts(inventory, SITE_GROUP)]
    for gateway in gateways:
        if str(gateway.public_address) == public_address:
            return gateway  # type: ignore[no-any-return]
    raise NotFoundError(
        f"no gateway with public address {public_address} in inventory group '{SITE_GROUP}'",
        address=public_address, known=[str(g.public_address) for g in gateways],
    )


def dc_gateway(inventory: Path) -> DcGateway:
    hosts = _group_hosts(inventory, DC_GROUP)
    if len(hosts) != 1:
        raise ConfigurationError(f"inventory group '{DC_GROUP}' must hold exactly one gateway, not {len(hosts)}")
    return _model(DcGateway, *hosts[0], inventory)  # type: ignore[no-any-return]


class TunnelSlots:
    """Durable ticket -> slot allocation on a DC gateway (SQLite, one immediate transaction each)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        private_dir(self.path.parent)
        private_file(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tunnels (ticket TEXT PRIMARY KEY, dc_host TEXT NOT NULL,"
                " slot INTEGER NOT NULL, site_lan TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (dc_host, slot))"
            )
        except sqlite3.Error as exc:
            raise UnavailableError(f"tunnel allocations {self.path}: {exc}") from None
        return conn

    def allocate(self, ticket: str, dc: DcGateway, site_lan: ipaddress.IPv4Network) -> int:
        """The ticket's slot (the same one on every call); refuses a site LAN that overlaps another
        ticket's tunnel on the same gateway, and a full pool."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT slot FROM tunnels WHERE ticket = ?", (ticket,)).fetchone()
            if row is not None:
                conn.execute("COMMIT")
                return int(row[0])
            rows = conn.execute("SELECT ticket, slot, site_lan FROM tunnels WHERE dc_host = ?", (dc.name,)).fetchall()
            for other, _slot, lan in rows:
                if ipaddress.IPv4Network(lan).overlaps(site_lan):
                    raise ConflictError(f"site LAN {site_lan} overlaps {lan}, already tunnelled for ticket {other}",
                                        ticket=other)
            used = {int(r[1]) for r in rows}
            free = next((s for s in range(dc.capacity) if s not in used), None)
            if free is None:
                raise ConflictError(f"no free tunnel in {dc.tunnel_pool} on {dc.name}", pool=str(dc.tunnel_pool))
            conn.execute("INSERT INTO tunnels VALUES (?, ?, ?, ?, ?)",
                         (ticket, dc.name, free, str(site_lan), datetime.now(UTC).isoformat()))  # fmt: skip
            conn.execute("COMMIT")
            return free
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def release(self, ticket: str) -> None:
        conn = self._connect()
        try:
            conn.execute("DELETE FROM tunnels WHERE ticket = ?", (ticket,))
        finally:
            conn.close()
