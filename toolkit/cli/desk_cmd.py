"""`spbe desk ...`: the outside service desks (Redmine, GLPI, a REST desk) that drive spbe.

``list`` and ``status`` read spbe's own records; ``check`` asks the live desk whether it holds what the mapping
names; ``sync`` runs one poll and one mirror round now; ``replay`` takes one desk issue again (only changes not
acted on yet are acted on: the intake acts once per change).
"""

from __future__ import annotations

import click

from toolkit.cli.render import Column, emit_json, list_table, plain

BACKLOG_SHOWN = 1000  # `desk status` counts the mirror backlog up to this, then shows "1000+"


@click.group("desk")
def desk_group() -> None:
    """Outside service desks: their mapping, intake and mirror."""


@desk_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_list(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """The configured desks (settings.desks_dir)."""
    hub = obj.app.desks
    rows = [{"name": d.name, "kind": d.mapping.kind, "routes": len(d.mapping.routes),
             "services": sorted({r.service for r in d.mapping.routes}), "accounts": len(d.mapping.accounts),
             "webhook": d.mapping.webhook is not None, "poll_interval_s": d.mapping.poll_interval_s}
            for d in hub.desks.values()]
    if as_json:
        emit_json(obj.console, rows)
        return
    columns = (Column("Desk"), Column("Kind"), Column("Services", "text"), Column("Accounts", justify="right"),
               Column("Webhook"), Column("Poll (s)", justify="right"))
    obj.console.print(list_table(obj.console, f"{len(rows)} desk(s)", columns, (
        [plain(r["name"]), plain(r["kind"]), plain(", ".join(r["services"])), str(r["accounts"]),
         "yes" if r["webhook"] else "no", f"{r['poll_interval_s']:.0f}"] for r in rows)))


@desk_group.command("check")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_check(obj, name, as_json) -> None:  # type: ignore[no-untyped-def]
    """Ask the live desk for what the mapping names; exit 8 when anything is missing."""
    from toolkit.desks.check import check_desk

    desk = obj.app.desks.get(name)
    result = check_desk(desk.mapping, desk.client)
    if as_json:
        emit_json(obj.console, {"desk": result.desk, "account": result.account, "ok": result.ok,
                                "problems": result.problems})
    elif result.ok:
        obj.console.print(f"[green]desk {name} matches its mapping[/] (logged in as {plain(result.account or '-')})")
    else:
        obj.console.print(f"[red]desk {name}: {len(result.problems)} problem(s)[/]")
        for problem in result.problems:
            obj.console.print(f"  - {plain(problem)}")
    if not result.ok:
        raise SystemExit(8)


@desk_group.command("sync")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_sync(obj, name, as_json) -> None:  # type: ignore[no-untyped-def]
    """One poll and one mirror round now."""
    from toolkit.desks.mirror import DeskMirror

    desk = obj.app.desks.get(name)
    polled = desk.poller.poll_once()
    mirrored = DeskMirror(obj.app, obj.app.desks).run_desk(desk)
    data = {"desk": name, "since": polled.since.isoformat(),
            "issues": [{"issue": o.issue_key, "ticket": o.ticket_id, "outcomes": o.outcomes} for o in polled.issues],
            "failed": polled.failed, "mirrored": mirrored.written,
            "mirror_waiting": mirrored.waiting}
    if as_json:
        emit_json(obj.console, data)
        return
    acted = sum(len(o.outcomes) for o in polled.issues)
    obj.console.print(f"desk {name}: {len(polled.issues)} issue(s) read, {acted} change(s) taken, "
                      f"{len(mirrored.written)} written back" + (f"; waiting: {mirrored.waiting}"
                                                                 if mirrored.waiting else ""))


@desk_group.command("replay")
@click.argument("name")
@click.argument("issue")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_replay(obj, name, issue, as_json) -> None:  # type: ignore[no-untyped-def]
    """Take one desk issue again now (what was already acted on stays done)."""
    from toolkit.ports.desk import valid_issue_key

    if not valid_issue_key(issue):
        raise click.BadParameter("not a desk issue key", param_hint="ISSUE")
    outcome = obj.app.desks.get(name).intake.process(issue)
    if as_json:
        emit_json(obj.console, {"issue": outcome.issue_key, "ticket": outcome.ticket_id, "outcomes": outcome.outcomes})
        return
    obj.console.print(f"issue {plain(issue)} → ticket {plain(outcome.ticket_id or '-')}")
    for change, result in outcome.outcomes.items():
        obj.console.print(f"  {plain(change)}: {plain(result)}")


@desk_group.command("show")
@click.argument("name")
@click.argument("issue")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_show(obj, name, issue, as_json) -> None:  # type: ignore[no-untyped-def]
    """What spbe did with one desk issue: its ticket and each change's outcome (nothing is fetched)."""
    hub = obj.app.desks
    desk = hub.get(name)
    data = {"desk": desk.name, "issue": issue, "ticket": hub.records.ticket_for(desk.name, issue),
            "changes": hub.records.outcomes(desk.name, issue)}
    if as_json:
        emit_json(obj.console, data)
        return
    obj.console.print(f"issue {plain(issue)} → ticket {plain(data['ticket'] or '-')}")
    for change, result in data["changes"].items():
        obj.console.print(f"  {plain(change)}: {plain(result)}")


@desk_group.command("status")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def desk_status(obj, name, as_json) -> None:  # type: ignore[no-untyped-def]
    """Cursor, last poll, last webhook, replays, changes taken and refused, the mirror's backlog."""
    hub = obj.app.desks
    names = [hub.get(name).name] if name else sorted(hub.desks)
    rows = []
    for desk_name in names:
        st = hub.records.status(desk_name)
        seq, failures, next_at = hub.records.mirror_state(desk_name)
        # events not yet mirrored (of every ticket: an upper bound), read at most BACKLOG_SHOWN + 1 of them
        ahead = len(obj.app.tickets.events_since(seq, BACKLOG_SHOWN + 1))
        rows.append({"desk": desk_name, "cursor": st.cursor, "last_poll": st.last_poll,
                     "last_webhook": st.last_webhook, "changes_done": st.changes_done, "refused": st.refused,
                     "replays": st.replays, "tickets": st.links, "mirror_seq": seq,
                     "mirror_backlog": min(ahead, BACKLOG_SHOWN), "mirror_backlog_more": ahead > BACKLOG_SHOWN,
                     "mirror_failures": failures, "mirror_retry_at": next_at})
    if as_json:
        emit_json(obj.console, rows)
        return
    columns = (Column("Desk"), Column("Cursor"), Column("Last poll"), Column("Last webhook"),
               Column("Taken", justify="right"), Column("Refused", justify="right"), Column("Replays", justify="right"),
               Column("Mirror backlog", justify="right"))
    def when(value: object) -> str:
        return value.isoformat(timespec="seconds") if value is not None else "-"  # type: ignore[attr-defined]
    obj.console.print(list_table(obj.console, "Desks", columns, (
        [plain(r["desk"]), when(r["cursor"]), when(r["last_poll"]), when(r["last_webhook"]), str(r["changes_done"]),
         str(r["refused"]), str(r["replays"]),
         f"{r['mirror_backlog']}{'+' if r['mirror_backlog_more'] else ''}"] for r in rows)))
