"""Which paths on the affected host may be collected or hashed.

A requested path is checked as text before anything runs: absolute, no ``..`` component (refused
outright rather than normalised away, since a request that tries to walk out of a directory is
itself worth an audit entry), no control characters or glob/shell characters, and inside the
configured allowed set. The playbook checks the same again on the host and never follows a
symlink, so a link planted in ``/var/log/nginx/`` cannot pull ``/etc/shadow`` in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from toolkit.errors import InvalidInputError

MAX_PATH = 300
_SAFE = re.compile(r"^/[A-Za-z0-9._+@/-]*$")


class EvidencePathError(InvalidInputError):
    """A requested evidence path is malformed, tries to traverse, or lies outside the allowed set.
    ``details['path']`` is the path (already known to be printable), ``details['reason']`` why."""


def _refuse(path: str, reason: str) -> EvidencePathError:
    shown = path if _SAFE.fullmatch(path or "/") and len(path) <= MAX_PATH else repr(path[:80])
    return EvidencePathError(f"evidence path {shown} refused: {reason}", path=shown, reason=reason,
                             errors=[("path", reason)])


def check_syntax(path: str) -> str:
    """The path as given, if it is a plain absolute path; raises `EvidencePathError` otherwise."""
    if not isinstance(path, str) or not path:
        raise _refuse(str(path), "empty")
    if len(path) > MAX_PATH:
        raise _refuse(path, f"longer than {MAX_PATH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise _refuse(path, "control characters")
    if not path.startswith("/"):
        raise _refuse(path, "not an absolute path")
    parts = path.split("/")
    if ".." in parts or "." in parts:
        raise _refuse(path, "path traversal ('..' or '.')")
    if "//" in path:
        raise _refuse(path, "empty path component")
    if not _SAFE.fullmatch(path):
        raise _refuse(path, "characters outside [A-Za-z0-9._+@/-]")
    return path


def _allowed_by(path: str, entry: str) -> bool:
    if entry.endswith("/"):
        # A directory request equals the entry; a file must sit directly in it.
        return path == entry or str(PurePosixPath(path).parent) + "/" == entry
    return path == entry


def check_log_path(path: str, allowed: Iterable[str]) -> str:
    """A log file or log directory (``dir/``) the settings allow."""
    check_syntax(path)
    if not any(_allowed_by(path, entry) for entry in allowed):
        raise _refuse(path, "outside the allowed evidence paths (settings.evidence.allowed_logs)")
    return path


def check_hash_path(path: str, prefixes: Iterable[str]) -> str:
    """A single file under one of the allowed prefixes (``/etc/``, ``/srv/`` ...), to be hashed."""
    check_syntax(path)
    if path.endswith("/"):
        raise _refuse(path, "a directory; name the files to hash")
    if not any(path.startswith(prefix) for prefix in prefixes):
        raise _refuse(path, "outside the allowed hash prefixes (settings.evidence.hash_prefixes)")
    return path


def local_name(path: str) -> str:
    """Where a fetched remote file lives inside the bundle: ``logs/var/log/auth.log``."""
    return "logs" + check_syntax(path)
