"""The product never imports the lab: not ``toolkit/``, not ``integrations/``, not even lazily.

The lab (``lab/``) is for the demo, the tests and the benchmarks; it plugs into the product only through
entry points and the settings file it writes. Read with ``ast`` so every import counts, wherever it is
(a function body, a ``TYPE_CHECKING`` block, a try), and so do ``importlib.import_module("lab...")`` and
``__import__("lab...")`` with a literal name. Relative imports cannot reach ``lab`` (it is a top-level
package), so only absolute ones are looked at.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("toolkit", "integrations", "spbe_data")


def _is_lab(name: str | None) -> bool:
    return name is not None and (name == "lab" or name.startswith("lab."))


def lab_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) of every import of the lab in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _is_lab(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_lab(node.module):
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            target = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(target, str) and _is_lab(target):
                found.append((node.lineno, f"{name}({target!r})"))
    return found


def test_the_check_sees_every_kind_of_import() -> None:
    """The guard itself: a lazy import inside a function is as much an import as one at the top."""
    source = '''
import lab
import lab.manager as m
from lab.models import LabState
from laboratory import x          # another name: fine
from .lab import y                # relative: a sibling module, not the lab
def f():
    from lab import netns
    import importlib
    importlib.import_module("lab.segment_prober")
    __import__("lab")
    return "lab.cli:lab_group"    # a string is not an import
'''
    assert [line for line, _ in lab_imports(source)] == [2, 3, 4, 8, 10, 11]


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_never_imports_the_lab(package: str) -> None:
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no sources under {package}/"
    offending = [f"{path.relative_to(REPO)}:{line}: {what}" for path in files
                 for line, what in lab_imports(path.read_text(encoding="utf-8"), str(path))]
    assert offending == [], "the product imports the lab:\n" + "\n".join(offending)
