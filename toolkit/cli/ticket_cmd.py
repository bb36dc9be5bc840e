"""`spbe ticket ...`: the service desk from the command line.

Each command parses, asks the desk `CliContext.desk` chose (this machine's stores, or the server of
``spbe login``: `toolkit.cli.desk_client`) and renders; the same output and exit codes either way.
"""

from __future__ import annotations

from typing import Any

import click

from toolkit.cli import install_schedule_cmd
from toolkit.cli.lazy import LazyGroup
from toolkit.cli.render import emit_json, plain, ticket_detail, ticket_table, visible_fields
from toolkit.commands import attachment_files
from toolkit.domain.confidentiality import redact_events, redact_ticket
from toolkit.domain.tickets.models import AttachmentUpload, TicketStatus
from toolkit.domain.workflow import StepStatus
from toolkit.engine.progress import progress
from toolkit.errors import InvalidInputError, PermissionDeniedError

AS_OPTION = click.option("--as", "actor", help="Lab and demo only: act as this username (else the person mapped "
                                                "to your OS account); must hold the step's role.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidInputError(f"--field expects NAME=VALUE, got {pair!r}", errors=[("field", "format")])
        if name in fields:
            raise InvalidInputError(f"field '{name}' given twice", errors=[(name, "duplicate")])
        fields[name] = value
    return fields


def _attachments(pairs: tuple[str, ...]) -> list[AttachmentUpload]:
    """Every file is read (and refused) before anything is stored, so a bad one opens no ticket."""
    uploads = []
    for pair in pairs:
        kind, sep, path_text = pair.partition("=")
        if not sep:
            raise InvalidInputError(f"--attach expects KIND=PATH, got {pair!r}", errors=[("attach", "format")])
        uploads.append(attachment_files.from_path(kind, path_text))
    return uploads


@click.group("ticket", cls=LazyGroup, lazy_subcommands={"decide": "toolkit.cli.incident_cmd:decide_command",
                                                         "schedule": "toolkit.cli.install_schedule_cmd:schedule_group"})
def ticket_group() -> None:
    """Open, inspect and move tickets through their SOP."""


@ticket_group.command("open")
@click.argument("service_id")
@AS_OPTION
@click.option("--title", required=True, help="Short subject of the request.")
@click.option("-f", "--field", "fields", multiple=True, metavar="NAME=VALUE", help="A request field (repeatable).")
@click.option("-a", "--attach", "attachments", multiple=True, metavar="KIND=PATH", help="An attachment (repeatable).")
@JSON_OPTION
@click.pass_obj
def open_cmd(obj, service_id, actor, title, fields, attachments, as_json) -> None:  # type: ignore[no-untyped-def]
    """Open a ticket for SERVICE_ID; refused with the exact missing or malformed requirement."""
    ticket = obj.desk(actor).open_ticket(service_id, title, _fields(fields), _attachments(attachments))
    if as_json:
        emit_json(obj.console, ticket)
    else:
        obj.console.print(f"opened [bold]{plain(ticket.id)}[/] ({plain(service_id)}), "
                          f"SLA variant {plain(ticket.sla_variant)}")


@ticket_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in TicketStatus]))
@click.option("--service", "service_id")
@JSON_OPTION
@click.pass_obj
def list_cmd(obj, status, service_id, as_json) -> None:  # type: ignore[no-untyped-def]
    """List tickets (on the server 'spbe login' named: those you may see there)."""
    tickets = obj.desk(None).list_tickets(TicketStatus(status) if status else None, service_id)
    if as_json:
        emit_json(obj.console, [t.model_dump(mode="json", exclude={"fields"}) for t in tickets])
    else:
        obj.console.print(ticket_table(obj.console, tickets))


def _viewer_roles(obj: Any, viewer: str | None) -> frozenset[str]:
    """The roles of who is looking: ``--as`` only where the deployment honours it (it was once taken at its
    word here, so any shell could read a confidential reporter as the koordinator); an OS account that
    maps to nobody sees what everyone may see."""
    try:
        principal = obj.principal(viewer)
    except PermissionDeniedError:
        if viewer is not None:
            raise
        return frozenset()
    return frozenset(obj.app.directory.person(principal.user).roles)


@ticket_group.command("show")
@click.argument("ticket_id")
@click.option("--as", "viewer", help="Lab and demo only: who is looking (else your OS account's person); a "
              "confidential reporter is shown only to the roles that may see it.")
@JSON_OPTION
@click.pass_obj
def show_cmd(obj, ticket_id, viewer, as_json) -> None:  # type: ignore[no-untyped-def]
    """Show a ticket: fields, SOP steps with status, SLA, attachments and the timeline."""
    from toolkit.cli import remote_tickets

    server = obj.remote
    if server is not None:  # what the server shows this token's person (--as is refused there)
        obj.desk(viewer)
        remote_tickets.show_ticket(obj, server.detail(ticket_id), as_json)
        return
    from toolkit.worktime.calendars import calendars_for

    app = obj.app
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    timeline = app.tickets.timeline(ticket_id)
    calendars = calendars_for(app.settings.worktime)  # the deadline counted and shown in the office's zone
    state = progress(service, ticket, timeline, app.queue, app.policy, calendar=calendars.for_service(service))
    zone = calendars.zone_of(service)
    jadwal = install_schedule_cmd.summary(app, service, ticket, timeline)  # the installation's agreed date
    roles = _viewer_roles(obj, viewer)
    book = app.catalog.roles
    fields = visible_fields(book, service, ticket, roles)
    state_ticket, ticket = ticket, redact_ticket(book, service, ticket, roles)  # a confidential reporter stays hidden
    timeline = redact_events(book, service, state_ticket, timeline, roles)
    if as_json:
        emit_json(obj.console, {
            "ticket": ticket.model_dump(mode="json") | {"fields": fields},
            "steps": [{"id": s.step.id, "title": s.step.title, "status": s.status.value, "actor": s.step.actor,
                       "completed_at": s.completed_at, "deadline": s.deadline, "late": s.late} for s in state.steps],
            "sla": state.sla.model_dump(mode="json") | {
                "deadline_local": zone.format(state.sla.deadline),
                "timezone": {"name": zone.name, "label": zone.label}},
            "timeline": [e.model_dump(mode="json") for e in timeline],
            "outbox_pending": app.queue.outbox_pending_count(ticket_id),
            "jadwal": jadwal,
        })
    else:
        ticket_detail(obj.console, service, ticket, state, timeline, fields, zone)
        install_schedule_cmd.print_summary(obj.console, jadwal)


@ticket_group.command("check")
@click.argument("ticket_id")
@AS_OPTION
@click.pass_obj
def check_cmd(obj, ticket_id, actor) -> None:  # type: ignore[no-untyped-def]
    """Completeness check by the koordinator layanan; forwards to the approver."""
    obj.desk(actor).check(ticket_id)
    obj.console.print(f"{plain(ticket_id)}: lengkap, diteruskan untuk persetujuan")


@ticket_group.command("return")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--missing", "missing", multiple=True, required=True, metavar="REQUIREMENT",
              help="A requirement (field or attachment name) that is missing or wrong (repeatable).")
@click.option("--note", required=True, help="What the applicant must do (recorded on the ticket).")
@click.pass_obj
def return_cmd(obj, ticket_id, actor, missing, note) -> None:  # type: ignore[no-untyped-def]
    """Return the request to the applicant at the completeness check, naming what is missing."""
    obj.desk(actor).return_for_revision(ticket_id, missing, note)
    obj.console.print(f"{plain(ticket_id)}: dikembalikan kepada pemohon untuk dilengkapi")


@ticket_group.command("resubmit")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--note", required=True, help="What was completed.")
@click.option("-a", "--attach", "attachments", multiple=True, metavar="KIND=PATH", help="A file (repeatable).")
@click.pass_obj
def resubmit_cmd(obj, ticket_id, actor, note, attachments) -> None:  # type: ignore[no-untyped-def]
    """Send a returned request back (the requester only), with the missing files."""
    obj.desk(actor).resubmit(ticket_id, note, _attachments(attachments))
    obj.console.print(f"{plain(ticket_id)}: diajukan kembali")


@ticket_group.command("cancel")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--reason", required=True, help="Why the request is withdrawn.")
@click.pass_obj
def cancel_cmd(obj, ticket_id, actor, reason) -> None:  # type: ignore[no-untyped-def]
    """Cancel a request before approved work starts (the requester or the koordinator)."""
    obj.desk(actor).cancel(ticket_id, reason)
    obj.console.print(f"{plain(ticket_id)}: dibatalkan")


@ticket_group.command("approve")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--reason", required=True, help="Written reason (recorded on the ticket and in the audit log).")
@click.pass_obj
def approve_cmd(obj, ticket_id, actor, reason) -> None:  # type: ignore[no-untyped-def]
    """Approve (only the SOP's approver, never the requester)."""
    desk = obj.desk(actor)
    desk.approve(ticket_id, reason)
    obj.console.print(f"{plain(ticket_id)}: disetujui oleh {plain(desk.actor())}")


@ticket_group.command("defer")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--reason", required=True, help="Written reason for deferring.")
@click.pass_obj
def defer_cmd(obj, ticket_id, actor, reason) -> None:  # type: ignore[no-untyped-def]
    """Defer (tunda) with a written reason."""
    desk = obj.desk(actor)
    desk.defer(ticket_id, reason)
    obj.console.print(f"{plain(ticket_id)}: ditunda oleh {plain(desk.actor())}")


@ticket_group.command("advance")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--step", "step_id", required=True, help="The current human step's id (see 'ticket show').")
@click.option("--note", required=True, help="What was done (recorded on the ticket).")
@click.pass_obj
def advance_cmd(obj, ticket_id, actor, step_id, note) -> None:  # type: ignore[no-untyped-def]
    """Record a human step of the SOP as done (e.g. application installation, UAT)."""
    obj.desk(actor).advance(ticket_id, step_id, note)
    obj.console.print(f"{plain(ticket_id)}: langkah {plain(step_id)} dicatat selesai")


@ticket_group.command("close")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--note", help="Closing note.")
@click.pass_obj
def close_cmd(obj, ticket_id, actor, note) -> None:  # type: ignore[no-untyped-def]
    """Close the ticket (koordinator layanan) once only notifications remain."""
    obj.desk(actor).close_ticket(ticket_id, note)
    obj.console.print(f"{plain(ticket_id)}: ditutup")


@ticket_group.command("comment")
@click.argument("ticket_id")
@AS_OPTION
@click.argument("text")
@click.pass_obj
def comment_cmd(obj, ticket_id, actor, text) -> None:  # type: ignore[no-untyped-def]
    """Add a comment."""
    obj.desk(actor).comment(ticket_id, text)


@ticket_group.command("assign")
@click.argument("ticket_id")
@AS_OPTION
@click.argument("assignee")
@click.pass_obj
def assign_cmd(obj, ticket_id, actor, assignee) -> None:  # type: ignore[no-untyped-def]
    """Assign the ticket to a person (koordinator layanan)."""
    obj.desk(actor).assign(ticket_id, assignee)


@ticket_group.command("wait")
@click.argument("ticket_id")
@click.option("--step", "step_id", required=True, help="Wait until this step is done (or skipped).")
@click.option("--timeout", type=click.FloatRange(0.1, 86400), default=600.0, show_default=True)
@click.pass_obj
def wait_cmd(obj, ticket_id, step_id, timeout) -> None:  # type: ignore[no-untyped-def]
    """Wait while `spbe serve` works a ticket: until STEP is done, a job fails, or the timeout."""
    import time

    from toolkit.errors import ActionFailedError, UnavailableError
    from toolkit.ports.jobs import JobState
    from toolkit.worktime.calendars import calendars_for

    app = obj.app
    service = app.catalog.get(app.tickets.get(ticket_id).service_id)
    service.step(step_id)  # an unknown step is an error now, not a timeout later
    deadline = time.monotonic() + timeout
    reported: set[str] | None = None  # steps already done when we started are not repeated
    while True:
        ticket = app.tickets.get(ticket_id)
        state = progress(service, ticket, app.tickets.timeline(ticket_id), app.queue, app.policy,
                         calendar=calendars_for(app.settings.worktime).for_service(service))
        done = [s for s in state.steps if s.status == StepStatus.DONE]
        if reported is None:
            reported = {s.step.id for s in done}
        for s in done:
            if s.step.id not in reported:
                reported.add(s.step.id)
                obj.err.print(f"  ✓ {plain(s.step.id)}  {plain(s.step.title)}")
        if state.state_of(step_id).status.value in ("done", "skipped"):
            return
        failed = app.queue.list_jobs(state=JobState.FAILED, ticket_id=ticket_id, limit=1)
        if failed:
            raise ActionFailedError(f"job {failed[0].id} ({failed[0].step_id}) failed: {failed[0].error}",
                                    job=failed[0].id)
        if time.monotonic() > deadline:
            current = state.current.id if state.current else "none"
            raise UnavailableError(f"step {step_id} not done after {timeout:.0f} s (current step: {current})")
        time.sleep(0.5)


@ticket_group.command("download")
@click.argument("ticket_id")
@click.argument("name")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the file (refused if it exists).")
@AS_OPTION
@click.pass_obj
def download_cmd(obj, ticket_id, name, output, actor) -> None:  # type: ignore[no-untyped-def]
    """Save an attachment of a ticket you may see (stored encrypted: spbe is the way to its content)."""
    from pathlib import Path

    from toolkit.commands import views
    from toolkit.private_files import write_private

    target = Path(output)
    if target.exists() or target.is_symlink():
        raise InvalidInputError(f"{output} exists: not overwriting it", path=output)
    _ref, content = views.attachment(obj.app, ticket_id, name, obj.principal(actor))
    write_private(target, content)
    obj.console.print(f"saved {name} ({len(content)} bytes) to {target}")
