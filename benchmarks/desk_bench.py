"""Desk benchmarks of issue 16, printed as figure, target and measured.

    python -m benchmarks.desk_bench [--runs 10] [--poll-interval 2]

Against a real, private Redmine 5 (lab/redmine.py; needs root and scripts/redmine_packages.sh) and `spbe serve`'s
server in this process (workers, the desks' thread, the front door for webhooks), on the benchmark catalog's
service (approval, then a no-op action):

1. approval in Redmine -> first action starts, by webhook: the clock starts when the kepala dinas's status change
   has been answered by Redmine and a signed delivery is sent at once; it stops at the job's claim time. The
   webhook's answer includes the intake reading the issue back from Redmine. Target p50 <= 300 ms.
2. the same by poll alone (no webhook): target <= the poll interval + 300 ms (worst of the runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from lab.redmine import STATE_PREFIX, RedmineServer
from lab.redmine_spec import APPROVED, RedmineHandle
from tests.support.redmine_desk import Person
from toolkit.bootstrap import App
from toolkit.desks.loop import desk_loops
from toolkit.desks.webhook import sign
from toolkit.engine.server import Server
from toolkit.settings import load_settings
from toolkit.web.server import WebServer

HERE = Path(__file__).resolve().parent
ACTIONS = ("tests.support.actions:NOOP", "benchmarks.bench_actions:PLAYBOOK")
SECRET = "bench-webhook-key-9d2e"  # noqa: S105 - the benchmark's own webhook key


def _settings(redmine: RedmineHandle, tmp: Path, poll_interval: float) -> Any:
    folder = tmp / "desks"
    folder.mkdir()
    mapping = {"name": "redmine", "kind": "redmine", "bot": "spbe",
               "options": {"base_url": redmine.base_url, "api_key_secret": "desk-redmine"},
               "routes": [{"project": "spbe-uji", "service": "bench"}],
               "fields": {"bench": {"Instansi": "instansi"}},
               "decisions": [{"decision": "approve", "status_to": APPROVED}],
               "accounts": {"andi": "andi", "kadis": "kadis"}, "poll_interval_s": poll_interval,
               "poll_overlap_s": 2, "webhook": {"secret": "desk-redmine-webhook"}}
    (folder / "redmine.yml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    (tmp / "key").write_text(redmine.api_key("spbe"), encoding="utf-8")
    (tmp / "hook").write_text(SECRET, encoding="utf-8")
    return load_settings(state_dir=tmp / "state", catalog_dir=HERE / "catalog", extra_actions=ACTIONS,
                         desks_dir=folder, http={"bind": "127.0.0.1:0"},
                         workers={"warm_inventory": False},
                         secrets={"desk-redmine": {"ref": f"file:{tmp / 'key'}"},
                                  "desk-redmine-webhook": {"ref": f"file:{tmp / 'hook'}"}})


def _deliver(url: str, key: str, n: int) -> None:
    body = json.dumps({"issue_key": key}).encode()
    stamp = str(int(time.time()))
    answer = httpx.post(f"{url}/hooks/redmine", content=body, timeout=30, headers={
        "X-Spbe-Signature": sign(SECRET, stamp, body), "X-Spbe-Timestamp": stamp,
        "X-Spbe-Delivery": f"bench-{key}-{n}", "Content-Type": "application/json"})
    answer.raise_for_status()


def _first_start(app: App, ticket_id: str, deadline_s: float = 60) -> datetime:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        jobs = app.queue.list_jobs(ticket_id=ticket_id)
        if jobs and jobs[0].started_at is not None:
            return jobs[0].started_at
        time.sleep(0.005)
    raise TimeoutError(f"no job started for {ticket_id}")


def measure(redmine: RedmineHandle, runs: int, poll_interval: float, webhook: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = App(_settings(redmine, Path(tmp), poll_interval if not webhook else 3600.0))
        server = Server(app, workers=app.settings.workers.count, side_loops=desk_loops(app, tick_s=0.05))
        thread = threading.Thread(target=server.run, daemon=True)
        web = WebServer(app, app.settings, "127.0.0.1", 0)
        url = web.start()
        web.started.wait(30)
        thread.start()
        andi, kadis = Person(redmine, "andi"), Person(redmine, "kadis")
        latencies = []
        try:
            for n in range(runs):
                key = andi.open(f"Uji kinerja {n}", {"Instansi": "Dinas Uji"})
                Person(redmine, "spbe").status(key, "Diperiksa")  # the bot may move anything; kadis approves next
                if webhook:
                    _deliver(url, key, 0)
                ticket_id = None
                while ticket_id is None:
                    ticket_id = app.desks.records.ticket_for("redmine", key)
                    time.sleep(0.01)
                kadis.status(key, APPROVED, "uji kinerja")
                started = datetime.now(UTC)
                if webhook:
                    _deliver(url, key, 1)
                latencies.append((_first_start(app, ticket_id) - started).total_seconds())
        finally:
            server.stop.set()
            thread.join(timeout=60)
            web.stop()
            app.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    server = RedmineServer(folder)
    try:
        redmine = server.start()
        by_hook = measure(redmine, args.runs, args.poll_interval, webhook=True)
        by_poll = measure(redmine, max(3, args.runs // 2), args.poll_interval, webhook=False)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    table = Table(title="Desk benchmarks (issue 16)")
    for column in ("figure", "target", "measured"):
        table.add_column(column)
    hook_ms, poll_ms = [x * 1000 for x in by_hook], [x * 1000 for x in by_poll]
    table.add_row("approval in Redmine -> first action, by webhook, p50", "<= 300 ms",
                  f"{statistics.median(hook_ms):.0f} ms (worst {max(hook_ms):.0f} ms, {len(hook_ms)} runs)")
    table.add_row(f"... by poll every {args.poll_interval:g} s, worst", f"<= {args.poll_interval * 1000 + 300:.0f} ms",
                  f"{max(poll_ms):.0f} ms (p50 {statistics.median(poll_ms):.0f} ms, {len(poll_ms)} runs)")
    Console().print(table)


if __name__ == "__main__":
    main()
