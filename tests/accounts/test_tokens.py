"""Personal access tokens: shown once and stored as a digest only, scoped, expiring, revocable, refused
when malformed, tampered or belonging to a disabled account; made by their person only; the per-person
limit holds when tokens are created at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tests.accounts.conftest import APPLICANT, files_containing
from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.accounts.credentials import TOKEN_LENGTH, TOKEN_PREFIX, digest
from toolkit.accounts.models import Scope
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.accounts.tokens import TOKEN_REFUSED
from toolkit.bootstrap import App
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

ANDI = as_lab(APPLICANT)


def random_part(token: str) -> str:
    return token[len(TOKEN_PREFIX) + 17:]


def refused(accounts: Accounts, token: object) -> str:
    with pytest.raises(AuthenticationError) as caught:
        accounts.authenticate_token(token)
    assert str(caught.value) == TOKEN_REFUSED
    return str(caught.value.details["reason"])


def test_a_token_is_shown_once_and_stored_only_as_its_digest(app: App, accounts: Accounts, tmp_path: Path) -> None:
    made = accounts.tokens.create(ANDI, APPLICANT, "30d", "read")
    secret = made.secret.get_secret_value()
    assert len(secret) == TOKEN_LENGTH and secret.startswith(f"spbe_pat_{made.token.id}_")
    assert secret not in repr(made) and secret not in made.model_dump_json()
    assert accounts.store.token(made.token.id).digest == digest(secret)  # type: ignore[union-attr]
    assert files_containing(secret, tmp_path) == []
    assert files_containing(random_part(secret), tmp_path) == []  # nor its random part alone
    listed = accounts.tokens.list(ANDI)
    assert [t.id for t in listed] == [made.token.id] and secret not in repr(listed)
    created = [e for e in app.audit.entries() if e.action == "token.create"]
    assert [(e.actor, e.data["token_id"], e.data["auth"]) for e in created] == [(APPLICANT, made.token.id, "lab-as")]
    assert all(secret not in repr(e) for e in app.audit.entries())


def test_a_token_proves_its_person_and_scopes(accounts: Accounts, clock: ManualClock) -> None:
    read = accounts.tokens.create(ANDI, APPLICANT, "12h", Scope.READ).secret.get_secret_value()
    act = accounts.tokens.create(ANDI, APPLICANT, "12h", Scope.ACT).secret.get_secret_value()
    principal, scopes, _ = accounts.authenticate_token(read)
    assert principal == Principal(user=APPLICANT, auth=AuthMethod.TOKEN) and scopes == {Scope.READ}
    assert accounts.authenticate_token(act, require=Scope.ACT).scopes == {Scope.READ, Scope.ACT}
    with pytest.raises(PermissionDeniedError) as wrong_scope:
        accounts.authenticate_token(read, require=Scope.ACT)
    assert not isinstance(wrong_scope.value, AuthenticationError)  # 403, not 401: the token is fine, the scope not
    token_id = accounts.tokens.list(ANDI)[0].id
    assert accounts.store.token(token_id).view.last_used_at == clock.now()  # type: ignore[union-attr]


def test_expiry(accounts: Accounts, clock: ManualClock) -> None:
    token = accounts.tokens.create(ANDI, APPLICANT, "12h", "read").secret.get_secret_value()
    clock.advance(timedelta(hours=12) - timedelta(seconds=1))
    accounts.authenticate_token(token)
    clock.advance(timedelta(seconds=1))
    assert refused(accounts, token) == "expired"
    assert accounts.tokens.list(ANDI)[0].status_at(clock.now()) == "expired"


@pytest.mark.parametrize("expires", ["", "30", "0d", "-1d", "1w", "30d\n", "366d", "9000h", "٣d", "1e3d"])
def test_an_unbounded_or_malformed_expiry_is_refused(accounts: Accounts, expires: str) -> None:
    with pytest.raises(InvalidInputError):
        accounts.tokens.create(ANDI, APPLICANT, expires, "read")
    assert accounts.tokens.list(ANDI) == []


def test_revocation_by_its_person_and_by_an_administrator(app: App, accounts: Accounts, admin: str) -> None:
    first = accounts.tokens.create(ANDI, APPLICANT, "30d", "act")
    second = accounts.tokens.create(ANDI, APPLICANT, "30d", "act")
    with pytest.raises(PermissionDeniedError):
        accounts.tokens.revoke(as_lab("budi"), first.token.id)
    assert accounts.tokens.revoke(ANDI, first.token.id) is True
    assert accounts.tokens.revoke(ANDI, first.token.id) is False
    assert accounts.tokens.revoke(as_lab(admin), second.token.id) is True
    for made in (first, second):
        assert refused(accounts, made.secret.get_secret_value()) == "revoked"
    with pytest.raises(NotFoundError):
        accounts.tokens.revoke(ANDI, "0123456789abcdef")
    with pytest.raises(InvalidInputError):
        accounts.tokens.revoke(ANDI, "../../etc/passwd")
    revokes = [(e.actor, e.data["token_id"]) for e in app.audit.entries() if e.action == "token.revoke"]
    assert revokes == [(APPLICANT, first.token.id), (admin, second.token.id)]


def test_malformed_and_tampered_tokens_are_refused(accounts: Accounts) -> None:
    token = accounts.tokens.create(ANDI, APPLICANT, "30d", "read").secret.get_secret_value()
    token_id = token[len(TOKEN_PREFIX):][:16]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in ("", " ", None, 42, b"bytes", token + "\n", "\n" + token, token + " ", token.upper(),
                token[:-1] + "é", "x" * 10_000_000, token.replace("spbe_pat_", "spbe_pak_")):
        assert refused(accounts, bad) == "malformed"
    assert refused(accounts, flipped) == "wrong secret"
    other = accounts.tokens.create(ANDI, APPLICANT, "30d", "read").secret.get_secret_value()
    spliced = f"{TOKEN_PREFIX}{token_id}_{random_part(other)}"
    assert refused(accounts, spliced) == "wrong secret"  # a secret is bound to its own id
    assert refused(accounts, f"spbe_pat_{'0' * 16}_{'A' * 43}") == "unknown id"


def test_a_person_creates_only_their_own_tokens_and_never_from_a_token(app: App, accounts: Accounts,
                                                                       admin: str) -> None:
    with pytest.raises(PermissionDeniedError):
        accounts.tokens.create(as_lab(admin), APPLICANT, "30d", "act")
    read = accounts.tokens.create(ANDI, APPLICANT, "1d", "read").secret.get_secret_value()
    by_token = accounts.authenticate_token(read).principal
    with pytest.raises(PermissionDeniedError):
        accounts.tokens.create(by_token, APPLICANT, "365d", "act")
    with pytest.raises(NotFoundError):
        accounts.tokens.create(as_lab("nobody"), "nobody", "1d", "read")
    assert len(accounts.tokens.list(as_lab(admin), everyone=True)) == 1
    with pytest.raises(PermissionDeniedError):
        accounts.tokens.list(as_lab("budi"), APPLICANT)
    refusals = [(e.actor, e.data["subject"], e.data["auth"]) for e in app.audit.entries()
                if e.action == "token.refused"]
    assert refusals == [(admin, APPLICANT, "lab-as"), (APPLICANT, APPLICANT, "token")]


def test_disabling_an_account_revokes_its_tokens(accounts: Accounts, with_account: str, admin: str) -> None:
    token = accounts.tokens.create(ANDI, APPLICANT, "30d", "act").secret.get_secret_value()
    accounts.admin.disable(as_lab(admin), with_account)
    assert refused(accounts, token) == "revoked"
    with pytest.raises(ConflictError):
        accounts.tokens.create(ANDI, APPLICANT, "30d", "act")
    accounts.admin.enable(as_lab(admin), with_account)
    assert refused(accounts, token) == "revoked"  # enabling restores the password, not the tokens


def test_the_per_person_limit_holds_under_concurrent_creation(state_dir: Path, clock: ManualClock) -> None:
    """Eight threads, each with its own store connection and accounts layer, create at once; the limit
    is three: exactly three succeed and the rest are refused as a conflict, with distinct ids."""
    from tests.accounts.conftest import open_app

    limit, attempts = 3, 8
    apps = [open_app(state_dir, clock, tokens_per_user=limit) for _ in range(attempts)]
    layers = [open_accounts(a) for a in apps]
    start = threading.Barrier(attempts)
    made: list[str] = []
    conflicts: list[ConflictError] = []

    def create(layer: Accounts) -> None:
        start.wait()
        try:
            made.append(layer.tokens.create(ANDI, APPLICANT, "1d", "read").token.id)
        except ConflictError as exc:
            conflicts.append(exc)

    threads = [threading.Thread(target=create, args=(layer,)) for layer in layers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for layer in layers:
        layer.close()
    assert len(made) == limit and len(set(made)) == limit and len(conflicts) == attempts - limit
    check = open_accounts(apps[0])
    try:
        assert sorted(t.id for t in check.tokens.list(ANDI)) == sorted(made)
    finally:
        check.close()
