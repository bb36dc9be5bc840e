"""Uji kualitas (SOP Jaringan Intra step 8): reachability, loss and latency from a new segment.

The targets come from the change plan's ACL (what the agency asked to reach) plus one target that
must *not* be reachable (an application of the data center the agency did not ask for), so a missing
or too-open ACL fails the test instead of passing it. Thresholds come from configuration. Probing is
plain data in, data out (`probe_locally`), so it can run wherever the segment is: inside a lab
namespace (``python -m toolkit.network.probe``) or, in production, on a probe host at the site.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from toolkit.network.inventory import NetworkInventory
from toolkit.network.plan import NetworkChange
from toolkit.settings import QualityThresholds as QualityThresholds  # re-exported: the thresholds are settings


class ProbeTarget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    app: str
    address: ipaddress.IPv4Address
    protocol: Literal["tcp", "icmp"]
    port: int | None = Field(default=None, ge=1, le=65535)
    expect: Literal["reachable", "blocked"] = "reachable"

    @property
    def label(self) -> str:
        return f"{self.address}/{self.protocol}" + (f":{self.port}" if self.port else "")


class ProbeResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    target: ProbeTarget
    sent: int
    received: int
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    error: str | None = None

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)
    result: ProbeResult
    ok: bool
    reason: str = Field(description="Bahasa Indonesia, for the ticket")


class QualityReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    thresholds: QualityThresholds
    verdicts: tuple[Verdict, ...]

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(v.ok for v in self.verdicts)


class SegmentProber(Protocol):
    """Runs probes from inside the new segment (a lab namespace, or a probe host at the site)."""

    def probe(self, change: NetworkChange, targets: Sequence[ProbeTarget],
              thresholds: QualityThresholds) -> list[ProbeResult]: ...


def probe_address(network: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """The one address that stands for a destination network: the probes target it (and the lab data
    plane serves it), the network address itself for a /32."""
    return network.network_address if network.num_addresses == 1 else next(network.hosts())


def targets_for(change: NetworkChange, inventory: NetworkInventory) -> list[ProbeTarget]:
    """One target per permitted (address, service); UDP is not probed (no generic reply to measure).

    Then one application the plan does not permit, expected blocked, when the inventory has one.
    """
    targets: list[ProbeTarget] = []
    seen: set[tuple[str, str, int | None]] = set()
    for entry in change.acl:
        if entry.protocol not in ("tcp", "icmp"):
            continue
        protocol: Literal["tcp", "icmp"] = "tcp" if entry.protocol == "tcp" else "icmp"
        address = probe_address(entry.destination)
        key = (str(address), protocol, entry.port)
        if key not in seen:
            seen.add(key)
            targets.append(ProbeTarget(app=entry.app, address=address, protocol=protocol, port=entry.port))
    permitted = {e.app for e in change.acl}
    for app in inventory.apps:
        if app.id in permitted:
            continue
        covered = [e.destination for e in change.acl]
        for network in app.addresses:
            address = probe_address(network)
            if any(address in c for c in covered):
                continue
            service = next((s for s in app.services if s.protocol in ("tcp", "icmp")), None)
            if service is not None:
                targets.append(ProbeTarget(app=app.id, address=address, port=service.port, expect="blocked",
                                           protocol="tcp" if service.protocol == "tcp" else "icmp"))
                return targets
    return targets


def evaluate(results: Sequence[ProbeResult], thresholds: QualityThresholds) -> QualityReport:
    verdicts = []
    for result in results:
        target = result.target
        if target.expect == "blocked":
            ok = result.received == 0
            reason = ("terblokir sesuai ACL" if ok else
                      f"seharusnya terblokir, tetapi {result.received}/{result.sent} probe berhasil")
        elif result.received == 0:
            ok, reason = False, "tidak terjangkau" + (f" ({result.error})" if result.error else "")
        elif result.loss_pct > thresholds.max_loss_pct:
            ok, reason = False, f"packet loss {result.loss_pct:.1f}% > {thresholds.max_loss_pct:g}%"
        elif result.rtt_avg_ms is not None and result.rtt_avg_ms > thresholds.max_avg_rtt_ms:
            ok, reason = False, f"latensi rata-rata {result.rtt_avg_ms:.1f} ms > {thresholds.max_avg_rtt_ms:g} ms"
        elif result.rtt_max_ms is not None and result.rtt_max_ms > thresholds.max_rtt_ms:
            ok, reason = False, f"latensi maksimum {result.rtt_max_ms:.1f} ms > {thresholds.max_rtt_ms:g} ms"
        else:
            ok, reason = True, "memenuhi ambang batas"
        verdicts.append(Verdict(result=result, ok=ok, reason=reason))
    return QualityReport(thresholds=thresholds, verdicts=tuple(verdicts))


_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_PING_RTT = re.compile(r"= [\d.]+/([\d.]+)/([\d.]+)/")


def _ping(target: ProbeTarget, thresholds: QualityThresholds) -> ProbeResult:
    argv = ["ping", "-n", "-q", "-c", str(thresholds.probes), "-i", f"{max(thresholds.interval_s, 0.002):g}",
            "-W", f"{thresholds.timeout_s:g}", str(target.address)]
    deadline = thresholds.probes * (thresholds.interval_s + thresholds.timeout_s) + 5
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=deadline, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ProbeResult(target=target, sent=thresholds.probes, received=0, error=type(exc).__name__)
    summary = _PING_SUMMARY.search(proc.stdout)
    if summary is None:
        return ProbeResult(target=target, sent=thresholds.probes, received=0,
                           error=(proc.stderr.strip() or "no ping summary")[:200])
    rtt = _PING_RTT.search(proc.stdout)
    return ProbeResult(target=target, sent=int(summary[1]), received=int(summary[2]),
                       rtt_avg_ms=float(rtt[1]) if rtt else None, rtt_max_ms=float(rtt[2]) if rtt else None)


def _tcp(target: ProbeTarget, thresholds: QualityThresholds) -> ProbeResult:
    rtts: list[float] = []
    error: str | None = None
    for index in range(thresholds.probes):
        if index:
            time.sleep(thresholds.interval_s)
        started = time.perf_counter()
        try:
            with socket.create_connection((str(target.address), target.port or 0), timeout=thresholds.timeout_s):
                rtts.append((time.perf_counter() - started) * 1000)
        except OSError as exc:
            error = type(exc).__name__ if not exc.strerror else exc.strerror
    return ProbeResult(target=target, sent=thresholds.probes, received=len(rtts),
                       rtt_avg_ms=round(statistics.fmean(rtts), 3) if rtts else None,
                       rtt_max_ms=round(max(rtts), 3) if rtts else None, error=None if rtts else error)


def probe_locally(targets: Sequence[ProbeTarget], thresholds: QualityThresholds) -> list[ProbeResult]:
    """Probe from wherever this process runs (its network namespace is the segment)."""
    return [_ping(t, thresholds) if t.protocol == "icmp" else _tcp(t, thresholds) for t in targets]
