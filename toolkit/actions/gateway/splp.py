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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import SecretStr, ValidationError

from toolkit.actions.base import ActionContext, ActionResult, BaseAction, RunContext, prior_facts
from toolkit.actions.gateway.splp_models import (
    IssuedFacts,
    IssueFailedFacts,
    IssuePlan,
    IssueRequest,
    TryOutFacts,
    TryOutPlan,
)
from toolkit.domain.tickets.models import EventKind
from toolkit.errors import (
    ActionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
    UnavailableError,
)
from toolkit.ports.gateway import Credential, Gateway, GatewayAuthError
from toolkit.ports.identity_provider import IdentityProvider
from toolkit.ports.state_records import IssuedCredential
from toolkit.splp import oauth2
from toolkit.splp.apis import check_provider, load_register
from toolkit.splp.token_route import TokenRouteSpec, token_routes_from_settings

SECRET_NAME = "api-key"  # noqa: S105 - the vault entry's name, not a secret
OAUTH2_SECRET_NAME = "oauth2-client-secret"  # noqa: S105 - the vault entry's name
def _errors(exc: ValidationError) -> InvalidInputError:
    errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return InvalidInputError("SPLP request: " + "; ".join(f"{f}: {m}" for f, m in errors), errors=errors)


def issue_request(ctx: ActionContext) -> IssueRequest:
    fields = ctx.ticket.fields
    api = load_register(ctx.settings.splp_register).get(str(fields.get("api_id", "")))
    try:
        request = IssueRequest(ticket=ctx.ticket.id, api=str(fields.get("api_id", "")),
                               consumer=str(fields.get("aplikasi_konsumen", "")),
                               needs=str(fields.get("kebutuhan_data", "")),
                               per_minute=int(fields.get("rate_limit_per_menit") or 0),
                               oauth2=oauth2.wants_oauth2(dict(fields)))
    except ValidationError as exc:
        raise _errors(exc) from None
    if request.per_minute > api.max_rate_limit_per_minute:
        raise InvalidInputError(
            f"rate limit {request.per_minute}/min is above the {api.max_rate_limit_per_minute}/min allowed for "
            f"API '{api.id}'", errors=[("rate_limit_per_menit", "out of range")])
    return request


def approver_of(ctx: ActionContext) -> str:
    """Who recorded the approval of this ticket (the timeline is the record of decisions)."""
    approvals = [e for e in ctx.timeline if e.kind == EventKind.APPROVED]
    if not approvals:
        raise NotFoundError(f"ticket {ctx.ticket.id} has no recorded approval")
    return approvals[-1].actor


@contextmanager
def _vault(ctx: ActionContext, run: RunContext) -> Iterator[Any]:
    """The worker's own vault (built once by the composition root, with its audit log), not a new one per
    job: a second audit log per job meant a second set of connections and locks on the same files. The
    root owns it, so nothing is closed here."""
    yield run.services.vault


def _comment(ctx: ActionContext, run: RunContext, ok: bool, summary: str, started: float) -> str:
    text = run.services.renderer.render("comments", "hasil_aksi", {
        "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": ok, "host": {},
        "durasi_s": time.monotonic() - started, "ringkasan": summary, "lampiran": [], "job_id": run.job_id})
    return run.mask(text)


def _failure_text(exc: ToolkitError) -> str:
    """What went wrong, in Bahasa Indonesia, for the applicant and the team (the technical detail follows)."""
    if isinstance(exc, GatewayAuthError | PermissionDeniedError):
        return ("Gateway API atau Keycloak menolak kredensial admin milik sistem (HTTP 401/403); konfigurasi "
                "kredensial admin perlu diperiksa petugas.")
    if isinstance(exc, ConflictError):
        return "Gateway API atau Keycloak melaporkan konflik data (HTTP 409) saat objek dibuat."
    if isinstance(exc, UnavailableError):
        return ("Gateway API atau Keycloak tidak dapat dihubungi atau sedang mengalami gangguan (tidak terjangkau "
                "atau HTTP 5xx).")
    if isinstance(exc, NotFoundError):
        return "API yang diminta tidak ditemukan di gateway."
    return "Gateway API atau Keycloak menolak permintaan."


class IssueEndpointAction(BaseAction):
    name = "gateway.issue_endpoint"
    idempotent = True  # a retry finds the consumer of an earlier run, replaces its credential: one result
    Plan = IssuePlan
    Facts = IssuedFacts

    def plan(self, ctx: ActionContext) -> IssuePlan:
        request = issue_request(ctx)
        check_provider(ctx.service, dict(ctx.ticket.fields), approver_of(ctx), register=ctx.settings.splp_register)
        calls = ["ensure_route", "ensure_consumer", "issue_key_credential", "restrict_to_api", "set_rate_limit",
                 "vault.put"]
        if request.oauth2:
            oauth2.client_id_for(request.consumer)
            if ctx.settings.identity is None:
                raise ConfigurationError("the request asks for OAuth2 but no identity provider is configured "
                                         "(settings.identity)")
            calls += ["identity.ensure_consumer_client", "vault.put(oauth2-client-secret)"]
        return IssuePlan(request=request, gateway=ctx.settings.gateway.kind, calls=tuple(calls))

    def execute(self, ctx: ActionContext, plan: IssuePlan, run: RunContext) -> ActionResult:
        with _vault(ctx, run) as vault:  # before any change: no vault key, nothing is created
            return self._execute(ctx, plan, run, vault)

    def _execute(self, ctx: ActionContext, plan: IssuePlan, run: RunContext, vault: Any) -> ActionResult:
        started = time.monotonic()
        request = plan.request
        made = _Made(consumer=request.consumer)
        try:
            gateway = run.services.gateway
            made.gateway = gateway
            idp = run.services.identity if request.oauth2 else None
            issued = self._issue(ctx, run, request, gateway, idp, vault, made)
        except ToolkitError as exc:
            undone = made.undo(vault, request.ticket, run)
            return self._failed(ctx, run, exc, undone, started)
        return self._succeeded(ctx, run, request, issued, started)

    def _issue(self, ctx: ActionContext, run: RunContext, request: IssueRequest, gateway: Gateway,
               idp: IdentityProvider | None, vault: Any, made: _Made) -> IssuedFacts:
        from toolkit.vault import VaultMeta

        route = gateway.ensure_route(request.api)
        run.log(f"route {route.route_id} for {request.api}: {route.url}")
        consumer = gateway.ensure_consumer(request.consumer)
        made.consumer_created = consumer.created
        run.log(f"consumer {consumer.name} ({consumer.id}) {'created' if consumer.created else 'exists'}")
        credential = (gateway.issue_key_credential(request.consumer, ttl_days=request.ttl_days)
                      if consumer.created else gateway.rotate(request.consumer, ttl_days=request.ttl_days))
        run.mask.add(credential.secret)
        acl = gateway.restrict_to_api(request.consumer, request.api)
        limit = gateway.set_rate_limit(request.consumer, request.api, request.per_minute)
        expires = credential.expires_at or datetime.now(UTC) + timedelta(days=request.ttl_days)
        client_id = oauth2_url = None
        if idp is not None:
            made.idp = idp
            ensured = oauth2.ensure_client(idp, consumer=request.consumer, api=request.api, ticket_id=request.ticket,
                                           needs=request.needs)
            made.client_created, client_id = ensured.created, ensured.client.client_id
            made.client_id = client_id
            client_secret = idp.client_secret(client_id)
            run.mask.add(client_secret)
            run.log(f"OAuth2 client {client_id} {'created' if ensured.created else 'exists'} with role {request.api}")
            vault.put(request.ticket, OAUTH2_SECRET_NAME, client_secret, replace=True, meta=VaultMeta(
                recipient=ctx.ticket.requester, label=f"Secret client OAuth2 {client_id}", expires_at=expires,
                attributes={"client_id": client_id, "api": request.api}))
            made.stored.append(OAUTH2_SECRET_NAME)
            oauth2_url = self._token_route(ctx, run, request)
        record = vault.put(request.ticket, SECRET_NAME, credential.secret, replace=True, meta=VaultMeta(
            recipient=ctx.ticket.requester, label=f"Kredensial API {request.api}", expires_at=expires,
            attributes={"consumer": consumer.name, "consumer_id": consumer.id, "key_id": credential.key_id,
                        "endpoint": route.url, "kind": credential.kind, "gateway": gateway.name}))
        made.stored.append(SECRET_NAME)
        superseded = run.services.state.issued.record(IssuedCredential(
            ticket_id=request.ticket, api=request.api, consumer=consumer.name, consumer_id=consumer.id,
            gateway=gateway.name, kind=credential.kind, key_id=credential.key_id, masked=record.masked,
            per_minute=limit.per_minute, endpoint=route.url, applicant=ctx.ticket.requester,
            oauth2_client=client_id, issued_at=credential.created_at or datetime.now(UTC), expires_at=expires))
        if superseded:
            run.log(f"earlier credentials of {consumer.name} superseded: {', '.join(superseded)}")
        return IssuedFacts(api=request.api, endpoint=route.url, consumer=consumer.name, consumer_id=consumer.id,
                           key_id=credential.key_id, kind=credential.kind, masked_key=record.masked,
                           acl_group=acl.group, per_minute=limit.per_minute,
                           requested_per_minute=limit.requested_per_minute, expires_at=expires.isoformat(),
                           gateway=gateway.name, vault_secret=SECRET_NAME, oauth2_client=client_id,
                           token_endpoint=_token_endpoint(ctx) if client_id else None, oauth2_endpoint=oauth2_url)

    @staticmethod
    def _token_route(ctx: ActionContext, run: RunContext, request: IssueRequest) -> str | None:
        """The gateway's token-protected route to the API, when the gateway can verify tokens itself."""
        routes = token_routes_from_settings(ctx.settings, run.mask)
        if routes is None:
            run.log(f"gateway {ctx.settings.gateway.kind} has no token routes: tokens are verified by spbe only")
            return None
        cfg = ctx.settings.identity
        assert cfg is not None
        route = routes.ensure_token_route(TokenRouteSpec(
            api=request.api, issuer=oauth2.issuer_of(ctx.settings), audience=cfg.api_client_id,
            role_client=cfg.api_client_id, public_key_pem=oauth2.realm_public_key_pem(ctx.settings)))
        run.log(f"token route {route.route_id}: {route.url} ({'created' if route.created else 'exists'})")
        return route.url

    def _succeeded(self, ctx: ActionContext, run: RunContext, request: IssueRequest, facts: IssuedFacts,
                   started: float) -> ActionResult:
        expires = datetime.fromisoformat(facts.expires_at)
        summary = (f"Endpoint {facts.endpoint} diberikan kepada aplikasi {facts.consumer} (id konsumen "
                   f"{facts.consumer_id}); kuota {facts.per_minute} permintaan/menit; kunci "
                   f"{facts.masked_key} (ID {facts.key_id}), berlaku sampai {expires:%d-%m-%Y}. ")
        if facts.oauth2_client:
            summary += (f"Client OAuth2 {facts.oauth2_client} (grant client-credentials, peran {request.api}) "
                        f"dibuat di Keycloak; token diminta di {facts.token_endpoint}. ")
            if facts.oauth2_endpoint:
                summary += f"Endpoint dengan token OAuth2 (Bearer): {facts.oauth2_endpoint}. "
        summary += ("Kunci lengkap disimpan terenkripsi dan hanya dapat dibuka satu kali oleh pemohon dengan "
                    f"'spbe secret reveal {request.ticket}'.")
        return ActionResult(ok=True, summary=f"issued {request.api} to {facts.consumer} on {facts.gateway}",
                            comment=_comment(ctx, run, True, summary, started), facts=facts,
                            changed=[f"consumer {facts.consumer}", f"credential {facts.key_id}"]
                            + ([f"oauth2 client {facts.oauth2_client}"] if facts.oauth2_client else []),
                            duration_s=time.monotonic() - started)

    @staticmethod
    def _failed(ctx: ActionContext, run: RunContext, exc: ToolkitError, undone: list[str],
                started: float) -> ActionResult:
        detail = run.mask(str(exc))
        text = _failure_text(exc) + " " + (
            "Yang sudah dibuat pada percobaan ini telah dibatalkan: " + "; ".join(undone) + "."
            if undone else "Tidak ada konsumen atau kredensial yang tertinggal dari percobaan ini.")
        run.log(f"issue failed: {detail}; undone: {undone or 'nothing'}")
        comment = run.services.renderer.render("comments", "aksi_gagal", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "job_id": run.job_id,
            "percobaan": run.attempt, "galat": f"{text} (Rincian teknis: {detail})", "idempoten": True})
        return ActionResult(ok=False, summary=run.mask(f"issuing the endpoint failed: {detail}"
                                                       + (f"; undone: {', '.join(undone)}" if undone else "")),
                            comment=run.mask(comment), facts=IssueFailedFacts(error=type(exc).__name__, undone=undone),
                            duration_s=time.monotonic() - started)


class _Made:
    """What this attempt created, so a failure can take exactly that back (and nothing a previous
    attempt or another ticket made)."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.gateway: Gateway | None = None
        self.consumer_created = False
        self.idp: IdentityProvider | None = None
        self.client_id: str | None = None
        self.client_created = False
        self.stored: list[str] = []

    def undo(self, vault: Any, ticket_id: str, run: RunContext) -> list[str]:
        undone: list[str] = []
        if self.idp is not None and self.client_created and self.client_id:
            try:
                self.idp.delete_client(self.client_id)
                undone.append(f"client OAuth2 {self.client_id} dihapus dari Keycloak")
            except ToolkitError as exc:
                run.log(run.mask(f"undo of client {self.client_id} failed: {exc}"))
                undone.append(f"client OAuth2 {self.client_id} BELUM terhapus (akan dipakai ulang saat diulang)")
        if self.gateway is not None and self.consumer_created:
            try:
                self.gateway.delete_consumer(self.consumer)
                undone.append(f"konsumen {self.consumer} dihapus dari gateway")
            except ToolkitError as exc:
                run.log(run.mask(f"undo of consumer {self.consumer} failed: {exc}"))
                undone.append(f"konsumen {self.consumer} BELUM terhapus (akan dipakai ulang saat diulang)")
        for name in self.stored:
            vault.delete(ticket_id, name, actor="system")
        return undone


def _token_endpoint(ctx: ActionContext) -> str | None:
    cfg = ctx.settings.identity
    if cfg is None:
        return None
    return f"{cfg.server_url.rstrip('/')}/realms/{cfg.realm}/protocol/openid-connect/token"


def issued(ctx: ActionContext) -> IssuedFacts:
    facts = prior_facts(ctx, IssueEndpointAction.name, IssuedFacts)
    if facts is None:
        raise NotFoundError(f"ticket {ctx.ticket.id} has no issued endpoint to try out")
    return facts


class TryOutAction(BaseAction):
    name = "gateway.try_out"
    Plan = TryOutPlan
    Facts = TryOutFacts

    def plan(self, ctx: ActionContext) -> TryOutPlan:
        facts = issued(ctx)
        return TryOutPlan(endpoint=facts.endpoint, consumer=facts.consumer, key_id=facts.key_id,
                          consumer_id=facts.consumer_id, kind=facts.kind, api=facts.api,
                          oauth2_client=facts.oauth2_client, oauth2_endpoint=facts.oauth2_endpoint)

    def execute(self, ctx: ActionContext, plan: TryOutPlan, run: RunContext) -> ActionResult:
        with _vault(ctx, run) as vault:
            return self._execute(ctx, plan, run, vault)

    def _execute(self, ctx: ActionContext, plan: TryOutPlan, run: RunContext, vault: Any) -> ActionResult:
        started = time.monotonic()
        secret: SecretStr = vault.use(ctx.ticket.id, SECRET_NAME, purpose="SPLP try-out (SOP step 6)")
        run.mask.add(secret)
        facts: dict[str, Any] = {}
        token_note = ""
        token_ok = True
        if plan.oauth2_client:
            facts, token_note, token = self._token(ctx, run, vault, plan)
            if plan.oauth2_endpoint:
                token_ok, note = self._token_call(ctx, run, plan, token, facts)
                token_note += note
        gateway = run.services.gateway
        credential = Credential(consumer=plan.consumer, consumer_id=plan.consumer_id, kind=plan.kind,
                                key_id=plan.key_id, secret=secret)
        url = plan.endpoint + plan.path
        try:
            with_key = requests.get(url, headers=gateway.auth_headers(credential), timeout=15)
            without = requests.get(url, timeout=15)
        except requests.RequestException as exc:
            raise ActionFailedError(f"try-out call to {url} failed: {type(exc).__name__}") from None
        ok = 200 <= with_key.status_code < 300 and without.status_code in (401, 403) and token_ok
        run.log(f"try-out {url}: with credential {with_key.status_code}, without {without.status_code}")
        facts.update({"endpoint": url, "status_with_key": with_key.status_code,
                      "status_without_key": without.status_code, "response_bytes": len(with_key.content),
                      "tested_at": datetime.now(UTC).isoformat()})
        summary = (f"Uji coba endpoint {url}: dengan kredensial HTTP {with_key.status_code}, tanpa kredensial "
                   f"HTTP {without.status_code} — " + ("sesuai." if ok else "TIDAK sesuai.") + token_note)
        return ActionResult(ok=ok, summary=f"try-out {url}: {with_key.status_code}/{without.status_code}",
                            comment=_comment(ctx, run, ok, summary, started), facts=TryOutFacts(**facts),
                            duration_s=time.monotonic() - started)

    @staticmethod
    def _token(ctx: ActionContext, run: RunContext, vault: Any,
               plan: TryOutPlan) -> tuple[dict[str, Any], str, SecretStr]:
        """What the consumer application will do: a client-credentials token from Keycloak, checked with
        our RS256 validation (signature, exp, iss, aud, the API's role)."""
        client_id = str(plan.oauth2_client)
        secret = vault.use(ctx.ticket.id, OAUTH2_SECRET_NAME, purpose="SPLP try-out: client-credentials token")
        run.mask.add(secret)
        idp = run.services.identity
        token, claims = oauth2.obtain_and_validate(idp, client_id, secret, plan.api)
        run.mask.add(token.token)
        run.log(f"token for {client_id}: valid RS256, aud {','.join(claims.audience)}, role {plan.api}, "
                f"expires {claims.expires_at:%H:%M:%S}")
        facts = {"oauth2_client": client_id, "token_valid": True, "token_audience": list(claims.audience),
                 "token_expires_at": claims.expires_at.isoformat(), "token_role": plan.api}
        note = (f" Token OAuth2 client {client_id} diperoleh dari Keycloak (grant client-credentials) dan lolos "
                f"validasi RS256 (tanda tangan, masa berlaku, penerbit, audiens, peran {plan.api}).")
        return facts, note, token.token

    @staticmethod
    def _token_call(ctx: ActionContext, run: RunContext, plan: TryOutPlan, token: SecretStr,
                    facts: dict[str, Any]) -> tuple[bool, str]:
        """The same try-out through the gateway's token route: with the Bearer token 2xx, without 401."""
        routes = token_routes_from_settings(ctx.settings, run.mask)
        if routes is None:
            return True, ""
        url = str(plan.oauth2_endpoint) + plan.path
        try:
            with_token = requests.get(url, headers=routes.bearer_headers(token), timeout=15)
            without = requests.get(url, timeout=15)
        except requests.RequestException as exc:
            raise ActionFailedError(f"try-out call to {url} failed: {type(exc).__name__}") from None
        run.log(f"try-out {url}: with token {with_token.status_code}, without {without.status_code}")
        facts.update({"oauth2_endpoint": url, "status_with_token": with_token.status_code,
                      "status_without_token": without.status_code})
        ok = 200 <= with_token.status_code < 300 and without.status_code == 401
        return ok, (f" Melalui gateway ({url}): dengan token HTTP {with_token.status_code}, tanpa token HTTP "
                    f"{without.status_code} — " + ("sesuai." if ok else "TIDAK sesuai."))
