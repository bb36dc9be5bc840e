"""`spbe network ...` through click's CliRunner against the lab switches, and its refusals of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from lab.models import LabState
from tests.network import netlab
from tests.support.cli import Spbe


def _run(lab: LabState | None, tmp_path: Path, *args: str) -> Result:
    env = {"SPBE_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200", "SPBE_CONFIG": str(tmp_path / "none.toml")}
    if lab is not None:
        assert lab.switch_known_hosts is not None
        env["SPBE_NETWORK__KNOWN_HOSTS"] = str(lab.switch_known_hosts)  # as the lab's spbe.toml says
    return Spbe(env=env, catch_exceptions=True)(*args)


def _change(inventory: Path, lab: LabState, vlan: int, port: str) -> list[str]:
    return ["--inventory", str(inventory), "--site", "gabungan", "--vlan-id", str(vlan),
            "--vlan-name", f"CLI-{vlan}", "--description", "Ruang rapat", "--subnet", f"10.20.{vlan - 150}.0/24",
            "--app", "simpeg", "--port", f"sw-dc-01:{port}"]  # fmt: skip


@pytest.mark.lab
def test_push_verify_rollback_json(lab: LabState, tmp_path: Path) -> None:
    inventory = netlab.write_inventory(tmp_path, netlab.inventory_data(), lab)
    before = netlab.running(lab, "sw-dc-01")
    change = _change(inventory, lab, 240, "FastEthernet0/24")

    dry = _run(lab, tmp_path, "network", "push", *change, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert data["ok"] and data["results"][0]["outcome"] == "planned" and "+vlan 240" in data["results"][0]["diff"]
    assert netlab.running(lab, "sw-dc-01") == before

    plan_file = tmp_path / "plan.json"
    diff = _run(lab, tmp_path, "network", "diff", *change, "--save-plan", str(plan_file))
    assert diff.exit_code == 0 and "+ switchport access vlan 240" in diff.output and plan_file.is_file()

    pushed = _run(lab, tmp_path, "network", "push", "--inventory", str(inventory),
                  "--plan", str(plan_file))  # fmt: skip
    assert pushed.exit_code == 0, pushed.output
    assert "sw-dc-01" in pushed.output and "changed" in pushed.output  # the per-device table

    verified = _run(lab, tmp_path, "network", "verify", "--inventory", str(inventory),
                    "--plan", str(plan_file), "--json")  # fmt: skip
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True

    facts = _run(lab, tmp_path, "network", "facts", "--inventory", str(inventory),
                 "--device", "sw-dc-01", "--json")  # fmt: skip
    result = json.loads(facts.stdout)["results"][0]
    assert 240 in result["facts"]["used_vlan_ids"] and result["facts"]["port_vlans"]["FastEthernet0/24"] == 240

    undone = _run(lab, tmp_path, "network", "rollback", "--inventory", str(inventory),
                  "--plan", str(plan_file), "--json")  # fmt: skip
    assert undone.exit_code == 0 and json.loads(undone.stdout)["results"][0]["outcome"] == "rolled_back"
    assert netlab.running(lab, "sw-dc-01") == before


@pytest.mark.lab
def test_backup_json_and_unreachable_exit_code(lab: LabState, tmp_path: Path) -> None:
    inventory = netlab.write_inventory(tmp_path, netlab.inventory_data(
        **{"sw-bkd-01": {"host": "127.0.0.1", "port": 1}}), lab)  # fmt: skip
    result = _run(lab, tmp_path, "network", "backup", "--inventory", str(inventory),
                  "--site", "gabungan", "--json")  # fmt: skip
    assert result.exit_code == 6, result.output
    data = json.loads(result.stdout)
    outcomes = {r["device"]: (r["outcome"], r["error"] and r["error"]["kind"]) for r in data["results"]}
    assert outcomes == {"sw-dinkes-01": ("unchanged", None), "sw-bkd-01": ("failed", "DeviceUnreachableError"),
                        "sw-dc-01": ("unchanged", None)}  # fmt: skip
    assert Path(data["results"][0]["backup"]).is_file()


@pytest.mark.parametrize(("name", "problem"), [
    ("STAFF\nend", "newlines"), ("STAFF;reload", "';'"), ("STAFF|include", "'|'"), ("exit", "CLI keyword"),
])  # fmt: skip
def test_plan_file_with_injection_is_refused(tmp_path: Path, name: str, problem: str) -> None:
    """A plan file is validated like a request: a tampered name never reaches a device."""
    inv = netlab.inventory(tmp_path)
    plan = netlab.plan(inv, 250, {"sw-dc-01": ["FastEthernet0/13"]}).model_dump(mode="json")
    plan["vlan_name"] = name
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    result = _run(None, tmp_path, "network", "push", "--inventory", str(tmp_path / "network.yml"), "--plan", str(path))
    assert result.exit_code == 2 and "vlan_name" in result.output and problem in result.output


def test_plan_file_with_a_port_outside_the_pool_is_refused(tmp_path: Path) -> None:
    inv = netlab.inventory(tmp_path)
    plan = netlab.plan(inv, 251, {"sw-dc-01": ["FastEthernet0/13"]}).model_dump(mode="json")
    plan["devices"][0]["access_ports"] = ["FastEthernet0/1"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    result = _run(None, tmp_path, "network", "diff", "--inventory", str(tmp_path / "network.yml"), "--plan", str(path))
    assert result.exit_code == 2 and "not in the site's access-port pool" in result.output


def test_change_options_are_checked(tmp_path: Path) -> None:
    netlab.inventory(tmp_path)
    inventory = str(tmp_path / "network.yml")
    missing = _run(None, tmp_path, "network", "push", "--inventory", inventory, "--site", "gabungan")
    assert missing.exit_code == 2 and "--vlan-id" in missing.output
    bad = _run(None, tmp_path, "network", "push", "--inventory", inventory, "--site", "gabungan", "--vlan-id", "4095",
               "--vlan-name", "A;B", "--description", "x", "--subnet", "10.20.9.0/24", "--app", "simpeg",
               "--port", "sw-dc-01:FastEthernet0/13")  # fmt: skip
    assert bad.exit_code == 2 and "vlan_id" in bad.output and "vlan_name" in bad.output
    unknown = _run(None, tmp_path, "network", "backup", "--inventory", inventory, "--device", "sw-nope")
    assert unknown.exit_code == 3 and "sw-nope" in unknown.output
