"""The survey over the real front door: ``POST/GET /api/v1/tickets/{id}/survey`` and ``GET /api/v1/survey/ikm``.
The applicant answers once for a closed ticket with their own token; staff, other applicants, a ticket not
closed, a confidential reporter's ticket, bad scores (0, 5, "x", true, 2.5) and unknown keys are refused with
the error kinds the CLI maps to the same exit codes; a crafted comment is stored and returned as typed. The
remote CLI (`spbe login`, then `spbe survey answer`) goes through the same route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_survey import closed_ticket
from tests.engine.helpers import approved_ticket
from tests.support.cli import Spbe
from tests.web.conftest import Front
from toolkit.engine.server import run_ticket

GOOD: dict[str, Any] = {f"u{n}": 3 for n in range(1, 10)}


def test_the_applicant_answers_once_and_reads_it_back(front: Front) -> None:
    ticket_id = closed_ticket(front.app)
    with front.client("andi") as c:
        assert c.get(f"/tickets/{ticket_id}/survey").status_code == 404
        crafted = "<script>alert(1)</script> $(reboot); ../../etc/passwd"
        done = c.post(f"/tickets/{ticket_id}/survey", json={**GOOD, "u4": "4", "comment": crafted})
        assert done.status_code == 201, done.text
        assert done.json()["scores"]["u4"] == 4 and done.json()["comment"] == crafted
        assert c.get(f"/tickets/{ticket_id}/survey").json()["comment"] == crafted
        again = c.post(f"/tickets/{ticket_id}/survey", json=GOOD)
        assert again.status_code == 409 and again.json()["error"] == "conflict", again.text
        ikm = c.get("/survey/ikm", params={"service": "uji-mesin"}).json()
    [row] = ikm["services"]
    assert row["service_id"] == "uji-mesin" and row["respondents"] >= 1 and ikm["overall"] is None
    assert front.audit("survey.answer")[-1].actor == "andi"


@pytest.mark.parametrize("who", ["sari", "kadis", "budi"])
def test_nobody_else_answers(front: Front, who: str) -> None:
    ticket_id = closed_ticket(front.app)
    with front.client(who) as c:
        refused = c.post(f"/tickets/{ticket_id}/survey", json=GOOD)
        assert refused.status_code in (403, 404), refused.text  # staff: denied; another applicant: not shown
        assert c.get(f"/tickets/{ticket_id}/survey").status_code in (403, 404)
    assert front.app.state.survey.get(ticket_id) is None


def test_a_ticket_not_closed_is_refused(front: Front) -> None:
    ticket_id = approved_ticket(front.app)
    with front.client("andi") as c:
        refused = c.post(f"/tickets/{ticket_id}/survey", json=GOOD)
    assert refused.status_code == 409 and "not closed" in refused.json()["message"], refused.text


def test_a_confidential_reporters_ticket_has_no_survey(front: Front) -> None:
    opened = front.open_ticket("andi")  # uji-web: its reporter is confidential
    with front.client("andi") as c:
        cancelled = c.post(f"/tickets/{opened['id']}/cancel", json={"reason": "Uji pembatalan permohonan."})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "closed", cancelled.text
        refused = c.post(f"/tickets/{opened['id']}/survey", json=GOOD)
    assert refused.status_code == 409 and "confidential" in refused.json()["message"], refused.text
    run_ticket(front.app, opened["id"])  # the engine's advance of the closed ticket: no offer for it
    assert not [e for e in front.app.tickets.timeline(opened["id"]) if "survey_offer" in e.data]


@pytest.mark.parametrize("body", [
    {**GOOD, "u1": 0}, {**GOOD, "u2": 5}, {**GOOD, "u3": "x"}, {**GOOD, "u4": True}, {**GOOD, "u5": 2.5},
    {**GOOD, "u6": "3.0"}, {**GOOD, "u7": None}, {k: v for k, v in GOOD.items() if k != "u9"},
    {**GOOD, "u10": 3}, {**GOOD, "comment": "x" * 2001}, {**GOOD, "comment": "{{ 7*7 }}"},
    {**GOOD, "comment": "baris\u0000nol"}, {**GOOD, "u1": "1" * 100},
])
def test_bad_bodies_are_refused_as_invalid_input(front: Front, body: dict[str, Any]) -> None:
    ticket_id = closed_ticket(front.app)
    with front.client("andi") as c:
        refused = c.post(f"/tickets/{ticket_id}/survey", json=body)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_input", refused.text
    assert front.app.state.survey.get(ticket_id) is None


def test_ikm_period_input(front: Front) -> None:
    with front.client("budi") as c:
        assert c.get("/survey/ikm", params={"from": "2026-02-30"}).status_code == 400
        assert c.get("/survey/ikm", params={"from": "2026-03-01", "to": "2026-02-01"}).status_code == 400
        assert c.get("/survey/ikm", params={"service": "../etc"}).status_code == 400
        empty = c.get("/survey/ikm", params={"from": "2001-01-01", "to": "2001-12-31"}).json()
        assert empty["services"] == [] and empty["overall"] is None
    with front.client() as anonymous:
        assert anonymous.get("/survey/ikm").status_code == 401


def test_the_remote_cli_answers_through_the_api(front: Front, tmp_path: Path) -> None:
    ticket_id = closed_ticket(front.app)
    remote = Spbe(env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert remote("login", "--server", front.url, input=front.token("andi") + "\n").exit_code == 0
    scores = [a for n in range(1, 10) for a in (f"--u{n}", "4")]
    assert remote("survey", "answer", ticket_id, *scores, "--as", "andi").exit_code == 4  # the token is the identity
    done = remote.json("survey", "answer", ticket_id, *scores, "--comment", "Baik sekali.")
    assert done["respondent"] == "andi" and done["comment"] == "Baik sekali."
    assert remote("survey", "answer", ticket_id, *scores).exit_code == 5
    assert front.app.state.survey.get(ticket_id) is not None
