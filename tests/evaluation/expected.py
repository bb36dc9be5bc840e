"""Every figure of the evaluation computed again in plain Python from the generator's records.

Independent of the SQL on purpose: the SLA and the per-step standard times are judged by the workflow itself
(`toolkit.domain.workflow.evaluate`, what the engine, the escalation and ``spbe ticket show`` use) on each
ticket's completed steps, pauses and closing time read from the records; percentiles by sorting a list; the IKM
by the regulation's arithmetic written out here (mean per element, x 25, bands), not by `toolkit.survey.ikm`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from toolkit.domain.catalog.models import Catalog, Service, StepPurpose
from toolkit.domain.workflow import StepStatus, evaluate
from toolkit.evaluation.generator import GenTicket, effective
from toolkit.evaluation.models import Period
from toolkit.worktime.calendars import Calendars

COMPLETING = ("step_completed", "approved", "checked")


def nearest_rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def _closed_at(t: GenTicket) -> datetime | None:
    closes = [e.at for e in t.events if e.kind == "status" and e.data.get("to") == "closed"]
    return closes[-1] if closes else None


def _spans(t: GenTicket, now: datetime) -> list[tuple[datetime, datetime]]:
    spans, since = [], None
    for e in t.events:
        if e.kind != "status":
            continue
        if e.data.get("to") == "deferred" and since is None:
            since = e.at
        elif e.data.get("from") == "deferred" and since is not None:
            spans.append((since, e.at))
            since = None
    if since is not None:
        spans.append((since, now))
    return spans


def in_period(t: GenTicket, period: Period) -> bool:
    return period.start <= t.created_at < period.end


def service_figures(tickets: list[GenTicket], catalog: Catalog, calendars: Calendars, period: Period,
                    service_id: str) -> dict[str, Any]:
    service = catalog.get(service_id)
    calendar = calendars.for_service(service)
    closing = service.step_with(StepPurpose.CLOSING)
    roles = {s.id: s.actor for s in service.steps}
    out: dict[str, Any] = {"outcomes": Counter(), "sla": defaultdict(Counter), "durations": [],
                           "steps": defaultdict(lambda: [0, 0, []]), "escalations": Counter(), "workload": {}}
    workload: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, set()])
    for t in tickets:
        if t.service_id != service_id or not in_period(t, period):
            continue
        done = closing is not None and any(e.kind in COMPLETING and e.step_id == closing.id for e in t.events)
        kind = ("done" if done else "rejected") if t.status == "closed" else (
            "deferred" if t.status == "deferred" else "open")
        out["outcomes"][kind] += 1
        out["outcomes"]["total"] += 1
        completed = {service.steps[0].id: t.created_at}
        for e in t.events:
            if e.kind in COMPLETING and e.step_id:
                completed.setdefault(e.step_id, e.at)
                if e.step_id in roles and e.actor != "spbe" and roles[e.step_id] != "pemohon":
                    workload[(e.actor, roles[e.step_id])][0] += 1
                    workload[(e.actor, roles[e.step_id])][1].add(t.id)
            if e.kind == "escalated":
                out["escalations"][e.data["kind"]] += 1
        out["escalations"]["claims"] += len(t.claims)
        out["escalations"]["delivered"] += sum(1 for _, _, notified in t.claims if notified is not None)
        spans = _spans(t, period.now)
        paused = sum((b - a for a, b in spans), timedelta(0))
        closed = _closed_at(t)
        state = evaluate(service, effective(t), completed, t.created_at, period.now, closed_at=closed,
                         paused=paused, calendar=calendar, pauses=tuple(spans))
        sla = out["sla"][state.sla.variant_id]
        if kind == "done":
            assert closed is not None
            sla["done"] += 1
            sla["within"] += closed <= state.sla.deadline
            sla["breached"] += closed > state.sla.deadline
            out["durations"].append((closed - t.created_at - paused).total_seconds())
        elif kind == "open":
            sla["breached"] += period.now > state.sla.deadline
        for s in state.steps:
            if s.status is StepStatus.DONE and s.deadline is not None and s.started_at is not None \
                    and s.step.standard_time is not None and s.step.id != service.steps[0].id:
                row = out["steps"][s.step.id]
                row[0] += 1
                row[1] += s.late
                row[2].append((s.completed_at - s.started_at).total_seconds())
    out["workload"] = {key: (n, len(ids)) for key, (n, ids) in workload.items()}
    return out


def complaint_figures(tickets: list[GenTicket], period: Period, service: Service) -> dict[str, dict[str, Any]]:
    spec = service.complaints
    assert spec is not None
    found: dict[str, dict[str, Any]] = defaultdict(lambda: {"status": Counter(), "responses": []})
    for t in tickets:
        if t.service_id != service.id or not in_period(t, period):
            continue
        row = found[t.fields.get(spec.related_service_field) or ""]
        row["status"][t.status] += 1
        answered = [e.at for e in t.events if e.kind == "step_completed" and e.step_id == spec.answer_step]
        if answered:
            row["responses"].append((min(answered) - t.created_at).total_seconds())
    return found


BANDS = ((Decimal("88.31"), "A"), (Decimal("76.61"), "B"), (Decimal("65.00"), "C"), (Decimal("25.00"), "D"))


def ikm_figures(tickets: list[GenTicket], period: Period) -> dict[str, tuple[int, list[float], float, str]]:
    """(respondents, the nine means, the IKM to two decimals, mutu) per service with answers in the period."""
    scores: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    for t in tickets:
        if t.survey is not None and period.start <= t.survey[0] < period.end:
            scores[t.service_id].append(t.survey[1])
    found = {}
    for service_id, rows in scores.items():
        means = [sum(r[i] for r in rows) / len(rows) for i in range(9)]
        value = (Decimal(repr(sum(means) / 9 * 25))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        letter = next(band for floor, band in BANDS if value >= floor)
        found[service_id] = (len(rows), means, float(value), letter)
    return found
