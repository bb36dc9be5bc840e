"""`spbe compliance run`: who may run it is asked before any target is looked up, a selector that is not
a name is refused before the inventory is read, an unknown target or profile is named; each with its exit
code and nothing stored. (The sweep itself, its table and tickets: tests/compliance/test_audit_ti_*_lab.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.settings import load_settings


@pytest.fixture
def cli(tmp_path: Path) -> Spbe:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"pusat_data_pool": {"hosts": {
        "pd-01": {"ansible_host": "192.0.2.10"}}}}}}), encoding="utf-8")
    return Spbe(state_dir=tmp_path / "state", env={"SPBE_DEPLOYMENT": "lab", "SPBE_INVENTORY": str(inventory)})


def _runs(tmp_path: Path) -> int:
    app = App(load_settings(state_dir=tmp_path / "state"))
    try:
        return len(app.state.compliance_history.runs())
    finally:
        app.close()


@pytest.mark.parametrize("selector", ["a;b", "$(id)", "../etc", "pd-01\nnext", "{{ 7*7 }}", "x" * 300])
def test_a_selector_that_is_not_a_name_is_refused_with_exit_2(cli: Spbe, tmp_path: Path, selector: str) -> None:
    result = cli("compliance", "run", "server-dasar", "--target", selector, "--as", "hendra", catch_exceptions=True)
    assert result.exit_code == 2, result.output
    assert _runs(tmp_path) == 0


def test_an_unknown_target_or_profile_is_named_with_exit_3(cli: Spbe, tmp_path: Path) -> None:
    result = cli("compliance", "run", "server-dasar", "--target", "pd-99", "--as", "hendra")
    assert result.exit_code == 3 and "pd-99" in result.output
    result = cli("compliance", "run", "tidak-ada", "--as", "hendra")
    assert result.exit_code == 3 and "tidak-ada" in result.output
    assert _runs(tmp_path) == 0


def test_who_may_run_is_asked_before_any_target_is_looked_up(cli: Spbe, tmp_path: Path) -> None:
    for target in ("pd-01", "pd-99"):  # the same answer whether the name exists or not
        result = cli("compliance", "run", "server-dasar", "--target", target, "--as", "kabid")
        assert result.exit_code == 4, result.output
    assert _runs(tmp_path) == 0
