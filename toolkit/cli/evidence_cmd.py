"""`spbe evidence ...`: collect an incident evidence bundle by hand, verify one, list the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.render import Column, emit_json, list_table, plain
from toolkit.commands.evidence import collect_for_ticket, encrypt_stored, verify_bundle
from toolkit.evidence import bundle as bundles

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("evidence")
def evidence_group() -> None:
    """Incident evidence: collect (CSIRT), verify, list."""


@evidence_group.command("collect")
@click.argument("ticket_id")
@click.option("--as", "actor", help="Lab and demo only: the CSIRT member collecting (else your OS account's "
                                    "person); recorded as custodian.")
@click.option("--log", "logs", multiple=True, metavar="PATH", help="Log file or 'dir/' (repeatable; must be allowed).")
@click.option("--hash", "hashes", multiple=True, metavar="PATH", help="File to hash on the host (repeatable).")
@click.option("--host", help="Inventory host (default: the ticket's objek_terdampak).")
@JSON_OPTION
@click.pass_obj
def collect_cmd(obj, ticket_id, actor, logs, hashes, host, as_json) -> None:  # type: ignore[no-untyped-def]
    """Collect volatile data, logs and file hashes from the affected host into a sealed bundle."""
    result = collect_for_ticket(obj.app, ticket_id, obj.principal(actor), list(logs) or None, list(hashes) or None,
                                host)
    if as_json:
        emit_json(obj.console, {"bundle": str(result.bundle_dir), "bundle_id": result.manifest.bundle_id,
                                "manifest_sha256": result.manifest_sha256, "files": len(result.manifest.files)})
    else:
        obj.console.print(f"sealed [bold]{plain(result.manifest.bundle_id)}[/] ({len(result.manifest.files)} files)"
                          f"\n  {plain(str(result.bundle_dir))}\n  manifest sha256 {result.manifest_sha256}")


@evidence_group.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--as", "actor", help="Lab and demo only: who verifies (audited); else your OS account.")
@JSON_OPTION
@click.pass_obj
def verify_cmd(obj, bundle, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Check BUNDLE (a directory or .tar.gz): every file, the manifest, the custody chain, the ledger."""
    result = verify_bundle(obj.app, bundle, obj.reader(actor))
    if as_json:
        emit_json(obj.console, result)
    else:
        obj.console.print(f"[green]ok[/] {plain(result.bundle_id or '')}: {result.files} files, "
                          f"manifest sha256 {result.manifest_sha256}")


@evidence_group.command("encrypt")
@click.option("--as", "actor", help="Lab and demo only: the CSIRT member (else your OS account's person).")
@JSON_OPTION
@click.pass_obj
def encrypt_cmd(obj, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Encrypt evidence stored in clear by an older version (with settings.vault.key); idempotent."""
    result = encrypt_stored(obj.app, obj.principal(actor))
    if as_json:
        emit_json(obj.console, result)
    else:
        obj.console.print(f"encrypted {result.files} files of {result.bundles} bundles, {result.archives} archives, "
                          f"{result.run_records} playbook records")


@evidence_group.command("list")
@click.option("--ticket", "ticket_id")
@JSON_OPTION
@click.pass_obj
def list_cmd(obj, ticket_id, as_json) -> None:  # type: ignore[no-untyped-def]
    """Sealed bundles, from the evidence ledger."""
    entries = bundles.ledger(obj.app.settings.state_dir).entries(ticket_id=ticket_id)
    rows = [{"seq": e.seq, "at": e.at, "ticket": e.ticket_id, "bundle": e.data.get("bundle"),
             "host": e.data.get("host"), "manifest_sha256": e.data.get("manifest_sha256"), "by": e.actor}
            for e in entries]
    if as_json:
        emit_json(obj.console, rows)
        return
    # The bundle id names its ticket (EV-<ticket>-<time>-<random>): the ticket column goes first when narrow.
    columns = (Column("#", justify="right"), Column("Tiket", drop=2), Column("Paket"), Column("Host"),
               Column("Oleh", drop=1))
    obj.console.print(list_table(obj.console, "Paket bukti", columns, (
        [str(row["seq"]), plain(str(row["ticket"])), plain(str(row["bundle"])), plain(str(row["host"])),
         plain(str(row["by"]))] for row in rows)))
