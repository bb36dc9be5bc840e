"""``document.render``: one rendering, two attachments (the Markdown and its PDF), the number from the store,
the signature boxes in the job's facts, and the mask applied to both files. Both lie encrypted at rest in the
working directory (`toolkit.at_rest`); the tests read them in clear through the key, as the outbox does."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.document_samples import NOW, make_prior, make_ticket, make_timeline
from tests.support.pdf import NIPS, PEOPLE, pdf_text
from toolkit.actions.base import ActionContext, Artifact, RunContext
from toolkit.actions.documents.document import DocumentFacts
from toolkit.at_rest import is_sealed, open_artifact
from toolkit.bootstrap import App
from toolkit.settings import load_settings

CANARY = "kanari-rahasia-7f3a9c"


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    built = App(load_settings(state_dir=state_dir))
    yield built
    built.close()


def _run(app: App, tmp_path: Path, title: str = "Hosting SIMPEG") -> tuple[ActionContext, RunContext, list[str]]:
    service = app.catalog.get("pusat-data")
    step = next(s for s in service.steps if s.id == "berita-acara-instalasi-server")
    ctx = ActionContext(ticket=make_ticket(title=title), service=service, step=step, prior=make_prior(),
                        timeline=make_timeline(), settings=app.settings, directory=PEOPLE, roles=app.catalog.roles,
                        now=NOW)
    lines: list[str] = []
    run = RunContext(job_id=7, attempt=1, log=lines.append, should_cancel=lambda: False, work_dir=tmp_path / "work",
                     mask=app.masker, services=app)
    return ctx, run, lines


def _clear(app: App, artifact: Artifact, tmp_path: Path) -> Path:
    """The artifact opened with the vault key, written to a scratch file (pdftotext reads a path)."""
    stored = artifact.path.read_bytes()
    assert is_sealed(stored)
    (tmp_path / "clear").mkdir(exist_ok=True)
    path = tmp_path / "clear" / artifact.name
    path.write_bytes(open_artifact(stored, app.settings, artifact.name))
    return path


def test_the_markdown_and_the_pdf_are_attached_with_the_signature_boxes(app: App, tmp_path: Path) -> None:
    action = app.actions.get("document.render")
    assert action is not None
    ctx, run, lines = _run(app, tmp_path)
    result = action.execute(ctx, action.plan(ctx), run)
    assert result.ok
    md, pdf = result.artifacts
    assert (md.name, md.media_type) == ("berita_acara_instalasi_server_PD-2026-0042.md", "text/markdown")
    assert (pdf.name, pdf.media_type) == ("berita_acara_instalasi_server_PD-2026-0042.pdf", "application/pdf")
    assert stat.S_IMODE(pdf.path.stat().st_mode) == 0o600 and stat.S_IMODE(md.path.stat().st_mode) == 0o600
    md_file, pdf_file = _clear(app, md, tmp_path), _clear(app, pdf, tmp_path)
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    assert md.name in result.comment and pdf.name in result.comment
    facts = result.facts
    assert isinstance(facts, DocumentFacts)
    assert facts.nomor == ["000.8/BA-INST/1/2026"] and facts.pdf == pdf.name
    assert "Nomor: 000.8/BA-INST/1/2026" in md_file.read_text(encoding="utf-8")
    assert "000.8/BA-INST/1/2026" in pdf_text(pdf_file)
    # The SOP step's actor signs first; each box names its party and where it is.
    assert [(b.peran, b.username, b.nip) for b in facts.tanda_tangan] == [
        ("tim-pusat-data", "fadli", NIPS["fadli"]), ("pemohon", "rahmat", NIPS["rahmat"]),
        ("kepala-dinas", "kadis", NIPS["kadis"])]
    assert all(b.page == facts.halaman for b in facts.tanda_tangan)
    assert "000.8/BA-INST/1/2026" in lines[-1]
    # Stored with the job as JSON and read back by the signing step.
    again = DocumentFacts.model_validate(facts.model_dump(mode="json"))
    assert again.tanda_tangan[0].width == facts.tanda_tangan[0].width

    # Rendered again (a retry): the same number.
    ctx, run, _ = _run(app, tmp_path)
    second = action.execute(ctx, action.plan(ctx), run)
    assert isinstance(second.facts, DocumentFacts) and second.facts.nomor == ["000.8/BA-INST/1/2026"]
    assert app.letters is app.letters  # built once per process


def test_a_masked_secret_reaches_neither_file(app: App, tmp_path: Path) -> None:
    app.masker.add(CANARY)
    action = app.actions.get("document.render")
    assert action is not None
    ctx, run, lines = _run(app, tmp_path, title=f"Hosting SIMPEG {CANARY}")
    result = action.execute(ctx, action.plan(ctx), run)
    md, pdf = (_clear(app, a, tmp_path) for a in result.artifacts)
    assert CANARY not in md.read_text(encoding="utf-8")
    assert CANARY.encode() not in pdf.read_bytes() and CANARY not in pdf_text(pdf)
    assert "Hosting SIMPEG" in " ".join(pdf_text(pdf).split())
    assert not any(CANARY in line for line in lines) and CANARY not in result.comment
