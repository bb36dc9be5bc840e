"""Hostile text: invisible and terminal-driving characters are refused in every free text a person
types, and what is allowed (brackets, asterisks, angle brackets) is shown as written: literally on the
terminal, escaped in Markdown documents. The real catalog, store, CLI and templates throughout."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from pydantic import ValidationError

from tests.actions.test_incident_documents import NOW, PRIOR
from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.containment.models import IsolateHostRequest, ReleaseRequest
from toolkit.document_context import build_context
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.decisions import validate as validate_decisions
from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.domain.tickets.requests import validate_request
from toolkit.errors import InvalidInputError
from toolkit.settings import load_settings

HOSTILE: dict[str, tuple[str, ...]] = {
    "bidi": ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
             "\u200e", "\u200f", "\u061c"),
    "c0": ("\x00", "\x07", "\x1b", "\r", "\x0b", "\x7f"),
    "c1": ("\x80", "\x85", "\x9b", "\x9f"),
    "separator": ("\u2028", "\u2029"),
    "surrogate": ("\ud800", "\udfff"),
}
ALLOWED = "[bold red]x[/] **y** <b>z</b> [tautan](http://evil) :warning: [dirahasiakan]"
# md(ALLOWED), written out so the test does not check the escaper against itself.
ALLOWED_MD = (r"\[bold red\]x\[/\] \*\*y\*\* &lt;b&gt;z&lt;/b&gt; \[tautan\](http://evil) :warning: "
              r"\[dirahasiakan\]")
SAMPLE = {"hostname": "web-01", "slug": "abc", "bool": "ya", "email": "it@dinas.example.go.id",
          "phone": "+62 811 2345 678", "ipv4": "10.0.0.1", "cidr": "10.0.0.0/24", "date": "2026-01-02",
          "url": "https://dinas.example.go.id/", "text": "Dinas Kesehatan", "longtext": "Baris satu."}
# A field with a catalog format (toolkit.domain.catalog.formats) gets a value of that format.
FORMAT_SAMPLE = {"app_name": "simpus", "server_hostname": "web-01", "inventory_host": "web-01",
                 "inventory_id": "bkd", "inventory_ids": "simpeg, dns", "gateway_name": "simpus-dinkes",
                 "private_lan": "10.0.0.0/24", "nip": "198001012005011001"}
CATALOG = load_catalog()


def _sample(spec: Any) -> Any:
    """A valid value of the field's type, so a refusal can only be about the field under test."""
    kind = str(spec.type)
    if spec.format is not None:
        return FORMAT_SAMPLE[spec.format]
    if kind == "int":
        return str(spec.min if spec.min is not None else 1)
    if kind == "enum":
        return spec.choices[0]
    return SAMPLE[kind]


def _free_text_fields(*, formatted: bool = True) -> Iterator[Any]:
    """Text fields; ``formatted=False`` leaves out those with a catalog format (a list of codes is text
    but not free: it keeps no brackets)."""
    for service in CATALOG.services():
        for spec in service.requirements.fields:
            if str(spec.type) in ("text", "longtext") and (formatted or spec.format is None):
                yield pytest.param(service, spec, id=f"{service.id}.{spec.name}")


def _request(service: Any, field: str, value: str) -> dict[str, Any]:
    raw = {s.name: _sample(s) for s in service.requirements.fields if s.required and s.default is None}
    raw |= {s.name: _sample(s) for s in service.requirements.fields  # what the sample choices make required
            if s.required_when is not None and s.required_when.matches(raw)}
    required = [a.name for a in service.requirements.attachments if a.required or a.required_when]
    return validate_request(service, raw | {field: value}, required)


def test_the_walk_covers_every_service() -> None:
    walked = {p.values[0].id for p in _free_text_fields()}
    assert walked == {s.id for s in CATALOG.services()} and len(walked) == 9


@pytest.mark.parametrize(("service", "spec"), list(_free_text_fields()))
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_free_text_field_refuses_hostile_characters_by_name(service: Any, spec: Any, kind: str) -> None:
    for char in HOSTILE[kind]:
        with pytest.raises(InvalidInputError) as caught:
            _request(service, spec.name, f"Dinas{char}Kesehatan")
        assert [field for field, _ in caught.value.details["errors"]] == [spec.name], repr(char)
        assert spec.name in str(caught.value)


@pytest.mark.parametrize(("service", "spec"), list(_free_text_fields(formatted=False)))
def test_every_free_text_field_keeps_brackets_and_only_multiline_keeps_newlines(service: Any, spec: Any) -> None:
    assert _request(service, spec.name, ALLOWED)[spec.name] == ALLOWED
    assert _request(service, spec.name, "Ya 👩\u200d💻 — emoji dan tanda pisah")[spec.name].startswith("Ya")
    multiline = str(spec.type) == "longtext"
    for char in "\n\t":
        value = f"baris satu{char}baris dua"
        if multiline:
            assert _request(service, spec.name, value)[spec.name] == value
        else:
            with pytest.raises(InvalidInputError, match=spec.name):
                _request(service, spec.name, value)


# --- every other text a person types ----------------------------------------------------------------

GOOD = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
        "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
        "kontak_email": "it@dinkes.example.go.id"}


@pytest.fixture
def spbe(state_dir: Path):  # type: ignore[no-untyped-def]
    return Spbe(state_dir=state_dir, env={"COLUMNS": "400"})


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


@pytest.fixture
def ticket_id(spbe, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(b"%PDF-1.4\n%%EOF\n")
    approval = tmp_path / "persetujuan.pdf"
    approval.write_bytes(b"%PDF-1.4\n% persetujuan\n%%EOF\n")
    args = ["ticket", "open", "pusat-data", "--as", "andi", "--title", ALLOWED, "--json",
            "-a", f"surat_permohonan={letter}", "-a", f"dokumen_persetujuan_aplikasi={approval}"]
    for name, value in (GOOD | {"keterangan": ALLOWED}).items():
        args += ["-f", f"{name}={value}"]
    result = spbe(*args)
    assert result.exit_code == 0, result.output
    opened = json.loads(result.output)["id"]
    assert spbe("ticket", "check", opened, "--as", "sari").exit_code == 0
    return str(opened)


def _timeline(spbe, ticket_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return list(json.loads(spbe("ticket", "show", ticket_id, "--json").output)["timeline"])


@pytest.mark.parametrize("char", ["\u202e", "\x1b", "\x9b", "\u2028", "\udcff"])  # one of each class
@pytest.mark.parametrize(("field", "command"), [
    ("reason", ("approve", "{id}", "--as", "kadis", "--reason", "Setuju{char}")),
    ("reason", ("defer", "{id}", "--as", "kadis", "--reason", "Tunda{char}")),
    ("note", ("advance", "{id}", "--as", "dewi", "--step", "instalasi-aplikasi", "--note", "Selesai{char}")),
    ("note", ("close", "{id}", "--as", "sari", "--note", "Ditutup{char}")),
    ("comment", ("comment", "{id}", "--as", "andi", "Mohon{char}dipercepat")),
    ("title", ("open", "pusat-data", "--as", "andi", "--title", "Hosting{char}SIMPUS")),
])
def test_reasons_notes_comments_and_titles_refuse_hostile_characters(spbe, ticket_id, field, command,  # type: ignore[no-untyped-def]
                                                                      char) -> None:
    """A lone surrogate is how Python hands over argv bytes that are not UTF-8."""
    before = _timeline(spbe, ticket_id)
    result = spbe("ticket", *(part.format(id=ticket_id, char=char) for part in command))
    assert result.exit_code == 2, result.output
    assert f"invalid {field}:" in result.output
    assert _timeline(spbe, ticket_id) == before
    assert len(json.loads(spbe("ticket", "list", "--json").output)) == 1


@pytest.mark.parametrize("char", [c for chars in HOSTILE.values() for c in chars])
def test_desk_decisions_containment_and_api_reasons_refuse_hostile_characters(app: App, state_dir: Path,
                                                                              char: str) -> None:
    text = f"Alasan{char}tertulis"
    for call, field in ((lambda: desk.comment(app, "SPBE-0", as_lab("andi"), text), "comment"),
                        (lambda: desk.record_step(app, "SPBE-0", as_lab("dewi"), "x", text), "note"),
                        (lambda: decide(app, "SPBE-0", as_lab("rina"), {"akar_masalah": "x"}, text), "reason"),
                        (lambda: validate_decisions(CATALOG.get("insiden-siber"), {"akar_masalah": text}),
                         "akar_masalah")):
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert caught.value.details["errors"][0][0] == field
    for model, values in ((IsolateHostRequest, {"host": "web-01"}), (ReleaseRequest, {})):
        with pytest.raises(ValidationError) as invalid:
            model(ticket_id="SPBE-0", actor="rina", auth=AuthMethod.LAB_AS, reason=text, **values)
        assert [e["loc"] for e in invalid.value.errors()] == [("reason",)]
    result = Spbe(state_dir=state_dir, catch_exceptions=True)("api", "revoke", "--ticket", "SPBE-0",
                                                              "--as", "sari", "--reason", text)
    assert result.exit_code == 2 and "invalid reason:" in result.output, result.output


# --- what is allowed shows as written ---------------------------------------------------------------

def test_ticket_show_prints_ticket_text_literally(spbe, ticket_id: str) -> None:  # type: ignore[no-untyped-def]
    assert spbe("ticket", "comment", ticket_id, "--as", "andi", ALLOWED).exit_code == 0
    assert spbe("ticket", "approve", ticket_id, "--as", "kadis", "--reason", ALLOWED).exit_code == 0
    shown = spbe("ticket", "show", ticket_id)
    assert shown.exit_code == 0, shown.output
    assert shown.output.count(ALLOWED) >= 3, shown.output  # the title, the field, the comment
    assert ALLOWED_MD in shown.output  # the approval comment: Markdown, shown as its source
    assert "⚠" not in shown.output
    listed = spbe("ticket", "list")
    assert ALLOWED in listed.output


def test_stored_text_cannot_drive_the_terminal(spbe, app: App, ticket_id: str) -> None:  # type: ignore[no-untyped-def]
    """Text that predates the rules (or comes from a peer) is shown with its controls as escapes."""
    raw = "awal\x1b[2J\x9b31m\u202eakhir\u2028"
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="andi", text=raw))
    shown = spbe("ticket", "show", ticket_id).output
    assert "awal\\u001b[2J\\u009b31m\\u202eakhir\\u2028" in shown
    assert not any(c in shown for c in "\x1b\x9b\u202e\u2028")
    as_json = spbe("ticket", "show", ticket_id, "--json").output
    assert not any(c in as_json for c in "\x1b\x9b\u202e\u2028")
    assert json.loads(as_json)["timeline"][-1]["text"] == raw  # escaped, not altered


def test_a_confidential_reporter_shows_as_dirahasiakan(spbe, app: App) -> None:  # type: ignore[no-untyped-def]
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik diretas", GORONTALO, EVIDENCE)
    hidden = spbe("ticket", "show", ticket.id).output
    assert "Pemohon: [dirahasiakan]" in hidden
    assert "│ Nama pelapor" in hidden and "│ [dirahasiakan]" in hidden
    assert "Siti Pelapor" not in hidden and not re.search(r"\blina\b", hidden)
    shown = spbe("ticket", "show", ticket.id, "--as", "rina").output
    assert "Siti Pelapor" in shown and "Pemohon: lina" in shown and "[dirahasiakan]" not in shown


def test_documents_escape_ticket_text(app: App) -> None:
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), ALLOWED, GORONTALO | {"deskripsi": ALLOWED},
                              EVIDENCE)
    decide(app, ticket.id, as_lab("rina"), {"akar_masalah": ALLOWED, "rekomendasi": "# Judul\n| a | b |\n- butir",
                                    "rencana_pencegahan": "> kutip `kode` _miring_"}, ALLOWED)
    ticket = app.tickets.get(ticket.id)
    context = build_context(ticket=ticket, service=app.catalog.get(ticket.service_id), prior=PRIOR,
                            timeline=app.tickets.timeline(ticket.id), directory=app.directory, now=NOW,
                            roles=app.catalog.roles,
                            viewer_roles=frozenset())
    renderer = app.renderer
    for template in ("laporan_insiden_siber", "laporan_penanganan_insiden"):
        text = renderer.render("documents", template, context)
        assert ALLOWED_MD in text and ALLOWED not in text
        html = MarkdownIt("commonmark").enable("table").render(text)
        assert "<strong>y</strong>" not in html and "<b>" not in html and 'href="http://evil"' not in html
        assert "[bold red]x[/] **y** &lt;b&gt;z&lt;/b&gt; [tautan](http://evil)" in html  # reads as typed
    report = renderer.render("documents", "laporan_penanganan_insiden", context)
    html = MarkdownIt("commonmark").enable("table").render(report)
    assert "# Judul | a | b | - butir" in html and "<h1>Judul" not in html
    assert "&gt; kutip `kode` _miring_" in html
    assert "<code>kode</code>" not in html and "<em>miring</em>" not in html and "<blockquote>" not in html


def test_cli_commands_escape_only_through_render_plain() -> None:
    """One layer: a command that imports rich's `escape` itself skips the control-character half."""
    cli_dir = Path(__file__).resolve().parents[2] / "toolkit" / "cli"
    offenders = [p.name for p in cli_dir.glob("*.py") if p.name != "render.py" and "rich.markup" in p.read_text()]
    assert offenders == []
