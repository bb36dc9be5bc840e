"""The evaluation as a document in Bahasa Indonesia: one Markdown text, shown as HTML or laid out as PDF.

As the letter kit does for every document (`toolkit.letters.kit`), the Markdown is rendered once
(``templates/reports/laporan_evaluasi.md.j2``, sandboxed, every value escaped by `toolkit.documents.md`) and both
formats come from that text, so a figure cannot differ between them: the PDF through the kit's own renderer
(`toolkit.letters.render.PdfRenderer`: its kop surat, fonts, page numbers, and a fetcher that allows only the
charts' data URIs), the HTML through ``laporan_evaluasi.html.j2`` with the same kop from ``settings.documents``.
The charts (`toolkit.evaluation.charts`) are PNG data URIs in the Markdown.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from toolkit.documents import BULAN, FILTERS, MarkdownText, md
from toolkit.errors import ConfigurationError
from toolkit.evaluation.charts import charts
from toolkit.evaluation.models import EvaluationReport
from toolkit.letters.config import LetterheadSettings
from toolkit.letters.markup import parse

MARKDOWN_TEMPLATE = "laporan_evaluasi.md.j2"
HTML_TEMPLATE = "laporan_evaluasi.html.j2"
EMPTY = "Tidak ada data layanan pada periode ini"
# Permenpan RB No. 14 Tahun 2017: the nine elements of the survey, u1..u9.
ELEMENTS = ("Persyaratan", "Sistem, mekanisme dan prosedur", "Waktu penyelesaian", "Biaya/tarif",
            "Produk spesifikasi jenis pelayanan", "Kompetensi pelaksana", "Perilaku pelaksana",
            "Penanganan pengaduan, saran dan masukan", "Sarana dan prasarana")
OUTCOME_LABELS = {"done": "Selesai", "rejected": "Ditolak/dibatalkan", "deferred": "Ditunda", "open": "Belum selesai"}


class LaysOutPdf(Protocol):
    """`toolkit.letters.render.PdfRenderer` as the report uses it."""

    def render(self, markdown: str, context: Mapping[str, Any]) -> Any: ...


def persen(part: float | None, whole: float | None = None) -> str:
    """``87,5%`` (the Indonesian decimal comma); ``part`` of ``whole``, or a ratio; no data: ``-``."""
    if part is None or whole == 0:
        return "-"
    value = part / whole if whole is not None else part
    return f"{value * 100:.1f}".replace(".", ",") + "%"


def jam(seconds: float | None) -> str:
    """Seconds as hours with one decimal (``12,5 jam``); no data: ``-``."""
    return "-" if seconds is None else f"{seconds / 3600:.1f}".replace(".", ",") + " jam"


def angka(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}".replace(".", ",")


def period_label(report: EvaluationReport) -> str:
    period = report.period
    return f"Bulan {BULAN[period.month - 1]} {period.year}" if period.month else f"Tahun {period.year}"


def _marked(function: Any) -> Any:
    """A formatting filter whose text is Markdown-safe already (digits, ``,``, ``%``, words)."""
    def marked(*args: Any) -> MarkdownText:
        return MarkdownText(function(*args))

    return marked


def _environment(templates_dir: Any) -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(templates_dir / "reports"), encoding="utf-8"),
                               undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True,
                               lstrip_blocks=True, finalize=lambda v: v if isinstance(v, jinja2.Undefined) else md(v))
    env.filters.update(FILTERS)
    env.filters.update({"persen": _marked(persen), "jam": _marked(jam), "angka": _marked(angka)})
    return env


def _template(env: SandboxedEnvironment, name: str) -> jinja2.Template:
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        raise ConfigurationError(f"no report template {name} in templates/reports") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigurationError(f"reports/{name} line {exc.lineno}: {exc.message}") from None


def render_markdown(report: EvaluationReport, templates_dir: Any, kop: LetterheadSettings,
                    role_names: Mapping[str, str], chart_png: Mapping[str, bytes] | None = None) -> str:
    """The report's Markdown; ``chart_png``: the charts (made here when not given)."""
    pngs = charts(report) if chart_png is None else chart_png
    images = {name: MarkdownText(f"![Grafik {name}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")
              for name, png in pngs.items()}
    zone = ZoneInfo(report.period.timezone)
    made = report.generated_at.astimezone(zone)
    text = _template(_environment(templates_dir), MARKDOWN_TEMPLATE).render(
        laporan=report, kop=kop, periode=period_label(report), kosong=report.empty, pesan_kosong=EMPTY,
        dibuat=MarkdownText(f"{made.day} {BULAN[made.month - 1]} {made.year} {made:%H.%M} {made.tzname()}"),
        grafik=images, unsur=ELEMENTS, hasil=OUTCOME_LABELS,
        peran=lambda role: MarkdownText(md(role_names.get(role, role))))
    return text


def render_html(markdown: str, templates_dir: Any, kop: LetterheadSettings) -> str:
    """The HTML page of the Markdown, with the kop surat of the letter kit's settings."""
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(templates_dir / "reports"), encoding="utf-8"),
                               undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    body = parse(markdown)
    parts = [Markup(part) for part in body.parts if isinstance(part, str)]  # noqa: S704 - markdown-it, raw HTML off
    return _template(env, HTML_TEMPLATE).render(kop=kop, judul=body.title or "Laporan Evaluasi", bagian=parts)


def render_pdf(markdown: str, pdf: LaysOutPdf) -> bytes:
    """The PDF of the Markdown, laid out by the letter kit (its kop surat replaces the Markdown's)."""
    return bytes(pdf.render(markdown, {}).pdf)
