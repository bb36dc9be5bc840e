"""The containment policy as pure functions: incident verification from the timeline, the lock-out check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from toolkit.containment import policy
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import IncidentSpec
from toolkit.domain.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from toolkit.errors import ConflictError, InvalidInputError

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _ticket(service: str, **fields: object) -> Ticket:
    return Ticket(id="T-1", service_id=service, title="x", requester="lina", fields=dict(fields),
                  status=TicketStatus.IN_PROGRESS, sla_variant="v", created_at=NOW, updated_at=NOW)


def _event(seq: int, kind: EventKind, step: str | None = None, **data: object) -> TimelineEvent:
    return TimelineEvent(seq=seq, ticket_id="T-1", at=NOW, kind=kind, actor="sari", text="", step_id=step,
                         data=dict(data))


CATALOG = load_catalog(None)
GORONTALO, SURAKARTA, PUSAT_DATA = (CATALOG.get(s) for s in ("insiden-siber", "keamanan-informasi", "pusat-data"))


def test_gorontalo_is_verified_by_the_coordinators_approval() -> None:
    ticket = _ticket("insiden-siber")
    assert not policy.incident_verification(GORONTALO, ticket, [_event(1, EventKind.OPENED)]).verified
    result = policy.incident_verification(GORONTALO, ticket, [_event(2, EventKind.APPROVED, "verifikasi-awal")])
    assert result.verified and result.by == "sari"


def test_surakarta_needs_a_security_incident() -> None:
    done = [_event(3, EventKind.STEP_COMPLETED, "penentuan-jenis-insiden")]
    security = _ticket("keamanan-informasi", jenis_insiden="keamanan")
    assert policy.incident_verification(SURAKARTA, security, done).verified
    assert not policy.incident_verification(SURAKARTA, _ticket("keamanan-informasi", jenis_insiden="umum"),
                                            done).verified


def test_explicit_flag_and_catalog_marker() -> None:
    flagged = [_event(4, EventKind.COMMENT, incident_verified=True)]
    assert policy.incident_verification(PUSAT_DATA, _ticket("pusat-data"), flagged).verified
    marked = PUSAT_DATA.model_copy(update={"incident": IncidentSpec(verification_step="pemeriksaan-kelengkapan")})
    done = [_event(5, EventKind.STEP_COMPLETED, "pemeriksaan-kelengkapan")]
    assert policy.incident_verification(marked, _ticket("pusat-data"), done).verified
    assert not policy.incident_verification(PUSAT_DATA, _ticket("pusat-data"), done).verified
    assert not policy.incident_verification(PUSAT_DATA, _ticket("pusat-data"), []).verified


def test_closed_ticket_is_refused() -> None:
    closed = _ticket("insiden-siber").model_copy(update={"status": TicketStatus.CLOSED})
    with pytest.raises(ConflictError, match="closed"):
        policy.require_verified(GORONTALO, closed, [_event(2, EventKind.APPROVED, "verifikasi-awal")])


@pytest.mark.parametrize(("cidrs", "needle"), [
    ((), "empty"), (("0.0.0.0/0",), "nothing"), (("::/0",), "nothing"),
    (("10.1.0.0/16",), "leave out"), (("10.0.0.1/24",), "host bits"), (("not-an-address",), "does not appear"),
])
def test_management_lists_that_lock_out_are_refused(cidrs: tuple[str, ...], needle: str) -> None:
    with pytest.raises(InvalidInputError, match=needle):
        policy.check_management(cidrs, "10.213.5.1")


def test_management_list_with_the_control_node_is_canonical() -> None:
    assert policy.check_management(["10.213.5.0/30", "fd00::/64"], "10.213.5.1") == ("10.213.5.0/30", "fd00::/64")


def test_surakarta_branch_decided_on_the_timeline_counts() -> None:
    """`spbe ticket decide` records jenis_insiden on the timeline; a later 'umum' decision wins over the field."""
    ticket = _ticket("keamanan-informasi", jenis_insiden="keamanan")
    events = [_event(3, EventKind.STEP_COMPLETED, "penentuan-jenis-insiden", decisions={"jenis_insiden": "umum"})]
    assert not policy.incident_verification(SURAKARTA, ticket, events).verified
    events = [_event(3, EventKind.STEP_COMPLETED, "penentuan-jenis-insiden", decisions={"jenis_insiden": "keamanan"})]
    assert policy.incident_verification(SURAKARTA, _ticket("keamanan-informasi", jenis_insiden="umum"),
                                        events).verified
