"""An import-linter contract type: no import cycle between modules.

import-linter's own ``acyclic_siblings`` works on packages: two packages that use each other's modules in
a chain that never loops back to the same module count as a cycle there. What we forbid is the cycle that
breaks things: module A imports B imports ... imports A, which only works while some import stays lazy and
turns every refactor of import order into an ``ImportError``. Lazy (function-level) imports count, as they
do everywhere in import-linter, so a cycle cannot hide inside a function body.

Declared in pyproject.toml under ``[tool.importlinter] contract_types``; ``lint-imports`` runs from the
repository root, which it puts on ``sys.path``.
"""

from __future__ import annotations

import itertools
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain.helpers import module_expressions_to_modules


def _strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is deep enough to matter for recursion); components of more
    than one module, each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


class AcyclicModulesContract(Contract):
    """No module inside ``containers`` reaches itself again through imports.

    Options: ``containers`` (module expressions: the packages whose modules are checked, together, so a
    cycle through two packages is found too), ``ignore_imports`` and ``unmatched_ignore_imports_alerting``
    as in import-linter's own contracts.
    """

    type_name = "acyclic_modules"

    containers = fields.SetField(subfield=fields.ModuleExpressionField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph, ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting)  # type: ignore[arg-type]
        roots = [m.name for m in module_expressions_to_modules(graph, self.containers)]  # type: ignore[arg-type]
        nodes = {m for m in graph.modules if any(m == r or m.startswith(r + ".") for r in roots)}
        edges = {m: set(graph.find_modules_directly_imported_by(m)) & nodes for m in nodes}
        cycles: list[dict[str, Any]] = []
        for component in _strongly_connected(nodes, edges):
            first = component[0]
            successor = min(edges[first] & set(component))
            back = graph.find_shortest_chain(importer=successor, imported=first) or (successor, first)
            loop = [first, *back]
            lines = [[graph.get_import_details(importer=a, imported=b)[0]["line_number"]
                      if graph.get_import_details(importer=a, imported=b) else "?"
                      for a, b in itertools.pairwise(loop)]]
            cycles.append({"modules": component, "loop": loop, "lines": lines[0]})
        return ContractCheck(kept=not cycles, warnings=list(removal.warnings),
                             ignored_import_count=removal.ignored_import_count, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print(f"{len(cycle['modules'])} modules import each other in a circle, e.g.:")
            for importer, imported, line in zip(cycle["loop"], cycle["loop"][1:], cycle["lines"], strict=False):
                output.print(f"-   {importer} -> {imported} (l.{line})")
            output.new_line()
