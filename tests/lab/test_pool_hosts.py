"""`spbe lab up --host NAME ...`: the Pusat Data pool hosts a lab starts (the demo starts two, so its CLI
ticket and its HTTP API ticket each get a server). Names are checked before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lab.cli import lab_group
from lab.manager import DEFAULT_HOSTS, MAX_POOL_HOSTS, LabManager
from toolkit.errors import ConfigurationError


def test_the_default_pool_is_one_host_and_more_may_be_named(tmp_path: Path) -> None:
    assert LabManager(tmp_path, "pool").hosts == DEFAULT_HOSTS
    assert LabManager(tmp_path, "pool", hosts=("pd-app-01", "pd-app-02")).hosts == ("pd-app-01", "pd-app-02")


@pytest.mark.parametrize("hosts", [
    ("pd-app-01", "pd-app-01"),                          # the same namespace twice
    ("ir-web-01",),                                      # the incident's affected host
    ("vpn-dc-gw",),                                      # a VPN gateway
    ("PD_APP",), ("../x",), ("a" * 17,),                 # not a name for a namespace
    tuple(f"pd-{i}" for i in range(MAX_POOL_HOSTS + 1)),  # into the /30s of other parts
])
def test_bad_pool_host_names_are_refused(tmp_path: Path, hosts: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError):
        LabManager(tmp_path, "pool", hosts=hosts)


def test_lab_up_offers_the_option() -> None:
    result = CliRunner().invoke(lab_group, ["up", "--help"])
    assert result.exit_code == 0 and "--host NAME" in result.output
