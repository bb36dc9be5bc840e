"""The report's trend chart: the daily pass rate of each profile, drawn by matplotlib.

A `matplotlib.figure.Figure` with its own Agg canvas, never ``pyplot``: pyplot keeps figures in a process
global and picks a GUI backend from the environment, neither of which a server thread or ``spbe serve``
wants. The SVG is written without a creation date and with a fixed id salt, so the same history draws the same
file.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from toolkit.compliance.report import TrendPoint


def _day_label(x: float, _: object) -> str:
    """x is a proleptic Gregorian ordinal (`date.toordinal`): one unit a day, whatever matplotlib's epoch."""
    return date.fromordinal(max(round(x), 1)).strftime("%d/%m")


def _figure(trend: Sequence[TrendPoint]) -> Figure:
    figure = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    series: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for point in trend:
        if point.pass_rate is not None:
            series[point.profile].append((point.day, point.pass_rate * 100))
    for profile, points in sorted(series.items()):
        axes.plot([d.toordinal() for d, _ in points], [v for _, v in points], marker="o", markersize=3,
                  label=profile)
    axes.set_ylim(0, 105)
    axes.set_ylabel("Tingkat kepatuhan (%)")
    axes.set_xlabel("Tanggal")
    axes.set_title("Tren tingkat kepatuhan per profil")
    axes.grid(True, alpha=0.3)
    axes.xaxis.set_major_formatter(FuncFormatter(_day_label))
    axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    if series:
        axes.legend(loc="lower left", fontsize="small")
    else:
        axes.text(0.5, 0.5, "Belum ada pemeriksaan pada periode ini", ha="center", va="center",
                  transform=axes.transAxes)
    return figure


def trend_chart(trend: Sequence[TrendPoint]) -> tuple[bytes, bytes]:
    """The chart as PNG (for a data URI) and as SVG (a file beside the report)."""
    figure = _figure(trend)
    png, svg = io.BytesIO(), io.BytesIO()
    figure.savefig(png, format="png")
    with rc_context({"svg.hashsalt": "spbe-kepatuhan"}):  # element ids from the content, not at random
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()
