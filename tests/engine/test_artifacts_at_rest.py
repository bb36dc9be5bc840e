"""Job files lie encrypted at rest (`toolkit.at_rest`): what an action hands the ticket is sealed in the
ticket's working directory, and the ticket (its attachment, through `spbe ticket download`) is the way to
its content.

The real path: the engine runs a document step (`document.render`, which writes its files sealed) and a
test action that still writes in clear (the worker seals its file before the outbox records it); then every
file under ``state_dir/artifacts`` is read raw for a canary the ticket's fields carried into the documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.signing.conftest import DOC, uji_ttd_app
from tests.support.cli import Spbe
from tests.support.pdf import pdf_text
from tests.support.principals import as_lab
from tests.support.sealed_files import assert_no_plaintext
from tests.web.portal.conftest import PDF, portal_settings
from toolkit.actions.base import ActionResult, Artifact, RunContext
from toolkit.at_rest import ARTIFACT, Sealer, is_sealed
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.engine.server import run_ticket
from toolkit.engine.worker import seal_artifacts
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.ports.jobs import JobState

CANARY = "Dinas Kanari Rahasia 5e1f0c"  # an agency's name: a ticket field that the document prints
HOST_CANARY = "kanari-5e1f0c"  # a host name: the field the clear-writing test action prints


def _download(state_dir: Path, tmp_path: Path, ticket_id: str, name: str, user: str, **env: str) -> bytes:
    target = tmp_path / "unduhan" / name
    target.parent.mkdir(exist_ok=True)
    spbe = Spbe(state_dir=state_dir, env={"SPBE_CONFIG": str(tmp_path / "none.toml"), "SPBE_DEPLOYMENT": "lab",
                                          **env})
    result = spbe("ticket", "download", ticket_id, name, "-o", str(target), "--as", user)
    assert result.exit_code == 0, result.output
    return target.read_bytes()


@pytest.fixture
def ttd_app(state_dir: Path, tmp_path: Path) -> Iterator[App]:
    built = uji_ttd_app(state_dir, tmp_path)
    template = Path(built.settings.templates_dir) / "documents" / f"{DOC}.md.j2"
    template.write_text(template.read_text() + "\nInstansi pemohon: {{ tiket.isian.instansi }}.\n")
    yield built
    built.close()


def test_a_document_steps_files_are_sealed_and_its_attachments_carry_the_content(
        ttd_app: App, state_dir: Path, tmp_path: Path) -> None:
    ticket = desk.open_ticket(ttd_app, "uji-ttd", as_lab("andi"), "Uji berkas terenkripsi", {"instansi": CANARY}, [])
    desk.check(ttd_app, ticket.id, as_lab("sari"))
    desk.approve(ttd_app, ticket.id, as_lab("kadis"), "Disetujui.")
    jobs = run_ticket(ttd_app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("berita-acara", JobState.SUCCEEDED)], [j.error for j in jobs]

    md_name, pdf_name = f"{DOC}_{ticket.id}.md", f"{DOC}_{ticket.id}.pdf"
    files = assert_no_plaintext(state_dir / "artifacts", CANARY, "Berita Acara Uji", "%PDF-")
    assert {p.name for p in files} == {md_name, pdf_name}

    env = {"SPBE_CATALOG_DIR": str(ttd_app.settings.catalog_dir)}
    markdown = _download(state_dir, tmp_path, ticket.id, md_name, "andi", **env).decode()
    assert f"Instansi pemohon: {CANARY}." in markdown and "# Berita Acara Uji" in markdown
    pdf = _download(state_dir, tmp_path, ticket.id, pdf_name, "andi", **env)
    assert pdf.startswith(b"%PDF-") and CANARY in " ".join(pdf_text(tmp_path / "unduhan" / pdf_name).split())


def test_a_file_an_action_wrote_in_clear_is_sealed_by_the_worker_before_the_outbox(
        state_dir: Path, tmp_path: Path) -> None:
    app = App(portal_settings(state_dir))
    try:
        fields = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan", "hostname": HOST_CANARY, "vcpu": "2",
                  "ram_gb": "4", "kontak_email": "it@dinkes.example.go.id"}
        letter = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=PDF, kind="surat_permohonan")
        ticket = desk.open_ticket(app, "uji-berkas", as_lab("andi"), "Hosting uji", fields, [letter])
        desk.check(app, ticket.id, as_lab("sari"))
        desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
        jobs = run_ticket(app, ticket.id)
        assert [j.state for j in jobs] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in jobs]
        name = f"berita_acara_instalasi_server_{ticket.id}.md"
        files = assert_no_plaintext(state_dir / "artifacts", HOST_CANARY, "Berita Acara")
        assert [p.name for p in files] == [name]
        assert HOST_CANARY in app.tickets.read_attachment(ticket.id, name).decode()
        env = {"SPBE_CATALOG_DIR": str(app.settings.catalog_dir)}
        assert HOST_CANARY in _download(state_dir, tmp_path, ticket.id, name, "andi", **env).decode()
    finally:
        app.close()


def _run_context(app: App, work: Path) -> RunContext:
    return RunContext(job_id=1, attempt=1, log=lambda _line: None, should_cancel=lambda: False, work_dir=work,
                      mask=app.masker, services=app)


def test_a_clear_file_outside_the_working_directory_is_left_alone_and_a_sealed_copy_attached(
        state_dir: Path, tmp_path: Path) -> None:
    app = App(portal_settings(state_dir))
    try:
        run = _run_context(app, state_dir / "artifacts" / "T-1")
        inside = run.work_dir / "laporan.md"
        inside.write_text(f"laporan {CANARY}")
        outside = tmp_path / "milik-aksi.txt"
        outside.write_text(f"catatan {CANARY}")
        already = run.write_artifact("sudah.md", CANARY)
        sealed_before = already.path.read_bytes()
        result = seal_artifacts(run, ActionResult(ok=True, summary="s", comment="c", artifacts=[
            Artifact(name="laporan.md", path=inside),
            Artifact(name="catatan.txt", path=outside, media_type="text/plain"), already]))
        assert outside.read_text() == f"catatan {CANARY}"  # the action's own file, untouched
        assert [(a.name, a.path) for a in result.artifacts] == [
            ("laporan.md", inside), ("catatan.txt", run.work_dir / "catatan.txt"), ("sudah.md", already.path)]
        assert already.path.read_bytes() == sealed_before  # sealed once, not again
        sealer = Sealer.from_settings(app.settings)
        for artifact in result.artifacts:
            stored = artifact.path.read_bytes()
            assert is_sealed(stored) and CANARY.encode() not in stored
            assert CANARY in sealer.open(stored, ARTIFACT).decode()
    finally:
        app.close()


@pytest.mark.parametrize("name", ["../keluar.md", "sub/dir.md", "/etc/passwd", ".tersembunyi", "", "a\x00b.md",
                                  "x" * 201, "..", "$(id).md/x"])
def test_an_artifact_name_is_a_plain_file_name(state_dir: Path, name: str) -> None:
    app = App(portal_settings(state_dir))
    try:
        run = _run_context(app, state_dir / "artifacts" / "T-1")
        with pytest.raises(InvalidInputError, match="plain file name"):
            run.write_artifact(name, "isi")
        assert not (state_dir / "keluar.md").exists() and not (state_dir / "artifacts" / "keluar.md").exists()
    finally:
        app.close()


def test_a_job_file_needs_the_vault_key(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, no file: the job fails with the setting named, and nothing lies in clear in its place."""
    app = App(portal_settings(state_dir))
    try:
        monkeypatch.delenv("SPBE_VAULT_KEY")
        run = _run_context(app, state_dir / "artifacts" / "T-1")
        with pytest.raises(ConfigurationError, match=r"settings\.vault\.key") as caught:
            run.write_artifact("laporan.md", CANARY)
        assert caught.value.details["setting"] == "settings.vault.key"
        assert not (state_dir / "artifacts" / "T-1").exists() or not any((state_dir / "artifacts" / "T-1").iterdir())
    finally:
        app.close()
