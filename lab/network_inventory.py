"""The lab's network inventory: the sites of ``inventory/network/lab.yml`` on the switches of one running lab.

The switch simulators get new ports and new passwords on every ``spbe lab up``, so the shipped file names
them by placeholder, and the lab writes a plain inventory the product can load (``<lab>/network.yml``) each
time it starts. Placeholders, all resolved here and nowhere in the product:

- ``lab:<switch>`` as a device's ``host`` or ``port``: the address or port this lab gave that switch;
- ``lab:switches/password`` / ``lab:switches/secret``: ``file:`` references to the 0600 files holding that
  switch's credentials (for a device whose host is not a placeholder, the first switch's files).

The written file holds no secret, only where the secrets are, like every inventory.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

import spbe_data
from lab.models import LabSwitch
from toolkit.errors import ConfigurationError

PREFIX = "lab:"
CREDENTIAL_REFS = {"lab:switches/password": "password_file", "lab:switches/secret": "secret_file"}


def source() -> Path:
    """The shipped description of the lab's sites (package data, so an installed lab finds it too)."""
    return spbe_data.data_path("inventory", "network", "lab.yml")


def _first(ref: str, switches: Sequence[LabSwitch], lab_name: str) -> LabSwitch:
    if not switches:
        raise ConfigurationError(f"{ref} needs a running lab with switches; lab {lab_name!r} has none", ref=ref)
    return switches[0]


def _switch(ref: str, switches: Sequence[LabSwitch], lab_name: str) -> LabSwitch:
    _first(ref, switches, lab_name)
    name = ref.removeprefix(PREFIX)
    for switch in switches:
        if switch.name == name:
            return switch
    known = [s.name for s in switches]
    raise ConfigurationError(f"{ref}: lab {lab_name!r} has no such switch (switches: {known})", ref=ref)


def _device(device: dict[str, Any], switches: Sequence[LabSwitch], lab_name: str) -> dict[str, Any]:
    host, port = device.get("host"), device.get("port")
    own = _switch(host, switches, lab_name) if isinstance(host, str) and host.startswith(PREFIX) else None
    if own is not None:
        device["host"] = own.host
    if isinstance(port, str) and port.startswith(PREFIX):
        device["port"] = _switch(port, switches, lab_name).port
    credentials = device.get("credentials") or {}
    for key in ("password_ref", "secret_ref"):
        ref = credentials.get(key)
        if isinstance(ref, str) and ref in CREDENTIAL_REFS:
            switch = own or _first(ref, switches, lab_name)
            credentials[key] = f"file:{getattr(switch, CREDENTIAL_REFS[ref])}"
    return device


def _running_only(data: dict[str, Any], switches: Sequence[LabSwitch]) -> dict[str, Any]:
    """``data`` without the devices whose placeholder names a switch that is not running (a lab started
    with fewer switches than the file describes), their access-port pools and sites left empty."""
    running = {PREFIX + s.name for s in switches}
    kept = []
    for site in data.get("sites") or []:
        devices = [d for d in site.get("devices") or []
                   if not (isinstance(d.get("host"), str) and d["host"].startswith(PREFIX)) or d["host"] in running]
        if devices:
            names = {d.get("name") for d in devices}
            kept.append({**site, "devices": devices,
                         "access_ports": [p for p in site.get("access_ports") or [] if p.get("device") in names]})
    return {**data, "sites": kept}


def resolve(data: dict[str, Any], switches: Sequence[LabSwitch], lab_name: str, *,
            running_only: bool = False) -> dict[str, Any]:
    """A copy of inventory ``data`` with every placeholder replaced from ``switches`` (a full lab's or a
    switch-only lab's); a placeholder naming a switch the lab does not have is a ConfigurationError, or with
    ``running_only`` its device is left out (what ``spbe lab up --switches N`` writes)."""
    resolved = copy.deepcopy(_running_only(data, switches) if running_only else data)
    for site in resolved.get("sites") or []:
        site["devices"] = [_device(d, switches, lab_name) for d in site.get("devices") or []]
    return resolved


def one_site(switches: Sequence[LabSwitch], lab_name: str, site_id: str, interfaces: Sequence[str], *,
             timing: dict[str, Any] | None = None, **site: Any) -> dict[str, Any]:
    """A resolved inventory of one site holding every switch of a switch lab as an access switch (``interfaces``
    its access ports), one app and the pools: what the push benchmark and the session-limit tests push to."""
    refs = {"username": switches[0].username, "password_ref": "lab:switches/password",
            "secret_ref": "lab:switches/secret"}  # fmt: skip
    devices = [{"name": s.name, "platform": "cisco_ios", "role": "access", "host": f"lab:{s.name}",
                "port": f"lab:{s.name}", "credentials": refs, "trunk_ports": ["GigabitEthernet0/1"]}
               for s in switches]  # fmt: skip
    data: dict[str, Any] = {
        "sites": [{"id": site_id, "name": site_id.title(), "opd": site_id.title(), "devices": devices, **site,
                   "access_ports": [{"device": s.name, "interfaces": list(interfaces)} for s in switches]}],
        "vlan_pool": {"start": 100, "end": 999}, "ip_pool": {"supernet": "10.20.0.0/16"},
        "apps": [{"id": "simpeg", "name": "SIMPEG", "addresses": ["10.10.0.10/32"],
                  "services": [{"protocol": "tcp", "port": 443}]}],
        **({"timing": timing} if timing else {}),
    }  # fmt: skip
    return resolve(data, switches, lab_name)


def write(switches: Sequence[LabSwitch], lab_name: str, dest: Path, src: Path | None = None) -> Path:
    """Write the resolved inventory of ``src`` (default: the shipped lab sites) to ``dest``."""
    data = yaml.safe_load((src or source()).read_text(encoding="utf-8"))
    header = (f"# Written by `spbe lab up --name {lab_name}` from {src or source()}: the lab's switches as they\n"
              "# run now (addresses, ports, credential files). Rewritten on every `up`; edit the source.\n")
    resolved = resolve(data, switches, lab_name, running_only=True)
    dest.write_text(header + yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
    return dest
