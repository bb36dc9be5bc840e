"""Gatherer and Remediator for the fast tier's Audit TI flow: servers that are Python dicts.

They implement the two ports of `toolkit.compliance.gathering` faithfully (resolve refuses unknown names,
a missing host is a `GatherFailure`, apply undoes what it did when a step fails), so the tests exercise the
real runner, command layer, policy, engine, store and templates; the real SSH, Ansible, netmiko and gateway
parts have their own lab tests (tests/compliance/test_*_lab.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gathering import GatherFailure, RemediationOutcome, RemediationPlan
from toolkit.errors import NotFoundError

HARDENED = "permitrootlogin no\npasswordauthentication no\nciphers aes256-gcm@openssh.com,aes128-ctr\n"
WEAK = "permitrootlogin yes\npasswordauthentication yes\nciphers aes256-gcm@openssh.com,aes128-ctr\n"


class DictServers:
    """name -> sshd -T text (None: unreachable)."""

    def __init__(self, clock: Callable[[], datetime], hosts: dict[str, str | None]) -> None:
        self.clock = clock
        self.hosts = hosts
        self.gathered: list[str] = []


class DictGatherer:
    kind = "server"

    def __init__(self, servers: DictServers) -> None:
        self.servers = servers

    def resolve(self, selectors: Sequence[str]) -> list[str]:
        names: list[str] = []
        for s in selectors:
            if s == "*":
                names.extend(sorted(self.servers.hosts))
            elif s in self.servers.hosts:
                names.append(s)
            else:
                raise NotFoundError(f"unknown target {s!r}")
        return list(dict.fromkeys(names))

    def gather(self, targets: Sequence[str], progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t in targets:
            sshd = self.servers.hosts.get(t)
            self.servers.gathered.append(t)
            out[t] = (GatherFailure(target=t, reason="connection refused") if sshd is None else
                      ServerFacts(host=t, address="192.0.2.1", gathered_at=self.servers.clock(), sshd_effective=sshd))
            if progress:
                progress(t)
        return out


class DictRemediator:
    """Sets the sshd options of the failing rules; ``fail_on`` makes apply fail after its first change."""
    kind = "server"

    def __init__(self, servers: DictServers, fail_on: set[str] | None = None) -> None:
        self.servers = servers
        self.fail_on = fail_on or set()
        self.applied: list[str] = []

    def plan(self, target: str, rules: Sequence[Any], facts: Any, work_dir: Any) -> RemediationPlan:
        before = self.servers.hosts[target] or ""
        return RemediationPlan(kind="server", target=target, rule_ids=tuple(r.id for r in rules),
                               preview=f"--- before\n{before}+++ after\n{HARDENED}",
                               detail={"before": before, "after": HARDENED})

    def apply(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        self.applied.append(plan.target)
        self.servers.hosts[plan.target] = str(plan.detail["after"])
        if plan.target in self.fail_on:
            self.servers.hosts[plan.target] = str(plan.detail["before"])
            return RemediationOutcome(ok=False, rolled_back=True, error="sshd -t refused the new configuration")
        return RemediationOutcome(ok=True, log="sshd reloaded")

    def undo(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        self.servers.hosts[plan.target] = str(plan.detail["before"])
        return RemediationOutcome(ok=True, rolled_back=True)
