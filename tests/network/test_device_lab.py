"""backup / diff / push / verify / rollback for real: netmiko against the lab's Cisco IOS simulators."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

from lab.models import LabState
from tests.network import netlab
from toolkit.errors import InvalidInputError
from toolkit.network import ios
from toolkit.network.errors import ChangeTooLargeError, DeviceTimeoutError
from toolkit.network.render import TEMPLATES_DIR
from toolkit.network.session import DeviceSession, SessionOptions

pytestmark = pytest.mark.lab
ALL = ("sw-dinkes-01", "sw-bkd-01", "sw-dc-01")


def test_backup_writes_one_private_file_per_device(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    runner = netlab.runner(lab, inv, tmp_path / "state")
    report = runner.backup(runner.select(site="gabungan"))
    assert report.ok and [r.device for r in report.results] == list(ALL)
    for result in report.results:
        assert result.backup is not None and result.backup.parent.name == result.device
        assert result.backup.stat().st_mode & 0o777 == 0o600
        assert result.backup.parent.stat().st_mode & 0o777 == 0o700
        assert f"hostname {result.device}" in result.backup.read_text()
        assert not result.changed


def test_push_verify_idempotent_then_rollback_restores_the_backup(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    runner = netlab.runner(lab, inv, tmp_path / "state")
    change = netlab.plan(inv, 210, {"sw-dinkes-01": ["FastEthernet0/13", "FastEthernet0/14"]})
    before = netlab.running(lab, "sw-dinkes-01")

    diff = runner.diff(change).results[0]
    assert diff.ok and diff.outcome == "planned"
    assert "+vlan 210\n+ name UJI-210\n" in diff.diff and "+ switchport access vlan 210\n" in diff.diff
    assert "+ permit udp 10.20.60.0 0.0.0.255 10.10.1.0 0.0.0.15 eq 53\n" in diff.diff
    assert netlab.running(lab, "sw-dinkes-01") == before  # a diff changes nothing

    pushed = runner.push(change)
    result = pushed.results[0]
    assert pushed.ok and result.outcome == "changed" and result.changed and result.pushed_lines > 20
    assert result.backup is not None and result.backup.read_text().replace("\r", "") != ""
    vlans = {v.id: v for v in ios.parse_vlan_brief(netlab.cli(lab, "sw-dinkes-01", ["show vlan brief"]))}
    assert vlans[210].name == "UJI-210" and {"FastEthernet0/13", "FastEthernet0/14"} <= set(vlans[210].ports)
    acls = ios.parse_access_lists(netlab.cli(lab, "sw-dinkes-01", ["show ip access-lists SPBE-VLAN210"]))
    assert acls["SPBE-VLAN210"].entries[-1] == "deny ip any any"
    assert "permit udp 10.20.60.0 0.0.0.255 10.10.1.0 0.0.0.15 eq 53" in acls["SPBE-VLAN210"].entries

    verified = runner.verify(change)
    assert verified.ok and verified.results[0].problems == ()

    again = runner.push(change)  # idempotent: nothing left to push, nothing pushed
    assert again.ok and again.results[0].outcome == "unchanged" and not again.results[0].changed
    assert again.results[0].diff == "" and again.results[0].pushed_lines == 0
    assert runner.diff(change).results[0].outcome == "unchanged"

    undone = runner.rollback(change)
    assert undone.ok and undone.results[0].outcome == "rolled_back"
    assert netlab.running(lab, "sw-dinkes-01") == before
    gone = runner.verify(change).results[0]
    assert not gone.ok and "VLAN 210 is missing" in gone.problems


def test_rollback_without_a_backup_applies_the_rollback_template(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 211, {"sw-bkd-01": ["FastEthernet0/15"]})
    assert netlab.runner(lab, inv, tmp_path / "a").push(change).ok
    result = netlab.runner(lab, inv, tmp_path / "b").rollback(change).results[0]  # another state dir: no record
    assert result.ok and result.outcome == "rolled_back" and result.backup is None
    assert 211 not in {v.id for v in ios.parse_vlan_brief(netlab.cli(lab, "sw-bkd-01", ["show vlan brief"]))}


def test_dry_run_pushes_nothing(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 212, {"sw-dc-01": ["FastEthernet0/16"]})
    before = netlab.running(lab, "sw-dc-01")
    report = netlab.runner(lab, inv, tmp_path / "state").push(change, dry_run=True)
    result = report.results[0]
    assert report.ok and result.outcome == "planned" and not result.changed and result.pushed_lines == 0
    assert "+vlan 212" in result.diff and result.backup is not None
    assert netlab.running(lab, "sw-dc-01") == before


def test_vlan_already_used_on_the_device_is_refused_untouched(lab: LabState, tmp_path: Path) -> None:
    netlab.cli(lab, "sw-dinkes-01", ["vlan 220", "name DIBUAT-MANUAL", "exit"], config=True)
    inv = netlab.inventory(tmp_path, lab)
    before = netlab.running(lab, "sw-dinkes-01")
    change = netlab.plan(inv, 220, {"sw-dinkes-01": ["FastEthernet0/17"]})
    result = netlab.runner(lab, inv, tmp_path / "state").push(change).results[0]
    assert result.outcome == "failed" and not result.changed and result.error is not None
    assert result.error.kind == "DeviceConflictError" and "VLAN 220 is already used" in result.error.message
    assert result.error.exit_code == 5
    assert netlab.running(lab, "sw-dinkes-01") == before


def test_port_the_device_does_not_have_is_refused_before_pushing(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab, extra_pool=("FastEthernet0/30",))  # in the inventory, not on a 24-port switch
    before = netlab.running(lab, "sw-bkd-01")
    change = netlab.plan(inv, 221, {"sw-bkd-01": ["FastEthernet0/30"]})
    result = netlab.runner(lab, inv, tmp_path / "s").push(change).results[0]
    assert result.outcome == "failed" and result.error is not None and result.error.kind == "DeviceInputError"
    assert "FastEthernet0/30" in result.error.message
    assert netlab.running(lab, "sw-bkd-01") == before


def test_port_not_in_the_inventory_is_refused_by_the_plan(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    with pytest.raises(InvalidInputError, match="not in the site's access-port pool"):
        netlab.plan(inv, 222, {"sw-bkd-01": ["FastEthernet0/2"]})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_device_is_reported_per_device(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab, **{"sw-dc-01": {"host": "127.0.0.1", "port": _closed_port()}})
    report = netlab.runner(lab, inv, tmp_path / "s").backup(netlab.runner(lab, inv, tmp_path / "s").select("gabungan"))
    dc = report.result("sw-dc-01")
    assert dc.outcome == "failed" and dc.error is not None and dc.error.kind == "DeviceUnreachableError"
    assert dc.error.exit_code == 6 and "cannot connect" in dc.error.message
    assert report.result("sw-dinkes-01").ok and report.result("sw-bkd-01").ok


def test_silent_device_times_out(lab: LabState, tmp_path: Path) -> None:
    """A TCP listener that never speaks SSH: the banner wait must end in a timeout error, not hang."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        inv = netlab.inventory(tmp_path, lab, **{"sw-dc-01": {"host": "127.0.0.1", "port": port}})
        resolved = netlab.runner(lab, inv, tmp_path / "s").resolver.device(inv.site("gabungan").device("sw-dc-01"))
        options = SessionOptions(conn_timeout=2, banner_timeout=2, auth_timeout=2)
        with pytest.raises(DeviceTimeoutError, match="did not complete in time"):
            DeviceSession(resolved, options).connect()


def test_wrong_credentials_are_an_auth_error_without_the_secret(lab: LabState, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    wrong = tmp_path / "wrong"
    wrong.write_text("bukan-kata-sandi-yang-benar\n")
    real_password = netlab.switch(lab, "sw-bkd-01").password_file.read_text().strip()
    creds = {**netlab.LAB_REFS, "password_ref": f"file:{wrong}"}
    secret_creds = {**netlab.LAB_REFS, "secret_ref": f"file:{wrong}"}
    inv = netlab.inventory(tmp_path, lab, **{"sw-bkd-01": {"credentials": creds},
                                             "sw-dc-01": {"credentials": secret_creds}})
    runner = netlab.runner(lab, inv, tmp_path / "s")
    report = runner.backup(runner.select("gabungan"))
    bkd, dc = report.result("sw-bkd-01"), report.result("sw-dc-01")
    assert bkd.error is not None and bkd.error.kind == "DeviceAuthError" and "login" in bkd.error.message
    assert dc.error is not None and dc.error.kind == "DeviceAuthError" and "enable refused" in dc.error.message
    assert report.result("sw-dinkes-01").ok
    dumped = report.model_dump_json() + caplog.text
    assert "bukan-kata-sandi" not in dumped and real_password not in dumped


def _bad_templates(tmp_path: Path, bad_port: str) -> Path:
    """Our templates plus one line this IOS image does not know, on one port: the device refuses mid-push."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, root)
    path = root / "cisco_ios" / "access_ports.j2"
    text = path.read_text()
    marker = " switchport access vlan {{ vlan_id }}\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + f'{{% if port == "{bad_port}" %}}\n spanning-tree portfast edge\n'
                                                  "{% endif %}\n"))  # fmt: skip
    return root


def test_invalid_input_mid_push_rolls_every_device_back(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 230, {"sw-dinkes-01": ["FastEthernet0/18"], "sw-bkd-01": ["FastEthernet0/19"],
                                    "sw-dc-01": ["FastEthernet0/20"]})  # fmt: skip
    before = {name: netlab.running(lab, name) for name in ALL}
    runner = netlab.runner(lab, inv, tmp_path / "s", max_workers=3)
    runner.templates_dir = _bad_templates(tmp_path, "FastEthernet0/19")
    report = runner.push(change)
    assert not report.ok
    bkd = report.result("sw-bkd-01")
    assert bkd.outcome == "rolled_back" and bkd.error is not None and bkd.error.kind == "DeviceCommandError"
    assert "spanning-tree portfast edge" in bkd.error.message and "Invalid input" in bkd.error.message
    for name in ("sw-dinkes-01", "sw-dc-01"):  # pushed in parallel, then undone because sw-bkd-01 failed
        other = report.result(name)
        assert other.outcome in ("rolled_back", "skipped"), other
        assert not other.changed
    assert not any(r.changed for r in report.results)
    for name in ALL:
        assert netlab.running(lab, name) == before[name], f"{name} was not left as it was"


def test_canary_failure_leaves_the_others_untouched(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 231, {"sw-dinkes-01": ["FastEthernet0/21"], "sw-bkd-01": ["FastEthernet0/21"],
                                    "sw-dc-01": ["FastEthernet0/21"]})  # fmt: skip
    before = {name: netlab.running(lab, name) for name in ALL}
    contacted: list[str] = []
    lock = threading.Lock()

    def connect(device: object, options: SessionOptions) -> DeviceSession:
        with lock:
            contacted.append(device.name)  # type: ignore[attr-defined]
        return DeviceSession(device, options)  # type: ignore[arg-type]

    runner = netlab.runner(lab, inv, tmp_path / "s", canary=True)
    runner._connect = connect
    runner.templates_dir = _bad_templates(tmp_path, "FastEthernet0/21")
    report = runner.push(change)
    assert report.canary == "sw-dinkes-01"
    assert report.result("sw-dinkes-01").outcome == "rolled_back"
    assert [report.result(n).outcome for n in ("sw-bkd-01", "sw-dc-01")] == ["skipped", "skipped"]
    assert set(contacted) == {"sw-dinkes-01"}
    for name in ALL:
        assert netlab.running(lab, name) == before[name]


def test_canary_success_then_the_rest(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 232, {"sw-dinkes-01": ["FastEthernet0/22"], "sw-bkd-01": ["FastEthernet0/22"]})
    seen: list[tuple[str, int, int]] = []
    runner = netlab.runner(lab, inv, tmp_path / "s")
    report = runner.push(change, canary=True, progress=lambda r, done, total: seen.append((r.device, done, total)))
    assert report.ok and report.canary == "sw-dinkes-01"
    assert [r.outcome for r in report.results] == ["changed", "changed"]
    assert seen == [("sw-dinkes-01", 1, 2), ("sw-bkd-01", 2, 2)]
    assert netlab.runner(lab, inv, tmp_path / "s").rollback(change).ok


def test_cap_refuses_before_connecting(lab: LabState, tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path, lab)
    change = netlab.plan(inv, 233, {n: ["FastEthernet0/23"] for n in ALL})

    def connect(device: object, options: SessionOptions) -> DeviceSession:
        raise AssertionError("a device was contacted although the change is over the cap")

    runner = netlab.runner(lab, inv, tmp_path / "s", max_devices=2)
    runner._connect = connect
    with pytest.raises(ChangeTooLargeError, match="at most 2") as info:
        runner.push(change)
    assert info.value.exit_code == 2
    with pytest.raises(ChangeTooLargeError):
        runner.push(change, dry_run=True)
