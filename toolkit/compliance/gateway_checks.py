"""The check types of the ``splp`` profile: the API gateway's consumers, credentials and routes, and Keycloak.

Each type judges `GatewayFacts` in pure Python and also names its *offenders* (the consumers, credentials,
routes or clients that make it fail), because the remediation acts on exactly those: what a finding lists is
what the plan changes. Each type says which remediation actions fit it (``remedies``); the profile model
refuses a rule whose remediation does not.

Evidence names consumers, key ids, APIs and client ids, never a secret: the facts hold none.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.compliance.facts import GatewayFacts
from toolkit.compliance.outcome import Outcome, failed, guarded, passed

MAX_LISTED = 20
GatewayAction = Literal["disable-consumer", "disable-credential", "add-rate-limit", "disable-oauth2-client"]


class Offender(BaseModel):
    """One thing a gateway rule found wrong: a consumer, a credential (of ``consumer``), a route or a client."""
    model_config = ConfigDict(frozen=True)
    what: Literal["consumer", "credential", "route", "client"]
    name: str
    consumer: str | None = None
    detail: str = ""

    def shown(self) -> str:
        owner = f"{self.consumer}/" if self.consumer else ""
        return f"{owner}{self.name}" + (f" ({self.detail})" if self.detail else "")


def _listing(offenders: list[Offender]) -> str:
    lines = [o.shown() for o in offenders[:MAX_LISTED]]
    more = len(offenders) - MAX_LISTED
    return "\n".join(lines + ([f"... dan {more} lainnya"] if more > 0 else []))


class BaseGatewayCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    facts: ClassVar[tuple[str, ...]] = ()
    remedies: ClassVar[tuple[str, ...]] = ()

    def evaluate(self, facts: GatewayFacts) -> Outcome:
        """Error when a named fact was not gathered; otherwise fail listing the offenders, or pass."""
        return guarded(facts, self.facts, lambda: self.judge(facts))

    def judge(self, facts: GatewayFacts) -> Outcome:
        found = self.offenders(facts)
        if found:
            return failed(f"{self.failing_text(len(found))}:\n{_listing(found)}")
        return passed(self.passing_text(facts))

    def offenders(self, facts: GatewayFacts) -> list[Offender]:
        """What fails the rule (empty: it passes); the remediation plans one change per offender."""
        raise NotImplementedError

    def failing_text(self, count: int) -> str:
        raise NotImplementedError

    def passing_text(self, facts: GatewayFacts) -> str:
        raise NotImplementedError


class ConsumerHasTicket(BaseGatewayCheck):
    """Every active consumer on the gateway has an SPLP ticket behind it (no orphan consumers)."""
    type: Literal["consumer-has-ticket"]
    ignore: tuple[str, ...] = Field(default=(), description="consumers spbe itself uses (none by default)")
    facts: ClassVar[tuple[str, ...]] = ("consumers", "ticketed_consumers")
    remedies: ClassVar[tuple[str, ...]] = ("disable-consumer",)

    def offenders(self, facts: GatewayFacts) -> list[Offender]:
        ticketed = facts.ticketed_consumers or frozenset()
        return [Offender(what="consumer", name=c.name) for c in facts.consumers or ()
                if c.active and c.name not in ticketed and c.name not in self.ignore]

    def failing_text(self, count: int) -> str:
        return f"{count} konsumen aktif tanpa tiket SPLP yang berlaku"

    def passing_text(self, facts: GatewayFacts) -> str:
        active = sum(1 for c in facts.consumers or () if c.active)
        return f"{active} konsumen aktif, semuanya memiliki tiket SPLP yang berlaku"


class CredentialNotExpired(BaseGatewayCheck):
    """No credential still works past its expiry (only active credentials of active consumers work)."""
    type: Literal["credential-not-expired"]
    require_expiry: bool = Field(default=False, description="an active credential with no known expiry fails too")
    facts: ClassVar[tuple[str, ...]] = ("consumers",)
    remedies: ClassVar[tuple[str, ...]] = ("disable-credential",)

    def offenders(self, facts: GatewayFacts) -> list[Offender]:
        found = []
        for consumer in facts.consumers or ():
            if not consumer.active:
                continue
            for cred in consumer.credentials:
                if not cred.active:
                    continue
                if cred.expires_at is None:
                    if self.require_expiry:
                        found.append(Offender(what="credential", name=cred.key_id, consumer=consumer.name,
                                              detail="tanpa tanggal kedaluwarsa"))
                elif cred.expires_at <= facts.gathered_at:
                    when = cred.expires_at.astimezone(UTC).isoformat(timespec="seconds")
                    found.append(Offender(what="credential", name=cred.key_id, consumer=consumer.name,
                                          detail=f"berakhir {when}"))
        return found

    def failing_text(self, count: int) -> str:
        return f"{count} kredensial aktif melewati masa berlaku"

    def passing_text(self, facts: GatewayFacts) -> str:
        count = sum(1 for c in facts.consumers or () if c.active for k in c.credentials if k.active)
        return f"{count} kredensial aktif, tidak ada yang melewati masa berlaku"


class RouteRateLimited(BaseGatewayCheck):
    """Every route has a rate limit that holds for every consumer (OWASP API4, unrestricted consumption)."""
    type: Literal["route-rate-limit"]
    consumer_limits_suffice: bool = Field(
        default=False, description="per-consumer limits alone pass (a consumer added later would have none)")
    facts: ClassVar[tuple[str, ...]] = ("routes",)
    remedies: ClassVar[tuple[str, ...]] = ("add-rate-limit",)

    def offenders(self, facts: GatewayFacts) -> list[Offender]:
        found = []
        for route in facts.routes or ():
            if route.default_per_minute is not None:
                continue
            if self.consumer_limits_suffice and route.consumer_limits > 0:
                continue
            policies = ", ".join(route.policies) or "-"
            found.append(Offender(what="route", name=route.api, detail=f"kebijakan: {policies}; "
                                                                       f"batas per konsumen: {route.consumer_limits}"))
        return found

    def failing_text(self, count: int) -> str:
        return f"{count} rute tanpa batas laju yang berlaku untuk semua konsumen"

    def passing_text(self, facts: GatewayFacts) -> str:
        return f"{len(facts.routes or ())} rute, semuanya memiliki batas laju"


class RevokedClientDisabled(BaseGatewayCheck):
    """The OAuth2 client of a consumer whose credentials were revoked is disabled in Keycloak."""
    type: Literal["revoked-client-disabled"]
    facts: ClassVar[tuple[str, ...]] = ("idp_clients", "revoked_consumers")
    remedies: ClassVar[tuple[str, ...]] = ("disable-oauth2-client",)

    def offenders(self, facts: GatewayFacts) -> list[Offender]:
        owners = {r.client_id: r.consumer for r in facts.revoked_consumers or () if r.client_id}
        return [Offender(what="client", name=c.client_id, consumer=owners[c.client_id], detail="masih aktif")
                for c in facts.idp_clients or () if c.enabled and c.client_id in owners]

    def failing_text(self, count: int) -> str:
        return f"{count} klien OAuth2 milik konsumen yang dicabut masih aktif"

    def passing_text(self, facts: GatewayFacts) -> str:
        return f"{len(facts.revoked_consumers or ())} konsumen dicabut; tidak ada klien OAuth2-nya yang masih aktif"


GatewayCheck = Annotated[ConsumerHasTicket | CredentialNotExpired | RouteRateLimited | RevokedClientDisabled,
                         Field(discriminator="type")]
GATEWAY_CHECK_TYPES: tuple[str, ...] = ("consumer-has-ticket", "credential-not-expired", "route-rate-limit",
                                        "revoked-client-disabled")
