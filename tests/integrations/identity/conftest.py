from tests.support.keycloak_fake.fixtures import idp_settings, keycloak

__all__ = ["idp_settings", "keycloak"]
