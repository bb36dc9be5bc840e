"""Cisco IOS text into data: ``show vlan brief``, ``show running-config`` (and ``... interface X``),
``show ip access-lists``.

Used by verification after a push (is the VLAN, port membership, ACL really there?) and by the
analysis step (which VLAN IDs and ports are already used on a device). Pure functions over text, so
they are tested on captured output as well as live against the lab's simulators.

IOS rewrites some of what it is told: well-known port numbers become names (``eq 53`` reads back as
``eq domain``), a ``0.0.0.0`` wildcard becomes ``host``, ``deny`` is padded in running-config and
port names are abbreviated in ``show vlan``. `normalize_ace` and `full_interface_name` undo that so a
plan's entries can be compared with what the device reports.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

# IOS's names for well-known ports in ACEs (Cisco IOS Security Command Reference, "permit (IP)").
IOS_PORT_NAMES: dict[str, dict[int, str]] = {
    "tcp": {
        7: "echo", 9: "discard", 13: "daytime", 19: "chargen", 20: "ftp-data", 21: "ftp", 23: "telnet",
        25: "smtp", 37: "time", 43: "whois", 49: "tacacs", 53: "domain", 70: "gopher", 79: "finger",
        80: "www", 101: "hostname", 109: "pop2", 110: "pop3", 111: "sunrpc", 113: "ident", 119: "nntp",
        179: "bgp", 194: "irc", 512: "exec", 513: "login", 514: "cmd", 515: "lpd", 517: "talk", 540: "uucp",
    },
    "udp": {
        7: "echo", 9: "discard", 37: "time", 42: "nameserver", 49: "tacacs", 53: "domain", 67: "bootps",
        68: "bootpc", 69: "tftp", 111: "sunrpc", 123: "ntp", 137: "netbios-ns", 138: "netbios-dgm",
        139: "netbios-ss", 161: "snmp", 162: "snmptrap", 177: "xdmcp", 500: "isakmp", 512: "biff", 513: "who",
        514: "syslog", 517: "talk", 520: "rip", 4500: "non500-isakmp",
    },
}  # fmt: skip
_PORT_NUMBERS = {proto: {name: num for num, name in names.items()} for proto, names in IOS_PORT_NAMES.items()}
_SHORT_NAMES = {
    "Fa": "FastEthernet", "Gi": "GigabitEthernet", "Te": "TenGigabitEthernet", "Twe": "TwentyFiveGigE",
    "Fo": "FortyGigabitEthernet", "Hu": "HundredGigE", "Et": "Ethernet", "Po": "Port-channel",
}  # fmt: skip
# Longest abbreviation first, so "Twe" is tried before "Te".
_SHORT_BY_LENGTH = tuple((short.lower(), full, full.lower())
                         for short, full in sorted(_SHORT_NAMES.items(), key=lambda item: -len(item[0])))
_VLAN_LINE = re.compile(r"^(\d{1,4})\s+(\S+)\s+(active|suspended|act/lshut|sus/lshut|act/unsup)\s*(.*)$")
# Compiled once: the parsers run for every device of a fan-out (500 at once), and re's own cache lookup
# per call was a visible share of a push's client CPU.
_INTERFACE_NAME = re.compile(r"([A-Za-z-]+)(\d.*)")
_VLAN_CONTINUATION = re.compile(r"\s+[A-Za-z]+\d[\d/.]*(,\s*[A-Za-z]+\d[\d/.]*)*,?")
_VLAN_SECOND_TABLE = re.compile(r"VLAN\s+Type")
_PORT_SEPARATORS = re.compile(r"[,\s]+")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")
_ACL_HEADER = re.compile(r"(Standard|Extended) IP access list (\S+)")
_ACE_LINE = re.compile(r"\s+\d+\s+(permit|deny|remark)\b")
_MATCHES = re.compile(r"\s*\(\d+ matches\)$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class VlanInfo(_Frozen):
    """One row of ``show vlan brief``; ``ports`` are full interface names (access members)."""

    id: int
    name: str
    status: str
    ports: tuple[str, ...] = ()


class Section(_Frozen):
    """A top-level running-config line and its indented children, as IOS prints them."""

    header: str
    children: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [self.header, *(f" {child}" for child in self.children)]


class RunningConfig(_Frozen):
    """``show running-config`` split into sections in device order; volatile header lines dropped."""

    sections: tuple[Section, ...]

    def get(self, header: str) -> Section | None:
        return next((s for s in self.sections if s.header == header), None)

    def text(self) -> str:
        """Comparable text: the sections only, without byte counts or ``!`` separators."""
        return "".join(line + "\n" for section in self.sections for line in section.lines())


class InterfaceConfig(_Frozen):
    """The parts of one ``interface`` block that our changes touch."""

    name: str
    description: str | None = None
    mode: str | None = None
    access_vlan: int | None = None
    trunk_allowed: frozenset[int] | None = None  # None: IOS's default, every VLAN
    shutdown: bool = False
    ip_address: str | None = None  # "A.B.C.D M.M.M.M" (primary)
    access_group_in: str | None = None
    access_group_out: str | None = None

    def carries(self, vlan_id: int) -> bool:
        return self.trunk_allowed is None or vlan_id in self.trunk_allowed


class AccessListInfo(_Frozen):
    """A named ACL; ``entries`` are normalized ACE texts (see `normalize_ace`) in sequence order."""

    name: str
    kind: str
    entries: tuple[str, ...] = ()


@functools.lru_cache(maxsize=4096)
def full_interface_name(name: str) -> str:
    """``Fa0/1`` -> ``FastEthernet0/1``; a full name is returned unchanged. Cached: a switch has a few
    dozen port names and every ``show vlan brief`` of every device repeats them."""
    match = _INTERFACE_NAME.fullmatch(name.strip())
    if not match:
        return name.strip()
    kind, number = match.groups()
    lower = kind.lower()
    for short, full, full_lower in _SHORT_BY_LENGTH:
        if full_lower.startswith(lower) and lower.startswith(short):
            return full + number
    return kind + number


def parse_vlan_brief(text: str) -> list[VlanInfo]:
    """Rows of ``show vlan brief`` (or the first table of ``show vlan``), continuation lines included."""
    vlans: list[VlanInfo] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        match = _VLAN_LINE.match(line)
        if match:
            vlan_id, name, status, ports = match.groups()
            vlans.append(VlanInfo(id=int(vlan_id), name=name, status=status, ports=_ports(ports)))
        elif vlans and line.startswith(" ") and _VLAN_CONTINUATION.fullmatch(line):
            last = vlans[-1]
            vlans[-1] = last.model_copy(update={"ports": last.ports + _ports(line)})
        elif vlans and _VLAN_SECOND_TABLE.match(line):
            break  # the second table of a full "show vlan"
    return vlans


def _ports(text: str) -> tuple[str, ...]:
    return tuple(full_interface_name(p) for p in _PORT_SEPARATORS.split(text.strip()) if p)


def parse_running_config(text: str) -> RunningConfig:
    sections: list[Section] = []
    header: str | None = None
    children: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith(("Building configuration", "Current configuration")):
            continue
        if line[0] == " " and header is not None:
            children.append(" ".join(line.split()))  # runs of whitespace as one space, as before with \s+
            continue
        if header is not None:
            sections.append(Section(header=header, children=tuple(children)))
        header, children = None, []
        if line.strip() in ("!", "end") or line.startswith("!"):
            continue
        header = line.strip()
    if header is not None:
        sections.append(Section(header=header, children=tuple(children)))
    return RunningConfig(sections=tuple(sections))


def vlan_list(text: str) -> frozenset[int]:
    """``1-119,121-4094`` -> the set; ``none`` -> empty; ``all`` -> 1-4094."""
    text = text.strip()
    if text == "none":
        return frozenset()
    if text == "all":
        return frozenset(range(1, 4095))
    values: set[int] = set()
    for part in text.split(","):
        start, _, end = part.partition("-")
        values.update(range(int(start), int(end or start) + 1))
    return frozenset(values)


def vlan_ranges(values: Iterable[int]) -> str:
    """The inverse of `vlan_list`, as IOS prints it (runs of three or more as ``a-b``)."""
    ordered = sorted(set(values))
    if not ordered:
        return "none"
    runs: list[list[int]] = [[ordered[0]]]
    for value in ordered[1:]:
        if value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    parts = [f"{run[0]}-{run[-1]}" if len(run) >= 3 else ",".join(map(str, run)) for run in runs]
    return ",".join(parts)


def interface_config(section: Section) -> InterfaceConfig:
    """Parse an ``interface X`` section (from `parse_running_config`)."""
    values: dict[str, object] = {"name": section.header.removeprefix("interface ").strip()}
    for child in section.children:
        words = child.split()
        if words[0] == "description":
            values["description"] = child.partition(" ")[2]
        elif words[:2] == ["switchport", "mode"] and len(words) == 3:
            values["mode"] = words[2]
        elif words[:3] == ["switchport", "access", "vlan"] and len(words) == 4:
            values["access_vlan"] = int(words[3])
        elif words[:4] == ["switchport", "trunk", "allowed", "vlan"]:
            current = values.get("trunk_allowed")
            if len(words) == 6 and words[4] == "add" and isinstance(current, frozenset):
                values["trunk_allowed"] = current | vlan_list(words[5])
            elif len(words) == 5:
                values["trunk_allowed"] = vlan_list(words[4])
        elif words == ["shutdown"]:
            values["shutdown"] = True
        elif words[:2] == ["ip", "address"] and len(words) == 4:
            values["ip_address"] = f"{words[2]} {words[3]}"
        elif words[:2] == ["ip", "access-group"] and len(words) == 4:
            values["access_group_in" if words[3] == "in" else "access_group_out"] = words[2]
    return InterfaceConfig.model_validate(values)


def parse_interface(text: str) -> InterfaceConfig | None:
    """``show running-config interface X`` -> its config, or None when the device has no such interface."""
    config = parse_running_config(text)
    section = next((s for s in config.sections if s.header.startswith("interface ")), None)
    return interface_config(section) if section else None


def normalize_ace(text: str) -> str:
    """One canonical form for an ACE however IOS or a template wrote it: single spaces, port numbers,
    ``host A`` for a ``0.0.0.0`` wildcard, ``any`` for ``0.0.0.0 255.255.255.255``, no sequence number."""
    words = text.split()
    if words and words[0].isdigit():
        words = words[1:]
    out: list[str] = []
    protocol = words[1] if len(words) > 1 else ""
    index = 0
    while index < len(words):
        word = words[index]
        nxt = words[index + 1] if index + 1 < len(words) else ""
        after_host = bool(out) and out[-1] == "host"
        if not after_host and _IPV4.fullmatch(word) and _IPV4.fullmatch(nxt):
            out += ["host", word] if nxt == "0.0.0.0" else (  # noqa: S104 - a wildcard, not a bind address
                ["any"] if nxt == "255.255.255.255" else [word, nxt])
            index += 2
            continue
        if (out and out[-1] in ("eq", "neq", "lt", "gt", "range")) or (len(out) >= 2 and out[-2] == "range"):
            word = str(_PORT_NUMBERS.get(protocol, {}).get(word, word))
        out.append(word)
        index += 1
    return " ".join(out)


def parse_access_lists(text: str) -> dict[str, AccessListInfo]:
    """``show ip access-lists`` -> name -> entries (normalized, in sequence order)."""
    acls: dict[str, AccessListInfo] = {}
    current: AccessListInfo | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        header = _ACL_HEADER.match(line)
        if header:
            current = AccessListInfo(name=header.group(2), kind=header.group(1).lower())
            acls[current.name] = current
        elif current is not None and _ACE_LINE.match(line):
            entry = normalize_ace(_MATCHES.sub("", line.strip()))
            current = current.model_copy(update={"entries": current.entries + (entry,)})
            acls[current.name] = current
    return acls


def access_list_from_section(section: Section) -> AccessListInfo:
    """An ``ip access-list extended|standard NAME`` running-config section as `AccessListInfo`."""
    _, _, kind, name = section.header.split(maxsplit=3)
    return AccessListInfo(name=name, kind=kind, entries=tuple(normalize_ace(c) for c in section.children))
