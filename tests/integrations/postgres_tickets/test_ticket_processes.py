"""The ticket store's guarantees across processes on PostgreSQL (the shared desk of several hosts): four
processes opening 50 tickets each get 200 distinct numbers (gaps allowed, duplicates never); four processes
posting one dedupe-keyed event concurrently store it once; events commit in seq order (no seq missing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind, TicketDraft
from toolkit.settings import Settings

pytestmark = pytest.mark.slow  # processes of their own, seconds each


def _children(argv: list[str], go: Path, count: int = 4) -> list[list[object]]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.integrations.postgres_tickets.ticket_child",
                               argv[0], str(go), *argv[1:]],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    time.sleep(0.5)
    go.touch()
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    return [json.loads(out) for out, _ in outputs]


def test_four_processes_opening_50_tickets_each_get_200_distinct_numbers(tickets_env: Settings,
                                                                         tmp_path: Path) -> None:
    ids = [tid for out in _children(["create"], tmp_path / "go") for tid in out]
    assert len(ids) == 200
    assert len(set(ids)) == 200  # no number shared
    app = App(tickets_env)
    try:
        stored = app.tickets.list_tickets()
        assert sorted(t.id for t in stored) == sorted(ids)
        events = app.tickets.events_since(0, limit=1000)
        assert [e.seq for e in events] == list(range(1, 201))  # one opened event each, seq in commit order
        assert {e.ticket_id for e in events if e.kind == EventKind.OPENED} == set(ids)
    finally:
        app.close()


def test_concurrent_dedupe_keyed_posts_from_four_processes_store_one_event(tickets_env: Settings,
                                                                           tmp_path: Path) -> None:
    app = App(tickets_env)
    try:
        ticket = app.tickets.create(TicketDraft(service_id="pusat-data", title="Permohonan", requester="andi",
                                                fields={}, sla_variant="standar"))
        seqs = {seq for out in _children(["post", ticket.id], tmp_path / "go") for seq in out}
        comments = [e for e in app.tickets.timeline(ticket.id) if e.kind == EventKind.COMMENT]
        assert len(comments) == 1
        assert seqs == {comments[0].seq}  # every caller, in every process, got the one stored event
    finally:
        app.close()
