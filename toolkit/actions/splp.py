"""SPLP SOP steps 5 and 6: issue the API endpoint and credential on the gateway, then try it out.

Step 5 (``gateway.issue_endpoint``): the request is validated into `IssueRequest` (API from the SPLP
register, gateway-safe consumer name, quota within the API's limit) and the approval is re-checked to
have come from a provider of *that* API. Then: route, consumer (idempotent), credential, ACL, quota.
A failure part-way undoes what this run created (the consumer with everything on it), so a retry
starts clean and completes once. The secret goes only to the encrypted vault (`toolkit.vault`); the
ticket gets the endpoint URL, consumer id, quota and the masked key.

Step 6 (``gateway.try_out``): a real call through the gateway with the issued credential (read from
the vault with ``use``, which is audited and is not the applicant's one reveal) must reach the backend
(2xx); a call without it must be refused (401/403).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from toolkit.actions.base import ActionContext, ActionResult, RunContext
from toolkit.audit import AuditLog
from toolkit.documents import TemplateRenderer
from toolkit.errors import ActionFailedError, InvalidInputError, NotFoundError, ToolkitError
from toolkit.gateway import Credential, Gateway, check_gateway_name
from toolkit.splp.apis import check_provider, gateway_from_settings, load_register

SECRET_NAME = "api-key"  # noqa: S105 - the vault entry's name, not a secret
DEFAULT_TTL_DAYS = 365
MAX_NEEDS = 2000


class IssueRequest(BaseModel):
    """The ticket's request, checked before it reaches the gateway (every field ends up in a URL path,
    a gateway config or a document)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket: str
    api: str
    consumer: str
    needs: str = Field(min_length=1, max_length=MAX_NEEDS)
    per_minute: int = Field(ge=1)
    ttl_days: int = Field(default=DEFAULT_TTL_DAYS, ge=1, le=3650)

    @field_validator("api", "consumer")
    @classmethod
    def _safe(cls, value: str) -> str:
        return check_gateway_name(value)

    @field_validator("needs")
    @classmethod
    def _text(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value) or "{{" in value or "{%" in value:
            raise ValueError("contains control characters or template syntax")
        return value


def _errors(exc: ValidationError) -> InvalidInputError:
    errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return InvalidInputError("SPLP request: " + "; ".join(f"{f}: {m}" for f, m in errors), errors=errors)


def issue_request(ctx: ActionContext) -> IssueRequest:
    fields = ctx.ticket.fields
    api = load_register().get(str(fields.get("api_id", "")))
    try:
        request = IssueRequest(ticket=ctx.ticket.id, api=str(fields.get("api_id", "")),
                               consumer=str(fields.get("aplikasi_konsumen", "")),
                               needs=str(fields.get("kebutuhan_data", "")),
                               per_minute=int(fields.get("rate_limit_per_menit") or 0))
    except ValidationError as exc:
        raise _errors(exc) from None
    if request.per_minute > api.max_rate_limit_per_minute:
        raise InvalidInputError(
            f"rate limit {request.per_minute}/min is above the {api.max_rate_limit_per_minute}/min allowed for "
            f"API '{api.id}'", errors=[("rate_limit_per_menit", "out of range")])
    return request


def approver_of(ctx: ActionContext) -> str:
    """Who recorded the approval of this ticket (the timeline is the record of decisions)."""
    approvals = [e for e in ctx.timeline if str(e.kind) == "approved"]
    if not approvals:
        raise NotFoundError(f"ticket {ctx.ticket.id} has no recorded approval")
    return approvals[-1].actor


def _vault(ctx: ActionContext, run: RunContext) -> Any:
    from toolkit.vault import SecretVault  # the vault module is optional until it is configured

    audit = AuditLog(Path(ctx.settings.state_dir) / "audit.db")
    return SecretVault.from_settings(ctx.settings, audit=audit, directory=ctx.directory, masker=run.mask)


def _comment(ctx: ActionContext, run: RunContext, ok: bool, summary: str, started: float) -> str:
    text = TemplateRenderer(ctx.settings.templates_dir).render("comments", "hasil_aksi", {
        "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": ok, "host": {},
        "durasi_s": time.monotonic() - started, "ringkasan": summary, "lampiran": [], "job_id": run.job_id})
    return run.mask(text)


class IssueEndpointAction:
    name = "gateway.issue_endpoint"
    idempotent = True  # a retry finds the consumer of an earlier run, replaces its credential: one result

    def plan(self, ctx: ActionContext) -> dict[str, Any]:
        request = issue_request(ctx)
        check_provider(ctx.ticket.service_id, dict(ctx.ticket.fields), approver_of(ctx))
        return {"request": request.model_dump(), "gateway": ctx.settings.gateway.kind,
                "calls": ["ensure_route", "ensure_consumer", "issue_key_credential", "restrict_to_api",
                          "set_rate_limit", "vault.put"]}

    def execute(self, ctx: ActionContext, plan: dict[str, Any], run: RunContext) -> ActionResult:
        started = time.monotonic()
        request = IssueRequest.model_validate(plan["request"])
        vault = _vault(ctx, run)  # before any change: no vault key, nothing is created
        gateway = gateway_from_settings(ctx.settings, run.mask)
        created_consumer = False
        try:
            route = gateway.ensure_route(request.api)
            run.log(f"route {route.route_id} for {request.api}: {route.url}")
            consumer = gateway.ensure_consumer(request.consumer)
            created_consumer = consumer.created
            run.log(f"consumer {consumer.name} ({consumer.id}) {'created' if consumer.created else 'exists'}")
            credential = (gateway.issue_key_credential(request.consumer, ttl_days=request.ttl_days)
                          if consumer.created else gateway.rotate(request.consumer, ttl_days=request.ttl_days))
            run.mask.add(credential.secret)
            acl = gateway.restrict_to_api(request.consumer, request.api)
            limit = gateway.set_rate_limit(request.consumer, request.api, request.per_minute)
            expires = credential.expires_at or datetime.now(UTC) + timedelta(days=request.ttl_days)
            from toolkit.vault import VaultMeta

            record = vault.put(request.ticket, SECRET_NAME, credential.secret, replace=True, meta=VaultMeta(
                recipient=ctx.ticket.requester, label=f"Kredensial API {request.api}", expires_at=expires,
                attributes={"consumer": consumer.name, "consumer_id": consumer.id, "key_id": credential.key_id,
                            "endpoint": route.url, "kind": credential.kind, "gateway": gateway.name}))
        except ToolkitError as exc:
            undone = self._undo(gateway, request.consumer, created_consumer, run)
            raise ActionFailedError(
                run.mask(f"issuing the endpoint failed: {exc}" + (f"; undone: {undone}" if undone else "")),
                cause=type(exc).__name__, undone=undone) from None
        facts = {"api": request.api, "endpoint": route.url, "consumer": consumer.name, "consumer_id": consumer.id,
                 "key_id": credential.key_id, "kind": credential.kind, "masked_key": record.masked,
                 "acl_group": acl.group, "per_minute": limit.per_minute,
                 "requested_per_minute": limit.requested_per_minute, "expires_at": expires.isoformat(),
                 "gateway": gateway.name, "vault_secret": SECRET_NAME}
        summary = (f"Endpoint {route.url} diberikan kepada aplikasi {consumer.name} (id konsumen {consumer.id}); "
                   f"kuota {limit.per_minute} permintaan/menit; kunci {record.masked} (ID {credential.key_id}), "
                   f"berlaku sampai {expires:%d-%m-%Y}. Kunci lengkap disimpan terenkripsi dan hanya dapat dibuka "
                   f"satu kali oleh pemohon dengan 'spbe secret reveal {request.ticket}'.")
        return ActionResult(ok=True, summary=f"issued {request.api} to {consumer.name} on {gateway.name}",
                            comment=_comment(ctx, run, True, summary, started), facts=facts,
                            changed=[f"consumer {consumer.name}", f"credential {credential.key_id}"],
                            duration_s=time.monotonic() - started)

    @staticmethod
    def _undo(gateway: Gateway, consumer: str, created: bool, run: RunContext) -> str:
        if not created:
            return ""
        try:
            gateway.delete_consumer(consumer)
            run.log(f"undo: consumer {consumer} deleted")
            return f"consumer {consumer} deleted"
        except ToolkitError as exc:
            run.log(run.mask(f"undo failed: {exc}"))
            return f"consumer {consumer} NOT deleted ({type(exc).__name__}); a retry reuses it"


def issued(ctx: ActionContext) -> dict[str, Any]:
    for job in ctx.prior.values():
        if job.action == IssueEndpointAction.name and job.result and job.result.get("ok"):
            facts: dict[str, Any] = job.result.get("facts", {})
            return facts
    raise NotFoundError(f"ticket {ctx.ticket.id} has no issued endpoint to try out")


class TryOutAction:
    name = "gateway.try_out"
    idempotent = True

    def plan(self, ctx: ActionContext) -> dict[str, Any]:
        facts = issued(ctx)
        return {"endpoint": facts["endpoint"], "consumer": facts["consumer"], "key_id": facts["key_id"],
                "consumer_id": facts["consumer_id"], "kind": facts.get("kind", "key-auth"), "path": "/"}

    def execute(self, ctx: ActionContext, plan: dict[str, Any], run: RunContext) -> ActionResult:
        started = time.monotonic()
        secret: SecretStr = _vault(ctx, run).use(ctx.ticket.id, SECRET_NAME, purpose="SPLP try-out (SOP step 6)")
        run.mask.add(secret)
        gateway = gateway_from_settings(ctx.settings, run.mask)
        credential = Credential(consumer=plan["consumer"], consumer_id=plan["consumer_id"], kind=plan["kind"],
                                key_id=plan["key_id"], secret=secret)
        url = plan["endpoint"] + plan["path"]
        try:
            with_key = requests.get(url, headers=gateway.auth_headers(credential), timeout=15)
            without = requests.get(url, timeout=15)
        except requests.RequestException as exc:
            raise ActionFailedError(f"try-out call to {url} failed: {type(exc).__name__}") from None
        ok = 200 <= with_key.status_code < 300 and without.status_code in (401, 403)
        run.log(f"try-out {url}: with credential {with_key.status_code}, without {without.status_code}")
        facts = {"endpoint": url, "status_with_key": with_key.status_code, "status_without_key": without.status_code,
                 "response_bytes": len(with_key.content), "tested_at": datetime.now(UTC).isoformat()}
        summary = (f"Uji coba endpoint {url}: dengan kredensial HTTP {with_key.status_code}, tanpa kredensial "
                   f"HTTP {without.status_code} — " + ("sesuai." if ok else "TIDAK sesuai."))
        return ActionResult(ok=ok, summary=f"try-out {url}: {with_key.status_code}/{without.status_code}",
                            comment=_comment(ctx, run, ok, summary, started), facts=facts,
                            duration_s=time.monotonic() - started)
