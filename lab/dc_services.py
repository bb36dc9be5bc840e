"""``python -m lab.dc_services ADDR:PORT ...``: the data-center applications of the lab data plane.

Each listener accepts a connection, answers one line and closes, which is all a reachability probe
needs. It runs inside the lab's data-center namespace (``ip netns exec``), so it can bind the
inventory's application addresses without touching the control node's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"spbe-lab dc service\n")
    try:
        await writer.drain()
    finally:
        writer.close()


async def _serve(endpoints: list[tuple[str, int]], ready: str | None) -> None:
    servers = [await asyncio.start_server(_answer, host, port) for host, port in endpoints]
    if ready:
        with open(ready, "w", encoding="utf-8") as handle:
            handle.write("ready\n")
    await asyncio.gather(*(s.serve_forever() for s in servers))


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return str(ipaddress.IPv4Address(host)), int(port)


def main(argv: list[str]) -> int:
    ready = None
    if argv and argv[0].startswith("--ready="):
        ready = argv.pop(0).split("=", 1)[1]
    asyncio.run(_serve([_endpoint(a) for a in argv], ready))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
