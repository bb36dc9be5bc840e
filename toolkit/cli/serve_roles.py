"""`spbe serve --role api|trigger|worker`: one host runs some of the engine's parts (docs/deploy.md).

- ``api``: the HTTP API and portal (an explicit ``--role api`` turns settings.http on);
- ``trigger``: the trigger loop (events, sweeps, escalations, schedules) and the outbox; with a distributed
  engine also the sweep that re-queues dead workers' jobs and publishes overdue messages again;
- ``worker``: runs jobs: the local engine's worker threads, or with ``settings.engine.kind = "celery"`` a
  Celery worker for ``--families`` (``--workers`` processes of ``--pool``).

No ``--role``: every role, as `spbe serve` always ran (the HTTP API only when settings.http.enabled).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from toolkit.errors import ConfigurationError
from toolkit.observability.config import parse_address

ROLES = ("api", "trigger", "worker")


def parse_roles(values: tuple[str, ...]) -> frozenset[str]:
    if not values:
        return frozenset(ROLES)
    chosen: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if name not in ROLES:
                raise click.BadParameter(f"unknown role {part.strip()[:40]!r}; choose from {', '.join(ROLES)}",
                                         param_hint="--role")
            chosen.add(name)
    return frozenset(chosen)


def serve_roles(obj: Any, roles: frozenset[str], *, workers: int | None, duration: float | None,
                metrics_at: str | None, http_at: str | None, families: str | None, pool: str) -> None:
    """Explicit roles: the settings overrides they imply (HTTP on exactly when ``api`` is one), then `run_roles`."""
    prepare_serving(obj, metrics_at, http_at, http_enabled="api" in roles)
    run_roles(obj, roles, workers=workers, duration=duration, families=families, pool=pool)


def prepare_serving(obj: Any, metrics_at: str | None, http_at: str | None, *,
                    http_enabled: bool | None = None) -> None:
    """What every `spbe serve` does before the app opens a store: an owner-only umask (whatever a worker, a
    playbook run or a library creates from here on), the --metrics and --http overrides (else, with
    ``http_enabled``, the HTTP API turned on or off), daemon logging."""
    from toolkit.cli.web_cmd import http_override

    os.umask(0o077)
    if metrics_at:
        try:
            host, port = parse_address(metrics_at)
        except ValueError as exc:
            raise ConfigurationError(f"--metrics: {exc}", name="metrics") from None
        obj.override(metrics={"enabled": True, "host": host, "port": port})
    if http_at:
        obj.override(http=http_override(obj, http_at))
    elif http_enabled is not None:
        obj.override(http={"enabled": http_enabled})
    obj.daemon_logging()


def _families(settings: Any, families: str | None) -> list[str]:
    known = sorted({*settings.engine.families.values(), "default"})
    if not families:
        return known
    chosen = [f.strip() for f in families.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in known]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown family {unknown[:1]}; known: {', '.join(known)}", param_hint="--families")
    return chosen


def run_roles(obj: Any, roles: frozenset[str], *, workers: int | None, duration: float | None,
              families: str | None, pool: str) -> None:
    from toolkit.cli.web_cmd import serving_http
    from toolkit.engine.metrics import serving_metrics
    from toolkit.engine.server import Server

    app = obj.app
    settings = app.settings
    distributed = settings.engine.kind != "local"
    chosen_families = _families(settings, families) if distributed and "worker" in roles else []
    if roles & {"trigger", "worker"}:
        app.audit.check_writable()  # no key, a wrong key or an unkeyed log: refuse to start (exit 8)
    side: tuple[Any, ...] = ()
    duties: tuple[Any, ...] = ()
    if "trigger" in roles:
        from toolkit.complaints.loop import mail_loops
        from toolkit.desks.loop import desk_loops

        side = desk_loops(app) + mail_loops(app)
        if distributed:
            from toolkit.engine.distributed import trigger_duties

            duties = (trigger_duties(app),)
    engine_roles = roles & ({"trigger"} if distributed else {"trigger", "worker"})
    server = Server(app, workers=workers or settings.workers.count, shutdown_grace=settings.workers.shutdown_grace_s,
                    side_loops=side, roles=frozenset(engine_roles), trigger_duties=duties)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop.set())
    with serving_metrics(app, settings.metrics), serving_http(app, settings):
        if distributed and "worker" in roles:
            from toolkit.cli.celery_worker import run_worker  # only a distributed worker needs Celery

            runner = threading.Thread(target=server.run, args=(duration,), name="engine", daemon=True)
            if engine_roles:
                runner.start()
            try:
                run_worker(settings, chosen_families, workers or settings.workers.count, pool=pool)
            finally:
                server.stop.set()
                if runner.is_alive():
                    runner.join(timeout=settings.workers.shutdown_grace_s + 5)
        elif engine_roles:
            server.run(duration)
        else:
            server.stop.wait(duration)
