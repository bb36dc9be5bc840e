"""What every account operation shares: its collaborators, who may administer accounts, and the audit entry.

Who administers accounts is a role *trait* (``administers-accounts`` in the role book), asked of the one
policy (`Policy.authorize_role`); this code never names a role. A person may always manage what is their
own (their password, their tokens). Every change is an audit entry recording the principal and how it
was authenticated (``auth``); every refusal too, so an auditor sees who tried what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toolkit.accounts.config import AccountsSettings
from toolkit.accounts.passwords import Passwords
from toolkit.accounts.store import AccountStore
from toolkit.audit.port import AuditTrail
from toolkit.clock import Clock
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.policy import Policy
from toolkit.domain.principal import Principal
from toolkit.errors import NotFoundError, PermissionDeniedError
from toolkit.ports.directory import Directory

ADMINISTER = "administer local accounts and their access tokens"


@dataclass(frozen=True)
class Context:
    store: AccountStore
    passwords: Passwords
    directory: Directory
    policy: Policy
    audit: AuditTrail
    clock: Clock
    settings: AccountsSettings

    def now(self) -> datetime:
        return self.clock.now()

    def record(self, principal: Principal, action: str, data: Mapping[str, Any]) -> None:
        """An audit entry by ``principal`` (its auth method included). ``data`` holds names, ids and
        instants only: no password, token or session id is ever passed here."""
        self.audit.append(principal.user, action, None, {**data, **principal.audit_data()})

    def known_person(self, username: str) -> bool:
        try:
            self.directory.person(username)
        except NotFoundError:
            return False
        return True

    def admin_roles(self) -> tuple[str, ...]:
        return tuple(sorted(self.policy.roles.with_trait(RoleTrait.ADMINISTERS_ACCOUNTS)))

    def is_admin(self, principal: Principal) -> bool:
        try:
            person = self.directory.person(principal.user)
        except NotFoundError:
            return False
        return bool(person.roles & set(self.admin_roles()))

    def require_admin(self, principal: Principal, operation: str, subject: str | None) -> None:
        """`PermissionDeniedError` (audited as ``account.refused``) unless ``principal`` holds a role
        with the administers-accounts trait."""
        roles = self.admin_roles()
        try:
            if not roles:
                raise PermissionDeniedError(f"no role may {ADMINISTER}: give one the trait 'administers-accounts' "
                                            "in the role book", user=principal.user)
            self.policy.authorize_role(principal, roles, ADMINISTER)
        except (PermissionDeniedError, NotFoundError) as exc:
            self.record(principal, "account.refused", {"operation": operation, "subject": subject})
            raise PermissionDeniedError(f"{operation} refused: {exc}", user=principal.user,
                                        operation=operation) from None

    def require_self_or_admin(self, principal: Principal, username: str, operation: str) -> None:
        if principal.user != username:
            self.require_admin(principal, operation, username)
