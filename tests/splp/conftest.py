"""The gateway tests' provider backend fixture, shared with the SPLP tests."""

from tests.integrations.gateway.conftest import provider_backend  # noqa: F401 - a pytest fixture, re-exported
