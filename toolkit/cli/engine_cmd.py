"""`spbe run`, `spbe serve` and `spbe jobs ...`: the engine from the command line."""

from __future__ import annotations

import logging
import signal

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from toolkit.cli.render import emit_json, job_detail, job_table, plain, visible
from toolkit.engine.server import Server, run_ticket
from toolkit.ports.jobs import JobState

log = logging.getLogger("spbe.serve")

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.command("run")
@click.argument("ticket_id")
@JSON_OPTION
@click.pass_obj
def run_command(obj, ticket_id, as_json) -> None:  # type: ignore[no-untyped-def]
    """Process TICKET_ID now: run every automated step that is due, post the results."""
    app = obj.app
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=obj.err, disable=as_json, transient=True) as bar:
        task = bar.add_task(f"{plain(ticket_id)}: waiting for jobs", total=None)

        def show(queued, finished) -> None:  # type: ignore[no-untyped-def]
            if queued is not None:
                bar.update(task, description=f"{plain(ticket_id)}: {plain(queued.step_id)} ({plain(queued.action)})")
            if finished is not None and not as_json:
                summary = (finished.result or {}).get("summary", finished.error or "")
                obj.err.print(f"  job {finished.id} {plain(finished.step_id)}: [bold]{finished.state.value}[/] "
                              f"{plain(summary)}")

        done = run_ticket(app, ticket_id, on_job=show)
    pending = app.queue.outbox_pending_count(ticket_id)
    if as_json:
        emit_json(obj.console, {"jobs": [j.model_dump(mode="json", exclude={"plan"}) for j in done],
                                "outbox_pending": pending})
    else:
        obj.console.print(job_table(obj.console, done))
        if pending:
            obj.console.print(f"[yellow]{pending} result(s) wait in the outbox for the ticket system[/]")
    if any(j.state == JobState.FAILED for j in done):
        raise SystemExit(7)


@click.command("serve")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads (default: settings.workers.count).")
@click.option("--duration", type=float, help="Stop after this many seconds (tests, benchmarks).")
@click.option("--metrics", "metrics_at", metavar="HOST:PORT",
              help="Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, logged); loopback "
                   "only unless settings.metrics.allow_non_loopback. Else settings.metrics.")
@click.option("--http", "http_at", metavar="HOST:PORT",
              help="Serve the HTTP API (and portal) at HOST:PORT beside the engine (port 0: a free one, logged); "
                   "loopback only unless settings.http.allow_non_loopback. Else settings.http (enabled, bind).")
@click.option("--role", "roles", multiple=True, metavar="api|trigger|worker",
              help="What runs here, repeatable or comma-separated (default: all, as one host: the HTTP API when "
                   "settings.http.enabled, the trigger and the workers). 'api' turns the HTTP API on.")
@click.option("--families", metavar="F1,F2",
              help="With settings.engine.kind = celery and --role worker: the action families whose queues this "
                   "host's worker takes (default: every family in settings.engine.families, and 'default').")
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork", show_default=True,
              help="With settings.engine.kind = celery: the Celery worker pool (--workers processes or threads).")
@click.pass_obj
def serve_command(obj, workers, duration, metrics_at, http_at, roles, families, pool) -> None:  # type: ignore[no-untyped-def]
    """Run the trigger loop, the worker pool and the outbox until SIGTERM/SIGINT."""
    from toolkit.cli.serve_roles import parse_roles, serve_roles

    chosen = parse_roles(roles)
    if roles:
        serve_roles(obj, chosen, workers=workers, duration=duration, metrics_at=metrics_at, http_at=http_at,
                    families=families, pool=pool)
        return
    from toolkit.cli.serve_roles import prepare_serving
    from toolkit.cli.web_cmd import serving_http
    from toolkit.engine.metrics import serving_metrics

    prepare_serving(obj, metrics_at, http_at)
    settings = obj.app.settings
    if settings.engine.kind != "local":  # every role of a distributed engine on this host
        from toolkit.cli.serve_roles import run_roles

        run_roles(obj, chosen, workers=workers, duration=duration, families=families, pool=pool)
        return
    obj.app.audit.check_writable()  # no key, a wrong key or an unkeyed log: refuse to start (exit 8)
    from toolkit.complaints.loop import mail_loops  # the complaints mailbox (none configured: no thread)
    from toolkit.desks.loop import desk_loops  # the outside desks' poll and mirror (none configured: no thread)

    server = Server(obj.app, workers=workers or settings.workers.count,
                    shutdown_grace=settings.workers.shutdown_grace_s,
                    side_loops=desk_loops(obj.app) + mail_loops(obj.app))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop.set())
    with serving_metrics(obj.app, settings.metrics), serving_http(obj.app, settings):
        log.info("spbe serve: %d worker(s), state in %s", server.workers, settings.state_dir,
                 extra={"event": "serve.start", "workers": server.workers})
        server.run(duration)
    log.info("spbe serve: stopped", extra={"event": "serve.stop"})


@click.group("jobs")
def jobs_group() -> None:
    """Inspect and steer jobs."""


@jobs_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in JobState]))
@click.option("--ticket", "ticket_id")
@click.option("--limit", type=click.IntRange(1, 10000), default=50)
@JSON_OPTION
@click.pass_obj
def jobs_list(obj, state, ticket_id, limit, as_json) -> None:  # type: ignore[no-untyped-def]
    """List jobs, newest first (on a server: of the tickets you may see there)."""
    jobs = obj.desk(None).jobs(JobState(state) if state else None, ticket_id, limit)
    if as_json:
        emit_json(obj.console, [j.summary() for j in jobs])
    else:
        obj.console.print(job_table(obj.console, jobs))


@jobs_group.command("show")
@click.argument("job_id", type=int)
@JSON_OPTION
@click.pass_obj
def jobs_show(obj, job_id, as_json) -> None:  # type: ignore[no-untyped-def]
    """A job with its plan, result and history (on a server: the job without them)."""
    job = obj.desk(None).job(job_id)
    if as_json:
        emit_json(obj.console, job)
    else:
        job_detail(obj.console, job)
        if job.plan is not None:  # a server's answer carries no plan
            obj.console.print("[bold]plan[/]")
            emit_json(obj.console, job.plan)
        if job.result:
            obj.console.print("[bold]result[/]")
            emit_json(obj.console, {k: v for k, v in job.result.items() if k != "comment"})
        if job.history:
            obj.console.print("[bold]history[/]")
            emit_json(obj.console, job.history)


@jobs_group.command("logs")
@click.argument("job_id", type=int)
@click.pass_obj
def jobs_logs(obj, job_id) -> None:  # type: ignore[no-untyped-def]
    """The job's log (ansible events, masked)."""
    for _, line in obj.desk(None).job_logs(job_id):
        click.echo(visible(line))  # a host's output must not drive the terminal


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@click.option("--as", "actor", help="Lab and demo only: who cancels (else your OS account's person); the step's "
                                    "team or the koordinator.")
@click.pass_obj
def jobs_cancel(obj, job_id, actor) -> None:  # type: ignore[no-untyped-def]
    """Cancel a queued job, or ask a running one to stop."""
    job = obj.desk(actor).cancel_job(job_id)
    obj.console.print(f"job {job_id}: {job.state.value}{' (cancel requested)' if job.cancel_requested else ''}")


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@click.option("--as", "actor", help="Lab and demo only: who decides the re-run (else your OS account's person); "
                                    "the step's team or the koordinator.")
@click.pass_obj
def jobs_retry(obj, job_id, actor) -> None:  # type: ignore[no-untyped-def]
    """Queue a failed or canceled job again (a new attempt of the same step)."""
    job = obj.desk(actor).retry_job(job_id)
    obj.console.print(f"job {job_id}: {job.state.value}")
