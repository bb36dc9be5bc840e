"""The `JobQueue` port and its models: durable jobs with leases, and the outbox beside them.

One job per (ticket, step): the idempotency key makes a duplicate approval event harmless. A worker
holds a job through a lease and a fencing token; if it dies, the lease expires and the job is
reclaimed: re-run when the action declared itself idempotent, otherwise failed for an operator to
look at, because running a non-idempotent action twice is worse than stopping. Results leave
through the outbox, written in the same transaction as the job's final state, so a crash can never
record a result that is not also queued for the ticket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from toolkit.domain.tickets.models import EventKind, TicketStatus


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED})


class JobPlan(BaseModel):
    """The plan a job carries, computed once when the job is created (or when a person retries a job
    whose plan went stale): the action's plan model as JSON, its digest (what an approver saw and what
    the worker checks before running it), and the digest of the ticket inputs it was computed from.
    ``error`` instead of a plan: planning refused the ticket (the job fails with it, nothing runs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    plan: dict[str, Any] = Field(default_factory=dict)
    plan_digest: str | None = None
    input_digest: str | None = None
    error: str | None = None


class JobSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: str
    step_id: str
    action: str
    idempotency_key: str = Field(max_length=300)
    idempotent: bool
    planned: JobPlan = Field(default_factory=JobPlan)
    max_attempts: int = Field(default=3, ge=1, le=20)


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int
    ticket_id: str
    step_id: str
    action: str
    idempotency_key: str
    idempotent: bool
    plan: dict[str, Any]
    plan_digest: str | None = None
    input_digest: str | None = None
    plan_error: str | None = None
    state: JobState
    attempt: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker: str | None = None
    lease_until: datetime | None = None
    lease_token: str | None = None
    cancel_requested: bool = False
    result: dict[str, Any] | None = None
    error: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)


class OutboxKind(StrEnum):
    EVENT = "event"
    ATTACHMENT = "attachment"
    TRANSITION = "transition"


class OutboxItem(BaseModel):
    """A message for the ticket system. ``dedupe_key`` is passed through so delivering the same
    item twice (crash after the post, before the mark) still shows once on the ticket."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: str
    kind: OutboxKind
    payload: dict[str, Any]
    dedupe_key: str


class PendingOutbox(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int
    item: OutboxItem
    attempts: int
    last_error: str | None = None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JobFinish:
    """One claimed job's final record, as `JobQueue.finish` takes it (for `JobQueue.finish_many`)."""

    job_id: int
    token: str
    state: JobState
    result: dict[str, Any] | None
    error: str | None
    outbox: list[OutboxItem]
    logs: list[str]


@runtime_checkable
class JobQueue(Protocol):
    def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        """Returns the job and whether it was created now (False: the key already existed)."""
        ...

    def reclaim_expired(self, on_failed: Callable[[Job], list[OutboxItem]] | None = None) -> list[Job]:
        """Re-queue (idempotent) or fail (not idempotent) jobs whose lease ran out; the outbox items
        ``on_failed`` returns for a failed job are written in the same transaction."""
        ...

    def release(self, job_id: int, token: str, delay_seconds: float, note: str) -> bool:
        """Return a claimed job that did not start to the queue, claimable after the delay."""
        ...

    def find(self, idempotency_key: str) -> Job | None:
        """The job created under ``idempotency_key``, if any (checked before planning a new one)."""
        ...

    def claim(self, worker: str, lease_seconds: float, ticket_id: str | None = None) -> Job | None: ...

    def claim_batch(self, worker: str, lease_seconds: float, limit: int, ticket_id: str | None = None) -> list[Job]:
        """Up to ``limit`` jobs claimed together, oldest first, each with its own lease and token (heartbeat,
        finish and reclaim stay per job). A job whose action is not idempotent only ever comes first."""
        ...

    def wait_for_work(self, timeout: float, seen: int | None = None) -> int:
        """Wait until a job may have become claimable (enqueued, released, retried, reclaimed) through this
        queue object, or ``timeout`` seconds; returns the wake-up count to pass back as ``seen``. Another
        process's jobs are only noticed when the timeout ends: it is a short poll across processes."""
        ...

    def heartbeat(self, job_id: int, token: str, lease_seconds: float) -> bool:
        """Extends the lease; False means the lease was lost and the worker must stop."""
        ...

    def finish(
        self, job_id: int, token: str, state: JobState, result: dict[str, Any] | None,
        error: str | None, outbox: list[OutboxItem], logs: list[str] | None = None,
    ) -> Job | None:
        """Records the final state, the last ``logs`` lines and the outbox items atomically; returns the
        job as recorded, None if fenced off (another worker holds it now)."""
        ...

    def finish_many(self, finishes: list[JobFinish]) -> list[Job | None]:
        """Several `finish`es in one transaction, all or nothing: each fenced by its own token (None in its
        place when fenced off), each with its logs and outbox items. A crash before it commits leaves every
        one of them running under its lease, to be reclaimed like a job whose worker died."""
        ...

    def get(self, job_id: int) -> Job: ...

    def list_jobs(self, *, state: JobState | None = None, ticket_id: str | None = None,
                  limit: int = 200) -> list[Job]: ...

    def cancel(self, job_id: int) -> Job: ...

    def retry(self, job_id: int, replanned: JobPlan | None = None) -> Job:
        """Queue a failed or canceled job again; ``replanned`` replaces its plan (a stale or refused one)."""
        ...

    def append_log(self, job_id: int, lines: list[str]) -> None: ...

    def logs(self, job_id: int, after: int = 0) -> list[tuple[int, str]]: ...

    def step_results(self, ticket_id: str) -> dict[str, Job]:
        """The latest succeeded job per step of a ticket (the facts documents are built from)."""
        ...

    def add_outbox(self, items: list[OutboxItem]) -> None: ...

    def outbox_due(self, now: datetime, limit: int = 100) -> list[PendingOutbox]: ...

    def outbox_delivered(self, item_id: int) -> None: ...

    def outbox_delivered_many(self, item_ids: list[int]) -> None:
        """Marks several delivered items at once (one write for a delivery round)."""
        ...

    def outbox_retry_later(self, item_id: int, error: str, next_attempt: datetime) -> None: ...

    def outbox_pending_count(self, ticket_id: str | None = None) -> int: ...

    def get_cursor(self, name: str) -> int: ...

    def set_cursor(self, name: str, value: int) -> None: ...


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """Exponential retry delay for outbox deliveries, capped."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts))))


# -- outbox items: what a job or a use case queues for the ticket system ------------------------------


def event_item(ticket_id: str, dedupe_key: str, kind: EventKind, text: str, *, actor: str = "spbe",
               step_id: str | None = None, data: dict[str, Any] | None = None) -> OutboxItem:
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.EVENT, dedupe_key=dedupe_key,
                      payload={"kind": kind.value, "actor": actor, "text": text, "step_id": step_id,
                               "data": data or {}})


def attachment_item(ticket_id: str, dedupe_key: str, path: Path, name: str, media_type: str,
                    kind: str | None, actor: str = "spbe") -> OutboxItem:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.ATTACHMENT, dedupe_key=dedupe_key,
                      payload={"path": str(path), "name": name, "media_type": media_type, "kind": kind,
                               "actor": actor, "sha256": digest})


def transition_item(ticket_id: str, dedupe_key: str, status: TicketStatus, actor: str) -> OutboxItem:
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.TRANSITION, dedupe_key=dedupe_key,
                      payload={"status": status.value, "actor": actor})
