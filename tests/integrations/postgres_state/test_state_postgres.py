"""What the PostgreSQL state stores (`integrations.state.postgres`) guarantee beyond the contract suites
(tests/contracts/test_state_stores.py and test_compliance_stores.py run on them too):

- allocations are never shared between *processes* (the suites race threads): four processes claim hosts,
  segments and rack space at once;
- the database refuses a shared allocation or a second open containment even from a writer that skips the
  stores (the constraints of revision 0002_state);
- the survey store computes the same IKM as the SQLite one, to the last digit, and refuses a second answer;
- a database never migrated is a `ConfigurationError` naming ``spbe store migrate-schema``, and
  ``migrate_schema`` is what that command calls.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path

import psycopg
import pytest

from integrations.postgres.migrate import head_revision
from integrations.state.postgres import PostgresState
from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError, ConflictError
from toolkit.ports.state_records import RackSpace, SegmentAllocation
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings
from toolkit.survey.models import SurveyAnswer, SurveyScores

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOSTS = [f"pd-{i:02}" for i in range(6)]
PROCESSES, TICKETS_EACH = 4, 4


def _settings(state_dir: Path, kind: str = "postgres") -> Settings:
    return Settings(state_dir=state_dir, state={"kind": kind},
                    secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_STATE_DSN")})


@pytest.fixture
def app(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("SPBE_TEST_STATE_DSN", pg_dsn)  # children (spawn) inherit it
    built = App(_settings(tmp_path / "state"))
    assert isinstance(built.state, PostgresState)
    yield built
    built.close()


def _first_free_host(taken: frozenset[str]) -> str:
    free = [h for h in HOSTS if h not in taken]
    if not free:
        raise ConflictError("the pool is empty")
    return free[0]


def _segment_for(ticket: str) -> object:
    def choose(others: Sequence[SegmentAllocation]) -> SegmentAllocation:
        vlan = next(v for v in range(100, 200) if v not in {o.vlan_id for o in others})
        return SegmentAllocation(ticket_id=ticket, site="dinkes", vlan_id=vlan,
                                 subnet=f"10.20.{vlan - 100}.0/28", ports={}, users=5, allocated_at=NOW)
    return choose


def _rack_for(ticket: str) -> object:
    def choose(others: Sequence[RackSpace]) -> RackSpace:
        taken = {u for o in others for u in o.unit_range}
        start = next(s for s in range(1, 40) if not {s, s + 1} & taken)
        return RackSpace(ticket_id=ticket, rack="R1", unit_start=start, units=2, power_watt=300, allocated_at=NOW)
    return choose


def _claim_from_child(state_dir: str, me: int, go: object, out: object) -> None:
    app = App(_settings(Path(state_dir)))
    go.wait(60)  # type: ignore[attr-defined]
    got: list[tuple[str, str]] = []
    for n in range(TICKETS_EACH):
        ticket = f"T-{me}-{n}"
        try:
            got.append((ticket, app.state.hosts.claim(ticket, "instalasi", _first_free_host)))
        except ConflictError:
            pass
        app.state.segments.claim(ticket, _segment_for(ticket))  # type: ignore[arg-type]
        app.state.racks.claim(ticket, _rack_for(ticket))  # type: ignore[arg-type]
    out.put(got)  # type: ignore[attr-defined]
    app.close()


@pytest.mark.slow  # processes of their own (spawn), seconds each: the full suite runs it
def test_processes_claiming_at_once_never_share_a_host_a_vlan_or_a_rack_unit(app: App, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_claim_from_child, args=(str(tmp_path / "state"), me, go, out))
             for me in range(PROCESSES)]
    for proc in procs:
        proc.start()
    hosts = [pair for _ in procs for pair in out.get(timeout=120)]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert sorted(h for _, h in hosts) == HOSTS, "every host handed out, none twice"
    assert all(app.state.hosts.allocation(t, "instalasi") == h for t, h in hosts)
    segments = app.state.segments.all()
    assert len(segments) == PROCESSES * TICKETS_EACH
    assert len({s.vlan_id for s in segments}) == len(segments)
    units = [u for t in (s.ticket_id for s in segments) for u in app.state.racks.get(t).unit_range]  # type: ignore[union-attr]
    assert len(units) == len(set(units)) == 2 * PROCESSES * TICKETS_EACH


def test_the_database_itself_refuses_a_shared_allocation_or_a_second_open_containment(app: App, pg_dsn: str) -> None:
    app.state.hosts.claim("T-1", "s", lambda _: "pd-01")
    app.state.segments.claim("T-1", _segment_for("T-1"))  # type: ignore[arg-type]  # VLAN 100, 10.20.0.0/28
    app.state.tunnels.claim("T-1", "vpn", "gw-dc", IPv4Network("192.168.1.0/24"), lambda _: 0)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        refused = {
            "INSERT INTO host_allocations VALUES ('pd-01', 'T-2', 's', now())": psycopg.errors.UniqueViolation,
            "INSERT INTO segments VALUES ('T-2', 'bkd', 100, '10.99.0.0/28', '{}', 5, now())":
                psycopg.errors.UniqueViolation,
            "INSERT INTO segments VALUES ('T-2', 'bkd', 101, '10.20.0.8/29', '{}', 5, now())":
                psycopg.errors.ExclusionViolation,
            "INSERT INTO tunnel_slots VALUES ('T-2', 'vpn', 'gw-dc', 0, '192.168.2.0/24', now())":
                psycopg.errors.UniqueViolation,
        }
        for statement, error in refused.items():
            with pytest.raises(error):
                conn.execute(statement)
        conn.execute("INSERT INTO containment (ticket_id, kind, target, status, record) "
                     "VALUES ('T-1', 'isolate_host', 'pd-01', 'active', '{}')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO containment (ticket_id, kind, target, status, record) "
                         "VALUES ('T-2', 'isolate_host', 'pd-01', 'applying', '{}')")


def _answers(n: int) -> list[SurveyAnswer]:
    rng = random.Random(19)  # noqa: S311 - test data, not a secret
    return [SurveyAnswer(ticket_id=f"SPBE-2026-{i:05d}", service_id=("pusat-data", "email-dinas", "vps")[i % 3],
                         respondent=f"warga{i}", answered_at=NOW + timedelta(hours=i),
                         scores=SurveyScores.model_validate({f"u{k}": rng.randint(1, 4) for k in range(1, 10)}),
                         comment=None if i % 2 else "baik")
            for i in range(n)]


def test_the_survey_store_gives_the_sqlite_stores_ikm_to_the_last_digit(app: App, tmp_path: Path) -> None:
    sqlite = App(Settings(state_dir=tmp_path / "sqlite"))
    try:
        for answer in _answers(200):
            app.state.survey.record(answer)
            sqlite.state.survey.record(answer)
        start, end = NOW, NOW + timedelta(days=5)
        assert app.state.survey.ikm_by_service(start, end) == sqlite.state.survey.ikm_by_service(start, end)
        for service in ("vps", "tidak-ada"):
            assert app.state.survey.ikm_by_service(start, end, service) == \
                sqlite.state.survey.ikm_by_service(start, end, service)
        assert app.state.survey.ikm_overall(start, end) == sqlite.state.survey.ikm_overall(start, end)
        assert app.state.survey.ikm_overall(start - timedelta(days=1), start) is None, "[start, end): none before"
        first = _answers(1)[0]
        assert app.state.survey.get(first.ticket_id) == first
        with pytest.raises(ConflictError):
            app.state.survey.record(first.model_copy(update={"respondent": "orang-lain"}))
        assert app.state.survey.get(first.ticket_id) == first, "never an overwrite"
        with pytest.raises(ValueError, match="time zone"):
            app.state.survey.ikm_overall(datetime(2026, 3, 1), end)  # noqa: DTZ001 - the refusal tested
    finally:
        sqlite.close()


def test_a_database_never_migrated_names_the_command_and_migrate_schema_makes_it(
        postgres_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    name = f"bare_{id(tmp_path) % 100000}"
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        monkeypatch.setenv("SPBE_TEST_STATE_DSN", postgres_cluster.dsn(name))
        app = App(_settings(tmp_path / "state"))
        with pytest.raises(ConfigurationError, match="spbe store migrate-schema"):
            app.state.hosts.allocation("T-1", "s")
        assert app.state.migrate_schema() == head_revision()  # type: ignore[attr-defined]
        assert app.state.hosts.claim("T-1", "s", lambda _: "pd-01") == "pd-01"
        app.close()
    finally:
        postgres_cluster.drop_database(name)
