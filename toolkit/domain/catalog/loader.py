"""Load the service catalog from YAML, one file per service named ``<service-id>.yaml``.

The catalog is edited by people reading SOPs, not by programmers, so a mistake must be reported
as the file and the key path to fix (``pusat-data.yaml: steps.4.kind: Input should be ...``),
never as a pydantic traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toolkit.domain import yaml_doc
from toolkit.domain.catalog.models import Catalog, Service
from toolkit.domain.catalog.roles import DEFAULT_ROLES_FILE, RoleBook
from toolkit.errors import ConfigurationError

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "services"

# Our validators raise ``ValueError("<relative.key.path>: <problem>")`` for problems that only show
# across keys; this splits the key path off so it can be joined to pydantic's location.
_RELATIVE_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): (.*)$", re.DOTALL)


_CACHE_SIZE = 16
_cache: dict[tuple[Any, ...], Catalog] = {}


def _fingerprint(paths: list[Path]) -> tuple[Any, ...]:
    """What must be unchanged for a parsed catalog to stand: each file's name, size, mtime and inode."""
    stats = [(str(p), p.stat()) for p in paths if p.is_file()]
    return tuple((name, st.st_size, st.st_mtime_ns, st.st_ino) for name, st in stats)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Every ``*.yaml`` in ``directory`` (default: the packaged services), in file-name order.

    The result is immutable, so a process that asks again for an unchanged directory (each command, worker
    and app of a process builds its catalog) gets the catalog already read; any file changed, added or
    removed (size, mtime or inode) is read afresh."""
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    if not directory.is_dir():
        raise ConfigurationError(f"catalog directory {directory} does not exist", directory=str(directory))
    files = sorted(p for p in directory.glob("*.yaml") if p.name != "roles.yaml")
    if not files:
        raise ConfigurationError(f"catalog directory {directory} has no *.yaml service files",
                                 directory=str(directory))
    key = (str(directory.resolve()), _fingerprint([*files, directory / "roles.yaml", DEFAULT_ROLES_FILE]))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    catalog = _load(directory, files)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[key] = catalog
    return catalog


def _load(directory: Path, files: list[Path]) -> Catalog:
    roles = roles_of(directory)
    services = tuple(load_service(path) for path in files if path.name != "roles.yaml")
    try:
        return Catalog(entries=services, roles=roles)
    except ValidationError as exc:
        raise ConfigurationError("; ".join(_describe(e) for e in exc.errors(include_url=False)),
                                 directory=str(directory)) from None


@lru_cache(maxsize=1)
def packaged_roles() -> RoleBook:
    """The packaged role book (immutable data, read once), for modules that name roles by trait."""
    return load_roles(DEFAULT_ROLES_FILE)


def roles_of(directory: Path | None) -> RoleBook:
    """The role book a catalog directory uses: its own ``roles.yaml``, else the packaged one."""
    own = Path(directory) / "roles.yaml" if directory is not None else None
    return load_roles(own if own is not None and own.is_file() else DEFAULT_ROLES_FILE)


def load_roles(path: Path) -> RoleBook:
    """The roles of the SOPs: ``roles.yaml`` in the catalog directory, else the packaged one."""
    try:
        return RoleBook.model_validate(_read_yaml(path))
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors(include_url=False)]
        raise ConfigurationError("; ".join(f"{path.name}: {p}" for p in problems), file=str(path)) from None


def load_service(path: Path) -> Service:
    data = _read_yaml(path)
    try:
        service = Service.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors(include_url=False)]
        raise ConfigurationError(
            "; ".join(f"{path.name}: {problem}" for problem in problems),
            file=str(path),
            errors=problems,
        ) from None
    if service.id != path.stem:
        raise ConfigurationError(
            f"{path.name}: id: '{service.id}' does not match the file name; name the file {service.id}.yaml",
            file=str(path),
        )
    return service


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml_doc.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigurationError(f"{path.name}: not valid YAML{where}: {problem}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path.name}: cannot be read: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path.name}: expected a mapping of service keys at the top level, got {type(data).__name__}",
            file=str(path),
        )
    return data


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"])
    if error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
        relative = _RELATIVE_KEY.match(message)
        if relative:
            location = ".".join(filter(None, (location, relative.group(1))))
            message = relative.group(2)
    return f"{location}: {message}" if location else message
