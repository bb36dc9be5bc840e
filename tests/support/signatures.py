"""Signing a ticket's rendered document as its parties do (`spbe document sign`), for flows that pass a
signing step: the lab's local CA is made once per state dir and each party enrolled with a test passphrase."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr

from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.signing import SignOutcome, identity_of, sign_document


def passphrase_of(user: str) -> SecretStr:
    return SecretStr(f"{user}-frasa-uji-1")


def sign_in_order(app: App, ticket_id: str, document: str, users: Sequence[str]) -> list[SignOutcome]:
    """Each of ``users`` signs ``document`` of the ticket, in the given order (the SOP's)."""
    ca = app.signing.ca  # type: ignore[attr-defined]  # the pades adapter's local CA
    if not ca.initialised():
        ca.init("Diskominfo Lab")
    outcomes = []
    for user in users:
        if not app.signing.status(identity_of(app, user)).can_sign:
            app.signing.enroll(identity_of(app, user), passphrase_of(user))
        outcomes.append(sign_document(app, ticket_id, document, as_lab(user), passphrase_of(user)))
    return outcomes
