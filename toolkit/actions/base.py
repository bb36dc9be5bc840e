"""What every action is: a typed plan built from the ticket, then an execution that returns typed facts.

Planning is separate from execution so that the plan (extra vars, target hosts, rendered configs) can
be validated, shown to an approver and stored with the job before anything touches a host; the worker
then executes exactly that stored plan, validated back into the action's ``Plan`` model. So a plan is
pure: it reads the ticket, the catalog, the inventory and earlier results, and changes nothing --
resources (pool hosts, VLANs, tunnel slots, keys) are allocated by ``execute``, keyed by ticket and
step so that a retry or a second worker gets the same allocation. Plans never hold secret values,
only the names of secrets to resolve at execution.

``inputs`` names what the plan was computed from; its digest is stored with the job, and a worker
refuses a plan whose inputs have changed since (a stale plan is never run: retrying the job plans again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, SkipValidation

from toolkit.at_rest import ARTIFACT, Sealer
from toolkit.domain.catalog.roles import RoleBook
from toolkit.domain.decisions import effective_fields
from toolkit.domain.tickets.models import Ticket, TimelineEvent
from toolkit.errors import InvalidInputError
from toolkit.masking import Masker
from toolkit.ports.directory import Directory
from toolkit.ports.jobs import Job
from toolkit.private_files import private_dir
from toolkit.services import Services
from toolkit.settings import Settings


class Artifact(BaseModel):
    """A file an action produced, to be attached to the ticket through the outbox."""

    model_config = ConfigDict(frozen=True)
    name: str
    path: Path
    media_type: str = "text/markdown"
    kind: str | None = None


class ActionPlan(BaseModel):
    """Base of every action's plan. ``action`` is the action's name (each plan narrows it to a
    ``Literal``), so a stored plan names what it is for and cannot be handed to another action."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    action: str


class ActionFacts(BaseModel):
    """Base of every action's facts: what a run found or changed, stored with the job and read by later
    steps and documents. Each action declares its own model; this one is empty (a failed run, a
    document)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


FactsT = TypeVar("FactsT", bound=ActionFacts)


class ActionResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    summary: str = Field(description="one line, English, for logs and the CLI")
    comment: str = Field(description="Bahasa Indonesia, posted to the ticket")
    facts: SerializeAsAny[ActionFacts] = Field(default_factory=ActionFacts, description="the action's own Facts model")
    changed: list[str] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    duration_s: float = 0.0


class ActionContext(BaseModel):
    """Everything an action may read; nothing it can write except through its result."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    ticket: Ticket
    service: Any
    step: Any
    prior: dict[str, Job]
    timeline: list[TimelineEvent]
    settings: Settings
    directory: Directory
    roles: RoleBook  # the catalog's role book: who is an applicant, a reporter, a signer in this deployment
    now: datetime


class RunContext(BaseModel):
    """What the worker hands an execution. ``services`` are the worker's own wired ports (its `App`), so an
    action that needs the ticket system, the audit log or the identity provider is given them rather than
    building a second composition root from the settings."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, populate_by_name=True)
    job_id: int
    attempt: int
    log: Callable[[str], None]
    should_cancel: Callable[[], bool]
    work_root: Path = Field(alias="work_dir", description="the ticket's working directory, made when first used")
    mask: Masker
    services: SkipValidation[Services] = Field(repr=False)  # a Protocol: checked by mypy, not at run time

    @property
    def work_dir(self) -> Path:
        """The ticket's working directory (0700), made on first use: most steps (a comment, a decision, a
        gateway call) never write a file, and a mkdir/chmod chain per job was a tenth of a no-op job's cost."""
        return private_dir(self.work_root)

    @cached_property
    def sealer(self) -> Sealer:
        """The at-rest sealer of ``settings.vault.key``, resolved when the job first writes a file for the
        ticket (a `ConfigurationError` naming the setting when the key is missing)."""
        return Sealer.from_settings(self.services.settings)

    def write_artifact(self, name: str, content: bytes | str, *, media_type: str = "text/markdown",
                       kind: str | None = None) -> Artifact:
        """Write a file for the ticket into the working directory, encrypted at rest from its first byte
        (`toolkit.at_rest`, context `ARTIFACT`), and return it as an `Artifact` for the result. The outbox
        opens it when it attaches it; nothing else reads it from disk (the ticket is the way to its content).
        Written sealed rather than sealed afterwards: no moment exists where the plaintext lies on disk.

        ``name`` is a bare file name (no directory part, no leading dot): it also names the attachment."""
        if not name or name != Path(name).name or name.startswith(".") or "\x00" in name or len(name) > 200:
            raise InvalidInputError(f"an artifact's name is a plain file name, not {name!r}", name=name[:200])
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.sealer.write_file(self.work_dir / name, data, ARTIFACT, durable=False)
        return Artifact(name=name, path=path, media_type=media_type, kind=kind)


@runtime_checkable
class Action(Protocol):
    name: str
    idempotent: bool

    @property
    def Plan(self) -> type[ActionPlan]:
        """The model the stored plan is validated into."""
        ...

    @property
    def Facts(self) -> type[ActionFacts]:
        """The model of the facts a successful run returns."""
        ...

    def inputs(self, ctx: ActionContext) -> Mapping[str, Any]:
        """What the plan is computed from (JSON-able); a change makes a stored plan stale."""
        ...

    def plan(self, ctx: ActionContext) -> ActionPlan:
        """Validate inputs and return the plan: pure (no allocation, nothing changed), no secret values."""
        ...

    def execute(self, ctx: ActionContext, plan: Any, run: RunContext) -> ActionResult:
        """Carry out ``plan`` (an instance of ``Plan``, exactly as stored with the job)."""
        ...


def ticket_inputs(ctx: ActionContext) -> dict[str, Any]:
    """The default inputs of a plan: the ticket's service and its fields as decided so far."""
    return {"service": ctx.ticket.service_id, "fields": effective_fields(ctx.ticket.fields, ctx.timeline)}


def prior_facts(ctx: ActionContext, action: str, model: type[FactsT]) -> FactsT | None:
    """The facts of this ticket's latest succeeded run of ``action``, validated into its model."""
    for job in reversed(list(ctx.prior.values())):
        if job.action == action and job.result and job.result.get("ok", True):
            return model.model_validate(job.result.get("facts") or {})
    return None


def digest(value: Any) -> str:
    """SHA-256 of a JSON-able value in canonical form (sorted keys, no spaces)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class BaseAction:
    """The defaults most actions share: idempotent, no facts, inputs = the ticket's fields."""

    name: str = ""
    idempotent: bool = True
    Plan: type[ActionPlan] = ActionPlan
    Facts: type[ActionFacts] = ActionFacts

    def inputs(self, ctx: ActionContext) -> Mapping[str, Any]:
        return ticket_inputs(ctx)


class ActionRegistry:
    """Action names (as bound in the catalog) to action objects; one instance per engine."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action: Action) -> None:
        self._actions[action.name] = action

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)
