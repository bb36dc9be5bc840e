"""Where spbe's shipped data is: the top-level ``templates/``, ``playbooks/`` and ``inventory/`` folders.

The folders stay at the top of the repository (the layout the design keeps), and a wheel carries them
inside this package: ``setup.py`` maps ``spbe_data.templates`` to ``templates/`` and so on, and
``[tool.setuptools.package-data]`` takes every file below them. So the same call answers in every kind
of install: a wheel (``site-packages/spbe_data/templates``), an editable install or a source checkout
(``<repo>/templates``, next to this package). The settings use these paths as their defaults; a
deployment overrides any of them in its configuration.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

Folder = Literal["templates", "playbooks", "inventory"]
FOLDERS: tuple[Folder, ...] = ("templates", "playbooks", "inventory")


def folder(name: Folder) -> Path:
    """The shipped folder ``name``; FileNotFoundError names both places looked at when neither has it."""
    package = Path(str(files(__name__)))  # a regular package on disk: ansible and jinja need real paths
    for candidate in (package / name, package.parent / name):  # a wheel's copy, then the checkout's folder
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"spbe data folder {name!r} is neither in {package} nor in {package.parent}")


def data_path(name: Folder, *parts: str) -> Path:
    """A path inside a shipped folder, e.g. ``data_path("inventory", "roles.yml")``."""
    return folder(name).joinpath(*parts)
