"""The satisfaction survey on a closed ticket's portal page: the applicant sees nine rows of radio buttons
with the element names and a comment box, answers once (CSRF checked), and sees the answer back with a crafted
comment escaped; staff and other applicants see no form and are refused when they post; an open ticket has
no form and refuses a post; bad scores are refused and store nothing."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

from tests.commands.test_survey import closed_ticket
from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.helpers import approved_ticket
from tests.web.portal.conftest import FAST_ARGON2, Served, csrf_of, running
from toolkit.bootstrap import App
from toolkit.settings import load_settings
from toolkit.survey.ikm import ELEMENTS

GOOD = {f"u{n}": "3" for n in range(1, 10)}
CRAFTED = '<script>alert("x")</script><img src=x onerror=alert(1)> $(reboot); ../../etc/passwd'


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    built = App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
                              accounts=FAST_ARGON2, workers={"warm_inventory": False}))
    yield built
    built.close()


@pytest.fixture
def served(app: App) -> Iterator[Served]:
    with running(app) as served_:
        yield served_


def _post(client: httpx.Client, ticket_id: str, data: dict[str, str], csrf: str | None = None) -> httpx.Response:
    token = csrf if csrf is not None else csrf_of(client.get(f"/tiket/{ticket_id}").text)
    return client.post(f"/tiket/{ticket_id}/survei", data={"csrf": token, **data})


def test_the_applicant_answers_once_and_sees_it_back_escaped(served: Served, app: App) -> None:
    ticket_id = closed_ticket(app)
    andi = served.login("andi")
    page = andi.get(f"/tiket/{ticket_id}").text
    assert "Survei Kepuasan Masyarakat" in page and f'action="/tiket/{ticket_id}/survei"' in page
    for code, name in ELEMENTS.items():
        assert html.escape(name) in page
        assert page.count(f'type="radio" name="{code.lower()}"') == 4
    assert _post(andi, ticket_id, GOOD, csrf="salah").status_code == 403  # CSRF
    assert app.state.survey.get(ticket_id) is None
    done = _post(andi, ticket_id, {**GOOD, "u9": "4", "saran": CRAFTED})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=survei#survei")
    stored = app.state.survey.get(ticket_id)
    assert stored is not None and stored.comment == CRAFTED and stored.scores.u9 == 4
    shown = andi.get(f"/tiket/{ticket_id}?ok=survei").text
    assert "Terima kasih" in shown and 'name="u1"' not in shown  # answered: no form any more
    assert "<script>alert" not in shown and "<img src=x" not in shown
    assert str(escape(CRAFTED)) in shown  # shown as typed, through the template's autoescaping
    again = _post(andi, ticket_id, GOOD)
    assert again.status_code == 409
    assert app.state.survey.get(ticket_id) == stored


@pytest.mark.parametrize("who", ["sari", "kadis", "budi"])
def test_no_form_and_a_refusal_for_anyone_else(served: Served, app: App, who: str) -> None:
    ticket_id = closed_ticket(app)
    client = served.login(who)
    page = client.get(f"/tiket/{ticket_id}")
    assert 'name="u1"' not in page.text
    csrf = csrf_of(client.get("/tiket").text)
    refused = _post(client, ticket_id, GOOD, csrf=csrf)
    assert refused.status_code in (403, 404)
    assert app.state.survey.get(ticket_id) is None


def test_an_open_ticket_has_no_form_and_refuses(served: Served, app: App) -> None:
    ticket_id = approved_ticket(app)
    andi = served.login("andi")
    assert 'name="u1"' not in andi.get(f"/tiket/{ticket_id}").text
    assert _post(andi, ticket_id, GOOD).status_code == 409


@pytest.mark.parametrize("bad", [{"u1": "0"}, {"u2": "5"}, {"u3": "x"}, {"u4": ""}, {"saran": "x" * 2001},
                                 {"saran": "{{ 7*7 }}"}])
def test_bad_input_is_refused_and_stores_nothing(served: Served, app: App, bad: dict[str, str]) -> None:
    ticket_id = closed_ticket(app)
    andi = served.login("andi")
    refused = _post(andi, ticket_id, {**GOOD, **bad})
    assert refused.status_code == 400, refused.text[:300]
    assert app.state.survey.get(ticket_id) is None
    # The ticket page again, the form with the problem next to its input in Bahasa Indonesia (never the
    # command's English text) and what was chosen kept.
    [(name, _value)] = bad.items()
    page = refused.text
    assert 'id="survei"' in page and (f'id="g-survei-{name}"' in page or f'id="g-{name}"' in page)
    assert "invalid survey" not in page and "invalid comment" not in page and "Value error" not in page
    kept = next(k for k in GOOD if k != name and k.startswith("u"))
    assert f'name="{kept}" value="{GOOD[kept]}" required checked' in page
