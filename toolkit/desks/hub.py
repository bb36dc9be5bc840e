"""Every configured outside desk, built once by the composition root: its client, intake and poller.

The mappings are read and checked when the hub is built (`spbe serve` start, `spbe desk ...`), so a bad mapping
stops the start naming its file and key. Clients are chosen by the mapping's ``kind`` through the registry group
``spbe.desks``; their options are validated by the client's own ``Options`` schema, which says which option is
a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from toolkit.desks.intake import DeskIntake
from toolkit.desks.mapping import DeskMapping, load_mappings
from toolkit.desks.poller import DeskPoller
from toolkit.desks.records import DeskRecords
from toolkit.engine.services import EngineServices
from toolkit.errors import ConfigurationError, NotFoundError
from toolkit.masking import Masker
from toolkit.ports.desk import DeskClient
from toolkit.registry import Registry

GROUP = "spbe.desks"


@dataclass(frozen=True)
class Desk:
    mapping: DeskMapping
    client: DeskClient
    intake: DeskIntake
    poller: DeskPoller

    @property
    def name(self) -> str:
        return self.mapping.name

    def webhook_secret(self, services: EngineServices) -> str | None:
        hook = self.mapping.webhook
        return services.settings.secret(hook.secret).get_secret_value() if hook else None


class DeskServices(EngineServices, Protocol):
    """The composition root as the front doors see it: the engine's services and the desks (the desks sit
    above the commands, so the engine cannot name them)."""

    @property
    def desks(self) -> DeskHub: ...


class DeskHub:
    def __init__(self, desks: dict[str, Desk], records: DeskRecords) -> None:
        self.desks, self.records = desks, records

    @classmethod
    def build(cls, services: EngineServices, masker: Masker) -> DeskHub:
        settings = services.settings
        mappings = load_mappings(settings.desks_dir, services.catalog, services.directory)
        records = DeskRecords(settings.state_dir)
        registry = Registry[DeskClient](GROUP)
        desks: dict[str, Desk] = {}
        for name, mapping in mappings.items():
            options: dict[str, Any] = dict(mapping.options)
            schema = registry.options_schema(mapping.kind)
            if schema is not None:
                try:
                    options = dict(schema.model_validate(options))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    key = ".".join(str(p) for p in first["loc"])
                    raise ConfigurationError(f"desk mapping {name}: options.{key}: {first['msg']}",
                                             key=f"options.{key}") from None
            client = registry.create(mapping.kind, settings=settings, name=name, masker=masker, **options)
            intake = DeskIntake(services, client, mapping, records)
            desks[name] = Desk(mapping=mapping, client=client, intake=intake, poller=DeskPoller(intake))
        return cls(desks, records)

    def get(self, name: str) -> Desk:
        try:
            return self.desks[name]
        except KeyError:
            known = ", ".join(sorted(self.desks)) or "none"
            raise NotFoundError(f"no desk named '{name}' (configured: {known})", desk=name) from None

    def for_ticket(self, ticket_id: str) -> tuple[Desk, str] | None:
        """The desk and issue a ticket came from, if it came from one."""
        link = self.records.issue_for(ticket_id)
        if link is None or link[0] not in self.desks:
            return None
        return self.desks[link[0]], link[1]

    def close(self) -> None:
        self.records.close()
