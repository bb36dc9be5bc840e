"""Benchmark: a server-dasar sweep (gather + evaluate) over 10, 50 and 100 lab targets (issue 14: 100 targets
<= 60 s on this 2-core machine), the cost per extra target, and beside it the same reads as plain Ansible
check-mode tasks (benchmarks/playbooks/compliance_read.yml) over the same targets.

The lab holds at most 8 pool hosts (lab.manager.MAX_POOL_HOSTS: /30s of one /24), each a namespaced
Debian copy with a real sshd. The N targets are N inventory entries spread round-robin over those 8 hosts:
every target is its own SSH session (handshake, authentication, every read) to a real sshd, but 100
targets are not 100 machines; the output says so. Ansible's runs multiplex SSH per address (ControlMaster,
as the toolkit configures it), so its aliases of one host share a connection: that favours Ansible.

    python -m benchmarks.bench_compliance_sweep [--sizes 10,50,100] [--hosts 8] [--workers 16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from lab.manager import MAX_POOL_HOSTS, LabManager
from toolkit.actions.ansible.runner import PlaybookRun, RunStatus, run_playbook
from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gather_server import ServerGatherer
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile, evaluate
from toolkit.settings import load_settings

TARGET_S = 60.0
PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "compliance_read.yml"


def _inventory(lab_inventory: Path, size: int, out: Path) -> Path:
    data = yaml.safe_load(lab_inventory.read_text(encoding="utf-8"))
    pool = list(data["all"]["children"]["pusat_data_pool"]["hosts"].values())
    hosts = {f"sweep-{i:03d}": dict(pool[i % len(pool)]) for i in range(size)}
    out.write_text(yaml.safe_dump({"all": {"children": {"sweep": {"hosts": hosts}}}}), encoding="utf-8")
    return out


def _sweep(settings: Any, profile: ServerProfile) -> tuple[float, int, int]:
    started = time.monotonic()
    gatherer = ServerGatherer(settings)
    results = gatherer.gather(gatherer.resolve(["*"]))
    judged = failures = 0
    for facts in results.values():
        if isinstance(facts, ServerFacts):
            evaluate(profile, facts)
            judged += 1
        else:
            failures += 1
    return time.monotonic() - started, judged, failures


def _ansible(inventory: Path, work: Path, forks: int) -> tuple[float, str]:
    started = time.monotonic()
    summary = run_playbook(PlaybookRun(playbook=PLAYBOOK, inventory=inventory, check_mode=True, timeout_s=1800,
                                       private_data_dir=work, envvars={"ANSIBLE_FORKS": str(forks)}))
    ok = summary.status == RunStatus.SUCCESSFUL
    return time.monotonic() - started, "ok" if ok else f"{summary.status.value} {summary.failed_hosts[:3]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--hosts", type=int, default=MAX_POOL_HOSTS)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--lab-name", default="bench-sweep")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    console = Console(width=150)
    profile = load_profiles()["server-dasar"]
    assert isinstance(profile, ServerProfile)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        manager = LabManager(root / "lab", args.lab_name, hosts=tuple(f"sw-{i}" for i in range(args.hosts)),
                             switches=0, vpn=False, with_gateway=False)
        started = time.monotonic()
        try:
            state = manager.up()
            lab_up = time.monotonic() - started
            assert state.config_file is not None
            rows = []
            for size in sizes:
                inventory = _inventory(state.inventory, size, root / f"inventory-{size}.yml")
                settings = load_settings(state.config_file, inventory=inventory,
                                         compliance={"prometheus_url": state.prometheus_url,
                                                     "gather_workers": args.workers})
                sweep, judged, failed = _sweep(settings, profile)
                ansible, status = _ansible(inventory, root / f"runner-{size}", args.workers)
                rows.append((size, sweep, judged, failed, ansible, status))
        finally:
            manager.down()
    table = Table(title=f"compliance sweep server-dasar (gather + evaluate), {args.workers} workers, "
                        f"targets spread over {args.hosts} namespaced lab hosts with real sshd (2 cores)")
    for column in ("figure", "target", "measured", "plain Ansible check mode, same reads"):
        table.add_column(column)
    table.add_row("lab start", "-", f"{lab_up:.1f} s", "-")
    for size, sweep, judged, failed, ansible, status in rows:
        target = f"<= {TARGET_S:.0f} s" if size == 100 else "-"
        verdict = (" OK" if sweep <= TARGET_S else " MISSED") if size == 100 else ""
        table.add_row(f"sweep of {size} targets ({judged} read, {failed} failed)", target,
                      f"{sweep:.2f} s{verdict}", f"{ansible:.2f} s ({status})")
    if len(rows) >= 2:
        (n0, s0, *_, a0, _), (n1, s1, *_, a1, _) = rows[0], rows[-1]
        table.add_row(f"cost per extra target ({n0} -> {n1})", "-", f"{(s1 - s0) / (n1 - n0) * 1000:.1f} ms",
                      f"{(a1 - a0) / (n1 - n0) * 1000:.1f} ms")
    console.print(table)
    console.print(f"Targets are inventory entries spread round-robin over {args.hosts} lab hosts (the lab holds "
                  f"at most {MAX_POOL_HOSTS}); each target is its own SSH session, but not its own machine. "
                  "Ansible multiplexes SSH per address (ControlMaster), which favours it here.")


if __name__ == "__main__":
    main()
