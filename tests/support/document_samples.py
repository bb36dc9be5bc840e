"""Documents built from real model instances, as the actions build them: a Pusat Data ticket, its jobs with
results shaped like the playbooks' ``set_stats`` facts, its timeline and a small directory; the renderer over
the repository's templates. Shared by tests/test_documents.py's tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.document_context import build_context
from toolkit.documents import (
    TemplateRenderer,
)
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from toolkit.errors import NotFoundError
from toolkit.ports.directory import Person
from toolkit.ports.jobs import Job, JobState

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Senin 23 November 2026, 08:00 WIB, 09:00 WITA (Gorontalo)
NOW = datetime(2026, 11, 27, 7, 5, tzinfo=UTC)  # Jumat 27 November 2026, 14:05 WIB, 15:05 WITA (Gorontalo)
INJECTION = "{{ 7*7 }} {% for x in range(3) %}x{% endfor %} {{ ''.__class__.__mro__ }}"

CATALOG = load_catalog()


def _catalog_service(service_id: str) -> Any:
    return CATALOG.get(service_id)


def pusat_data_service() -> Any:
    return _catalog_service("pusat-data")


class FakeDirectory:
    """Satisfies `toolkit.ports.directory.Directory` with a fixed list of people."""

    def __init__(self, people: list[Person]) -> None:
        self._people = people

    def person(self, username: str) -> Person:
        for person in self._people:
            if person.username == username:
                return person
        raise NotFoundError(f"no user {username}")

    def people_with_role(self, role: str) -> list[Person]:
        return [p for p in self._people if role in p.roles]


DIRECTORY = FakeDirectory([
    Person(username="rahmat", name="Rahmat Hasan, S.Kom.", roles=frozenset({"pemohon"}),
           email="rahmat@bkd.gorontaloprov.go.id", opd="Badan Kepegawaian Daerah", title="Pranata Komputer"),
    Person(username="sri", name="Sri Wahyuni Mohi, S.T.", roles=frozenset({"koordinator-layanan"}),
           title="Koordinator Layanan SPBE"),
    Person(username="kadis", name="Dr. Ir. Hendra Lamato, M.Si.", roles=frozenset({"kepala-dinas"}),
           title="Kepala Dinas"),
    Person(username="fadli", name="Fadli Pakaya, S.Kom.", roles=frozenset({"tim-pusat-data"}),
           title="Ketua Tim Kerja Pusat Data"),
    Person(username="nurul", name="Nurul Ain Daud, M.Kom.", roles=frozenset({"tim-pengembangan-aplikasi"}),
           title="Ketua Tim Kerja Pengembangan Aplikasi"),
    Person(username="csirt1", name="Andi Yusuf", roles=frozenset({"csirt"}), title="Analis Keamanan"),
])

FIELDS: dict[str, Any] = {
    "instansi": "Badan Kepegawaian Daerah", "perihal": "Permohonan hosting SIMPEG",
    "produk": "hosting-aplikasi", "nama_aplikasi": "simpeg", "hostname": "pd-app-01",
    "web_stack": "nginx", "vcpu": 4, "ram_gb": 8, "disk_gb": 100, "backup": True, "uat": True,
    "kontak_email": "rahmat@bkd.gorontaloprov.go.id",
    "keterangan": f"Mohon segera | {INJECTION}",
}


def make_ticket(**changes: Any) -> Ticket:
    data: dict[str, Any] = {
        "id": "PD-2026-0042", "service_id": "pusat-data", "title": f"Hosting SIMPEG {INJECTION}",
        "requester": "rahmat", "fields": FIELDS, "status": TicketStatus.IN_PROGRESS,
        "sla_variant": "dengan-uat", "created_at": T0, "updated_at": NOW,
    }
    data.update(changes)
    return Ticket(**data)


def ansible_result(playbook: str, host: str, spbe: dict[str, Any], duration: float,
                   changed: int) -> dict[str, Any]:
    facts = {
        "playbook": playbook, "status": "successful", "rc": 0, "duration_s": duration,
        "hosts": {host: {"ok": 12, "changed": changed, "failed": 0, "unreachable": 0, "skipped": 1}},
        "host": host, "address": "10.20.30.41", "spbe": spbe,
    }
    return {"ok": True, "summary": f"{playbook} on {host}: successful", "comment": "(komentar)",
            "facts": facts, "changed": [f"{host}: {changed} changed"], "artifacts": [],
            "duration_s": duration}


PROVISION = {"provision": {"pd-app-01": {
    "ticket": "PD-2026-0042", "hostname": "pd-app-01", "address": "10.20.30.41",
    "service_account": "spbe-app",
    "service_account_key_installed": False, "web_stack": "nginx", "web_stack_version": "1.22.1-9+deb12u1",
    "app_dir": "/srv/apps/simpeg",
    "firewall": {"policy_input": "drop", "ports_open": [22, 80, 443, 9100], "ssh_from": ["10.20.0.0/24"],
                 "node_exporter_from": ["10.20.9.10/32"]},
    "ssh_hardening": {"dropin": "/etc/ssh/sshd_config.d/50-spbe-hardening.conf",
                      "password_authentication": False,
                      "permit_root_login": "prohibit-password", "max_auth_tries": 3},
    "os_release": "Debian 12.8 (bookworm)", "kernel": "6.1.0-28-amd64",
}}}
MONITORING = {"monitoring": {"pd-app-01": {
    "target": "10.20.30.41:9100", "hostname": "pd-app-01", "exporter_version": "1.5.0-1+b6",
    "labels": {"instance_name": "pd-app-01", "opd": "bkd", "ticket": "PD-2026-0042", "service": "pusat-data"},
    "file_sd_file": "", "rules_file": "/etc/prometheus/rules/spbe-pusat-data.yml", "exporter_answered": True,
}}}
BACKUP = {"backup": {"pd-app-01": {
    "ticket": "PD-2026-0042", "repository": "/var/backups/spbe/simpeg", "source": "/srv/apps/simpeg",
    "password_file": "/etc/spbe/backup/simpeg.restic-password", "schedule": "30 1 * * *",
    "schedule_file": "/etc/cron.d/spbe-backup-simpeg", "first_snapshot_id": "4f1c2a9b", "snapshot_count": 1,
    "retention": {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6},
}}}


def make_job(job_id: int, step_id: str, action: str, finished: datetime, result: dict[str, Any]) -> Job:
    return Job(id=job_id, ticket_id="PD-2026-0042", step_id=step_id, action=action,
               idempotency_key=f"PD-2026-0042:{step_id}", idempotent=True, plan={}, state=JobState.SUCCEEDED,
               attempt=1, max_attempts=3, created_at=finished - timedelta(minutes=2),
               started_at=finished - timedelta(minutes=1), finished_at=finished, result=result)


def make_prior(*, backup: bool = True, provision: dict[str, Any] | None = None) -> dict[str, Job]:
    provision = PROVISION if provision is None else provision
    runs = [(1, "instalasi-server", "provision_server", provision, 41.2, 7),
            (2, "instalasi-monitoring", "install_monitoring", MONITORING, 12.5, 4)]
    if backup:
        runs.append((3, "konfigurasi-backup", "configure_backup", BACKUP, 65.0, 9))
    prior = {step: make_job(n, step, f"ansible.{name}", T0 + timedelta(minutes=175 + 5 * n),
                            ansible_result(f"{name}.yml", "pd-app-01", spbe, secs, changed))
             for n, step, name, spbe, secs, changed in runs}
    prior["berita-acara-instalasi-server"] = make_job(4, "berita-acara-instalasi-server", "document.render",
                                                      T0 + timedelta(minutes=200), {
        "ok": True, "summary": "rendered", "comment": "", "facts": {}, "changed": [], "duration_s": 0.1,
        "artifacts": [{"name": "berita_acara_instalasi_server_PD-2026-0042.md", "path": "ba.md",
                       "media_type": "text/markdown", "kind": "berita_acara_instalasi_server"}],
    })
    return prior


def event(seq: int, minutes: int, kind: EventKind, actor: str, text: str = "", step_id: str | None = None,
          **data: Any) -> TimelineEvent:
    return TimelineEvent(seq=seq, ticket_id="PD-2026-0042", at=T0 + timedelta(minutes=minutes), kind=kind,
                         actor=actor, text=text, step_id=step_id, data=data)


def make_timeline() -> list[TimelineEvent]:
    return [
        event(1, 0, EventKind.OPENED, "rahmat", "Tiket dibuka."),
        event(2, 30, EventKind.CHECKED, "sri", "Persyaratan lengkap.", "pemeriksaan-kelengkapan"),
        event(3, 90, EventKind.APPROVED, "kadis", "Disetujui.", "persetujuan-kepala-dinas",
              reason="Sesuai rencana SPBE BKD"),
        event(4, 95, EventKind.STEP_COMPLETED, "spbe", "Koordinasi terkirim.",
              "koordinasi-pengembangan-aplikasi"),
        event(5, 180, EventKind.STEP_COMPLETED, "spbe", "(hasil provisioning)", "instalasi-server"),
        event(6, 185, EventKind.STEP_COMPLETED, "spbe", "(hasil monitoring)", "instalasi-monitoring"),
        event(7, 190, EventKind.STEP_COMPLETED, "spbe", "(hasil backup)", "konfigurasi-backup"),
        event(8, 200, EventKind.STEP_COMPLETED, "spbe", "(berita acara)", "berita-acara-instalasi-server"),
        event(9, 60 * 26, EventKind.STEP_COMPLETED, "nurul", "(komentar langkah)", "instalasi-aplikasi",
              note="SIMPEG v3.2 terpasang di /srv/apps/simpeg; basis data PostgreSQL 15."),
        event(10, 60 * 72, EventKind.STEP_COMPLETED, "nurul", "UAT 50 pengguna serentak lulus | tanpa galat.",
              "uji-fungsionalitas"),
    ]


def context(service: Any, viewer_roles: frozenset[str] = frozenset(), **changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"ticket": make_ticket(), "service": service, "prior": make_prior(),
                            "timeline": make_timeline(), "directory": DIRECTORY, "now": NOW,
                            "viewer_roles": viewer_roles, "roles": CATALOG.roles}
    args.update(changes)
    return build_context(**args)


def repository_renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES, CATALOG.roles)


def render_doc(renderer: TemplateRenderer, template: str, ctx: dict[str, Any]) -> str:
    return renderer.render("documents", template, ctx)


# --- filters ---------------------------------------------------------------------------------------
