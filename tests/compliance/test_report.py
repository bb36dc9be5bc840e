"""The compliance report on a hand-built history (tests/compliance/history_samples.py) with numbers worked
out by hand: pass rates per profile, target and rule, the daily trend in the deployment's zone, what fails now
and since when, the errors, the waivers of the period; then the HTML (escaped, Bahasa Indonesia), the chart
(a real PNG and SVG) and the JSON, and the same report read back from the real state store."""

from __future__ import annotations

import base64
import io
import json
import re
import stat
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image

from tests.compliance.history_samples import (
    SINCE,
    UNTIL,
    WITA,
    at,
    history,
    waivers,
)
from toolkit.bootstrap import App
from toolkit.compliance.report import ComplianceReport, build_report, report_from
from toolkit.compliance.report_chart import trend_chart
from toolkit.compliance.report_html import persen, render_html, write_report
from toolkit.settings import Settings, load_settings


def _mask(text: str) -> str:
    return text.replace("RAHASIA-123", "********")


@pytest.fixture
def report() -> ComplianceReport:
    return build_report(history(), waivers(), since=SINCE, until=UNTIL, zone=WITA, mask=_mask)


def test_pass_rates_per_profile(report: ComplianceReport) -> None:
    assert report.runs == 6, "the run before the period is left out"
    sd, ji = sorted(report.profiles, key=lambda p: p.profile != "server-dasar")
    assert (sd.profile, sd.runs, sd.overall.total, sd.overall.good) == ("server-dasar", 3, 24, 14)
    assert (sd.overall.failed, sd.overall.waived, sd.overall.errors) == (5, 1, 5)
    assert sd.pass_rate == 14 / 24
    assert (sd.last_run_at, sd.last_pass_rate, sd.last_failing) == (at(2, 14), 6 / 8, 2)
    assert (ji.profile, ji.runs, ji.pass_rate, ji.last_pass_rate, ji.last_failing) == ("jaringan-intra", 3, 0.5, 0.5, 1)


def test_pass_rates_per_target_and_rule(report: ComplianceReport) -> None:
    targets = {(t.profile, t.target): (t.overall.good, t.overall.total, t.pass_rate, t.failing_now, t.unreachable_now)
               for t in report.targets}
    assert targets == {("server-dasar", "pd-01"): (9, 12, 0.75, 2, None),
                       ("server-dasar", "pd-02"): (5, 12, 5 / 12, 0, None),
                       ("jaringan-intra", "sw-01"): (3, 6, 0.5, 1, None)}
    rules = {r.rule_id: (r.overall.good, r.overall.total, r.overall.failed, r.overall.waived, r.overall.errors)
             for r in report.rules}
    assert rules == {"SD-SSH-01": (5, 6, 0, 0, 1), "SD-SSH-02": (2, 6, 3, 1, 1), "SD-FW-01": (3, 6, 2, 0, 1),
                     "SD-FS-01": (4, 6, 0, 0, 2), "JI-HTTP-01": (3, 3, 0, 0, 0), "JI-SNMP-01": (0, 3, 2, 0, 1)}
    assert next(r for r in report.rules if r.rule_id == "SD-SSH-02").pass_rate == 2 / 6


def test_the_trend_is_per_day_in_the_deployments_zone(report: ComplianceReport) -> None:
    trend = [(t.profile, t.day, t.runs, t.pass_rate) for t in report.trend]
    assert trend == [("jaringan-intra", date(2026, 3, 1), 1, 0.5), ("jaringan-intra", date(2026, 3, 2), 1, 0.5),
                     ("jaringan-intra", date(2026, 3, 3), 1, 0.5),
                     # run A is 28 February in UTC, 1 March in WITA
                     ("server-dasar", date(2026, 3, 1), 1, 0.5), ("server-dasar", date(2026, 3, 2), 2, 10 / 16)]


def test_failing_now_with_since_and_errors(report: ComplianceReport) -> None:
    failing = [(f.profile, f.target, f.rule_id, f.since, f.last_seen) for f in report.failing]
    assert failing == [
        ("jaringan-intra", "sw-01", "JI-SNMP-01", at(1, 3), at(3, 3)),  # an error in between does not break it
        ("server-dasar", "pd-01", "SD-FW-01", at(2, 14), at(2, 14)),
        ("server-dasar", "pd-01", "SD-SSH-02", at(2, 14), at(2, 14)),  # waived in B: the streak began again
    ]
    fw = report.failing[1]
    assert "RAHASIA" not in fw.evidence and "********" in fw.evidence, "evidence goes through the masker"
    assert len(report.failing[2].evidence) == 501 and report.failing[2].evidence.endswith("…")
    errors = [(e.profile, e.target, e.rule_id, e.count, e.last_at, e.detail) for e in report.errors]
    assert errors == [("jaringan-intra", "sw-01", "JI-SNMP-01", 1, at(2, 3), "parse error"),
                      ("server-dasar", "pd-02", None, 1, at(2, 2), "ssh: timed out"),
                      ("server-dasar", "pd-02", "SD-FS-01", 1, at(1, 2), "timeout")]


def test_every_report_shows_the_waivers_of_its_period(report: ComplianceReport) -> None:
    assert [(row.waiver.id, row.state) for row in report.waivers] == [
        ("W-0001", "kedaluwarsa"), ("W-0002", "berlaku"), ("W-0003", "menunggu"), ("W-0006", "dicabut")]
    one = build_report(history(), waivers(), since=SINCE, until=UNTIL, zone=WITA, profile="jaringan-intra")
    assert [row.waiver.id for row in one.waivers] == ["W-0006"]
    assert [p.profile for p in one.profiles] == ["jaringan-intra"] and one.runs == 3


def test_an_empty_period_still_renders_with_its_waivers() -> None:
    empty = build_report([], waivers(), since=SINCE, until=UNTIL, zone=WITA)
    assert (empty.runs, empty.profiles, empty.trend) == (0, (), ())
    html = render_html(empty, Settings().templates_dir, trend_chart(empty.trend)[0])
    assert "Belum ada pemeriksaan pada periode ini" in html and "W-0002" in html


def test_the_html_is_indonesian_escaped_and_embeds_the_chart(report: ComplianceReport, tmp_path: Path) -> None:
    files = write_report(report, tmp_path / "laporan", Settings().templates_dir)
    html = files.html.read_text(encoding="utf-8")
    assert files.html.name == "laporan-kepatuhan-2026-03-03.html"
    for heading in ("Laporan Kepatuhan Keamanan", "Ringkasan per profil", "Pengecualian (waiver)",
                    "Aturan yang gagal saat ini", "Tingkat kepatuhan per target", "Tingkat kepatuhan per aturan"):
        assert heading in html
    assert "58,3%" in html and "75,0%" in html, "rates with the decimal comma"
    assert "1 Maret 2026 00.00 WITA" in html and "Kedaluwarsa" in html and "Menunggu persetujuan" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;bukti&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "RAHASIA" not in html
    found = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert found is not None
    Image.open(io.BytesIO(base64.b64decode(found.group(1)))).verify()
    assert files.svg.name in html
    assert stat.S_IMODE(files.html.stat().st_mode) == 0o600 and stat.S_IMODE(files.html.parent.stat().st_mode) == 0o700
    assert json.loads(files.json.read_text(encoding="utf-8"))["runs"] == 6


def test_the_chart_is_a_real_png_and_svg(report: ComplianceReport) -> None:
    png, svg = trend_chart(report.trend)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (800, 360)
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own renderer's output, written in this test
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg.decode("utf-8")
    assert "Tingkat kepatuhan" in text or "<path" in text
    assert trend_chart(report.trend)[1] == svg, "no creation date: the same history draws the same SVG"


def test_percent_is_written_the_indonesian_way() -> None:
    assert (persen(None), persen(1.0), persen(0.5833333), persen(0.0)) == ("-", "100,0%", "58,3%", "0,0%")


def test_the_same_report_from_the_real_store(state_dir: Path) -> None:
    app = App(load_settings(state_dir=state_dir))
    try:
        for run in history():
            app.state.compliance_history.record(run)
        for w in waivers():
            app.state.waivers.request(_as_request(w), w.requested_by, w.requested_at)
        stored = report_from(app.state.compliance_history, app.state.waivers, since=SINCE, until=UNTIL, zone=WITA,
                             mask=_mask)
    finally:
        app.close()
    direct = build_report(history(), [], since=SINCE, until=UNTIL, zone=WITA, mask=_mask)
    assert stored.model_copy(update={"waivers": ()}) == direct
    assert [(r.waiver.id, r.state) for r in stored.waivers] == [(f"W-{n:04d}", "menunggu") for n in range(1, 7)]


def _as_request(w):  # type: ignore[no-untyped-def]
    from toolkit.ports.compliance_records import WaiverRequest

    return WaiverRequest(profile=w.profile, rule_id=w.rule_id, target=w.target, reason=w.reason,
                         expires_on=w.expires_on)
