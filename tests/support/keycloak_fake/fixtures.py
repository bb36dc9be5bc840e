"""pytest fixtures for tests that need Keycloak: a seeded FAKE (see `server`) and settings for it.

Import them into a conftest: ``from tests.support.keycloak_fake.fixtures import keycloak, idp_settings``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.keycloak_fake.seed import DEFAULT_REALM, seed_realm
from tests.support.keycloak_fake.server import KeycloakFake
from toolkit.settings import Settings, load_settings

# A canary: tests search for it in every output it must never reach.
KEYCLOAK_ADMIN_SECRET = "CANARY-kc-admin-5e1f0a77c2d4"  # noqa: S105


@pytest.fixture
def keycloak() -> Iterator[KeycloakFake]:
    with KeycloakFake() as fake:
        seed_realm(fake, KEYCLOAK_ADMIN_SECRET)
        yield fake


@pytest.fixture
def idp_settings(state_dir: Path, keycloak: KeycloakFake, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    return load_settings(state_dir=state_dir, identity={"server_url": keycloak.url, "realm": DEFAULT_REALM,
                                                        "timeout_s": 5, "options": {"jwks_min_refresh_s": 0}})
