"""Quality verdicts: each threshold fails the test on its own, and a blocked target must stay blocked."""

from __future__ import annotations

import ipaddress

import pytest

from toolkit.network.quality import ProbeResult, ProbeTarget, QualityThresholds, evaluate, probe_locally

T = QualityThresholds(probes=10, max_loss_pct=10, max_avg_rtt_ms=20, max_rtt_ms=50)
TCP = ProbeTarget(app="simpeg", address=ipaddress.IPv4Address("10.10.0.10"), protocol="tcp", port=443)
BLOCKED = TCP.model_copy(update={"app": "sikd", "expect": "blocked"})


@pytest.mark.parametrize(("received", "avg", "peak", "ok", "reason"), [
    (10, 1.0, 2.0, True, "memenuhi"),
    (9, 1.0, 2.0, True, "memenuhi"),  # 10 % loss is at the threshold
    (8, 1.0, 2.0, False, "packet loss 20.0%"),
    (10, 25.0, 30.0, False, "latensi rata-rata"),
    (10, 5.0, 80.0, False, "latensi maksimum"),
    (0, None, None, False, "tidak terjangkau"),
])  # fmt: skip
def test_thresholds(received: int, avg: float | None, peak: float | None, ok: bool, reason: str) -> None:
    result = ProbeResult(target=TCP, sent=10, received=received, rtt_avg_ms=avg, rtt_max_ms=peak)
    report = evaluate([result], T)
    assert report.ok is ok and report.verdicts[0].reason.startswith(reason)


def test_blocked_target_must_not_answer() -> None:
    assert evaluate([ProbeResult(target=BLOCKED, sent=10, received=0)], T).ok
    report = evaluate([ProbeResult(target=BLOCKED, sent=10, received=1, rtt_avg_ms=1, rtt_max_ms=1)], T)
    assert not report.ok and "seharusnya terblokir" in report.verdicts[0].reason


def test_empty_report_is_not_a_pass() -> None:
    assert not evaluate([], T).ok


def test_local_tcp_probe_to_a_closed_loopback_port() -> None:
    target = ProbeTarget(app="x", address=ipaddress.IPv4Address("127.0.0.1"), protocol="tcp", port=9)
    (result,) = probe_locally([target], QualityThresholds(probes=2, interval_s=0.01, timeout_s=0.2))
    assert result.received == 0 and result.error
