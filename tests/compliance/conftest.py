"""The compliance package's own lab of servers, started once for the modules that need it (the server
profile's component tests and the Audit TI loop on servers); fixtures named so they do not shadow the
session ``lab`` (the gateway tests use that one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.manager import LabManager
from lab.models import LabState
from tests.fixtures import lab as lab_plugin
from toolkit.settings import Settings

from .serverlab import REPO, add_admin, admin_inventory

SERVER_HOSTS = ("cs-a", "cs-b")


@pytest.fixture(scope="package")
def server_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    manager = LabManager(tmp_path_factory.mktemp("cs-lab"), lab_plugin.test_lab_name("-cs"), hosts=SERVER_HOSTS,
                         switches=0, vpn=False, with_gateway=False)
    try:
        state = manager.up()
        for host in state.hosts:
            add_admin(host)
        yield state
    finally:
        manager.down()


@pytest.fixture(scope="package")
def server_settings(server_lab: LabState) -> Settings:
    """The lab's settings, with an inventory that logs in as the admin account and names the app."""
    return lab_plugin.settings_for(server_lab, inventory=admin_inventory(server_lab), playbooks_dir=REPO / "playbooks",
                                   compliance={"prometheus_url": server_lab.prometheus_url})
