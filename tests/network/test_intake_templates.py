"""Every Jaringan Intra request the service desk accepts renders on every platform's templates.

For each boundary value of ``lokasi``, ``jumlah_user`` and ``aplikasi``, a value intake accepts goes
through the action's own request parsing (`parse_request`) and plan building (`segment_change`), then
through the real device templates of all four platforms, change and rollback. The inventory names the
site and apps the request asks for: whether a site exists is a fact of the inventory, not of the ticket.
"""

from __future__ import annotations

import copy
import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tests.support.boundaries import BASE, CATALOG, TICKET, action_context, boundary_values, intake
from toolkit.actions.network.jaringan_intra import parse_request, segment_change
from toolkit.errors import ToolkitError
from toolkit.network.allocation import Allocation, prefix_for
from toolkit.network.inventory import NetworkInventory
from toolkit.network.render import render_change, render_rollback

SERVICE = CATALOG.get("jaringan-intra")
INVENTORY = yaml.safe_load((Path(__file__).parent / "data" / "multivendor.yml").read_text(encoding="utf-8"))
CASES = [(name, value) for name in ("lokasi", "jumlah_user", "aplikasi")
         for value in boundary_values(SERVICE.requirements.field(name))]


def _inventory(site: str, apps: list[str]) -> NetworkInventory:
    """The multivendor inventory (one switch of every platform), its site and apps renamed to the request's."""
    data: dict[str, Any] = copy.deepcopy(INVENTORY)
    data["sites"][0]["id"] = site
    data["apps"] = [data["apps"][index % len(data["apps"])] | {"id": app} for index, app in enumerate(apps)]
    return NetworkInventory.model_validate(data)


def _render_all(cleaned: dict[str, Any]) -> list[str]:
    apps = [part.strip() for part in str(cleaned["aplikasi"]).split(",") if part.strip()]
    inventory = _inventory(str(cleaned["lokasi"]), apps)
    request = parse_request(action_context(SERVICE, cleaned), inventory)
    site = inventory.site(request.site)
    # One port on every device: each platform's templates render in the one change.
    ports: dict[str, tuple[str, ...]] = {device.name: (site.pool(device.name)[0],) for device in site.devices}
    allocation = Allocation(
        ticket_id=TICKET, site=site.id, vlan_id=120, users=request.users, ports=ports,
        subnet=ipaddress.IPv4Network(f"10.20.64.0/{prefix_for(request.users)}"), allocated_at=datetime.now(UTC))
    change = segment_change(inventory, TICKET, request, allocation, set())
    lines = []
    for device in site.devices:
        lines += render_change(change, device.platform, device.name)
        lines += render_rollback(change, device.platform, device.name)
    return lines


@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n}={v!r}"[:60] for n, v in CASES])
def test_a_request_accepted_at_intake_renders_on_every_platform(name: str, value: Any) -> None:
    cleaned = intake(SERVICE, BASE["jaringan-intra"] | {name: value})
    if cleaned is None:
        return  # refused at intake: it never reaches an approval, let alone a device
    try:
        lines = _render_all(cleaned)
    except (ToolkitError, ValidationError) as exc:  # ValidationError: no inventory could even name it so
        pytest.fail(f"{name}={value!r}: accepted at intake, refused after approval: {exc}")
    assert lines and all(line and "\n" not in line and "{" not in line for line in lines)


def test_both_sides_of_every_field_are_probed() -> None:
    for name in ("lokasi", "jumlah_user", "aplikasi"):
        outcomes = {intake(SERVICE, BASE["jaringan-intra"] | {name: v}) is not None for n, v in CASES if n == name}
        assert outcomes == {True, False}, name
