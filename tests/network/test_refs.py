"""Reference resolution: lab references read the running lab's state and files; env/file refs work as settings'."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.models import LabSwitch, SwitchLabState
from toolkit.errors import ConfigurationError
from toolkit.network import RefResolver, load_inventory
from toolkit.settings import PROJECT_ROOT

LAB_FILE = PROJECT_ROOT / "inventory" / "network" / "lab.yml"
MULTI_FILE = Path(__file__).parent / "data" / "multivendor.yml"


def _switch_lab(tmp_path: Path) -> SwitchLabState:
    (tmp_path / "password").write_text("pw-123\n", encoding="utf-8")
    (tmp_path / "secret").write_text("en-456\n", encoding="utf-8")
    switches = tuple(
        LabSwitch(name=f"sw-{site}-01", site=site, port=21000 + i, username="spbe",
                  password_file=tmp_path / "password", secret_file=tmp_path / "secret")
        for i, site in enumerate(("dinkes", "bkd", "dc"))
    )  # fmt: skip
    return SwitchLabState(name="test", switches=switches, pid=1, config=tmp_path / "server.json",
                          known_hosts=tmp_path / "known_hosts", created_at=datetime.now(UTC))  # fmt: skip


def test_lab_references(tmp_path: Path) -> None:
    resolver = RefResolver(_switch_lab(tmp_path))
    device = resolver.device(load_inventory(LAB_FILE).site("bkd").device("sw-bkd-01"))
    assert (device.host, device.port, device.username) == ("127.0.0.1", 21001, "spbe")
    params = device.netmiko_params()
    assert (params["password"], params["secret"]) == ("pw-123", "en-456")
    assert params["device_type"] == "cisco_ios"
    assert "pw-123" not in repr(device) and "en-456" not in str(device)


def test_from_lab_dir_reads_switch_state(tmp_path: Path) -> None:
    state = _switch_lab(tmp_path)
    (tmp_path / "test" / "switches").mkdir(parents=True)
    (tmp_path / "test" / "switches" / "switches.json").write_text(state.model_dump_json(), encoding="utf-8")
    resolver = RefResolver.from_lab_dir(tmp_path, "test")
    assert resolver.device(load_inventory(LAB_FILE).site("dc").device("sw-dc-01")).port == 21002


def test_lab_not_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not up"):
        RefResolver.from_lab_dir(tmp_path, "test")
    with pytest.raises(ConfigurationError, match="needs the running lab"):
        RefResolver().device(load_inventory(LAB_FILE).site("dc").device("sw-dc-01"))


def test_unknown_lab_switch(tmp_path: Path) -> None:
    state = _switch_lab(tmp_path)
    state = state.model_copy(update={"switches": state.switches[:1]})
    with pytest.raises(ConfigurationError, match=r"lab:sw-dc-01: lab 'test' has no such switch"):
        RefResolver(state).device(load_inventory(LAB_FILE).site("dc").device("sw-dc-01"))


def test_env_and_file_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = load_inventory(MULTI_FILE)
    monkeypatch.setenv("SPBE_NET_PASSWORD", "from-env")
    monkeypatch.setenv("SPBE_NET_SECRET", "enable-env")
    ios = RefResolver().device(inventory.site("dinkes").device("sw-dinkes-ios"))
    assert (ios.host, ios.port, ios.password.get_secret_value()) == ("10.0.10.11", 22, "from-env")
    assert ios.secret is not None and ios.secret.get_secret_value() == "enable-env"
    ros = RefResolver().device(inventory.site("dinkes").device("sw-dinkes-ros"))
    assert ros.port == 2222 and ros.secret is None and "secret" not in ros.netmiko_params()
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n", encoding="utf-8")
    assert RefResolver().secret(f"file:{secret_file}").get_secret_value() == "from-file"


def test_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPBE_NET_PASSWORD", raising=False)
    with pytest.raises(ConfigurationError, match="SPBE_NET_PASSWORD is not set"):
        RefResolver().device(load_inventory(MULTI_FILE).site("dinkes").device("sw-dinkes-junos"))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        RefResolver().device(load_inventory(MULTI_FILE).site("dinkes").device("sw-dinkes-vrp"))
