"""Boundary values of catalog fields, and intake as the service desk runs it, for the tests that prove
intake is never looser than execution (playbook assertions, device templates, gateway and containment
models): a value the service desk accepted must not be refused after the head of office approved it.

Values are generated from the field's spec (type, length, range, format), not listed per field, so a new
field or a changed limit is probed at its own edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from toolkit.commands.desk import admit
from toolkit.domain.catalog.formats import FORMATS
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import FieldSpec, Service
from toolkit.errors import IncompleteRequestError, InvalidInputError
from toolkit.settings import Settings

CATALOG = load_catalog()
TICKET = "SPBE-2025-00042"

# A valid request per service; the field under test is replaced, everything else stays valid.
BASE: dict[str, dict[str, Any]] = {
    "pusat-data": {
        "instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
        "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
        "kontak_email": "it@dinkes.example.go.id",
    },
    "insiden-siber": {
        "pelapor_nama": "Andi", "pelapor_kontak": "andi@example.go.id", "objek_terdampak": "pd-app-01",
        "deskripsi": "Halaman depan diubah", "ada_backup": "ya", "nama_aplikasi": "simpus",
    },
    "keamanan-informasi": {
        "pelapor_nama": "Andi", "pelapor_kontak": "andi@example.go.id", "instansi": "Dinas Kesehatan",
        "objek_terdampak": "pd-app-01", "deskripsi": "Kerentanan pada formulir login",
    },
    "jaringan-intra": {
        "instansi": "Dinas Kesehatan", "lokasi": "dinkes", "jumlah_user": "10", "aplikasi": "simpeg, dns",
        "kontak_email": "it@dinkes.example.go.id",
    },
    "splp": {
        "instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus-dinkes",
        "kebutuhan_data": "NIK dan nama pasien", "rate_limit_per_menit": "60", "kontak_email": "it@dinkes.go.id",
    },
}


def intake(service: Service, fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """The cleaned request as the service desk stores it, or None when the desk refuses it."""
    kinds = [a.name for a in service.requirements.attachments]  # every document given, required or conditional
    try:
        return admit(service, {k: v for k, v in fields.items() if v is not None}, kinds,
                     register=Settings().splp_register)
    except (InvalidInputError, IncompleteRequestError):
        return None


def action_context(service: Service, fields: Mapping[str, Any], **settings: Any) -> Any:
    """What the actions' planning code reads of an `ActionContext`, around a stored ticket's fields."""
    return SimpleNamespace(
        ticket=SimpleNamespace(id=TICKET, fields=dict(fields), service_id=service.id), service=service,
        timeline=[], prior={}, settings=SimpleNamespace(**({"splp_register": Settings().splp_register} | settings)),
    )


def _strings(max_length: int) -> list[str]:
    """Lengths at the edges every format here has (1-2, 32, 40, 63-64) and at the field's own limit, with
    allowed and forbidden characters at the start, the end and inside."""
    lengths = sorted({n for n in (1, 2, 3, 31, 32, 33, 39, 40, 41, 62, 63, 64, 65, max_length, max_length + 1)
                      if n <= max_length + 1})
    values = ["", " ", "ab"] + ["a" * n for n in lengths]
    for n in sorted({2, 32, 64, max_length, max_length + 1}):  # what may start and end a value, at the edges
        values += ["a" * (n - 1) + "9", "9" + "a" * (n - 1), "a" * (n - 1) + "-", "-" + "a" * (n - 1)]
    for inner in ("-", ".", "_", " ", ",", "/", "A", "é", "\n", ";", "{{", ".."):
        values.append("ab" + inner + "cd")
    values += ["AB", "Ab-cd", " ab ", "ab\n", "k\u212a", "\u0661\u0662", "ab-cd-", "a-b", "0ab", "0"]
    return values


def _hostnames() -> list[str]:
    label63, label64 = "a" * 63, "a" * 64
    return [
        "a", "a" * 62 + "b", label63, label64, f"{label63}.b", f"{'a' * 62}.b", f"{'a' * 61}.bc",
        f"{'a' * 31}.{'b' * 32}", f"{'a' * 31}.{'b' * 31}", ".".join([label63] * 4)[:253], ".".join([label63] * 4),
        "pd-app-01", "PD-APP-01", "pd-app-01.", "pd-app-01..", ".pd", "pd..app", "-pd", "pd-", "pd_app", "pd app",
        "pd-app-01.pusatdata.gorontaloprov.go.id", "123", "1.2.3.4", "p\u00e9", "pd\n", " pd ", "k\u212a",
    ]


def _ints(spec: FieldSpec) -> list[str]:
    low, high = spec.min if spec.min is not None else 0, spec.max if spec.max is not None else 1000
    values = [str(n) for n in (low - 1, low, low + 1, high - 1, high, high + 1)]
    return values + ["", "1.0", "0x10", f" {low} ", f"+{low}", "\u0665", "-0", "1e2", "007"]


_CIDRS = [
    "10.0.0.0/8", "10.0.0.0/15", "10.0.0.0/16", "10.1.0.0/16", "10.255.255.0/24", "10.0.0.1/24", "172.16.0.0/12",
    "172.16.0.0/16", "172.31.0.0/16", "172.32.0.0/16", "192.168.0.0/16", "192.168.255.252/30", "192.168.10.1/32",
    "8.8.8.0/24", "100.64.0.0/16", "127.0.0.0/16", "169.254.0.0/16", "224.0.0.0/16", "0.0.0.0/0", "192.168.10.0",
    "192.168.10.0/33", "192.168.010.0/24", " 192.168.20.0/24 ", "192.168.10.0/24\n",
]
_IPV4 = ["203.0.113.10", "0.0.0.0", "255.255.255.255", "203.0.113.256", "203.0.113",  # noqa: S104 - a value
         "2001:db8::1", " 203.0.113.11 "]


def boundary_values(spec: FieldSpec) -> list[Any]:
    """Values at and just beyond every edge of the field's spec (the format's when it has one)."""
    kind = str(spec.type)
    if kind == "hostname":
        return _hostnames()
    if kind == "int":
        return _ints(spec)
    if kind == "cidr":
        return list(_CIDRS)
    if kind == "ipv4":
        return list(_IPV4)
    if kind == "enum":
        return [*(spec.choices or ()), "", "x", (spec.choices or ("x",))[0].upper()]
    if kind == "bool":
        return ["ya", "tidak", "true", "0", "", "mungkin"]
    limit = spec.effective_max_length or 63
    values = _strings(limit)
    if spec.format is not None and FORMATS[spec.format].name == "inventory_ids":
        ids = [f"app{n:02d}" for n in range(21)]
        values += [", ".join(ids[:20]), ", ".join(ids), ",".join(ids[:2]), "aa ,  bb", "aa,aa", "aa,", ",aa",
                   "aa,,bb", "aa;bb", "aa bb"]
    if kind in ("text", "longtext"):
        values += ["Dinas Kesehatan & KB (DINKES)", "Dínas Kesehatan", "!!!", "---", "{% x %}", "x" * limit]
    return values
