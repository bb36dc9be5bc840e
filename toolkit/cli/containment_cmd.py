"""`spbe contain ...` and `spbe release ...`: CSIRT containment from the command line.

Thin: parse into the request models (a ValidationError becomes InvalidInputError naming the field), call
`ContainmentService`, render. Progress lines of the playbooks go to stderr, masked.
"""

from __future__ import annotations

from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError

from toolkit.cli.render import Column, emit_json, list_table, plain, when_short
from toolkit.containment.models import (
    AccessRequest,
    ContainmentKind,
    ContainmentRecord,
    ContainmentStatus,
    IsolateHostRequest,
    QuarantinePortRequest,
    ReleaseRequest,
)
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import InvalidInputError, ToolkitError

M = TypeVar("M", bound=BaseModel)
TICKET = click.option("--ticket", "ticket_id", required=True, help="The incident ticket (verified as an incident).")
AS = click.option("--as", "actor", help="Lab and demo only: the username acting (else your OS account's person); "
                                       "must hold the csirt role.")
REASON = click.option("--reason", default="", help="Why; posted to the ticket.")
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
VERBOSE = click.option("--progress/--quiet", default=False, help="Show playbook output on stderr.")


OPERATIONS = {IsolateHostRequest: "isolate_host", QuarantinePortRequest: "quarantine_port", AccessRequest: "access",
              ReleaseRequest: "release"}


def _request(model: type[M], **values: Any) -> M:
    """The validated request; a refusal is audited (every containment attempt is) and names the field.
    ``actor`` is the ``--as`` value: it becomes the principal's user and how it was authenticated."""
    operation = "release" if click.get_current_context().command_path.split()[1:2] == ["release"] \
        else OPERATIONS.get(model, "unknown")
    as_user = values.pop("actor")
    try:
        principal = click.get_current_context().obj.principal(as_user)
    except ToolkitError as exc:  # an unknown --as user, an unmapped OS account: refused, and audited
        lab = as_user is not None  # who was claimed: --as (refused or unknown), else the OS account
        _service(False).refuse_invalid(operation, str(values.get("ticket_id", "")), str(as_user or "-"),
                                       [("actor", str(exc))], error=type(exc).__name__,
                                       auth=(AuthMethod.LAB_AS if lab else AuthMethod.OS_USER).value)
        raise
    values |= {"actor": principal.user, "auth": principal.auth}
    try:
        return model(**values)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        _service(False).refuse_invalid(operation, str(values.get("ticket_id", "")), str(values.get("actor", "")),
                                       errors, auth=principal.auth.value)
        raise InvalidInputError("; ".join(f"{f}: {m}" for f, m in errors), errors=errors) from None


def _service(progress: bool) -> ContainmentService:
    obj = click.get_current_context().obj
    err = obj.err

    def line(text: str) -> None:
        err.print(plain(text))

    return ContainmentService(obj.app, line if progress else None)


def _show(record: ContainmentRecord, as_json: bool) -> None:
    console = click.get_current_context().obj.console
    if as_json:
        emit_json(console, record.summary() | {"applied": record.applied, "release": record.release})
        return
    console.print(f"[bold]{record.id}[/] {record.kind.value} {plain(record.target)}: [green]{record.status.value}[/]"
                  f" (ticket {plain(record.ticket_id)}, by {plain(record.released_by or record.actor)})")


@click.group("contain")
def contain_group() -> None:
    """Contain an incident: isolate a host, quarantine a switch port, change access (csirt only)."""


@contain_group.command("host")
@click.argument("host")
@TICKET
@AS
@click.option("--mgmt", "mgmt", multiple=True, help="CIDR that keeps access (repeat); default: settings / inventory.")
@REASON
@JSON
@VERBOSE
def contain_host(host: str, ticket_id: str, actor: str, mgmt: tuple[str, ...], reason: str, as_json: bool,
                 progress: bool) -> None:
    """Isolate HOST with nftables, keeping only the CSIRT management addresses."""
    request = _request(IsolateHostRequest, ticket_id=ticket_id, actor=actor, host=host,
                       management_cidrs=mgmt or None, reason=reason)
    _show(_service(progress).isolate_host(request), as_json)


@contain_group.command("port")
@click.argument("device")
@click.argument("interface")
@TICKET
@AS
@click.option("--mode", type=click.Choice(["vlan", "shutdown"]), default=None, help="Default: settings.")
@click.option("--vlan", type=int, default=None, help="Quarantine VLAN; default: settings.")
@REASON
@JSON
def contain_port(device: str, interface: str, ticket_id: str, actor: str, mode: str | None, vlan: int | None,
                 reason: str, as_json: bool) -> None:
    """Move INTERFACE of DEVICE to the quarantine VLAN (or shut it)."""
    request = _request(QuarantinePortRequest, ticket_id=ticket_id, actor=actor, device=device, interface=interface,
                       mode=mode, vlan=vlan, reason=reason)
    _show(_service(False).quarantine_port(request), as_json)


@contain_group.command("access")
@TICKET
@AS
@click.option("--host", default=None, help="Host whose local accounts are locked.")
@click.option("--account", "accounts", multiple=True, help="Local account to lock (repeat).")
@click.option("--gateway-consumer", "consumers", multiple=True, help="API gateway consumer to revoke (repeat).")
@click.option("--idp-user", "users", multiple=True, help="Identity-provider user to disable (repeat).")
@REASON
@JSON
@VERBOSE
def contain_access(ticket_id: str, actor: str, host: str | None, accounts: tuple[str, ...], consumers: tuple[str, ...],
                   users: tuple[str, ...], reason: str, as_json: bool, progress: bool) -> None:
    """Change of access: lock accounts and keys, revoke gateway credentials, disable IdP users."""
    request = _request(AccessRequest, ticket_id=ticket_id, actor=actor, host=host, accounts=accounts,
                       gateway_consumers=consumers, idp_users=users, reason=reason)
    record = _service(progress).change_access(request)
    _show(record, as_json)
    if not as_json:
        for part in ("gateway", "identity"):
            outcome = record.applied.get(part, {})
            click.get_current_context().obj.console.print(f"  {plain(part)}: {plain(outcome.get('status'))} "
                                                          f"({plain(str(outcome.get('detail', '')))})")


@contain_group.command("inspect")
@click.argument("host")
@TICKET
@AS
@JSON
def contain_inspect(host: str, ticket_id: str, actor: str, as_json: bool) -> None:
    """Read HOST's firewall, listening sockets, processes and users (changes nothing)."""
    request = _request(IsolateHostRequest, ticket_id=ticket_id, actor=actor, host=host)
    state = _service(False).inspect_host(ticket_id, Principal(user=request.actor, auth=request.auth), host)
    console = click.get_current_context().obj.console
    if as_json:
        emit_json(console, state)
        return
    for key, value in state.items():
        console.print(f"[bold]{plain(key)}[/]")
        console.print(plain(value))


@contain_group.command("list")
@click.option("--ticket", "ticket_id", default=None)
@click.option("--status", type=click.Choice([s.value for s in ContainmentStatus]), default=None)
@JSON
def contain_list(ticket_id: str | None, status: str | None, as_json: bool) -> None:
    """Containment records (every state), oldest first."""
    records = _service(False).list(ticket_id, ContainmentStatus(status) if status else None)
    console = click.get_current_context().obj.console
    if as_json:
        emit_json(console, [r.summary() for r in records])
        return
    columns = (Column("id"), Column("ticket"), Column("kind"), Column("target"), Column("status"),
               Column("by", drop=1), Column("at", drop=2), Column("released", drop=3))
    console.print(list_table(console, "containment", columns, (
        [plain(r.id), plain(r.ticket_id), r.kind.value, plain(r.target), r.status.value, plain(r.actor),
         when_short(r.created_at), when_short(r.released_at)] for r in records)))


@click.group("release")
def release_group() -> None:
    """Release a containment, restoring the recorded before-state exactly (csirt only)."""


def _release(ticket_id: str, actor: str, reason: str, as_json: bool, progress: bool, **where: Any) -> None:
    request = _request(ReleaseRequest, ticket_id=ticket_id, actor=actor, reason=reason, **where)
    _show(_service(progress).release(request), as_json)


@release_group.command("host")
@click.argument("host")
@TICKET
@AS
@REASON
@JSON
@VERBOSE
def release_host(host: str, ticket_id: str, actor: str, reason: str, as_json: bool, progress: bool) -> None:
    """Restore HOST's ruleset as it was before isolation."""
    _request(IsolateHostRequest, ticket_id=ticket_id, actor=actor, host=host)
    _release(ticket_id, actor, reason, as_json, progress, kind=ContainmentKind.ISOLATE_HOST, target=host)


@release_group.command("port")
@click.argument("device")
@click.argument("interface")
@TICKET
@AS
@REASON
@JSON
def release_port(device: str, interface: str, ticket_id: str, actor: str, reason: str, as_json: bool) -> None:
    """Put INTERFACE of DEVICE back into its recorded VLAN and state."""
    _request(QuarantinePortRequest, ticket_id=ticket_id, actor=actor, device=device, interface=interface)
    _release(ticket_id, actor, reason, as_json, False, kind=ContainmentKind.QUARANTINE_PORT,
             target=f"{device}:{interface}")


@release_group.command("access")
@TICKET
@AS
@click.option("--host", default=None, help="The host given at containment (if any).")
@REASON
@JSON
@VERBOSE
def release_access(ticket_id: str, actor: str, host: str | None, reason: str, as_json: bool, progress: bool) -> None:
    """Unlock the accounts and re-enable the IdP users of the ticket's access change."""
    _request(AccessRequest, ticket_id=ticket_id, actor=actor, host=host)
    _release(ticket_id, actor, reason, as_json, progress, kind=ContainmentKind.ACCESS,
             target=f"{ticket_id}@{host or '-'}")


@release_group.command("record")
@click.argument("record_id")
@TICKET
@AS
@REASON
@JSON
@VERBOSE
def release_record(record_id: str, ticket_id: str, actor: str, reason: str, as_json: bool, progress: bool) -> None:
    """Release containment RECORD_ID (see `spbe contain list`)."""
    _release(ticket_id, actor, reason, as_json, progress, record_id=record_id)
