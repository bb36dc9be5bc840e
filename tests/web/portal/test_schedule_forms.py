"""The jadwal pelaksanaan's forms over real HTTP: drawn only for whom the command allows, but the server never
relies on that. A forged POST by the wrong person is the 403 page (Bahasa Indonesia) and changes nothing;
a bad date or note is the ticket's page again (400) with the problem next to its input; a note carrying
markup or shell syntax is recorded as written and shown escaped; a form without its CSRF token is refused."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape

from tests.support.clock import ManualClock
from tests.web.portal.conftest import Served, csrf_of
from tests.web.portal.jadwal_support import approved, jadwal_app, serving, shown, typed, wita
from tests.web.portal.test_steps import error_of
from toolkit.bootstrap import App
from toolkit.domain.install_schedule import SCHEDULE
from toolkit.web.portal import texts


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    built = jadwal_app(state_dir)
    yield built
    built.close()


@pytest.fixture
def served(app: App) -> Iterator[Served]:
    with serving(app) as served_:
        yield served_


def schedule_events(served: Served, ticket_id: str) -> list[dict[str, object]]:
    return [e.data[SCHEDULE] for e in served.app.tickets.timeline(ticket_id) if SCHEDULE in e.data]


def audit(served: Served) -> list[str]:
    return [e.action for e in served.app.audit.entries() if e.action.startswith("schedule.")]


def propose(served: Served, ticket_id: str, days: float = 3, **extra: str) -> None:
    yusuf = served.login("yusuf")
    page = yusuf.get(f"/tiket/{ticket_id}").text
    start, end = wita(days), wita(days + 0.1)
    done = yusuf.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(page), "start": typed(start),
                                                          "end": typed(end), **extra})
    assert done.status_code == 303, done.text[:2000]


def test_only_the_team_is_offered_the_proposal_and_only_the_applicant_the_answer(served: Served) -> None:
    ticket_id = approved(served.app)
    yusuf, andi, sari = served.login("yusuf"), served.login("andi"), served.login("sari")
    team = yusuf.get(f"/tiket/{ticket_id}").text
    assert "Usulkan jadwal" in team and 'type="datetime-local"' in team and "Mulai (WITA)" in team
    assert "Catat langkah selesai" not in team  # proposing is what completes the preparation step
    assert "Jadwal pelaksanaan" not in andi.get(f"/tiket/{ticket_id}").text  # nothing proposed yet
    assert "Usulkan jadwal" not in sari.get(f"/tiket/{ticket_id}").text

    propose(served, ticket_id, note="Membawa switch 24 port")
    mine = andi.get(f"/tiket/{ticket_id}").text
    [event] = schedule_events(served, ticket_id)
    assert "Konfirmasi jadwal" in mine and "Minta jadwal lain" in mine and "Usulkan jadwal" not in mine
    assert "Catat langkah selesai" not in mine  # the confirmation step is answered by these forms only
    assert "Menunggu konfirmasi pemohon" in mine and "Membawa switch 24 port" in mine and "WITA" in mine
    assert event["action"] == "propose"
    others = sari.get(f"/tiket/{ticket_id}").text
    assert "Menunggu konfirmasi pemohon" in others and "Konfirmasi jadwal" not in others


def test_the_shown_times_are_the_services_local_time(served: Served) -> None:
    ticket_id = approved(served.app)
    start = wita(5)
    yusuf = served.login("yusuf")
    page = yusuf.get(f"/tiket/{ticket_id}").text
    done = yusuf.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(page), "start": typed(start),
                                                          "end": typed(wita(5.125))})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=jadwal-diusulkan#jadwal")
    body = served.login("andi").get(f"/tiket/{ticket_id}").text
    assert f'id="jadwal-mulai">{shown(start)}<' in body
    assert f'id="jadwal-selesai">{shown(wita(5.125))}<' in body
    assert texts.NOTICES["jadwal-diusulkan"] not in body  # the notice is for the one who proposed


def test_wrong_person_is_refused_and_nothing_changes(served: Served) -> None:
    ticket_id = approved(served.app)
    andi, yusuf, sari, budi = (served.login(u) for u in ("andi", "yusuf", "sari", "budi"))
    forged = andi.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(andi.get("/tiket").text),
                                                           "start": typed(wita(2)), "end": typed(wita(2.1))})
    assert forged.status_code == 403 and texts.JADWAL_NOT_TEAM in html.unescape(forged.text)
    propose(served, ticket_id)
    for person in (yusuf, sari):  # they see the ticket, but only its requester answers
        token = csrf_of(person.get("/tiket").text)
        refused = person.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": token})
        assert refused.status_code == 403, refused.text[:500]
        assert texts.JADWAL_NOT_REQUESTER in html.unescape(refused.text) and "requester" not in refused.text
        rejected = person.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"csrf": token, "reason": "Tidak cocok."})
        assert rejected.status_code == 403
    hidden = budi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": csrf_of(budi.get("/tiket").text)})
    assert hidden.status_code == 404  # not his ticket: as absent as one that does not exist
    assert audit(served) == ["schedule.propose"]
    assert [e["action"] for e in schedule_events(served, ticket_id)] == ["propose"]

    done = andi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": csrf_of(andi.get("/tiket").text)})
    assert done.status_code == 303 and "ok=jadwal-dikonfirmasi" in done.headers["location"]
    again = andi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": csrf_of(andi.get("/tiket").text)})
    assert again.status_code == 303 and "ok=jadwal-tidak-berubah" in again.headers["location"]
    late = andi.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"csrf": csrf_of(andi.get("/tiket").text),
                                                               "reason": "Berubah pikiran."})
    assert late.status_code == 409 and texts.JADWAL_CONFLICT in html.unescape(late.text)
    assert audit(served) == ["schedule.propose", "schedule.confirm"]
    assert "Dikonfirmasi pemohon" in sari.get(f"/tiket/{ticket_id}").text  # everyone sees the confirmed schedule


@pytest.mark.parametrize(("start", "end", "field", "problem"), [
    (3.1, 3, "jadwal-usul-selesai", "Waktu selesai harus sesudah waktu mulai."),
    (-1, -0.9, "jadwal-usul-mulai", "Waktu mulai harus di masa mendatang."),
    (3, 3.005, "jadwal-usul-selesai", "Pelaksanaan paling singkat 15 menit."),
    (3, 7, "jadwal-usul-selesai", "Rentang pelaksanaan paling lama 72 jam."),
    (200, 200.1, "jadwal-usul-mulai", "Waktu mulai paling jauh 180 hari dari sekarang."),
])
def test_a_bad_window_is_shown_next_to_its_input(served: Served, start: float, end: float, field: str,
                                                  problem: str) -> None:
    ticket_id = approved(served.app)
    yusuf = served.login("yusuf")
    page = yusuf.get(f"/tiket/{ticket_id}").text
    bad = yusuf.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(page), "start": typed(wita(start)),
                                                         "end": typed(wita(end)), "note": "Catatan tetap"})
    assert bad.status_code == 400
    assert error_of(bad.text, field) == problem
    assert 'value="Catatan tetap"' in bad.text and f'value="{typed(wita(start))}"' in bad.text  # kept
    assert audit(served) == [] and schedule_events(served, ticket_id) == []


@pytest.mark.parametrize("start", ["besok pagi", "", "2026-13-45T25:99", "x" * 41, "../../etc/passwd"])
def test_a_date_that_is_no_date(served: Served, start: str) -> None:
    ticket_id = approved(served.app)
    yusuf = served.login("yusuf")
    page = yusuf.get(f"/tiket/{ticket_id}").text
    bad = yusuf.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(page), "start": start,
                                                         "end": typed(wita(2))})
    assert bad.status_code == 400
    assert error_of(bad.text, "jadwal-usul-mulai") == texts.JADWAL_FORMAT
    assert audit(served) == []


@pytest.mark.parametrize(("note", "problem"), [
    ("baris satu\nbaris dua", "Memuat karakter yang tidak diizinkan"),
    ("{{ 7*7 }}", "Tidak boleh memuat sintaks templat"),
    ("{% include 'base.html.j2' %}", "Tidak boleh memuat sintaks templat"),
    ("a\u202eb", "Memuat karakter yang tidak diizinkan"),
    ("x" * 501, "Paling banyak 500 karakter."),
])
def test_a_refused_note(served: Served, note: str, problem: str) -> None:
    ticket_id = approved(served.app)
    yusuf = served.login("yusuf")
    page = yusuf.get(f"/tiket/{ticket_id}").text
    bad = yusuf.post(f"/tiket/{ticket_id}/jadwal", data={"csrf": csrf_of(page), "start": typed(wita(2)),
                                                         "end": typed(wita(2.1)), "note": note})
    assert bad.status_code == 400
    assert error_of(bad.text, "jadwal-usul-catatan").startswith(problem)
    # Kept as typed (escaped), never evaluated: "{{ 7*7 }}" comes back as itself, not as 49.
    assert f'id="jadwal-usul-catatan" name="note" type="text" maxlength="500" value="{escape(note)}"' in bad.text
    assert audit(served) == []


def test_markup_and_shell_in_the_note_are_text(served: Served) -> None:
    ticket_id = approved(served.app)
    note = "<script>alert('x')</script><img src=x onerror=alert(1)> $(reboot); rm -rf / `id` ../../etc/passwd"
    propose(served, ticket_id, note=note)
    assert schedule_events(served, ticket_id)[0]["note"] == note  # recorded as written
    for user in ("andi", "yusuf"):
        body = served.login(user).get(f"/tiket/{ticket_id}").text
        assert "<script>alert" not in body and "<img src=x" not in body
        assert html.escape(note, quote=False).split("$(")[0] in body


def test_reject_needs_a_reason(served: Served) -> None:
    ticket_id = approved(served.app)
    propose(served, ticket_id)
    andi = served.login("andi")
    page = andi.get(f"/tiket/{ticket_id}").text
    blank = andi.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"csrf": csrf_of(page), "reason": "   "})
    assert blank.status_code == 400 and error_of(blank.text, "jadwal-tolak-alasan") == "Wajib diisi."
    done = andi.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"csrf": csrf_of(page),
                                                               "reason": "Hari libur daerah <b>"})
    assert done.status_code == 303 and "ok=jadwal-ditolak" in done.headers["location"]
    seen = served.login("yusuf").get(f"/tiket/{ticket_id}").text
    assert "Pemohon meminta jadwal lain" in seen and "Hari libur daerah &lt;b&gt;" in seen
    assert "Usulkan jadwal baru" in seen  # the team proposes again
    assert audit(served) == ["schedule.propose", "schedule.reject"]


def test_a_form_without_its_csrf_token_changes_nothing(served: Served) -> None:
    ticket_id = approved(served.app)
    yusuf = served.login("yusuf")
    for data in ({"start": typed(wita(2)), "end": typed(wita(2.1))},
                 {"csrf": "salah", "start": typed(wita(2)), "end": typed(wita(2.1))}):
        refused = yusuf.post(f"/tiket/{ticket_id}/jadwal", data=data)
        assert refused.status_code == 403 and texts.CSRF_TITLE in refused.text
    propose(served, ticket_id)
    andi = served.login("andi")
    assert andi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi").status_code == 403
    assert andi.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"reason": "x"}).status_code == 403
    stolen = csrf_of(yusuf.get("/tiket").text)  # another session's token is no token for this one
    assert andi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": stolen}).status_code == 403
    assert audit(served) == ["schedule.propose"]
    anonymous = served.client().post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": stolen})
    assert anonymous.status_code == 303 and "/masuk" in anonymous.headers["location"]


def test_a_start_that_has_passed_can_only_be_refused(state_dir: Path) -> None:
    clock = ManualClock()
    app = jadwal_app(state_dir, clock)
    try:
        with serving(app) as served:
            ticket_id = approved(app)
            propose(served, ticket_id, days=1)
            clock.advance(timedelta(days=2))
            andi = served.login("andi")  # after the move: a session from before would have idled out
            page = andi.get(f"/tiket/{ticket_id}").text
            assert "Konfirmasi jadwal" not in page and "sudah lewat" in page and "Minta jadwal lain" in page
            late = andi.post(f"/tiket/{ticket_id}/jadwal/konfirmasi", data={"csrf": csrf_of(page)})
            assert late.status_code == 409 and texts.JADWAL_CONFLICT in html.unescape(late.text)
            done = andi.post(f"/tiket/{ticket_id}/jadwal/tolak", data={"csrf": csrf_of(page),
                                                                       "reason": "Tanggalnya sudah lewat."})
            assert done.status_code == 303
            assert audit(served) == ["schedule.propose", "schedule.reject"]
    finally:
        app.close()
