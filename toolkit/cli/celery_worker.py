"""The worker side of the Celery engine: the job task, and starting a worker for some families (`spbe serve
--role worker`). In the CLI layer because a worker process is a composition root: it opens an `App` and
hands each message to the engine (`toolkit.engine.distributed.handle_message`); integrations/celery holds
only the broker's side (the app's settings, publishing, the slot table).

Each worker process (a prefork child, or the solo pool's one process) opens its own `App` on first use (stores
are not shared across a fork) and runs a message through `toolkit.engine.distributed.handle_message`: the
store's claim by id and lease decide whether anything runs. A target at its cap sends the message back with a
short jittered delay (a retry publishes it again, then acknowledges this delivery).
"""

from __future__ import annotations

import os
import random
from typing import Any

from celery import Celery

from integrations.celery.app import TASK, make_celery, queue_name
from integrations.celery.target_slots import slots_for
from toolkit.settings import Settings, load_settings

_STATE: dict[str, Any] = {}


def _process_app() -> tuple[Any, Any]:
    """This process's App and slot table, opened once per process (a forked child opens its own)."""
    if _STATE.get("pid") != os.getpid():
        from toolkit.bootstrap import App

        settings = _STATE.get("settings") or load_settings()
        app = App(settings)
        app.warm_for_jobs()
        _STATE.update(pid=os.getpid(), app=app, slots=slots_for(app.queue, settings.state_dir))
    return _STATE["app"], _STATE["slots"]


def bind(celery: Celery) -> Celery:
    @celery.task(name=TASK, bind=True, acks_late=True, max_retries=None)  # type: ignore[untyped-decorator]
    def run_job(self: Any, job_id: int) -> str:
        from toolkit.engine.distributed import handle_message
        from toolkit.engine.worker import worker_id

        app, slots = _process_app()
        outcome = handle_message(app, slots, int(job_id), worker_id(f"celery-{self.request.hostname or ''}"))
        if outcome == "busy":
            raise self.retry(countdown=0.1 + random.random() * 0.3)  # noqa: S311 - jitter, not a secret
        return outcome

    return celery


def celery_for(settings: Settings | None = None) -> Celery:
    """The worker's Celery app (``celery -A toolkit.cli.celery_worker:celery_app`` builds it from the env)."""
    settings = settings or load_settings()
    _STATE["settings"] = settings
    return bind(make_celery(settings))


def run_worker(settings: Settings, families: list[str], concurrency: int, pool: str = "prefork",
               hostname: str | None = None, loglevel: str = "WARNING") -> None:
    """Run a Celery worker in this process for ``families``' queues until it is told to stop (SIGTERM: warm
    shutdown, running jobs finish; their leases cover a kill)."""
    celery = celery_for(settings)
    # The App (settings, catalog, stores) is opened before the first message, not by it: under load that
    # took seconds, which the first job after a worker's start would otherwise wait.
    if pool == "prefork":
        from celery.signals import worker_process_init

        from toolkit.actions.base import ActionRegistry
        from toolkit.actions.builtin import register_builtin_actions

        # The action modules are imported here, once, and every forked child inherits them: each child then
        # only opens its own stores (nothing open crosses the fork), not 2-3 CPU-seconds of imports each.
        register_builtin_actions(ActionRegistry())
        worker_process_init.connect(lambda **_: _process_app(), weak=False)
    else:
        _process_app()
    argv = ["worker", "--queues", ",".join(queue_name(f) for f in families), "--concurrency", str(concurrency),
            "--pool", pool, "--loglevel", loglevel, "--without-gossip", "--without-mingle", "--without-heartbeat"]
    argv += ["--hostname", hostname or f"spbe-{os.getpid()}@%h"]  # one node name per process, several per host
    celery.worker_main(argv)


def __getattr__(name: str) -> Any:  # ``celery -A toolkit.cli.celery_worker:celery_app``: built when asked for
    if name == "celery_app":
        return celery_for()
    raise AttributeError(name)
