"""The lab's Prometheus: a real one on loopback scraping the lab's file_sd dir, so `up == 1` can be shown
and the monitoring playbook's rules are loaded by a real server."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import yaml

from lab.models import LabState
from lab.procs import free_port as _free_port
from lab.procs import keep
from toolkit.errors import UnavailableError


def start_prometheus(state: LabState, children: list[subprocess.Popen[bytes]]) -> LabState:
    """A real Prometheus on loopback scraping the lab's file_sd dir, so `up == 1` can be shown."""
    prom_dir = state.file_sd_dir.parent
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(state.rules_dir / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "pusat-data",
                "file_sd_configs": [
                    {"files": [str(state.file_sd_dir / "*.json")], "refresh_interval": "5s"}
                ],
            }
        ],
    }
    config_file = prom_dir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = _free_port()
    argv = [
        "prometheus",
        f"--config.file={config_file}",
        f"--storage.tsdb.path={prom_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",  # the monitoring playbook POSTs /-/reload after changing rules
        "--log.level=warn",
    ]
    with open(prom_dir / "prometheus.log", "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    children.append(proc)
    keep(proc)  # the lab outlives this manager (`spbe lab up` returns); see procs.keep
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:  # noqa: S310 - loopback URL we built
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise UnavailableError(
                f"lab prometheus did not become ready; see {prom_dir / 'prometheus.log'}"
            )
        time.sleep(0.2)
    return state.model_copy(update={"prometheus_url": url, "prometheus_pid": proc.pid})
