"""The one context every document and notification template is rendered with.

Templates are written by people who read SOPs, not Python, so they get plain dicts and lists with
Indonesian keys, built here from the ticket, the catalog entry, the recorded job results and the
timeline. Nothing here formats for display beyond what cannot be done in a template; dates stay
datetimes for the ``tanggal``/``waktu`` filters of `toolkit.documents`.

Context keys (templates use exactly these):

``tiket``
    ``id``, ``judul``, ``status`` (``open`` ...), ``status_label`` (Indonesian), ``dibuka`` (datetime),
    ``sla_varian`` (id), ``data``: list of ``{nama, label, nilai}`` in the catalog's field order, and
    ``isian``: field name → value. A ``confidential`` field's value is ``"[dirahasiakan]"`` in both
    unless the viewer holds ``koordinator-layanan`` or ``csirt`` (the SOPs guarantee the reporter's
    secrecy; documents are read by the applicant).
``layanan``
    ``id``, ``nama``, ``penyelenggara``, ``pengaduan`` (list), ``jaminan`` (list), ``produk`` (list),
    ``sla``: ``{id, label, durasi (timedelta), tenggat (deadline datetime)}`` of the ticket's SLA
    variant (``durasi``/``tenggat`` are None for a variant the catalog no longer has).
``pemohon``
    ``{username, nama, jabatan, opd, email, dikenal}``; for a user the directory does not know,
    ``nama`` is the username, ``opd`` the ticket's ``instansi`` field and ``dikenal`` false.
``pihak``
    role id → ``{username, nama, jabatan, opd, email, peran, ditetapkan}`` of the first person with the
    role, for every role of the service and the Diskominfo roles that sign documents. Nobody with the
    role gives a dotted line for a handwritten name and ``ditetapkan`` false: a signature block is
    still printable and signed by hand, as paper berita acara are.
``hasil``
    step id → ``{judul_langkah, ringkasan, fakta, selesai, durasi_s, berhasil, berubah, artefak, job_id,
    percobaan}`` for every step with a succeeded job (``fakta`` is the action's ``facts`` unchanged).
``langkah``
    the service's steps in order: ``{id, no, judul, pelaksana, jenis, keluaran, status, status_label,
    selesai, pelaku, catatan}`` (``keluaran``: the SOP's outputs of the step, e.g. a document's name);
    ``status`` is ``selesai`` | ``gagal`` | ``dilewati`` | ``belum``. A step is done
    by a ``step_completed`` event (or an approval, a completeness check, the opening event for the
    first step, or a succeeded job); ``catatan`` is the note recorded with it.
``catatan_langkah``
    step id → the note of the step's latest completion (for the human steps a berita acara cites).
``riwayat``
    the timeline: ``{waktu, pelaku, jenis, jenis_label, teks, langkah}``, ``pelaku`` a display name.
``lampiran``
    the ticket's attachments: ``{nama, jenis, ditambahkan}``.
``sekarang``
    ``now``.
``zona_waktu``
    ``{nama, label}`` of the office's zone (``Asia/Makassar``, ``WITA``): the service's own, else the one
    given, else none (the renderer's, i.e. the deployment's, applies); the date filters read it.
``nomor_dokumen``
    ``nomor_dokumen("BA-INST")`` → ``"BA-INST/<ticket id>/<year in the office's zone>"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from toolkit.documents import MarkdownText, nama_peran, zone_context
from toolkit.domain.catalog.models import StepKind, TimeUnit
from toolkit.domain.catalog.roles import RoleBook, RoleTrait
from toolkit.domain.confidentiality import hidden_users, privileged
from toolkit.domain.decisions import effective_fields, effective_sla_variant
from toolkit.domain.tickets.models import EventKind, Ticket, TimelineEvent
from toolkit.domain.workflow import WorkingTime
from toolkit.errors import NotFoundError
from toolkit.ports.directory import Directory, Person
from toolkit.ports.jobs import Job, JobState
from toolkit.worktime.calendars import DEFAULT_ZONE, LocalZone, default_calendars, local_zone

REDACTED = MarkdownText("[dirahasiakan]")
UNSIGNED = MarkdownText("....................................")
SYSTEM_ACTORS = {"spbe": "Sistem", "engine": "Sistem", "worker": "Sistem", "system": "Sistem"}

STATUS_LABELS = {"open": "Dibuka", "in_progress": "Dalam proses", "deferred": "Ditunda", "closed": "Ditutup"}
STEP_STATUS_LABELS = {"selesai": "Selesai", "gagal": "Gagal", "dilewati": "Tidak diperlukan",
                      "belum": "Belum"}
EVENT_LABELS = {
    "opened": "Tiket dibuka", "comment": "Komentar", "checked": "Pemeriksaan kelengkapan",
    "approved": "Persetujuan", "deferred": "Penundaan", "step_started": "Langkah dimulai",
    "step_completed": "Langkah selesai", "step_failed": "Langkah gagal", "step_skipped": "Langkah dilewati",
    "attachment": "Lampiran", "assigned": "Penugasan", "status": "Perubahan status",
    "notification": "Notifikasi", "escalated": "Eskalasi",
}
_COMPLETING = {EventKind.STEP_COMPLETED, EventKind.APPROVED, EventKind.CHECKED}


def build_context(
    *,
    ticket: Ticket,
    service: Any,
    prior: Mapping[str, Job],
    timeline: Iterable[TimelineEvent],
    directory: Directory,
    now: datetime,
    roles: RoleBook,
    viewer_roles: frozenset[str] = frozenset(),
    zone: LocalZone | None = None,
    calendar: WorkingTime | None = None,
) -> dict[str, Any]:
    """``roles`` is the catalog's role book: who signs, who may see a confidential reporter, and how each
    role is written come from the deployment's roles.yaml, not from the packaged one. ``zone``: the
    deployment's (``settings.worktime``), used when the service names no zone of its own; ``calendar``: the
    office calendar the SLA deadline is counted on (None: the default settings' for the service's zone)."""
    service_zone = getattr(service, "timezone", None)
    office = zone if not service_zone or (zone is not None and zone.name == service_zone) else local_zone(service_zone)
    events = sorted(timeline, key=lambda e: e.seq)
    ticket = ticket.model_copy(update={"fields": effective_fields(ticket.fields, events),  # with decisions
                                       "sla_variant": effective_sla_variant(ticket.sla_variant, events)})
    people = _People(directory, roles, hidden_users(roles, service, ticket, viewer_roles))
    hasil = _results(service, prior)
    langkah = _steps(service, ticket, events, hasil, people)
    return {
        "tiket": _ticket(ticket, service, privileged(roles, viewer_roles)),
        "layanan": _service(service, ticket, calendar),
        "pemohon": _requester(ticket, people),
        "pihak": _parties(service, people),
        "hasil": hasil,
        "langkah": langkah,
        "catatan_langkah": {s["id"]: s["catatan"] for s in langkah if s["catatan"]},
        "riwayat": [_event(e, people) for e in events],
        "lampiran": [{"nama": a.name, "jenis": a.kind, "ditambahkan": a.added_at}
                     for a in ticket.attachments],
        "sekarang": now,
        **({"zona_waktu": zone_context(office)} if office is not None else {}),
        "nomor_dokumen": document_number(ticket.id, now, office or DEFAULT_ZONE),
    }


def document_number(ticket_id: str, now: datetime, zone: LocalZone = DEFAULT_ZONE) -> Callable[[str], str]:
    """Numbers are per ticket and year so a re-rendered document keeps its number; the year is
    the one in the office's zone, as printed on the document's date line."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    year = aware.astimezone(zone.zone).year

    def nomor_dokumen(prefix: str) -> str:
        return f"{prefix}/{ticket_id}/{year}"

    return nomor_dokumen


class _People:
    """Directory lookups, once per user: a timeline names the same few people many times."""

    def __init__(self, directory: Directory, roles: RoleBook, hidden: frozenset[str] = frozenset()) -> None:
        self._directory = directory
        self.roles = roles
        self._labels = roles.labels()
        self._cache: dict[str, Person | None] = {}
        self.hidden = hidden  # a confidential reporter: shown as [dirahasiakan] (toolkit.domain.confidentiality)

    def role_name(self, role: str) -> str:
        return nama_peran(role, self._labels)

    def person_dict(self, person: Person, role: str | None = None) -> dict[str, Any]:
        return {"username": person.username, "nama": person.name, "jabatan": person.title or "-",
                "opd": person.opd or "-", "email": person.email or "-",
                "peran": self.role_name(role) if role else None, "ditetapkan": True, "dikenal": True}

    def get(self, username: str) -> Person | None:
        if username not in self._cache:
            try:
                self._cache[username] = self._directory.person(username)
            except NotFoundError:
                self._cache[username] = None
        return self._cache[username]

    def display(self, username: str) -> str:
        if username in self.hidden:
            return REDACTED
        if username in SYSTEM_ACTORS:
            return SYSTEM_ACTORS[username]
        person = self.get(username)
        return person.name if person is not None else username

    def first_with(self, role: str) -> Person | None:
        found = self._directory.people_with_role(role)
        return found[0] if found else None


def _display_value(value: Any) -> Any:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    return value


def _ticket(ticket: Ticket, service: Any, privileged: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    specs = list(service.requirements.fields)
    known = {spec.name for spec in specs}
    for spec in specs:
        value = ticket.fields.get(spec.name)
        if spec.confidential and not privileged and value not in (None, ""):
            value = REDACTED
        values[spec.name] = value
        rows.append({"nama": spec.name, "label": spec.label, "nilai": _display_value(value)})
    for name in sorted(set(ticket.fields) - known):  # a field the catalog no longer declares
        if not privileged:
            continue  # unknown means unclassified: show it only to those who may see confidential data
        values[name] = ticket.fields[name]
        rows.append({"nama": name, "label": name, "nilai": _display_value(ticket.fields[name])})
    return {
        "id": ticket.id, "judul": ticket.title, "status": str(ticket.status),
        "status_label": STATUS_LABELS.get(str(ticket.status), str(ticket.status)),
        "dibuka": ticket.created_at, "sla_varian": ticket.sla_variant, "data": rows, "isian": values,
    }


def _service(service: Any, ticket: Ticket, calendar: WorkingTime | None = None) -> dict[str, Any]:
    variants = getattr(getattr(service, "sla", None), "variants", ()) or ()
    variant = next((v for v in variants if v.id == ticket.sla_variant), None)
    return {
        "id": service.id, "nama": service.name, "penyelenggara": service.provider,
        "pengaduan": list(service.complaint_channels), "jaminan": list(service.guarantees),
        "produk": list(getattr(service, "products", ()) or ()),
        "sla": {"id": ticket.sla_variant, "label": variant.label if variant else ticket.sla_variant,
                "durasi": variant.duration if variant else None,
                "tenggat": _deadline(service, ticket, variant, calendar) if variant else None},
    }


def _deadline(service: Any, ticket: Ticket, variant: Any, calendar: WorkingTime | None) -> datetime:
    """The SLA's deadline as the workflow counts it (hari kerja on the office's calendar), without pauses."""
    office = calendar if calendar is not None else default_calendars().for_service(service)
    return office.deadline(ticket.created_at, variant.duration, getattr(variant, "unit", TimeUnit.KALENDER))


def _requester(ticket: Ticket, people: _People) -> dict[str, Any]:
    if ticket.requester in people.hidden:
        return {"username": REDACTED, "nama": REDACTED, "jabatan": "-", "opd": "-", "email": "-",
                "peran": "Pelapor", "ditetapkan": True, "dikenal": False, "sapaan": "Pelapor"}
    person = people.get(ticket.requester)
    if person is not None:
        applicant = min(people.roles.with_trait(RoleTrait.APPLICANT) - people.roles.with_trait(RoleTrait.REPORTER))
        data = people.person_dict(person, applicant)
        if data["opd"] == "-" and ticket.fields.get("instansi"):
            data["opd"] = ticket.fields["instansi"]
        return data
    return {"username": ticket.requester, "nama": ticket.requester, "jabatan": "-",
            "opd": ticket.fields.get("instansi") or "-", "email": ticket.fields.get("kontak_email") or "-",
            "peran": "Pemohon", "ditetapkan": True, "dikenal": False}


def _parties(service: Any, people: _People) -> dict[str, dict[str, Any]]:
    roles = dict.fromkeys((*getattr(service, "roles", ()), *people.roles.ordered_with_trait(RoleTrait.SIGNS_DOCUMENTS)))
    parties: dict[str, dict[str, Any]] = {}
    for role in roles:
        person = people.first_with(role)
        if people.hidden and role in people.roles.with_trait(RoleTrait.REPORTER):
            person = None  # no reporter's name in a document others read
        parties[role] = people.person_dict(person, role) if person is not None else {
            "username": None, "nama": UNSIGNED, "jabatan": "-", "opd": "-", "email": "-",
            "peran": people.role_name(role), "ditetapkan": False, "dikenal": False,
        }
    return parties


def _results(service: Any, prior: Mapping[str, Job]) -> dict[str, dict[str, Any]]:
    titles = {step.id: step.title for step in service.steps}
    results: dict[str, dict[str, Any]] = {}
    for step_id, job in prior.items():
        if job.state != JobState.SUCCEEDED or job.result is None:
            continue
        result = job.result
        results[step_id] = {
            "judul_langkah": titles.get(step_id, step_id),
            "ringkasan": result.get("summary", ""),
            "fakta": result.get("facts") or {},
            "selesai": job.finished_at,
            "durasi_s": result.get("duration_s"),
            "berhasil": bool(result.get("ok", True)),
            "berubah": list(result.get("changed") or []),
            "artefak": [a.get("name") for a in result.get("artifacts") or [] if isinstance(a, Mapping)],
            "job_id": job.id,
            "percobaan": job.attempt,
        }
    return results


def _note(event: TimelineEvent, *, human: bool) -> str:
    """The desk stores the engineer's own words in ``data['note']`` (an approver's in ``reason``) and
    the rendered comment in ``text``; the note is what a berita acara quotes. For an automated step
    the text is the whole result comment, which is not a note."""
    if event.kind in (EventKind.APPROVED, EventKind.CHECKED):
        return str(event.data.get("reason") or "")
    if event.kind != EventKind.STEP_COMPLETED:
        return ""
    note = event.data.get("note")
    if note:
        return str(note)
    return event.text if human else ""


def _steps(service: Any, ticket: Ticket, events: list[TimelineEvent], hasil: Mapping[str, Any],
           people: _People) -> list[dict[str, Any]]:
    done: dict[str, TimelineEvent] = {}
    failed: dict[str, TimelineEvent] = {}
    skipped: set[str] = set()
    first = service.steps[0].id if service.steps else None
    for event in events:
        if event.kind == EventKind.OPENED and first is not None:
            done.setdefault(first, event)
        elif event.step_id and event.kind in _COMPLETING:
            done[event.step_id] = event
            failed.pop(event.step_id, None)
        elif event.step_id and event.kind == EventKind.STEP_FAILED and event.step_id not in done:
            failed[event.step_id] = event
        elif event.step_id and event.kind == EventKind.STEP_SKIPPED:
            skipped.add(event.step_id)
    steps: list[dict[str, Any]] = []
    for step in service.steps:
        applies = step.applies_to(ticket.fields) if hasattr(step, "applies_to") else True
        completion = done.get(step.id)
        result = hasil.get(step.id)
        if completion is not None or result is not None:
            status = "selesai"
        elif not applies or step.id in skipped:
            status = "dilewati"
        elif step.id in failed:
            status = "gagal"
        else:
            status = "belum"
        finished = completion.at if completion is not None else (result["selesai"] if result else None)
        steps.append({
            "id": step.id, "no": step.sop_no, "judul": step.title, "pelaksana": people.role_name(step.actor),
            "jenis": str(step.kind), "keluaran": list(getattr(step, "outputs", ()) or ()),
            "status": status, "status_label": STEP_STATUS_LABELS[status],
            "selesai": finished,
            "pelaku": people.display(completion.actor) if completion is not None else None,
            "catatan": _note(completion, human=step.kind == StepKind.HUMAN) if completion is not None else "",
        })
    return steps


def _event(event: TimelineEvent, people: _People) -> dict[str, Any]:
    kind = str(event.kind)
    return {"waktu": event.at, "pelaku": people.display(event.actor), "jenis": kind,
            "jenis_label": EVENT_LABELS.get(kind, kind), "teks": event.text, "langkah": event.step_id}
