"""One generated year, stored once per session through the stores' own schemas, and its records kept for the
independent computation (`tests.evaluation.expected`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from integrations.state.sqlite import SqliteState
from integrations.tickets.embedded import EmbeddedTicketStore
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Catalog
from toolkit.evaluation.generator import GenTicket, YearInputs, generate, write, year_end, year_inputs
from toolkit.evaluation.queries import SqliteEvaluationStore
from toolkit.settings import Settings
from toolkit.sqlite_tx import STATE_DB, connect
from toolkit.survey.ikm import ikm_by_service
from toolkit.worktime.calendars import Calendars, calendars_for

YEAR, TICKETS, SEED = 2026, 1500, 18
# The seeds' five SOP services, as the generator picks them from the catalog.
SOP_SERVICES = ("insiden-siber", "jaringan-intra", "pusat-data", "keamanan-informasi", "splp")


@dataclass(frozen=True)
class History:
    state_dir: Path
    tickets: list[GenTicket]
    catalog: Catalog
    calendars: Calendars
    store: SqliteEvaluationStore
    inputs: YearInputs


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    state_dir = tmp_path_factory.mktemp("evaluation") / "state"
    settings = Settings(state_dir=state_dir)
    EmbeddedTicketStore(settings=settings).close()  # the stores create their own tables
    SqliteState(settings=settings).close()
    catalog = load_catalog()
    calendars = calendars_for(settings.worktime)
    inputs = year_inputs(catalog)
    assert sorted(s.id for s in inputs.services) == sorted(SOP_SERVICES)
    tickets = list(generate(inputs.services, calendars, year=YEAR, tickets=TICKETS, seed=SEED, now=year_end(YEAR),
                            complaints=inputs.complaints, applicant_roles=inputs.applicant_roles))
    write(tickets, state_dir / "tickets.db", state_dir / STATE_DB, connect)
    store = SqliteEvaluationStore(state_dir / "tickets.db", state_dir / STATE_DB,
                                  ikm=lambda conn, start, end: ikm_by_service(conn, start, end))
    return History(state_dir=state_dir, tickets=tickets, catalog=catalog, calendars=calendars, store=store,
                   inputs=inputs)
