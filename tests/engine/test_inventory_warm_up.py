"""`spbe serve` parses the Ansible inventory when it starts, so the first containment does not wait for it."""

from __future__ import annotations

from pathlib import Path

from toolkit import ansible_inventory
from toolkit.bootstrap import App
from toolkit.engine.server import Server
from toolkit.settings import load_settings


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.ini"
    path.write_text("[csirt_targets]\nwarm-01 ansible_host=192.0.2.7\n", encoding="utf-8")
    return path


def _serve_briefly(state_dir: Path, inventory: Path, warm: bool) -> None:
    app = App(load_settings(state_dir=state_dir, inventory=inventory, workers={"warm_inventory": warm}))
    try:
        server = Server(app, workers=1)
        server.run(duration=0.3)
    finally:
        app.close()


def test_the_inventory_is_parsed_when_the_server_starts(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    _serve_briefly(tmp_path / "state", inventory, warm=True)
    assert inventory.resolve() in ansible_inventory._cache or inventory in ansible_inventory._cache


def test_without_the_setting_nothing_is_parsed(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    _serve_briefly(tmp_path / "state", inventory, warm=False)
    assert inventory.resolve() not in ansible_inventory._cache and inventory not in ansible_inventory._cache
