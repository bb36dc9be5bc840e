"""Signing a ticket's document from the portal: the progress on the ticket page, the next party's
passphrase form, the refusals in Bahasa Indonesia, and a canary passphrase that appears nowhere.

The service is the signing tests' ``uji-ttd`` (tests/signing/catalog): its berita acara is rendered by
the document step, then signed by the Tim Pengembangan Aplikasi (dewi) and the applicant (andi), in
that order. The portal is served for real (uvicorn on loopback), as the other portal tests do.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.signing.conftest import CANARY, DEWI_PASS, DOC, uji_ttd_app
from tests.support.principals import as_lab
from tests.web.portal.conftest import FAST_ARGON2, PASSWORD, Served, csrf_of, running
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import run_ticket
from toolkit.signing.lockout import MAX_FAILURES


@pytest.fixture
def app(state_dir: Path, tmp_path: Path) -> Iterator[App]:
    built = uji_ttd_app(state_dir, tmp_path, accounts=FAST_ARGON2)
    yield built
    built.close()


@pytest.fixture
def served(app: App) -> Iterator[Served]:
    with running(app) as served_:
        served_.accounts.admin.add(as_lab("sari"), "dewi", SecretStr(PASSWORD))
        yield served_


@pytest.fixture
def ticket_id(app: App) -> str:
    ticket = desk.open_ticket(app, "uji-ttd", as_lab("andi"), "Uji tanda tangan", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    run_ticket(app, ticket.id)
    return ticket.id


def _versions(app: App, ticket_id: str) -> list[str]:
    return [a.name for a in app.tickets.get(ticket_id).attachments if a.kind == DOC and a.name.endswith(".pdf")]


def _sign(client: httpx.Client, ticket_id: str, passphrase: str, document: str = DOC) -> httpx.Response:
    page = client.get(f"/tiket/{ticket_id}")
    return client.post(f"/tiket/{ticket_id}/tanda-tangan/{document}",
                       data={"csrf": csrf_of(page.text), "frasa": passphrase})


def _has_form(body: str) -> bool:
    return "Tanda tangani secara elektronik" in body


def test_the_parties_sign_in_turn_from_the_portal(served: Served, app: App, ticket_id: str) -> None:
    dewi, andi = served.login("dewi"), served.login("andi")
    page = andi.get(f"/tiket/{ticket_id}").text
    assert "0 dari 2 tanda tangan" in page and "Berikutnya: <strong>Tim Kerja Pengembangan Aplikasi" in page
    assert not _has_form(page)  # the applicant signs second
    page = dewi.get(f"/tiket/{ticket_id}").text
    assert _has_form(page) and 'type="password" autocomplete="off"' in page and "(giliran Anda)" in page

    response = _sign(dewi, ticket_id, DEWI_PASS)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == f"/tiket/{ticket_id}?ok=ditandatangani#tanda-tangan"
    page = dewi.get(response.headers["location"]).text
    first = f"{DOC}_{ticket_id}_ttd1.pdf"
    assert "Dokumen ditandatangani secara elektronik" in page
    assert "Sudah ditandatangani oleh Dewi Lestari (Tim Kerja Pengembangan Aplikasi)" in page
    assert f'/tiket/{ticket_id}/berkas/{first}" download' in page and not _has_form(page)

    page = andi.get(f"/tiket/{ticket_id}").text
    assert _has_form(page) and "1 dari 2 tanda tangan" in page
    assert _sign(andi, ticket_id, CANARY).status_code == 303
    page = andi.get(f"/tiket/{ticket_id}").text
    assert "Seluruh pihak (2) telah menandatangani dokumen ini." in page and not _has_form(page)
    second = f"{DOC}_{ticket_id}_ttd2.pdf"
    download = andi.get(f"/tiket/{ticket_id}/berkas/{second}")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert _versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf", first, second]
    timeline = app.tickets.timeline(ticket_id)
    assert any(e.kind == EventKind.STEP_COMPLETED and e.step_id == "penandatanganan" for e in timeline)


def test_a_non_party_sees_no_form_and_a_forged_post_is_refused(served: Served, app: App, ticket_id: str) -> None:
    sari, budi, andi = served.login("sari"), served.login("budi"), served.login("andi")
    page = sari.get(f"/tiket/{ticket_id}").text
    assert "Tanda tangan elektronik: berita acara uji" in page and not _has_form(page)
    refused = _sign(sari, ticket_id, "apa-saja-1")  # staff who see the ticket, but no party of the document
    assert refused.status_code == 403 and "Anda bukan pihak yang menandatangani dokumen ini." in refused.text
    early = _sign(andi, ticket_id, CANARY)  # a party, out of turn
    assert early.status_code == 403 and "Belum giliran Anda" in early.text
    hidden = _sign(budi, ticket_id, "apa-saja-1")  # another applicant: the ticket does not exist for them
    assert hidden.status_code == 404
    token = csrf_of(served.login("dewi").get(f"/tiket/{ticket_id}").text)
    no_csrf = served.login("dewi").post(f"/tiket/{ticket_id}/tanda-tangan/{DOC}",
                                         data={"csrf": token, "frasa": DEWI_PASS})  # another session's token
    assert no_csrf.status_code == 403 and "Token keamanan formulir" in no_csrf.text
    for document in ("../rahasia", "berita_acara_uji;id", "$(id)", "{{7*7}}", "x" * 100):
        bad = _sign(sari, ticket_id, "apa-saja-1", document=document.replace("/", "%2F"))
        # {{7*7}} never evaluated: no bare 49 on the page (a time such as 12:49 or a token holding 49 is not one)
        assert bad.status_code in (400, 403, 404) and not re.search(r"(?<![\w:.-])49(?![\w:.-])", bad.text)
    empty = _sign(served.login("dewi"), ticket_id, "")
    too_long = _sign(served.login("dewi"), ticket_id, "a" * 600)
    assert empty.status_code == too_long.status_code == 400
    assert _versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf"]


def test_a_wrong_passphrase_shows_the_tries_left_and_signs_nothing(served: Served, app: App, ticket_id: str) -> None:
    dewi = served.login("dewi")
    wrong = _sign(dewi, ticket_id, "bukan-frasanya-1")
    assert wrong.status_code == 403
    assert "Frasa sandi salah; dokumen tidak ditandatangani." in wrong.text
    assert f"Sisa percobaan sebelum penandatanganan dikunci: {MAX_FAILURES - 1} kali." in wrong.text
    assert _versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf"]
    for _ in range(MAX_FAILURES - 1):
        last = _sign(dewi, ticket_id, "bukan-frasanya-1")
    assert "dikunci sementara" in last.text
    locked = _sign(dewi, ticket_id, DEWI_PASS)  # even the right one, while locked
    assert locked.status_code == 403 and "dikunci sementara" in locked.text
    assert _versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf"]


def test_the_canary_passphrase_appears_nowhere(served: Served, app: App, ticket_id: str, state_dir: Path,
                                               caplog: pytest.LogCaptureFixture,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    dewi, andi = served.login("dewi"), served.login("andi")
    bodies = [_sign(dewi, ticket_id, DEWI_PASS)]
    bodies.append(_sign(andi, ticket_id, CANARY + "-salah"))  # wrong: refused, counted
    bodies.append(_sign(andi, ticket_id, CANARY))  # right: signed
    assert [r.status_code for r in bodies] == [303, 403, 303]
    bodies.append(andi.get(bodies[-1].headers["location"]))
    bodies.append(dewi.get(f"/tiket/{ticket_id}"))
    for response in bodies:
        text = html.unescape(response.text) + str(response.headers)
        assert CANARY not in text and DEWI_PASS not in text
    assert CANARY not in caplog.text
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    needle = CANARY.encode()
    leaked = [p for p in state_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert leaked == []
    assert re.search(r"ttd2\.pdf", bodies[-1].text)
