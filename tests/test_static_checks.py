"""ruff, mypy --strict and the import contracts over the package, as part of the suite, so CI keeps them clean.

The same three run as pre-commit hooks (.pre-commit-config.yaml); here they run from the virtualenv only,
never through pre-commit's own installs, which need the network.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # processes of their own (spbe serve, a browser, mypy): the full suite runs these

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", "toolkit", "integrations", "lab", "spbe_data", "tests", "benchmarks",
                  "setup.py")
    assert result.returncode == 0, result.stdout[-3000:]


def _mypy_cache() -> list[str]:
    """mypy's incremental cache, kept between runs outside the checkout (a fresh checkout or worktree has no
    .mypy_cache: 20 CPU-s cold, 1 s warm). One per user, shared by checkouts: mypy trusts a cached module
    only while its source's hash matches, so another checkout's entries are rechecked, never believed. A
    directory in a shared /tmp that is not ours is not used (mypy then uses the checkout's own)."""
    cache = Path(tempfile.gettempdir()) / f"spbe-test-mypy-{os.getuid()}"
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        info = cache.lstat()
    except OSError:
        return []
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return []
    return ["--cache-dir", str(cache)]


def test_mypy_strict_is_clean():
    result = _run(sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", *_mypy_cache(), "toolkit",
                  "integrations", "lab", "spbe_data")  # the lab was checked as part of toolkit before it moved out
    assert result.returncode == 0, result.stdout[-3000:]


def test_import_contracts_are_kept():
    """[tool.importlinter] in pyproject.toml: layers, no cycles, the domain free of engine/CLI/lab/I-O.
    lint-imports puts the working directory first on sys.path, so it reads this checkout's code."""
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_pre_commit_runs_the_same_checks():
    """The hooks a developer runs before committing are the checks CI runs: ruff, mypy, lint-imports."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "mypy", "lint-imports", "trailing-whitespace", "end-of-file-fixer", "check-yaml"} <= set(hooks)
    assert hooks["mypy"]["entry"].startswith("python -m mypy") and hooks["lint-imports"]["entry"] == "lint-imports"
    assert all(hooks[name]["language"] == "system" for name in ("ruff", "mypy", "lint-imports"))
