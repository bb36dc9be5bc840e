"""The facts of one server (or switch), as one read-only SSH session (or netmiko) will fill them.

Every fact is optional: ``None`` means it was not gathered (command missing, permission denied, timeout),
and the rules that need it end ``error``. Facts are kept close to the raw command output (``sshd -T``,
``nft list ruleset``, ``apt-config dump``, ``timedatectl show``, Prometheus' ``/api/v1/targets`` answer,
``restic snapshots --json``, ``openssl x509 -enddate``) so the gathering stays a thin reader and all
interpretation is here, pure and tested. ``gathered_at`` is the one clock the evaluators use: ages and
expiries are measured from when the facts were read, never from when they are judged.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ServerFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1, description="inventory name of the target")
    address: str = Field(min_length=1, description="address Prometheus scrapes (host part of its instance label)")
    gathered_at: AwareDatetime
    sshd_effective: str | None = Field(default=None, description="output of `sshd -T` (effective configuration)")
    nft_ruleset: str | None = Field(default=None, description="output of `nft list ruleset` (what is loaded)")
    nft_persistent: str | None = Field(default=None, description="content of /etc/nftables.conf (what boot loads)")
    nftables_enabled: bool | None = Field(default=None, description="`systemctl is-enabled nftables` says enabled")
    app_dirs: tuple[str, ...] | None = Field(default=None, description="application directories searched")
    world_writable: tuple[str, ...] | None = Field(
        default=None, description="paths under app_dirs found by `find -xdev -perm -0002 ! -type l`")
    apt_config: str | None = Field(default=None, description="output of `apt-config dump`")
    timedatectl: str | None = Field(default=None, description="output of `timedatectl show`")
    prometheus_targets: str | None = Field(default=None, description="JSON body of Prometheus /api/v1/targets")
    restic_snapshots: str | None = Field(default=None, description="output of `restic snapshots --json`")
    tls_not_after: dict[str, str] | None = Field(
        default=None, description="site name -> `openssl x509 -noout -enddate` output of its served certificate")

    def age_of(self, moment: datetime) -> float:
        """Seconds from ``moment`` to when the facts were gathered (negative: in the future)."""
        return (self.gathered_at - moment).total_seconds()


class SwitchFacts(BaseModel):
    """One switch as read over netmiko (read-only ``show`` commands) plus what it should be.

    ``intended_config`` is rendered by the gathering from the network inventory and the approved plans
    (the sections our changes own); ``unused_ports`` are the inventory's access-port pool members that no
    segment allocation holds. Both are computed outside and handed in, so the rules stay pure.
    """
    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str = Field(min_length=1, description="network inventory name of the switch")
    gathered_at: AwareDatetime
    running_config: str | None = Field(default=None, description="output of `show running-config`")
    intended_config: str | None = Field(default=None, description="the sections the inventory and plans intend")
    unused_ports: tuple[str, ...] | None = Field(default=None, description="access ports no segment holds")
