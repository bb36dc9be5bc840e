"""The marker line and the journal mapping of `integrations.desks.redmine_journals`, on Redmine's JSON shapes
(as the real desk answers them in tests/integrations/desks/test_redmine_contract.py)."""

from __future__ import annotations

import pytest

from integrations.desks.redmine_journals import find_own_marker, journal_change, split_marker, with_marker
from toolkit.errors import InvalidInputError

BOT, ANDI = 9, 3


def test_the_marker_is_the_last_line_and_comes_back_off() -> None:
    posted = with_marker("Permohonan diproses.\nBaris dua.", "outbox:12")
    assert posted.endswith("\n\n[spbe:outbox:12]: #")
    assert split_marker(posted.replace("\n", "\r\n")) == ("Permohonan diproses.\nBaris dua.", "outbox:12")
    assert split_marker(with_marker("", "m")) == ("", "m")
    assert split_marker("[spbe:x]: #\nlalu teks") == ("[spbe:x]: #\nlalu teks", None)  # only the last line
    assert split_marker(None) == ("", None)


@pytest.mark.parametrize("marker", ["", "a b", "x]: #\n[spbe:y", "é", "m" * 129])
def test_a_marker_that_could_break_the_line_is_refused(marker: str) -> None:
    with pytest.raises(InvalidInputError):
        with_marker("x", marker)


def _journal(jid: int, user: int, notes: str, *details: dict[str, str]) -> dict[str, object]:
    return {"id": jid, "user": {"id": user, "name": "x"}, "notes": notes, "created_on": "2026-12-07T03:00:00Z",
            "private_notes": False, "details": list(details)}


def test_a_marker_counts_only_when_the_bot_wrote_it() -> None:
    typed_by_andi = _journal(1, ANDI, with_marker("tiruan", "m:1"))
    issue = {"journals": [typed_by_andi, _journal(2, BOT, with_marker("asli", "m:2"))],
             "attachments": [{"id": 5, "author": {"id": ANDI}, "description": "spbe:m:3"},
                             {"id": 6, "author": {"id": BOT}, "description": "spbe:m:4"}]}
    assert find_own_marker(issue, "m:1", BOT) is None and find_own_marker(issue, "m:3", BOT) is None
    assert find_own_marker(issue, "m:2", BOT) == "j2" and find_own_marker(issue, "m:4", BOT) == "a6"
    forged = journal_change("1", typed_by_andi, own_user_id=BOT, account=str, statuses={}, fields={}, attachments={})
    assert forged.marker is None and forged.note.endswith("[spbe:m:1]: #")  # shown as written


def test_status_and_field_details_map_to_names_and_unknown_ids_are_kept() -> None:
    journal = _journal(3, ANDI, "",
                       {"property": "attr", "name": "status_id", "old_value": "1", "new_value": "99"},
                       {"property": "cf", "name": "4", "old_value": None, "new_value": "Dinkes"},
                       {"property": "cf", "name": "77", "old_value": "a", "new_value": "b"})
    change = journal_change("1", journal, own_user_id=BOT, account=lambda uid: f"u{uid}",
                            statuses={"1": "New"}, fields={"4": "Instansi"}, attachments={})
    assert (change.id, change.account, change.status_from, change.status_to) == ("j3", "u3", "New", "#99")
    assert change.field_changes == {"Instansi": (None, "Dinkes"), "#77": ("a", "b")}
