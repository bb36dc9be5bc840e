"""The containment entry point for the CLI, the catalog actions and the workflow.

Every operation runs the same way: check who acts and whether the ticket is a verified incident
(`toolkit.containment.policy`), check the target and the request, record the intent (status ``applying``),
change the target while keeping its before-state, record the outcome, post a summary to the ticket in
Bahasa Indonesia and write the audit log. A refused or failed attempt is audited too
(``containment.<op>.refused`` / ``.failed``), and a refusal happens before any target is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit.containment import access, host, host_ssh, policy, switch_port
from toolkit.containment.models import (
    AccessRequest,
    ContainmentKind,
    ContainmentRecord,
    ContainmentRequest,
    ContainmentStatus,
    IsolateHostRequest,
    QuarantinePortRequest,
    ReleaseRequest,
)
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.errors import ConflictError, InvalidInputError, ToolkitError
from toolkit.services import Services

log = logging.getLogger("spbe.containment")
KIND_TEXT = {
    ContainmentKind.ISOLATE_HOST: "isolasi host dari jaringan (nftables)",
    ContainmentKind.QUARANTINE_PORT: "karantina port switch",
    ContainmentKind.ACCESS: "penggantian akses",
}
Log = Callable[[str], None]


def _principal(request: ContainmentRequest | ReleaseRequest) -> Principal:
    return Principal(user=request.actor, auth=request.auth)


class ContainmentService:
    """One per app; ``log`` receives masked progress lines (the CLI prints them, a job stores them)."""

    def __init__(self, app: Services, log_line: Log | None = None, gateway_factory: Callable[[], Any] | None = None,
                 idp_factory: Callable[[], Any] | None = None, post_comments: bool = True) -> None:
        self.app = app
        self.post_comments = post_comments  # False in a job: the worker posts the action's result itself
        self.last_comment = ""
        self.settings = app.settings
        self.store = app.state.containment  # the process's one store, from the services it is handed
        self.work_dir = Path(self.settings.state_dir) / "containment" / "runs"
        self.log_line = log_line
        self.gateway_factory = gateway_factory or self._configured_gateway()
        self.idp_factory = idp_factory or ((lambda: app.identity) if app.settings.identity is not None else None)

    def _configured_gateway(self) -> Callable[[], Any] | None:
        app = self.app
        return lambda: app.gateway  # built once by the composition root, when a consumer is first revoked

    # ------------------------------------------------------------------ shared steps

    def refuse_invalid(self, operation: str, ticket_id: str, actor: str, errors: list[tuple[str, str]],
                       error: str = "InvalidInputError", *, auth: str) -> None:
        """Audit a request refused at the boundary (malformed host, address, unknown user...): it never got
        further."""
        masked = [(field, self.app.masker(message)[:200]) for field, message in errors]
        self.app.audit.append(str(actor)[:64] or "-", f"containment.{operation}.refused", str(ticket_id)[:64] or None,
                              {"error": error, "errors": masked, "auth": auth})

    def _authorize(self, request: ContainmentRequest | ReleaseRequest, operation: str) -> Any:
        ticket = self.app.tickets.get(request.ticket_id)
        person = self.app.policy.authorize_containment(_principal(request), ticket, operation)
        service = self.app.catalog.get(ticket.service_id)
        trusted = self.app.policy.trusted(service, ticket, self.app.tickets.timeline(request.ticket_id)).events
        verification = policy.require_verified(service, ticket, trusted)
        return person, verification

    def _attempt(self, operation: str, request: ContainmentRequest | ReleaseRequest, data: dict[str, Any],
                 work: Callable[[], ContainmentRecord]) -> ContainmentRecord:
        data = {**data, "auth": request.auth.value}
        try:
            record = work()
        except ToolkitError as exc:
            outcome = "failed" if getattr(exc, "_containment_touched", False) else "refused"
            self.app.audit.append(request.actor, f"containment.{operation}.{outcome}", request.ticket_id,
                                  {**data, "error": type(exc).__name__, "message": self.app.masker(str(exc))})
            raise
        self.app.audit.append(request.actor, f"containment.{operation}", request.ticket_id,
                              {**data, **record.summary()})
        return record

    def _post(self, record: ContainmentRecord, operation: str, details: list[str], reason: str, name: str) -> None:
        text = self.app.renderer.render("comments", "penahanan", {
            "operasi": operation, "jenis": KIND_TEXT[record.kind], "target": record.target,
            "catatan_id": record.id, "petugas": name, "waktu": datetime.now(UTC), "rincian": details,
            "alasan": reason,
        })
        self.last_comment = self.app.masker(text)
        if not self.post_comments:
            return
        event = NewEvent(kind=EventKind.COMMENT, actor=record.actor if operation == "penahanan" else
                         (record.released_by or record.actor), text=self.app.masker(text),
                         data={"containment": record.summary(), "operation": operation},
                         dedupe_key=f"containment:{record.id}:{operation}")  # fmt: skip
        try:
            self.app.tickets.post(record.ticket_id, event)
        except ToolkitError as exc:  # the containment stands; the record and the audit log keep it
            log.warning("containment %s: could not post to ticket %s: %s", record.id, record.ticket_id, exc)

    def _apply(self, record: ContainmentRecord, new: bool, change: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
               ) -> ContainmentRecord:
        """Run ``change`` (returns before, applied); keep the first before-state on a repeat."""
        try:
            before, applied = change()
        except ToolkitError as exc:
            if new:
                self.store.save(record.model_copy(update={"status": ContainmentStatus.FAILED,
                                                          "error": self.app.masker(str(exc))}))
            exc._containment_touched = True  # type: ignore[attr-defined]
            raise
        update: dict[str, Any] = {"status": ContainmentStatus.ACTIVE, "applied": applied, "error": None}
        if new or not record.before:
            update["before"] = before
        return self.store.save(record.model_copy(update=update))

    # ------------------------------------------------------------------ containment

    def isolate_host(self, request: IsolateHostRequest) -> ContainmentRecord:
        data = {"host": request.host, "management_cidrs": request.management_cidrs}

        def work() -> ContainmentRecord:
            person, verification = self._authorize(request, "isolate a host")
            target = host.inventory_host(self.settings.effective_inventory(), request.host)
            wanted = (request.management_cidrs or self.settings.containment.management_cidrs
                      or target.csirt_cidrs())  # fmt: skip
            source = policy.control_source_address(target.address, target.port)
            mgmt = policy.check_management(wanted, source)
            record, new = self.store.begin(request.ticket_id, ContainmentKind.ISOLATE_HOST, target.name,
                                           request.actor, {"management_cidrs": list(mgmt), "control_source": source,
                                                           "address": target.address,
                                                           "verification": verification.how})  # fmt: skip

            def change() -> tuple[dict[str, Any], dict[str, Any]]:
                before, applied = self._isolate(target, record.id, mgmt)
                return before.model_dump(), applied

            record = self._apply(record, new, change)
            rules = record.before.get("ruleset_stateless", "")
            self._post(record, "penahanan", [
                f"Host {target.name} ({target.address}) hanya dapat berkomunikasi dengan alamat manajemen CSIRT: "
                + ", ".join(mgmt),
                f"Ruleset sebelum penahanan disimpan ({len(rules.splitlines())} baris; "
                f"sha256 {host.HostBefore.model_validate(record.before).stateless_sha256[:16]}).",
                "Aturan bersifat persisten (/etc/nftables.conf) dan tetap berlaku bila layanan nftables dimulai ulang.",
            ], request.reason, person.name)
            return record

        return self._attempt("isolate_host", request, data, work)

    def _isolate(self, target: host.InventoryHost, record_id: str, mgmt: tuple[str, ...]
                 ) -> tuple[host.HostBefore, dict[str, Any]]:
        """settings.containment.apply: one SSH session from the process's warm pool, or the playbook."""
        if self.settings.containment.apply == "ssh":
            return host_ssh.isolate(self.app.ssh, self.settings, target, record_id, mgmt, self.log_line,
                                    self.app.masker)
        return host.isolate(self.settings, target, record_id, mgmt, self.work_dir, self.log_line, self.app.masker)

    def _release_host(self, target: host.InventoryHost, record_id: str, before: host.HostBefore) -> dict[str, Any]:
        if self.settings.containment.apply == "ssh":
            return host_ssh.release(self.app.ssh, self.settings, target, before, self.log_line, self.app.masker)
        return host.release(self.settings, target, record_id, before, self.work_dir, self.log_line, self.app.masker)

    def quarantine_port(self, request: QuarantinePortRequest) -> ContainmentRecord:
        cfg = self.settings.containment
        mode = switch_port.check_mode(request.mode or cfg.quarantine_mode)
        vlan = request.vlan or cfg.quarantine_vlan
        target = f"{request.device}:{request.interface}"
        data = {"device": request.device, "interface": request.interface, "mode": mode, "vlan": vlan}

        def work() -> ContainmentRecord:
            person, verification = self._authorize(request, "quarantine a switch port")
            switch_port.precheck(self.settings, request.device, request.interface)
            record, new = self.store.begin(request.ticket_id, ContainmentKind.QUARANTINE_PORT, target, request.actor,
                                           {**data, "verification": verification.how})

            def change() -> tuple[dict[str, Any], dict[str, Any]]:
                before, after = switch_port.quarantine(self.settings, request.device, request.interface, mode, vlan)
                return before.model_dump(), after.model_dump()

            record = self._apply(record, new, change)
            before = record.before
            self._post(record, "penahanan", [
                f"Keadaan port sebelum karantina: mode {before.get('mode') or 'bawaan'}, VLAN "
                f"{before.get('access_vlan') or 'bawaan (1)'}, {'shutdown' if before.get('shutdown') else 'aktif'}.",
                f"Port dipindahkan ke VLAN karantina {vlan}." if mode == "vlan" else "Port dimatikan (shutdown).",
            ], request.reason, person.name)
            return record

        return self._attempt("quarantine_port", request, data, work)

    def change_access(self, request: AccessRequest) -> ContainmentRecord:
        data = {"host": request.host, "accounts": list(request.accounts),
                "gateway_consumers": list(request.gateway_consumers), "idp_users": list(request.idp_users)}

        def work() -> ContainmentRecord:
            person, verification = self._authorize(request, "change access")
            if not (request.accounts or request.gateway_consumers or request.idp_users):
                raise InvalidInputError("nothing to change: name accounts, gateway consumers or users",
                                               errors=[("access", "empty")])
            inventory = self.settings.effective_inventory()
            target_host = host.inventory_host(inventory, request.host) if request.host else None
            if request.accounts and target_host is None:
                raise InvalidInputError("local accounts need --host", errors=[("host", "required")])
            target = target_host.name if target_host else "-"
            record, new = self.store.begin(request.ticket_id, ContainmentKind.ACCESS, f"{request.ticket_id}@{target}",
                                           request.actor, {**data, "verification": verification.how})

            def change() -> tuple[dict[str, Any], dict[str, Any]]:
                before: dict[str, Any] = {}
                if target_host is not None and request.accounts:
                    before["accounts"] = access.lock_accounts(self.settings, target_host, record.id, request.accounts,
                                                              self.work_dir, self.log_line, self.app.masker)
                gateway = access.revoke_gateway(
                    request.gateway_consumers, self.gateway_factory, register=self.app.state.issued,
                    audit=self.app.audit, actor=request.actor, auth=request.auth,
                    reason=request.reason or "containment",
                    ticket_id=request.ticket_id, mask=self.app.masker, idp_factory=self.idp_factory)
                identity = access.disable_idp_users(request.idp_users, self.idp_factory)
                before["identity"] = identity.data.get("users", {})
                return before, {"gateway": gateway.model_dump(), "identity": identity.model_dump()}

            record = self._apply(record, new, change)
            details = [f"Akun lokal dikunci di {target}: {', '.join(request.accounts)} (kata sandi dikunci, "
                       "authorized_keys disimpan dan dicabut)."] if request.accounts else []
            for part in ("gateway", "identity"):
                outcome = record.applied[part]
                details.append(f"{'API gateway' if part == 'gateway' else 'Identity provider (Keycloak)'}: "
                               f"{outcome['status']} — {outcome['detail']}")
            self._post(record, "penahanan", details, request.reason, person.name)
            return record

        return self._attempt("access", request, data, work)

    # ------------------------------------------------------------------ release

    def _find(self, request: ReleaseRequest) -> ContainmentRecord:
        if request.record_id:
            record = self.store.get(request.record_id)
        elif request.kind and request.target:
            found = self.store.open_for(request.kind, request.target)
            if found is None:
                raise ConflictError(f"no containment of {request.kind.value} {request.target} to release: "
                                    "it was never contained, or it is released already", target=request.target)
            record = found
        else:
            raise InvalidInputError("name the containment record, or its kind and target",
                                           errors=[("record", "required")])
        if record.ticket_id != request.ticket_id:
            raise ConflictError(
                f"containment {record.id} belongs to ticket {record.ticket_id}, not {request.ticket_id}",
                record=record.id)
        if record.status != ContainmentStatus.ACTIVE:
            raise ConflictError(f"containment {record.id} is {record.status.value}, not active: nothing to release",
                                record=record.id)
        return record

    def release(self, request: ReleaseRequest) -> ContainmentRecord:
        data = {"record": request.record_id, "kind": request.kind.value if request.kind else None,
                "target": request.target}

        def work() -> ContainmentRecord:
            person, _ = self._authorize(request, "release a containment")
            record = self._find(request)
            record = self.store.save(record.model_copy(update={"status": ContainmentStatus.RELEASING}))
            try:
                result, details = self._undo(record)
            except ToolkitError as exc:
                self.store.save(record.model_copy(update={"status": ContainmentStatus.ACTIVE,
                                                          "error": self.app.masker(str(exc))}))
                exc._containment_touched = True  # type: ignore[attr-defined]
                raise
            record = self.store.save(record.model_copy(update={
                "status": ContainmentStatus.RELEASED, "released_by": request.actor,
                "released_at": datetime.now(UTC), "release": result, "error": None}))
            self._post(record, "pelepasan", details, request.reason, person.name)
            return record

        return self._attempt("release", request, data, work)

    def _undo(self, record: ContainmentRecord) -> tuple[dict[str, Any], list[str]]:
        if record.kind == ContainmentKind.ISOLATE_HOST:
            target = host.inventory_host(self.settings.effective_inventory(), record.target)
            result = self._release_host(target, record.id, host.HostBefore.model_validate(record.before))
            return result, [f"Ruleset {record.target} dipulihkan persis seperti sebelum penahanan "
                            f"(sha256 {result['ruleset_stateless_sha256'][:16]})."]
        if record.kind == ContainmentKind.QUARANTINE_PORT:
            device, interface = record.target.split(":", 1)
            after = switch_port.release(self.settings, device, interface,
                                        switch_port.PortState.model_validate(record.before))
            return after.model_dump(), [f"Port {interface} pada {device} dikembalikan: mode {after.mode or 'bawaan'}, "
                                        f"VLAN {after.access_vlan or 'bawaan (1)'}, "
                                        f"{'shutdown' if after.shutdown else 'aktif'}."]
        details, result = [], {}
        if record.before.get("accounts"):
            host_name = record.target.split("@", 1)[1]
            target = host.inventory_host(self.settings.effective_inventory(), host_name)
            access.unlock_accounts(self.settings, target, record.id, record.before["accounts"], self.work_dir,
                                   self.log_line, self.app.masker)
            details.append(f"Akun lokal di {host_name} dipulihkan: {', '.join(sorted(record.before['accounts']))}.")
        identity = access.enable_idp_users(record.before.get("identity", {}), self.idp_factory)
        result["identity"] = identity.model_dump()
        details.append(f"Identity provider: {identity.status} — {identity.detail}")
        if record.applied.get("gateway", {}).get("status") == "done":
            details.append("Kredensial API gateway yang dicabut tidak dipulihkan; terbitkan kredensial baru "
                           "melalui layanan SPLP.")
        return result, details

    # ------------------------------------------------------------------ reads

    def inspect_host(self, ticket_id: str, principal: Principal, host_name: str) -> dict[str, str]:
        """Read-only look at a host, for the CSIRT's examination step; audited, not recorded as containment."""
        self.app.policy.authorize_role(principal, self.app.policy.containment_roles, "inspect a host")
        target = host.inventory_host(self.settings.effective_inventory(), host_name)
        state = host.inspect(self.settings, target, self.work_dir, self.log_line, self.app.masker)
        self.app.audit.append(principal.user, "containment.inspect", ticket_id,
                              {"host": target.name, "isolated": state.get("isolated")} | principal.audit_data())
        return state

    def list(self, ticket_id: str | None = None, status: ContainmentStatus | None = None) -> list[ContainmentRecord]:
        return self.store.list(ticket_id, status)
