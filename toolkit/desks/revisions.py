"""A return (dikembalikan) and a resubmission (diajukan ulang) made in an outside desk, as spbe's own commands.

- **Return**: the koordinator moves the desk issue to the mapped status and names what is missing, in the
  rule's ``missing_field`` or as bullet lines of the note (`toolkit.desks.revision_input`). The names go to
  `toolkit.commands.revision.return_for_revision`, which asks the policy (the completeness check's role) and
  validates the names and the note again. A return that names nothing the service requires is refused with a
  note listing what the service expects.
- **Resubmit**: the applicant fixes the request in the desk (attaches the missing files) and moves it to the
  mapped status. The issue is read again exactly as at opening (`toolkit.desks.desk_request`) and judged by the
  same validation (`toolkit.commands.desk.admit`: the catalog's pydantic models, the attachment rules); the new
  files go to `toolkit.commands.revision.resubmit`, which lets only the requester resubmit a returned request.
  spbe keeps the request as filed (the ticket store has no field edits: a changed field is a new request, as
  through the CLI), so a field that now differs from the ticket's is refused, naming the field, not applied.

Every refusal is a `DeskRefusal` (an `InvalidInputError`) carrying its Bahasa Indonesia text for the desk note;
the intake notes it, audits it and moves the status back, as for any refused decision.
"""

from __future__ import annotations

from toolkit.commands import revision
from toolkit.commands.desk import admit
from toolkit.desks.desk_request import RequestReader
from toolkit.desks.mapping import DecisionRule, DeskMapping
from toolkit.desks.revision_input import companion_note, labels, read_return
from toolkit.domain.principal import Principal
from toolkit.engine.services import EngineServices
from toolkit.errors import InvalidInputError
from toolkit.ports.desk import DeskChange, DeskIssue

MAX_NAMED = 5  # unknown items named in a refusal; the rest are counted


class DeskRefusal(InvalidInputError):
    """A desk decision refused before (or instead of) its command, with the note's text in Bahasa Indonesia."""

    def __init__(self, message: str, why: str, **details: object) -> None:
        super().__init__(message, **details)
        self.why = why


def _quoted(items: list[str]) -> str:
    shown = ", ".join(repr(item[:60]) for item in items[:MAX_NAMED])
    return shown + (f" (dan {len(items) - MAX_NAMED} lainnya)" if len(items) > MAX_NAMED else "")


class DeskRevisions:
    def __init__(self, app: EngineServices, mapping: DeskMapping, reader: RequestReader) -> None:
        self.app, self.mapping, self.reader = app, mapping, reader

    def give_back(self, rule: DecisionRule, ticket_id: str, principal: Principal, issue: DeskIssue,
                  change: DeskChange, changes: list[DeskChange]) -> None:
        service = self.app.catalog.get(self.app.tickets.get(ticket_id).service_id)
        field = rule.missing_field
        read = read_return(service, self.mapping.fields.get(service.id, {}),
                           issue.fields.get(field, "") if field else "", companion_note(change, changes))
        expected = "; ".join(labels(service))
        if read.unknown:
            raise DeskRefusal(f"desk field {field!r} lists what is not a requirement of {service.id}",
                              f"kolom '{field}' memuat isian yang bukan persyaratan layanan {service.id}: "
                              f"{_quoted(list(read.unknown))}. Persyaratan layanan ini: {expected}.",
                              errors=[(field or "missing", "unknown requirement")])
        note = read.note or f"Permohonan dikembalikan melalui {self.desk} (perubahan {change.id})."
        try:  # with nothing named, the command still asks the policy and the ticket's state first
            revision.return_for_revision(self.app, ticket_id, principal, list(read.missing), note)
        except InvalidInputError as exc:
            if read.missing:
                raise
            where = f"kolom '{field}' atau sebagai butir catatan" if field else "butir catatan"
            raise DeskRefusal(str(exc), f"tidak ada kekurangan yang dikenali. Sebutkan persyaratan yang kurang pada "
                                        f"{where} (mis. '- Surat permohonan'); persyaratan layanan {service.id}: "
                                        f"{expected}.", errors=[("missing", "required")]) from None

    def resubmit(self, ticket_id: str, principal: Principal, issue: DeskIssue, change: DeskChange) -> None:
        ticket = self.app.tickets.get(ticket_id)
        service = self.app.catalog.get(ticket.service_id)
        fields = self.reader.fields(issue, service.id)
        uploads = self.reader.attachments(issue, service.id, skip={a.name for a in ticket.attachments})
        kinds = [a.kind for a in ticket.attachments if a.kind] + [u.kind for u in uploads if u.kind]
        cleaned = admit(service, fields, kinds, register=self.app.settings.splp_register)
        changed = sorted(k for k in set(cleaned) | set(ticket.fields) if cleaned.get(k) != ticket.fields.get(k))
        if changed:
            desk_names = {name: desk_field for desk_field, name in self.mapping.fields.get(service.id, {}).items()}
            named = ", ".join(f"'{desk_names.get(k, k)}'" for k in changed)
            raise DeskRefusal(f"fields changed since the request was filed: {', '.join(changed)}",
                              f"isian {named} berbeda dari permohonan yang tercatat. spbe menyimpan permohonan "
                              "sebagaimana diajukan: kembalikan isian tersebut, atau ajukan permohonan baru bila "
                              "isiannya memang berubah.", errors=[(k, "changed") for k in changed])
        note = change.note.strip() or f"Diajukan ulang melalui {self.desk} (perubahan {change.id})."
        revision.resubmit(self.app, ticket_id, principal, note, uploads)

    @property
    def desk(self) -> str:
        return self.mapping.name
