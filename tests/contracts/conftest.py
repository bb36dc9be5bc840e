"""The implementations each contract suite runs against, built the way the composition root builds them.

A fixture per port, parametrized by implementation name; a harness where the suite needs to see the other
side (the mail that arrived, a session to log in with) without knowing which implementation it tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from integrations.identity.keycloak import KeycloakIdentityProvider
from integrations.identity.keycloak_directory import KeycloakDirectory
from integrations.identity.roles_file import RolesFileDirectory
from integrations.notify.smtp import SmtpNotifier
from integrations.notify.timeline import TimelineNotifier
from integrations.queue.sqlite_queue import SqliteJobQueue
from integrations.tickets.embedded import EmbeddedTicketStore
from tests.support.clock import ManualClock
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET, idp_settings, keycloak
from tests.support.keycloak_fake.seed import seed_realm
from tests.support.smtp_sink import free_port
from tests.support.sqlite_lock import LockHolder
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind, TicketDraft
from toolkit.errors import PermissionDeniedError
from toolkit.masking import Masker
from toolkit.ports.directory import Directory
from toolkit.ports.identity_provider import IdentityProvider
from toolkit.ports.jobs import JobQueue
from toolkit.ports.notifier import Notifier
from toolkit.ports.state import StateStores
from toolkit.ports.tickets import TicketSystem
from toolkit.settings import AdapterSettings, SecretRef, Settings, load_settings

__all__ = ["idp_settings", "keycloak"]  # the Keycloak fake's fixtures, used by the suites below

# A roles file every directory implementation is loaded from (the Keycloak realm is seeded from it, as an
# office would): the expected answers of the Directory suite.
ROLES = """
people:
  - {username: andi, name: Andi Pratama, roles: [pemohon], opd: Dinas Kesehatan, email: andi@dinkes.example.go.id}
  - {username: sari, name: Sari Wulandari, roles: [koordinator-layanan], email: sari@example.go.id,
     unix_user: sari}
  - {username: kadis, name: Budi Santoso, roles: [kepala-dinas, pemohon], nip: "197001011995031001"}
  - {username: kadis2, name: Rina Kartika, roles: [kepala-dinas], title: Plt. Kepala Dinas}
"""


# -- TicketSystem ---------------------------------------------------------------------------------

@pytest.fixture(params=["embedded"])
def ticket_system(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketSystem]:
    if request.param == "embedded":
        with EmbeddedTicketStore(settings=Settings(state_dir=tmp_path / "state"), busy_timeout_ms=300) as store:
            yield store


# -- JobQueue -------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def job_queue(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[JobQueue]:
    """Built as `App.queue` builds it: with the app's clock, here one the suite moves past leases. The
    PostgreSQL one on a fresh database of the session's private cluster, its DSN read from a secret."""
    if request.param == "sqlite":
        queue: JobQueue = SqliteJobQueue(settings=Settings(state_dir=tmp_path / "state"), clock=clock)
    else:
        monkeypatch.setenv("SPBE_TEST_PG_DSN", request.getfixturevalue("pg_dsn"))
        settings = Settings(state_dir=tmp_path / "state", queue=AdapterSettings(kind="postgres"),
                            secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_PG_DSN")})
        queue = App(settings, clock=clock).queue
    yield queue
    queue.close()  # type: ignore[attr-defined]  # not part of the port: App.close calls it when present


# -- StateStores ----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite"])
def state_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStores]:
    """Built as `App.state` builds it: by registry name from ``settings.state``, closed by `App.close`."""
    app = App(Settings(state_dir=tmp_path / "state", state={"kind": request.param}))
    yield app.state
    app.close()


# -- Directory ------------------------------------------------------------------------------------

@pytest.fixture
def roles_file(tmp_path: Path) -> Path:
    path = tmp_path / "roles.yml"
    path.write_text(ROLES, encoding="utf-8")
    return path


@pytest.fixture(params=["roles_file", "keycloak"])
def directory(request: pytest.FixtureRequest, tmp_path: Path, roles_file: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Directory]:
    if request.param == "roles_file":
        yield RolesFileDirectory(settings=Settings(state_dir=tmp_path), path=str(roles_file))
        return
    with KeycloakFake() as fake:
        seed_realm(fake, KEYCLOAK_ADMIN_SECRET, roles_file=roles_file)
        monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
        settings = load_settings(state_dir=tmp_path / "state", directory={"kind": "keycloak"},
                                 identity={"server_url": fake.url, "realm": "spbe", "timeout_s": 5})
        found = App(settings).directory
        assert isinstance(found, KeycloakDirectory)
        yield found


# -- IdentityProvider -----------------------------------------------------------------------------

@dataclass
class IdpHarness:
    """The provider, and what a test needs from the identity server's other side."""

    provider: IdentityProvider
    login: Callable[[str], SecretStr]  # a user's access token from a password login (a portal session)
    clients_named: Callable[[str], int]  # how many clients with this client_id the realm holds


@pytest.fixture(params=["keycloak"])
def idp(request: pytest.FixtureRequest, idp_settings: Settings, keycloak: KeycloakFake) -> IdpHarness:
    from keycloak import KeycloakOpenID
    from keycloak.exceptions import KeycloakPostError

    from tests.support.keycloak_fake.realm import Client

    def login(username: str) -> SecretStr:
        realm = keycloak.realm("spbe")
        if realm.client_by_client_id("portal") is None:
            realm.add_client(Client(client_id="portal", public_client=True, direct_access_grants_enabled=True))
        oidc = KeycloakOpenID(server_url=keycloak.url + "/", realm_name="spbe", client_id="portal")
        try:
            return SecretStr(oidc.token(username, f"{username}-pw")["access_token"])
        except KeycloakPostError as exc:  # e.g. "Account disabled": the contract speaks in our errors
            raise PermissionDeniedError(f"{username} cannot log in: {exc}") from None

    def clients_named(client_id: str) -> int:
        return sum(c.client_id == client_id for c in keycloak.realm("spbe").clients.values())

    provider = KeycloakIdentityProvider(settings=idp_settings, masker=Masker(), jwks_min_refresh_s=0)
    return IdpHarness(provider, login, clients_named)


# -- Notifier -------------------------------------------------------------------------------------

@dataclass
class NotifierHarness:
    notifier: Notifier
    ticket_id: str
    received: Callable[[], list[str]]  # the subjects that reached their destination, oldest first
    while_down: Callable[[], AbstractContextManager[Notifier]]  # the same channel, unable to deliver meanwhile


@pytest.fixture(params=["timeline", "smtp"])
def notifier(request: pytest.FixtureRequest, tmp_path: Path, smtp) -> Iterator[NotifierHarness]:  # type: ignore[no-untyped-def]
    settings = Settings(state_dir=tmp_path / "state")
    with EmbeddedTicketStore(settings=settings, busy_timeout_ms=300) as store:
        ticket = store.create(TicketDraft(service_id="keamanan-informasi", title="Defacement", requester="andi",
                                          fields={}, sla_variant="standar"))
        if request.param == "timeline":
            timeline = TimelineNotifier(settings=settings, tickets=store)

            @contextmanager
            def store_locked() -> Iterator[Notifier]:
                holder = LockHolder(store.path)
                try:
                    yield timeline
                finally:
                    holder.release()

            def on_the_ticket() -> list[str]:
                return [e.text.split("**")[1] for e in store.timeline(ticket.id) if e.kind == EventKind.NOTIFICATION]

            yield NotifierHarness(timeline, ticket.id, on_the_ticket, store_locked)
            return
        sink, controller = smtp

        @contextmanager
        def nobody_listening() -> Iterator[Notifier]:
            yield SmtpNotifier(settings=settings, tickets=store, port=free_port(), timeout_s=2)

        mail = SmtpNotifier(settings=settings, tickets=store, port=controller.port, sender="spbe@example.go.id",
                            timeout_s=2)
        yield NotifierHarness(mail, ticket.id, lambda: [str(message["Subject"]) for _, message in sink.messages],
                              nobody_listening)
