"""What every action is: a typed plan built from the ticket, then an execution that returns data.

Planning is separate from execution so that the plan (extra vars, target hosts, rendered
configs) can be validated, shown to an approver and stored with the job before anything touches
a host. Plans never hold secret values, only the names of secrets to resolve at execution.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from toolkit.directory import Directory
from toolkit.jobs import Job
from toolkit.masking import Masker
from toolkit.services import Services
from toolkit.settings import Settings
from toolkit.tickets.models import Ticket, TimelineEvent


class Artifact(BaseModel):
    """A file an action produced, to be attached to the ticket through the outbox."""

    model_config = ConfigDict(frozen=True)
    name: str
    path: Path
    media_type: str = "text/markdown"
    kind: str | None = None


class ActionResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    summary: str = Field(description="one line, English, for logs and the CLI")
    comment: str = Field(description="Bahasa Indonesia, posted to the ticket")
    facts: dict[str, Any] = Field(default_factory=dict)
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
    now: datetime


class RunContext(BaseModel):
    """What the worker hands an execution. ``services`` are the worker's own wired ports (its `App`), so an
    action that needs the ticket system, the audit log or the identity provider is given them rather than
    building a second composition root from the settings."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    job_id: int
    attempt: int
    log: Callable[[str], None]
    should_cancel: Callable[[], bool]
    work_dir: Path
    mask: Masker
    services: SkipValidation[Services] = Field(repr=False)  # a Protocol: checked by mypy, not at run time


@runtime_checkable
class Action(Protocol):
    name: str
    idempotent: bool

    def plan(self, ctx: ActionContext) -> dict[str, Any]:
        """Validate inputs and return the plan as JSON-able data (no secret values)."""
        ...

    def execute(self, ctx: ActionContext, plan: dict[str, Any], run: RunContext) -> ActionResult: ...


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
