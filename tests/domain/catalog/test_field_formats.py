"""Field formats: one definition of what a field may hold, shared by intake, the execution models and the
playbooks, and a catalog that cannot name a format that does not exist or does not fit the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support.boundaries import BASE, CATALOG
from toolkit.domain.catalog.formats import FORMATS, ansible_vars_text
from toolkit.domain.catalog.models import FieldSpec, Service
from toolkit.domain.tickets.field_types import is_email
from toolkit.domain.tickets.requests import validate_request
from toolkit.errors import IncompleteRequestError, InvalidInputError
from toolkit.ports.notifier import Recipient

REPO = Path(__file__).resolve().parents[3]
PD = CATALOG.get("pusat-data")
LETTER = ["surat_permohonan", "dokumen_persetujuan_aplikasi"]  # hosting needs both (SOP 002 step 4)

# Field names the action code reads, and where each is proven never to be refused after intake accepted it.
COVERED = {
    "nama_aplikasi": "tests/playbooks/test_intake_equivalence.py", "hostname": "tests/playbooks/...",
    "instansi": "tests/playbooks/... (opd code, VPN site name)", "vpn_subnet_lan": "tests/playbooks/...",
    "web_stack": "tests/playbooks/...", "lokasi": "tests/network/test_intake_templates.py",
    "jumlah_user": "tests/network/...", "aplikasi": "tests/network/...",
    "api_id": "tests/actions/test_intake_models.py", "aplikasi_konsumen": "tests/actions/...",
    "kebutuhan_data": "tests/actions/...", "rate_limit_per_menit": "tests/actions/...",
    "jenis_kredensial": "tests/actions/...", "objek_terdampak": "tests/actions/...",
    "kontak_email": "test_an_email_accepted_at_intake_is_a_valid_recipient (the notifier's Recipient)",
    "colo_unit_rak": "tests/actions/test_pusat_data_products.py (ColocationRequest)",
    "colo_daya_watt": "tests/actions/test_pusat_data_products.py", "colo_jumlah_port": "tests/actions/...",
    "colo_rak": "tests/actions/test_pusat_data_products.py",
}
# Read by actions, but what they decide depends on facts the ticket cannot know, or only picks a branch.
NOT_FORMAT_BOUND = {
    "vcpu": "sizes the host allocation: whether a free host that big exists is a fact of the pool",
    "ram_gb": "as vcpu", "disk_gb": "as vcpu",
    "vpn_ip_gateway": "looked up among the inventory's site gateways",
    "produk": "picks the product's steps and the backup step's target (an enum)",
    "ada_backup": "picks the recovery path (a bool)", "backup": "picks the backup step (a bool)",
    "jenis_insiden": "picks the containment branch (an enum)",
    "profil": "Audit TI: written by spbe's compliance run from a loaded profile; identify refuses an unknown one",
    "target": "Audit TI: written by spbe's compliance run from a resolved target; identify refuses an unknown one",
    "run_id": "Audit TI: written by spbe's compliance run; a missing or unknown run makes identify check afresh",
    "jenis": "pengaduan's enum (pengaduan/saran/masukan), read by no action; containment's notice has its own "
             "context key of that name",
    "pelapor_kontak": "free contact text (an e-mail or a phone number): mailed only when it is_email, the intake rule",
}


def test_the_playbooks_vars_file_is_generated_from_the_formats() -> None:
    path = REPO / "playbooks" / "vars" / "field_formats.yml"
    assert path.read_text(encoding="utf-8") == ansible_vars_text(), (
        "regenerate it: python -c 'from toolkit.domain.catalog.formats import ansible_vars_text as t; "
        "print(t(), end=\"\")' > playbooks/vars/field_formats.yml")


def test_every_playbook_using_a_format_loads_the_formats() -> None:
    for playbook in (REPO / "playbooks").glob("*.yml"):
        text = playbook.read_text(encoding="utf-8")
        imported = re.findall(r"import_tasks: (tasks/\S+\.yml)", text)
        if "spbe_format_" in text + "".join((REPO / "playbooks" / t).read_text(encoding="utf-8") for t in imported):
            assert "vars_files: [vars/field_formats.yml]" in text, playbook.name


def test_every_field_the_actions_read_is_proven_against_execution() -> None:
    code = "".join(p.read_text(encoding="utf-8") for d in ("actions", "vpn", "containment", "splp", "evidence",
                                                          "network") for p in (REPO / "toolkit" / d).rglob("*.py"))
    read = {f.name for s in CATALOG.services() for f in s.requirements.fields if f'"{f.name}"' in code}
    assert read - set(COVERED) - set(NOT_FORMAT_BOUND) == set()


def test_format_patterns_are_ascii_and_anchorless() -> None:
    for fmt in FORMATS.values():
        if fmt.pattern is not None:
            assert fmt.pattern.isascii() and not re.search(r"\\[dwsDWS]|^\^|\$$", fmt.pattern), fmt.name


@pytest.mark.parametrize(("spec", "problem"), [
    ({"type": "slug", "format": "no_such_format"}, "unknown format"),
    ({"type": "text", "format": "app_name"}, "applies to type(s) slug"),
    ({"type": "cidr", "required_when": {"field": "produk", "equals": "vpn"}}, "required: false"),
])
def test_a_format_or_condition_that_cannot_apply_is_refused(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        FieldSpec(name="x", label="X", **spec)


def test_required_when_must_test_a_declared_field() -> None:
    data = PD.model_dump(mode="json", by_alias=True)
    field = next(f for f in data["requirements"]["fields"] if f["name"] == "vpn_subnet_lan")
    field["required_when"] = {"field": "produk_lain", "equals": "vpn"}
    with pytest.raises(ValidationError, match="produk_lain"):
        Service.model_validate(data)


def _refusal(fields: dict[str, Any]) -> str:
    with pytest.raises((InvalidInputError, IncompleteRequestError)) as info:
        validate_request(PD, BASE["pusat-data"] | fields, LETTER)
    return str(info.value)


def test_a_one_letter_application_name_is_refused_at_intake_in_both_languages() -> None:
    message = _refusal({"nama_aplikasi": "a"})
    assert "nama_aplikasi" in message and "2-40 karakter" in message and "2-40 characters" in message
    assert "Value error" not in message
    assert validate_request(PD, BASE["pusat-data"] | {"nama_aplikasi": "ab"}, LETTER)["nama_aplikasi"] == "ab"


def test_a_host_name_too_long_for_the_kernel_is_refused_at_intake() -> None:
    sixty_four = "a" * 31 + "." + "b" * 32
    assert validate_request(PD, BASE["pusat-data"] | {"hostname": sixty_four.upper() + "."}, LETTER)["hostname"] \
        == sixty_four
    assert "64" in _refusal({"hostname": sixty_four + "c"})


def test_the_vpn_product_needs_its_network_fields_and_a_private_lan() -> None:
    message = _refusal({"produk": "vpn"})
    assert "vpn_subnet_lan" in message and "vpn_ip_gateway" in message and "produk == vpn" in message
    vpn = {"produk": "vpn", "vpn_ip_gateway": "203.0.113.10"}
    assert "bukan alamat privat" in _refusal(vpn | {"vpn_subnet_lan": "8.8.8.0/24"})
    assert "larger than a /16" in _refusal(vpn | {"vpn_subnet_lan": "10.0.0.0/8"})
    assert validate_request(PD, BASE["pusat-data"] | vpn | {"vpn_subnet_lan": "10.1.0.0/16"}, LETTER)


@pytest.mark.parametrize("address", ["a@b.co", "p.q+r@dinas.go.id", "x" * 64 + "@" + "d" * 180 + ".example",
                                     "x" * 64 + "@" + "d" * 190 + ".example"])
def test_an_email_accepted_at_intake_is_a_valid_recipient(address: str) -> None:
    """The intake pattern allowed 280 characters, the notifier's Recipient 254: an accepted address
    then broke the SMTP delivery of every notice of the ticket."""
    assert {f.name: f.type for f in PD.requirements.fields}["kontak_email"] == "email"
    try:
        accepted = validate_request(PD, {**BASE["pusat-data"], "kontak_email": address}, LETTER)
    except InvalidInputError:
        assert not is_email(address)  # refused at intake: it never reaches a notifier
        return
    assert is_email(address)
    Recipient(username="pemohon", name="Pemohon", email=accepted["kontak_email"])
