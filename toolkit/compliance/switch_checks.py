"""The check types of switch profiles (Cisco IOS): drift against the intended config, settings that must not
be there, settings every matching section must have, and unused access ports left up.

They read ``show running-config`` text through `toolkit.network.ios` and compare sections the way the
Jaringan Intra path does (`toolkit.network.candidate`: order-free for interfaces and VLANs, ordered for
ACLs), so "drift" means what a push would change. Evidence names section headers and the offending
lines only, never the whole running config (it holds secrets such as enable hashes).
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.outcome import Outcome, Unparsable, failed, guarded, passed
from toolkit.network.candidate import differing, section_diff
from toolkit.network.ios import RunningConfig, full_interface_name, parse_running_config

MAX_LISTED = 20


def _parsed(text: str, what: str) -> RunningConfig:
    config = parse_running_config(text)
    if not config.sections:
        raise Unparsable(f"{what} kosong atau bukan konfigurasi IOS")
    if not any(s.header.startswith(("hostname ", "interface ", "vlan ", "ip ", "line ")) for s in config.sections):
        raise Unparsable(f"{what} bukan konfigurasi IOS")
    return config


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return value


class BaseSwitchCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    facts: ClassVar[tuple[str, ...]] = ("running_config",)

    def evaluate(self, facts: SwitchFacts) -> Outcome:
        return guarded(facts, self.facts, lambda: self.judge(facts))

    def judge(self, facts: SwitchFacts) -> Outcome:
        raise NotImplementedError


class ConfigDrift(BaseSwitchCheck):
    """Every section of the intended config reads the same on the device (absent counts as drift)."""
    type: Literal["config-drift"]
    facts: ClassVar[tuple[str, ...]] = ("running_config", "intended_config")

    def judge(self, facts: SwitchFacts) -> Outcome:
        running = _parsed(facts.running_config or "", "running-config")
        intended = parse_running_config(facts.intended_config or "")
        headers = [s.header for s in intended.sections]
        if not headers:
            raise Unparsable("konfigurasi yang dimaksud kosong")
        drifted = differing(running, intended, headers)
        if drifted:
            listed = ", ".join(drifted[:MAX_LISTED])
            return failed(f"{len(drifted)} bagian menyimpang: {listed}\n"
                          + section_diff(running, intended, drifted[:MAX_LISTED], facts.device))
        return passed(f"{len(headers)} bagian sesuai dengan konfigurasi yang dimaksud")


class ForbiddenConfig(BaseSwitchCheck):
    """No top-level line matching ``line``, or (with ``section``) no child line of a matching section."""
    type: Literal["forbidden-config"]
    section: str | None = Field(default=None, description="regex over section headers; None: top-level lines")
    line: str = Field(min_length=1, description="regex of the forbidden line")
    _check_section = field_validator("section")(lambda v: v if v is None else _regex(v))
    _check_line = field_validator("line")(_regex)

    def judge(self, facts: SwitchFacts) -> Outcome:
        config = _parsed(facts.running_config or "", "running-config")
        if self.section is None:
            found = [s.header for s in config.sections if re.search(self.line, s.header)]
        else:
            found = [f"{s.header} / {c}" for s in config.sections if re.search(self.section, s.header)
                     for c in s.children if re.search(self.line, c)]
        if found:
            return failed("ditemukan:\n" + "\n".join(found[:MAX_LISTED]))
        return passed(f"tidak ada baris yang cocok dengan {self.line}")


class RequiredInSections(BaseSwitchCheck):
    """Each section matching ``section`` has a child matching ``line``; none matching is unreadable."""
    type: Literal["required-in-sections"]
    section: str = Field(min_length=1)
    line: str = Field(min_length=1)
    _check_section = field_validator("section")(_regex)
    _check_line = field_validator("line")(_regex)

    def judge(self, facts: SwitchFacts) -> Outcome:
        config = _parsed(facts.running_config or "", "running-config")
        sections = [s for s in config.sections if re.search(self.section, s.header)]
        if not sections:
            raise Unparsable(f"tidak ada bagian yang cocok dengan {self.section}")
        lacking = [s for s in sections if not any(re.search(self.line, c) for c in s.children)]
        if lacking:
            return failed("\n".join(f"{s.header}: {'; '.join(s.children) or '(kosong)'}" for s in lacking[:MAX_LISTED]))
        return passed(f"{len(sections)} bagian memuat {self.line}")


class UnusedPortsShut(BaseSwitchCheck):
    """Access ports no segment holds are ``shutdown``, so a cable plugged in lands nowhere."""
    type: Literal["unused-ports-shut"]
    facts: ClassVar[tuple[str, ...]] = ("running_config", "unused_ports")

    def judge(self, facts: SwitchFacts) -> Outcome:
        config = _parsed(facts.running_config or "", "running-config")
        up, absent = [], []
        for port in facts.unused_ports or ():
            section = config.get(f"interface {full_interface_name(port)}")
            if section is None:
                absent.append(port)
            elif "shutdown" not in section.children:
                up.append(section.header.removeprefix("interface "))
        if absent:
            raise Unparsable(f"port tidak ada di running-config: {', '.join(absent[:MAX_LISTED])}")
        if up:
            return failed(f"{len(up)} port tidak terpakai belum shutdown: {', '.join(up[:MAX_LISTED])}")
        return passed(f"{len(facts.unused_ports or ())} port tidak terpakai dalam keadaan shutdown")


SwitchCheck = Annotated[ConfigDrift | ForbiddenConfig | RequiredInSections | UnusedPortsShut,
                        Field(discriminator="type")]
SWITCH_CHECK_TYPES: tuple[str, ...] = ("config-drift", "forbidden-config", "required-in-sections",
                                       "unused-ports-shut")
