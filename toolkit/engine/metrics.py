"""Prometheus metrics of the queue and the desk, served on loopback by `spbe serve`.

State is read from the stores at scrape time by `StoreCollector` (nothing is cached in the
process), so every serve process sharing a queue and a ticket system reports the same numbers and
a restart loses nothing; events only one process sees (how long its jobs took) are in
`toolkit.observability.telemetry`. Costs per scrape: one GROUP BY on the jobs, one on the tickets,
the outbox count, the audit entries appended since the last scrape, and the workflow's SLA state of
each ticket that is not closed (closed tickets are never read: their SLA can no longer change).

If a store cannot be read, its metrics are left out of that scrape and ``spbe_metrics_source_up``
says which one, rather than failing the whole scrape.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from toolkit.domain.tickets.models import TicketStatus
from toolkit.errors import ConfigurationError, ToolkitError
from toolkit.observability.config import MetricsSettings
from toolkit.ports.jobs import JobState

if TYPE_CHECKING:
    from toolkit.engine.services import EngineServices

log = logging.getLogger("spbe.metrics")
REFUSED_ACTION = "event.refused"  # what the scheduler audits for each refused decision
NOT_CLOSED = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.DEFERRED)


@runtime_checkable
class CountsJobs(Protocol):
    """A queue that can count its jobs by state without loading them (the SQLite queue does)."""

    def job_counts(self) -> dict[str, int]: ...


@runtime_checkable
class CountsTickets(Protocol):
    """A ticket system that can count tickets by (service, status) without loading them."""

    def ticket_counts(self) -> dict[tuple[str, str], int]: ...


def job_counts(queue: Any) -> dict[str, int]:
    if isinstance(queue, CountsJobs):
        return queue.job_counts()
    return {s.value: len(queue.list_jobs(state=s, limit=10**9)) for s in JobState}


def ticket_counts(tickets: Any) -> dict[tuple[str, str], int]:
    if isinstance(tickets, CountsTickets):
        return tickets.ticket_counts()
    return dict(Counter((t.service_id, t.status.value) for t in tickets.list_tickets()))


class StoreCollector(Collector):
    """Queue and desk gauges, read from the stores when Prometheus scrapes."""

    def __init__(self, app: EngineServices) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._refused, self._audit_seq = 0, 0  # running total of refused decisions in the audit log

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("spbe_metrics_source_up", "Whether a source of these metrics could be read "
                               "at this scrape (1) or not (0)", labels=["source"])
        for source, read in (("queue", self._queue), ("tickets", self._tickets), ("sla", self._sla),
                             ("audit", self._audit)):
            try:
                metrics = list(read())
            except Exception as exc:  # noqa: BLE001 - one unreadable store must not fail the whole scrape
                log.warning("metrics: %s cannot be read: %s", source,
                            self._app.masker(f"{type(exc).__name__}: {exc}"))
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from metrics
        yield up

    def _queue(self) -> Iterator[Metric]:
        counts = job_counts(self._app.queue)
        jobs = GaugeMetricFamily("spbe_jobs", "Jobs in the queue by state: queued is the depth, running the jobs "
                                 "being worked on, failed those waiting for an operator", labels=["state"])
        for state in JobState:
            jobs.add_metric([state.value], counts.get(state.value, 0))
        yield jobs
        yield GaugeMetricFamily("spbe_outbox_pending", "Results not yet delivered to the ticket system",
                                value=self._app.queue.outbox_pending_count())

    def _services(self) -> list[str]:
        return [s.id for s in self._app.catalog.services()]

    def _tickets(self) -> Iterator[Metric]:
        counts = ticket_counts(self._app.tickets)
        family = GaugeMetricFamily("spbe_tickets", "Tickets by service and status", labels=["service", "status"])
        keys = {(service, status.value) for service in self._services() for status in TicketStatus} | set(counts)
        for service, status in sorted(keys):
            family.add_metric([service, status], counts.get((service, status), 0))
        yield family

    def _sla(self) -> Iterator[Metric]:
        from toolkit.engine.progress import progress
        from toolkit.worktime.calendars import calendars_for

        app = self._app
        calendars = calendars_for(app.settings.worktime)  # hari kerja SLAs on the office calendar
        breached = dict.fromkeys(self._services(), 0)
        for status in NOT_CLOSED:
            for ticket in app.tickets.list_tickets(status=status):
                try:
                    service = app.catalog.get(ticket.service_id)
                    state = progress(service, ticket, app.tickets.timeline(ticket.id), app.queue, app.policy,
                                     calendar=calendars.for_service(service))
                except ToolkitError as exc:  # one odd ticket (a service gone from the catalog) is skipped
                    log.debug("metrics: SLA of %s unknown: %s", ticket.id, app.masker(str(exc)))
                    continue
                breached[ticket.service_id] = breached.get(ticket.service_id, 0) + int(state.sla.breached)
        family = GaugeMetricFamily("spbe_tickets_sla_breached", "Tickets not closed whose SLA (the service "
                                   "standard's time, pauses deducted) has run out, by service", labels=["service"])
        for service_id, count in sorted(breached.items()):
            family.add_metric([service_id], count)
        yield family

    def _audit(self) -> Iterator[Metric]:
        with self._lock:
            added, self._audit_seq = self._app.audit.count_since(REFUSED_ACTION, self._audit_seq)
            self._refused += added
            total = self._refused
        yield CounterMetricFamily("spbe_decisions_refused", "Decisions on tickets the policy refused (forged or "
                                  "by the wrong person), from the audit log", value=total)


@contextmanager
def serving_metrics(app: EngineServices, settings: MetricsSettings) -> Iterator[str | None]:
    """Serve ``/metrics`` for the duration of the block; yields its URL (None when disabled). The
    bind address was checked when the settings loaded (loopback unless allow_non_loopback)."""
    if not settings.enabled:
        yield None
        return
    from prometheus_client import start_http_server

    registry = app.telemetry.registry
    registry.register(StoreCollector(app))
    from toolkit.engine.compliance_metrics import compliance_collector

    registry.register(compliance_collector(app))
    from toolkit.evaluation.metrics import EvaluationCollector  # this month's evaluation figures (issue 18)

    registry.register(EvaluationCollector(app))
    try:
        server, thread = start_http_server(settings.port, settings.host, registry=registry)
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {settings.host}:{settings.port}: {exc.strerror}",
                                 name="metrics") from None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{server.server_address[1]}/metrics"
    log.info("metrics on %s", url, extra={"event": "metrics.start", "url": url})
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
