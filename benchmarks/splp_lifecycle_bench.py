"""Benchmark: SPLP credentials on the REAL Express Gateway, from issue to expiry.

What a person waits for: the engine's steps 5 and 6 for one approved ticket (route, consumer, key,
ACL, quota through the admin API, each config change waiting for the gateway's hot reload; then the
try-out through the proxy), ``spbe api revoke`` and ``rotate`` (gateway, vault, register, audit,
ticket comment), one expiry sweep over every credential issued, and ``spbe api list`` with and
without ``--live``. The gateway runs on loopback, so the figures are the toolkit's and Express
Gateway's own cost, not a network's.

    python -m benchmarks.splp_lifecycle_bench [--tickets 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lab import rootfs
from lab.gateway import GatewayLab
from tests.splp.helpers import approved_ticket
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.engine.server import run_ticket
from toolkit.settings import load_settings
from toolkit.splp import lifecycle
from toolkit.vault import generate_key


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=8)
    count = parser.parse_args().tickets
    rows: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        lab_dir = Path(tmp) / "lab"
        name = os.environ.get("SPBE_TEST_LAB", "bench") + "-splp-bench"
        gateway = GatewayLab(lab_dir, name, rootfs.DEFAULT_CACHE_DIR)
        eg = gateway.up()
        try:
            os.environ["SPBE_VAULT_KEY"] = generate_key()
            app = App(load_settings(state_dir=Path(tmp) / "state", gateway={
                "kind": "express_gateway", "options": {"admin_url": eg.admin_url, "proxy_url": eg.proxy_url}}))
            issue, tickets = [], []
            for i in range(count):
                ticket = approved_ticket(app, f"bench-app-{i}")
                started = time.perf_counter()
                jobs = run_ticket(app, ticket.id)
                issue.append(_ms(started))
                assert all(j.result and j.result.get("ok") for j in jobs), [j.error for j in jobs]
                tickets.append(ticket.id)
            rows.append(("issue + try-out (steps 5-6, engine), first has the route", "< 10000 ms", issue))
            rotate = []
            for ticket_id in tickets[: count // 2]:
                started = time.perf_counter()
                lifecycle.rotate_credential(app, ticket_id, principal=as_lab("sari"), reason="rotasi berkala")
                rotate.append(_ms(started))
            rows.append(("spbe api rotate (one credential)", "< 2000 ms", rotate))
            revoke = []
            for ticket_id in tickets[count // 2:]:
                started = time.perf_counter()
                lifecycle.revoke_credential(app, ticket_id, principal=as_lab("rina"), reason="uji kinerja")
                revoke.append(_ms(started))
            rows.append(("spbe api revoke (one credential)", "< 2000 ms", revoke))
            listing = []
            for live in (False, True):
                started = time.perf_counter()
                lifecycle.listing(app, live=live)
                listing.append(_ms(started))
            rows.append(("spbe api list (register; then --live with the gateway)", "< 1000 ms", listing))
            store = app.state.issued
            for ticket_id in tickets[: count // 2]:
                cred = store.get(ticket_id)
                store.rotated(ticket_id, key_id=cred.key_id, masked=cred.masked, issued_at=cred.issued_at,
                              expires_at=datetime.now(UTC) - timedelta(minutes=1))
            started = time.perf_counter()
            expired = lifecycle.expire_due(app)
            rows.append((f"expiry sweep over {len(expired)} due credentials", "< 10000 ms", [_ms(started)]))
        finally:
            gateway.down()
    table = Table(title="SPLP credential lifecycle on the real Express Gateway")
    for column in ("figure", "target", "median", "max", "n"):
        table.add_column(column)
    for figure, target, values in rows:
        table.add_row(figure, target, f"{statistics.median(values):.0f} ms", f"{max(values):.0f} ms",
                      str(len(values)))
    Console().print(table)


if __name__ == "__main__":
    main()
