"""Benchmark: the Pusat Data path (provision + monitoring + backup) end to end, through the engine.

Starts its own lab with N pool hosts (no switches, VPN, incident part or API gateway: the path uses none
of them), and per round opens a pusat-data ticket, has it checked and approved, and times ``run_ticket``
until the automated steps are done: coordination, ``provision_server.yml`` on a freshly allocated host,
``install_monitoring.yml`` (with the Prometheus registration), ``configure_backup.yml`` and the berita
acara. Each playbook's own figure is its ansible-runner run as recorded in the job's facts; "job" is the
whole job (allocation, planning, the run, comment and result). After the ticket, the three actions are
executed once more on the now converged host (what an idempotence check or a retry costs).

The issue sets no target for the path itself: it asks for the figures before and after. ``--json`` saves
a run's figures and ``--compare`` prints a saved run next to this one.

    python -m benchmarks.pusat_data_bench [--rounds 3] [--lab wansb] [--json after.json] [--compare before.json]
    python -m benchmarks.pusat_data_bench --show after.json --compare before.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lab.manager import LabManager
from tests.support.principals import as_lab
from toolkit.actions.base import RunContext
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.engine.scheduler import action_context
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import Job, JobState
from toolkit.settings import load_settings

PLAYBOOK_STEPS = {
    "instalasi-server": ("ansible.provision_server", "provision_server.yml"),
    "instalasi-monitoring": ("ansible.install_monitoring", "install_monitoring.yml"),
    "konfigurasi-backup": ("ansible.configure_backup", "configure_backup.yml"),
}
LETTER = AttachmentUpload(name="surat-permohonan.pdf", media_type="application/pdf",
                          content=b"%PDF-1.4\n% Surat permohonan\n%%EOF\n", kind="surat_permohonan")
APPROVAL = AttachmentUpload(name="persetujuan-aplikasi.pdf", media_type="application/pdf",  # SOP 002 step 4
                            content=b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n", kind="dokumen_persetujuan_aplikasi")
LOAD = "load average (1 min) at round start"
BACKUP_PASSWORD = "bench-backup-password-5d1a"  # noqa: S105 - a throw-away lab secret


def _fields(n: int) -> dict[str, str]:
    return {"instansi": "Dinas Kesehatan", "perihal": "Permohonan pemanfaatan Pusat Data", "produk": "hosting-aplikasi",
            "nama_aplikasi": f"simpus{n}", "hostname": f"simpus-app-{n}", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
            "backup": "ya", "uat": "ya", "kontak_email": "it@dinkes.example.go.id", "keterangan": "benchmark"}


def _job_s(job: Job) -> float:
    assert job.finished_at is not None and job.started_at is not None
    return (job.finished_at - job.started_at).total_seconds()


def _cpu_s() -> float:
    """This process's CPU and that of its children that ended (ansible-playbook runs ansible-runner waited for):
    what the path costs a worker host. The managed host's own CPU is not in it."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_round(app: App, n: int) -> dict[str, float]:
    """One approved ticket through the engine, then the three actions again on the converged host."""
    ticket = desk.open_ticket(app, "pusat-data", as_lab("andi"), f"Hosting SIMPUS {n}", _fields(n), [LETTER, APPROVAL])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    started, cpu0 = time.monotonic(), _cpu_s()
    jobs = run_ticket(app, ticket.id)
    figures = {"end to end (run_ticket)": time.monotonic() - started,
               "worker CPU, end to end (process + ansible children)": _cpu_s() - cpu0}
    bad = [(j.step_id, j.state, j.error) for j in jobs if j.state != JobState.SUCCEEDED]
    if bad or len(jobs) < 4:
        raise RuntimeError(f"the Pusat Data ticket did not complete: {bad or [j.step_id for j in jobs]}")
    for job in jobs:
        if job.step_id in PLAYBOOK_STEPS:
            playbook = PLAYBOOK_STEPS[job.step_id][1]
            assert job.result is not None
            figures[f"{playbook} (run)"] = float(job.result["facts"]["duration_s"])
            figures[f"{playbook} (job)"] = _job_s(job)
    figures["3 playbooks (runs)"] = sum(figures[f"{p} (run)"] for _, p in PLAYBOOK_STEPS.values())
    rerun_total = 0.0
    for step_id, (action_name, playbook) in PLAYBOOK_STEPS.items():
        action = app.actions.get(action_name)
        assert action is not None, action_name
        ctx = action_context(app, ticket.id, step_id)
        plan = action.plan(ctx)  # provisioning allocates again: the same host, once per ticket and step
        began = time.monotonic()
        result = action.execute(ctx, plan, RunContext(job_id=10_000 + n, attempt=1, log=lambda _: None,
                                                      should_cancel=lambda: False,
                                                      work_dir=app.artifacts_dir(ticket.id), mask=app.masker,
                                                      services=app))
        took = time.monotonic() - began
        if not result.ok:
            raise RuntimeError(f"re-run of {playbook} failed: {result.summary}")
        figures[f"{playbook} re-run (converged)"] = took
        rerun_total += took
    figures["3 playbooks re-run (converged)"] = rerun_total
    return figures


def measure(rounds: int, lab_name: str) -> dict[str, list[float]]:
    os.environ["SPBE_BACKUP_PASSWORD"] = BACKUP_PASSWORD
    with tempfile.TemporaryDirectory(prefix="spbe-pd-bench-") as tmp:
        hosts = tuple(f"pd-app-{i:02d}" for i in range(1, rounds + 1))
        manager = LabManager(Path(tmp) / "lab", lab_name, hosts=hosts, switches=0, vpn=False, incident=False,
                             with_gateway=False)
        state = manager.up()
        try:
            app = App(load_settings(state.config_file, state_dir=Path(tmp) / "state"))
            series: dict[str, list[float]] = {}
            for n in range(1, rounds + 1):
                series.setdefault(LOAD, []).append(os.getloadavg()[0])  # the conditions: 2 cores, shared
                for name, value in one_round(app, n).items():
                    series.setdefault(name, []).append(value)
        finally:
            manager.down()
    return series


def report(series: dict[str, list[float]], before: dict[str, list[float]], rounds: int) -> Table:
    table = Table(title=f"Pusat Data path through the engine ({rounds} tickets, fresh host each; lab, 2 cores)")
    for column in ("figure", "target", "before (median / best)", "measured (median / best)", "change"):
        table.add_column(column)
    for name, values in series.items():
        old = before.get(name)
        median = statistics.median(values)
        unit = "" if name == LOAD else (" CPU-s" if "CPU" in name else " s")
        change = f"{(median / statistics.median(old) - 1) * 100:+.0f} %" if old and name != LOAD else "-"
        table.add_row(name, "report before/after" if name.startswith("end to end") else "-",
                      f"{statistics.median(old):.2f} / {min(old):.2f}{unit}" if old else "-",
                      f"{median:.2f} / {min(values):.2f}{unit}", change)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="tickets, each on its own fresh pool host (<= 8)")
    parser.add_argument("--lab", default="pdbench", help="lab name (unique on this machine, <= 16 chars)")
    parser.add_argument("--json", type=Path, help="save the figures here")
    parser.add_argument("--compare", type=Path, help="figures saved by an earlier run, shown as 'before'")
    parser.add_argument("--show", type=Path, help="print figures saved by an earlier run instead of measuring")
    args = parser.parse_args(argv)

    def load(path: Path) -> dict[str, list[float]]:
        data: dict[str, list[float]] = json.loads(path.read_text(encoding="utf-8"))
        return data

    series = load(args.show) if args.show else measure(args.rounds, args.lab)
    if args.json:
        args.json.write_text(json.dumps(series, indent=1), encoding="utf-8")
    before = load(args.compare) if args.compare else {}
    rounds = len(next(iter(series.values()), []))
    Console(width=160).print(report(series, before, rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
