"""The facts of one server (or switch, or the API gateway), as one read-only SSH session (netmiko; the
gateway's admin API and Keycloak) will fill them.

Every fact is optional: ``None`` means it was not gathered (command missing, permission denied, timeout),
and the rules that need it end ``error``. Facts are kept close to the raw command output (``sshd -T``,
``nft list ruleset``, ``apt-config dump``, ``timedatectl show``, Prometheus' ``/api/v1/targets`` answer,
``restic snapshots --json``, ``openssl x509 -enddate``) so the gathering stays a thin reader and all
interpretation is here, pure and tested. ``gathered_at`` is the one clock the evaluators use: ages and
expiries are measured from when the facts were read, never from when they are judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GatewayCredentialFact(_Fact):
    """One credential of a consumer, never its secret: there is no field that could hold one."""
    key_id: str = Field(min_length=1)
    kind: str = Field(default="key-auth", description="key-auth or oauth2-client")
    active: bool
    expires_at: AwareDatetime | None = Field(default=None, description="the gateway's expiry, else the register's")
    expiry_from: Literal["gateway", "register"] | None = None


class GatewayConsumerFact(_Fact):
    name: str = Field(min_length=1)
    id: str = Field(min_length=1)
    active: bool
    credentials: tuple[GatewayCredentialFact, ...] = ()


class GatewayRouteFact(_Fact):
    api: str = Field(min_length=1)
    route_id: str = Field(min_length=1)
    policies: tuple[str, ...] = ()
    default_per_minute: int | None = Field(default=None, description="a limit every consumer of the route has")
    consumer_limits: int = Field(default=0, ge=0, description="per-consumer limits (SPLP quotas) on the route")


class IdpClientFact(_Fact):
    client_id: str = Field(min_length=1)
    enabled: bool


class RevokedConsumerFact(_Fact):
    """A consumer whose every credential in the SPLP register was revoked, and its OAuth2 client if any."""
    consumer: str = Field(min_length=1)
    client_id: str | None = None


class GatewayFacts(BaseModel):
    """The API gateway and Keycloak as listed read-only, plus what the SPLP tickets and register say.

    ``ticketed_consumers`` are the consumers an SPLP ticket stands behind: named by an SPLP ticket still
    open, in progress or deferred, or holding a credential that a ticket issued and that was not revoked
    (an SPLP ticket closes once the key is handed over; the consumer is not an orphan for that).
    ``revoked_consumers`` come from the register. ``idp_clients`` is ``None`` when no identity provider is
    configured or it could not be read: the OAuth2 rule then ends ``error``.
    """
    model_config = ConfigDict(frozen=True, extra="forbid")

    gateway: str = Field(min_length=1, description="the target: the configured gateway's name")
    gathered_at: AwareDatetime
    consumers: tuple[GatewayConsumerFact, ...] | None = None
    routes: tuple[GatewayRouteFact, ...] | None = None
    idp_clients: tuple[IdpClientFact, ...] | None = None
    ticketed_consumers: frozenset[str] | None = None
    revoked_consumers: tuple[RevokedConsumerFact, ...] | None = None
