"""YAML documents read with libyaml's parser when PyYAML was built with it.

Why: PyYAML's pure-Python parser took a quarter of a second for the packaged catalog, and the
catalog is read by every `spbe` command, every worker start and most tests. ``CSafeLoader`` is the
same safe subset (no arbitrary objects), only parsed in C; the pure-Python ``SafeLoader`` stays the
fallback on a PyYAML built without libyaml. Errors are the same `yaml.YAMLError` subclasses, with
the line and column in ``problem_mark``.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, on libyaml when it is there."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
