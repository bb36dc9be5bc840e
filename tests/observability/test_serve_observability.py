"""A real `spbe serve` with JSON logs and metrics: what an operator's log shipper and Prometheus see.

The desk is set up the way people (and one forger) would: a ticket approved through the desk, whose
two automated steps run on the serve process; a ticket opened nine hours ago and never checked (its
8-hour SLA has run out); a checked ticket with an approval written straight into the store by the
requester (refused). The action that runs is the counter with a bug that prints the backup password,
a canary: it must reach neither the JSON log nor anything else the operator reads.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_ACTIONS, TEST_CATALOG, engine_env, spbe_argv
from tests.engine.helpers import approved_ticket
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.cli.main import cli
from toolkit.commands import desk
from toolkit.errors import ConfigurationError
from toolkit.masking import MASK
from toolkit.settings import load_settings

pytestmark = pytest.mark.slow  # processes of their own (spbe serve, a browser, mypy): the full suite runs these

CANARY = "CANARY-obs-5d1c7e9a40b2"  # noqa: S105 - searched for in every output
ACTIONS = (*TEST_ACTIONS, "tests.support.actions:LEAKY_COUNTER")
SERVICE = "uji-mesin"


class ServeProcess:
    """`spbe serve` as a subprocess, its stderr read line by line as it comes (a full pipe would
    stall the server)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, what: str, check: Any, timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            assert self.proc.poll() is None, f"spbe serve exited while waiting for {what}:\n" + "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {what}:\n" + "\n".join(self.lines[-40:])
            time.sleep(0.2)

    def stop(self, terminate: bool = True) -> int:
        """SIGTERM (as an init system stops it), or with ``terminate=False`` wait for --duration to end."""
        if terminate and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=90)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The endpoint over real HTTP, parsed with prometheus-client's own parser of the text format."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL the server logged
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return metrics.get((name, frozenset(labels.items())))


def _backdate(state_dir: Path, ticket_id: str, hours: int) -> None:
    """As if the ticket had been opened ``hours`` ago (the store's clock is the wall clock)."""
    db = sqlite3.connect(state_dir / "tickets.db")
    try:
        with db:
            db.execute("UPDATE tickets SET created_at=? WHERE id=?",
                       ((datetime.now(UTC) - timedelta(hours=hours)).isoformat(), ticket_id))
    finally:
        db.close()


def _forge_approval(state_dir: Path, ticket_id: str, actor: str) -> None:
    """An approval INSERTed into the store by someone with write access to it, bypassing the desk."""
    db = sqlite3.connect(state_dir / "tickets.db")
    try:
        with db:
            db.execute("INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) VALUES (?,?,?,?,?,?,?)",
                       (ticket_id, datetime.now(UTC).isoformat(), "approved", actor, "forged", "persetujuan", "{}"))
    finally:
        db.close()


@pytest.fixture
def desk_app(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("SPBE_BACKUP_PASSWORD", CANARY)
    return App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=ACTIONS))


def test_serve_logs_json_lines_and_serves_metrics_of_the_queue_and_the_desk(desk_app: App, state_dir: Path):
    approved = approved_ticket(desk_app)
    late = desk.open_ticket(desk_app, SERVICE, as_lab("andi"), "Lama", {"instansi": "Dinas Uji"}, []).id
    _backdate(state_dir, late, hours=9)
    forged = desk.open_ticket(desk_app, SERVICE, as_lab("andi"), "Palsu", {"instansi": "Dinas Uji"}, []).id
    desk.check(desk_app, forged, as_lab("sari"))
    _forge_approval(state_dir, forged, "andi")  # the requester approving their own request

    env = engine_env(state_dir, SPBE_BACKUP_PASSWORD=CANARY, SPBE_EXTRA_ACTIONS=json.dumps(list(ACTIONS)))
    serve = ServeProcess(spbe_argv("--log-format", "json", "--log-level", "DEBUG", "serve", "--workers", "1",
                                   "--duration", "120", "--metrics", "127.0.0.1:0"), env)
    try:
        url = serve.wait_for("metrics URL", lambda: next(
            (r["url"] for r in records(serve.lines) if r.get("event") == "metrics.start"), None))
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")

        def settled() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
            metrics = scrape(url)
            done = (value(metrics, "spbe_jobs", state="succeeded") == 2
                    and value(metrics, "spbe_outbox_pending") == 0
                    and value(metrics, "spbe_decisions_refused_total") == 1)
            return metrics if done else None

        metrics = serve.wait_for("two succeeded jobs, an empty outbox and the refusal", settled)
    finally:
        code = serve.stop()
    assert code == 0, "\n".join(serve.lines[-40:])

    # -- the queue and the desk, as Prometheus reads them -------------------------------------------------
    assert {state: value(metrics, "spbe_jobs", state=state) for state in ("queued", "running", "failed")} == {
        "queued": 0, "running": 0, "failed": 0}
    statuses = Counter(t.status.value for t in desk_app.tickets.list_tickets())
    assert statuses == {"open": 2, "in_progress": 1}
    for status in ("open", "in_progress", "deferred", "closed"):
        assert value(metrics, "spbe_tickets", service=SERVICE, status=status) == statuses.get(status, 0), status
    assert value(metrics, "spbe_tickets_sla_breached", service=SERVICE) == 1  # the ticket opened 9 h ago
    assert value(metrics, "spbe_job_duration_seconds_count", action="test.counter") == 2
    assert value(metrics, "spbe_job_runs_total", action="test.counter", outcome="succeeded") == 2
    assert {s: value(metrics, "spbe_metrics_source_up", source=s) for s in ("queue", "tickets", "sla", "audit")} \
        == dict.fromkeys(("queue", "tickets", "sla", "audit"), 1)

    # -- the log: JSON only, every job's start and end, the job's identity on every line in between --------
    raw = "\n".join(serve.lines)
    assert CANARY not in raw
    logged = records(serve.lines)  # every line is one JSON object, or this raises
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in logged)
    jobs = {j.id: j for j in desk_app.queue.list_jobs(ticket_id=approved)}
    assert sorted(jobs) == [1, 2]
    for job_id, job in jobs.items():
        starts = [r for r in logged if r.get("event") == "job.start" and r.get("job_id") == job_id]
        ends = [r for r in logged if r.get("event") == "job.end" and r.get("job_id") == job_id]
        assert len(starts) == 1 and len(ends) == 1, (job_id, starts, ends)
        identity = {"ticket_id": approved, "job_id": job_id, "step_id": job.step_id}
        assert starts[0] | identity == starts[0]
        assert {k: starts[0][k] for k in ("action", "attempt")} == {"action": "test.counter", "attempt": 1}
        assert ends[0]["outcome"] == "succeeded" and ends[0]["duration_s"] >= 0
        assert ends[0]["worker"] == starts[0]["worker"] and ends[0] | identity == ends[0]
        during = logged[logged.index(starts[0]):logged.index(ends[0]) + 1]
        in_worker = [r for r in during if r["thread"] == starts[0]["thread"]]
        assert [r for r in in_worker if {k: r.get(k) for k in identity} != identity] == []
        output = [r["message"] for r in in_worker if r["logger"] == "spbe.job.output"]
        assert f"connecting to the backup target with {MASK}" in output  # the job's output, masked
        leaked = [r["message"] for r in in_worker if r["logger"] == "tests.leaky"]
        assert leaked == [f"library says: bad credential {MASK}"]  # any record, not only the job's output
    outside = [r for r in logged if r.get("event") in ("serve.start", "serve.stop", "metrics.start")]
    assert len(outside) == 3 and not any("job_id" in r for r in outside)


def test_the_default_is_human_lines_and_json_can_come_from_the_settings(state_dir: Path):
    human = ServeProcess(spbe_argv("serve", "--workers", "1", "--duration", "0.5"), engine_env(state_dir))
    assert human.stop(terminate=False) == 0
    assert any(" INFO spbe.serve: spbe serve: 1 worker(s)" in line for line in human.lines), human.lines
    assert not [line for line in human.lines if line.startswith("{")]

    env = engine_env(state_dir, SPBE_LOGGING__FORMAT="json", SPBE_METRICS__ENABLED="true", SPBE_METRICS__PORT="0")
    configured = ServeProcess(spbe_argv("serve", "--workers", "1", "--duration", "0.5"), env)
    assert configured.stop(terminate=False) == 0
    events = [r.get("event") for r in records(configured.lines)]
    assert events == ["metrics.start", "serve.start", "serve.stop"], configured.lines


@pytest.mark.parametrize(("address", "why"), [
    ("0.0.0.0:9464", "allow_non_loopback"),   # every interface: refused without the setting
    ("10.1.2.3:9464", "allow_non_loopback"),
    ("metrics.example:9464", "allow_non_loopback"),  # a name is not trusted to stay on loopback
    ("127.0.0.1", "HOST:PORT"),
    ("127.0.0.1:99999", "HOST:PORT"),
])
def test_metrics_refuse_a_bind_beyond_loopback_unless_configured(state_dir: Path, address: str, why: str):
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir), "serve", "--duration", "0.1",
                                      "--metrics", address])
    assert result.exit_code == 8, result.output
    assert why in result.output
    assert not (state_dir / "queue.db").exists()  # refused before anything was opened, let alone served


def test_a_non_loopback_bind_is_allowed_only_in_writing(state_dir: Path):
    with pytest.raises(ConfigurationError, match="allow_non_loopback"):
        load_settings(state_dir=state_dir, metrics={"enabled": True, "host": "0.0.0.0"})  # noqa: S104
    settings = load_settings(state_dir=state_dir, metrics={"host": "0.0.0.0", "allow_non_loopback": True})  # noqa: S104
    assert settings.metrics.host == "0.0.0.0"  # noqa: S104
    assert load_settings(state_dir=state_dir, metrics={"host": "::1"}).metrics.host == "::1"
