"""A FAKE Keycloak (Keycloak 24 admin REST API and OIDC endpoints) for tests: see `server`."""

from tests.support.keycloak_fake.server import KeycloakFake

__all__ = ["KeycloakFake"]
