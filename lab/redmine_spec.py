"""What a private test Redmine holds (people, roles, statuses, workflow, custom fields), and the handle a
test gets back: pure data, applied by ``lab/redmine_provision.rb`` and started by `lab.redmine.RedmineServer`.

Names that a ticket shows (statuses, roles, custom fields) are Bahasa Indonesia, as an Indonesian service
desk would configure them; Redmine's own default data (English: ``New``, ``Closed``, trackers ``Bug``,
``Feature``, ``Support``) stays as Debian seeded it, so an adapter meets both.

The people are the SOP's actors: ``andi`` files requests (Pemohon), ``sari`` checks them (Koordinator
Layanan), ``kadis`` approves (Kepala Dinas), ``spbe`` is the engine's bot account, and ``tamu`` is a
Redmine member spbe does not know (no mapping to its directory): what an adapter does with an event by an
unknown person is then testable.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Catalog

PROJECT_IDENTIFIER = "spbe-uji"
PROJECT_NAME = "SPBE Uji"

NEW, CHECKED, APPROVED, REJECTED, DEFERRED, DONE, CLOSED = (
    "New", "Diperiksa", "Disetujui", "Ditolak", "Ditunda", "Selesai", "Closed")
# The completeness check's return to the applicant (SOP: dikembalikan, what is missing in the Kekurangan field or the
# note's bullets) and the applicant's answer once the request is fixed.
RETURNED, RESUBMITTED = "Dikembalikan", "Diajukan ulang"
# (name, is_closed); New and Closed come from Redmine's default data and are only looked up.
STATUSES = ((NEW, False), (CHECKED, False), (APPROVED, False), (REJECTED, True), (DEFERRED, False),
            (DONE, True), (CLOSED, True), (RETURNED, False), (RESUBMITTED, False))

PEMOHON, KOORDINATOR, KEPALA_DINAS, BOT = "Pemohon", "Koordinator Layanan", "Kepala Dinas", "Bot SPBE"
_READ = ["view_issues", "view_issue_watchers", "view_members"]
# Redmine lets a role change an issue's status only along its workflow (WorkflowTransition rows, for every
# tracker): who may move a ticket where mirrors the SOP. The bot executes the engine's decisions, so it may
# move any status to any other; people only along their own step. Redmine quirk: a status change also needs
# ``edit_issues`` (or ``edit_own_issues`` on one's own issue); with ``add_issue_notes`` alone the new status
# is dropped silently (204, status unchanged), as it is for a transition outside the workflow.
ROLES: tuple[dict[str, Any], ...] = (
    {"name": PEMOHON, "issues_visibility": "own", "assignable": False,
     "permissions": [*_READ, "add_issues", "edit_own_issues", "add_issue_notes", "edit_own_issue_notes"],
     # The applicant answers a deferral by resubmitting, and a return once the request is fixed (spbe's mirror
     # shows a returned ticket as the desk status of spbe's "deferred", so from there too).
     "transitions": [(DEFERRED, NEW), (RETURNED, RESUBMITTED), (DEFERRED, RESUBMITTED)]},
    {"name": KOORDINATOR, "issues_visibility": "all", "assignable": True,
     "permissions": [*_READ, "add_issues", "edit_issues", "add_issue_notes", "edit_own_issue_notes",
                     "view_private_notes", "set_notes_private", "add_issue_watchers", "manage_issue_relations"],
     "transitions": [(NEW, CHECKED), (NEW, REJECTED), (CHECKED, DEFERRED), (CHECKED, REJECTED),
                     (DEFERRED, CHECKED), (APPROVED, DONE),  # the koordinator closes (SOP: penutupan)
                     (NEW, RETURNED), (RESUBMITTED, CHECKED), (RESUBMITTED, RETURNED)]},
    {"name": KEPALA_DINAS, "issues_visibility": "all", "assignable": True,
     "permissions": [*_READ, "edit_issues", "add_issue_notes", "edit_own_issue_notes", "view_private_notes"],
     # The desk lets the head return a new request too; spbe's policy (the check step's role) refuses it.
     "transitions": [(CHECKED, APPROVED), (CHECKED, REJECTED), (CHECKED, DEFERRED), (NEW, RETURNED)]},
    {"name": BOT, "issues_visibility": "all", "assignable": True, "permissions": "all",
     "transitions": [(a, b) for a, _ in STATUSES for b, _ in STATUSES if a != b]},
)

# (login, first name, last name, roles in the project)
PEOPLE = (
    ("andi", "Andi", "Pratama", [PEMOHON]),
    ("sari", "Sari", "Wulandari", [KOORDINATOR]),
    # The acting head who also files a request of his own office (inventory/roles.yml): approving it himself
    # is what the policy's "never approve your own ticket" must stop, whatever Redmine's workflow allows.
    ("kadis2", "Hasan", "Basri", [PEMOHON, KEPALA_DINAS]),
    ("kadis", "Bambang", "Sutrisno", [KEPALA_DINAS]),
    ("tamu", "Tamu", "Tanpa Peran", [PEMOHON]),
    ("spbe", "Bot", "SPBE", [BOT]),
)

LAYANAN, INSTANSI, SPESIFIKASI, KEKURANGAN = "Layanan", "Instansi", "Spesifikasi", "Kekurangan"
# The Pusat Data request's own fields, as a desk form would have them (lab/desks/redmine.yml maps them to the
# catalog's fields): name, Redmine field format, list values.
PUSAT_DATA_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Perihal", "string", ()),
    ("Produk", "list", ("hosting-aplikasi", "colocation", "layanan-cloud", "backup", "vpn")),
    ("Nama aplikasi", "string", ()),
    ("Nama host", "string", ()),
    ("Jumlah vCPU", "int", ()),
    ("Memori (GB)", "int", ()),
    ("Penyimpanan (GB)", "int", ()),
    ("Backup", "list", ("ya", "tidak")),
    ("UAT", "list", ("ya", "tidak")),
    ("Email kontak", "string", ()),
    ("Keterangan", "text", ()),
)


def _custom_fields() -> list[dict[str, Any]]:
    """Issue custom fields; ``Layanan``'s values are the catalog's service ids, read from the catalog so
    they cannot drift from it."""
    catalog = load_catalog(None)
    services = sorted(service.id for service in catalog.services())
    return [
        {"name": LAYANAN, "format": "list", "values": services, "required": False},
        # What a return names as missing: several of the Pusat Data requirements, by their catalog labels.
        {"name": KEKURANGAN, "format": "list", "multiple": True, "values": missing_values(catalog),
         "required": False},
        {"name": INSTANSI, "format": "string", "required": False},
        {"name": SPESIFIKASI, "format": "text", "required": False},
        *({"name": name, "format": fmt, "required": False} | ({"values": list(values)} if values else {})
          for name, fmt, values in PUSAT_DATA_FIELDS),
    ]


def missing_values(catalog: Catalog) -> list[str]:
    """``Kekurangan``'s possible values: the Pusat Data requirements' labels (fields, then attachments), read
    from the catalog so they cannot drift from it."""
    requirements = catalog.get("pusat-data").requirements
    return [spec.label or spec.name for spec in requirements.fields] + \
        [spec.label or spec.name for spec in requirements.attachments]


def provision_spec() -> dict[str, Any]:
    """The runner's input. Passwords are random per instance (Redmine wants one for a local account; the
    tests use API keys) and travel back in the handle, never into a log."""
    return {
        "settings": {"rest_api_enabled": "1", "login_required": "1", "default_projects_public": "0",
                     "self_registration": "0", "text_formatting": "common_mark"},
        "admin_password": secrets.token_urlsafe(18),
        "statuses": [{"name": name, "closed": closed} for name, closed in STATUSES],
        "roles": [dict(role) for role in ROLES],
        "project": {"identifier": PROJECT_IDENTIFIER, "name": PROJECT_NAME, "modules": ["issue_tracking"]},
        "custom_fields": _custom_fields(),
        "users": [{"login": login, "firstname": first, "lastname": last, "roles": roles,
                   "mail": f"{login}@spbe-uji.example.go.id", "password": secrets.token_urlsafe(18)}
                  for login, first, last, roles in PEOPLE],
    }


@dataclass(frozen=True)
class RedmineUser:
    login: str
    id: int
    api_key: str = field(repr=False)
    password: str = field(repr=False)


@dataclass(frozen=True)
class RedmineHandle:
    """A provisioned, running private Redmine: where it is, who is in it, and the ids an adapter maps to.
    ``users`` holds the people of `PEOPLE` and ``admin``; API keys are secrets (kept out of ``repr``)."""

    base_url: str
    project_id: int
    project_identifier: str
    users: Mapping[str, RedmineUser]
    custom_fields: Mapping[str, int]
    statuses: Mapping[str, int]
    trackers: Mapping[str, int]
    roles: Mapping[str, int]

    def api_key(self, login: str) -> str:
        return self.users[login].api_key

    def headers(self, login: str) -> dict[str, str]:
        """Request headers that act as ``login`` over Redmine's REST API."""
        return {"X-Redmine-API-Key": self.users[login].api_key}


def handle_from(base_url: str, spec: Mapping[str, Any], answer: Mapping[str, Any]) -> RedmineHandle:
    """The handle from the runner's answer (ids, keys) and the spec it applied (passwords)."""
    passwords = {user["login"]: user["password"] for user in spec["users"]} | {"admin": spec["admin_password"]}
    users = {login: RedmineUser(login, int(u["id"]), str(u["api_key"]), passwords[login])
             for login, u in {**answer["users"], "admin": answer["admin"]}.items()}
    return RedmineHandle(
        base_url=base_url, project_id=int(answer["project"]["id"]),
        project_identifier=str(answer["project"]["identifier"]), users=users,
        custom_fields=dict(answer["custom_fields"]), statuses=dict(answer["statuses"]),
        trackers=dict(answer["trackers"]), roles=dict(answer["roles"]))
