"""Process and port helpers shared by the lab's parts (hosts, Prometheus, switch server).

A lab is torn down by a later process that knows only what ``lab.json`` recorded, so a recorded pid is
signalled only while its command line still names something of that lab: pids are reused.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import toolkit

_daemons: dict[int, subprocess.Popen[bytes]] = {}
_daemons_lock = threading.Lock()


def keep(proc: subprocess.Popen[bytes]) -> int:
    """Hold a lab daemon's `Popen` until the daemon ends; returns its pid.

    A daemon outlives the object that started it (it is stopped later by its recorded pid, maybe by
    another process), but a `Popen` dropped while its process runs is a leak: Python warns about it
    (ResourceWarning) and nobody reaps the process when it exits. Kept here, it is reaped by `terminate`,
    or by the next `keep` once it has exited."""
    with _daemons_lock:
        for pid, other in list(_daemons.items()):
            if other.poll() is not None:
                del _daemons[pid]
        _daemons[proc.pid] = proc
    return proc.pid


def _reap(pid: int) -> None:
    with _daemons_lock:
        proc = _daemons.pop(pid, None)
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with _daemons_lock:
                _daemons[pid] = proc  # still running after all: keep holding it


def pythonpath(inherited: str | None = None) -> str:
    """PYTHONPATH for the lab's own ``python -m lab.<part>`` children: the folders that hold the ``lab``
    and ``toolkit`` packages this process imported (a checkout, or site-packages), then ``inherited``.

    A child started in a namespace or with a clean environment must import the same code as its parent,
    whether the packages are installed or used from the source tree."""
    roots = [str(Path(__file__).resolve().parents[1]), str(Path(toolkit.__file__).resolve().parents[1])]
    parts = [*dict.fromkeys(roots), *([inherited] if inherited else [])]
    return os.pathsep.join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """A bind test on loopback; racy by nature, so starters retry when the listen itself fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_our_process(pid: int, *needles: str) -> bool:
    """Guard against pid reuse: only signal a recorded pid if its command line still has every needle."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return bool(needles) and all(needle in cmdline for needle in needles)


def terminate(pid: int, *needles: str, timeout_s: float = 10.0) -> None:
    """SIGTERM a recorded process, escalate to SIGKILL, and wait until it is gone (or a zombie, which is
    reaped when this process started it)."""
    try:
        _signal_until_gone(pid, needles, timeout_s)
    finally:
        _reap(pid)


def _signal_until_gone(pid: int, needles: tuple[str, ...], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    sig = signal.SIGTERM
    while is_our_process(pid, *needles):
        try:
            if Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").split(")")[-1].split()[0] == "Z":
                return
            os.kill(pid, sig)
        except (OSError, IndexError):
            return
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        time.sleep(0.1)


def _ancestors() -> set[int]:
    """This process and every parent up to pid 1: never swept, whatever their command lines say."""
    seen: set[int] = set()
    pid = os.getpid()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return seen


def processes_naming(needle: str) -> dict[int, str]:
    """Live processes whose command line contains ``needle`` (a lab's own folder, ending in ``/``), with
    that command line shortened for a message."""
    skip = _ancestors()
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if needle in " ".join(argv):
            found[int(entry)] = " ".join(a for a in argv[:4] if a)[:80]
    return found


def sweep(needle: str) -> list[str]:
    """Stop every process still naming ``needle``: what a lab left running where its records no longer
    reach (a namespace deleted behind its back keeps its processes; a lost lab.json forgets its pids).
    Returns one line per process stopped."""
    found = processes_naming(needle)
    for pid in found:
        terminate(pid, needle)
    return [f"stopped leftover process {pid} ({cmd})" for pid, cmd in found.items()]
