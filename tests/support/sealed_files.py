"""What lies on disk, read raw: for the encryption-at-rest tests (a canary of the ticket in no job file)."""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.at_rest import is_sealed


def raw_files(root: Path) -> dict[Path, bytes]:
    """Every regular file under ``root`` (links not followed) with its bytes as stored."""
    found: dict[Path, bytes] = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found[path] = path.read_bytes()
    return found


def assert_no_plaintext(root: Path, *canaries: str) -> dict[Path, bytes]:
    """No file under ``root`` holds any of ``canaries`` (as UTF-8) and every file is sealed; returns the
    files read, so the caller can check it read the ones it expected."""
    files = raw_files(root)
    for path, data in files.items():
        for canary in canaries:
            assert canary.encode() not in data, f"{canary!r} in clear in {path}"
        assert is_sealed(data), f"{path} is not encrypted at rest"
    return files
