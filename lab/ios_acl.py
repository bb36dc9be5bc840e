"""IOS access lists as the lab switches keep them: ACE parsing and checking, numbering, and how IOS shows
them back (port names for numbers, ``host`` for a 0.0.0.0 wildcard, ``deny`` padded in running-config).
The command modes that use these are in `lab.ios_shims`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from lab.ios_mgmt import INVALID
from toolkit.network.ios import IOS_PORT_NAMES

INCOMPLETE = "% Incomplete command."

_PORT_OPS = {"eq": 1, "neq": 1, "lt": 1, "gt": 1, "range": 2}


class AceError(ValueError):
    """The ACE is not valid IOS; ``incomplete`` when it merely stops early."""

    def __init__(self, incomplete: bool = False) -> None:
        super().__init__(INCOMPLETE if incomplete else INVALID)
        self.incomplete = incomplete


@dataclass
class AccessList:
    kind: str  # "extended" | "standard"
    name: str
    entries: list[tuple[int, str]] = field(default_factory=list)  # (sequence, normalized ACE)

    def add(self, text: str, seq: int | None = None) -> None:
        if any(existing == text for _, existing in self.entries):
            return  # IOS keeps one copy of an identical ACE
        if seq is None:
            seq = (max((s for s, _ in self.entries), default=0) // 10 + 1) * 10
        elif any(s == seq for s, _ in self.entries):
            raise AceError()
        self.entries.append((seq, text))
        self.entries.sort()

    def running(self) -> list[str]:
        lines = [f"ip access-list {self.kind} {self.name}"]
        for _, text in self.entries:
            action, _, rest = text.partition(" ")
            lines.append(f" deny   {rest}" if action == "deny" else f" {text}")
        return lines

    def show(self) -> list[str]:
        title = "Extended" if self.kind == "extended" else "Standard"
        return [f"{title} IP access list {self.name}"] + [f"    {seq} {text}" for seq, text in self.entries]


# fake-switches compiles its pattern and splits every port's name again for each interface looked up;
# the split of a name never changes (a tuple of two strings), so it is kept.
def _address(tokens: list[str], standard: bool = False) -> str:
    """Consume one IOS address spec (any | host A | A [W]) from ``tokens`` and return it normalized."""
    if not tokens:
        raise AceError(incomplete=True)
    first = tokens.pop(0)
    if first == "any":
        return "any"
    if first == "host":
        if not tokens:
            raise AceError(incomplete=True)
        return f"host {ipaddress.IPv4Address(tokens.pop(0))}"
    address = ipaddress.IPv4Address(first)
    if standard and (not tokens or not _is_ip(tokens[0])):
        return f"host {address}"
    if not tokens:
        raise AceError(incomplete=True)
    wildcard = ipaddress.IPv4Address(tokens.pop(0))
    if int(wildcard) == 0:
        return f"host {address}"
    if int(wildcard) == 0xFFFFFFFF:
        return "any"
    return f"{address} {wildcard}"


def _is_ip(token: str) -> bool:
    try:
        ipaddress.IPv4Address(token)
    except ValueError:
        return False
    return True


def _port_spec(protocol: str, tokens: list[str]) -> str:
    if not tokens or tokens[0] not in _PORT_OPS or protocol not in ("tcp", "udp"):
        return ""
    op = tokens.pop(0)
    names = IOS_PORT_NAMES[protocol]
    by_name = {v: k for k, v in names.items()}
    values = []
    for _ in range(_PORT_OPS[op]):
        if not tokens:
            raise AceError(incomplete=True)
        raw = tokens.pop(0)
        number = by_name.get(raw) if not raw.isdigit() else int(raw)
        if number is None or not 0 <= number <= 65535:
            raise AceError()
        values.append(names.get(number, str(number)))
    return f" {op} {' '.join(values)}"


def parse_ace(words: list[str], kind: str) -> str:
    """``permit tcp 10.0.0.0 0.0.0.255 host 10.1.1.1 eq 53`` -> IOS's normalized text, or AceError."""
    tokens = list(words)
    action = tokens.pop(0)
    if action == "remark":
        if not tokens:
            raise AceError(incomplete=True)
        return "remark " + " ".join(tokens)
    try:
        if kind == "standard":
            text = f"{action} {_address(tokens, standard=True)}"
        else:
            if not tokens:
                raise AceError(incomplete=True)
            protocol = tokens.pop(0).lower()
            if protocol not in ("ip", "tcp", "udp", "icmp", "gre", "esp", "ahp", "ospf", "eigrp", "pim") \
                    and not (protocol.isdigit() and 0 <= int(protocol) <= 255):
                raise AceError()
            source = _address(tokens) + _port_spec(protocol, tokens)
            destination = _address(tokens) + _port_spec(protocol, tokens)
            text = f"{action} {protocol} {source} {destination}"
            if tokens and tokens[0] == "established" and protocol == "tcp":
                text += " " + tokens.pop(0)
        if tokens and tokens[0] == "log":
            text += " " + tokens.pop(0)
    except ipaddress.AddressValueError:
        raise AceError() from None
    if tokens:
        raise AceError()
    return text
