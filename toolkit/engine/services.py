"""What the engine and the commands ask of the composition root: the `Services` of every use case, plus
the action registry the scheduler plans with and the worker runs, and this process's job telemetry.

A protocol rather than `toolkit.bootstrap.App` itself: the composition root sits above the commands and
the engine (it builds them), so they may name only what it provides, never import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from toolkit.services import Services

if TYPE_CHECKING:
    from toolkit.actions.base import ActionRegistry
    from toolkit.observability.telemetry import Telemetry
    from toolkit.ports.scheduled_runner import ScheduledRunner


class EngineServices(Services, Protocol):
    @property
    def actions(self) -> ActionRegistry: ...

    @property
    def telemetry(self) -> Telemetry: ...

    @property
    def scheduled_runner(self) -> ScheduledRunner | None:
        """What a fired compliance schedule calls (`toolkit.engine.schedules`); None until one is wired."""
        ...
