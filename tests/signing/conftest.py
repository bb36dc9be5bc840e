"""Fixtures of the signing tests: both adapters behind the same port, and PDFs rendered with WeasyPrint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import weasyprint
from pydantic import SecretStr

from lab.bsre_fake import BsreFake
from tests.support.http_listener import Listener
from toolkit.bootstrap import App
from toolkit.ports.signing import DocumentSigner, SignerIdentity
from toolkit.settings import load_settings

DOC = "berita_acara_uji"  # the test catalog's signed document (tests/signing/catalog/uji-ttd.yaml)
DEWI_PASS = "dewi-rahasia-1"  # noqa: S105 - a test passphrase
CANARY = "CANARY-ttd-9c41e7b2f0"  # noqa: S105 - a canary passphrase, searched for on disk and in logs
ANDI = SignerIdentity(username="andi", name="Andi Pratama", role="Pemohon", nik="7501010101010001")
DEWI = SignerIdentity(username="dewi", name="Dewi Lestari", role="Tim Kerja Pengembangan Aplikasi",
                      nik="7501010101010002", nip="198001012005011001")


def render_pdf(text: str = "Berita acara pemanfaatan layanan pusat data") -> bytes:
    return weasyprint.HTML(string=f"<h1>{text}</h1><p>Para pihak menandatangani.</p>").write_pdf()


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf()


@pytest.fixture
def pades_app(state_dir: Path) -> Iterator[App]:
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    app.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
    yield app
    app.close()


@pytest.fixture
def bsre_fake() -> Iterator[tuple[BsreFake, Listener]]:
    fake = BsreFake()
    listener = Listener(fake, "bsre-fake")
    listener.start()
    yield fake, listener
    listener.stop()


@pytest.fixture(params=["pades", "bsre"])
def signer_port(request: pytest.FixtureRequest, state_dir: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentSigner]:
    """The port, enrolled for ANDI (passphrase CANARY) and DEWI ("dewi-rahasia-1")."""
    if request.param == "pades":
        app = App(load_settings(state_dir=state_dir))
        app.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
        for who, phrase in ((ANDI, CANARY), (DEWI, "dewi-rahasia-1")):
            app.signing.enroll(who, SecretStr(phrase))
        yield app.signing
        app.close()
        return
    fake, listener = request.getfixturevalue("bsre_fake")
    fake.add_user(ANDI.nik or "", ANDI.name, CANARY)
    fake.add_user(DEWI.nik or "", DEWI.name, "dewi-rahasia-1")
    monkeypatch.setenv("SPBE_TEST_BSRE_USER", "spbe")
    monkeypatch.setenv("SPBE_TEST_BSRE_PASSWORD", "rahasia-api")
    settings = load_settings(state_dir=state_dir, secrets={"bsre_username": {"ref": "env:SPBE_TEST_BSRE_USER"},
                                                           "bsre_password": {"ref": "env:SPBE_TEST_BSRE_PASSWORD"}},
                             signing={"kind": "bsre", "options": {"base_url": listener.url,
                                                                  "trust_roots": [str(fake.ca_pem)]}})
    app = App(settings)
    yield app.signing
    app.close()


def uji_ttd_app(state_dir: Path, tmp_path: Path, **overrides: Any) -> App:
    """An App on the ``uji-ttd`` test service: its berita acara template (a signature table for the applicant),
    the repository's other templates, a local CA, dewi enrolled in person and andi as `spbe sign activate`
    would enrol him (passphrase CANARY)."""
    from tests.support.principals import as_lab
    from toolkit.commands.signing import enroll, identity_of

    real = load_settings().templates_dir
    templates = tmp_path / "templates"
    (templates / "documents").mkdir(parents=True)
    for sub in ("comments", "pdf", "portal"):  # the PDF layout every document is laid out in, the portal's pages
        (templates / sub).symlink_to(real / sub)
    (templates / "documents" / f"{DOC}.md.j2").write_text(
        "# Berita Acara Uji\n\nTiket {{ tiket.id }}.\n\n| PIHAK PERTAMA |\n|---|\n| Pemohon |\n| |\n"
        "| **{{ pemohon.nama }}** |\n")  # a signature table: the PDF gets the applicant's signature block
    settings = load_settings(state_dir=state_dir, deployment="lab", templates_dir=templates,
                             catalog_dir=Path(__file__).parent / "catalog", workers={"warm_inventory": False},
                             **overrides)
    built = App(settings)
    built.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
    enroll(built, as_lab("dewi"), "dewi", SecretStr(DEWI_PASS))
    built.signing.enroll(identity_of(built, "andi"), SecretStr(CANARY))
    return built
