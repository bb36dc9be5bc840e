"""The tickets against the audit log: every decision on a ticket must have its audit entry, and
every checkpoint posted to a ticket must still match the chain.

A decision written straight into the ticket system (its database, its web UI, a forged API call)
never passes through the desk, so it has no audit entry; this is where that shows. A decision is
matched by ticket, actor, kind and step (for a branch decision, the decided values; for a
containment, its record id), each audit entry answering for one event. Extra audit entries are
not reported: refused and retried operations are audited without a decision on the ticket.

A decision posted but not yet audited (a crash between the two writes of a desk operation) is
reported too: it cannot be told apart from a forgery, and a person should look at it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from toolkit.audit import checkpoints
from toolkit.audit.chain import AuditEntry, AuditProblem, AuditVerification, canonical
from toolkit.audit.checkpoints import Checkpoint
from toolkit.audit.port import AuditTrail
from toolkit.domain.tickets.models import EventKind, TimelineEvent
from toolkit.ports.tickets import TicketSystem

CHECKPOINT_DATA = "audit_checkpoint"  # the key of a checkpoint in a ticket event's data
_BY_EVENT = {EventKind.CHECKED: "check", EventKind.APPROVED: "approve", EventKind.DEFERRED: "defer"}
_BY_ACTION = {"ticket.check": "check", "ticket.approve": "approve", "ticket.defer": "defer"}
_CONTAINMENTS = frozenset({"containment.isolate_host", "containment.quarantine_port", "containment.access"})
_OPERATIONS = {"penahanan": "contain", "pelepasan": "release"}
_NAMES = {"check": "completeness check", "approve": "approval", "defer": "deferral", "decide": "decision",
          "contain": "containment", "release": "release of a containment"}

Key = tuple[str, str, str, str]  # ticket, actor, kind, step


def event_key(event: TimelineEvent) -> Key | None:
    """The decision an event records, or None for events that are not decisions."""
    if event.kind in _BY_EVENT:
        return event.ticket_id, event.actor, _BY_EVENT[event.kind], event.step_id or ""
    if event.kind != EventKind.COMMENT:
        return None
    if "decisions" in event.data:
        return event.ticket_id, event.actor, "decide", canonical(event.data["decisions"])
    operation = _OPERATIONS.get(str(event.data.get("operation")))
    record = event.data.get("containment")
    if operation and isinstance(record, dict):
        return event.ticket_id, event.actor, operation, str(record.get("id"))
    return None


def entry_key(entry: AuditEntry) -> Key | None:
    if entry.ticket_id is None:
        return None
    if entry.action in _BY_ACTION:
        return entry.ticket_id, entry.actor, _BY_ACTION[entry.action], str(entry.data.get("step") or "")
    if entry.action == "ticket.decide":
        return entry.ticket_id, entry.actor, "decide", canonical(entry.data.get("decisions"))
    if entry.action in _CONTAINMENTS or entry.action == "containment.release":
        kind = "release" if entry.action == "containment.release" else "contain"
        return entry.ticket_id, entry.actor, kind, str(entry.data.get("id"))
    return None


def all_events(tickets: TicketSystem, page: int = 500) -> Iterator[TimelineEvent]:
    cursor = 0
    while batch := tickets.events_since(cursor, page):
        yield from batch
        cursor = batch[-1].seq


def verify_with_tickets(audit: AuditTrail, tickets: TicketSystem) -> AuditVerification:
    """`AuditLog.verify` plus the tickets: unaudited decisions and checkpoints that no longer match."""
    chain = audit.verify()
    entries = audit.entries()
    hashes = {e.seq: e.hash for e in entries}
    last_seq = max(hashes, default=0)
    audited = Counter(k for e in entries if (k := entry_key(e)) is not None)
    problems = list(chain.problems)
    posted: dict[str, list[Checkpoint]] = defaultdict(list)
    decisions = 0
    for event in all_events(tickets):
        key = event_key(event)
        if key is not None:
            decisions += 1
            if audited[key] > 0:
                audited[key] -= 1
            else:
                step = f"{ {'decide': 'values', 'contain': 'record', 'release': 'record'}.get(key[2], 'step')} {key[3]}"
                problems.append(AuditProblem(seq=None, where="ticket", ticket_id=event.ticket_id, problem=(
                    f"{_NAMES[key[2]]} by {event.actor} ({step}, ticket event #{event.seq}) has no audit entry")))
        if event.kind == EventKind.COMMENT and CHECKPOINT_DATA in event.data and audit.key is not None:
            cp = checkpoints.parse(audit.key, event.data[CHECKPOINT_DATA])
            if cp is None:
                problems.append(AuditProblem(seq=None, where="ticket", ticket_id=event.ticket_id, problem=(
                    f"audit checkpoint comment (ticket event #{event.seq}) is not signed with the audit key")))
            else:
                posted[event.ticket_id].append(cp)
    for ticket_id, cps in posted.items():
        problems += checkpoints.check(cps, hashes, last_seq, where="ticket",
                                      label=f"ticket {ticket_id}", ticket_id=ticket_id)
    return AuditVerification(ok=not problems, entries=chain.entries, problems=problems,
                             checkpoints=chain.checkpoints + sum(len(c) for c in posted.values()),
                             decisions=decisions)
