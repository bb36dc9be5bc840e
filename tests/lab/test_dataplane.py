"""The lab data plane forwards and filters for real: probes leave a segment namespace, cross the core's
nftables ACL and reach (or not) listeners in the data-center namespace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.dataplane import LabDataPlane, spec_from_change
from lab.models import subnet_index
from tests.fixtures import lab as lab_plugin  # its test_lab_name, imported by name, would be collected
from tests.network import netlab
from toolkit.network import build_change
from toolkit.network.quality import QualityThresholds, evaluate, targets_for

INVENTORY = netlab.lab_sites()
FAST = QualityThresholds(probes=3, interval_s=0.05, timeout_s=0.5)

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabDataPlane]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    name = lab_plugin.test_lab_name("-dp")  # a /24 of its own, whatever the other labs (and xdist workers) hold
    plane = LabDataPlane(tmp_path_factory.mktemp("dp"), name, subnet_index(name))
    plane.ensure_up(INVENTORY)
    try:
        yield plane
    finally:
        plane.down()
    assert not Path(f"/run/netns/{plane.core}").exists()


def _change(vlan: int, apps: list[str]):  # type: ignore[no-untyped-def]
    return build_change(INVENTORY, site="dinkes", vlan_id=vlan, vlan_name=f"DP-{vlan}", description="uji data plane",
                        subnet=f"10.20.{vlan - 100}.0/28", apps=apps,
                        access_ports={"sw-dinkes-01": ["FastEthernet0/1"]})


def test_permitted_apps_reachable_and_others_blocked(plane: LabDataPlane) -> None:
    change = _change(101, ["simpeg", "dns"])
    plane.attach(spec_from_change(change))
    targets = targets_for(change, INVENTORY)
    assert [(t.app, t.expect) for t in targets] == [("simpeg", "reachable"), ("dns", "reachable"),
                                                    ("sikd", "blocked")]
    report = evaluate(plane.probe(101, targets, FAST), FAST)
    assert report.ok, [(v.result.target.label, v.reason, v.result.error) for v in report.verdicts]
    simpeg = report.verdicts[0].result
    assert simpeg.received == 3 and simpeg.rtt_avg_ms is not None


def test_missing_acl_entry_fails_the_test(plane: LabDataPlane) -> None:
    change = _change(102, ["simpeg"])
    spec = spec_from_change(change).model_copy(update={"acl": ()})  # the switch lost its ACL lines
    plane.attach(spec)
    report = evaluate(plane.probe(102, targets_for(change, INVENTORY), FAST), FAST)
    assert not report.ok
    assert report.verdicts[0].reason.startswith("tidak terjangkau")


def test_too_open_acl_fails_the_blocked_check(plane: LabDataPlane) -> None:
    change = _change(103, ["simpeg"])
    wide = _change(103, ["simpeg", "sikd"])
    plane.attach(spec_from_change(wide))  # the device permits more than the ticket asked for
    report = evaluate(plane.probe(103, targets_for(change, INVENTORY), FAST), FAST)
    blocked = [v for v in report.verdicts if v.result.target.expect == "blocked"]
    assert blocked and not blocked[0].ok and "seharusnya terblokir" in blocked[0].reason


def test_detach_removes_the_segment(plane: LabDataPlane) -> None:
    plane.attach(spec_from_change(_change(104, ["simpeg"])))
    plane.detach(104)
    assert not Path(f"/run/netns/{plane.segment_netns(104)}").exists()
