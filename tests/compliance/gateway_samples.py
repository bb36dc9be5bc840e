"""Facts of a compliant SPLP gateway, shaped as `GatewayGatherer` hands them (listing, register, tickets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from toolkit.compliance.facts import (
    GatewayConsumerFact,
    GatewayCredentialFact,
    GatewayFacts,
    GatewayRouteFact,
    IdpClientFact,
    RevokedConsumerFact,
)

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def cred(key_id: str, days_left: float | None = 30, active: bool = True) -> GatewayCredentialFact:
    expires = None if days_left is None else AT + timedelta(days=days_left)
    return GatewayCredentialFact(key_id=key_id, active=active, expires_at=expires,
                                 expiry_from=None if expires is None else "register")


def consumer(name: str, *creds: GatewayCredentialFact, active: bool = True) -> GatewayConsumerFact:
    return GatewayConsumerFact(name=name, id=f"id-{name}", active=active, credentials=creds)


def route(api: str, default: int | None = 600, consumer_limits: int = 1) -> GatewayRouteFact:
    policies = ("key-auth", "rate-limit", "proxy") if default or consumer_limits else ("key-auth", "proxy")
    return GatewayRouteFact(api=api, route_id=f"spbe-{api}", policies=policies, default_per_minute=default,
                            consumer_limits=consumer_limits)


def gateway_facts(**changes: Any) -> GatewayFacts:
    values: dict[str, Any] = {
        "gateway": "express_gateway", "gathered_at": AT,
        "consumers": (consumer("simpus", cred("KeySimpus01")), consumer("sipd", cred("KeySipd01")),
                      consumer("lama", cred("KeyLama01", active=False), active=False)),
        "routes": (route("kependudukan"), route("perizinan")),
        "idp_clients": (IdpClientFact(client_id="simpus", enabled=True), IdpClientFact(client_id="dicabut",
                                                                                         enabled=False)),
        "ticketed_consumers": frozenset({"simpus", "sipd"}),
        "revoked_consumers": (RevokedConsumerFact(consumer="dicabut", client_id="dicabut"),
                              RevokedConsumerFact(consumer="tanpa-klien")),
    }
    values.update(changes)
    return GatewayFacts(**values)
