"""In-process instruments: what this process's workers did (durations and outcomes of the jobs they ran).

Kept apart from the store-read gauges of `toolkit.engine.metrics` because these can only be
counted where the event happens; Prometheus sums them over the serve processes it scrapes. The
registry is the process's own, not prometheus-client's global one, so two apps in one process (the
tests) never share or double-register a metric. prometheus-client is imported at the first record,
so a one-shot CLI command that runs no job does not pay for it.
"""

from __future__ import annotations

import threading
from typing import Any

JOB_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class _Instruments:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

        self.registry = CollectorRegistry()  # no auto-describe: a store collector is read at scrape only
        ProcessCollector(registry=self.registry)  # this process's CPU, memory and open files
        self.job_duration = Histogram(
            "spbe_job_duration_seconds", "Duration of jobs that reached a final state, by action (this process)",
            ["action"], buckets=JOB_DURATION_BUCKETS, registry=self.registry)
        self.job_runs = Counter(
            "spbe_job_runs", "Job attempts run by this process, by action and outcome (succeeded, failed, "
            "canceled, requeued, lost, error)", ["action", "outcome"], registry=self.registry)


class Telemetry:
    """The process's metrics registry and its event instruments, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instruments: _Instruments | None = None

    def _get(self) -> _Instruments:
        with self._lock:
            if self._instruments is None:
                self._instruments = _Instruments()
            return self._instruments

    @property
    def registry(self) -> Any:
        """The `prometheus_client.CollectorRegistry` the endpoint serves."""
        return self._get().registry

    def job_finished(self, action: str, outcome: str, seconds: float, final: bool) -> None:
        """One attempt done. Only a final state goes into the duration histogram: a job handed back
        unstarted (its ticket system was down) would drag the distribution towards zero."""
        instruments = self._get()
        instruments.job_runs.labels(action=action, outcome=outcome).inc()
        if final:
            instruments.job_duration.labels(action=action).observe(seconds)
