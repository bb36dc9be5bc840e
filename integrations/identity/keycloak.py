"""`IdentityProvider` on Keycloak, through python-keycloak (KeycloakAdmin, KeycloakOpenID).

Written against Keycloak 24's admin REST API (what python-keycloak 5 targets). The automation
signs in as its own confidential client (``IdentitySettings.admin_client_id``, client-credentials
grant, realm-management roles manage-clients, manage-users, view-realm); no person's password is
ever used.

How an API consumer is represented (see `toolkit.ports.identity_provider`): a confidential client with
only the service-account (client-credentials) flow, attributes ``spbe.managed``, ``spbe.api`` and
``spbe.ticket``, and its service account holding the client role ``<api>`` of the resource client
``api_client_id`` (created on first use, with no flow of its own). Keycloak's default audience
mapper then puts ``api_client_id`` in ``aud`` and the role in ``resource_access``.

Keycloak quirks handled here: a create answers 201 with the id only in ``Location`` (python-keycloak
parses it); a concurrent create of the same clientId answers 409, which is taken as "exists" and
re-read (we choose the new client's id, so our own create resent by python-keycloak's HTTP retry is
told apart from another worker's); ``PUT /users/{id}`` is sent the whole representation (Keycloak
24's user profile treats a missing ``firstName``/``email`` as a change), ``PUT /clients/{id}`` only ``clientId`` and
``enabled`` (a whole one could write back a secret rotated in between).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from keycloak import KeycloakAdmin, KeycloakOpenID
from pydantic import Field, SecretStr, TypeAdapter

from integrations.identity.jwt_validation import JwksCache, validate_access_token
from integrations.identity.keycloak_errors import mapped_errors
from integrations.identity.keycloak_users import KeycloakUsers
from integrations.identity.keycloak_users import checked as _checked
from toolkit.adapter_options import AdapterOptions
from toolkit.errors import (
    ActionFailedError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from toolkit.masking import Masker
from toolkit.ports.identity_provider import (
    AccessToken,
    ClientContainment,
    ClientId,
    ConsumerClientSpec,
    EnsuredClient,
    IdpClient,
    TokenClaims,
)
from toolkit.settings import IdentitySettings, Settings

T = TypeVar("T")
_CLIENT_ID = TypeAdapter(ClientId)
MANAGED, API_ATTR, TICKET_ATTR = "spbe.managed", "spbe.api", "spbe.ticket"


class KeycloakOptions(AdapterOptions):
    """``identity.options`` of keycloak; where Keycloak is and the admin client's secret reference are
    `IdentitySettings` fields, shared with the keycloak directory."""

    jwks_min_refresh_s: float = Field(default=10.0, ge=0, le=3600,
                                      description="an unknown kid refetches the realm's keys at most this often")


class KeycloakIdentityProvider(KeycloakUsers):
    Options = KeycloakOptions

    def __init__(self, *, settings: Settings, masker: Masker | None = None, jwks_min_refresh_s: float = 10.0) -> None:
        """``jwks_min_refresh_s``: an unknown ``kid`` refetches the realm's keys at most this often
        (Keycloak's own adapters default to 10 s), so a rotated key is picked up quickly but a flood
        of forged tokens cannot make us hammer Keycloak."""
        cfg = settings.identity
        if cfg is None:
            raise ConfigurationError("no identity provider is configured (settings.identity)")
        self.cfg: IdentitySettings = cfg
        self.server_url = cfg.server_url.rstrip("/") + "/"
        self.issuer = f"{self.server_url}realms/{cfg.realm}"
        self.masker = masker if masker is not None else Masker()
        self._admin_secret = cfg.admin_secret.resolve()
        self.masker.add(self._admin_secret)
        self._admin = KeycloakAdmin(
            server_url=self.server_url, realm_name=cfg.realm, user_realm_name=cfg.admin_realm or cfg.realm,
            client_id=cfg.admin_client_id, client_secret_key=self._admin_secret.get_secret_value(),
            verify=cfg.verify_tls, timeout=cfg.timeout_s,  # type: ignore[arg-type]  # requests takes a float
        )
        self._oidc = self._openid(cfg.admin_client_id, self._admin_secret)
        self._keys = JwksCache(lambda: self._call("fetching the realm's signing keys", self._oidc.certs),
                               min_refresh_s=jwks_min_refresh_s)

    # -- plumbing ------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., T], *args: Any, **context: Any) -> T:
        with mapped_errors(what, masker=self.masker, server=self.server_url, **context):
            return fn(*args)

    def _openid(self, client_id: str, secret: SecretStr) -> KeycloakOpenID:
        return KeycloakOpenID(server_url=self.server_url, realm_name=self.cfg.realm, client_id=client_id,
                              client_secret_key=secret.get_secret_value(), verify=self.cfg.verify_tls,
                              timeout=self.cfg.timeout_s)  # type: ignore[arg-type]

    def _client_rep(self, client_id: str) -> dict[str, Any] | None:
        client_id = _checked(_CLIENT_ID, client_id, "client id")
        found = self._call(f"looking up client {client_id}", self._admin.get_client_id, client_id, client=client_id)
        if found is None:
            return None
        return self._call(f"reading client {client_id}", self._admin.get_client, found, client=client_id)

    def _require_client(self, client_id: str) -> dict[str, Any]:
        rep = self._client_rep(client_id)
        if rep is None:
            raise NotFoundError(f"no client '{client_id}' in realm {self.cfg.realm}", client=client_id)
        return rep

    def _api_client(self) -> str:
        """Internal id of the resource client that holds one role per API; created when missing."""
        name = self.cfg.api_client_id
        found = self._call("looking up the API resource client", self._admin.get_client_id, name)
        if found is None:
            payload = {"clientId": name, "name": "SPBE API gateway (resource server)", "enabled": True,
                       "publicClient": False, "standardFlowEnabled": False, "implicitFlowEnabled": False,
                       "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False,
                       "attributes": {MANAGED: "true"}}
            try:
                found = self._call("creating the API resource client", self._admin.create_client, payload)
            except ConflictError:  # created meanwhile by another worker
                found = self._call("looking up the API resource client", self._admin.get_client_id, name)
                if found is None:
                    raise
        return found

    def _ensure_api_role(self, api_internal: str, role: str) -> dict[str, Any]:
        try:
            return self._call(f"reading API role {role}", self._admin.get_client_role, api_internal, role)
        except NotFoundError:
            payload = {"name": role, "description": f"Akses ke API {role} melalui SPLP"}
            try:
                self._call(f"creating API role {role}", self._admin.create_client_role, api_internal, payload)
            except ConflictError:  # created meanwhile by another worker; read it below
                pass
            return self._call(f"reading API role {role}", self._admin.get_client_role, api_internal, role)

    def _api_roles_of(self, rep: dict[str, Any]) -> frozenset[str]:
        if not rep.get("serviceAccountsEnabled"):
            return frozenset()
        api_internal = self._call("looking up the API resource client", self._admin.get_client_id,
                                  self.cfg.api_client_id)
        if api_internal is None:
            return frozenset()
        user = self._call("reading the service account", self._admin.get_client_service_account_user, rep["id"])
        roles = self._call("reading the service account's API roles", self._admin.get_client_roles_of_user,
                           user["id"], api_internal)
        return frozenset(r["name"] for r in roles)

    def _model(self, rep: dict[str, Any], api_roles: frozenset[str] | None = None) -> IdpClient:
        attributes = rep.get("attributes") or {}
        return IdpClient(
            id=rep["id"], client_id=rep["clientId"], name=rep.get("name") or None, enabled=bool(rep.get("enabled")),
            confidential=not rep.get("publicClient", False) and not rep.get("bearerOnly", False),
            service_account=bool(rep.get("serviceAccountsEnabled")),
            api_roles=self._api_roles_of(rep) if api_roles is None else api_roles,
            ticket_id=attributes.get(TICKET_ATTR) or None,
        )

    # -- API consumers -------------------------------------------------------------------------------
    def ensure_consumer_client(self, spec: ConsumerClientSpec) -> EnsuredClient:
        api_internal = self._api_client()
        role = self._ensure_api_role(api_internal, spec.api_role)
        rep = self._client_rep(spec.client_id)
        created = False
        if rep is None:
            # Our own internal id (Keycloak keeps an id given on create), so a 409 can tell our own create,
            # sent twice, from another worker's: see `_create_consumer_client`.
            payload = {
                "id": str(uuid.uuid4()), "clientId": spec.client_id, "name": spec.name,
                "description": spec.description or "",
                "enabled": True, "protocol": "openid-connect", "publicClient": False, "bearerOnly": False,
                "clientAuthenticatorType": "client-secret", "serviceAccountsEnabled": True,
                "standardFlowEnabled": False, "implicitFlowEnabled": False, "directAccessGrantsEnabled": False,
                "attributes": {MANAGED: "true", API_ATTR: spec.api_role, TICKET_ATTR: spec.ticket_id or ""},
            }
            internal, created = self._create_consumer_client(spec.client_id, payload)
            rep = self._call(f"reading client {spec.client_id}", self._admin.get_client, internal)
        self._check_ours(rep, spec)
        try:
            user = self._call("reading the service account", self._admin.get_client_service_account_user, rep["id"])
            held = self._call("reading the service account's API roles", self._admin.get_client_roles_of_user,
                              user["id"], api_internal)
            if spec.api_role not in {r["name"] for r in held}:
                self._call(f"granting API role {spec.api_role}", self._admin.assign_client_role, user["id"],
                           api_internal, [role])
        except Exception:
            if created:  # leave nothing half-made behind: the next attempt starts clean
                self._undo_create(spec.client_id)
            raise
        return EnsuredClient(client=self._model(rep, self._api_roles_of(rep)), created=created)

    def _create_consumer_client(self, client_id: str, payload: dict[str, Any]) -> tuple[str, bool]:
        """Create the client; answer its internal id and whether THIS call created it.

        python-keycloak's HTTP layer resends a request (POST included) once when the first answer does
        not come in time, so a create Keycloak carried out but answered late is sent again and answered
        409. Taking that 409 as "another worker made it" would leave ``created`` False and the undo of
        a later failure would keep a client nobody completed. The id we chose settles it: the client
        holding it is ours. Should the create fail without an answer, a client with our id that
        Keycloak made anyway is removed (best effort) before the error is passed on.
        """
        ours = str(payload["id"])
        try:
            return self._call(f"creating client {client_id}", self._admin.create_client, payload,
                              client=client_id), True
        except ConflictError:  # ours sent twice, or another worker created it between look-up and create
            existing = self._client_rep(client_id)
            if existing is None:
                raise
            return str(existing["id"]), existing["id"] == ours
        except UnavailableError:
            self._undo_create_by_id(ours, client_id)
            raise

    def _undo_create_by_id(self, internal: str, client_id: str) -> None:
        try:
            self._call(f"deleting client {client_id}", self._admin.delete_client, internal, client=client_id)
        except (NotFoundError, UnavailableError, PermissionDeniedError, ActionFailedError):
            pass  # never made, or Keycloak still away: the retry finds it (ours) and adopts it

    def _undo_create(self, client_id: str) -> None:
        """Best effort: if Keycloak is down this fails too, and the original error is the one to report.
        A client left behind is ours (attributes match), so the retry adopts and completes it."""
        try:
            self.delete_client(client_id)
        except (UnavailableError, PermissionDeniedError, ActionFailedError):
            pass

    def _check_ours(self, rep: dict[str, Any], spec: ConsumerClientSpec) -> None:
        attributes = rep.get("attributes") or {}
        if attributes.get(MANAGED) != "true":
            raise ConflictError(f"client '{spec.client_id}' exists and was not created by spbe; choose another "
                                "consumer name or remove it in Keycloak", client=spec.client_id)
        for attr, wanted, what in ((API_ATTR, spec.api_role, "API"), (TICKET_ATTR, spec.ticket_id or "", "ticket")):
            if attributes.get(attr, "") != wanted:
                raise ConflictError(f"client '{spec.client_id}' already exists for {what} "
                                    f"'{attributes.get(attr, '')}'", client=spec.client_id)
        if not rep.get("serviceAccountsEnabled") or rep.get("publicClient"):
            raise ConflictError(f"client '{spec.client_id}' exists but is not a confidential service-account client",
                                client=spec.client_id)

    def find_client(self, client_id: str) -> IdpClient | None:
        rep = self._client_rep(client_id)
        return None if rep is None else self._model(rep)

    def get_client(self, client_id: str) -> IdpClient:
        return self._model(self._require_client(client_id))

    def list_consumer_clients(self) -> list[IdpClient]:
        """``GET /admin/realms/{realm}/clients`` (every client, no paging by default), kept to those with our
        ``spbe.managed`` and ``spbe.api`` attributes. The API role is taken from ``spbe.api`` rather than
        read from each service account (two more calls per client): a listing for checks, not a grant."""
        reps = self._call("listing clients", self._admin.get_clients)
        found = []
        for rep in reps:
            attributes = rep.get("attributes") or {}
            api = attributes.get(API_ATTR)
            if attributes.get(MANAGED) != "true" or not api:
                continue
            found.append(self._model(rep, frozenset({str(api)})))
        return sorted(found, key=lambda c: c.client_id)

    def client_secret(self, client_id: str) -> SecretStr:
        rep = self._require_client(client_id)
        answer = self._call(f"reading the secret of {client_id}", self._admin.get_client_secrets, rep["id"])
        return self._secret(answer, client_id)

    def rotate_client_secret(self, client_id: str) -> SecretStr:
        rep = self._require_client(client_id)
        answer = self._call(f"rotating the secret of {client_id}", self._admin.generate_client_secrets, rep["id"])
        return self._secret(answer, client_id)

    def _secret(self, answer: Any, client_id: str) -> SecretStr:
        value = answer.get("value") if isinstance(answer, dict) else None
        if not isinstance(value, str) or not value:
            raise ConflictError(f"Keycloak returned no secret for client '{client_id}'", client=client_id)
        secret = SecretStr(value)
        self.masker.add(secret)
        return secret

    def _set_client_enabled(self, client_id: str, enabled: bool) -> tuple[dict[str, Any], bool]:
        rep = self._require_client(client_id)
        was = bool(rep.get("enabled"))
        if was != enabled:
            self._call(f"{'enabling' if enabled else 'disabling'} client {client_id}", self._admin.update_client,
                       rep["id"], {"clientId": rep["clientId"], "enabled": enabled}, client=client_id)
        return {**rep, "enabled": enabled}, was

    def disable_client(self, client_id: str) -> ClientContainment:
        _, was = self._set_client_enabled(client_id, False)
        return ClientContainment(client_id=client_id, was_enabled=was)

    def enable_client(self, client_id: str) -> IdpClient:
        rep, _ = self._set_client_enabled(client_id, True)
        return self._model(rep)

    def delete_client(self, client_id: str) -> bool:
        rep = self._client_rep(client_id)
        if rep is None:
            return False
        try:
            self._call(f"deleting client {client_id}", self._admin.delete_client, rep["id"], client=client_id)
        except NotFoundError:
            return False
        return True

    def client_credentials_token(self, client_id: str, secret: SecretStr) -> AccessToken:
        client_id = _checked(_CLIENT_ID, client_id, "client id")
        self.masker.add(secret)
        oidc = self._openid(client_id, secret)
        answer = self._call(f"a client-credentials token for {client_id}", oidc.token, "", "", "client_credentials",
                            client=client_id)
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise ActionFailedError(f"Keycloak's token endpoint gave no access token for {client_id}",
                                    client=client_id)
        token = SecretStr(answer["access_token"])
        self.masker.add(token)
        return AccessToken(token=token, token_type=str(answer.get("token_type", "Bearer")),
                           expires_in=int(answer.get("expires_in", 0)))

    def validate_token(self, token: SecretStr, *, audience: str | None = None, authorized_party: str | None = None,
                       required_role: str | None = None, check_active: bool = False) -> TokenClaims:
        self.masker.add(token)
        if audience is None and authorized_party is None:
            audience = self.cfg.api_client_id
        claims = validate_access_token(token.get_secret_value(), keys=self._keys, issuer=self.issuer,
                                       audience=audience, authorized_party=authorized_party)
        if required_role is not None and not claims.has_client_role(self.cfg.api_client_id, required_role):
            raise PermissionDeniedError(f"access token refused: it does not grant the API role {required_role!r}",
                                        reason="role")
        if check_active:
            if (self.cfg.admin_realm or self.cfg.realm) != self.cfg.realm:
                raise ConfigurationError("check_active needs the admin client in the token's realm")
            answer = self._call("introspecting a token", self._oidc.introspect, token.get_secret_value())
            if not isinstance(answer, dict) or answer.get("active") is not True:
                raise PermissionDeniedError("access token refused: no longer active (client or user disabled, "
                                            "or session ended)", reason="inactive")
        return claims
