"""`NetworkChange`: one agency segment at one site, as pure data that the renderer turns into CLI lines.

Names and descriptions end up verbatim on a device CLI, so they are held to a narrow pattern, and the
dangerous shapes are refused with their own message first (a newline would start a new command, ``;``
and ``|`` chain or pipe commands on several platforms, ``$(`` is RouterOS/shell substitution, Jinja
syntax could be evaluated by a careless template). A name that *is* a CLI keyword (``exit``, ``end``,
``quit``, ...) is refused too: harmless inside ``name X`` but confusing in a diff and an easy
injection if a later template ever puts it on a line of its own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.errors import InvalidInputError
from toolkit.network.inventory import INTERFACE_PATTERNS, IpProtocol, KeyedError, NetworkInventory, describe_errors

CLI_KEYWORDS = frozenset({
    "end", "exit", "quit", "return", "abort", "commit", "rollback", "delete", "undo", "no", "do", "reload",
    "reboot", "write", "save", "erase", "configure", "system-view", "shutdown", "set", "remove", "top", "up",
})  # fmt: skip
_DANGEROUS = (
    (re.compile(r"[\r\n\x00-\x1f\x7f]"), "must not contain newlines or control characters"),
    (re.compile(r";"), "must not contain ';'"),
    (re.compile(r"\|"), "must not contain '|'"),
    (re.compile(r"\$\(|`"), "must not contain command substitution ('$(' or '`')"),
    (re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}"), "must not contain template syntax ({{ }}, {% %}, {# #})"),
)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DESCRIPTION = re.compile(r"^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$")


def _cli_text(pattern: re.Pattern[str], limit: int, what: str) -> Any:
    def check(value: str) -> str:
        for bad, message in _DANGEROUS:
            if bad.search(value):
                raise ValueError(message)
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        if value != value.strip():
            raise ValueError("must not start or end with a space")
        if not pattern.fullmatch(value):
            raise ValueError(f"may only contain {what}")
        if value.split(" ")[0].lower() in CLI_KEYWORDS:
            raise ValueError(f"must not be (or start with) the CLI keyword {value.split(' ')[0]!r}")
        return value

    return AfterValidator(check)


VlanName = Annotated[str, _cli_text(_NAME, 32, "letters, digits, '-' and '_'")]
Description = Annotated[str, _cli_text(_DESCRIPTION, 80, "letters, digits, '-', '_' and single inner spaces")]


class AclEntry(BaseModel):
    """Permit from the new segment to one app address and service."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    app: str
    destination: ipaddress.IPv4Network
    protocol: IpProtocol
    port: int | None = Field(default=None, ge=1, le=65535)


class DevicePorts(BaseModel):
    """What changes on one device: access ports put into the VLAN, trunks that must carry it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    device: str
    platform: str
    access_ports: tuple[str, ...] = ()
    trunk_ports: tuple[str, ...] = ()
    gateway: bool = Field(default=False, description="this device holds the SVI / gateway")

    @model_validator(mode="after")
    def _names(self) -> DevicePorts:
        pattern = INTERFACE_PATTERNS.get(self.platform)
        if pattern is None:
            raise KeyedError(("platform",), f"unknown platform {self.platform!r}")
        for field in ("access_ports", "trunk_ports"):
            for index, name in enumerate(getattr(self, field)):
                if not pattern.fullmatch(name):
                    raise KeyedError((field, index), f"{name!r} is not a full {self.platform} interface name")
        return self


class NetworkChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    vlan_id: int = Field(ge=2, le=4094, description="1 is the default VLAN and 4095 is reserved")
    vlan_name: VlanName
    description: Description
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    devices: tuple[DevicePorts, ...] = Field(min_length=1)
    acl: tuple[AclEntry, ...] = Field(min_length=1, description="only these flows are permitted, then deny")

    @model_validator(mode="after")
    def _consistent(self) -> NetworkChange:
        if self.gateway not in self.subnet or self.gateway in (self.subnet.network_address,
                                                               self.subnet.broadcast_address):
            raise KeyedError(("gateway",), f"{self.gateway} is not a host address of {self.subnet}")
        if sum(d.gateway for d in self.devices) != 1:
            raise KeyedError(("devices",), "exactly one device must hold the gateway")
        names = [d.device for d in self.devices]
        if len(set(names)) != len(names):
            raise KeyedError(("devices",), "a device is listed twice")
        return self

    @property
    def acl_name(self) -> str:
        return f"SPBE-VLAN{self.vlan_id}"

    def device(self, name: str) -> DevicePorts:
        for device in self.devices:
            if device.device == name:
                return device
        raise InvalidInputError(f"device {name!r} is not part of this change",
                                errors=[("device", f"not one of {[d.device for d in self.devices]}")])


def build_change(
    inventory: NetworkInventory,
    *,
    site: str,
    vlan_id: int,
    vlan_name: str,
    description: str,
    subnet: str,
    apps: Iterable[str],
    access_ports: Mapping[str, Iterable[str]],
    gateway_device: str | None = None,
    used_vlans: Iterable[int] = (),
) -> NetworkChange:
    """Check a request against the inventory and build the plan; every problem is collected, not just the first.

    ``used_vlans`` are the VLANs the devices already have (read by the analysis step); the pool alone
    cannot know about a VLAN someone configured by hand.
    """
    errors: list[tuple[str, str]] = []
    try:
        site_obj = inventory.site(site)
    except KeyError:
        raise InvalidInputError(f"unknown site {site!r}", errors=[("site", "not in the inventory")]) from None
    if not inventory.vlan_pool.allows(vlan_id):
        errors.append(("vlan_id", f"{vlan_id} is not in the VLAN pool {inventory.vlan_pool.start}-"
                                  f"{inventory.vlan_pool.end} (reserved {list(inventory.vlan_pool.reserved)})"))
    if vlan_id in set(used_vlans):
        errors.append(("vlan_id", f"VLAN {vlan_id} is already in use"))
    try:
        net = ipaddress.IPv4Network(subnet)
    except ValueError as exc:
        raise InvalidInputError(f"invalid subnet: {exc}", errors=[("subnet", str(exc))]) from None
    pool = inventory.ip_pool
    if not net.subnet_of(pool.supernet) or any(net.overlaps(r) for r in pool.reserved):
        errors.append(("subnet", f"{net} is not free in the IP pool {pool.supernet}"))
    acl: list[AclEntry] = []
    for app_id in apps:
        try:
            app = inventory.app(app_id)
        except KeyError:
            errors.append(("apps", f"unknown data-center app {app_id!r}"))
            continue
        acl += [AclEntry(app=app.id, destination=address, protocol=service.protocol, port=service.port)
                for address in app.addresses for service in app.services]  # fmt: skip
    devices = []
    for name, ports in access_ports.items():
        try:
            device = site_obj.device(name)
        except KeyError:
            errors.append((f"access_ports.{name}", f"device not at site {site!r}"))
            continue
        ports = tuple(ports)
        allowed = site_obj.pool(name)
        errors += [(f"access_ports.{name}", f"{p!r} is not in the site's access-port pool") for p in ports
                   if p not in allowed]  # fmt: skip
        devices.append(DevicePorts(device=name, platform=device.platform, access_ports=ports,
                                   trunk_ports=device.trunk_ports, gateway=name == (gateway_device or name)))
    if gateway_device is None and len(devices) > 1:
        errors.append(("gateway_device", "required when the change spans several devices"))
    if gateway_device is not None and gateway_device not in access_ports:
        errors.append(("gateway_device", f"{gateway_device!r} is not one of the changed devices"))
    if not errors:
        try:
            return NetworkChange(
                site=site, vlan_id=vlan_id, vlan_name=vlan_name, description=description, subnet=net,
                gateway=next(net.hosts()), devices=tuple(devices), acl=tuple(acl),
            )  # fmt: skip
        except ValidationError as exc:
            errors += describe_errors(exc, "plan")
    else:
        errors += _field_errors(vlan_name=vlan_name, description=description)
    raise InvalidInputError("invalid network change: " + "; ".join(f"{k}: {m}" for k, m in errors), errors=errors)


class _Texts(BaseModel):
    vlan_name: VlanName
    description: Description


def _field_errors(**values: str) -> list[tuple[str, str]]:
    """Name/description problems too, so one answer lists everything wrong with a request."""
    try:
        _Texts(**values)
    except ValidationError as exc:
        return describe_errors(exc, "plan")
    return []
