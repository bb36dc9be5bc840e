"""A malformed setting ends the command with exit 8 and one line naming where it is, never a traceback.

Through the real CLI: click's runner for each shape of error (a ``SPBE_*`` value that is not JSON, a
TOML syntax error, a value of the wrong type from either source), and one real ``python -m
toolkit.cli.main`` process, which is what a person sees.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import engine_env, spbe_argv
from tests.support.cli import Spbe

CANARY = "CANARY-config-err-41f0c2"  # noqa: S105 - must not be echoed by any error


def show(state_dir: Path, *options: str) -> Result:
    return Spbe(state_dir=state_dir, catch_exceptions=True)(*options, "config", "show")


def assert_config_error(result: Result, *expected: str) -> None:
    assert result.exit_code == 8, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught error
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    assert CANARY not in result.output


def test_an_environment_value_that_is_not_json_names_the_variable(state_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_WORKERS", "{bad")
    assert_config_error(show(state_dir), "SPBE_WORKERS", "not valid JSON", "line 1 column 2")


def test_a_nested_environment_value_names_its_own_variable(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_TICKETS__KIND", "embedded")
    monkeypatch.setenv("SPBE_TICKETS__OPTIONS", '{"api_password": "' + CANARY)
    assert_config_error(show(state_dir), "SPBE_TICKETS__OPTIONS", "not valid JSON")


def test_json_errors_carry_exit_code_8(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_WORKERS", "{bad")
    result = show(state_dir, "--json-errors")
    assert result.exit_code == 8
    error = json.loads(result.stderr)
    assert error["error"] == "ConfigurationError" and error["exit_code"] == 8
    assert "SPBE_WORKERS" in error["message"]


@pytest.mark.parametrize("how", ["--config", "SPBE_CONFIG"])
def test_a_toml_syntax_error_names_the_file_and_line(state_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    config = tmp_path / "spbe.toml"
    config.write_text('[workers]\ncount = 2\n[gateway.options]\npassword = "' + CANARY + '\n', encoding="utf-8")
    if how == "SPBE_CONFIG":
        monkeypatch.setenv("SPBE_CONFIG", str(config))
        result = show(state_dir)
    else:
        result = show(state_dir, "--config", str(config))
    assert_config_error(result, str(config), "TOML syntax error", "line 4")


def test_a_file_that_is_not_utf8_is_a_configuration_error(state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "spbe.toml"
    config.write_bytes(b'lab_name = "\xff"\n')
    assert_config_error(show(state_dir, "--config", str(config)), str(config), "UTF-8")


def test_an_invalid_value_in_the_file_names_the_file_and_key(state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "spbe.toml"
    config.write_text('[workers]\ncount = 0\n[notifier]\nkind = "smtp"\n[notifier.options]\nport = "'
                      + CANARY + '"\n', encoding="utf-8")
    assert_config_error(show(state_dir, "--config", str(config)),
                        f"in {config}, key workers.count", f"in {config}, key notifier.options.port")


def test_an_invalid_value_from_the_environment_names_the_variable(state_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_WORKERS__COUNT", "0")
    monkeypatch.setenv("SPBE_GATEWAY", json.dumps({"kind": "kong", "options": {"proxy_url": "https://gw.example"}}))
    assert_config_error(show(state_dir), "workers.count", "(environment variable SPBE_WORKERS__COUNT)",
                        "gateway.options.admin_url: Field required (environment variable SPBE_GATEWAY)")


def test_the_real_command_exits_8_without_a_traceback(state_dir: Path) -> None:
    env = engine_env(state_dir, SPBE_WORKERS="{bad", SPBE_GATEWAY__OPTIONS=json.dumps({"password": CANARY}))
    done = subprocess.run(spbe_argv("config", "show"), env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 8, (done.stdout, done.stderr)
    assert "SPBE_WORKERS" in done.stderr and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr and CANARY not in done.stdout + done.stderr
