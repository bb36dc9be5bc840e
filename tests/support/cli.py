"""`spbe` run in-process through click's CliRunner: the one way the tests invoke the CLI.

``Spbe(state_dir=..., env=...)`` is called like the command line, ``spbe("ticket", "list")``, and returns
click's `Result`; ``spbe.json("ticket", "show", T)`` adds ``--json``, checks the exit code and parses stdout.
The ``spbe`` fixture (tests/conftest.py) gives one on the test's own state directory.

By default an exception the CLI does not turn into an exit code fails the test with its traceback
(``catch_exceptions=False``); a test about such exceptions asks for ``catch_exceptions=True``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner, Result

from toolkit.cli.main import cli


@dataclass(frozen=True)
class Spbe:
    state_dir: Path | None = None  # passed as --state-dir when set
    env: Mapping[str, str] = field(default_factory=dict)  # SPBE_* settings, COLUMNS...
    catch_exceptions: bool = False
    command: click.Command = cli  # a sub-group (``catalog_group``, ``lab_group``) invoked on its own
    obj: Any = None  # the context object for a sub-group invoked without the root

    def __call__(self, *args: str, env: Mapping[str, str] | None = None, catch_exceptions: bool | None = None,
                 input: str | None = None) -> Result:
        argv = [*(("--state-dir", str(self.state_dir)) if self.state_dir is not None else ()), *args]
        return CliRunner().invoke(
            self.command, argv, env={**self.env, **(env or {})}, input=input, obj=self.obj,
            catch_exceptions=self.catch_exceptions if catch_exceptions is None else catch_exceptions)

    def json(self, *args: str, exit_code: int = 0, env: Mapping[str, str] | None = None) -> Any:
        """Run with ``--json`` (unless given), require ``exit_code``, and return the parsed stdout."""
        result = self(*args, *(() if "--json" in args else ("--json",)), env=env)
        assert result.exit_code == exit_code, (result.exit_code, result.output)
        return json.loads(result.stdout)

    def with_env(self, **env: str) -> Spbe:
        return replace(self, env={**self.env, **env})
