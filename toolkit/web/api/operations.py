"""Jobs, issued secrets, SPLP credentials, containment and evidence: the operators' and the CSIRT's routes.

Each calls what the CLI calls (`toolkit.commands.jobs`, `toolkit.vault` reveal, `toolkit.splp.lifecycle`,
`toolkit.containment.service`, `toolkit.commands.evidence`) with the request's principal. Containment
inputs are parsed into the same request models as ``spbe contain`` and a malformed one is refused and
audited the same way. Job logs are masked again on the way out.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationError

from toolkit.commands import evidence, views
from toolkit.commands import jobs as job_control
from toolkit.containment.models import (
    AccessRequest,
    ContainmentKind,
    IsolateHostRequest,
    QuarantinePortRequest,
    ReleaseRequest,
)
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import Principal
from toolkit.errors import InvalidInputError
from toolkit.ports.jobs import Job, JobState
from toolkit.splp import lifecycle
from toolkit.web.api.models import JobOut, LogLine, ReasonIn, SecretRecordOut, SecretRevealOut, _Strict
from toolkit.web.auth import Ctx, WebContext, Who

router = APIRouter()
M = TypeVar("M", bound=BaseModel)
Short = Annotated[str, Field(min_length=1, max_length=200)]


def _job(ctx: WebContext, job: Job) -> JobOut:
    return JobOut(id=job.id, ticket_id=job.ticket_id, step_id=job.step_id, action=job.action, state=job.state.value,
                  attempt=job.attempt, error=ctx.services.masker(job.error) if job.error else None,
                  created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                  cancel_requested=job.cancel_requested)


@router.get("/jobs", response_model=list[JobOut], tags=["jobs"])
def list_jobs(ctx: Ctx, who: Who, state: JobState | None = None,
              ticket: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[JobOut]:
    return [_job(ctx, j) for j in views.jobs(ctx.services, who, state, ticket, limit)]


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def show_job(job_id: Annotated[int, Field(ge=1, le=2**62)], ctx: Ctx, who: Who) -> JobOut:
    return _job(ctx, views.job(ctx.services, job_id, who))


@router.get("/jobs/{job_id}/logs", response_model=list[LogLine], tags=["jobs"])
def job_logs(job_id: Annotated[int, Field(ge=1, le=2**62)], ctx: Ctx, who: Who,
             after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> list[LogLine]:
    return [LogLine(seq=seq, line=ctx.services.masker(line)) for seq, line in views.job_logs(ctx.services, job_id, who,
                                                                                              after)]


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, tags=["jobs"])
def cancel_job(job_id: Annotated[int, Field(ge=1, le=2**62)], ctx: Ctx, who: Who) -> JobOut:
    views.job(ctx.services, job_id, who)
    return _job(ctx, job_control.cancel(ctx.services, job_id, who))


@router.post("/jobs/{job_id}/retry", response_model=JobOut, tags=["jobs"])
def retry_job(job_id: Annotated[int, Field(ge=1, le=2**62)], ctx: Ctx, who: Who) -> JobOut:
    views.job(ctx.services, job_id, who)
    return _job(ctx, job_control.retry(ctx.services, job_id, who))


# ------------------------------------------------------------------------------------------ secrets


@router.get("/tickets/{ticket_id}/secrets", response_model=list[SecretRecordOut], tags=["secrets"])
def list_secrets(ticket_id: str, ctx: Ctx, who: Who) -> list[SecretRecordOut]:
    """What the ticket holds, masked (the last characters only)."""
    views.visible_ticket(ctx.services, ticket_id, who)
    return [SecretRecordOut(name=r.name, masked=r.masked, recipient=r.recipient, status=r.status,
                            created_at=r.created_at, expires_at=r.expires_at, revealed_at=r.revealed_at)
            for r in ctx.services.vault.records(ticket_id)]


@router.post("/tickets/{ticket_id}/secrets/{name}/reveal", response_model=SecretRevealOut, tags=["secrets"],
             responses={200: {"headers": {"Cache-Control": {"schema": {"type": "string"}}}}})
def reveal_secret(ticket_id: str, name: str, ctx: Ctx, who: Who) -> SecretRevealOut:
    """The ticket's applicant collects an issued credential, once; a second reveal is refused and audited."""
    views.visible_ticket(ctx.services, ticket_id, who)
    vault = ctx.services.vault
    secret = vault.reveal(ticket_id, name, who)
    record = vault.masked(ticket_id, name)
    return SecretRevealOut(ticket_id=ticket_id, name=name, secret=secret.get_secret_value(),
                           attributes=dict(record.attributes), expires_at=record.expires_at)


@router.post("/api-credentials/{ticket_id}/revoke", tags=["api-credentials"])
def revoke_credential(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Revoke the API credential issued for the ticket (provider of the API, koordinator or CSIRT)."""
    return lifecycle.revoke_credential(ctx.services, ticket_id, principal=who, reason=body.reason).model_dump(
        mode="json")


@router.post("/api-credentials/{ticket_id}/rotate", tags=["api-credentials"])
def rotate_credential(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    """A new secret at the gateway, the old one refused; the applicant reveals the new one once."""
    return lifecycle.rotate_credential(ctx.services, ticket_id, principal=who, reason=body.reason).model_dump(
        mode="json")


# ------------------------------------------------------------------------------------------ CSIRT


class HostIn(_Strict):
    ticket_id: Short
    host: Short
    management_cidrs: list[Short] | None = Field(default=None, max_length=20)
    reason: Annotated[str, Field(max_length=2000)] = ""


class PortIn(_Strict):
    ticket_id: Short
    device: Short
    interface: Short
    mode: str | None = Field(default=None, max_length=20)
    vlan: int | None = Field(default=None, ge=-(2**31), le=2**31)
    reason: Annotated[str, Field(max_length=2000)] = ""


class AccessIn(_Strict):
    ticket_id: Short
    host: Short | None = None
    accounts: list[Short] = Field(default_factory=list, max_length=50)
    gateway_consumers: list[Short] = Field(default_factory=list, max_length=50)
    idp_users: list[Short] = Field(default_factory=list, max_length=50)
    reason: Annotated[str, Field(max_length=2000)] = ""


class ReleaseIn(_Strict):
    ticket_id: Short
    record_id: Short | None = None
    kind: ContainmentKind | None = None
    target: Short | None = None
    reason: Annotated[str, Field(max_length=2000)] = ""


class EvidenceIn(_Strict):
    logs: list[Short] | None = Field(default=None, max_length=50)
    hashes: list[Short] | None = Field(default=None, max_length=50)
    host: Short | None = None


def _request(service: ContainmentService, model: type[M], operation: str, who: Principal, values: dict[str, Any]) -> M:
    """The CLI's `_request`: the validated model, or a refusal that is audited and names the field."""
    try:
        return model(**values, actor=who.user, auth=who.auth)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        service.refuse_invalid(operation, str(values.get("ticket_id", "")), who.user, errors, auth=who.auth.value)
        raise InvalidInputError("; ".join(f"{f}: {m}" for f, m in errors), errors=errors) from None


def _record(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = record.summary()
    out["applied"] = {k: {"status": v.get("status"), "detail": v.get("detail")} for k, v in record.applied.items()
                      if isinstance(v, dict)}
    return out


@router.post("/containment/host", tags=["containment"])
def contain_host(body: HostIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Isolate a host of a verified incident (CSIRT), keeping only the management addresses."""
    service = ContainmentService(ctx.services)
    values = body.model_dump()
    values["management_cidrs"] = tuple(values["management_cidrs"]) if values["management_cidrs"] else None
    return _record(service.isolate_host(_request(service, IsolateHostRequest, "isolate_host", who, values)))


@router.post("/containment/port", tags=["containment"])
def contain_port(body: PortIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    service = ContainmentService(ctx.services)
    return _record(service.quarantine_port(_request(service, QuarantinePortRequest, "quarantine_port", who,
                                                    body.model_dump())))


@router.post("/containment/access", tags=["containment"])
def contain_access(body: AccessIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    service = ContainmentService(ctx.services)
    values = body.model_dump()
    for key in ("accounts", "gateway_consumers", "idp_users"):
        values[key] = tuple(values[key])
    return _record(service.change_access(_request(service, AccessRequest, "access", who, values)))


@router.post("/containment/release", tags=["containment"])
def release(body: ReleaseIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Restore the recorded before-state of a containment (by record id, or kind and target)."""
    service = ContainmentService(ctx.services)
    return _record(service.release(_request(service, ReleaseRequest, "release", who, body.model_dump())))


@router.get("/containment", tags=["containment"])
def list_containment(ctx: Ctx, who: Who, ticket: Annotated[str | None, Query(max_length=64)] = None
                     ) -> list[dict[str, Any]]:
    """Containment records (CSIRT and koordinator: the roles that see incidents whole)."""
    ctx.services.policy.authorize_role(who, ctx.services.policy.containment_roles, "list containment records")
    return [r.summary() for r in ContainmentService(ctx.services).list(ticket, None)]


@router.post("/tickets/{ticket_id}/evidence", tags=["containment"])
def collect_evidence(ticket_id: str, body: EvidenceIn, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Collect and seal evidence from the incident's affected host (who may: the collects-evidence roles)."""
    views.visible_ticket(ctx.services, ticket_id, who)
    result = evidence.collect_for_ticket(ctx.services, ticket_id, who, logs=body.logs, hash_paths=body.hashes,
                                         host=body.host)
    return {"bundle_id": result.manifest.bundle_id, "manifest_sha256": result.manifest_sha256,
            "files": len(result.manifest.files)}
