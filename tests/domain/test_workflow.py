"""The pure workflow over the real Pusat Data catalog entry: order, conditions, SLA, lateness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.workflow import StepStatus, evaluate, may_perform

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pusat_data():  # type: ignore[no-untyped-def]
    return load_catalog().get("pusat-data")


def _fields(**over: object) -> dict[str, object]:
    return {"produk": "hosting-aplikasi", "backup": False, "uat": True, **over}


def test_a_new_ticket_waits_for_the_completeness_check(pusat_data):
    state = evaluate(pusat_data, _fields(), {"pengajuan-permohonan": T0}, T0, T0)
    assert state.current.id == "pemeriksaan-kelengkapan"
    assert not state.current_is_automated
    assert state.state_of("pengajuan-permohonan").status == StepStatus.DONE


def test_backup_step_applies_only_when_asked_for(pusat_data):
    done = dict.fromkeys(("pengajuan-permohonan", "pemeriksaan-kelengkapan", "persetujuan-kepala-dinas",
                          "koordinasi-pengembangan-aplikasi", "instalasi-server", "instalasi-monitoring"), T0)
    without = evaluate(pusat_data, _fields(backup=False), done, T0, T0)
    assert without.state_of("konfigurasi-backup").status == StepStatus.SKIPPED
    assert without.current.id == "berita-acara-instalasi-server"
    with_backup = evaluate(pusat_data, _fields(backup=True), done, T0, T0)
    assert with_backup.current.id == "konfigurasi-backup" and with_backup.current_is_automated


def test_sla_variant_follows_uat(pusat_data):
    no_uat = evaluate(pusat_data, _fields(uat=False), {}, T0, T0 + timedelta(hours=5))
    assert no_uat.sla.variant_id == "tanpa-uat"
    assert no_uat.sla.deadline == T0 + timedelta(hours=4)
    assert no_uat.sla.breached
    assert no_uat.state_of("uji-fungsionalitas").status == StepStatus.SKIPPED
    uat = evaluate(pusat_data, _fields(uat=True), {}, T0, T0 + timedelta(hours=5))
    assert uat.sla.variant_id == "dengan-uat" and uat.sla.deadline == T0 + timedelta(days=7)
    assert not uat.sla.breached


def test_the_clock_stops_at_closing(pusat_data):
    closed = T0 + timedelta(hours=3)
    state = evaluate(pusat_data, _fields(uat=False), {}, T0, T0 + timedelta(days=30), closed_at=closed)
    assert not state.sla.breached and state.sla.remaining == timedelta(hours=1)


def test_a_step_done_out_of_order_does_not_skip_the_current_one(pusat_data):
    done = {"pengajuan-permohonan": T0, "instalasi-server": T0}
    state = evaluate(pusat_data, _fields(), done, T0, T0)
    assert state.current.id == "pemeriksaan-kelengkapan"
    assert state.state_of("instalasi-server").status == StepStatus.PENDING


def test_every_step_done_means_finished(pusat_data):
    done = {s.id: T0 for s in pusat_data.steps}
    assert evaluate(pusat_data, _fields(backup=True), done, T0, T0).finished


def test_only_the_steps_actor_may_perform_it(pusat_data):
    approval = pusat_data.step("persetujuan-kepala-dinas")
    assert may_perform(approval, frozenset({"kepala-dinas"}))
    assert not may_perform(approval, frozenset({"koordinator-layanan", "tim-pusat-data"}))


def test_time_spent_deferred_does_not_count_against_the_sla(pusat_data):
    from toolkit.domain.tickets.models import EventKind, TimelineEvent
    from toolkit.engine.progress import deferred_time

    def status(seq: int, hours: int, frm: str, to: str) -> TimelineEvent:
        return TimelineEvent(seq=seq, ticket_id="T", at=T0 + timedelta(hours=hours), kind=EventKind.STATUS,
                             actor="kadis", text="", data={"from": frm, "to": to})

    timeline = [status(1, 1, "open", "deferred"), status(2, 3, "deferred", "in_progress")]
    assert deferred_time(timeline, T0 + timedelta(hours=10)) == timedelta(hours=2)
    still = [status(1, 1, "open", "deferred")]
    assert deferred_time(still, T0 + timedelta(hours=10)) == timedelta(hours=9)
    state = evaluate(pusat_data, _fields(uat=False), {}, T0, T0 + timedelta(hours=5), paused=timedelta(hours=2))
    assert state.sla.deadline == T0 + timedelta(hours=6) and not state.sla.breached
