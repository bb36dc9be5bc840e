"""Turn every way loading settings can fail into a `ConfigurationError` a person can act on.

pydantic-settings fails in three shapes: a ``SettingsError`` when an ``SPBE_*`` variable of a nested
setting is not JSON (it names the field and the source, not the variable), tomllib's
``TOMLDecodeError`` for the file (line and column, not the file), and a ``ValidationError`` that has
the key path but not where the value came from. Each becomes one message naming the variable, or
the file with its line or key. No message quotes the offending value: it may be a credential typed
in the wrong place.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.errors import ConfigurationError

ENV_PREFIX = "SPBE_"
_NESTED = "__"
_SETTINGS_ERROR = re.compile(r'field "(?P<field>[^"]+)" from source "(?P<source>[^"]+)"')


def _env_names(prefix: str) -> list[str]:
    """Set variables for the setting ``prefix`` (``SPBE_WORKERS``) or one of its keys, as spelled."""
    wanted = prefix.upper()
    return sorted(name for name in os.environ
                  if name.upper() == wanted or name.upper().startswith(wanted + _NESTED))


def _not_json(name: str) -> bool:
    try:
        json.loads(os.environ[name])
    except ValueError:
        return True
    return False


def _env_source(loc: tuple[Any, ...]) -> str | None:
    """The variable that set ``loc`` (the most specific one: environment variables win over the file)."""
    upper = {name.upper(): name for name in os.environ}
    for length in range(len(loc), 0, -1):
        name = ENV_PREFIX + _NESTED.join(str(part) for part in loc[:length])
        if name.upper() in upper:
            return upper[name.upper()]
    return None


def _in_file(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    return bool(loc) and isinstance(data, dict) and str(loc[0]) in data


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError):
        return {}


def _validation_message(exc: ValidationError, toml_file: Path | None) -> tuple[str, list[tuple[str, str]]]:
    data = _read_toml(toml_file)
    problems: list[tuple[str, str]] = []
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(settings)"
        env = _env_source(loc)
        where = (f" (environment variable {env})" if env else
                 f" (in {toml_file}, key {key})" if toml_file and _in_file(data, loc) else "")
        problems.append((key, error["msg"]))
        lines.append(f"{key}: {error['msg']}{where}")
    return "invalid settings: " + "; ".join(lines), problems


def _settings_error_message(exc: Exception) -> str:
    match = _SETTINGS_ERROR.search(str(exc))
    if match is None or match["source"] != "EnvSettingsSource":
        return f"invalid settings: {exc}"
    names = _env_names(ENV_PREFIX + match["field"])
    broken = [name for name in names if _not_json(name)] or names or [ENV_PREFIX + match["field"].upper()]
    cause = exc.__cause__
    why = str(cause) if isinstance(cause, json.JSONDecodeError) else "cannot be parsed"
    return (f"environment variable {' or '.join(broken)} (setting '{match['field']}') is not valid JSON: {why}")


def configuration_error(exc: Exception, toml_file: Path | None) -> ConfigurationError:
    """The `ConfigurationError` for an exception raised while building `Settings` from ``toml_file``
    (None when no file was read)."""
    if isinstance(exc, ValidationError):
        message, problems = _validation_message(exc, toml_file)
        return ConfigurationError(message, errors=problems)
    if isinstance(exc, tomllib.TOMLDecodeError):  # its message: "Invalid value (at line 3, column 9)"
        return ConfigurationError(f"config file {toml_file}: TOML syntax error: {exc}", file=str(toml_file))
    if isinstance(exc, UnicodeDecodeError):
        return ConfigurationError(f"config file {toml_file} is not UTF-8 text (byte {exc.start})",
                                  file=str(toml_file))
    if isinstance(exc, OSError):
        return ConfigurationError(f"config file {toml_file} cannot be read: {exc.strerror}", file=str(toml_file))
    return ConfigurationError(_settings_error_message(exc))
