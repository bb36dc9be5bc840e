"""The compliance report as files: HTML in Bahasa Indonesia from ``templates/reports/laporan_kepatuhan.html.j2``
with the trend chart embedded as a PNG data URI, the chart as SVG beside it, and the report as JSON.

The template runs in Jinja's sandbox with autoescaping on: targets, evidence, reasons and notes come from
hosts and from people, and are data in the page, never markup (a ``<script>`` in a waiver reason shows as
text). Times are shown in the deployment's zone with its abbreviation (WITA, WIB), in Indonesian form.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from toolkit.compliance.report import ComplianceReport
from toolkit.compliance.report_chart import trend_chart
from toolkit.documents import BULAN
from toolkit.errors import ConfigurationError
from toolkit.private_files import private_dir, write_private

TEMPLATE = "laporan_kepatuhan.html.j2"
WAIVER_STATE = {"berlaku": "Berlaku", "kedaluwarsa": "Kedaluwarsa", "dicabut": "Dicabut",
                "menunggu": "Menunggu persetujuan"}


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    svg: Path
    json: Path


def persen(value: float | None) -> str:
    """``0.875`` → ``87,5%`` (the Indonesian decimal comma); no value → ``-``."""
    if value is None:
        return "-"
    return f"{value * 100:.1f}".replace(".", ",") + "%"


def _filters(zone: ZoneInfo) -> dict[str, Any]:
    def tanggal(value: date | datetime) -> str:
        day = value.astimezone(zone) if isinstance(value, datetime) else value
        return f"{day.day} {BULAN[day.month - 1]} {day.year}"

    def waktu(value: datetime) -> str:
        local = value.astimezone(zone)
        return f"{tanggal(local)} {local:%H.%M} {local.tzname()}"

    return {"persen": persen, "tanggal": tanggal, "waktu": waktu, "keadaan": WAIVER_STATE.get}


def render_html(report: ComplianceReport, templates_dir: Path, chart_png: bytes, svg_name: str | None = None) -> str:
    zone = ZoneInfo(report.timezone)
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(templates_dir / "reports"), encoding="utf-8"),
                               autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True)
    env.filters.update(_filters(zone))
    try:
        template = env.get_template(TEMPLATE)
    except jinja2.TemplateNotFound:
        raise ConfigurationError(f"no report template {TEMPLATE} in {templates_dir / 'reports'}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigurationError(f"reports/{TEMPLATE} line {exc.lineno}: {exc.message}") from None
    chart = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii")
    return template.render(report=report, chart=chart, svg_name=svg_name)


def write_report(report: ComplianceReport, out_dir: Path, templates_dir: Path) -> ReportFiles:
    """``laporan-kepatuhan-<day>.html``, ``-tren.svg`` and ``.json`` in ``out_dir``, each 0600 and the folder
    0700 when new: the report names weaknesses of the deployment's hosts. An existing folder is left as it is
    (it may be the operator's working directory)."""
    if not out_dir.is_dir():
        private_dir(out_dir)
    stem = f"laporan-kepatuhan-{report.generated_at.astimezone(ZoneInfo(report.timezone)).date().isoformat()}"
    files = ReportFiles(html=out_dir / f"{stem}.html", svg=out_dir / f"{stem}-tren.svg", json=out_dir / f"{stem}.json")
    png, svg = trend_chart(report.trend)
    write_private(files.svg, svg)
    write_private(files.html, render_html(report, templates_dir, png, files.svg.name))
    write_private(files.json, report.model_dump_json(indent=2))
    return files
