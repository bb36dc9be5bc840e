"""The PDF of a document, read back the way a person reads it: its text (pdftotext), its first page as a
picture (pdftoppm, kept as an artifact) and the signature boxes checked against where the names print."""

from __future__ import annotations

import io
import itertools
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.support.document_samples import make_ticket, repository_renderer
from tests.support.pdf import (
    A4_PT,
    APPLICANT,
    NIPS,
    PEOPLE,
    SampleDirectory,
    ba_context,
    ink,
    page_count,
    page_png,
    pdf_text,
    words,
)
from toolkit.errors import ConfigurationError
from toolkit.letters.kit import Letters, RenderedDocument
from toolkit.letters.render import PdfRenderer
from toolkit.settings import Settings, load_settings

BA = "berita_acara_instalasi_server"


def png(size: tuple[int, int] = (64, 64), kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (31, 78, 121)).save(out, kind)
    return out.getvalue()


PNG = png()


def _render(letters: Letters, tmp_path: Path, *, order: tuple[str, ...] = ("tim-pusat-data",),
            **changes: object) -> tuple[RenderedDocument, Path]:
    made = letters.render_document(repository_renderer(), BA, ba_context(letters, **changes), applicant_role=APPLICANT,
                                   signing_order=order)
    path = tmp_path / f"{BA}.pdf"
    path.write_bytes(made.pdf.pdf)
    return made, path


def test_the_pdf_carries_the_facts_of_the_markdown(letters: Letters, tmp_path: Path) -> None:
    made, path = _render(letters, tmp_path)
    text = pdf_text(path)
    flat = " ".join(text.split())
    assert made.numbers == ("000.8/BA-INST/1/2026",)
    assert "Nomor: 000.8/BA-INST/1/2026" in made.markdown and "Nomor: 000.8/BA-INST/1/2026" in flat
    # The kop surat from settings (not the Markdown's own lines).
    for line in ("PEMERINTAH PROVINSI GORONTALO", "DINAS KOMUNIKASI, INFORMATIKA DAN STATISTIK",
                 "Jl. Sapta Marga", "kominfotik@gorontaloprov.go.id", "layanan.gorontaloprov.go.id"):
        assert line in flat, line
    assert "Layanan Sistem Pemerintahan Berbasis Elektronik" not in flat  # the Markdown's textual kop is replaced
    assert "BERITA ACARA INSTALASI SERVER" in flat
    # The parties, their NIP and roles, the date, the table cells: the same as the Markdown's.
    for fact in ("Rahmat Hasan, S.Kom.", "Fadli Pakaya, S.Kom.", "Dr. Ir. Hendra Lamato, M.Si.", "PIHAK PERTAMA",
                 "PIHAK KEDUA", "Mengetahui,", "Ketua Tim Kerja Pusat Data", "Pranata Komputer", "27 November 2026",
                 "dua puluh tujuh bulan November tahun dua ribu dua puluh enam", "10.20.30.41", "/srv/apps/simpeg",
                 "4 vCPU, memori 8 GB, penyimpanan 100 GB", "10.20.30.41:9100", "4f1c2a9b", "PD-2026-0042"):
        assert fact in flat and fact in made.markdown, fact
    for nip in NIPS.values():  # the NIP is the PDF's own (the Markdown's signature cells have no line for it)
        assert f"NIP. {nip}" in flat
    pages = page_count(path)
    assert pages == made.pdf.pages >= 2
    for page in range(1, pages + 1):
        assert f"Halaman {page} dari {pages}" in text


def test_signature_blocks_are_where_the_names_print_and_blank(letters: Letters, tmp_path: Path) -> None:
    made, path = _render(letters, tmp_path, order=("pemohon", "tim-pusat-data"))
    boxes = made.pdf.signatures
    assert [b.id for b in boxes] == ["ttd-pemohon", "ttd-tim-pusat-data", "ttd-kepala-dinas"]  # SOP order first
    assert [b.urutan for b in boxes] == [1, 2, 3]
    assert [b.username for b in boxes] == ["rahmat", "fadli", "kadis"]
    assert [b.nip for b in boxes] == [NIPS["rahmat"], NIPS["fadli"], NIPS["kadis"]]
    width, height = A4_PT
    for box in boxes:
        assert box.x >= 0 and box.y >= 0 and box.x + box.width <= width and box.y + box.height <= height
        assert box.width > 100 and box.height > 50  # room for a visible signature
        page = page_png(path, tmp_path / "pages", page=box.page, name=f"ttd-{box.page}")
        top = height - box.y - box.height  # from the page's top, as the picture is
        assert ink(page, (round(box.x) + 1, round(top) + 1, round(box.x + box.width) - 1,
                          round(top + box.height) - 1)) == 0.0, f"{box.id} is not blank"
        # The first word of the party's name prints right under its box, inside its width.
        first = box.nama.split()[0]
        under = [w for w in words(path, box.page) if w[0] == first and box.x - 60 <= w[1] <= box.x + box.width]
        assert any(0 <= w[2] - (top + box.height) < 40 for w in under), (box, under)
    for a, b in itertools.combinations(boxes, 2):  # no two boxes overlap
        assert a.page != b.page or a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y \
            or b.y + b.height <= a.y


def test_first_page_as_png_is_an_artifact_worth_looking_at(letters: Letters, tmp_path: Path) -> None:
    _, path = _render(letters, tmp_path)
    png = page_png(path, tmp_path / "artifacts", dpi=60)
    assert png.stat().st_size > 10_000
    assert 0.02 < ink(png) < 0.5  # text and rules on a white page, neither blank nor a black square
    assert ink(png, (0, 0, 496, 120)) > 0.03  # the kop surat at the top


def test_hostile_ticket_text_prints_literally(letters: Letters, tmp_path: Path) -> None:
    title = "<script>alert(1)</script> <b>tebal</b> {{ 7*7 }}"
    made, path = _render(letters, tmp_path, ticket=make_ticket(title=title))
    flat = " ".join(pdf_text(path).split())
    assert "<script>alert(1)</script>" in flat and "<b>tebal</b>" in flat and "{{ 7*7 }}" in flat
    assert "<b>tebal</b> 49" not in flat and made.markdown.count("{{ 7\\*7 }}") == 1  # never evaluated


def test_the_letterhead_and_logo_come_from_settings(state_dir: Path, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    settings = load_settings(state_dir=state_dir, documents={
        "logo": str(logo), "kop": {"pemerintah": "PEMERINTAH KABUPATEN UJI", "dinas": "DINAS KOMINFO UJI",
                                   "alamat": "Jl. Uji No. 1", "telepon": "(0435) 000000"}})
    from tests.support.pdf import letters_for

    kit = letters_for(settings)
    try:
        _, path = _render(kit, tmp_path)
    finally:
        kit.close()
    flat = " ".join(pdf_text(path).split())
    assert "PEMERINTAH KABUPATEN UJI" in flat and "DINAS KOMINFO UJI" in flat and "Telepon (0435) 000000" in flat
    images = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) == 3  # header, rule, the logo


def test_the_pdf_fetches_no_url(settings: Settings, tmp_path: Path) -> None:
    """A link or image in a template can never make the renderer read a file or reach the network."""
    secret = tmp_path / "rahasia.png"
    secret.write_bytes(PNG)
    pdf = PdfRenderer(settings.templates_dir, settings.documents).render(
        f"## JUDUL\n\n![x](file://{secret}) ![y](http://127.0.0.1:9/x.png)\n", {})
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf.pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) == 2  # the header lines only: no image was fetched


def test_a_broken_layout_is_a_configuration_error(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "pdf").mkdir()
    (tmp_path / "pdf" / "surat.html.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="PDF layout"):
        PdfRenderer(tmp_path, settings.documents)


def test_the_place_and_date_stay_with_the_signatures(letters: Letters, tmp_path: Path) -> None:
    made, path = _render(letters, tmp_path)
    page = made.pdf.signatures[0].page
    text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Gorontalo, 27 November 2026" in text


@pytest.mark.parametrize(("template", "signers"), [
    ("berita_acara_pemanfaatan", ["ttd-pemohon", "ttd-tim-pengembangan-aplikasi"]),
    ("laporan_pelaksanaan", ["ttd-tim-pusat-data"]),
])
def test_the_other_documents_of_the_service_get_their_signature_blocks(letters: Letters, tmp_path: Path,
                                                                       template: str, signers: list[str]) -> None:
    made = letters.render_document(repository_renderer(), template, ba_context(letters), applicant_role=APPLICANT,
                                   signing_order=("pemohon", "tim-pengembangan-aplikasi"))
    path = tmp_path / f"{template}.pdf"
    path.write_bytes(made.pdf.pdf)
    assert [b.id for b in made.pdf.signatures] == signers
    flat = " ".join(pdf_text(path).split())
    assert made.numbers and made.numbers[0] in flat
    assert f"Halaman {made.pdf.pages} dari {made.pdf.pages}" in flat
    page_png(path, tmp_path / "artifacts", name=f"{template}-p1")


def test_a_role_nobody_holds_keeps_its_block_for_a_handwritten_signature(letters: Letters, tmp_path: Path) -> None:
    """No kepala dinas in the directory: the block is still there (dotted name and NIP), with its role and no
    username, so no electronic signer is guessed."""
    without = SampleDirectory([PEOPLE.person("rahmat"), PEOPLE.person("fadli")])
    made = letters.render_document(repository_renderer(), BA, ba_context(letters, directory=without),
                                   applicant_role=APPLICANT)
    last = made.pdf.signatures[-1]
    assert (last.id, last.peran, last.username, last.nip) == ("ttd-kepala-dinas", "kepala-dinas", None, None)
    assert last.nama.startswith("....")
