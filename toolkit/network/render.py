"""Render a `NetworkChange` into the config lines of one device, and the lines that take it back out.

Templates live in ``templates/network/<platform>/``. Each feature template (``vlan.j2``, ``svi.j2``,
``access_ports.j2``, ``trunk.j2``, ``acl.j2``) holds both directions behind ``undo``, so adding a
line without its removal is visible in one file; ``change.j2`` includes them in dependency order
(VLAN, ACL, gateway, ports) and ``rollback.j2`` in the reverse one.

The environment is sandboxed with ``StrictUndefined``: a misspelt variable is an error, not an empty
string on a switch. The context holds only plain strings and numbers computed here, so templates
need no address arithmetic. Output is a list of lines as netmiko's ``send_config_set`` takes them
(it enters and leaves config mode itself, so no template says ``configure terminal``/``system-view``).
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

import spbe_data
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.network.inventory import PLATFORMS
from toolkit.network.plan import NetworkChange

TEMPLATES_DIR = spbe_data.data_path("templates", "network")  # the shipped templates (settings.templates_dir's)


@functools.lru_cache(maxsize=32)  # compiling the templates was most of a push's client CPU; edits still reload
def _environment(platform: str, templates_dir: Path) -> SandboxedEnvironment:
    if platform not in PLATFORMS:
        raise InvalidInputError(f"unknown platform {platform!r}", errors=[("platform", f"not one of {PLATFORMS}")])
    return SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir / platform),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701 - device CLI text, not HTML; inputs are validated by the plan model
    )


def _net(network: ipaddress.IPv4Network) -> dict[str, Any]:
    return {
        "cidr": str(network), "address": str(network.network_address), "prefixlen": network.prefixlen,
        "netmask": str(network.netmask), "wildcard": str(network.hostmask), "is_host": network.prefixlen == 32,
    }  # fmt: skip


def context(plan: NetworkChange, device: str | None = None) -> dict[str, Any]:
    """The template variables for one device of the plan (the only device when ``device`` is None)."""
    if device is None:
        if len(plan.devices) != 1:
            raise InvalidInputError("the change spans several devices; name the one to render",
                                    errors=[("device", f"one of {[d.device for d in plan.devices]}")])  # fmt: skip
        ports = plan.devices[0]
    else:
        ports = plan.device(device)
    return {
        "vlan_id": plan.vlan_id,
        "vlan_name": plan.vlan_name,
        "description": plan.description,
        "subnet": _net(plan.subnet),
        "gateway": str(plan.gateway),
        "svi": ports.gateway,
        "access_ports": list(ports.access_ports),
        "trunk_ports": list(ports.trunk_ports),
        "acl_name": plan.acl_name,
        "acl": [
            {"app": entry.app, "protocol": entry.protocol, "port": entry.port, "destination": _net(entry.destination)}
            for entry in plan.acl
        ],
    }


def _render(template: str, plan: NetworkChange, platform: str, device: str | None, templates_dir: Path) -> list[str]:
    env = _environment(platform, templates_dir)
    try:
        text = env.get_template(template).render(context(plan, device))
    except TemplateError as exc:
        raise ConfigurationError(f"template {platform}/{template} failed: {exc}", platform=platform) from None
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def render_change(
    plan: NetworkChange, platform: str, device: str | None = None, *, templates_dir: Path = TEMPLATES_DIR
) -> list[str]:
    """The config lines that apply ``plan`` on ``device`` (a ``platform`` device)."""
    return _render("change.j2", plan, platform, device, templates_dir)


def render_rollback(
    plan: NetworkChange, platform: str, device: str | None = None, *, templates_dir: Path = TEMPLATES_DIR
) -> list[str]:
    """The config lines that remove what `render_change` adds, in reverse order.

    Access ports go back to the platform's default VLAN: the ports came from the free pool, so that
    is what they were. Restoring anything else is the job of the running-config backup.
    """
    return _render("rollback.j2", plan, platform, device, templates_dir)


def render_free_ports(platform: str, ports: list[str], *, templates_dir: Path = TEMPLATES_DIR) -> list[str]:
    """The lines that put access-pool ``ports`` in the state a free pool port is kept in (the ``undo`` half
    of ``access_ports.j2``: no VLAN, no description, shut), for the compliance profile's intended config."""
    env = _environment(platform, templates_dir)
    try:
        text = env.get_template("access_ports.j2").render({"undo": True, "access_ports": list(ports)})
    except TemplateError as exc:
        raise ConfigurationError(f"template {platform}/access_ports.j2 failed: {exc}", platform=platform) from None
    return [line.rstrip() for line in text.splitlines() if line.strip()]
