"""The audit chain as a port (`AuditTrail`): what the engine, the commands and ``spbe audit`` use of it.

Why a port: issue 19 puts the chain in PostgreSQL for several hosts (`integrations.audit.postgres`), while
the embedded default stays `toolkit.audit.log.AuditLog` (SQLite, flock-serialised). The factory
(`toolkit.audit.factory.open_audit_log`) builds one by registry name, ``settings.audit.kind``.

It lives here and not in `toolkit.ports` because its records (`AuditEntry`, `AuditVerification`,
`Checkpoint`, `AuditKey`) are `toolkit.audit`'s, a layer above the ports. The evidence ledger is an
`AuditLog` by construction (a file beside the bundles) and keeps that concrete type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from toolkit.audit.chain import AuditEntry, AuditVerification
from toolkit.audit.checkpoints import Checkpoint
from toolkit.audit.keys import AuditKey


class AuditTrail(Protocol):
    """An append-only, keyed, verifiable chain; every implementation serialises appends across processes."""

    key: AuditKey | None

    def check_writable(self) -> None:
        """`ConfigurationError` when appends would be refused (wrong key, unkeyed chain)."""
        ...

    def append(self, actor: str, action: str, ticket_id: str | None, data: Mapping[str, Any]) -> AuditEntry: ...

    def append_many(self, items: list[tuple[str, str, str | None, Mapping[str, Any]]], *,
                    entries: bool = True) -> list[AuditEntry]: ...

    def checkpoint(self) -> Checkpoint: ...

    def entries(self, ticket_id: str | None = None, limit: int | None = None,
                after: int | None = None) -> list[AuditEntry]: ...

    def count_since(self, action: str, after_seq: int = 0) -> tuple[int, int]: ...

    def head(self) -> tuple[int, str]: ...

    def verify(self) -> AuditVerification: ...

    def verify_or_raise(self) -> AuditVerification: ...

    def close(self) -> None: ...
