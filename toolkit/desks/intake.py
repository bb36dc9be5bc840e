"""What people did in an outside desk becomes spbe commands, each asking the same policy as the CLI.

A webhook and a poll both end here with an issue key: the intake reads the issue and its changes from the desk
itself (a webhook body is a hint, never the record), maps each change by the desk mapping and runs the command
it means with a principal from the directory (``ticket-system:<desk>:<account>``). Nothing here decides who may
do what: a requester approving their own request, an account mapped to nobody, a person without the step's
role are refused by the commands and the policy; the intake only says so on the desk ticket (a note in Bahasa
Indonesia), in the audit log, and in its records, and runs nothing.

Once per change: every change id is recorded with its outcome after it was acted on, so the same change seen by
a webhook and by a poll, or replayed, is acted on once. If spbe stops between a command and its record, the
change is taken again: commands are idempotent per step, and a decision that the ticket already shows by the
same person is recorded as done instead of being refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from toolkit.commands import desk
from toolkit.commands.revision import RESUBMITTED, RETURNED
from toolkit.desks.desk_request import RequestReader
from toolkit.desks.mapping import Decision, DecisionRule, DeskMapping
from toolkit.desks.records import DeskRecords
from toolkit.desks.revisions import DeskRefusal, DeskRevisions
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.services import EngineServices
from toolkit.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
    UnavailableError,
)
from toolkit.ports.desk import DeskChange, DeskClient, DeskIssue, DeskSnapshot

log = logging.getLogger(__name__)

_DONE_KINDS = {Decision.CHECK: EventKind.CHECKED, Decision.APPROVE: EventKind.APPROVED,
               Decision.DEFER: EventKind.DEFERRED}
_REVISION_MARKS = {Decision.RETURN: RETURNED, Decision.RESUBMIT: RESUBMITTED}


@dataclass
class IssueOutcome:
    """What one pass over a desk issue did, per change: the CLI's `desk sync --json` shows it."""

    issue_key: str
    ticket_id: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)  # change id -> done:<decision> | refused:<why> | ...


def _why(exc: ToolkitError) -> str:
    """The refusal in Bahasa Indonesia for the desk ticket, with the policy's own words after it."""
    detail = str(exc)
    if isinstance(exc, DeskRefusal):
        return exc.why
    if isinstance(exc, PermissionDeniedError):
        return f"akun ini tidak berwenang untuk keputusan ini ({detail})."
    if isinstance(exc, InvalidInputError):
        problems = "; ".join(f"{f}: {p}" for f, p in exc.details.get("errors", [])) or detail
        return f"isian permohonan tidak valid ({problems})."
    if isinstance(exc, ConflictError):
        return f"tiket tidak sedang menunggu keputusan ini ({detail})."
    return detail


class DeskIntake:
    def __init__(self, app: EngineServices, client: DeskClient, mapping: DeskMapping, records: DeskRecords) -> None:
        self.app, self.client, self.mapping, self.records = app, client, mapping, records
        self.audit, self.clock = app.audit, app.clock
        self.reader = RequestReader(client, mapping)
        self.revisions = DeskRevisions(app, mapping, self.reader)

    @property
    def desk(self) -> str:
        return self.mapping.name

    # -- one issue ---------------------------------------------------------------------------
    def process(self, key: str) -> IssueOutcome:
        """Act on everything new in one desk issue; raises `UnavailableError` (desk or store down) to be
        retried, with what was already acted on recorded."""
        changes: list[DeskChange] | None = None
        if isinstance(self.client, DeskSnapshot):
            issue, changes = self.client.issue_and_changes(key)
        else:
            issue = self.client.issue(key)
        outcome = IssueOutcome(issue_key=key, ticket_id=self.records.ticket_for(self.desk, key))
        if outcome.ticket_id is None:
            outcome.ticket_id = self._open(issue, outcome)
            if outcome.ticket_id is None:
                return outcome
        changes_seen = self.client.changes(key) if changes is None else changes
        for change in changes_seen:
            if change.account == self.mapping.bot or change.marker is not None:
                continue  # spbe's own writes
            if self.records.outcome(self.desk, change.id) is not None:
                continue
            result = self._act(outcome.ticket_id, issue, change, changes_seen)
            self.records.record(self.desk, change.id, key, result, self.clock.now())
            outcome.outcomes[change.id] = result
        return outcome

    # -- opening -----------------------------------------------------------------------------
    def _open(self, issue: DeskIssue, outcome: IssueOutcome) -> str | None:
        route = self.mapping.route(issue.project, issue.tracker, issue.fields)
        marker_id = f"open.{issue.key}"
        if route is None:
            if self.records.record(self.desk, marker_id, issue.key, "skipped:unmapped", self.clock.now()):
                log.info("desk %s: issue %s (project %s) is not mapped to a service; skipped",
                         self.desk, issue.key, issue.project)
            outcome.outcomes[marker_id] = "skipped:unmapped"
            return None
        person = self.mapping.person(issue.author)
        if person is None:
            self._refuse(issue.key, marker_id, "open", issue.author, None,
                         "akun pemohon tidak terdaftar pada direktori spbe.", outcome)
            return None
        principal = Principal.from_desk(person, self.desk, issue.author)
        fields = self.reader.fields(issue, route.service)
        try:
            uploads = self.reader.attachments(issue, route.service)
            ticket = desk.open_ticket(self.app, route.service, principal, issue.subject, fields, uploads)
        except (PermissionDeniedError, InvalidInputError, ConflictError, NotFoundError) as exc:
            # A field fixed in the desk is a new attempt: the marker carries the values it judged.
            judged = json.dumps(fields, sort_keys=True, default=str).encode()
            attempt = f"{marker_id}.{hashlib.sha256(judged).hexdigest()[:16]}"  # the same in every process
            self._refuse(issue.key, attempt, "open", issue.author, person, _why(exc), outcome)
            return None
        self.records.link(self.desk, issue.key, ticket.id)
        self.records.record(self.desk, marker_id, issue.key, f"done:open:{ticket.id}", self.clock.now())
        outcome.outcomes[marker_id] = f"done:open:{ticket.id}"
        log.info("desk %s: issue %s opened as ticket %s by %s", self.desk, issue.key, ticket.id, principal.via)
        return ticket.id

    # -- changes -----------------------------------------------------------------------------
    def _rule(self, change: DeskChange) -> DecisionRule | None:
        for rule in self.mapping.decisions:
            if rule.status_to is not None and change.status_to == rule.status_to:
                return rule
            if rule.validation is not None and change.validation == rule.validation:
                return rule
        if change.note.strip():
            return next((r for r in self.mapping.decisions if r.note), None)
        return None

    def _act(self, ticket_id: str, issue: DeskIssue, change: DeskChange, changes: list[DeskChange]) -> str:
        rule = self._rule(change)
        if rule is None:
            return "ignored"
        person = self.mapping.person(change.account)
        if person is None:
            return self._refuse(issue.key, change.id, rule.decision.value, change.account, None,
                                "akun ini tidak dipetakan ke orang mana pun di direktori spbe.", None)
        principal = Principal.from_desk(person, self.desk, change.account)
        try:
            self._command(rule, ticket_id, principal, issue, change, changes)
        except (PermissionDeniedError, InvalidInputError, ConflictError) as exc:
            if isinstance(exc, ConflictError) and self._already_shown(ticket_id, rule.decision, person):
                return f"done:{rule.decision.value}"
            result = self._refuse(issue.key, change.id, rule.decision.value, change.account, person, _why(exc),
                                  None, ticket_id=ticket_id)
            self._revert(issue.key, change)
            return result
        return f"done:{rule.decision.value}"

    def _revert(self, key: str, change: DeskChange) -> None:
        """A refused status change is moved back in the desk, so the desk does not show a decision spbe did not
        take. Best effort: a workflow that does not let the bot move it back leaves the refusal note alone."""
        if change.status_to is None or change.status_from is None:
            return
        try:
            self.client.set_status(key, change.status_from, f"spbe-revert-{self.desk}-{change.id}",
                                   "Status dikembalikan karena perubahan ini tidak dijalankan.")
        except (ConfigurationError, InvalidInputError, UnavailableError) as exc:
            log.warning("desk %s: issue %s: the refused status change %s stays in the desk: %s", self.desk, key,
                        change.id, exc)

    def _command(self, rule: DecisionRule, ticket_id: str, principal: Principal, issue: DeskIssue,
                 change: DeskChange, changes: list[DeskChange]) -> None:
        decision = rule.decision
        reason = change.note.strip() or f"Diputuskan melalui {self.desk} (perubahan {change.id})."
        if decision is Decision.CHECK:
            desk.check(self.app, ticket_id, principal)
        elif decision is Decision.APPROVE:
            desk.approve(self.app, ticket_id, principal, reason)
        elif decision is Decision.DEFER:
            desk.defer(self.app, ticket_id, principal, reason)
        elif decision is Decision.RETURN:
            self.revisions.give_back(rule, ticket_id, principal, issue, change, changes)
        elif decision is Decision.RESUBMIT:
            self.revisions.resubmit(ticket_id, principal, issue, change)
        elif decision is Decision.CLOSE:
            desk.close(self.app, ticket_id, principal, reason)
        else:
            desk.comment(self.app, ticket_id, principal, reason)

    def _already_shown(self, ticket_id: str, decision: Decision, person: str) -> bool:
        """After a restart between a command and its record: the ticket already holds this person's decision."""
        timeline = self.app.tickets.timeline(ticket_id)
        if decision in _REVISION_MARKS:  # the last return or resubmission is this person's, of this kind
            last = next((e for e in reversed(timeline) if isinstance(e.data, dict)
                         and (RETURNED in e.data or RESUBMITTED in e.data)), None)
            return last is not None and _REVISION_MARKS[decision] in last.data and last.actor == person
        kind = _DONE_KINDS.get(decision)
        return kind is not None and any(e.kind is kind and e.actor == person for e in timeline)

    def _refuse(self, key: str, change_id: str, decision: str, account: str, person: str | None, why: str,
                outcome: IssueOutcome | None, ticket_id: str | None = None) -> str:
        """A note on the desk ticket, an audit entry, and the record; once per change (the desk note by
        marker, so a retry after a late answer does not post it twice)."""
        result = f"refused:{decision}"
        if self.records.outcome(self.desk, change_id) is not None:
            return result
        name = None
        if person is not None:
            try:
                name = self.app.policy.person(person).name
            except NotFoundError:
                name = person
        text = str(self.app.renderer.render("comments", "desk_ditolak", {
            "perubahan": {"keputusan": decision, "akun": account, "orang": name}, "alasan": why}))
        marker = f"spbe-refused-{self.desk}-{change_id}"
        self.client.add_note(key, text, marker)  # idempotent by the marker (the port's contract)
        self.audit.append(person or f"desk:{account}", "desk.refused", ticket_id or f"{self.desk}#{key}", {
            "desk": self.desk, "issue": key, "change": change_id, "decision": decision, "reason": why,
            "auth": AuthMethod.TICKET_SYSTEM.value, "via": f"ticket-system:{self.desk}:{account}"})
        log.warning("desk %s: change %s on issue %s refused: %s", self.desk, change_id, key, why)
        if outcome is not None:
            self.records.record(self.desk, change_id, key, result, self.clock.now())
            outcome.outcomes[change_id] = result
        return result
