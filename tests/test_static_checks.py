"""ruff and mypy --strict over the package, as part of the suite, so CI keeps them clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", "toolkit", "integrations", "lab", "spbe_data", "tests", "benchmarks",
                  "setup.py")
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_strict_is_clean():
    result = _run(sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "toolkit", "integrations",
                  "lab", "spbe_data")  # the lab was checked as part of toolkit before it moved out
    assert result.returncode == 0, result.stdout[-3000:]
