"""Fixtures shared by the SPLP tests: the gateway tests' provider backend and the Keycloak FAKE."""

from tests.integrations.gateway.conftest import provider_backend  # noqa: F401 - a pytest fixture, re-exported
from tests.support.keycloak_fake.fixtures import keycloak  # noqa: F401 - a pytest fixture, re-exported
