"""Principals for tests: the lab's ``--as`` (what the CLI tests and the demo use) and the engine."""

from __future__ import annotations

from toolkit.domain.principal import AuthMethod, Principal


def as_lab(user: str) -> Principal:
    return Principal(user=user, auth=AuthMethod.LAB_AS)
