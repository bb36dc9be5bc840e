"""Production settings have no lab in them: what only a deployment knows comes from its configuration,
and asking for it unconfigured is a ConfigurationError that names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

import spbe_data
from toolkit.errors import ConfigurationError
from toolkit.network import load_inventory
from toolkit.network.probers import segment_prober
from toolkit.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no ./spbe.toml
    monkeypatch.delenv("SPBE_CONFIG", raising=False)
    return load_settings(state_dir=tmp_path / "state")


def test_no_lab_field_and_no_deployment_specific_default(settings: Settings) -> None:
    assert not {"lab_dir", "lab_name"} & set(Settings.model_fields)
    assert settings.inventory is None and settings.network.inventory is None and settings.network.known_hosts is None
    assert settings.containment.network_inventory is None
    assert settings.network.prober is None and settings.network.prober_options == {}
    assert settings.gateway.options == {}


def test_shipped_data_comes_from_the_package(settings: Settings) -> None:
    assert settings.templates_dir == spbe_data.folder("templates")
    assert settings.playbooks_dir == spbe_data.folder("playbooks")
    assert settings.roles_file == spbe_data.data_path("inventory", "roles.yml") and settings.roles_file.is_file()
    assert settings.splp_register == spbe_data.data_path("inventory", "splp_apis.yml")
    assert settings.splp_register.is_file()


def test_unconfigured_inventories_name_their_setting(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="SPBE_INVENTORY"):
        settings.effective_inventory()
    with pytest.raises(ConfigurationError, match="SPBE_NETWORK__INVENTORY"):
        settings.network.inventory_file()


def test_the_quality_test_needs_a_configured_prober(settings: Settings) -> None:
    inventory = load_inventory(spbe_data.data_path("inventory", "network", "example.yml"))
    with pytest.raises(ConfigurationError, match=r"no quality prober configured \(network.prober"):
        segment_prober(settings, inventory, lambda device: "")


def test_a_prober_is_chosen_by_name_with_its_own_typed_options(tmp_path: Path) -> None:
    """The lab's prober, found through the registry only (entry point ``spbe.segment_probers``)."""
    settings = load_settings(state_dir=tmp_path / "state",
                             network={"prober": "lab", "prober_options": {"lab_dir": str(tmp_path), "lab_name": "x"}})
    inventory = load_inventory(spbe_data.data_path("inventory", "network", "example.yml"))
    prober = segment_prober(settings, inventory, lambda device: "")
    assert type(prober).__module__ == "lab.segment_prober"
    assert hasattr(prober, "probe")
    with pytest.raises(ConfigurationError, match="lab_name"):
        segment_prober(load_settings(state_dir=tmp_path / "state", network={"prober": "lab"}), inventory,
                       lambda device: "")
    with pytest.raises(ConfigurationError, match=r"no spbe\.segment_probers adapter named 'nowhere'"):
        segment_prober(load_settings(state_dir=tmp_path / "state", network={"prober": "nowhere"}), inventory,
                       lambda device: "")
