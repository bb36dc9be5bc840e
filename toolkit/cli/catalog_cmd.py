"""``spbe catalog``: what each service asks of the applicant and what happens to its ticket.

Headings are in Bahasa Indonesia like the SOPs they mirror; ``--json`` gives the validated catalog
data itself (durations as ISO 8601) for scripts and the portal.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from toolkit.cli.render import Column, list_table, make_console, plain
from toolkit.domain.catalog.formats import FORMATS
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Catalog, FieldSpec, FieldType, Service, Sla, SlaVariant, Step


@click.group("catalog")
def catalog_group() -> None:
    """Layanan (service catalog) as written from the SOPs."""


@catalog_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List every service: id, name, provider, SLA and number of steps."""
    catalog = _catalog()
    if as_json:
        _echo_json([_summary(service) for service in catalog.services()])
        return
    console = _console()
    columns = (Column("ID"), Column("Layanan", "text"), Column("Penyelenggara", "text", drop=2),
               Column("SLA", "text", drop=1), Column("Langkah", justify="right"))
    console.print(list_table(console, "Katalog layanan", columns, (
        [plain(service.id), plain(service.name), plain(service.provider), plain(sla_summary(service.sla)),
         str(len(service.steps))] for service in catalog.services())))


@catalog_group.command("show")
@click.argument("service_id", metavar="SERVICE")
@click.option("--json", "as_json", is_flag=True, help="Print the service definition as JSON.")
def show_command(service_id: str, as_json: bool) -> None:
    """Show one service: requirements, steps, SLA, products and complaint channels."""
    service = _catalog().get(service_id)
    if as_json:
        _echo_json(service.model_dump(mode="json", by_alias=True))
        return
    console = _console()
    console.print(f"[bold]{plain(service.name)}[/] ({service.id})")
    console.print(f"Penyelenggara: {plain(service.provider)}")
    console.print(f"Sumber SOP: {plain(service.seed)} · Biaya: {plain(service.cost)}")
    _bullets(console, "Persyaratan", service.requirements.sop_text)
    console.print(_fields_table(service))
    if service.requirements.attachments:
        console.print(_attachments_table(service))
    console.print(_steps_table(service))
    console.print(_sla_table(service.sla))
    _bullets(console, "Produk pelayanan", service.products)
    _bullets(console, "Penanganan pengaduan, saran dan masukan", service.complaint_channels)
    _bullets(console, "Jaminan pelayanan", service.guarantees)
    _bullets(console, "Dasar hukum", service.legal_basis)


def _catalog() -> Catalog:
    ctx = click.get_current_context(silent=True)
    settings = getattr(ctx.obj, "settings", None) if ctx is not None else None
    directory = getattr(settings, "catalog_dir", None)
    return load_catalog(Path(directory) if directory else None)


def _console() -> Console:
    # Built per call so output follows click's current stdout (CliRunner swaps it).
    return make_console()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _summary(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "provider": service.provider,
        "sla": [variant.model_dump(mode="json", by_alias=True) for variant in service.sla.variants],
        "sla_summary": sla_summary(service.sla),
        "steps": len(service.steps),
    }


def format_duration(value: timedelta) -> str:
    """Say a duration the way the SOPs do: "10 menit", "8 jam", "1 hari", "7 hari". Two and three
    days stay in hours because that is how the SOPs state them ("48 jam", "72 jam")."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    if rest == 0 and days not in (0, 2, 3):
        return f"{days} hari"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours} jam {minutes} menit"
    return f"{hours} jam" if hours else f"{minutes} menit"


def _variant_duration(variant: SlaVariant) -> str:
    if variant.min_duration is None or variant.min_duration == variant.duration:
        return format_duration(variant.duration)
    low, high = format_duration(variant.min_duration), format_duration(variant.duration)
    low_number, _, low_unit = low.partition(" ")
    high_number, _, high_unit = high.partition(" ")
    if low_unit == high_unit and low_number.isdigit() and high_number.isdigit():
        return f"{low_number}–{high}"
    return f"{low}–{high}"


def sla_summary(sla: Sla) -> str:
    return " / ".join(_variant_duration(variant) for variant in sla.variants)


def _bullets(console: Console, heading: str, items: tuple[str, ...]) -> None:
    if not items:
        return
    console.print(f"\n[bold]{heading}[/]")
    for number, item in enumerate(items, 1):
        console.print(f"  {number}. {plain(item)}")


def _constraint(spec: FieldSpec) -> str:
    parts: list[str] = []
    if spec.choices:
        parts.append(" | ".join(spec.choices))
    if spec.min is not None or spec.max is not None:
        parts.append(f"{'' if spec.min is None else spec.min}–{'' if spec.max is None else spec.max}")
    if spec.type in (FieldType.TEXT, FieldType.LONGTEXT, FieldType.SLUG) and spec.effective_max_length:
        parts.append(f"≤{spec.effective_max_length} karakter")
    if spec.format is not None:  # the rule intake applies, as the applicant will read it when refused
        parts.append(FORMATS[spec.format].description.split(" / ")[0])
    if spec.required_when is not None:
        parts.append(f"wajib bila {spec.required_when.describe()}")
    if spec.default is not None:
        default = str(spec.default).lower() if isinstance(spec.default, bool) else spec.default
        parts.append(f"bawaan: {default}")
    return "; ".join(parts)


def _fields_table(service: Service) -> Table:
    table = Table(title="Isian permohonan", title_justify="left")
    table.add_column("Nama", no_wrap=True)
    table.add_column("Label", overflow="fold")
    table.add_column("Tipe", overflow="fold")
    table.add_column("Wajib")
    table.add_column("Catatan", overflow="fold")
    for spec in service.requirements.fields:
        notes = _constraint(spec)
        if spec.confidential:
            notes = "; ".join(filter(None, ("rahasia", notes)))
        table.add_row(spec.name, plain(spec.label), str(spec.type), "ya" if spec.required else "tidak",
                      plain(notes))
    return table


def _attachments_table(service: Service) -> Table:
    table = Table(title="Lampiran", title_justify="left")
    table.add_column("Nama", no_wrap=True)
    table.add_column("Label", overflow="fold")
    table.add_column("Wajib")
    table.add_column("Jenis berkas", overflow="fold")
    for attachment in service.requirements.attachments:
        when = attachment.required_when
        table.add_row(attachment.name, plain(attachment.label), "ya" if attachment.required else
                      plain(f"bila {when.describe()}") if when is not None else "tidak",
                      ", ".join(attachment.media_types) or "apa saja")
    return table


def _step_cells(number: int, step: Step) -> list[str]:
    title = f"{plain(step.title)}\n[dim]{step.id}[/]"
    if step.outputs:
        title += f"\n[dim]output: {plain('; '.join(step.outputs))}[/]"
    actor = step.actor + "".join(f"\n+ {role}" for role in step.participants)
    if step.supervisor:
        actor += f"\n[dim]eskalasi: {step.supervisor}[/]"
    kind = str(step.kind) + (f"\n{step.action}" if step.action else "")
    return [
        str(number),
        "–" if step.sop_no is None else str(step.sop_no),
        title,
        actor,
        kind,
        format_duration(step.standard_time) if step.standard_time else "",
        step.when.describe() if step.when else "",
    ]


def _steps_table(service: Service) -> Table:
    table = Table(title="Sistem, mekanisme dan prosedur", title_justify="left", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("SOP", justify="right")
    table.add_column("Langkah", overflow="fold", ratio=4)
    table.add_column("Pelaksana", overflow="fold", ratio=2)
    table.add_column("Jenis / aksi", overflow="fold", ratio=2)
    table.add_column("Waktu", overflow="fold")
    table.add_column("Syarat", overflow="fold", ratio=1)
    for number, step in enumerate(service.steps, 1):
        table.add_row(*_step_cells(number, step))
    return table


def _sla_table(sla: Sla) -> Table:
    table = Table(title="Jangka waktu pelayanan", title_justify="left")
    table.add_column("ID", no_wrap=True)
    table.add_column("Ketentuan SOP", overflow="fold")
    table.add_column("Waktu", overflow="fold")
    table.add_column("Berlaku jika", overflow="fold")
    for variant in sla.variants:
        table.add_row(variant.id, plain(variant.label), _variant_duration(variant),
                      variant.when.describe() if variant.when else "selain itu (bawaan)")
    return table
