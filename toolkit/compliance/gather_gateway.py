"""Reading the facts of the ``splp`` profile: the API gateway and Keycloak through their ports, plus the SPLP
tickets and the register of issued credentials, read-only.

The target is the gateway itself (one per deployment, named by ``settings.gateway.kind``), so a run has one
target and ``*`` selects it. Everything is handed in by the composition root (the gateway, the identity
provider, the ticket system, the register, the clock): this module opens nothing itself.

What is read, and why the rules can stay pure:

* consumers with their credentials (`Gateway.list_consumers`): the gateway's expiry when it keeps one (Kong's
  ``ttl``), else the register's (`IssuedCredential.expires_at`, matched by key id): Express Gateway and WSO2
  keep no expiry, spbe enforces it;
* routes with their policies (`Gateway.list_routes`);
* the OAuth2 clients spbe made (`IdentityProvider.list_consumer_clients`), when an identity provider is
  configured; a failure there leaves only the OAuth2 rule without facts (``error``);
* the consumers an SPLP ticket stands behind: named by a ticket of the SPLP service that is still open, in
  progress or deferred, or holding a register credential a ticket issued that was not revoked (the ticket
  closes once the key is handed over, so that consumer is no orphan; an *expired* one is the expiry rule's
  finding, not also an orphan). A consumer whose credentials were all revoked has no ticket behind it any
  more: left active at the gateway, it is an orphan;
* the revoked consumers: every register row of the consumer revoked, none still active.

A gateway that cannot be listed is a `GatherFailure` for the whole target: every rule ends ``error``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from toolkit.clock import Clock
from toolkit.compliance.facts import (
    GatewayConsumerFact,
    GatewayCredentialFact,
    GatewayFacts,
    GatewayRouteFact,
    IdpClientFact,
    RevokedConsumerFact,
)
from toolkit.compliance.gathering import GatherFailure, TargetKind
from toolkit.domain.tickets.models import Ticket, TicketStatus
from toolkit.errors import NotFoundError, ToolkitError
from toolkit.masking import Masker
from toolkit.ports.gateway import ConsumerInfo, Gateway, RouteInfo
from toolkit.ports.identity_provider import IdentityProvider
from toolkit.ports.state import IssuedCredentials
from toolkit.ports.state_records import IssuedCredential
from toolkit.ports.tickets import TicketSystem

log = logging.getLogger("spbe.compliance.gateway")
CONSUMER_FIELD = "aplikasi_konsumen"
LIVE_TICKET = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.DEFERRED})


def consumer_facts(listed: Iterable[ConsumerInfo], register: Iterable[IssuedCredential]) -> tuple[
        GatewayConsumerFact, ...]:
    """The gateway's consumers with each credential's expiry: the gateway's, else the register's by key id."""
    expiry = {row.key_id: row.expires_at for row in register}
    facts = []
    for info in listed:
        creds = []
        for cred in info.credentials:
            if cred.expires_at is not None:
                expires, source = cred.expires_at, "gateway"
            elif cred.key_id in expiry:
                expires, source = expiry[cred.key_id], "register"
            else:
                expires, source = None, None
            creds.append(GatewayCredentialFact(key_id=cred.key_id, kind=cred.kind, active=cred.active,
                                               expires_at=expires, expiry_from=source))  # type: ignore[arg-type]
        facts.append(GatewayConsumerFact(name=info.consumer.name, id=info.consumer.id, active=info.consumer.active,
                                         credentials=tuple(creds)))
    return tuple(facts)


def route_facts(routes: Iterable[RouteInfo]) -> tuple[GatewayRouteFact, ...]:
    return tuple(GatewayRouteFact(api=r.api, route_id=r.route_id, policies=r.policies,
                                  default_per_minute=r.default_per_minute, consumer_limits=r.consumer_limits)
                 for r in routes)


def ticketed_consumers(tickets: Iterable[Ticket], register: Iterable[IssuedCredential],
                       now: datetime) -> frozenset[str]:
    """Consumers named by a live SPLP ticket, or holding a credential a ticket issued that was not revoked."""
    named = {str(t.fields.get(CONSUMER_FIELD)) for t in tickets
             if t.status in LIVE_TICKET and t.fields.get(CONSUMER_FIELD)}
    issued = {row.consumer for row in register if row.status_at(now) != "revoked"}
    return frozenset(named | issued)


def revoked_consumers(register: Iterable[IssuedCredential], now: datetime) -> tuple[RevokedConsumerFact, ...]:
    """Consumers whose every register row is ended and at least one revoked, with the OAuth2 client they had."""
    rows: dict[str, list[IssuedCredential]] = {}
    for row in register:
        rows.setdefault(row.consumer, []).append(row)
    found = []
    for consumer, mine in sorted(rows.items()):
        states = [row.status_at(now) for row in mine]
        if "active" in states or "revoked" not in states:
            continue
        clients = sorted({row.oauth2_client for row in mine if row.oauth2_client})
        if not clients:
            found.append(RevokedConsumerFact(consumer=consumer))
        found += [RevokedConsumerFact(consumer=consumer, client_id=client) for client in clients]
    return tuple(found)


class GatewayGatherer:
    """`Gatherer` of the ``gateway`` kind: one target, the configured gateway, read through the ports."""

    kind: TargetKind = "gateway"

    def __init__(self, *, name: str, gateway: Gateway, tickets: TicketSystem, issued: IssuedCredentials,
                 clock: Clock, identity: IdentityProvider | None = None, masker: Masker | None = None,
                 services: Sequence[str] = ()) -> None:
        """``name`` is the target's name (``settings.gateway.kind``); ``identity`` None when no Keycloak is
        configured (the OAuth2 rule then ends ``error``: nothing was read, so nothing can pass);
        ``services`` the catalog's services that issue gateway credentials (the root finds them by the
        action their steps bind: the core names no service)."""
        self.name = name
        self.services = tuple(services)
        self.gateway = gateway
        self.tickets = tickets
        self.issued = issued
        self.clock = clock
        self.identity = identity
        self.masker = masker or Masker()

    def resolve(self, selectors: Sequence[str]) -> list[str]:
        for selector in selectors:
            if selector not in ("*", self.name):
                raise NotFoundError(f"no gateway '{selector[:80]}' (the configured gateway is '{self.name}')",
                                    target=selector[:80])
        return [self.name] if selectors else []

    def gather(self, targets: Sequence[str],
               progress: Callable[[str], None] | None = None) -> dict[str, GatewayFacts | GatherFailure]:
        result: dict[str, GatewayFacts | GatherFailure] = {}
        for target in targets:
            result[target] = self._read(target) if target == self.name else GatherFailure(
                target=target, reason=f"bukan gateway yang dikonfigurasi ({self.name})")
            if progress is not None:
                progress(target)
        return result

    def _reason(self, what: str, exc: ToolkitError) -> str:
        return self.masker(f"{what}: {type(exc).__name__}: {exc}")[:500]

    def _read(self, target: str) -> GatewayFacts | GatherFailure:
        now = self.clock.now()
        register: list[IssuedCredential] | None
        try:
            register = [row for row in self.issued.all() if row.gateway in (self.name, self.gateway.name)]
        except ToolkitError as exc:
            log.warning("%s", self._reason("reading the SPLP register", exc))
            register = None
        try:
            consumers = consumer_facts(self.gateway.list_consumers(), register or ())
            routes = route_facts(self.gateway.list_routes())
        except ToolkitError as exc:
            return GatherFailure(target=target, reason=self._reason("gateway tidak dapat dibaca", exc))
        return GatewayFacts(gateway=target, gathered_at=now, consumers=consumers, routes=routes,
                            idp_clients=self._clients(),
                            ticketed_consumers=self._ticketed(register, now),
                            revoked_consumers=None if register is None else revoked_consumers(register, now))

    def _clients(self) -> tuple[IdpClientFact, ...] | None:
        if self.identity is None:
            return None
        try:
            return tuple(IdpClientFact(client_id=c.client_id, enabled=c.enabled)
                         for c in self.identity.list_consumer_clients())
        except ToolkitError as exc:
            log.warning("%s", self._reason("listing the identity provider's clients", exc))
            return None

    def _ticketed(self, register: list[IssuedCredential] | None, now: datetime) -> frozenset[str] | None:
        if register is None:
            return None
        try:
            tickets = [t for service in self.services for t in self.tickets.list_tickets(service_id=service)]
        except ToolkitError as exc:
            log.warning("%s", self._reason("listing the SPLP tickets", exc))
            return None
        return ticketed_consumers(tickets, register, now)
