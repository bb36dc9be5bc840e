"""The settings file a running lab writes for spbe: ``<lab_dir>/<name>/spbe.toml``.

The product has no lab defaults, so this file is how spbe is pointed at a lab: ``SPBE_CONFIG=<this file>``
(or ``spbe --config``), as the demo and the test fixtures do. It names what only the running lab knows:
the Ansible inventory of its hosts, the network inventory of its switches (placeholders resolved, see
`lab.network_inventory`) and their host keys, the quality prober on its data plane, and its Express
Gateway's URLs. It holds no secret and no state directory (``SPBE_STATE_DIR`` and the secrets stay the
caller's). Rewritten on every ``up``, removed by ``down``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab import network_inventory
from lab.models import LabState

FILE_NAME = "spbe.toml"
NETWORK_FILE = "network.yml"
COLOCATION_FILE = "colocation.yml"
# The colocation product's racks and ports in the lab: two racks, and four ports of the data center's
# simulated switch that no other lab test and no Jaringan Intra pool uses (sw-dc-01 Fa0/11-14).
COLOCATION = """# The lab's colocation inventory, written by `spbe lab up` (lab/config_file.py).
site: dc
apps: [dns, monitoring]
ports:
  - device: sw-dc-01
    interfaces: [FastEthernet0/11, FastEthernet0/12, FastEthernet0/13, FastEthernet0/14]
racks:
  - {id: rak-a1, units: 42, power_watt: 3000, reserved_units: [1, 2, 42]}
  - {id: rak-a2, units: 42, power_watt: 3000, reserved_units: [1, 2, 42]}
"""


def _toml(value: object) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), numbers and booleans as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def _table(name: str, values: dict[str, object]) -> list[str]:
    lines = [f"[{name}]"]
    for key, value in values.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {_toml(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {_toml(value)}")
    return [*lines, ""]


def render(state: LabState, network_file: Path | None, colocation_file: Path | None = None) -> str:
    """The file's text for ``state``; ``network_file`` is the written network inventory (None: no switches)."""
    lines = [
        f"# spbe settings for lab {state.name!r}, written by `spbe lab up` ({state.created_at:%Y-%m-%d %H:%M} UTC).",
        f"# Use: SPBE_CONFIG={state.lab_dir / state.name / FILE_NAME}. Rewritten on every up; removed by down.",
        "# --as is honoured: the lab's people are the roles file's, and nothing here proves who acts.",
        'deployment = "lab"',
        f"inventory = {_toml(state.inventory)}",
        *([f"colocation_inventory = {_toml(colocation_file)}"] if colocation_file is not None else []),
        "",
    ]
    if network_file is not None:
        network: dict[str, object] = {"inventory": network_file, "prober": "lab",
                                      "prober_options": {"lab_dir": state.lab_dir, "lab_name": state.name}}
        if state.switch_known_hosts is not None:
            network["known_hosts"] = state.switch_known_hosts
        lines += _table("network", network)
    if state.gateway is not None:
        lines += _table("gateway", {"kind": "express_gateway", "options": {
            "admin_url": state.gateway.admin_url, "proxy_url": state.gateway.proxy_url}})
    return "\n".join(lines)


def write(state: LabState) -> LabState:
    """Write the network inventory (when the lab has switches) and the settings file; the state with both."""
    folder = state.lab_dir / state.name
    network_file = (network_inventory.write(state.switches, state.name, folder / NETWORK_FILE)
                    if state.switches else None)
    colocation_file = None
    if network_file is not None:
        colocation_file = folder / COLOCATION_FILE
        colocation_file.write_text(COLOCATION, encoding="utf-8")
    config = folder / FILE_NAME
    config.write_text(render(state, network_file, colocation_file), encoding="utf-8")
    return state.model_copy(update={"config_file": config, "network_inventory": network_file})
