"""Named field formats: the one definition of what a ticket field may hold, from intake to playbook.

A catalog field names its format (``format: app_name``). Intake (`toolkit.domain.tickets.requests`) refuses
what the format refuses; the execution models (`toolkit.actions.ansible.pusat_data_vars`, the Jaringan Intra
request, the VPN plan, the gateway names) check with the same compiled pattern or rule; and the playbooks
assert with the very same regex text, read from ``playbooks/vars/field_formats.yml`` (written by
`ansible_vars_text`; a test keeps the file in sync). Before this, each layer had its own copy and intake
was the loosest: ``nama_aplikasi=a`` was accepted when the ticket was opened and refused by the
playbook after the head of office had approved it.

Patterns are matched whole (``fullmatch``) and use ASCII classes only (never ``\\d``, ``\\w`` or
``\\s``, which match non-ASCII digits and spaces), so Python and Ansible (whose ``regex`` test is
Python's ``re``) agree on every value. The rule texts are what an applicant reads: Bahasa Indonesia,
then English, like the other intake messages.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
INVENTORY_ID = r"[a-z][a-z0-9-]{0,30}[a-z0-9]"
GATEWAY_NAME = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
MAX_IDS = 20
MIN_LAN_PREFIX = 16


@dataclass(frozen=True)
class FieldFormat:
    """``types``: the catalog field types the format may refine. ``hostname``: input is case-insensitive
    and a trailing dot is dropped (as the ``hostname`` type always did). ``rule``: an extra check beyond
    the pattern, returning the problem or None; a format without ``pattern`` only adds a rule on top of
    its type's own parsing (a CIDR that must also be a private LAN) and is not exported to Ansible."""

    name: str
    types: frozenset[str]
    description: str
    pattern: str | None = None
    hostname: bool = False
    rule: Callable[[str], str | None] | None = field(default=None, compare=False)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        if self.pattern is None:
            raise ValueError(f"format {self.name} has no pattern")
        return re.compile(self.pattern)

    def check(self, value: str) -> str:
        """The value as stored on the ticket, or ValueError naming the rule."""
        if self.hostname:
            value = value.strip()
            if value.isascii():  # lower() maps some non-ASCII letters to ASCII ones (K, the Kelvin sign)
                value = value.lower().removesuffix(".")
        elif self.pattern is not None:
            value = value.strip()
        if self.pattern is not None and not (value.isascii() and self.regex.fullmatch(value)):
            raise ValueError(self.description)
        problem = self.rule(value) if self.rule is not None else None
        if problem:
            raise ValueError(f"{problem}; {self.description}")
        return value


def _id_list(value: str) -> str | None:
    ids = [part.strip() for part in value.split(",")]
    return "kode tercantum dua kali / a code is listed twice" if len(set(ids)) != len(ids) else None


def private_lan_problem(value: str) -> str | None:
    """Why a LAN may not be routed through a site-to-site tunnel (None: it may): larger than a /16 is a
    typo that would pull the agency's internet traffic in, and only private unicast space is an agency LAN."""
    network = ipaddress.IPv4Network(value, strict=True)
    if network.prefixlen < MIN_LAN_PREFIX:
        return f"{network} lebih besar dari /{MIN_LAN_PREFIX} / is larger than a /{MIN_LAN_PREFIX}"
    if not network.is_private or network.is_loopback or network.is_link_local or network.is_multicast:
        return f"{network} bukan alamat privat / is not private unicast address space"
    return None


_HOST_RULE = ("label dipisah '.', tiap label 1-63 huruf kecil, angka atau '-', tidak diawali/diakhiri '-' / "
              "'.'-separated labels of 1-63 lower-case letters, digits or '-', not starting or ending with '-'")

FORMATS: dict[str, FieldFormat] = {f.name: f for f in (
    FieldFormat(
        "app_name", frozenset({"slug"}), pattern=r"[a-z][a-z0-9-]{1,39}",
        description="harus 2-40 karakter: huruf kecil, angka dan '-', diawali huruf / "
                    "must be 2-40 characters: lower-case letters, digits and '-', starting with a letter"),
    # The kernel refuses a host name longer than 64 bytes (HOST_NAME_MAX): the provisioning playbook's
    # `hostname` task would fail on a longer, otherwise valid, FQDN.
    FieldFormat(
        "server_hostname", frozenset({"hostname"}), hostname=True,
        pattern=rf"(?=.{{1,64}}$){_LABEL}(\.{_LABEL})*",
        description=f"harus nama host paling panjang 64 karakter / must be a host name of at most 64 "
                    f"characters: {_HOST_RULE}"),
    # The containment and evidence models take inventory host names of at most 63 characters.
    FieldFormat(
        "inventory_host", frozenset({"hostname"}), hostname=True,
        pattern=rf"(?=.{{1,63}}$){_LABEL}(\.{_LABEL})*",
        description=f"harus nama host paling panjang 63 karakter / must be a host name of at most 63 "
                    f"characters: {_HOST_RULE}"),
    FieldFormat(
        "inventory_id", frozenset({"slug"}), pattern=INVENTORY_ID,
        description="harus kode 2-32 karakter: huruf kecil, angka dan '-', diawali huruf, tidak diakhiri '-' / "
                    "must be a 2-32 character code: lower-case letters, digits and '-', starting with a letter, "
                    "not ending with '-'"),
    FieldFormat(
        "inventory_ids", frozenset({"text"}), rule=_id_list,
        pattern=rf"{INVENTORY_ID}( *, *{INVENTORY_ID}){{0,{MAX_IDS - 1}}}",
        description=f"harus 1-{MAX_IDS} kode berbeda dipisah koma (mis. simpeg, dns), tiap kode 2-32 karakter: "
                    f"huruf kecil, angka dan '-' / must be 1-{MAX_IDS} different comma-separated codes "
                    f"(e.g. simpeg, dns), each 2-32 lower-case letters, digits and '-'"),
    FieldFormat(
        "gateway_name", frozenset({"slug"}), pattern=GATEWAY_NAME,
        description="harus 1-63 karakter: huruf kecil, angka dan '-', tidak diawali/diakhiri '-' / "
                    "must be 1-63 characters: lower-case letters, digits and '-', not starting or ending with '-'"),
    # NIP (Nomor Induk Pegawai) of a civil servant: 18 digits. The signing certificate carries it in its
    # subject (toolkit.ports.signing.Nip checks the same pattern).
    FieldFormat(
        "nip", frozenset({"text"}), pattern=r"[0-9]{18}",
        description="harus NIP 18 angka / must be an 18-digit NIP (civil servant number)"),
    # A complaint's references (toolkit.complaints.intake): a SP4N-LAPOR tracking number, with or without its
    # '#', and a ticket number of this desk (SPBE-2026-00001).
    FieldFormat(
        "nomor_lapor", frozenset({"text"}), pattern=r"#?[0-9]{6,12}",
        description="harus nomor tracking SP4N-LAPOR 6-12 angka / must be a SP4N-LAPOR tracking number of "
                    "6-12 digits"),
    FieldFormat(
        "ticket_id", frozenset({"text"}), pattern=r"[A-Z][A-Z0-9]{0,15}-[0-9]{4}-[0-9]{1,8}",
        description="harus nomor tiket (mis. SPBE-2026-00001) / must be a ticket number (e.g. SPBE-2026-00001)"),
    FieldFormat(
        "private_lan", frozenset({"cidr"}), rule=private_lan_problem,
        description=f"harus jaringan privat (mis. 10/8, 172.16/12, 192.168/16) sebesar /{MIN_LAN_PREFIX} atau "
                    f"lebih kecil / must be a private network (e.g. 10/8, 172.16/12, 192.168/16) of "
                    f"/{MIN_LAN_PREFIX} or smaller"),
)}


def ansible_vars_text() -> str:
    """The content of ``playbooks/vars/field_formats.yml``: every pattern as ``spbe_format_<name>``."""
    lines = [
        "---",
        "# Generated from toolkit/domain/catalog/formats.py (ansible_vars_text); do not edit by hand:",
        "# tests/domain/catalog/test_field_formats.py fails when this file and the intake formats part.",
        "# The playbooks assert ticket-derived variables with these patterns (match_type='fullmatch'),",
        "# exactly the rules the service desk applied when the ticket was opened.",
    ]
    for fmt in FORMATS.values():
        if fmt.pattern is not None:
            quoted = fmt.pattern.replace("'", "''")
            lines.append(f"spbe_format_{fmt.name}: '{quoted}'")
    return "\n".join(lines) + "\n"
