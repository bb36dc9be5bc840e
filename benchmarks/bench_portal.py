"""Portal benchmarks of issue 13 point 9, printed as a table of figure, target and measured.

    python -m benchmarks.bench_portal [--tickets 20000] [--samples 50] [--users 50] [--duration 60]

1. The ticket list page with ``--tickets`` tickets in the embedded store: p50 of the server's own time
   (a middleware times each request inside uvicorn, so the client's HTTP stack is not counted), for an
   applicant's "Tiket saya" and for the koordinator's list of every ticket. Target p50 <= 100 ms.
2. ``--users`` concurrent portal users on loopback for ``--duration`` seconds, each logged in with their
   own session and going over the pages a person uses (list, a ticket, the catalog, a service's
   requirements) with ``--think`` seconds (on average) between two pages, as a person reads: a bounded
   load. 0 errors, p95 <= 500 ms (client-side, whole request). The clients run in a process of their own,
   and the load stops by itself.

The portal is the real one (`portal_router` in uvicorn on 127.0.0.1) on a temporary state directory;
the tickets are stored through the ticket store's own ``create``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from tests.support.principals import as_lab
from tests.web.portal.conftest import PASSWORD, csrf_of, portal_settings, serve
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import TicketDraft

APPLICANTS = ("andi", "budi", "lina")
FIELDS = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan", "hostname": "simpus-app", "vcpu": 2, "ram_gb": 4,
          "backup": False, "kontak_email": "it@dinkes.example.go.id", "keterangan": None}


def fill(app: App, count: int) -> None:
    for i in range(count):
        app.tickets.create(TicketDraft(service_id="uji-berkas", title=f"Permohonan hosting nomor {i}",
                                       requester=APPLICANTS[i % len(APPLICANTS)], fields=FIELDS,
                                       sla_variant="standar"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def login(url: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = csrf_of(client.get("/masuk").text)
    response = client.post("/masuk", data={"csrf": token, "username": user, "password": PASSWORD})
    if response.status_code != 303:
        raise RuntimeError(f"login of {user} failed: {response.status_code}")
    return client


def load_process(url: str, cookies: list[dict[str, str]], duration: float, ticket_ids: list[str],
                 think: float) -> tuple[list[float], int]:
    """The load, run in a process of its own: the clients must not share the server's interpreter lock."""
    return asyncio.run(load(url, cookies, duration, ticket_ids, think))


async def load(url: str, cookies: list[dict[str, str]], duration: float, ticket_ids: list[str],
               think: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    paths = ["/tiket", "/layanan", "/layanan/uji-berkas"]

    async def user(index: int, jar: dict[str, str]) -> None:
        nonlocal errors
        await asyncio.sleep(think * index / max(1, len(cookies)))  # users arrive spread over one think time
        async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=30) as client:
            step = index
            while time.monotonic() < deadline:
                path = paths[step % len(paths)] if step % 4 else f"/tiket/{ticket_ids[index % len(ticket_ids)]}"
                step += 1
                t0 = time.perf_counter()
                try:
                    response = await client.get(path)
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(think * random.uniform(0.5, 1.5))  # noqa: S311 - a person reading the page

    await asyncio.gather(*(user(i, jar) for i, jar in enumerate(cookies)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of concurrent load")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between two pages")
    args = parser.parse_args()
    console = Console()
    table = Table(title="spbe portal benchmarks")
    for col in ("figure", "target", "measured", "ok"):
        table.add_column(col)
    server_times: dict[str, list[float]] = {}

    def timing(web: FastAPI) -> None:
        @web.middleware("http")
        async def clock(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            t0 = time.perf_counter()
            response = await call_next(request)
            server_times.setdefault(request.url.path, []).append(time.perf_counter() - t0)
            return response

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        app = App(portal_settings(state, accounts={"session_idle_s": 3600}))
        accounts = open_accounts(app)
        for person in (*APPLICANTS, "sari"):
            accounts.admin.add(as_lab("sari"), person, SecretStr(PASSWORD))
        t0 = time.perf_counter()
        fill(app, args.tickets)
        console.print(f"{args.tickets} tickets stored in {time.perf_counter() - t0:.1f} s")
        url, server, thread = serve(app, setup=timing)
        try:
            for who, path in (("andi", "/tiket"), ("sari", "/tiket?semua=1")):
                client = login(url, who)
                server_times.pop("/tiket", None)
                try:
                    for _ in range(args.samples):
                        if client.get(path).status_code != 200:
                            raise RuntimeError(f"{path} failed")
                finally:
                    client.close()
                p50 = statistics.median(server_times["/tiket"]) * 1000
                what = "every ticket" if who == "sari" else "Tiket saya"
                table.add_row(f"ticket list page, {args.tickets} tickets in the store, server time p50 "
                              f"({who}: {what}, {args.samples} requests)",
                              "<= 100 ms", f"{p50:.0f} ms", "yes" if p50 <= 100 else "NO")
            people = [APPLICANTS[i % len(APPLICANTS)] for i in range(args.users)]
            clients = [login(url, who) for who in people]
            jars = [dict(c.cookies) for c in clients]
            mine = {who: [t.id for t in app.tickets.list_tickets() if t.requester == who][-20:] for who in APPLICANTS}
            ids = [mine[people[i]][i % 20] for i in range(args.users)]
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                latencies, errors = pool.apply(load_process, (url, jars, args.duration, ids, args.think))
            for client in clients:
                client.close()
            p95 = percentile(latencies, 0.95) * 1000
            table.add_row(f"{args.users} concurrent portal users for {args.duration:.0f} s, ~{args.think:g} s between "
                          f"pages ({len(latencies)} requests)",
                          "0 errors, p95 <= 500 ms", f"{errors} errors, p95 {p95:.0f} ms",
                          "yes" if errors == 0 and p95 <= 500 else "NO")
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            accounts.close()
    console.print(table)


if __name__ == "__main__":
    main()
