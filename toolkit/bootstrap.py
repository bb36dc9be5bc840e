"""The composition root: settings in, wired ports out.

Adapters are created here by registry name from the settings, so nothing else in the core knows
which ticket system, queue, directory or state store is in use. Built lazily and once per process;
`App.close` closes what was built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.actions.base import ActionRegistry
from toolkit.audit.factory import open_audit_log
from toolkit.audit.port import AuditTrail
from toolkit.clock import Clock, SystemClock
from toolkit.domain.policy import Policy
from toolkit.errors import ConfigurationError
from toolkit.masking import Masker
from toolkit.observability.telemetry import Telemetry
from toolkit.ports.directory import Directory
from toolkit.ports.gateway import Gateway
from toolkit.ports.identity_provider import IdentityProvider
from toolkit.ports.jobs import JobQueue
from toolkit.ports.mailbox import Mailbox
from toolkit.ports.notifier import Notifier
from toolkit.ports.scheduled_runner import ScheduledRunner
from toolkit.ports.signing import DocumentSigner
from toolkit.ports.state import StateStores
from toolkit.ports.tickets import TicketSystem
from toolkit.private_files import private_dir
from toolkit.registry import Registry, load_object
from toolkit.settings import Settings
from toolkit.vault import SecretVault

if TYPE_CHECKING:
    from toolkit.complaints.ledger import MailLedger
    from toolkit.compliance.runner import ComplianceKit
    from toolkit.desks.hub import DeskHub
    from toolkit.documents import TemplateRenderer
    from toolkit.domain.catalog.models import Catalog
    from toolkit.evaluation.queries import EvaluationReadModel
    from toolkit.letters.kit import Letters
    from toolkit.letters.render import PdfRenderer
    from toolkit.ssh.pool import SshPool

log = logging.getLogger("spbe.bootstrap")


@dataclass
class App:
    settings: Settings
    masker: Masker = field(default_factory=Masker)
    telemetry: Telemetry = field(default_factory=Telemetry)  # this process's job metrics (spbe serve --metrics)
    clock: Clock = field(default_factory=SystemClock)  # a test passes one it can move past a deadline
    runner: ScheduledRunner | None = None  # a test's stand-in for the compliance schedule runner
    # Gatherers/remediators by target kind that a test adds to (or puts in place of) the built ones.
    compliance_parts: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def catalog(self) -> Catalog:
        from toolkit.complaints.config import apply_to_catalog
        from toolkit.domain.catalog.loader import load_catalog

        # The complaints service's answer step takes the stated response time from the settings.
        return apply_to_catalog(load_catalog(self.settings.catalog_dir), self.settings.complaints)

    @cached_property
    def tickets(self) -> TicketSystem:
        cfg = self.settings.tickets
        return Registry[TicketSystem]("spbe.ticket_systems").create(cfg.kind, settings=self.settings, **cfg.options)

    @cached_property
    def queue(self) -> JobQueue:
        cfg = self.settings.queue
        queue = Registry[JobQueue]("spbe.job_queues").create(cfg.kind, settings=self.settings, clock=self.clock,
                                                             **cfg.options)
        if self.settings.engine.kind != "local":  # jobs also published to a broker (toolkit.engine.distributed)
            from toolkit.engine.distributed import Dispatcher, DispatchingQueue

            dispatcher = Registry[Dispatcher]("spbe.dispatchers").create(self.settings.engine.kind,
                                                                         settings=self.settings)
            return DispatchingQueue(queue, dispatcher, self.settings.engine)
        return queue

    @cached_property
    def directory(self) -> Directory:
        cfg = self.settings.directory
        return Registry[Directory]("spbe.directories").create(cfg.kind, settings=self.settings, **cfg.options)

    @cached_property
    def identity(self) -> IdentityProvider:
        """The identity provider (Keycloak); a `ConfigurationError` when settings.identity is unset."""
        cfg = self.settings.identity
        if cfg is None:
            raise ConfigurationError("no identity provider is configured (settings.identity)")
        return Registry[IdentityProvider]("spbe.identity_providers").create(
            cfg.kind, settings=self.settings, masker=self.masker, **cfg.options)

    @cached_property
    def gateway(self) -> Gateway:
        """The API gateway (SPLP consumers and keys), one client per process: its HTTP session pools
        connections (urllib3's pool is thread-safe) and it keeps no per-call state."""
        cfg = self.settings.gateway
        return Registry[Gateway]("spbe.gateways").create(cfg.kind, settings=self.settings, masker=self.masker,
                                                         **cfg.options)

    @cached_property
    def notifier(self) -> Notifier:
        """How people are told beyond the ticket (``timeline``: the ticket comment is the notice; ``smtp``)."""
        cfg = self.settings.notifier
        return Registry[Notifier]("spbe.notifiers").create(cfg.kind, settings=self.settings, tickets=self.tickets,
                                                           **cfg.options)

    @cached_property
    def mailbox(self) -> Mailbox:
        """The complaints mailbox (`toolkit.ports.mailbox`); a `ConfigurationError` when none is configured."""
        cfg = self.settings.mailbox
        if cfg is None:
            raise ConfigurationError("no complaints mailbox is configured (settings.mailbox)")
        return Registry[Mailbox]("spbe.mailboxes").create(cfg.kind, settings=self.settings, **cfg.options)

    @cached_property
    def complaint_mail(self) -> MailLedger:
        """Which e-mails became complaints (by Message-ID), in state_dir/complaints.db: each mail once."""
        from toolkit.complaints.ledger import MailLedger

        return MailLedger(self.settings.state_dir / "complaints.db")

    @cached_property
    def signing(self) -> DocumentSigner:
        """Who signs documents (`toolkit.ports.signing`): ``pades`` (local CA, the default) or ``bsre``."""
        cfg = self.settings.signing
        return Registry[DocumentSigner]("spbe.signers").create(cfg.kind, settings=self.settings, **cfg.options)

    @cached_property
    def state(self) -> StateStores:
        """The engine's stores (allocations, containment records, issued credentials, escalation claims),
        opened once here: no action or use case opens a store by path."""
        cfg = self.settings.state
        return Registry[StateStores]("spbe.state_stores").create(cfg.kind, settings=self.settings, **cfg.options)

    @cached_property
    def evaluation(self) -> EvaluationReadModel:
        """The yearly evaluation's read model (`toolkit.evaluation.queries`, issue 18): SQL over the embedded ticket
        store's file and state.db (escalation claims, survey answers), both opened here first so their tables exist."""
        from toolkit.evaluation.queries import SqliteEvaluationStore
        from toolkit.sqlite_tx import STATE_DB
        from toolkit.survey.ikm import ikm_by_service

        path = getattr(self.tickets, "path", None)
        if not isinstance(path, Path):
            raise ConfigurationError(f"the evaluation reads the embedded ticket store; tickets.kind "
                                     f"'{self.settings.tickets.kind}' has no SQL read model yet")
        _ = self.state
        return SqliteEvaluationStore(path, Path(self.settings.state_dir) / STATE_DB,
                                     ikm=lambda conn, start, end: ikm_by_service(conn, start, end))

    @cached_property
    def scheduled_runner(self) -> ScheduledRunner | None:
        """What a fired compliance schedule runs (`toolkit.engine.schedules`): `spbe compliance run`'s
        command as the engine (`toolkit.commands.compliance.ScheduleRunner`), unless a test set ``runner``."""
        if self.runner is not None:
            return self.runner
        from toolkit.commands.compliance import ScheduleRunner

        return ScheduleRunner(self, lambda: self.compliance)

    @cached_property
    def compliance(self) -> ComplianceKit:
        """Compliance profiles (packaged + settings.compliance.profiles_dir) and, per target kind, the fact
        gatherer and the remediator, each built once from the parts this process already holds."""
        from toolkit.actions.gateway.splp import IssueEndpointAction
        from toolkit.compliance.gather_gateway import GatewayGatherer
        from toolkit.compliance.gather_server import ServerGatherer
        from toolkit.compliance.gather_switch import SwitchGatherer
        from toolkit.compliance.loader import load_profiles
        from toolkit.compliance.remediate_gateway import GatewayRemediator
        from toolkit.compliance.remediate_server import ServerRemediator
        from toolkit.compliance.remediate_switch import SwitchRemediator
        from toolkit.compliance.runner import ComplianceKit

        def switch_gatherer() -> Any:
            return SwitchGatherer.from_settings(self.settings, self.state.segments, clock=self.clock)

        def gateway_parts() -> dict[str, Any]:
            identity = self.identity if self.settings.identity is not None else None
            return {"name": self.settings.gateway.kind, "gateway": self.gateway, "identity": identity,
                    "masker": self.masker}

        def gateway_gatherer() -> Any:
            issuing = [s.id for s in self.catalog.services()
                       if any(step.action == IssueEndpointAction.name for step in s.steps)]
            return GatewayGatherer(tickets=self.tickets, issued=self.state.issued, clock=self.clock,
                                   services=issuing, **gateway_parts())

        gatherers: dict[str, Any] = {"server": lambda: ServerGatherer(self.settings), "switch": switch_gatherer,
                                     "gateway": gateway_gatherer}
        remediators: dict[str, Any] = {"server": lambda: ServerRemediator(self.settings),
                                       "switch": lambda: SwitchRemediator.from_settings(self.settings),
                                       "gateway": lambda: GatewayRemediator(**gateway_parts())}
        for key, part in self.compliance_parts.items():  # a test's own parts, in place of the built ones
            kind_of, kind = key.split(":", 1)
            (gatherers if kind_of == "gather" else remediators)[kind] = lambda part=part: part
        return ComplianceKit(profiles=load_profiles(self.settings.compliance.profiles_dir),
                             gatherers=gatherers, remediators=remediators)

    @cached_property
    def desks(self) -> DeskHub:
        """The outside service desks of ``settings.desks_dir`` (none by default), checked when first asked."""
        from toolkit.desks.hub import DeskHub

        return DeskHub.build(self, self.masker)

    @cached_property
    def ssh(self) -> SshPool:
        """Warm SSH connections to managed hosts, kept for this process (the containment fast path)."""
        from toolkit.ssh.pool import SshPool

        cfg = self.settings.containment
        return SshPool(connect_timeout_s=cfg.ssh_connect_timeout_s, idle_s=cfg.ssh_idle_s)

    @cached_property
    def policy(self) -> Policy:
        """Who may do what: the catalog's roles, the directory's people, the SPLP register's providers."""
        from toolkit.splp.apis import load_register

        register = self.settings.splp_register
        return Policy(self.catalog, self.directory, lambda api_id: load_register(register).get(api_id).providers,
                      self.settings.containment.effective_roles(self.catalog.roles))

    @cached_property
    def vault(self) -> SecretVault:
        """Issued credentials, encrypted with settings.vault.key; a `ConfigurationError` without one."""
        tables = None
        if self.settings.state.kind != "sqlite":  # a server's state store holds the vault's table too (issue 19)
            tables = getattr(self.state, "vault_tables", lambda: None)()
        return SecretVault.from_settings(self.settings, audit=self.audit, directory=self.directory,
                                         masker=self.masker, clock=self.clock.now, tables=tables)

    @cached_property
    def audit(self) -> AuditTrail:
        """Keyed and checkpointed; a `ConfigurationError` without settings.audit.key (no unkeyed fallback)."""
        return open_audit_log(self.settings)

    @cached_property
    def renderer(self) -> TemplateRenderer:
        from toolkit.documents import TemplateRenderer
        from toolkit.worktime.calendars import calendars_for  # times of a context without an office zone

        return TemplateRenderer(self.settings.templates_dir, self.catalog.roles,
                                zone=calendars_for(self.settings.worktime).zone())

    @cached_property
    def letters(self) -> Letters:
        """The document numbers in the state stores' register, and the PDF renderer (layout, fonts, logo) made
        once when first used."""
        from toolkit.letters.kit import Letters
        from toolkit.letters.numbers import DocumentNumbers

        documents = self.settings.documents

        def pdf() -> PdfRenderer:
            from toolkit.letters.render import PdfRenderer

            return PdfRenderer(self.settings.templates_dir, documents)

        return Letters(DocumentNumbers(self.state.document_numbers, documents), pdf)

    @cached_property
    def actions(self) -> ActionRegistry:
        from toolkit.actions.builtin import register_builtin_actions

        registry = ActionRegistry()
        register_builtin_actions(registry)
        for path in self.settings.extra_actions:
            registry.register(load_object(path))
        return registry

    def warm_for_jobs(self) -> None:
        """Build, before the first job arrives, what that job would otherwise build while a ticket waits: the
        action registry (it imports every action module: 2-3 CPU-seconds, longer under load), the catalog
        and the stores a run writes to. A part that cannot be built now is left to the job that needs it,
        which reports it as it always did."""
        for name in ("catalog", "actions", "queue", "tickets", "audit"):
            try:
                getattr(self, name)
            except Exception as exc:  # noqa: BLE001 - a warm-up never stops a worker; the job reports it
                log.debug("warm-up of %s: %s", name, self.masker(f"{type(exc).__name__}: {exc}"))

    def artifacts_dir(self, ticket_id: str, *, make: bool = True) -> Path:
        """The ticket's working directory (documents, playbook runs, evidence archives): 0700. ``make=False``:
        only its path (the worker's `RunContext` makes it when an action first uses it)."""
        state_dir = Path(self.settings.state_dir)
        path = state_dir / "artifacts" / ticket_id
        return private_dir(path, root=state_dir) if make else path

    def close(self) -> None:
        """Close the connections of every store built so far (the state stores, the vault, the queue, the
        ticket store, the audit log) and the warm SSH connections; one not built yet is not opened to be closed."""
        for name in ("state", "vault", "queue", "tickets", "audit", "ssh", "desks", "letters", "complaint_mail"):
            built = self.__dict__.pop(name, None)
            close = getattr(built, "close", None)
            if close is not None:
                close()

    def deliver_outbox(self) -> tuple[int, int]:
        """Deliver the outbox items due now (`toolkit.engine.outbox.deliver_due`): (delivered, deferred)."""
        from toolkit.engine.outbox import deliver_due

        return deliver_due(self)
