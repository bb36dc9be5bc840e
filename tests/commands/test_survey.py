"""The survey commands on a real state directory (issue 18 item 2): offered on closing, answered once by the
applicant of a closed ticket, every score 1..4, the comment bounded and stored as typed; every refusal a
distinct error and an audit entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.helpers import approved_ticket
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.survey import answer_survey, ikm_report, survey_of, survey_scores
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import EventKind, TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.engine.survey_offer import OFFER
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.settings import load_settings
from toolkit.survey.ikm import ELEMENTS

GOOD = {f"u{n}": 3 for n in range(1, 10)}


def closed_ticket(app: App) -> str:
    ticket_id = approved_ticket(app)
    run_ticket(app, ticket_id)
    desk.close(app, ticket_id, as_lab("sari"), "Selesai.")
    run_ticket(app, ticket_id)
    assert app.tickets.get(ticket_id).status == TicketStatus.CLOSED
    return ticket_id


def _audited(app: App, action: str) -> list[dict[str, object]]:
    return [dict(e.data) | {"actor": e.actor} for e in app.audit.entries() if e.action == action]


def test_closing_offers_the_survey_once_in_bahasa_indonesia(engine_app: App) -> None:
    ticket_id = closed_ticket(engine_app)
    run_ticket(engine_app, ticket_id)  # a second advance of the closed ticket offers nothing more
    offers = [e for e in engine_app.tickets.timeline(ticket_id) if OFFER in e.data]
    assert len(offers) == 1
    offer = offers[0]
    assert (offer.kind, offer.actor) == (EventKind.NOTIFICATION, ENGINE_USER)
    assert "Survei Kepuasan Masyarakat" in offer.text
    assert f"spbe survey answer {ticket_id} --u1 N" in offer.text
    for name in ELEMENTS.values():
        assert name in offer.text


def test_an_open_ticket_is_not_offered_and_cannot_be_answered(engine_app: App) -> None:
    ticket_id = approved_ticket(engine_app)
    run_ticket(engine_app, ticket_id)
    assert not [e for e in engine_app.tickets.timeline(ticket_id) if OFFER in e.data]
    with pytest.raises(ConflictError, match="not closed"):
        answer_survey(engine_app, as_lab("andi"), ticket_id, survey_scores(GOOD))
    assert engine_app.state.survey.get(ticket_id) is None
    assert _audited(engine_app, "survey.answer.refused")[0]["actor"] == "andi"


def test_the_applicant_answers_once(engine_app: App) -> None:
    ticket_id = closed_ticket(engine_app)
    scores = survey_scores({**GOOD, "u4": "4", "U8": 2})
    answer = answer_survey(engine_app, as_lab("andi"), ticket_id, scores, "Pelayanan cepat.")
    assert answer.respondent == "andi" and answer.service_id == "uji-mesin"
    assert engine_app.state.survey.get(ticket_id) == answer
    assert survey_of(engine_app, as_lab("andi"), ticket_id) == answer
    entry = _audited(engine_app, "survey.answer")[0]
    assert entry["scores"] == {**dict.fromkeys(ELEMENTS, 3), "U4": 4, "U8": 2} and entry["comment_chars"] == 16
    assert "Pelayanan" not in str(entry)  # the comment is in the store, not in the audit log
    with pytest.raises(ConflictError, match="already has a survey answer"):
        answer_survey(engine_app, as_lab("andi"), ticket_id, survey_scores({f"u{n}": 1 for n in range(1, 10)}))
    assert engine_app.state.survey.get(ticket_id) == answer  # the first answer stands
    # the survey's text is not on the ticket: nobody reads one person's marks there
    assert not [e for e in engine_app.tickets.timeline(ticket_id) if "Pelayanan cepat" in e.text]

    now = engine_app.clock.now()
    rows, overall = ikm_report(engine_app, now - timedelta(days=1), now + timedelta(days=1))
    assert [(r.service_id, r.respondents) for r in rows] == [("uji-mesin", 1)]
    assert overall is not None and overall.ikm == rows[0].ikm == round((3 * 7 + 4 + 2) / 9 * 25, 2)


@pytest.mark.parametrize("who", ["sari", "kadis", "budi", "spbe"])
def test_nobody_but_the_applicant_answers_staff_included(engine_app: App, who: str) -> None:
    ticket_id = closed_ticket(engine_app)
    with pytest.raises(PermissionDeniedError, match="only the applicant"):
        answer_survey(engine_app, as_lab(who), ticket_id, survey_scores(GOOD))
    with pytest.raises(PermissionDeniedError):
        survey_of(engine_app, as_lab(who), ticket_id)
    assert engine_app.state.survey.get(ticket_id) is None
    refused = _audited(engine_app, "survey.answer.refused")
    assert [r["actor"] for r in refused] == [who] and refused[0]["auth"] == "lab-as"


def test_an_unknown_ticket_is_not_found(engine_app: App) -> None:
    with pytest.raises(NotFoundError):
        answer_survey(engine_app, as_lab("andi"), "SPBE-2026-99999", survey_scores(GOOD))


@pytest.mark.parametrize(("raw", "field"), [
    ({**GOOD, "u1": 0}, "u1"), ({**GOOD, "u2": 5}, "u2"), ({**GOOD, "u3": "x"}, "u3"),
    ({**GOOD, "u4": "3.5"}, "u4"), ({**GOOD, "u5": 2.0}, "u5"), ({**GOOD, "u6": True}, "u6"),
    ({**GOOD, "u7": ""}, "u7"), ({**GOOD, "u8": "-1"}, "u8"), ({**GOOD, "u9": "4; rm -rf /"}, "u9"),
    ({k: v for k, v in GOOD.items() if k != "u9"}, "u9"), ({**GOOD, "u10": 3}, "u10"),
])
def test_bad_scores_are_refused_naming_the_element(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        survey_scores(raw)
    assert field in [f for f, _ in caught.value.details["errors"]]


@pytest.mark.parametrize("comment", ["x" * 2001, "baris\x00nol", "\x1b[31mmerah", "{{ 7*7 }}", "{% include x %}"])
def test_bad_comments_are_refused_before_anything_is_stored(engine_app: App, comment: str) -> None:
    ticket_id = closed_ticket(engine_app)
    with pytest.raises(InvalidInputError, match="comment"):
        answer_survey(engine_app, as_lab("andi"), ticket_id, survey_scores(GOOD), comment)
    assert engine_app.state.survey.get(ticket_id) is None


def test_a_crafted_comment_is_stored_as_typed(engine_app: App) -> None:
    ticket_id = closed_ticket(engine_app)
    crafted = "<script>alert(1)</script> $(reboot); `id` ../../etc/passwd\nbaris kedua ' OR 1=1 --"
    answer_survey(engine_app, as_lab("andi"), ticket_id, survey_scores(GOOD), crafted)
    stored = engine_app.state.survey.get(ticket_id)
    assert stored is not None and stored.comment == crafted


def test_the_ikm_report_refuses_an_unknown_service_and_a_backward_period(engine_app: App) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="unknown service"):
        ikm_report(engine_app, now, now + timedelta(days=1), "tidak-ada")
    with pytest.raises(InvalidInputError, match="end after"):
        ikm_report(engine_app, now, now)
    assert ikm_report(engine_app, now, now + timedelta(days=1)) == ([], None)


def test_the_offer_links_the_portal_when_its_address_is_set(state_dir: Path) -> None:
    settings = load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
                             workers={"warm_inventory": False}, portal={"url": "https://layanan.example.go.id/"})
    app = App(settings)
    try:
        ticket_id = closed_ticket(app)
        [offer] = [e for e in app.tickets.timeline(ticket_id) if OFFER in e.data]
        assert f"https://layanan.example.go.id/tiket/{ticket_id}" in offer.text
    finally:
        app.close()
