"""Change of access (*penggantian akses*): lock local accounts and SSH keys, revoke gateway credentials,
disable identity-provider users and their sessions; and the release of each.

Local accounts go through ``playbooks/lock_accounts.yml`` / ``unlock_accounts.yml``. Gateway credentials are
revoked through the SPLP lifecycle hook, so its register of issued credentials agrees. The API gateway and the
identity provider are reached only through their ports (`toolkit.ports.gateway.Gateway`,
`toolkit.ports.identity_provider.IdentityProvider`), built by registry name from the settings; when one is not
configured the part reports ``not_configured`` ("tidak dikonfigurasi") instead of pretending.

Release gives back what can be given back: accounts are unlocked to their exact recorded state and
identity-provider users that were enabled are enabled again (their sessions stay closed). Revoked gateway
credentials are **not** restored: a credential that may be in an attacker's hands stays dead, and the
consumer gets a new one through the SPLP service.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolkit.audit.port import AuditTrail
from toolkit.containment.host import InventoryHost, Log, Mask, published, run_containment_playbook
from toolkit.containment.models import StepOutcome
from toolkit.domain.principal import AuthMethod
from toolkit.errors import ActionFailedError, ConfigurationError, InvalidInputError, ToolkitError
from toolkit.ports.state import IssuedCredentials
from toolkit.private_files import private_dir, write_private
from toolkit.settings import Settings
from toolkit.splp.lifecycle import revoke_compromised_consumer

LOCK_PLAYBOOK = "lock_accounts.yml"
UNLOCK_PLAYBOOK = "unlock_accounts.yml"
NOT_CONFIGURED = "tidak dikonfigurasi"


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ActionFailedError(f"undecodable account state from the host ({exc})") from None


def _parse_before(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def lock_accounts(settings: Settings, host: InventoryHost, record_id: str, accounts: tuple[str, ...],
                  work_dir: Path, log: Log | None, mask: Mask) -> dict[str, Any]:
    """Lock the accounts; returns the before-state per account (authorized_keys base64, never a hash)."""
    protected = str(host.vars.get("ansible_user", "root"))
    if protected in accounts:
        raise InvalidInputError(f"{protected} is the account the CSIRT's automation logs in with on {host.name}: "
                                "locking it would lock the CSIRT out (and make the release impossible)",
                                errors=[("accounts", "locks the control node out")])
    extra = {"spbe_containment_id": record_id, "spbe_accounts": list(accounts), "spbe_protected": [protected]}
    summary = run_containment_playbook(settings, LOCK_PLAYBOOK, host, extra, work_dir, log, mask)
    states = published(summary, "lock", host.name)
    before: dict[str, Any] = {}
    for account in accounts:
        state_b64, keys_b64 = states[account]
        state = _parse_before(_decode(state_b64))
        before[account] = {
            "locked": state.get("locked") == "yes", "expire": state.get("expire", ""),
            "hash_sha256": state.get("hash_sha256", ""), "keys_mode": state.get("keys_mode", ""),
            "authorized_keys_b64": keys_b64 or None,
        }
    return before


def unlock_accounts(settings: Settings, host: InventoryHost, record_id: str, before: dict[str, Any],
                    work_dir: Path, log: Log | None, mask: Mask) -> None:
    files = work_dir / f"release-{record_id}"
    private_dir(files)
    items = []
    for account, state in sorted(before.items()):
        keys_file = ""
        if state.get("authorized_keys_b64"):
            path = files / f"{account}.authorized_keys"
            write_private(path, base64.b64decode(state["authorized_keys_b64"]))
            keys_file = str(path)
        items.append({"name": account, "locked": bool(state["locked"]), "expire": str(state["expire"]),
                      "hash_sha256": state["hash_sha256"], "keys_file": keys_file,
                      "keys_mode": str(state.get("keys_mode") or "600")})
    extra = {"spbe_containment_id": record_id, "spbe_accounts_before": items}
    run_containment_playbook(settings, UNLOCK_PLAYBOOK, host, extra, work_dir, log, mask)


def _build(factory: Callable[[], Any] | None, what: str) -> tuple[Any | None, str]:
    """The port's adapter, or (None, why not): no factory means the port is not configured."""
    if factory is None:
        return None, f"{what} {NOT_CONFIGURED}"
    try:
        return factory(), ""
    except ConfigurationError as exc:
        return None, f"{what} {NOT_CONFIGURED}: {exc}"


def revoke_gateway(consumers: tuple[str, ...], factory: Callable[[], Any] | None, *, register: IssuedCredentials,
                   audit: AuditTrail, actor: str, auth: AuthMethod, reason: str, ticket_id: str, mask: Mask,
                   idp_factory: Callable[[], Any] | None = None) -> StepOutcome:
    """Through the SPLP lifecycle hook (`revoke_compromised_consumer`), not the gateway alone: the
    register of issued credentials (`spbe api list`) then shows the consumer revoked, and the audit log
    has an ``api.revoke`` entry next to the containment's own."""
    if not consumers:
        return StepOutcome(part="gateway", status="nothing_to_do", detail="tidak ada konsumen API yang diminta")
    gateway, why = _build(factory, "API gateway")
    if gateway is None:
        return StepOutcome(part="gateway", status="not_configured", detail=why)
    revoked: dict[str, list[str]] = {}
    ended: dict[str, list[str]] = {}
    try:
        for consumer in consumers:
            done = revoke_compromised_consumer(gateway, audit, consumer, actor=actor, auth=auth, reason=reason,
                                               ticket_id=ticket_id, register=register)
            revoked[consumer] = list(done.revoked_key_ids)
            ended[consumer] = list(done.register_revoked)
        clients = sorted({c.oauth2_client for name in consumers for c in register.by_consumer(name)
                          if c.oauth2_client})
        disabled = _disable_oauth2_clients(clients, idp_factory, audit, actor, auth, ticket_id)
    except ToolkitError as exc:
        return StepOutcome(part="gateway", status="failed", detail=mask(str(exc)),
                           data={"revoked": revoked, "register": ended})
    detail = f"kredensial dicabut untuk {', '.join(consumers)}"
    if clients:
        detail += (f"; client OAuth2 dinonaktifkan: {', '.join(disabled)}" if disabled else
                   f"; client OAuth2 {', '.join(clients)} TIDAK dinonaktifkan: identity provider {NOT_CONFIGURED}")
    return StepOutcome(part="gateway", status="done" if len(disabled) == len(clients) else "failed",
                       data={"revoked": revoked, "register": ended, "oauth2_disabled": disabled}, detail=detail)


def _disable_oauth2_clients(clients: list[str], factory: Callable[[], Any] | None, audit: AuditTrail, actor: str,
                            auth: AuthMethod, ticket_id: str) -> list[str]:
    """A consumer's OAuth2 client could still mint tokens after its keys are revoked: disable it too."""
    if not clients:
        return []
    idp, _ = _build(factory, "identity provider")
    if idp is None:
        return []
    for client in clients:
        idp.disable_client(client)
        audit.append(actor, "identity.client.disable", ticket_id, {"client": client, "auth": auth.value})
    return clients


def disable_idp_users(users: tuple[str, ...], factory: Callable[[], Any] | None) -> StepOutcome:
    if not users:
        return StepOutcome(part="identity", status="nothing_to_do", detail="tidak ada pengguna yang diminta")
    idp, why = _build(factory, "identity provider")
    if idp is None:
        return StepOutcome(part="identity", status="not_configured", detail=why)
    done: dict[str, dict[str, Any]] = {}
    try:
        for user in users:
            result = idp.disable_user_and_logout(user)
            done[user] = {"was_enabled": bool(result.was_enabled), "sessions_closed": int(result.sessions_closed)}
    except ToolkitError as exc:
        return StepOutcome(part="identity", status="failed", detail=str(exc), data={"users": done})
    return StepOutcome(part="identity", status="done", data={"users": done},
                       detail=f"pengguna dinonaktifkan dan sesinya ditutup: {', '.join(users)}")


def enable_idp_users(before: dict[str, Any], factory: Callable[[], Any] | None) -> StepOutcome:
    users = [u for u, state in sorted(before.items()) if state.get("was_enabled")]
    if not users:
        return StepOutcome(part="identity", status="nothing_to_do", detail="tidak ada pengguna yang diaktifkan kembali")
    idp, why = _build(factory, "identity provider")
    if idp is None:
        return StepOutcome(part="identity", status="not_configured", detail=why)
    for user in users:
        idp.enable_user(user)
    return StepOutcome(part="identity", status="done", detail=f"pengguna diaktifkan kembali: {', '.join(users)}")
