"""The `DeskClient` contract, reusable by every desk client (Redmine for real, a GLPI fake, a REST desk).

A test module subclasses `DeskContract` and provides the fixture ``desk`` returning a `DeskHarness`: the
client under test (the spbe bot's account), and an ``actor`` able to act in the desk *as a named desk account*
with that account's own credential, the way a person would in the desk's UI (open an issue, comment, move a
status, edit a field). Nothing here knows which desk it talks to; the harness names the SOP's accounts,
statuses and fields in that desk's terms.

What the port promises and this suite holds: issues read with their fields and author; changes in the desk's
order with the right accounts, status transitions and field changes, ids stable across reads; updated_since
at-or-after (a record of the cursor's own second is seen again: the lost-record case); every write
idempotent by its marker, including after a late answer; a marker only counts when the spbe account wrote
it; a refused workflow transition is a clear `ConfigurationError` and leaves no marker that would claim it
done; a desk that is down is `UnavailableError`, a bad key `ConfigurationError`; and the credential never
appears in an exception or a log line.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError, UnavailableError
from toolkit.ports.desk import DeskClient, DeskIssue


class DeskActor(Protocol):
    """One desk account acting with its own credential (not through the client under test)."""

    login: str

    def open(self, subject: str, fields: dict[str, str], description: str = "") -> str: ...

    def comment(self, key: str, text: str) -> None: ...

    def move(self, key: str, status: str, note: str = "") -> None: ...

    def set_field(self, key: str, field: str, value: str) -> None: ...


@dataclass(frozen=True)
class DeskHarness:
    client: DeskClient  # as the spbe bot account
    project: str
    actor: Callable[[str], DeskActor]
    client_as: Callable[[str], DeskClient]  # the same client, with another account's credential
    down_client: Callable[[str], DeskClient]  # a client of a desk that is not there, with this key
    bad_key_client: Callable[[str], DeskClient]  # the real desk, this (wrong) key
    late_client: Callable[[float], AbstractContextManager[DeskClient]]  # writes land, answers come after timeout
    bot: str
    requester: str  # the applicant
    checker: str  # the koordinator
    approver: str  # the kepala dinas
    stranger: str  # a desk account spbe maps to nobody
    new: str  # the status of a new issue
    checked: str
    approved: str
    fields: tuple[str, str, str]  # a list field with a value below, a one-line text, a multi-line text
    service: str  # a valid value of fields[0]
    other_project: str | None = None  # a project the bot can see that is not ``project``, if any
    credentials: tuple[str, ...] = field(default=(), repr=False)  # every key held: none may reach a log line


def _subject(what: str) -> str:
    return f"{what} {secrets.token_hex(4)}"


class DeskContract:
    """Subclass it and provide the ``desk`` fixture."""

    def _opened(self, desk: DeskHarness, **extra: str) -> tuple[str, dict[str, str]]:
        service, one_line, text = desk.fields
        fields = {service: desk.service, one_line: "Dinas Kesehatan", text: "2 vCPU, 4 GB RAM\nDebian 12", **extra}
        return desk.actor(desk.requester).open(_subject("Permohonan server"), fields, "Untuk puskesmas."), fields

    def test_it_is_a_desk_client(self, desk: DeskHarness) -> None:
        assert isinstance(desk.client, DeskClient)
        assert desk.client.name

    def test_an_issue_reads_with_its_fields_author_and_status(self, desk: DeskHarness) -> None:
        key, fields = self._opened(desk)
        issue = desk.client.issue(key)
        assert isinstance(issue, DeskIssue) and issue.key == key
        assert (issue.project, issue.author, issue.status) == (desk.project, desk.requester, desk.new)
        assert issue.subject.startswith("Permohonan server") and issue.description == "Untuk puskesmas."
        assert {name: issue.fields.get(name) for name in fields} == fields
        assert issue.attachments == () and issue.updated_at.tzinfo is not None
        assert issue.url and key in issue.url

    @pytest.mark.parametrize("key", ["999999999", "0", "abc", "1;DROP", "../1", ""])
    def test_an_unknown_issue_is_not_found(self, desk: DeskHarness, key: str) -> None:
        for read in (desk.client.issue, desk.client.changes):
            with pytest.raises(NotFoundError):
                read(key)

    def test_changes_come_in_order_with_accounts_statuses_fields_and_notes(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        assert desk.client.changes(key) == []  # the creation is not a change
        desk.actor(desk.checker).move(key, desk.checked, "Berkas lengkap.")
        desk.actor(desk.approver).move(key, desk.approved, "Disetujui.")
        desk.actor(desk.requester).comment(key, "Terima kasih.\nBaris kedua.")
        desk.actor(desk.checker).set_field(key, desk.fields[1], "Dinas Pendidikan")
        changes = desk.client.changes(key)
        assert [(c.account, c.status_from, c.status_to) for c in changes] == [
            (desk.checker, desk.new, desk.checked), (desk.approver, desk.checked, desk.approved),
            (desk.requester, None, None), (desk.checker, None, None)]
        assert [c.note for c in changes] == ["Berkas lengkap.", "Disetujui.", "Terima kasih.\nBaris kedua.", ""]
        assert changes[3].field_changes == {desk.fields[1]: ("Dinas Kesehatan", "Dinas Pendidikan")}
        assert all(c.issue_key == key and c.marker is None for c in changes)
        assert [c.at for c in changes] == sorted(c.at for c in changes)
        assert len({c.id for c in changes}) == 4 and desk.client.changes(key) == changes  # ids are stable

    def test_updated_since_is_at_or_after_in_update_order(self, desk: DeskHarness) -> None:
        first, _ = self._opened(desk)
        second, _ = self._opened(desk)
        since = desk.client.issue(first).updated_at
        time.sleep(1.1)  # desks keep seconds: the comment must fall in a later second to order after second
        desk.actor(desk.checker).comment(first, "Diperbarui.")  # first is now newer than second
        found = desk.client.updated_since(since, (desk.project,), limit=1000)
        seen = [i.key for i in found]
        assert seen.index(second) < seen.index(first)
        assert [i.updated_at for i in found] == sorted(i.updated_at for i in found)
        assert desk.client.updated_since(since, (), limit=10) == []
        later = desk.client.updated_since(desk.client.issue(first).updated_at, (desk.project,), limit=1000)
        assert first in [i.key for i in later]  # at, not only after
        assert len(desk.client.updated_since(since, (desk.project,), limit=1)) == 1
        if desk.other_project:
            assert first not in [i.key for i in desk.client.updated_since(since, (desk.other_project,))]

    def test_a_record_of_the_cursors_own_second_is_not_lost(self, desk: DeskHarness) -> None:
        """servicenow.itsm#502: a poll that asks "after" its cursor, or rounds it up, loses a record written in
        the same second as the last one it saw. Here the cursor is the newest record seen plus the part of a
        second a poller's clock may add; the next record, written within that same second, must come back."""
        for _ in range(10):
            cursor_issue, _ = self._opened(desk)
            neighbour, _ = self._opened(desk)
            seen = desk.client.issue(cursor_issue).updated_at
            written = desk.client.issue(neighbour).updated_at
            if written.replace(microsecond=0) == seen.replace(microsecond=0):
                cursor = seen.replace(microsecond=0) + timedelta(microseconds=999_000)
                keys = [i.key for i in desk.client.updated_since(cursor, (desk.project,), limit=1000)]
                assert cursor_issue in keys and neighbour in keys
                return
        pytest.fail("the desk never wrote two issues within one second; cannot test the lost-record case")

    def test_add_note_is_idempotent_by_marker(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        assert desk.client.find_marker(key, marker) is None
        first = desk.client.add_note(key, "Permohonan sedang diproses.", marker)
        again = desk.client.add_note(key, "Permohonan sedang diproses.", marker)
        assert again == first and desk.client.find_marker(key, marker) == first
        [change] = desk.client.changes(key)
        assert (change.id, change.account, change.note, change.marker) == (
            first, desk.bot, "Permohonan sedang diproses.", marker)

    def test_a_late_answer_does_not_duplicate_the_note(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        with desk.late_client(3.0) as late, pytest.raises(UnavailableError):
            late.add_note(key, "Dokumen sedang disiapkan.", marker)
        deadline = time.monotonic() + 10
        while desk.client.find_marker(key, marker) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        written = desk.client.add_note(key, "Dokumen sedang disiapkan.", marker)  # the outbox's retry
        assert desk.client.add_note(key, "Dokumen sedang disiapkan.", marker) == written
        assert [c.marker for c in desk.client.changes(key)] == [marker]

    def test_a_marker_typed_by_someone_else_does_not_count(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        mine = desk.client.add_note(key, "Catatan spbe.", marker)
        copied = [c.note for c in desk.client.changes(key) if c.id == mine]
        raw = desk.client_as(desk.requester)
        forged = f"outbox:{secrets.token_hex(4)}"
        raw.add_note(key, "Saya menulis penanda.", forged)  # andi's own key: a marker in andi's note
        assert desk.client.find_marker(key, forged) is None
        assert desk.client.changes(key)[-1].marker is None and copied == ["Catatan spbe."]

    def test_attach_is_idempotent_and_reads_back(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        content = b"%PDF-1.4\n% berita acara\n" + secrets.token_bytes(256)
        first = desk.client.attach(key, "berita-acara.pdf", "application/pdf", content, marker)
        again = desk.client.attach(key, "berita-acara.pdf", "application/pdf", content, marker)
        assert again == first and desk.client.find_marker(key, marker) == first
        assert desk.client.issue(key).attachments == ("berita-acara.pdf",)
        assert desk.client.read_attachment(key, "berita-acara.pdf") == content
        assert [c.marker for c in desk.client.changes(key)] == [marker]
        with pytest.raises(NotFoundError):
            desk.client.read_attachment(key, "tidak-ada.pdf")

    def test_set_status_is_idempotent_and_shows_as_a_change(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        first = desk.client.set_status(key, desk.checked, marker, "Diperiksa oleh spbe.")
        assert desk.client.set_status(key, desk.checked, marker, "Diperiksa oleh spbe.") == first
        assert desk.client.issue(key).status == desk.checked
        [change] = desk.client.changes(key)
        assert (change.id, change.account, change.status_from, change.status_to, change.note, change.marker) == (
            first, desk.bot, desk.new, desk.checked, "Diperiksa oleh spbe.", marker)

    def test_a_transition_the_workflow_refuses_is_a_clear_error_and_claims_nothing(self, desk: DeskHarness) -> None:
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        applicant = desk.client_as(desk.requester)
        with pytest.raises(ConfigurationError) as refused:
            applicant.set_status(key, desk.approved, marker)
        assert desk.approved in str(refused.value) and desk.requester in str(refused.value)
        assert desk.client.issue(key).status == desk.new
        assert desk.client.find_marker(key, marker) is None
        with pytest.raises(ConfigurationError):
            desk.client.set_status(key, "Status Yang Tidak Ada", marker)

    @pytest.mark.parametrize("marker", ["", "a b", "x\n[spbe:y]: #", "$(id)", "m" * 129])
    def test_a_bad_marker_is_refused_before_any_write(self, desk: DeskHarness, marker: str) -> None:
        key, _ = self._opened(desk)
        with pytest.raises(InvalidInputError):
            desk.client.add_note(key, "x", marker)
        assert desk.client.changes(key) == []

    def test_capabilities_name_the_account_statuses_fields_and_people(self, desk: DeskHarness) -> None:
        caps = desk.client.capabilities()
        assert caps.account == desk.bot and desk.project in caps.projects
        assert {desk.new, desk.checked, desk.approved} <= set(caps.statuses)
        assert set(desk.fields) <= set(caps.fields)
        logins = {a.login for a in caps.accounts}
        assert {desk.bot, desk.requester, desk.checker, desk.approver, desk.stranger} <= logins

    def test_a_desk_that_is_down_is_unavailable_and_a_bad_key_is_configuration(
            self, desk: DeskHarness, caplog: pytest.LogCaptureFixture) -> None:
        canary = "CANARY" + secrets.token_hex(17)
        caplog.set_level(logging.DEBUG)
        errors: list[ToolkitError] = []
        with pytest.raises(UnavailableError) as down:
            desk.down_client(canary).issue("1")
        errors.append(down.value)
        for call in (lambda c: c.issue("1"), lambda c: c.capabilities(), lambda c: c.add_note("1", "x", "m:1")):
            with pytest.raises(ConfigurationError) as bad:
                call(desk.bad_key_client(canary))
            errors.append(bad.value)
        for error in errors:
            shown = f"{error} {error!r} {error.details} {error.__cause__!r} {error.__context__!r}"
            assert canary not in shown and desk.client.name in str(error)
        assert canary not in caplog.text

    def test_the_credential_never_reaches_a_log_line(self, desk: DeskHarness,
                                                    caplog: pytest.LogCaptureFixture) -> None:
        """The bot's own key, through every call, with every logger at DEBUG (urllib3's included)."""
        caplog.set_level(logging.DEBUG)
        key, _ = self._opened(desk)
        marker = f"outbox:{secrets.token_hex(4)}"
        desk.client.capabilities()
        desk.client.add_note(key, "Catatan.", marker)
        desk.client.attach(key, "a.txt", "text/plain", b"isi", marker + "a")
        desk.client.set_status(key, desk.checked, marker + "s")
        desk.client.updated_since(datetime.now(UTC) - timedelta(minutes=5), (desk.project,))
        assert desk.credentials
        for credential in desk.credentials:
            assert credential not in caplog.text
