"""The files the control node reads to reach a lab: the Ansible inventory and known_hosts.

Written from the lab's state after its hosts are up; plain ``ansible-playbook -i inventory.yml`` works with
them, host key checking on.
"""

from __future__ import annotations

import yaml

from lab import incident as incident_mod
from lab import vpn as vpn_mod
from lab.models import LabState


def write_known_hosts(state: LabState) -> None:
    """Every lab host's ed25519 host key, so SSH from the control node checks host keys strictly."""
    lines = []
    for host in (*state.hosts, *vpn_mod.gateways(state), *incident_mod.hosts(state)):
        key_type, key = (
            (host.host_dir / "ssh_host_ed25519_key.pub").read_text(encoding="utf-8").split()[:2]
        )
        lines.append(f"{host.address} {key_type} {key}\n")
    state.known_hosts.write_text("".join(lines), encoding="utf-8")
    state.known_hosts.chmod(0o600)


def write_inventory(state: LabState) -> None:
    """An inventory usable by plain ``ansible-playbook``; host key checking stays on."""
    pool: dict[str, dict[str, object]] = {}
    for host in state.hosts:
        pool[host.name] = host.ansible_vars(state.known_hosts)
    mgmt = sorted({f"{h.root_address}/32" for h in state.hosts})
    monitoring_vars: dict[str, object] = {
        "spbe_prometheus_file_sd_dir": str(state.file_sd_dir),
        "spbe_prometheus_rules_dir": str(state.rules_dir),
    }
    if state.prometheus_url:
        monitoring_vars["spbe_prometheus_reload_url"] = f"{state.prometheus_url}/-/reload"
    inventory = {
        "all": {
            "children": {
                "pusat_data_pool": {
                    "hosts": pool,
                    # The control node reaches each host from its side of the /30: that is both the
                    # management and the monitoring source address.
                    "vars": {"spbe_mgmt_cidrs": mgmt, "spbe_monitoring_cidrs": list(mgmt)},
                },
                "monitoring": {
                    "hosts": {
                        "monitor": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        }
                    },
                    "vars": monitoring_vars,
                },
                **vpn_mod.inventory_groups(state),
                **incident_mod.inventory_groups(state),
            }
        }
    }
    state.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
