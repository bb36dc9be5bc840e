"""The engine's own small stores, as ports: allocations, containment records, the SPLP register of
issued credentials, escalation claims and compliance schedules.

Why ports: actions and use cases used to open SQLite files by path themselves, so the state was spread
over a dozen files and nothing but SQLite could hold it. Now the composition root builds one
`StateStores` (by registry name, ``settings.state.kind``; the embedded default is
``integrations.state.sqlite``, one file ``state.db``) and hands it out through `toolkit.services.Services`,
and a server database can implement these Protocols later.

**Allocation is one transaction.** Each allocator's ``claim`` returns what the (ticket, step) already
holds, else calls ``choose`` with what is taken and stores its answer, all in one transaction that
excludes every other writer (SQLite: ``BEGIN IMMEDIATE``; a server: a row or table lock). ``choose`` is
the feature's pure policy (first free host that fits, first free VLAN...), so an implementation never
duplicates it; it may raise (a `ConflictError`: nothing free), which stores nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from toolkit.ports.compliance_records import ComplianceRun, Waiver, WaiverRequest, WaiverStatus
from toolkit.ports.schedule_records import RunOutcome, Schedule, ScheduleRun
from toolkit.ports.state_records import (
    ContainmentKind,
    ContainmentRecord,
    ContainmentStatus,
    EscalationClaim,
    IssuedCredential,
    RackSpace,
    SegmentAllocation,
    TunnelSlot,
)
from toolkit.survey.ikm import IkmRow
from toolkit.survey.models import SurveyAnswer


class HostAllocations(Protocol):
    """Which pool host serves which (ticket, step) (`toolkit.host_pool`)."""

    def allocation(self, ticket_id: str, step_id: str) -> str | None:
        """The host name (ticket, step) holds, if any."""
        ...

    def claim(self, ticket_id: str, step_id: str, choose: Callable[[frozenset[str]], str]) -> str:
        """The host of (ticket, step): the one it holds, else ``choose(taken host names)``, stored."""
        ...

    def release(self, ticket_id: str) -> None: ...


class SegmentAllocations(Protocol):
    """VLANs, subnets and access ports given to tickets (`toolkit.network.allocation`), one per ticket."""

    def get(self, ticket_id: str) -> SegmentAllocation | None: ...

    def all(self) -> list[SegmentAllocation]: ...

    def claim(self, ticket_id: str,
              choose: Callable[[Sequence[SegmentAllocation]], SegmentAllocation]) -> SegmentAllocation:
        """The ticket's allocation: the one it has, else ``choose(every other ticket's)``, stored."""
        ...

    def release(self, ticket_id: str) -> None: ...


class TunnelAllocations(Protocol):
    """VPN tunnel slots on the DC gateways (`toolkit.vpn.inventory`), one per (ticket, step)."""

    def claim(self, ticket: str, step: str, dc_host: str, site_lan: ipaddress.IPv4Network,
              choose: Callable[[Sequence[TunnelSlot]], int]) -> int:
        """The slot of (ticket, step): the one it has, else ``choose(the slots taken on dc_host)``, stored."""
        ...

    def release(self, ticket: str) -> None: ...


class ContainmentRecords(Protocol):
    """Containment records (`toolkit.containment`): at most one open per (kind, target)."""

    def open_for(self, kind: ContainmentKind, target: str) -> ContainmentRecord | None:
        """The open (applying/active/releasing) record of a target, if any."""
        ...

    def begin(self, ticket_id: str, kind: ContainmentKind, target: str, actor: str,
              params: dict[str, Any]) -> tuple[ContainmentRecord, bool]:
        """A new ``applying`` record, or the open one of the same ticket (``False``: not new); an open
        record of another ticket is a `ConflictError`. The check and the insert are one transaction."""
        ...

    def save(self, record: ContainmentRecord) -> ContainmentRecord:
        """Store ``record`` (its ``updated_at`` set now); a `NotFoundError` for an unknown id."""
        ...

    def get(self, record_id: str) -> ContainmentRecord: ...

    def list(self, ticket_id: str | None = None,
             status: ContainmentStatus | None = None) -> list[ContainmentRecord]: ...


class IssuedCredentials(Protocol):
    """The register of API credentials spbe issued (`toolkit.splp`), one row per SPLP ticket."""

    def record(self, cred: IssuedCredential) -> list[str]:
        """Store the ticket's live credential (replacing its row); the tickets whose active rows for the
        same consumer and gateway it supersedes (ended as revoked)."""
        ...

    def rotated(self, ticket_id: str, *, key_id: str, masked: str, issued_at: datetime,
                expires_at: datetime) -> IssuedCredential: ...

    def end(self, ticket_id: str, status: Literal["revoked", "expired"], *, actor: str, reason: str,
            at: datetime) -> IssuedCredential: ...

    def claim_due(self, now: datetime) -> list[IssuedCredential]:
        """Atomically take every active row past its expiry (status ``expiring``) for one sweep, so two
        sweeps at once never both get a row."""
        ...

    def release(self, ticket_id: str) -> None:
        """Give a claimed (``expiring``) row back to the next sweep."""
        ...

    def find(self, ticket_id: str) -> IssuedCredential | None: ...

    def get(self, ticket_id: str) -> IssuedCredential:
        """A `NotFoundError` when the ticket has no credential issued by spbe."""
        ...

    def by_consumer(self, consumer: str) -> list[IssuedCredential]: ...

    def all(self) -> list[IssuedCredential]: ...


class EscalationClaims(Protocol):
    """Which escalations were claimed and sent (`toolkit.engine.escalation`): "once" across processes."""

    def claim(self, ticket_id: str, key: str, me: str, now: datetime, lease: timedelta) -> bool:
        """True when ``me`` now holds (ticket, key): never claimed, or claimed longer than ``lease``
        ago and never completed."""
        ...

    def done(self, ticket_id: str, key: str, channel: str, now: datetime) -> None: ...

    def claims(self) -> list[EscalationClaim]: ...


class Schedules(Protocol):
    """Compliance schedules and their firings (`toolkit.engine.schedules`): each (schedule, due time)
    fires once across every ``spbe serve`` process, and an outage owes one run, not a burst."""

    def add(self, schedule: Schedule) -> Schedule:
        """Store a new schedule (``paused``/``last_due`` as given); a `ConflictError` if the id exists."""
        ...

    def get(self, schedule_id: str) -> Schedule:
        """A `NotFoundError` for an unknown id."""
        ...

    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> tuple[Schedule, bool]:
        """Pause or resume; ``(schedule, changed)``. Resuming sets ``not_before = now``: the runs missed
        while paused are not owed. A `NotFoundError` for an unknown id."""
        ...

    def claim(self, schedule_id: str, due_at: datetime, me: str, now: datetime) -> bool:
        """True when ``me`` now holds the firing (schedule, due_at): the schedule exists, is not paused, its
        ``last_due`` is earlier, and no row for (schedule, due_at) exists. The check, the claim row and the
        new ``last_due`` are one transaction that excludes every other writer."""
        ...

    def finish(self, schedule_id: str, due_at: datetime, outcome: RunOutcome, detail: str, now: datetime) -> None:
        """Record what the claimed firing did."""
        ...

    def runs(self, schedule_id: str | None = None) -> list[ScheduleRun]:
        """Firings, oldest due time first."""
        ...

    def list(self) -> list[Schedule]:
        """Every schedule, by id (last: a method named ``list`` shadows the builtin in later annotations)."""
        ...


class ComplianceHistory(Protocol):
    """Every compliance run with its per-target, per-rule results (issue 14, point 6); append-only."""

    def record(self, run: ComplianceRun) -> None:
        """Store ``run``; recording the same run id twice stores it once."""
        ...

    def get(self, run_id: str) -> ComplianceRun: ...

    def runs(self, profile: str | None = None, since: datetime | None = None,
             limit: int | None = None) -> list[ComplianceRun]:
        """Runs oldest first, optionally of one profile and started at or after ``since``; ``limit`` keeps
        the newest ``limit``."""
        ...


class Waivers(Protocol):
    """Waivers of one rule on one target (issue 14, point 5)."""

    def request(self, req: WaiverRequest, by: str, now: datetime) -> Waiver:
        """Store a new ``requested`` waiver with the next id (``W-0001``...)."""
        ...

    def decide(self, waiver_id: str, status: WaiverStatus, by: str, now: datetime,
               note: str | None = None) -> Waiver:
        """Move a ``requested`` waiver to approved/rejected, or an approved one to revoked; any other
        transition raises `toolkit.errors.ConflictError`; an unknown id `NotFoundError`."""
        ...

    def get(self, waiver_id: str) -> Waiver: ...

    def list(self, profile: str | None = None, target: str | None = None) -> list[Waiver]: ...


class RackAllocations(Protocol):
    """Colocation rack units and power, one row per ticket (`toolkit.actions.colocation`)."""

    def get(self, ticket_id: str) -> RackSpace | None: ...

    def claim(self, ticket_id: str, choose: Callable[[Sequence[RackSpace]], RackSpace]) -> RackSpace:
        """The ticket's space: the one it holds, else ``choose(every other ticket's)``, stored in one transaction."""
        ...

    def release(self, ticket_id: str) -> None: ...


class SurveyAnswers(Protocol):
    """Satisfaction-survey answers of closed tickets (`toolkit.survey`), one per ticket, and their IKM."""

    def record(self, answer: SurveyAnswer) -> None:
        """Store the answer; a `ConflictError` when the ticket has one already (never an overwrite)."""
        ...

    def get(self, ticket_id: str) -> SurveyAnswer | None: ...

    def ikm_by_service(self, start: datetime, end: datetime, service_id: str | None = None) -> list[IkmRow]:
        """`toolkit.survey.ikm.ikm_by_service` over this store's answers, period [start, end)."""
        ...

    def ikm_overall(self, start: datetime, end: datetime) -> IkmRow | None: ...


class DocumentNumberRegister(Protocol):
    """Document numbers (`toolkit.letters.numbers`): a sequence per type and year that only grows, one row per
    issued number; ``(kode, ticket_id)``, ``(kode, tahun, seq)`` and the number text are each unique. Shared by
    every process and host of a deployment, so two hosts never print one number on two documents."""

    def take(self, *, ticket_id: str, kode: str, year: int, number_of: Callable[[int], str]) -> str:
        """The number ``ticket_id`` already holds for ``kode``, or the next of ``year``'s sequence formatted by
        ``number_of(seq)``, committed before it is returned; a `ConflictError` when that text is already held
        by another document (never a duplicate)."""
        ...

    def issued(self, kode: str | None = None) -> list[tuple[str, str, int, int]]:
        """(ticket, number, year, sequence) of every number issued (of one type), oldest first."""
        ...


class StateStores(Protocol):
    """The engine's stores of one backend, each built once; ``close`` ends every connection they opened."""

    @property
    def hosts(self) -> HostAllocations: ...

    @property
    def segments(self) -> SegmentAllocations: ...

    @property
    def tunnels(self) -> TunnelAllocations: ...

    @property
    def containment(self) -> ContainmentRecords: ...

    @property
    def issued(self) -> IssuedCredentials: ...

    @property
    def escalations(self) -> EscalationClaims: ...

    @property
    def schedules(self) -> Schedules: ...

    @property
    def compliance_history(self) -> ComplianceHistory: ...

    @property
    def waivers(self) -> Waivers: ...

    @property
    def racks(self) -> RackAllocations: ...

    @property
    def survey(self) -> SurveyAnswers: ...

    @property
    def document_numbers(self) -> DocumentNumberRegister: ...

    def close(self) -> None: ...
