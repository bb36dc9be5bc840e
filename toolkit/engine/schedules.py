"""Firing compliance schedules from `spbe serve` (`Server.tick`): each owed (schedule, due time) once.

Why this shape (issue 14, point 3):

* **Once across processes.** Several ``spbe serve`` may share one state store. Before anything runs, the
  firing is claimed in the store (`Schedules.claim`: a row keyed by (schedule, due time) and the new
  ``last_due``, in one exclusive transaction); the process that lost the race does nothing.
* **An outage owes one run, not a burst.** Each round asks the schedule for the latest due time at or
  before now (`Schedule.owed`); every earlier one missed while no server ran is folded into it.
* **At most once, honestly.** The claim is taken before the runner is called and never handed back: a
  process that dies mid-run leaves the row ``claimed`` (visible in the runs), rather than a second process
  repeating a run that may have half-happened. A runner's failure is recorded as ``failed``.
* **No pretending.** With no runner wired (`EngineServices.scheduled_runner` is None until the compliance
  runner exists), a firing is still claimed, audited and recorded as ``not_configured``.

Every firing is audited as the engine (``auth: engine``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from toolkit.domain.principal import ENGINE_USER, Principal
from toolkit.engine.services import EngineServices
from toolkit.ports.schedule_records import RunOutcome, Schedule, ScheduleRun

log = logging.getLogger("spbe.schedules")


def _run(app: EngineServices, schedule: Schedule, due: datetime) -> tuple[RunOutcome, str]:
    runner = app.scheduled_runner
    if runner is None:
        return "not_configured", "no scheduled runner is configured"
    try:
        result = runner.run(schedule, due)
    except Exception as exc:  # noqa: BLE001 - one schedule's failure must not stop the others or the loop
        return "failed", app.masker(f"{type(exc).__name__}: {exc}")[:2000]
    return result.outcome, app.masker(result.detail)


def fire_due(app: EngineServices, me: str) -> list[ScheduleRun]:
    """Fire every schedule owed a run now (`app.clock`); returns the firings this process claimed."""
    store = app.state.schedules
    engine = Principal.engine()
    fired: list[ScheduleRun] = []
    for schedule in store.list():
        now = app.clock.now()
        try:
            due = schedule.owed(now)
        except ValueError as exc:  # croniter found no date: this schedule is skipped, the others still fire
            log.warning("schedule %s: %s", schedule.id, app.masker(str(exc)))
            continue
        if due is None or not store.claim(schedule.id, due, me, now):
            continue
        outcome, detail = _run(app, schedule, due)
        finished = app.clock.now()
        store.finish(schedule.id, due, outcome, detail, finished)
        app.audit.append(ENGINE_USER, "schedule.fired", None, {
            "schedule": schedule.id, "profile": schedule.profile, "targets": list(schedule.targets),
            "due_at": due.isoformat(), "previous_due": schedule.last_due.isoformat() if schedule.last_due else None,
            "outcome": outcome, "detail": detail, "by": me, **engine.audit_data()})
        log.info("schedule %s fired for %s: %s", schedule.id, due.isoformat(), outcome,
                 extra={"event": "schedule.fired"})
        fired.append(ScheduleRun(schedule_id=schedule.id, due_at=due, claimed_by=me, claimed_at=now,
                                 outcome=outcome, detail=detail, finished_at=finished))
    return fired
