"""The evaluation's charts, drawn by matplotlib on its Agg canvas as `toolkit.compliance.report_chart` does:
a `Figure` with its own canvas, never ``pyplot`` (no process-global figures, no GUI backend picked from the
environment), PNG bytes out, for the document's data URIs. Labels in Bahasa Indonesia.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from toolkit.evaluation.models import EvaluationReport

OUTCOME_COLOURS = (("Selesai", "#2e7d32"), ("Ditolak", "#c62828"), ("Ditunda", "#f9a825"), ("Terbuka", "#1565c0"))


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


WIDTH_IN, DPI = 6.2, 96  # 595 px: the A4 letter's text width (16.5 cm) at WeasyPrint's 96 px per inch


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def outcomes_chart(report: EvaluationReport) -> bytes:
    """Requests per service by outcome, stacked horizontally."""
    services = [s for s in report.services if s.outcomes.total]
    figure = _figure(1.2 + 0.45 * max(len(services), 1))
    axes = figure.add_subplot()
    names = [s.service_id for s in services]
    left = [0] * len(services)
    for (label, colour), counts in zip(OUTCOME_COLOURS, (
            [s.outcomes.done for s in services], [s.outcomes.rejected for s in services],
            [s.outcomes.deferred for s in services], [s.outcomes.open for s in services]), strict=True):
        axes.barh(names, counts, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_xlabel("Jumlah permohonan")
    axes.set_title("Permohonan per layanan menurut hasil")
    axes.invert_yaxis()
    if services:
        axes.legend(loc="lower right", fontsize="small")
    return _png(figure)


def sla_chart(report: EvaluationReport) -> bytes:
    """The share of done requests completed within the SLA, per service and variant."""
    rows = [(f"{s.service_id} ({r.variant_id})", 100 * r.within / r.done) for s in report.services for r in s.sla
            if r.done]
    figure = _figure(1.2 + 0.4 * max(len(rows), 1))
    axes = figure.add_subplot()
    axes.barh([label for label, _ in rows], [value for _, value in rows], color="#00897b")
    for index, (_, value) in enumerate(rows):
        axes.text(min(value + 1, 92), index, f"{value:.1f}%".replace(".", ","), va="center", fontsize="small")
    axes.set_xlim(0, 100)
    axes.set_xlabel("Selesai dalam jangka waktu layanan (%)")
    axes.set_title("Selesai tepat waktu per varian")
    axes.invert_yaxis()
    return _png(figure)


def ikm_chart(report: EvaluationReport) -> bytes | None:
    """The IKM per service (None when no service has survey answers in the period)."""
    rows = [(s.service_id, s.ikm.ikm) for s in report.services if s.ikm is not None]
    if not rows:
        return None
    figure = _figure(1.2 + 0.4 * len(rows))
    axes = figure.add_subplot()
    axes.barh([label for label, _ in rows], [value for _, value in rows], color="#6a1b9a")
    axes.set_xlim(0, 100)
    axes.set_xlabel("Indeks Kepuasan Masyarakat (0-100)")
    axes.set_title("IKM per layanan")
    axes.invert_yaxis()
    return _png(figure)


def charts(report: EvaluationReport) -> dict[str, bytes]:
    """Every chart of the report by name (none for an empty report)."""
    if report.empty:
        return {}
    found = {"hasil": outcomes_chart(report), "sla": sla_chart(report)}
    ikm = ikm_chart(report)
    if ikm is not None:
        found["ikm"] = ikm
    return found
