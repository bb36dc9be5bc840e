"""The catalog declares services, steps and roles; the core never names one.

A service id, step id or role id written into the code is a rule the catalog cannot change (the next
province's SOP names its coordinator differently, or adds a verification step) and it drifts from the
YAML silently. This walks every string constant of the product code (docstrings and the keys of dict
literals, which are template vocabulary, excepted) and fails on any that is a catalog id.
"""

from __future__ import annotations

import ast
from pathlib import Path

from toolkit.domain.catalog.loader import load_catalog

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("toolkit", "integrations")
LAB = REPO / "toolkit" / "lab"  # the lab's own fixtures name services by id; it is not the product


def _catalog_ids() -> dict[str, str]:
    catalog = load_catalog(None)
    ids = dict.fromkeys(catalog.roles.ids(), "role")
    for service in catalog.services():
        ids[service.id] = "service"
        ids.update({step.id: f"step of {service.id}" for step in service.steps})
    return ids


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _dict_keys(tree: ast.AST) -> set[int]:
    return {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys if key is not None}


def literals(ids: dict[str, str], roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if LAB in path.parents:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _docstrings(tree) | _dict_keys(tree)
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                        and node.value in ids):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: '{node.value}' ({ids[node.value]})")
    return found


# Portal form ids are template vocabulary (as dict keys are): the close form's id, 'tutup', is also the step id of
# pengaduan's closing step, and names no step in the code.
VOCABULARY = {"toolkit/web/portal/routes_steps.py:59: 'tutup' (step of pengaduan)"}


def test_no_service_step_or_role_id_is_written_in_the_product_code() -> None:
    found = literals(_catalog_ids(), [REPO / package for package in PRODUCT])
    assert [f for f in found if f not in VOCABULARY] == []


def test_the_walk_reports_a_planted_literal(tmp_path: Path) -> None:
    """The check itself must be able to fail."""
    package = tmp_path / "planted"
    package.mkdir()
    (package / "rule.py").write_text('"""Docstring naming csirt is fine."""\nROLE = "koordinator-layanan"\n'
                                     'CONTEXT = {"pemohon": 1}\nSTEP = "persetujuan-kepala-dinas"\n')
    assert literals(_catalog_ids(), [package]) == [
        "planted/rule.py:2: 'koordinator-layanan' (role)",
        "planted/rule.py:4: 'persetujuan-kepala-dinas' (step of pusat-data)",
    ]
