"""The network inventory: sites, devices, access-port pools, VLAN/IP pools and data-center apps.

The YAML holds no secret: credentials are always references (``env:`` or ``file:``, see
``toolkit.network.refs``), resolved only when a device is connected to.

Cross-field checks raise `KeyedError` carrying the key path below the model that checks them, so
`load_inventory` can name the exact key (``lab.yml: sites.1.access_ports.0.interfaces.2: ...``)
although pydantic itself only knows the location of the model whose validator failed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from toolkit.domain import yaml_doc
from toolkit.domain.catalog.formats import INVENTORY_ID
from toolkit.errors import ConfigurationError
from toolkit.network.timing import PlatformTiming, SessionLimits

Platform = Literal["cisco_ios", "huawei", "mikrotik_routeros", "juniper_junos"]
Role = Literal["access", "distribution", "core"]
IpProtocol = Literal["tcp", "udp", "icmp"]
PLATFORMS: tuple[Platform, ...] = ("cisco_ios", "huawei", "mikrotik_routeros", "juniper_junos")

# Full interface names only: an abbreviation (Fa0/1, Gi0/0/1) would not match what the device reports
# back, so verification after a push could not find the port.
INTERFACE_PATTERNS: dict[str, re.Pattern[str]] = {
    "cisco_ios": re.compile(
        r"^(FastEthernet|GigabitEthernet|TenGigabitEthernet|TwentyFiveGigE|FortyGigabitEthernet|"
        r"HundredGigE|Ethernet)\d{1,2}(/\d{1,2}){1,2}$"
    ),
    "huawei": re.compile(
        r"^(Ethernet|GigabitEthernet|XGigabitEthernet|MultiGE|25GE|40GE|100GE)\d{1,2}/\d{1,2}/\d{1,2}$"
    ),
    "mikrotik_routeros": re.compile(r"^(ether\d{1,2}|sfp\d{1,2}|sfp-sfpplus\d{1,2}|sfp28-\d{1,2}|qsfpplus\d{1,2}-\d)$"),
    "juniper_junos": re.compile(r"^(ge|xe|et|mge)-\d{1,2}/\d{1,2}/\d{1,2}$"),
}
ID_RE = rf"^{INVENTORY_ID}$"  # also what a ticket's `lokasi` and `aplikasi` codes may be (format inventory_id)
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9 ._()/-]{0,78}[A-Za-z0-9.)]$"
# A secret is only ever named: env:NAME or file:/abs/path.
SECRET_REF_RE = r"^(env:[A-Z_][A-Z0-9_]*|file:/[^\x00\n]+)$"  # noqa: S105 - a pattern
HOST_RE = r"^[A-Za-z0-9.:-]{1,253}$"


class KeyedError(ValueError):
    """A validation problem at ``path`` below the model that raised it."""

    def __init__(self, path: Iterable[str | int], message: str) -> None:
        self.path = tuple(path)
        super().__init__(f"{'.'.join(str(p) for p in self.path)}: {message}" if self.path else message)
        self.problem = message


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _duplicates(values: Iterable[Any]) -> list[int]:
    seen: set[Any] = set()
    dups = []
    for index, value in enumerate(values):
        if value in seen:
            dups.append(index)
        seen.add(value)
    return dups


class Credentials(_Frozen):
    """Login by reference; a literal password in the inventory is refused by the pattern."""

    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    password_ref: str = Field(pattern=SECRET_REF_RE)
    secret_ref: str | None = Field(default=None, pattern=SECRET_REF_RE, description="enable secret (Cisco)")


class Device(_Frozen):
    name: str = Field(pattern=ID_RE)
    site: str = Field(pattern=ID_RE, description="filled from the enclosing site in the YAML")
    platform: Platform
    role: Role
    host: str = Field(pattern=HOST_RE, description="address or DNS name")
    port: int = Field(default=22, description="TCP port of its SSH server")
    credentials: Credentials
    trunk_ports: tuple[str, ...] = Field(default=(), description="uplinks that must carry every new VLAN")

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        """A number as written, never a string that looks like one (YAML ``"22"`` is a mistake to show)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a port number (1-65535)")
        if not 1 <= value <= 65535:
            raise ValueError("must be 1-65535")
        return value

    @model_validator(mode="after")
    def _trunks(self) -> Device:
        _check_interfaces(self.platform, self.trunk_ports, ("trunk_ports",))
        return self


def _check_interfaces(platform: str, names: Iterable[str], path: tuple[str | int, ...]) -> None:
    names = tuple(names)
    for index, name in enumerate(names):
        if not INTERFACE_PATTERNS[platform].fullmatch(name):
            raise KeyedError((*path, index), f"{name!r} is not a full {platform} interface name")
    for index in _duplicates(names):
        raise KeyedError((*path, index), f"interface {names[index]!r} is listed twice")


class AccessPortPool(_Frozen):
    """Ports of one device that may be handed to agencies as access ports."""

    device: str = Field(pattern=ID_RE)
    interfaces: tuple[str, ...] = Field(min_length=1)


class Site(_Frozen):
    id: str = Field(pattern=ID_RE)
    name: str = Field(pattern=NAME_RE)
    opd: str = Field(pattern=NAME_RE, description="the Organisasi Perangkat Daerah served at this site")
    devices: tuple[Device, ...] = Field(min_length=1)
    access_ports: tuple[AccessPortPool, ...] = ()
    max_sessions: int | None = Field(default=None, ge=1, le=1024,
                                     description="sessions at once to this site's devices (else sessions.per_site)")

    @model_validator(mode="before")
    @classmethod
    def _site_into_devices(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("devices"), list):
            devices = []
            for index, device in enumerate(data["devices"]):
                if isinstance(device, dict):
                    if "site" in device and device["site"] != data.get("id"):
                        raise KeyedError(("devices", index, "site"), f"{device['site']!r} is not the enclosing site")
                    device = {**device, "site": data.get("id")}
                devices.append(device)
            data = {**data, "devices": devices}
        return data

    @model_validator(mode="after")
    def _pools(self) -> Site:
        for index in _duplicates(d.name for d in self.devices):
            raise KeyedError(("devices", index, "name"), f"device {self.devices[index].name!r} is defined twice")
        platforms = {d.name: d for d in self.devices}
        for index, pool in enumerate(self.access_ports):
            device = platforms.get(pool.device)
            if device is None:
                raise KeyedError(("access_ports", index, "device"), f"{pool.device!r} is not a device of this site")
            _check_interfaces(device.platform, pool.interfaces, ("access_ports", index, "interfaces"))
            for port_index, name in enumerate(pool.interfaces):
                if name in device.trunk_ports:
                    raise KeyedError(("access_ports", index, "interfaces", port_index), f"{name!r} is a trunk port")
        for index in _duplicates(p.device for p in self.access_ports):
            raise KeyedError(("access_ports", index, "device"), "one pool per device")
        return self

    def device(self, name: str) -> Device:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def pool(self, device: str) -> tuple[str, ...]:
        return next((p.interfaces for p in self.access_ports if p.device == device), ())


class VlanPool(_Frozen):
    """VLAN ids that plans may allocate: ``start..end`` minus ``reserved`` (1 and 4095 never qualify)."""

    start: int = Field(ge=2, le=4094)
    end: int = Field(ge=2, le=4094)
    reserved: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _range(self) -> VlanPool:
        if self.start > self.end:
            raise KeyedError(("end",), f"{self.end} is below start {self.start}")
        for index, vlan in enumerate(self.reserved):
            if not 2 <= vlan <= 4094:
                raise KeyedError(("reserved", index), f"VLAN {vlan} is outside 2-4094")
        return self

    def allows(self, vlan_id: int) -> bool:
        return self.start <= vlan_id <= self.end and vlan_id not in self.reserved


class IpPool(_Frozen):
    """The supernet agency subnets are carved from; ``reserved`` blocks are never handed out."""

    supernet: ipaddress.IPv4Network
    reserved: tuple[ipaddress.IPv4Network, ...] = ()

    @field_validator("supernet", "reserved", mode="before")
    @classmethod
    def _strict(cls, value: Any) -> Any:
        # ipaddress is strict by default: "10.20.1.5/16" (host bits set) is refused, not silently masked.
        if isinstance(value, list | tuple):
            return tuple(ipaddress.IPv4Network(v) if isinstance(v, str) else v for v in value)
        return ipaddress.IPv4Network(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _inside(self) -> IpPool:
        for index, block in enumerate(self.reserved):
            if not block.subnet_of(self.supernet):
                raise KeyedError(("reserved", index), f"{block} is not inside {self.supernet}")
        return self


class AppService(_Frozen):
    protocol: IpProtocol
    port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _port_matches_protocol(self) -> AppService:
        if self.protocol == "icmp" and self.port is not None:
            raise KeyedError(("port",), "icmp has no port")
        if self.protocol != "icmp" and self.port is None:
            raise KeyedError(("port",), f"{self.protocol} needs a port")
        return self


class DataCenterApp(_Frozen):
    """An application in the data center an agency segment may be allowed to reach."""

    id: str = Field(pattern=ID_RE)
    name: str = Field(pattern=NAME_RE)
    addresses: tuple[ipaddress.IPv4Network, ...] = Field(min_length=1)
    services: tuple[AppService, ...] = Field(min_length=1)

    @field_validator("addresses", mode="before")
    @classmethod
    def _strict(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(ipaddress.IPv4Network(v) if isinstance(v, str) else v for v in value)
        return value


class NetworkInventory(_Frozen):
    sites: tuple[Site, ...] = Field(min_length=1)
    vlan_pool: VlanPool
    ip_pool: IpPool
    apps: tuple[DataCenterApp, ...] = ()
    timing: dict[Platform, PlatformTiming] = Field(default_factory=dict,
                                                   description="per platform; a platform not given keeps the defaults")
    sessions: SessionLimits = SessionLimits()

    @model_validator(mode="after")
    def _unique(self) -> NetworkInventory:
        for index in _duplicates(s.id for s in self.sites):
            raise KeyedError(("sites", index, "id"), f"site {self.sites[index].id!r} is defined twice")
        names = [(s_i, d_i, d.name) for s_i, s in enumerate(self.sites) for d_i, d in enumerate(s.devices)]
        for index in _duplicates(n for _, _, n in names):
            s_i, d_i, name = names[index]
            raise KeyedError(("sites", s_i, "devices", d_i, "name"), f"device {name!r} is defined twice")
        for index in _duplicates(a.id for a in self.apps):
            raise KeyedError(("apps", index, "id"), f"app {self.apps[index].id!r} is defined twice")
        return self

    def site(self, site_id: str) -> Site:
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)

    def app(self, app_id: str) -> DataCenterApp:
        for app in self.apps:
            if app.id == app_id:
                return app
        raise KeyError(app_id)

    def devices(self) -> tuple[Device, ...]:
        return tuple(d for s in self.sites for d in s.devices)

    def site_caps(self) -> dict[str, int]:
        """Sites with a session cap of their own (``max_sessions``)."""
        return {s.id: s.max_sessions for s in self.sites if s.max_sessions is not None}


def describe_errors(exc: ValidationError, prefix: str) -> list[tuple[str, str]]:
    """``(key path, problem)`` pairs, with a `KeyedError`'s own path appended to pydantic's location."""
    problems = []
    errors = exc.errors(include_url=False)
    for error in errors:
        loc = [str(p) for p in error["loc"]]
        # A tuple whose items failed is also reported as too short: noise next to the real problem.
        if error["type"] == "too_short" and any(len(o["loc"]) > len(loc) and
                                                [str(p) for p in o["loc"][:len(loc)]] == loc for o in errors):
            continue
        message = error["msg"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedError):
            loc += [str(p) for p in cause.path]
            message = cause.problem
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append((".".join(loc) or prefix, message))
    return problems


def load_inventory(path: Path | str) -> NetworkInventory:
    """Parse and validate one inventory file; any problem is a ConfigurationError naming file and key."""
    path = Path(path)
    try:
        data = yaml_doc.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc.strerror}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path.name}: not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path.name}: must be a mapping at the top level", file=str(path))
    try:
        return NetworkInventory.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc, "(top)")
        text = "; ".join(f"{path.name}: {key}: {msg}" for key, msg in problems)
        raise ConfigurationError(text, file=str(path), errors=problems) from None
