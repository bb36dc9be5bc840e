"""Trusted SSH host keys from a ``known_hosts`` file, looked up by host in constant time.

paramiko's `HostKeys.lookup` walks every entry of the file for every lookup: with the 500 switches of
one site in one file, each session's host key check compared 500 names (and hashed every ``|1|``
entry). `KnownHosts` indexes the plain names once and gives the same answer as paramiko: the key of
the wanted type from the first matching entry in file order, hashed entries included. A file is
parsed again when its modification time or size changes.
"""

from __future__ import annotations

import hmac
import threading
from pathlib import Path

import paramiko


class KnownHosts:
    """The entries of one ``known_hosts`` file, parsed by paramiko, indexed by plain host name."""

    def __init__(self, path: Path) -> None:
        self._entries = [entry for entry in paramiko.HostKeys(str(path))._entries if entry.key is not None]
        self._plain: dict[str, list[int]] = {}
        self._hashed: list[tuple[int, str]] = []
        for index, entry in enumerate(self._entries):
            for name in entry.hostnames:
                if name.startswith("|1|"):
                    self._hashed.append((index, name))
                else:
                    self._plain.setdefault(name, []).append(index)

    def trusted(self, host: str, key_type: str) -> paramiko.PKey | None:
        """The key of ``key_type`` trusted for ``host`` (``[host]:port`` for a port other than 22), or None."""
        found = set(self._plain.get(host, ()))
        if not host.startswith("|1|"):
            found.update(index for index, hashed in self._hashed
                         if hmac.compare_digest(paramiko.HostKeys.hash_host(host, hashed), hashed))  # fmt: skip
        for index in sorted(found):
            key = self._entries[index].key
            if key.get_name() == key_type:
                return key
        return None


_CACHE: dict[Path, tuple[tuple[int, int], KnownHosts]] = {}
_LOCK = threading.Lock()


def known_hosts(path: Path) -> KnownHosts:
    """``path`` parsed once per content (mtime and size); raises OSError when it cannot be read."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _CACHE.get(path)
        if cached is None or cached[0] != stamp:
            cached = _CACHE[path] = (stamp, KnownHosts(path))
        return cached[1]
