"""`open_accounts(services)`: the accounts layer wired from the composition root's collaborators.

The web portal and the HTTP API call it once per process and keep the result; the CLI calls it per
command. Everything is taken from `Services` (settings, directory, policy, audit log, clock), so the
same policy and the same audit log serve the CLI and the front door.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from toolkit.accounts.access import Context
from toolkit.accounts.admin import AccountAdmin
from toolkit.accounts.login import PasswordLogin
from toolkit.accounts.models import NewSession, Scope, TokenAuthentication
from toolkit.accounts.passwords import Passwords
from toolkit.accounts.sessions import Sessions
from toolkit.accounts.store import AccountStore
from toolkit.accounts.tokens import Tokens
from toolkit.domain.principal import Principal
from toolkit.services import Services


@dataclass(frozen=True)
class Accounts:
    admin: AccountAdmin
    logins: PasswordLogin
    tokens: Tokens
    sessions: Sessions
    store: AccountStore

    def authenticate_password(self, username: object, password: SecretStr | str) -> Principal:
        return self.logins.authenticate_password(username, password)

    def login(self, username: object, password: SecretStr | str) -> NewSession:
        return self.logins.login(username, password)

    def authenticate_token(self, token: object, require: Scope | None = None) -> TokenAuthentication:
        return self.tokens.authenticate(token, require)

    def close(self) -> None:
        self.store.close()


def purge_ended_sessions(services: Services) -> int:
    """`Sessions.purge` for a periodic sweep (`spbe serve`): sessions that ended more than a day ago are
    forgotten. A state dir that has no accounts database yet (no account was ever made) is not given one."""
    if not AccountStore.path_in(Path(services.settings.state_dir)).exists():
        return 0
    accounts = open_accounts(services)
    try:
        return accounts.sessions.purge()
    finally:
        accounts.close()


def open_accounts(services: Services) -> Accounts:
    settings = services.settings.accounts
    store = AccountStore.at(Path(services.settings.state_dir))
    ctx = Context(store=store, passwords=Passwords(settings), directory=services.directory, policy=services.policy,
                  audit=services.audit, clock=services.clock, settings=settings)
    sessions = Sessions(ctx)
    return Accounts(admin=AccountAdmin(ctx), logins=PasswordLogin(ctx, sessions), tokens=Tokens(ctx),
                    sessions=sessions, store=store)
