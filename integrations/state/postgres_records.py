"""The PostgreSQL stores of records: containment, the register of issued credentials, escalation claims.

Same contracts as `integrations.state.containment`, `.issued` and `.escalations`, with the atomic step
each needs done by the server rather than by a file lock:

- containment: ``begin`` locks the table against other writers (check "no open record of the target",
  then insert); the partial unique index ``containment_one_open`` refuses a second open record anyway;
- issued credentials: ``claim_due`` is one ``UPDATE ... RETURNING`` (under READ COMMITTED a concurrent
  sweep re-checks ``status = 'active'`` on the row it waited for, so it never gets a row twice);
  ``record`` (supersede, then replace the ticket's row) holds the table lock;
- escalations: ``claim`` is ``INSERT ... ON CONFLICT DO NOTHING``, else ``UPDATE ... WHERE`` the lease ran
  out and never completed: one statement each, the row lock decides between two processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from integrations.state.postgres_tx import Cursor, PgStore, utc_now, utc_or_none
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.state_records import (
    OPEN_STATES,
    ContainmentKind,
    ContainmentRecord,
    ContainmentStatus,
    EscalationClaim,
    IssuedCredential,
)


class PgContainmentStore(PgStore):
    """`toolkit.ports.state.ContainmentRecords`: table ``containment``; ids ``C<seq>`` as in SQLite."""

    @staticmethod
    def _open_for(cur: Cursor, kind: ContainmentKind, target: str) -> ContainmentRecord | None:
        row = cur.execute("SELECT record FROM containment WHERE kind = %s AND target = %s AND status = ANY(%s) "
                          "ORDER BY seq DESC LIMIT 1", (kind.value, target, [s.value for s in OPEN_STATES])).fetchone()
        return ContainmentRecord.model_validate_json(row["record"]) if row else None

    def open_for(self, kind: ContainmentKind, target: str) -> ContainmentRecord | None:
        with self._tx() as cur:
            return self._open_for(cur, kind, target)

    def begin(self, ticket_id: str, kind: ContainmentKind, target: str, actor: str,
              params: dict[str, Any]) -> tuple[ContainmentRecord, bool]:
        now = utc_now()
        with self._tx(exclusive="containment") as cur:
            existing = self._open_for(cur, kind, target)
            if existing is not None:
                if existing.ticket_id != ticket_id:
                    raise ConflictError(
                        f"{kind.value} {target} is already contained by ticket {existing.ticket_id} "
                        f"(record {existing.id}, {existing.status.value}); release that first",
                        record=existing.id, ticket=existing.ticket_id)
                return existing, False
            row = cur.execute("INSERT INTO containment (ticket_id, kind, target, status, record) "
                              "VALUES (%s, %s, %s, %s, '{}') RETURNING seq",
                              (ticket_id, kind.value, target, ContainmentStatus.APPLYING.value)).fetchone()
            assert row is not None  # noqa: S101 - INSERT ... RETURNING returns the row
            record = ContainmentRecord(
                id=f"C{row['seq']}", ticket_id=ticket_id, kind=kind, target=target,
                status=ContainmentStatus.APPLYING, actor=actor, created_at=now, updated_at=now, params=params)
            cur.execute("UPDATE containment SET record = %s WHERE seq = %s", (record.model_dump_json(), row["seq"]))
            return record, True

    def save(self, record: ContainmentRecord) -> ContainmentRecord:
        record = record.model_copy(update={"updated_at": utc_now()})
        with self._tx() as cur:
            cur.execute("UPDATE containment SET status = %s, record = %s WHERE seq = %s",
                        (record.status.value, record.model_dump_json(), _seq(record.id)))
            if cur.rowcount != 1:
                raise NotFoundError(f"containment record {record.id} does not exist", record=record.id)
        return record

    def get(self, record_id: str) -> ContainmentRecord:
        with self._tx() as cur:
            row = cur.execute("SELECT record FROM containment WHERE seq = %s", (_seq(record_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"containment record {record_id} does not exist", record=record_id)
        return ContainmentRecord.model_validate_json(row["record"])

    def list(self, ticket_id: str | None = None, status: ContainmentStatus | None = None) -> list[ContainmentRecord]:
        with self._tx() as cur:
            rows = cur.execute("SELECT record FROM containment WHERE (%(t)s::text IS NULL OR ticket_id = %(t)s) "
                               "AND (%(s)s::text IS NULL OR status = %(s)s) ORDER BY seq",
                               {"t": ticket_id, "s": status.value if status else None}).fetchall()
        return [ContainmentRecord.model_validate_json(r["record"]) for r in rows]


def _seq(record_id: str) -> int:
    try:
        seq = int(record_id.removeprefix("C"))
    except ValueError:
        raise NotFoundError(f"containment record {record_id!r} does not exist", record=record_id) from None
    if not 0 < seq < 2**63:
        raise NotFoundError(f"containment record {record_id!r} does not exist", record=record_id)
    return seq


_ISSUED_COLUMNS = tuple(IssuedCredential.model_fields)


class PgIssuedStore(PgStore):
    """`toolkit.ports.state.IssuedCredentials`: table ``issued``, one row per SPLP ticket, never a secret."""

    @staticmethod
    def _model(row: dict[str, Any]) -> IssuedCredential:
        return IssuedCredential.model_validate(
            {k: utc_or_none(v) if isinstance(v, datetime) else v for k, v in row.items()})

    def record(self, cred: IssuedCredential) -> list[str]:
        data = cred.model_dump()
        columns = ", ".join(_ISSUED_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _ISSUED_COLUMNS if c != "ticket_id")
        with self._tx(exclusive="issued") as cur:
            superseded = [r["ticket_id"] for r in cur.execute(
                "UPDATE issued SET status = 'revoked', ended_at = %s, ended_by = 'system', reason = %s "
                "WHERE consumer = %s AND gateway = %s AND ticket_id != %s AND status = 'active' RETURNING ticket_id",
                (cred.issued_at, f"digantikan oleh tiket {cred.ticket_id}", cred.consumer, cred.gateway,
                 cred.ticket_id))]
            cur.execute(f"INSERT INTO issued ({columns}) VALUES ({', '.join(['%s'] * len(_ISSUED_COLUMNS))}) "  # noqa: S608
                        f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}", [data[c] for c in _ISSUED_COLUMNS])
        return sorted(superseded)

    def rotated(self, ticket_id: str, *, key_id: str, masked: str, issued_at: datetime,
                expires_at: datetime) -> IssuedCredential:
        with self._tx() as cur:
            cur.execute("UPDATE issued SET key_id = %s, masked = %s, issued_at = %s, expires_at = %s "
                        "WHERE ticket_id = %s", (key_id, masked, issued_at, expires_at, ticket_id))
        return self.get(ticket_id)

    def end(self, ticket_id: str, status: Literal["revoked", "expired"], *, actor: str, reason: str,
            at: datetime) -> IssuedCredential:
        with self._tx() as cur:
            cur.execute("UPDATE issued SET status = %s, ended_at = %s, ended_by = %s, reason = %s WHERE ticket_id = %s",
                        (status, at, actor, reason[:500], ticket_id))
        return self.get(ticket_id)

    def claim_due(self, now: datetime) -> list[IssuedCredential]:
        with self._tx() as cur:
            rows = cur.execute("UPDATE issued SET status = 'expiring' WHERE status = 'active' AND expires_at <= %s "
                               "RETURNING *", (now,)).fetchall()
        return sorted((self._model(r) for r in rows), key=lambda c: (c.expires_at, c.ticket_id))

    def release(self, ticket_id: str) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE issued SET status = 'active' WHERE ticket_id = %s AND status = 'expiring'",
                        (ticket_id,))

    def find(self, ticket_id: str) -> IssuedCredential | None:
        with self._tx() as cur:
            row = cur.execute("SELECT * FROM issued WHERE ticket_id = %s", (ticket_id,)).fetchone()
        return None if row is None else self._model(row)

    def get(self, ticket_id: str) -> IssuedCredential:
        found = self.find(ticket_id)
        if found is None:
            raise NotFoundError(f"ticket {ticket_id} has no API credential issued by spbe", ticket=ticket_id)
        return found

    def by_consumer(self, consumer: str) -> list[IssuedCredential]:
        with self._tx() as cur:
            rows = cur.execute("SELECT * FROM issued WHERE consumer = %s ORDER BY issued_at, ticket_id COLLATE \"C\"",
                               (consumer,)).fetchall()
        return [self._model(r) for r in rows]

    def all(self) -> list[IssuedCredential]:
        with self._tx() as cur:
            rows = cur.execute("SELECT * FROM issued ORDER BY issued_at, ticket_id COLLATE \"C\"").fetchall()
        return [self._model(r) for r in rows]


class PgEscalationStore(PgStore):
    """`toolkit.ports.state.EscalationClaims`: table ``escalations``, one row per (ticket, key)."""

    def claim(self, ticket_id: str, key: str, me: str, now: datetime, lease: timedelta) -> bool:
        with self._tx() as cur:
            cur.execute("INSERT INTO escalations (ticket_id, key, claimed_at, claimed_by) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (ticket_id, key) DO NOTHING", (ticket_id, key, now, me))
            if cur.rowcount == 1:
                return True
            cur.execute("UPDATE escalations SET claimed_at = %s, claimed_by = %s WHERE ticket_id = %s AND key = %s "
                        "AND notified_at IS NULL AND claimed_at <= %s", (now, me, ticket_id, key, now - lease))
            return cur.rowcount == 1

    def done(self, ticket_id: str, key: str, channel: str, now: datetime) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE escalations SET notified_at = %s, channel = %s WHERE ticket_id = %s AND key = %s",
                        (now, channel, ticket_id, key))

    def claims(self) -> list[EscalationClaim]:
        with self._tx() as cur:
            rows = cur.execute("SELECT ticket_id, key, notified_at FROM escalations "
                               "ORDER BY ticket_id COLLATE \"C\", key COLLATE \"C\"").fetchall()
        return [EscalationClaim(ticket_id=r["ticket_id"], key=r["key"], notified_at=utc_or_none(r["notified_at"]))
                for r in rows]
