"""The remediation of failing ``jaringan-intra`` rules as pure data: which sections change, to what, and the
IOS lines that get there (and back).

Commands are chosen here, by the toolkit, never taken from a rule's regex, a check's evidence or a ticket:
a rule is remediated only when its check is one this module knows (`fix_for`), and each fix is a fixed
edit (``transport input ssh`` on every vty line, ``no ip http server``, removing the ``public``/``private``
communities, ``shutdown`` on the free pool ports, the intended sections back for drift). The lines come
from comparing two parsed configs section by section: `toolkit.network.candidate.restore_lines` for
interfaces, VLANs and ACLs (the Jaringan Intra rollback's own code), and here for what it does not cover,
``line`` blocks (edited in place: ``no line vty 0 4`` is not IOS) and one-line global settings
(``no ip http server``). The same function turns the device back into its backup, so apply, its rollback
and undo all speak the same lines. Every line is checked against a narrow shape before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.switch_checks import ConfigDrift, ForbiddenConfig, RequiredInSections, UnusedPortsShut
from toolkit.errors import InvalidInputError
from toolkit.network.candidate import differing, restore_lines
from toolkit.network.ios import RunningConfig, Section, full_interface_name, parse_running_config

FixKind = Literal["restore-intended", "vty-ssh-only", "no-http-server", "remove-default-snmp", "shutdown-unused"]
# The packaged profile's checks this module can put right; a site rule with another check is refused.
KNOWN: dict[tuple[str, str | None, str], FixKind] = {
    ("required-in-sections", "^line vty ", "^transport input ssh$"): "vty-ssh-only",
    ("forbidden-config", None, "^ip http server$"): "no-http-server",
    ("forbidden-config", None, "^snmp-server community (public|private)( |$)"): "remove-default-snmp",
}
VTY = re.compile(r"^line vty \d{1,2} \d{1,2}$")
DEFAULT_COMMUNITY = re.compile(r"^snmp-server community (public|private)( (RO|RW|ro|rw))?$")
HEADER = re.compile(r"^(interface [A-Za-z-]+[\d/.]+|vlan \d{1,4}|ip access-list (extended|standard) [A-Za-z0-9_.-]+"
                    r"|line (vty \d{1,2} \d{1,2}|con 0)|(no )?ip http server|snmp-server community [A-Za-z0-9_.-]+"
                    r"( (RO|RW))?)$")
# One config line: printable ASCII, no chaining, substitution or template syntax (see toolkit.network.plan).
SAFE_LINE = re.compile(r"^ ?[A-Za-z0-9][\x20-\x7e]{0,200}$")
UNSAFE = re.compile(r"[;|`]|\$\(|\{\{|\{%|\{#")


class SwitchFix(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    rule_id: str
    kind: FixKind


class SwitchChange(BaseModel):
    """The typed change of one remediation plan (``RemediationPlan.detail``): the sections it touches, how
    they read before (the gathered running config) and after; the lines are derived, never stored."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    device: str
    fixes: tuple[SwitchFix, ...] = Field(min_length=1)
    headers: tuple[str, ...] = Field(min_length=1)
    before: str = Field(description="the touched sections as gathered (running-config text)")
    after: str = Field(description="the touched sections as they will read (absent: removed)")


def fix_for(rule_id: str, check: object) -> FixKind:
    """The fix for a rule's check, or `InvalidInputError` when the toolkit has none for it."""
    if isinstance(check, ConfigDrift):
        return "restore-intended"
    if isinstance(check, UnusedPortsShut):
        return "shutdown-unused"
    if isinstance(check, RequiredInSections | ForbiddenConfig):
        known = KNOWN.get((check.type, check.section, check.line))
        if known is not None:
            return known
    raise InvalidInputError(f"rule {rule_id} has no switch remediation the toolkit knows",
                            errors=[("rules", f"{rule_id}: no known remediation for its check")])


def _edit(sections: dict[str, list[str]], order: list[str], header: str, children: list[str] | None) -> None:
    if children is None:
        sections.pop(header, None)
        return
    if header not in sections:
        order.append(header)
    sections[header] = children


def target_config(facts: SwitchFacts, kinds: Sequence[FixKind]) -> tuple[RunningConfig, RunningConfig, list[str]]:
    """(running, the running config with every fix applied, the touched headers in order)."""
    if facts.running_config is None:
        raise InvalidInputError(f"{facts.device}: no running config was gathered; nothing to plan from")
    running = parse_running_config(facts.running_config)
    sections = {s.header: list(s.children) for s in running.sections}
    order = [s.header for s in running.sections]
    touched: list[str] = []
    if "restore-intended" in kinds:
        if facts.intended_config is None:
            raise InvalidInputError(f"{facts.device}: the intended config is unknown; drift cannot be restored")
        intended = parse_running_config(facts.intended_config)
        for header in differing(running, intended, [s.header for s in intended.sections]):
            section = intended.get(header)
            _edit(sections, order, header, list(section.children) if section else None)
            touched.append(header)
    if "vty-ssh-only" in kinds:
        for header in [h for h in order if VTY.fullmatch(h) and h in sections]:
            kept = [c for c in sections[header] if not c.startswith("transport input")]
            if kept + ["transport input ssh"] != sections[header]:
                _edit(sections, order, header, kept + ["transport input ssh"])
                touched.append(header)
    if "no-http-server" in kinds and "ip http server" in sections:
        _edit(sections, order, "ip http server", None)
        touched.append("ip http server")
    if "remove-default-snmp" in kinds:
        for header in [h for h in order if DEFAULT_COMMUNITY.fullmatch(h) and h in sections]:
            _edit(sections, order, header, None)
            touched.append(header)
    if "shutdown-unused" in kinds:
        for port in facts.unused_ports or ():
            header = f"interface {full_interface_name(port)}"
            if header in sections and "shutdown" not in sections[header]:
                _edit(sections, order, header, [*sections[header], "shutdown"])
                touched.append(header)
    target = RunningConfig(sections=tuple(Section(header=h, children=tuple(sections[h])) for h in order
                                          if h in sections))
    return running, target, list(dict.fromkeys(touched))


def sections_text(config: RunningConfig, headers: Sequence[str]) -> str:
    return "".join(line + "\n" for h in headers if (s := config.get(h)) is not None for line in s.lines())


def _line_block(header: str, old: Section | None, new: Section | None) -> list[str]:
    """Edit a ``line`` block in place; ``transport input`` is one setting (a new value replaces the old)."""
    wanted = list(old.children) if old else []
    have = list(new.children) if new else []

    def key(child: str) -> str:
        return "transport input" if child.startswith("transport input") else child

    lines = [header]
    lines += [f" no {key(c)}" for c in have if c not in wanted and key(c) not in {key(w) for w in wanted}]
    lines += [f" {c}" for c in wanted if c not in have]
    return [*lines, " exit"] if len(lines) > 1 else []


def config_lines(wanted: RunningConfig, current: RunningConfig, headers: Sequence[str]) -> list[str]:
    """Lines that make ``headers`` of ``current`` read as in ``wanted`` (absent there: removed)."""
    ours = [h for h in headers if h.startswith(("interface ", "vlan ", "ip access-list "))]
    # ``no description`` takes no text: the device's old description (anything it was given) is not repeated.
    lines = [" no description" if line.startswith(" no description ") else line
             for line in restore_lines(wanted, current, ours)]
    for header in differing(wanted, current, [h for h in headers if h not in ours]):
        old, new = wanted.get(header), current.get(header)
        if header.startswith("line "):
            lines += _line_block(header, old, new)
        elif (old and old.children) or (new and new.children):
            raise InvalidInputError(f"no remediation edit for the section {header[:60]!r}")
        elif old is None:
            lines.append(header.removeprefix("no ") if header.startswith("no ") else f"no {header}")
        else:
            lines.append(header)
    return checked(lines)


def checked(lines: list[str]) -> list[str]:
    """``lines`` when each is a plain config line; an `InvalidInputError` naming the first one that is not."""
    for line in lines:
        header = not line.startswith(" ")
        if not SAFE_LINE.fullmatch(line) or UNSAFE.search(line) or (
                header and not HEADER.fullmatch(line.removeprefix("no ")) and line.strip() != "exit"):
            raise InvalidInputError(f"refusing to send the config line {line[:60]!r}",
                                    errors=[("lines", "not a line the toolkit sends")])
    return lines
