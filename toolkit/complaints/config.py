"""Complaint settings (``[complaints]``): the stated response time and the complaints mailbox.

``response_days`` is the time the service standard promises for an answer, in *hari kerja* of the office
calendar (`toolkit.worktime`); it becomes the standard time of the answer step of every complaints service
(`apply_to_catalog`), so the escalation check treats a late answer like any late step. The mailbox itself is an
adapter (``settings.mailbox``: kind ``imap`` and its options, `integrations.mail.imap`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from toolkit.domain.catalog.models import Catalog, TimeUnit


class ComplaintSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    response_days: int = Field(default=5, ge=1, le=60, description="the stated response time (hari kerja): the "
                                                                    "answer step's standard time")
    sla_days: int = Field(default=7, ge=1, le=90, description="the whole complaint, received to closed (hari kerja)")
    poll_interval_s: float = Field(default=300.0, ge=5, le=86400,
                                   description="how often `spbe serve` reads the mailbox (settings.mailbox, "
                                               "when one is configured)")

    @model_validator(mode="after")
    def _sla_covers_answer(self) -> ComplaintSettings:
        if self.sla_days < self.response_days:
            raise ValueError("sla_days: must not be shorter than response_days")
        return self


def apply_to_catalog(catalog: Catalog, settings: ComplaintSettings) -> Catalog:
    """The catalog with each complaints service's answer step and SLA set to the stated times."""
    changed = []
    for service in catalog.entries:
        spec = service.complaints
        if spec is None:
            changed.append(service)
            continue
        steps = tuple(step.model_copy(update={"standard_time": timedelta(days=settings.response_days),
                                              "standard_time_unit": TimeUnit.HARI_KERJA})
                      if step.id == spec.answer_step else step for step in service.steps)
        default = service.sla.default.model_copy(update={
            "duration": timedelta(days=settings.sla_days), "unit": TimeUnit.HARI_KERJA,
            "label": f"{settings.sla_days} Hari kerja"})
        sla = service.sla.model_copy(update={"variants": (*service.sla.variants[:-1], default)})
        changed.append(service.model_copy(update={"steps": steps, "sla": sla}))
    return catalog.model_copy(update={"entries": tuple(changed)})
