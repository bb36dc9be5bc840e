"""Registries map a configured adapter name to its implementation.

The core never imports a concrete integration: built-in adapters are declared as entry points in
pyproject.toml (group ``spbe.<kind>``), so a third-party package can add its own the same way, and
each registry instance keeps its own table (no shared class-level dict).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from toolkit.errors import ConfigurationError

T = TypeVar("T")

# Fallback when the package is used from a source tree without being installed (entry points are
# then absent). Kept in step with pyproject.toml's entry-point tables.
_BUILTIN: dict[str, dict[str, str]] = {
    "spbe.ticket_systems": {"embedded": "integrations.tickets.embedded:EmbeddedTicketStore",
                            "postgres": "integrations.tickets.postgres_store:PostgresTicketStore"},
    "spbe.job_queues": {"sqlite": "integrations.queue.sqlite_queue:SqliteJobQueue",
                        "postgres": "integrations.queue.postgres_queue:PostgresJobQueue"},
    "spbe.directories": {"roles_file": "integrations.identity.roles_file:RolesFileDirectory",
                         "keycloak": "integrations.identity.keycloak_directory:KeycloakDirectory"},
    "spbe.identity_providers": {"keycloak": "integrations.identity.keycloak:KeycloakIdentityProvider"},
    "spbe.mailboxes": {"imap": "integrations.mail.imap:ImapMailbox"},  # the complaints mailbox
    "spbe.notifiers": {"timeline": "integrations.notify.timeline:TimelineNotifier",
                       "smtp": "integrations.notify.smtp:SmtpNotifier"},
    "spbe.gateways": {
        "express_gateway": "integrations.gateway.express_gateway:ExpressGatewayAdapter",
        "kong": "integrations.gateway.kong:KongAdapter",
        "wso2": "integrations.gateway.wso2:Wso2Adapter",
    },
    "spbe.token_routes": {"express_gateway": "integrations.gateway.express_gateway_jwt:ExpressGatewayTokenRoutes"},
    "spbe.state_stores": {"sqlite": "integrations.state.sqlite:SqliteState",
                          "postgres": "integrations.state.postgres:PostgresState"},
    "spbe.audit_logs": {"sqlite": "toolkit.audit.factory:sqlite_audit_log",
                        "postgres": "integrations.audit.postgres:PostgresAuditLog"},
    "spbe.desks": {"redmine": "integrations.desks.redmine:RedmineDesk", "glpi": "integrations.desks.glpi:GlpiDesk",
                   "rest": "integrations.desks.rest:RestDesk"},
    "spbe.dispatchers": {"celery": "integrations.celery.dispatch:CeleryDispatcher"},  # settings.engine.kind
    "spbe.signers": {"pades": "integrations.signing.pades:PadesSigner", "bsre": "integrations.signing.bsre:BsreSigner"},
}


def load_object(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"'{path}' is not of the form 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load '{path}': {exc}") from None


@lru_cache(maxsize=64)
def _installed(group: str) -> tuple[tuple[str, str], ...]:
    """The installed entry points of ``group``, read once per process: scanning every distribution's
    metadata took ~15 ms, and settings validation builds a registry per adapter option (hundreds of
    times in a process that loads settings often). Installing a plugin takes effect at the next start."""
    return tuple((ep.name, ep.value) for ep in entry_points(group=group))


class Registry(Generic[T]):
    """Names to factories for one port kind."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._paths: dict[str, str] = dict(_BUILTIN.get(group, {}))
        for name, value in _installed(group):
            self._paths[name] = value
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str, factory: Callable[..., T]) -> None:
        self._factories[name] = factory

    def names(self) -> list[str]:
        return sorted(set(self._paths) | set(self._factories))

    def _factory(self, name: str) -> Callable[..., T] | None:
        factory = self._factories.get(name)
        if factory is None and name in self._paths:
            factory = load_object(self._paths[name])
        return factory

    def options_schema(self, name: str) -> type[BaseModel] | None:
        """The pydantic model of adapter ``name``'s options (its ``Options`` attribute): the one place
        that says which option is a credential. None for an unknown name or an adapter without one."""
        schema = getattr(self._factory(name), "Options", None)
        return schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None

    def create(self, name: str, /, **kwargs: Any) -> T:
        factory = self._factory(name)
        if factory is None:
            raise ConfigurationError(
                f"no {self.group} adapter named '{name}'; known: {', '.join(self.names()) or 'none'}"
            )
        try:
            return factory(**kwargs)
        except TypeError as exc:
            raise ConfigurationError(f"{self.group} adapter '{name}': bad options: {exc}") from None
