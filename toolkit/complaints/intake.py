"""Intake of a complaint, suggestion or feedback: the one door every channel goes through.

The CLI (`spbe complaint submit`), the generic `spbe ticket open pengaduan`, the portal's request form and
the HTTP API (all through `toolkit.commands.desk.open_ticket`, which hands a complaints service here) and the
mailbox (`toolkit.complaints.mail`, as spbe itself) end in `submit`, so the rules cannot drift apart:

- anyone in the directory may complain; only staff enter a complaint that came through another channel
  (SP4N-LAPOR, Web Ulas, Lapor Mas Wali) with its complainant's name, and only spbe opens one from e-mail;
- ``layanan_terkait`` is a service of the catalog (not the complaints service itself);
- ``tiket_terkait`` exists and the complainant may see it (staff: any ticket); "no such ticket" is the answer
  either way, so a complaint cannot be used to learn which tickets exist;
- ``nomor_lapor`` (required for ``kanal=sp4n_lapor``) has the shape of a SP4N-LAPOR tracking number;
- the body, the attachments and every other field pass the catalog's rules (`validate_request`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from toolkit.domain.catalog.models import FieldSpec, Service, StepPurpose
from toolkit.domain.principal import ENGINE_USER, Principal
from toolkit.domain.tickets.models import AttachmentUpload, Ticket, TicketDraft
from toolkit.domain.tickets.requests import validate_attachments, validate_request, validate_title
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.services import Services

# A SP4N-LAPOR tracking number ("Nomor Tracking"): digits, written with or without a leading '#'.
LAPOR_NUMBER = re.compile(r"^[0-9]{6,12}$")
STAFF_ONLY = ("nama_pengadu",)  # entered by the desk for a complaint from another channel
ENGINE_ONLY = ("message_id",)
_TICKET_ID = re.compile(r"^[A-Z][A-Z0-9]{0,15}-[0-9]{4}-[0-9]{1,8}$")
_JENIS = {"pengaduan": "Pengaduan", "saran": "Saran", "masukan": "Masukan"}


def complaints_service(app: Services) -> Service:
    """The catalog's complaints service (``complaints:`` declared), normally ``pengaduan``."""
    found = next((s for s in app.catalog.services() if s.complaints is not None), None)
    if found is None:
        raise NotFoundError("the catalog has no complaints service (a service declaring 'complaints:')")
    return found


def router_role(service: Service) -> str:
    """Who routes a service's tickets: its completeness check's role, else its closing step's (the rule of
    `toolkit.commands.desk.assign`); the koordinator of that service."""
    step = service.step_with(StepPurpose.COMPLETENESS_CHECK) or service.step_with(StepPurpose.CLOSING)
    return step.actor if step is not None else service.steps[-1].actor


def _refuse(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{field}: {message}", errors=[(field, message)])


def _clean_lapor(fields: dict[str, Any]) -> None:
    number = fields.get("nomor_lapor")
    if isinstance(number, str) and number.strip():
        value = number.strip().removeprefix("#")
        if not LAPOR_NUMBER.fullmatch(value):
            raise _refuse("nomor_lapor", "nomor tracking SP4N-LAPOR berupa 6-12 angka (SP4N-LAPOR tracking number: "
                                         "6 to 12 digits)")
        fields["nomor_lapor"] = value


def _related_ticket(app: Services, principal: Principal, staff: bool, value: Any) -> Ticket | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    missing = _refuse("tiket_terkait", f"tiket {text[:40]!r} tidak ditemukan (no such ticket)")
    if not _TICKET_ID.fullmatch(text):
        raise missing
    try:
        ticket = app.tickets.get(text)
    except NotFoundError:
        raise missing from None
    if not staff and not app.policy.may_view(principal, app.catalog.get(ticket.service_id), ticket):
        app.audit.append(principal.user, "complaint.related_ticket_refused", text, principal.audit_data())
        raise missing
    return ticket


def admit(app: Services, service: Service, principal: Principal, fields: Mapping[str, Any],
          kinds: tuple[str, ...] = ()) -> dict[str, Any]:
    """The complaint's fields as they will be stored, or `InvalidInputError` / `PermissionDeniedError`."""
    assert service.complaints is not None
    engine = principal == Principal.engine()
    staff = engine or app.policy.is_staff(principal)
    given = {k: v for k, v in fields.items() if v not in (None, "")}
    kanal = given.get("kanal", "aplikasi")
    if kanal == "email" and not engine:
        raise PermissionDeniedError("kanal=email: only spbe opens complaints from the mailbox "
                                    "(spbe complaint fetch-mail)", user=principal.user)
    if not staff and kanal != "aplikasi":
        raise PermissionDeniedError(f"kanal={kanal}: a complaint from another channel is entered by the desk's "
                                    f"staff; {principal.user} files through the application", user=principal.user)
    for name in STAFF_ONLY if not staff else ():
        if name in given:
            raise PermissionDeniedError(f"{name}: entered by staff only", user=principal.user)
    for name in ENGINE_ONLY if not engine else ():
        if name in given:
            raise PermissionDeniedError(f"{name}: set by the mailbox intake only", user=principal.user)
    _clean_lapor(given)
    spec = service.complaints
    related = _related_ticket(app, principal, staff, given.get(spec.related_ticket_field))
    if related is not None:
        given[spec.related_ticket_field] = related.id
    layanan = given.get(spec.related_service_field)
    if layanan is not None:
        concerned = app.catalog.get(str(layanan)) if str(layanan) in app.catalog else None
        if concerned is None or concerned.complaints is not None:
            raise _refuse(spec.related_service_field, f"bukan layanan katalog: {str(layanan)[:63]!r} (not a service "
                                                      f"of the catalog; known: {', '.join(_concernable(app))})")
        if related is not None and related.service_id != concerned.id:
            raise _refuse(spec.related_service_field, f"tiket {related.id} adalah layanan {related.service_id}, "
                                                      f"bukan {concerned.id}")
    elif related is not None:
        given[spec.related_service_field] = related.service_id
    return validate_request(service, given, list(kinds))


def form_fields(app: Services, service: Service, principal: Principal) -> tuple[FieldSpec, ...]:
    """The fields ``principal`` may fill in on a form (the portal's): an applicant files through the application
    (no channel to pick, no complainant's name to enter); nobody types the mailbox's Message-ID."""
    staff = app.policy.is_staff(principal)
    hidden = set(ENGINE_ONLY) | (set() if staff else {*STAFF_ONLY, "kanal"})
    return tuple(spec for spec in service.requirements.fields if spec.name not in hidden)


def _concernable(app: Services) -> list[str]:
    return [s.id for s in app.catalog.services() if s.complaints is None]


def default_title(fields: Mapping[str, Any]) -> str:
    body = " ".join(str(fields.get("isi") or "").split())
    head = body[:80] + ("..." if len(body) > 80 else "")
    return f"{_JENIS.get(str(fields.get('jenis')), 'Pengaduan')}: {head or '-'}"


def submit(app: Services, service: Service, principal: Principal, title: str | None, fields: Mapping[str, Any],
           attachments: list[AttachmentUpload]) -> Ticket:
    """File the complaint as ``principal`` (spbe itself for the mailbox) and return its ticket."""
    if service.complaints is None:
        raise NotFoundError(f"service {service.id} takes no complaints", service=service.id)
    if principal == Principal.engine():
        app.policy.authorize_engine_open(principal, service)
    else:
        app.policy.authorize_open(principal, service)
    cleaned = admit(app, service, principal, fields, tuple(a.kind for a in attachments if a.kind))
    title = validate_title(title or default_title(cleaned))
    validate_attachments(service, attachments)
    variant = service.sla.select(cleaned)
    draft = TicketDraft(service_id=service.id, title=title, requester=principal.user, fields=cleaned,
                        attachments=tuple(attachments), sla_variant=variant.id)
    ticket = app.tickets.create(draft)
    app.audit.append(principal.user, "complaint.submit", ticket.id,
                     {"service": service.id, "kanal": cleaned.get("kanal"), "jenis": cleaned.get("jenis"),
                      "anonim": cleaned.get(service.complaints.anonymous_field) is True,
                      "attachments": [a.name for a in attachments]} | principal.audit_data())
    return ticket


__all__ = ["ENGINE_USER", "admit", "complaints_service", "default_title", "form_fields", "router_role", "submit"]
