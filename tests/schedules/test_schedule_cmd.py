"""`spbe compliance schedule list|add|pause|resume` through the real CLI: a role with the
manages-compliance-schedules trait adds, pauses and resumes; anyone else is refused (exit 4) and the
refusal is audited with how they were authenticated; a bad cron expression or time zone is exit 2 and
stores nothing; the table shows times in the schedule's zone, ``--json`` UTC instants."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.schedules import add_schedule
from toolkit.domain.catalog.loader import packaged_roles
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.errors import PermissionDeniedError
from toolkit.settings import load_settings

MANAGER = "eko"  # the roles file's tim-keamanan-spbe: the role with the manages-compliance-schedules trait
OTHER = "sari"  # the koordinator: runs the desk, does not set the hardening baseline
ADD = ("compliance", "schedule", "add")


def opened(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def add(spbe: Spbe, schedule_id: str = "harian-gorontalo", cron: str = "0 2 * * *", tz: str = "Asia/Makassar",
        actor: str = MANAGER, *extra: str):  # type: ignore[no-untyped-def]
    return spbe(*ADD, schedule_id, "--profile", "server-dasar", "--target", "pd-01", "--target", "group:dc",
                "--cron", cron, "--tz", tz, "--as", actor, *extra)


def test_the_manager_of_these_tests_holds_the_trait(state_dir: Path) -> None:
    roles = packaged_roles().with_trait(RoleTrait.MANAGES_COMPLIANCE_SCHEDULES)
    app = opened(state_dir)
    assert app.directory.person(MANAGER).roles & roles
    assert not app.directory.person(OTHER).roles & roles


def test_add_list_pause_resume(spbe: Spbe, state_dir: Path) -> None:
    added = add(spbe, "harian-gorontalo", "0 2 * * *", "Asia/Makassar", MANAGER, "--json")
    assert added.exit_code == 0, added.output
    add(spbe, "mingguan-surakarta", "30 23 * * 0", "Asia/Jakarta")
    listed = spbe.json("compliance", "schedule", "list")
    assert [(s["id"], s["timezone"], s["paused"], s["created_by"]) for s in listed] == [
        ("harian-gorontalo", "Asia/Makassar", False, MANAGER), ("mingguan-surakarta", "Asia/Jakarta", False, MANAGER)]
    assert listed[0]["targets"] == ["pd-01", "group:dc"] and listed[0]["next_due"].endswith("T18:00:00+00:00")
    table = spbe("compliance", "schedule", "list", env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "WITA" in table.stdout and "WIB" in table.stdout, table.stdout

    paused = spbe.json("compliance", "schedule", "pause", "harian-gorontalo", "--as", MANAGER)
    assert paused[0]["paused"] is True and paused[0]["next_due"] is None
    again = spbe("compliance", "schedule", "pause", "harian-gorontalo", "--as", MANAGER)
    assert again.exit_code == 0 and "Already paused" in again.stdout
    resumed = spbe.json("compliance", "schedule", "resume", "harian-gorontalo", "--as", MANAGER)
    assert resumed[0]["paused"] is False
    actions = [(e.action, e.actor, e.data["auth"]) for e in opened(state_dir).audit.entries()
               if e.action.startswith("schedule.")]
    assert actions == [("schedule.add", MANAGER, "lab-as"), ("schedule.add", MANAGER, "lab-as"),
                       ("schedule.pause", MANAGER, "lab-as"), ("schedule.pause", MANAGER, "lab-as"),
                       ("schedule.resume", MANAGER, "lab-as")]


@pytest.mark.parametrize(("cron", "tz", "says"), [
    ("61 2 * * *", "Asia/Makassar", "not a valid cron expression"),
    ("0 2 * *", "Asia/Makassar", "five fields"),
    ("0 2 * * *", "WITA", "unknown time zone"),
    ("0 2 * * *", "../../etc/localtime", "not an IANA time zone name"),
])
def test_a_bad_cron_expression_or_zone_is_exit_2_and_stores_nothing(spbe: Spbe, state_dir: Path, cron: str, tz: str,
                                                                    says: str) -> None:
    refused = add(spbe, "harian-gorontalo", cron, tz)
    assert refused.exit_code == 2, refused.output
    assert says in refused.output
    app = opened(state_dir)
    assert app.state.schedules.list() == []
    assert not [e for e in app.audit.entries() if e.action.startswith("schedule.")]


def test_someone_without_the_trait_is_refused_and_the_refusal_audited(spbe: Spbe, state_dir: Path) -> None:
    refused = add(spbe, actor=OTHER)
    assert refused.exit_code == 4, refused.output
    assert opened(state_dir).state.schedules.list() == []
    assert add(spbe).exit_code == 0
    for verb in ("pause", "resume"):
        result = spbe("compliance", "schedule", verb, "harian-gorontalo", "--as", OTHER)
        assert result.exit_code == 4, result.output
    app = opened(state_dir)
    assert app.state.schedules.get("harian-gorontalo").paused is False
    refusals = [(e.action, e.actor, e.data["auth"]) for e in app.audit.entries() if e.action.endswith(".refused")]
    assert refusals == [("schedule.add.refused", OTHER, "lab-as"), ("schedule.pause.refused", OTHER, "lab-as"),
                        ("schedule.resume.refused", OTHER, "lab-as")]


def test_a_second_schedule_of_the_same_id_is_a_conflict_and_an_unknown_one_not_found(spbe: Spbe) -> None:
    assert add(spbe).exit_code == 0
    assert add(spbe).exit_code == 5
    assert spbe("compliance", "schedule", "pause", "tidak-ada", "--as", MANAGER).exit_code == 3



def test_a_person_unknown_to_the_directory_is_refused(spbe: Spbe, state_dir: Path) -> None:
    """The CLI finds no such person (exit 3) before any command; a caller that hands the command layer an
    unknown principal anyway gets a refusal, audited."""
    assert add(spbe, actor="nobody").exit_code == 3
    app = opened(state_dir)
    with pytest.raises(PermissionDeniedError, match="nobody"):
        add_schedule(app, as_lab("nobody"), schedule_id="harian-gorontalo", profile="server-dasar",
                     targets=["pd-01"], cron="0 2 * * *", timezone="Asia/Makassar")
    assert app.state.schedules.list() == []
    assert [(e.action, e.actor) for e in app.audit.entries() if e.action.startswith("schedule.")] == [
        ("schedule.add.refused", "nobody")]
