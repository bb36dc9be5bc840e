"""`spbe network facts|backup|diff|push|verify|rollback`: the network operations for engineers, outside tickets.

Thin: parse the selection or the change, build a `NetworkRunner` from settings (``settings.network``),
call it, render a progress bar and a per-device table (or ``--json``). A change comes from ``--ticket
TICKET`` (the plan the ticket's analysis attached, read through the command layer: visible tickets only,
audited; the file in the ticket's working directory is encrypted at rest), from ``--plan FILE`` (a
`NetworkChange` as JSON in clear, e.g. from ``spbe ticket download``) or from options, which go through
`build_change` and so through every check of the plan model. Devices' SSH host keys are
checked against ``network.known_hosts`` when it is set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from toolkit.at_rest import is_sealed
from toolkit.cli.render import plain, visible
from toolkit.errors import InvalidInputError
from toolkit.network.device_ops import DeviceResult
from toolkit.network.fanout import FanoutReport, NetworkRunner, ProgressCallback, check_plan
from toolkit.network.inventory import Device, NetworkInventory, describe_errors, load_inventory
from toolkit.network.plan import NetworkChange, build_change
from toolkit.network.refs import RefResolver
from toolkit.network.runner_factory import build_runner

_OUTCOME_STYLE = {"changed": "green", "unchanged": "dim", "planned": "cyan", "rolled_back": "yellow",
                  "rollback_failed": "bold red", "failed": "red", "skipped": "magenta"}  # fmt: skip


def _runner(inventory: NetworkInventory) -> NetworkRunner:
    """The same runner the ticket actions get (`build_runner`): host keys, limits, timeouts."""
    return build_runner(click.get_current_context().obj.settings, inventory)


def _inventory(path: str | None) -> NetworkInventory:
    return load_inventory(Path(path) if path else click.get_current_context().obj.settings.network.inventory_file())


@contextmanager
def _progress(label: str, total: int, quiet: bool) -> Iterator[ProgressCallback | None]:
    if quiet:
        yield None
        return
    console: Console = click.get_current_context().obj.err
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=console,
                  transient=False) as progress:  # fmt: skip
        task = progress.add_task(label, total=total, last="")

        def advance(result: DeviceResult, done: int, _total: int) -> None:
            progress.update(task, completed=done, last=f"{result.device}: {result.outcome}")

        yield advance


def _table(report: FanoutReport) -> Table:
    table = Table(title=f"network {report.operation} ({report.duration_s:.2f} s)")
    for column in ("device", "outcome", "ok", "changed", "lines", "time", "backup", "error"):
        table.add_column(column)
    for r in report.results:
        style = _OUTCOME_STYLE.get(r.outcome, "")
        error = r.error.message if r.error else ""
        table.add_row(plain(r.device), f"[{style}]{r.outcome}[/]", "yes" if r.ok else "no",
                      "yes" if r.changed else "no", str(r.pushed_lines), f"{r.duration_s:.2f}s",
                      plain(r.backup.name if r.backup else "-"), plain(error))  # fmt: skip
    return table


def _finish(report: FanoutReport, as_json: bool, show_diff: bool = False) -> None:
    ctx = click.get_current_context()
    console: Console = ctx.obj.console
    if as_json:
        data = report.model_dump(mode="json") | {"ok": report.ok}
        click.echo(visible(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        if show_diff:
            for r in report.results:
                if r.diff:
                    console.print(plain(r.diff), markup=True, highlight=False)
        console.print(_table(report))
        if report.canary:
            console.print(f"canary: {report.canary}")
    if not report.ok:
        codes = [r.error.exit_code for r in report.results if r.error and r.error.exit_code]
        ctx.exit(codes[0] if codes else 7)


def _selection(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--site", help="site id from the network inventory"),
        click.option("--device", "devices", multiple=True, help="device name (repeatable)"),
    )):  # fmt: skip
        func = option(func)
    return func


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--inventory", type=click.Path(dir_okay=False), help="network inventory (else settings)"),
        click.option("--json", "as_json", is_flag=True, help="print the results as JSON"),
    )):  # fmt: skip
        func = option(func)
    return func


def _change_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--ticket", "ticket_id", help="the ticket whose analysis attached the plan (instead of --plan)"),
        click.option("--as", "actor", help="with --ticket, lab and demo only: who reads the ticket"),
        click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True),
                     help="a NetworkChange as JSON (e.g. downloaded with 'spbe ticket download')"),
        click.option("--site", help="site of the change (with the options below instead of --plan)"),
        click.option("--vlan-id", type=int), click.option("--vlan-name"), click.option("--description"),
        click.option("--subnet", help="e.g. 10.20.1.0/24; the gateway is its first host"),
        click.option("--app", "apps", multiple=True, help="data-center app id allowed (repeatable)"),
        click.option("--port", "ports", multiple=True, help="DEVICE:INTERFACE access port (repeatable)"),
        click.option("--gateway-device", help="device holding the SVI when the change spans several"),
    )):  # fmt: skip
        func = option(func)
    return func


def _plan(inventory: NetworkInventory, values: dict[str, Any]) -> NetworkChange:
    if values["ticket_id"] is not None:
        if values["plan_file"]:
            raise InvalidInputError("give --ticket TICKET or --plan FILE, not both", errors=[("plan", "conflict")])
        from toolkit.commands.network_plans import attached_plan

        obj = click.get_current_context().obj
        return attached_plan(obj.app, values["ticket_id"], obj.principal(values["actor"]))
    if values["plan_file"]:
        content = Path(values["plan_file"]).read_bytes()
        if is_sealed(content):
            raise InvalidInputError(f"{values['plan_file']} is a job file encrypted at rest: give --ticket TICKET "
                                    "(or save the plan with 'spbe ticket download')", errors=[("plan", "encrypted")])
        try:
            return NetworkChange.model_validate_json(content)
        except ValidationError as exc:
            problems = describe_errors(exc, "plan")
            raise InvalidInputError("invalid plan file: " + "; ".join(f"{k}: {m}" for k, m in problems),
                                    errors=problems) from None  # fmt: skip
    required = ("site", "vlan_id", "vlan_name", "description", "subnet")
    missing = [f"--{name.replace('_', '-')}" for name in required if values[name] is None]
    if missing or not values["apps"] or not values["ports"]:
        missing += [] if values["apps"] else ["--app"]
        missing += [] if values["ports"] else ["--port"]
        raise InvalidInputError(f"give --plan FILE, or all of {missing}", errors=[(m, "required") for m in missing])
    access: dict[str, list[str]] = {}
    for spec in values["ports"]:
        device, sep, port = spec.partition(":")
        if not sep or not device or not port:
            raise InvalidInputError(f"--port {spec!r}: expected DEVICE:INTERFACE", errors=[("port", spec)])
        access.setdefault(device, []).append(port)
    return build_change(inventory, site=values["site"], vlan_id=values["vlan_id"], vlan_name=values["vlan_name"],
                        description=values["description"], subnet=values["subnet"], apps=values["apps"],
                        access_ports=access, gateway_device=values["gateway_device"])  # fmt: skip


def _plan_runner(values: dict[str, Any]) -> tuple[NetworkChange, NetworkRunner]:
    inventory = _inventory(values["inventory"])
    plan = _plan(inventory, values)
    check_plan(inventory, plan)  # a bad plan is refused before any device is looked up
    return plan, _runner(inventory)


@click.group("network")
def network_group() -> None:
    """Switch configuration over SSH (netmiko): back up, diff, push with verify and rollback."""


@network_group.command("facts")
@_selection
@_common
def facts(site: str | None, devices: tuple[str, ...], inventory: str | None, as_json: bool) -> None:
    """VLANs and access-port assignments of the selected devices (read only)."""
    inv = _inventory(inventory)
    runner_devices = _select(inv, site, devices)
    runner = _runner(inv)
    with _progress("facts", len(runner_devices), as_json) as progress:
        report = runner.facts(runner_devices, progress)
    if not as_json:
        console: Console = click.get_current_context().obj.console
        for r in report.results:
            if r.facts:
                vlans = ", ".join(f"{v.id} {v.name} ({len(v.ports)} ports)" for v in r.facts.vlans)
                console.print(f"[bold]{plain(r.device)}[/]: {plain(vlans)}")
    _finish(report, as_json)


def _select(inv: NetworkInventory, site: str | None, devices: tuple[str, ...]) -> list[Device]:
    return NetworkRunner(inv, RefResolver(), state_dir=Path(".")).select(site, devices)


@network_group.command("backup")
@_selection
@_common
def backup(site: str | None, devices: tuple[str, ...], inventory: str | None, as_json: bool) -> None:
    """Save the running config of the selected devices under the state dir (one file per device and time)."""
    inv = _inventory(inventory)
    selected = _select(inv, site, devices)
    runner = _runner(inv)
    with _progress("backup", len(selected), as_json) as progress:
        report = runner.backup(selected, progress)
    _finish(report, as_json)


@network_group.command("diff")
@_change_options
@_common
@click.option("--save-plan", type=click.Path(dir_okay=False), help="also write the plan as JSON to this file")
def diff(save_plan: str | None, **values: Any) -> None:
    """What the change would add or remove in each device's affected sections (nothing is pushed)."""
    plan, runner = _plan_runner(values)
    if save_plan:
        Path(save_plan).write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    with _progress("diff", len(plan.devices), values["as_json"]) as progress:
        report = runner.diff(plan, progress)
    _finish(report, values["as_json"], show_diff=True)


@network_group.command("push")
@_change_options
@_common
@click.option("--dry-run", is_flag=True, help="back up, render and diff only; push nothing")
@click.option("--canary/--no-canary", default=None, help="push to the first device alone first (default: settings)")
def push(dry_run: bool, canary: bool | None, **values: Any) -> None:
    """Back up, push, verify; any failure rolls every changed device back to its backup."""
    plan, runner = _plan_runner(values)
    with _progress("push" + (" (dry run)" if dry_run else ""), len(plan.devices), values["as_json"]) as progress:
        report = runner.push(plan, dry_run=dry_run, canary=canary, progress=progress)
    _finish(report, values["as_json"], show_diff=dry_run)


@network_group.command("verify")
@_change_options
@_common
def verify(**values: Any) -> None:
    """Read the devices back and check the change's VLAN, ports, SVI and ACL are there."""
    plan, runner = _plan_runner(values)
    with _progress("verify", len(plan.devices), values["as_json"]) as progress:
        report = runner.verify(plan, progress)
    if not values["as_json"]:
        for r in report.results:
            for problem in r.problems:
                click.get_current_context().obj.console.print(f"{plain(r.device)}: {plain(problem)}")
    _finish(report, values["as_json"])


@network_group.command("rollback")
@_change_options
@_common
def rollback(**values: Any) -> None:
    """Undo the change: restore the pre-push backups (or apply the rollback template when there is none)."""
    plan, runner = _plan_runner(values)
    with _progress("rollback", len(plan.devices), values["as_json"]) as progress:
        report = runner.rollback(plan, progress)
    _finish(report, values["as_json"])
