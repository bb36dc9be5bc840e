"""The isolation table's text, from the one template both paths use (``playbooks/templates/
spbe-isolation.nft.j2``): the playbook's ``template`` task renders it on the control node with Ansible's
Jinja, the SSH fast path renders it here with the same Jinja settings (``trim_blocks``, the trailing
newline kept), so both write the same drop-in byte for byte (the lab test compares them).

Every value is checked again right before it enters the text (the request was validated already):
the record id and host name by pattern, the management networks as canonical CIDRs that are not
``0.0.0.0/0`` or ``::/0``. Nothing else reaches the template.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import jinja2

from toolkit.errors import InvalidInputError
from toolkit.ssh import target as ssh_target

TEMPLATE = Path("templates") / "spbe-isolation.nft.j2"
RECORD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HOST_NAME = re.compile(rf"^{ssh_target.HOST_NAME}$")  # the inventory host names SSH targets accept


def split_management(mgmt: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(IPv4, IPv6) canonical networks; refuses anything that is not a network or that allows everyone."""
    if not mgmt:
        raise InvalidInputError("the management address list is empty", errors=[("management_cidrs", "empty")])
    v4: list[str] = []
    v6: list[str] = []
    for value in mgmt:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except (ValueError, TypeError):
            raise InvalidInputError(f"management address {str(value)[:60]!r} is not a network",
                                    errors=[("management_cidrs", "invalid")]) from None
        if str(net) != value or net.prefixlen == 0:
            raise InvalidInputError(f"management address {value[:60]!r} is not canonical or allows everyone",
                                    errors=[("management_cidrs", "invalid")])
        (v4 if net.version == 4 else v6).append(str(net))
    return v4, v6


def render(playbooks_dir: Path, record_id: str, host_name: str, mgmt: tuple[str, ...]) -> str:
    """The drop-in's text for ``host_name`` keeping ``mgmt`` reachable."""
    if not RECORD_ID.fullmatch(record_id):
        raise InvalidInputError(f"invalid containment id {record_id[:80]!r}", errors=[("record_id", "invalid")])
    if not HOST_NAME.fullmatch(host_name):
        raise InvalidInputError(f"invalid host name {host_name[:80]!r}", errors=[("host", "invalid")])
    v4, v6 = split_management(mgmt)
    source = (playbooks_dir / TEMPLATE).read_text(encoding="utf-8")
    # Ansible's template module: trim_blocks on, lstrip_blocks off, the template's last newline kept.
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (not HTML)
    return env.from_string(source).render(spbe_containment_id=record_id, inventory_hostname=host_name,
                                          spbe_mgmt_v4=v4, iso_mgmt_v6=v6)
