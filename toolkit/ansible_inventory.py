"""Ansible inventories, read by ``ansible-inventory --list`` in a subprocess, once per version of the file.

Why not ansible's Python API: `InventoryManager`, `DataLoader` and the plugin loader behind them keep
process-wide state that is not thread-safe. Two worker threads parsing at once failed with ``module
'ansible.plugins.inventory.ini' has no attribute 'InventoryModule'`` (a half-imported plugin seen by the
second thread). ``ansible-inventory`` is the same parser (INI, YAML, directories, ``group_vars`` and
``host_vars``) in a process of its own, and its JSON already carries every host's variables merged from
its groups; that JSON is validated here into a frozen model.

Callers in any thread share one parse: a lock per inventory makes concurrent callers wait for one
subprocess, and the result is cached until the inventory, or a ``group_vars``/``host_vars`` file beside
it, changes (size, mtime or inode).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import ConfigurationError, NotFoundError

_VARS_DIRS = ("group_vars", "host_vars")
_TIMEOUT_S = 120
_locks_guard = threading.Lock()
_locks: dict[Path, threading.Lock] = {}
_cache: dict[Path, tuple[tuple[tuple[str, int, int, int], ...], Inventory]] = {}


class InventoryHost(BaseModel):
    """One host with its effective variables (its groups' variables overlaid with its own)."""

    model_config = ConfigDict(frozen=True)
    name: str
    vars: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host", self.name))


class _GroupEntry(BaseModel):
    """A group as ``ansible-inventory --list`` prints it (variables are already on the hosts)."""

    model_config = ConfigDict(extra="ignore")
    hosts: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)


class Inventory(BaseModel):
    """The parsed inventory: hosts by name, and each group's hosts in inventory order."""

    model_config = ConfigDict(frozen=True)
    source: Path
    hosts: dict[str, InventoryHost]
    groups: dict[str, tuple[str, ...]]

    def host(self, name: str) -> InventoryHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise NotFoundError(f"host {name!r} is not in the inventory {self.source}", host=name) from None

    def group(self, name: str) -> list[InventoryHost]:
        """The group's hosts (its own first, then its children's); empty when there is no such group."""
        return [self.hosts[h] for h in self.groups.get(name, ())]


def _fingerprint(path: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What must be unchanged for a cached parse to stand: the inventory and the vars files ansible reads."""
    files: list[Path] = [path]
    roots = [path] if path.is_dir() else [path.parent / d for d in _VARS_DIRS]
    for root in roots:
        if root.is_dir():
            files += sorted(p for p in root.rglob("*") if p.is_file())
    out = []
    for file in files:
        st = file.stat()
        out.append((str(file), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def _executable() -> str:
    """``ansible-inventory`` of the interpreter's own environment first: the toolkit may be started by
    absolute path, without its virtualenv's bin on PATH."""
    beside = Path(sys.executable).parent / "ansible-inventory"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ansible-inventory")
    if found is None:
        raise ConfigurationError("ansible-inventory is not installed (it comes with ansible-core)")
    return found


def _expand(groups: dict[str, _GroupEntry]) -> dict[str, tuple[str, ...]]:
    def hosts_of(name: str, seen: set[str]) -> Iterator[str]:
        if name in seen or name not in groups:
            return
        seen.add(name)
        yield from groups[name].hosts
        for child in groups[name].children:
            yield from hosts_of(child, seen)

    return {name: tuple(dict.fromkeys(hosts_of(name, set()))) for name in groups}


def _parse(path: Path) -> Inventory:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
           "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True", "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    try:
        done = subprocess.run([_executable(), "-i", str(path), "--list"], capture_output=True, text=True,
                              timeout=_TIMEOUT_S, env=env, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ConfigurationError(f"ansible-inventory took more than {_TIMEOUT_S} s on {path}") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[-500:]
        raise ConfigurationError(f"inventory {path} cannot be parsed: {detail}", inventory=str(path))
    try:
        data = json.loads(done.stdout)
        meta = data.pop("_meta", {}) or {}
        hostvars: dict[str, dict[str, Any]] = dict(meta.get("hostvars") or {})
        groups = {name: _GroupEntry.model_validate(entry or {}) for name, entry in data.items()}
        members = _expand(groups)
        names = dict.fromkeys(h for hosts in members.values() for h in hosts) | dict.fromkeys(hostvars)
        hosts = {name: InventoryHost(name=name, vars=dict(hostvars.get(name) or {})) for name in names}
    except (ValueError, ValidationError, AttributeError, TypeError) as exc:
        raise ConfigurationError(f"inventory {path}: unexpected ansible-inventory output ({exc})") from None
    return Inventory(source=path, hosts=hosts, groups=members)


def load(path: Path) -> Inventory:
    """The inventory at ``path``, parsed once per version; safe to call from any number of threads."""
    path = Path(path)
    if not path.exists():
        raise ConfigurationError(f"inventory {path} does not exist (settings: inventory, SPBE_INVENTORY)")
    key = path.resolve()
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        fingerprint = _fingerprint(key)
        cached = _cache.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        inventory = _parse(key)
        _cache[key] = (fingerprint, inventory.model_copy(update={"source": path}))
        return _cache[key][1]
