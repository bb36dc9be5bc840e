"""SOP 002 step 4: the *dokumen persetujuan aplikasi* is required where the SOP asks for it (the hosting of an
application), refused by name at intake and at the completeness check, and not asked of the other products."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.domain.catalog.test_models import MINIMAL
from tests.support.attachment_samples import pdf_bytes
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import AttachmentSpec, Service
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.errors import IncompleteRequestError
from toolkit.settings import load_settings

HOSTING = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
           "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
           "kontak_email": "it@dinkes.example.go.id"}
VPN = HOSTING | {"produk": "vpn", "vpn_subnet_lan": "192.168.10.0/24", "vpn_ip_gateway": "203.0.113.10"}


def _upload(kind: str, name: str) -> AttachmentUpload:
    return AttachmentUpload(name=name, media_type="application/pdf", content=pdf_bytes(), kind=kind)


LETTER = _upload("surat_permohonan", "surat.pdf")
APPROVAL = _upload("dokumen_persetujuan_aplikasi", "persetujuan.pdf")


@pytest.fixture
def app(state_dir: Path) -> Any:
    application = App(load_settings(state_dir=state_dir))
    yield application
    application.close()


def test_hosting_without_the_approval_document_is_refused_by_name(app: App) -> None:
    with pytest.raises(IncompleteRequestError) as refused:
        desk.open_ticket(app, "pusat-data", as_lab("andi"), "Hosting SIMPUS", HOSTING, [LETTER])
    assert "dokumen_persetujuan_aplikasi" in str(refused.value) and "produk in (hosting-aplikasi)" in str(refused.value)
    assert app.tickets.list_tickets() == []
    ticket = desk.open_ticket(app, "pusat-data", as_lab("andi"), "Hosting SIMPUS", HOSTING, [LETTER, APPROVAL])
    assert {a.kind for a in ticket.attachments} == {"surat_permohonan", "dokumen_persetujuan_aplikasi"}
    desk.check(app, ticket.id, as_lab("sari"))  # the completeness check applies the same rule and passes


@pytest.mark.parametrize("fields", [VPN, HOSTING | {"produk": "backup"},
                                    HOSTING | {"produk": "colocation", "colo_unit_rak": "2", "colo_daya_watt": "300"}])
def test_other_products_do_not_need_it(app: App, fields: dict[str, str]) -> None:
    ticket = desk.open_ticket(app, "pusat-data", as_lab("andi"), "Permohonan", fields, [LETTER])
    assert [a.kind for a in ticket.attachments] == ["surat_permohonan"]


def test_the_cli_names_the_missing_document(spbe: Spbe, tmp_path: Path) -> None:
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(pdf_bytes())
    args = ["ticket", "open", "pusat-data", "--as", "andi", "--title", "Hosting",
            *[part for name, value in HOSTING.items() for part in ("-f", f"{name}={value}")],
            "-a", f"surat_permohonan={letter}"]
    result = spbe(*args)
    assert result.exit_code == 2 and "dokumen_persetujuan_aplikasi" in result.output
    approval = tmp_path / "persetujuan.pdf"
    approval.write_bytes(pdf_bytes("Persetujuan aplikasi"))
    assert spbe(*args, "-a", f"dokumen_persetujuan_aplikasi={approval}").exit_code == 0
    shown = spbe("catalog", "show", "pusat-data", env={"COLUMNS": "200"}).output
    assert "dokumen_persetujuan_aplikasi" in shown and "bila produk in (hosting-aplikasi)" in shown


def test_catalog_rules_for_conditional_attachments() -> None:
    spec = load_catalog().get("pusat-data").requirements.attachments
    approval = next(a for a in spec if a.name == "dokumen_persetujuan_aplikasi")
    assert not approval.required and approval.required_when is not None
    with pytest.raises(ValidationError, match="only for an attachment with required: false"):
        AttachmentSpec.model_validate({"name": "x", "label": "X", "required_when": {"field": "produk", "equals": "a"}})
    data = copy.deepcopy(MINIMAL)
    data["requirements"]["attachments"].append({"name": "izin", "label": "Izin", "required": False,
                                                "required_when": {"field": "tidak_ada", "equals": "a"}})
    with pytest.raises(ValidationError, match="is not a declared field"):
        Service.model_validate(data)
    data["requirements"]["attachments"][-1]["required_when"] = {"field": "produk", "equals": "c"}
    with pytest.raises(ValidationError, match="can never be a value"):
        Service.model_validate(data)
