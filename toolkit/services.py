"""What a use case may ask of the composition root, as a `typing.Protocol`.

Containment, the SPLP credential lifecycle, evidence collection, escalation and the outbox work on the
wired ports (ticket system, job queue, directory, identity provider, state stores, vault, audit log...). They are given
them through this protocol instead of importing `toolkit.bootstrap.App`: the engine imports the actions
and the actions reach these use cases, so an import of the engine from below would close a circle.
`App` satisfies it structurally; mypy checks that where an `App` is passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only (PEP 563): no runtime import of the heavier modules
    from toolkit.audit.port import AuditTrail
    from toolkit.clock import Clock
    from toolkit.documents import TemplateRenderer
    from toolkit.domain.catalog.models import Catalog
    from toolkit.domain.policy import Policy
    from toolkit.letters.kit import Letters
    from toolkit.masking import Masker
    from toolkit.ports.compliance import ComplianceTools
    from toolkit.ports.directory import Directory
    from toolkit.ports.gateway import Gateway
    from toolkit.ports.identity_provider import IdentityProvider
    from toolkit.ports.jobs import JobQueue
    from toolkit.ports.notifier import Notifier
    from toolkit.ports.state import StateStores
    from toolkit.ports.tickets import TicketSystem
    from toolkit.settings import Settings
    from toolkit.ssh.pool import SshPool
    from toolkit.vault import SecretVault


class Services(Protocol):
    """The collaborators of one process, built once from the settings (see `App` for how each is made)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def masker(self) -> Masker: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def tickets(self) -> TicketSystem: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def identity(self) -> IdentityProvider:
        """A `ConfigurationError` when no identity provider is configured."""
        ...

    @property
    def policy(self) -> Policy: ...

    @property
    def gateway(self) -> Gateway:
        """The configured API gateway (settings.gateway)."""
        ...

    @property
    def notifier(self) -> Notifier: ...

    @property
    def state(self) -> StateStores:
        """The engine's own stores (host, segment and tunnel allocations, containment records, issued SPLP
        credentials, escalation claims), built once per process."""
        ...

    @property
    def vault(self) -> SecretVault:
        """A `ConfigurationError` without a vault key."""
        ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def ssh(self) -> SshPool:
        """Warm SSH connections to managed hosts, kept for the process (the containment fast path)."""
        ...

    @property
    def renderer(self) -> TemplateRenderer: ...

    @property
    def letters(self) -> Letters:
        """The PDF renderer and the document-number store (`toolkit.letters`), built once."""
        ...

    @property
    def compliance(self) -> ComplianceTools:
        """Compliance profiles, fact gatherers and remediators (the Audit TI actions)."""
        ...

    def artifacts_dir(self, ticket_id: str, *, make: bool = True) -> Path:
        """The ticket's private working directory (documents, playbook runs, evidence archives)."""
        ...

    def deliver_outbox(self) -> tuple[int, int]:
        """Deliver the outbox items due now: (delivered, deferred). A use case that queued a ticket comment
        calls it so the comment shows at once when the ticket system is up; the outbox retries otherwise."""
        ...
