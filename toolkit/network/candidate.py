"""What a Cisco IOS change will do to a device's running config, and how to undo it from a backup.

`candidate` applies rendered change lines to a parsed running config the way IOS merges them (a new
``description`` replaces the old one, ``no shutdown`` removes ``shutdown``, ACEs are appended unless an
identical one exists, ``switchport trunk allowed vlan add`` on a trunk that allows every VLAN changes
nothing). It is a model of IOS for the lines our templates emit, not a device: the diff it gives is
"the running config's affected sections now" against "those sections as they should read after the
push", good for review and for telling whether a push is needed at all (idempotence), while
verification after the push reads the device itself.

`restore_lines` is the reverse direction: the config lines that turn the affected sections of the
current running config back into the backup's (line by line for physical interfaces, which keep
their links up; whole sections re-created for VLANs, SVIs and ACLs, whose entries are ordered).
Everything here is pure and works on `toolkit.network.ios` models.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from toolkit.network.ios import RunningConfig, Section, normalize_ace, vlan_list, vlan_ranges
from toolkit.network.plan import NetworkChange

ALL_VLANS = frozenset(range(1, 4095))


def affected_headers(plan: NetworkChange, device: str) -> list[str]:
    """The running-config sections a plan touches on ``device``, in creation order."""
    ports = plan.device(device)
    headers = [f"vlan {plan.vlan_id}", f"ip access-list extended {plan.acl_name}"]
    if ports.gateway:
        headers.append(f"interface Vlan{plan.vlan_id}")
    headers += [f"interface {name}" for name in (*ports.access_ports, *ports.trunk_ports)]
    return list(dict.fromkeys(headers))


def _key(child: str) -> str:
    words = child.split()
    if not words:
        return ""
    if words[0] in ("description", "name"):
        return words[0]
    for prefix in ("switchport access vlan", "switchport mode", "switchport trunk native vlan",
                   "switchport trunk allowed vlan", "switchport trunk encapsulation"):  # fmt: skip
        if child.startswith(prefix):
            return prefix
    if words[:2] == ["ip", "address"] and "secondary" not in words:
        return "ip address"
    if words[:2] == ["ip", "access-group"] and words[-1] in ("in", "out"):
        return f"ip access-group {words[-1]}"
    return " ".join(words)


def _blocks(lines: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Rendered lines -> (top-level line, its sub-mode lines); `` exit`` closes a block."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in lines:
        if raw.startswith(" "):
            child = re.sub(r"\s+", " ", raw.strip())
            if child != "exit" and blocks:
                blocks[-1][1].append(child)
        elif raw.strip() and raw.strip() != "end":
            blocks.append((re.sub(r"\s+", " ", raw.strip()), []))
    return blocks


def _merge(children: list[str], line: str) -> list[str]:
    if line.startswith("no "):
        key = _key(line[3:])
        return [c for c in children if _key(c) != key]
    if line.startswith(("switchport trunk allowed vlan add ", "switchport trunk allowed vlan remove ")):
        *_, op, values = line.split()
        current = next((c for c in children if _key(c) == "switchport trunk allowed vlan"), None)
        allowed = vlan_list(current.split()[-1]) if current else ALL_VLANS
        allowed = allowed | vlan_list(values) if op == "add" else allowed - vlan_list(values)
        rest = [c for c in children if c != current]
        return rest if allowed == ALL_VLANS else [*rest, f"switchport trunk allowed vlan {vlan_ranges(allowed)}"]
    key = _key(line)
    for index, child in enumerate(children):
        if _key(child) == key:
            return [*children[:index], line, *children[index + 1:]]
    return [*children, line]


def candidate(running: RunningConfig, lines: Sequence[str]) -> RunningConfig:
    """``running`` with the rendered ``lines`` applied as IOS would (see the module docstring)."""
    sections = {s.header: list(s.children) for s in running.sections}
    order = [s.header for s in running.sections]
    for header, children in _blocks(lines):
        if header.startswith("no "):
            target = header[3:]
            if target.startswith(("vlan ", "ip access-list ")) or \
                    re.match(r"interface (Vlan|Port-channel)\d+$", target):
                sections.pop(target, None)
            continue
        if header not in sections:
            sections[header] = []
            order.append(header)
        if header.startswith("ip access-list "):
            known = {normalize_ace(c) for c in sections[header]}
            for child in children:
                if normalize_ace(child) not in known:
                    sections[header].append(child)
                    known.add(normalize_ace(child))
            continue
        for child in children:
            sections[header] = _merge(sections[header], child)
    return RunningConfig(sections=tuple(Section(header=h, children=tuple(sections[h])) for h in order if h in sections))


def canonical(section: Section | None) -> tuple[str, ...] | None:
    """Order-free for interface and VLAN sections (IOS prints children in its own order), ordered for ACLs."""
    if section is None:
        return None
    if section.header.startswith("ip access-list "):
        return tuple(normalize_ace(c) for c in section.children)
    return tuple(sorted(section.children))


def differing(a: RunningConfig, b: RunningConfig, headers: Iterable[str]) -> list[str]:
    """The headers whose sections differ between ``a`` and ``b`` (absent counts as a difference)."""
    return [h for h in headers if canonical(a.get(h)) != canonical(b.get(h))]


def section_diff(before: RunningConfig, after: RunningConfig, headers: Sequence[str], device: str) -> str:
    """Unified diff of only the affected sections (the rest of the config, secrets included, never shows)."""

    def text(config: RunningConfig) -> list[str]:
        return [line for h in headers if (s := config.get(h)) is not None for line in s.lines()]

    return "".join(
        line + "\n" for line in difflib.unified_diff(text(before), text(after), f"{device}:running",
                                                     f"{device}:candidate", lineterm="")  # fmt: skip
    )


def restore_lines(backup: RunningConfig, current: RunningConfig, headers: Sequence[str]) -> list[str]:
    """Config lines that make ``headers`` in ``current`` equal to ``backup`` (empty when they already are).

    Physical interfaces first (their access VLAN may point at a VLAN about to go), then SVIs, ACLs and
    VLANs; a section absent from the backup is removed, a changed VLAN/SVI/ACL is re-created.
    """
    phases: list[list[str]] = [[], [], [], []]
    for header in differing(backup, current, headers):
        old, new = backup.get(header), current.get(header)
        if header.startswith("interface ") and not re.match(r"interface (Vlan|Port-channel)\d+$", header):
            phases[0] += _interface_edit(header, old, new)
            continue
        phase = 1 if header.startswith("interface ") else 2 if header.startswith("ip access-list ") else 3
        if new is not None:
            phases[phase].append(f"no {header}")
        if old is not None:
            phases[phase] += [old.header, *(f" {c}" for c in old.children), " exit"]
    return [line for phase in phases for line in phase]


def _interface_edit(header: str, old: Section | None, new: Section | None) -> list[str]:
    wanted = list(old.children) if old else []
    have = list(new.children) if new else []
    lines = [header]
    for child in have:
        if child not in wanted:
            if child == "shutdown":
                lines.append(" no shutdown")
            elif _key(child) == child or _key(child) not in {_key(w) for w in wanted}:
                lines.append(f" no {child}")  # a keyed line the backup sets differently is just replaced
    lines += [f" {child}" for child in wanted if child not in have]
    return [*lines, " exit"] if len(lines) > 1 else []
