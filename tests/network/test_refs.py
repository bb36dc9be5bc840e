"""Reference resolution: env/file refs work as settings'. (The lab's placeholders are the lab's own business:
tests/lab/test_network_inventory.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigurationError
from toolkit.network import RefResolver, load_inventory

MULTI_FILE = Path(__file__).parent / "data" / "multivendor.yml"


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
