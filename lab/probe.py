"""Traffic probes from inside a lab network namespace, without starting a process.

A network namespace belongs to a thread, not a process: a fresh thread joins the namespace with
``setns(2)``, opens its socket there and ends. That is how the containment tests and the benchmark
check isolation *by traffic* (TCP connect, an HTTP GET, the SSH banner) as the attacker or the CSIRT
host would see it, in milliseconds instead of the ~100 ms an ``ip netns exec`` child costs.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

CLONE_NEWNET = 0x40000000


class ProbeResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    detail: str
    elapsed_s: float


def _in_netns(netns: str, work: Callable[[], str]) -> ProbeResult:
    outcome: list[ProbeResult] = []

    def run() -> None:
        started = time.monotonic()
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                outcome.append(ProbeResult(ok=False, detail=f"setns: {os.strerror(err)}", elapsed_s=0.0))
                return
        finally:
            os.close(fd)
        try:
            detail = work()
            outcome.append(ProbeResult(ok=True, detail=str(detail), elapsed_s=time.monotonic() - started))
        except OSError as exc:
            outcome.append(ProbeResult(ok=False, detail=f"{type(exc).__name__}: {exc}",
                                       elapsed_s=time.monotonic() - started))

    thread = threading.Thread(target=run, name=f"probe-{netns}", daemon=True)
    thread.start()
    thread.join()
    return outcome[0]


def tcp(netns: str, address: str, port: int, timeout_s: float = 1.0) -> ProbeResult:
    """Does a TCP handshake with ``address:port`` complete from inside ``netns``?"""
    def work() -> str:
        with socket.create_connection((address, port), timeout=timeout_s):
            return "connected"
    return _in_netns(netns, work)


def http_get(netns: str, address: str, port: int = 80, timeout_s: float = 1.0) -> ProbeResult:
    """A plain HTTP/1.0 GET / from inside ``netns``; ok only with a 2xx/3xx status line."""
    def work() -> str:
        with socket.create_connection((address, port), timeout=timeout_s) as conn:
            conn.sendall(f"GET / HTTP/1.0\r\nHost: {address}\r\n\r\n".encode("ascii"))
            status = conn.recv(64).split(b"\r\n", 1)[0].decode("ascii", "replace")
        if not status.startswith(("HTTP/1.0 2", "HTTP/1.1 2", "HTTP/1.0 3", "HTTP/1.1 3")):
            raise OSError(f"unexpected status {status!r}")
        return status
    return _in_netns(netns, work)


def ssh_banner(netns: str, address: str, port: int = 22, timeout_s: float = 1.0) -> ProbeResult:
    """Does sshd answer with its banner from inside ``netns``?"""
    def work() -> str:
        with socket.create_connection((address, port), timeout=timeout_s) as conn:
            banner = conn.recv(64)
        if not banner.startswith(b"SSH-2.0"):
            raise OSError(f"no SSH banner: {banner[:20]!r}")
        return banner.decode("ascii", "replace").strip()
    return _in_netns(netns, work)
