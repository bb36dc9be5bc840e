"""No action, containment, SPLP, engine or compliance module opens a store of its own.

The composition root builds each store once (`App.state`, `App.vault`, `App.audit`, the queue and the
ticket store) and the use cases reach them through the services they are handed. A module that
constructs one by path again (``HostPool(state_dir / "allocations.db")``) splits the state over files
the documentation does not list, leaks a connection per job and cannot be replaced by a server database.
This walks the syntax of every module under those packages and fails on a call of a store class (any
`SqliteStore` subclass and the other SQLite-backed classes, also through a class method such as
``.at(...)`` or ``.from_settings(...)``), on ``sqlite3.connect`` or `toolkit.sqlite_tx.connect`, on an
import of a concrete store (``integrations``), and on asking the registry for a state backend, an API
gateway, an identity provider or a notifier, or making a template renderer: the root builds those once
too (`App.gateway`, `App.identity`, `App.notifier`, `App.renderer`).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import integrations
import toolkit
from toolkit.sqlite_tx import SqliteStore

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("toolkit/actions", "toolkit/containment", "toolkit/splp", "toolkit/engine", "toolkit/compliance")
# SQLite-backed classes that are not `SqliteStore` subclasses: they open their own connections.
# SecretVault: its SQLite table is `toolkit.vault.SqliteVaultTables` (or a server's, issue 19), built inside it.
OTHER_STORES = frozenset({"AuditLog", "SqliteState", "SqliteJobQueue", "EmbeddedTicketStore", "SecretVault"})
CONNECTS = frozenset({"connect"})  # sqlite3.connect, toolkit.sqlite_tx.connect
ROOT_BUILT = {"spbe.state_stores": "a state backend", "spbe.gateways": "an API gateway",
              "spbe.identity_providers": "an identity provider", "spbe.notifiers": "a notifier",
              "spbe.audit_logs": "an audit log"}
ROOT_BUILT_CLASSES = frozenset({"TemplateRenderer"})


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def store_classes() -> frozenset[str]:
    """Every class name that opens a SQLite file, found after importing the product."""
    for package in (toolkit, integrations):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.startswith("toolkit.cli"):
                importlib.import_module(module.name)
    return frozenset({cls.__name__ for cls in _subclasses(SqliteStore)} | OTHER_STORES)


def _called(node: ast.Call) -> tuple[str | None, str]:
    """(object, name) of a call: ``HostPool(...)`` -> (None, HostPool); ``IssuedStore.at(...)`` ->
    (IssuedStore, at); ``sqlite3.connect(...)`` -> (sqlite3, connect)."""
    func = node.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    return None, ""


def offences(source: str, where: str, stores: frozenset[str]) -> list[str]:
    tree = ast.parse(source)
    aliases = dict.fromkeys(stores | ROOT_BUILT_CLASSES, "")  # local name -> the class it stands for
    connects: set[str] = set()  # local names of a connect function
    modules = {"sqlite3", "sqlite_tx"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.startswith("integrations"):
                found.append(f"{where}:{node.lineno}: imports {module} (a concrete store): use the services")
            for name in node.names:
                local = name.asname or name.name
                if name.name in stores:
                    aliases[local] = name.name
                if name.name in CONNECTS and module in ("sqlite3", "toolkit.sqlite_tx"):
                    connects.add(local)
                if name.name == "sqlite_tx":
                    modules.add(local)
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.startswith("integrations"):
                    found.append(f"{where}:{node.lineno}: imports {name.name} (a concrete store): use the services")
                if name.name in ("sqlite3", "toolkit.sqlite_tx"):
                    modules.add(name.asname or name.name.rpartition(".")[2])
        elif isinstance(node, ast.Call):
            owner, name = _called(node)
            if owner is None and name in aliases:
                found.append(f"{where}:{node.lineno}: constructs {aliases[name] or name}")
            elif owner in aliases:
                found.append(f"{where}:{node.lineno}: constructs {aliases[owner] or owner} through .{name}()")
            elif (owner is None and name in connects) or (owner in modules and name in CONNECTS):
                found.append(f"{where}:{node.lineno}: opens a SQLite connection ({owner or ''}.{name})")
        elif isinstance(node, ast.Constant) and node.value in ROOT_BUILT:
            found.append(f"{where}:{node.lineno}: builds {ROOT_BUILT[node.value]} from the registry (the root does)")
    return found


def test_no_action_containment_splp_or_engine_module_opens_a_store() -> None:
    stores = store_classes()
    assert {"HostPool", "SegmentAllocator", "TunnelSlots", "ContainmentStore", "IssuedStore", "EscalationStore",
            "SecretVault"} <= stores, stores
    found = []
    for folder in CHECKED:
        for path in sorted((REPO / folder).rglob("*.py")):
            found += offences(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)), stores)
    assert found == []


def test_the_check_sees_each_way_of_opening_a_store() -> None:
    """The walk itself, on the forms the modules used before the stores were wired once."""
    stores = store_classes()
    source = '''
import sqlite3
from toolkit import sqlite_tx
from toolkit.sqlite_tx import connect as open_db
from integrations.state.allocations import HostPool as Pool
from toolkit.vault import SecretVault
from toolkit.registry import Registry
from toolkit.documents import TemplateRenderer

def run(settings, path):
    Pool(settings.state_dir / "allocations.db")
    SecretVault.from_settings(settings, audit=None)
    sqlite3.connect(path)
    sqlite_tx.connect(path)
    open_db(path)
    Registry("spbe.state_stores")
    Registry("spbe.gateways")
    TemplateRenderer(settings.templates_dir)
'''
    found = offences(source, "m.py", stores)
    assert sorted(line.split(": ", 1)[1] for line in found) == sorted([
        "imports integrations.state.allocations (a concrete store): use the services",
        "constructs HostPool",
        "constructs SecretVault through .from_settings()",
        "opens a SQLite connection (sqlite3.connect)",
        "opens a SQLite connection (sqlite_tx.connect)",
        "opens a SQLite connection (.open_db)",
        "builds a state backend from the registry (the root does)",
        "builds an API gateway from the registry (the root does)",
        "constructs TemplateRenderer",
    ]), found
