"""`spbe lab up|down|status`: the local lab of target hosts and simulated switches the automation runs against.

A plugin of the product CLI (entry point ``spbe.cli_plugins``: ``lab = "lab.cli:lab_group"``), so ``spbe``
itself never imports the lab and works where the lab is not installed. Thin on purpose: parse, call
LabManager, render. The lab's folder is ``--lab-dir`` or ``$SPBE_LAB_DIR``; the product's settings are not
read here (they hold no lab values). Errors are ToolkitErrors, mapped to exit codes by the main CLI.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lab import health
from lab.manager import DEFAULT_HOSTS, LabManager
from lab.models import LabState

_name_option = click.option(
    "--name", default="demo", show_default=True, help="lab name (several can run at once)"
)


DEFAULT_LAB_DIR = Path("/var/lib/spbe-lab")
_LAB_DIR_KEY = "spbe.lab_dir"


def _manager(name: str, switches: int = 3, incident: bool = False, hosts: tuple[str, ...] = ()) -> LabManager:
    lab_dir: Path = click.get_current_context().meta[_LAB_DIR_KEY]
    return LabManager(lab_dir, name, switches=switches, incident=incident, hosts=hosts or DEFAULT_HOSTS)


def _yes_no(alive: bool) -> str:
    return "[green]yes[/green]" if alive else "[red]no[/red]"


def _render_switches(console: Console, state: LabState, running: bool) -> None:
    table = Table(title=f"switches of lab {state.name}")
    for column in ("switch", "site", "ssh", "device_type", "access ports", "running"):
        table.add_column(column)
    for switch in state.switches:
        ports = f"{len(switch.access_ports)} ({switch.access_ports[0]}..)" if switch.access_ports else "-"
        table.add_row(switch.name, switch.site, f"{switch.username}@{switch.host}:{switch.port}",
                      switch.device_type, ports, _yes_no(running))  # fmt: skip
    console.print(table)
    first = state.switches[0]
    # Paths only: the values are secrets and are never printed.
    console.print(f"switch password file: {first.password_file}")
    console.print(f"enable secret file:   {first.secret_file}")


def _render(state: LabState, running: dict[str, bool], switches_running: bool) -> None:
    console = Console()
    table = Table(title=f"lab {state.name} ({state.subnet})")
    for column in ("host", "address", "ssh", "netns", "running"):
        table.add_column(column)
    for host in state.hosts:
        alive = running.get(host.name, False)
        table.add_row(
            host.name,
            host.address,
            f"{host.user}@{host.address}:{host.port}",
            host.netns,
            _yes_no(alive),
        )
    console.print(table)
    console.print(f"inventory:  {state.inventory}")
    console.print(f"spbe:       SPBE_CONFIG={state.config_file or '(not written)'}")
    console.print(f"ssh key:    {state.hosts[0].private_key if state.hosts else '-'}")
    console.print(f"file_sd:    {state.file_sd_dir}")
    console.print(f"prometheus: {state.prometheus_url or '(not started)'}")
    if state.gateway:
        console.print(f"gateway:    proxy {state.gateway.proxy_url}, admin {state.gateway.admin_url} "
                      f"(express-gateway {state.gateway.version}); backend {state.gateway.backend_url}")
    if state.switches:
        _render_switches(console, state, switches_running)
    if state.incident:
        ir = state.incident
        console.print(f"incident:   {ir.affected.name} web {ir.affected_address}:{ir.web_port}, "
                      f"csirt {ir.csirt_address} ({ir.csirt_netns}), attacker {ir.attacker_address} "
                      f"({ir.attacker_netns})")
    if state.vpn:
        v = state.vpn
        site, dc = v.site_gateway, v.dc_gateway
        console.print(f"vpn:        site {site.name} (ssh {site.address}, public {v.site_underlay}, "
                      f"LAN {v.site_lan}, client {v.site_client} in {v.site_client_netns})")
        console.print(f"            dc {dc.name} (ssh {dc.address}, public {v.dc_underlay}, "
                      f"LAN {v.dc_lan}, server {v.dc_server} in {v.dc_server_netns}); tunnels {v.tunnel_pool}")
    for warning in state.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


class LabGroup(click.Group):
    """The lab's command group. ``keep_umask``: the product CLI makes its commands' files owner-only, but the
    lab's hosts and servers inherit the umask and their services (nginx as www-data, ...) must read what is
    made for them (`toolkit.private_files.owner_only_umask`)."""

    keep_umask = True


@click.group("lab", cls=LabGroup)
@click.option("--lab-dir", type=click.Path(file_okay=False, path_type=Path), envvar="SPBE_LAB_DIR",
              default=DEFAULT_LAB_DIR, show_default=True, help="where labs keep their state ($SPBE_LAB_DIR)")
@click.pass_context
def lab_group(ctx: click.Context, lab_dir: Path) -> None:
    """Local lab: Debian targets in network namespaces and Cisco IOS switch simulators, over SSH."""
    ctx.meta[_LAB_DIR_KEY] = lab_dir.expanduser().resolve()


def _report(name: str, cleaned: list[str], err: bool) -> None:
    """Say what was found stale and cleaned up (on stderr when stdout carries JSON)."""
    if cleaned:
        click.echo(f"lab {name}: cleaned up stale state:", err=err)
        for line in cleaned:
            click.echo(f"  - {line}", err=err)


@lab_group.command("up")
@_name_option
@click.option("--switches", type=click.IntRange(min=0), default=3, show_default=True,
              help="number of simulated Cisco IOS switches (0: none)")  # fmt: skip
@click.option("--incident/--no-incident", default=True, show_default=True,
              help="the CSIRT incident part: affected host, attacker and CSIRT host on one segment")
@click.option("--host", "hosts", multiple=True, metavar="NAME",
              help=f"a Pusat Data pool host (repeat for more; default: {', '.join(DEFAULT_HOSTS)})")
@click.option("--json", "as_json", is_flag=True, help="print the lab state as JSON")
def up(name: str, switches: int, incident: bool, hosts: tuple[str, ...], as_json: bool) -> None:
    """Start the lab from a clean copy of the base system (replaces a running lab of that name, and cleans
    up what a stale one left, e.g. after a reboot)."""
    manager = _manager(name, switches, incident, hosts)
    _report(name, manager.down(), as_json)
    state = manager.up()
    if as_json:
        click.echo(state.model_dump_json(indent=2))
    else:
        _render(state, manager.running(state), manager.switches_running(state))
        if state.config_file is not None:
            click.echo(f"spbe settings for this lab: export SPBE_CONFIG={state.config_file}")


@lab_group.command("down")
@_name_option
def down(name: str) -> None:
    """Stop the lab and delete its hosts (safe to repeat; also cleans up a stale lab)."""
    _report(name, _manager(name).down(), False)
    click.echo(f"lab {name} is down")


@lab_group.command("status")
@_name_option
@click.option("--json", "as_json", is_flag=True, help="print the lab state as JSON")
def status(name: str, as_json: bool) -> None:
    """Show the lab's hosts and switches, their addresses and whether they are running.

    A lab of which nothing runs any more (after a reboot, or when all of it was killed) is cleaned up and
    reported as not up; a lab with only some parts gone is shown with them named, for ``up`` to restart."""
    manager = _manager(name)
    state = manager.status()
    if state is None or health.nothing_runs(manager.parts(state)):
        if state is not None or manager.has_remains():
            _report(name, manager.down(), as_json)
        click.echo("null" if as_json else f"lab {name} is not up")
        return
    if as_json:
        click.echo(state.model_dump_json(indent=2))
    else:
        _render(state, manager.running(state), manager.switches_running(state))
    gone = health.stale(manager.parts(state))
    if gone:
        click.echo(f"lab {name} is only partly running: {'; '.join(gone)} (spbe lab up --name {name} restarts it)",
                   err=as_json)
