"""The embedded default of `toolkit.ports.state.StateStores`: every small engine store in one SQLite file,
``<state_dir>/state.db`` (`toolkit.sqlite_tx.STATE_DB`), which the vault shares too.

Why one file: the allocations, containment records, issued credentials, escalation claims and compliance
schedules are a few rows each (the compliance history and waivers: a row per run, per waiver), written in
short transactions; eleven files were eleven things to back up, to permit 0600 and to reason about. Each
store keeps its own table (names distinct across the file) and its own per-thread connections under the one
connection policy (`toolkit.sqlite_tx`), so every allocation is still one ``BEGIN IMMEDIATE`` transaction.
The stores are opened together, once, when the composition root first asks for them, so several worker
threads never race to open a second copy.
"""

from __future__ import annotations

from pathlib import Path

from integrations.state.allocations import HostPool, SegmentAllocator, TunnelSlots
from integrations.state.colocation import RackSpaceStore
from integrations.state.compliance_history import ComplianceHistoryStore
from integrations.state.containment import ContainmentStore
from integrations.state.document_numbers import DocumentNumberStore
from integrations.state.escalations import EscalationStore
from integrations.state.issued import IssuedStore
from integrations.state.schedules import ScheduleStore
from integrations.state.survey import SurveyStore
from integrations.state.waivers import WaiverStore
from toolkit.adapter_options import AdapterOptions
from toolkit.ports.state import StateStores
from toolkit.settings import Settings
from toolkit.sqlite_tx import STATE_DB, SqliteStore


class SqliteStateOptions(AdapterOptions):
    """``state.options`` of sqlite: none. The file is always ``state_dir/state.db``, because the vault
    (built by the composition root, not through this adapter) lives in it as well."""


class SqliteState:
    """`StateStores` in ``<state_dir>/state.db``; `close` closes the connections of every store."""

    Options = SqliteStateOptions

    def __init__(self, *, settings: Settings) -> None:
        self.path = Path(settings.state_dir) / STATE_DB
        self.hosts = HostPool(self.path)
        self.segments = SegmentAllocator(self.path)
        self.tunnels = TunnelSlots(self.path)
        self.containment = ContainmentStore(self.path)
        self.issued = IssuedStore(self.path)
        self.escalations = EscalationStore(self.path)
        self.schedules = ScheduleStore(self.path)
        self.compliance_history = ComplianceHistoryStore(self.path)
        self.waivers = WaiverStore(self.path)
        self.racks = RackSpaceStore(self.path)
        self.survey = SurveyStore(self.path)
        self.document_numbers = DocumentNumberStore(self.path)

    def _stores(self) -> tuple[SqliteStore, ...]:
        return (self.hosts, self.segments, self.tunnels, self.containment, self.issued, self.escalations,
                self.schedules, self.compliance_history, self.waivers, self.racks, self.survey, self.document_numbers)

    def close(self) -> None:
        for store in self._stores():
            store.close()


def _conforms(state: SqliteState) -> StateStores:
    """Never called: mypy --strict checks here that every SQLite store implements its port (the registry
    hands the root an object it cannot type-check)."""
    return state
