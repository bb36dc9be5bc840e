"""End-to-end tests change their target host as a ticket would (host name, sites, firewall), so
they get a lab of their own instead of the session's shared one; a lab starts in about a second
from the cached root filesystem."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.manager import LabManager
from lab.models import LabState
from tests.fixtures.lab import test_lab_name


@pytest.fixture(scope="module")
def lab(lab_manager: LabManager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    manager = LabManager(tmp_path_factory.mktemp("e2e-lab"), test_lab_name("-e2e"))
    state = manager.up()
    try:
        yield state
    finally:
        manager.down()
