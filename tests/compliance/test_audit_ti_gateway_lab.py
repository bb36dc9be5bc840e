"""The Audit TI loop of issue 14 point 7 on the lab's REAL Express Gateway (and the Keycloak FAKE: Keycloak
cannot run here): the test misconfigures the gateway, `run_profile` finds it, an Audit TI ticket opens, the
identify and plan jobs run and attach the plan, the Kepala Bidang approves, the remediation job changes the
gateway, the verify job checks again and the ticket closes by itself; and a remediation that Keycloak breaks
half-way is rolled back and reported on a ticket that stays open.

Everything is built by the composition root from the lab's settings (`settings_for`): no compliance part is
handed in. The gateway is the session's, shared with other tests: what others left there is found too (their
consumers have no ticket in this test's state), so assertions name only what this test made, and the end
undoes the applied plan (the one stored on the ticket's remediation job) and deletes this test's consumers.

The orphan's key is a canary planted through Express Gateway's admin API: it opens the proxy, so it is a
real secret, and it must reach no comment, attachment, job log, audit entry or file of the state directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.splp.helpers import LETTER, fields
from tests.support.audit_ti import current_step, work_off
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET, keycloak  # noqa: F401 - a fixture
from tests.support.keycloak_fake.seed import DEFAULT_REALM
from tests.support.keycloak_fake.server import KeycloakFake
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.compliance import run_profile
from toolkit.compliance.gathering import RemediationPlan
from toolkit.domain.tickets.models import TicketStatus
from toolkit.errors import PermissionDeniedError
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.ports.jobs import Job, JobState
from toolkit.ports.state_records import IssuedCredential

pytestmark = [pytest.mark.lab]
API = "kependudukan"  # a service endpoint the lab's gateway publishes
PROFILE = "splp"
RULE_IDS = ["SPLP-KONSUMEN-01", "SPLP-KREDENSIAL-01", "SPLP-RUTE-01", "SPLP-OAUTH2-01"]
CANARY = "CANARYauditTiGatewayOrphan5d27b3"  # noqa: S105 - Express Gateway keys are alphanumeric
ANALYST = as_lab("hendra")  # analis-sistem-informasi-jaringan: runs checks
HEAD = as_lab("kabid")  # kepala-bidang-ti: the role the Audit TI catalog entry names for the plan


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Misconfigured:
    """What this test did to the shared gateway (and the register): one offender per rule of ``splp``, and a
    consumer with a live SPLP ticket that no remediation may touch."""
    app: App
    url: str
    orphan: str = field(default_factory=lambda: _name("yatim"))
    ticketed: str = field(default_factory=lambda: _name("simpus"))
    expired: str = field(default_factory=lambda: _name("lama"))
    revoked: str = field(default_factory=lambda: _name("dicabut"))
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    undone: bool = False  # the test undid the applied plan itself

    @property
    def target(self) -> str:
        return self.app.settings.gateway.kind

    def secrets(self) -> list[str]:
        return [CANARY, KEYCLOAK_ADMIN_SECRET, *(secret for _, secret in self.keys.values())]

    def status(self, consumer: str) -> int:
        key_id, secret = self.keys[consumer]
        return requests.get(f"{self.url}/pasien", headers={"Authorization": f"apiKey {key_id}:{secret}"},
                            timeout=10).status_code

    def statuses(self) -> tuple[int, int, int]:
        """The proxy's answer to the orphan's canary key, the expired key and the ticketed consumer's key."""
        return self.status(self.orphan), self.status(self.expired), self.status(self.ticketed)

    def route_limit(self) -> int | None:
        return next(r for r in self.app.gateway.list_routes() if r.api == API).default_per_minute

    def client_enabled(self) -> bool:
        return self.app.identity.get_client(self.revoked).enabled


def _register_row(world: Misconfigured, ticket: str, consumer: str, key_id: str, issued_at: datetime,
                  expires_at: datetime, oauth2_client: str | None = None) -> IssuedCredential:
    return IssuedCredential(ticket_id=ticket, api=API, consumer=consumer, consumer_id=f"id-{consumer}",
                            gateway=world.app.gateway.name, kind="key-auth", key_id=key_id, masked="****abcd",
                            per_minute=5, endpoint=world.url, applicant="andi", oauth2_client=oauth2_client,
                            issued_at=issued_at, expires_at=expires_at)


def _misconfigure(app: App, admin_url: str) -> Misconfigured:
    gw = app.gateway
    world = Misconfigured(app=app, url=gw.ensure_route(API).url)  # the route has no limit for every consumer
    desk.open_ticket(app, "splp", as_lab("andi"), "Akses API kependudukan", fields(world.ticketed), [LETTER])
    for consumer in (world.ticketed, world.expired):
        gw.ensure_consumer(consumer)
        cred = gw.issue_key_credential(consumer)
        gw.restrict_to_api(consumer, API)
        world.keys[consumer] = (cred.key_id, cred.secret.get_secret_value())
    gw.set_rate_limit(world.ticketed, API, 50)
    user = gw.ensure_consumer(world.orphan)  # no ticket stands behind it
    planted = requests.post(f"{admin_url}/credentials", timeout=10, json={
        "consumerId": user.id, "type": "key-auth",
        "credential": {"keySecret": CANARY, "scopes": [f"api-{API}"]}})
    assert planted.status_code in (200, 201), planted.text
    world.keys[world.orphan] = (str(planted.json()["keyId"]), CANARY)
    now = datetime.now(UTC)
    app.state.issued.record(_register_row(world, "T-LAMA", world.expired, world.keys[world.expired][0],
                                          now - timedelta(days=400), now - timedelta(days=35)))
    app.identity.ensure_consumer_client(ConsumerClientSpec(client_id=world.revoked, name="Dicabut", api_role=API,
                                                           ticket_id="T-CABUT"))
    app.state.issued.record(_register_row(world, "T-CABUT", world.revoked, "KunciDicabut01", now - timedelta(days=10),
                                          now + timedelta(days=300), oauth2_client=world.revoked))
    app.state.issued.end("T-CABUT", "revoked", actor="csirt", reason="kunci bocor", at=now)
    return world


def _remediation_job(app: App, ticket_id: str) -> Job:
    jobs = [j for j in app.queue.list_jobs(ticket_id=ticket_id) if j.action == "compliance.remediate"]
    assert len(jobs) == 1, jobs
    return jobs[0]


def _applied_plan(app: App, ticket_id: str) -> RemediationPlan:
    """The plan the remediation job ran, as stored on the job (what undo must reverse)."""
    return RemediationPlan.model_validate(_remediation_job(app, ticket_id).plan["remediation"])


@pytest.fixture
def app(lab: LabState, state_dir: Path, keycloak: KeycloakFake,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    assert lab.gateway is not None, lab.warnings
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    built = App(settings_for(lab, state_dir=state_dir,
                             identity={"server_url": keycloak.url, "realm": DEFAULT_REALM, "timeout_s": 5}))
    yield built
    built.close()


def _gateway_state(app: App) -> tuple[object, ...]:
    """Every consumer (active or not, its credentials, groups, limits) and every route with its limits."""
    return (sorted(app.gateway.list_consumers(), key=lambda c: c.consumer.name),
            sorted(app.gateway.list_routes(), key=lambda r: r.api))


@pytest.fixture
def world(app: App, lab: LabState) -> Iterator[Misconfigured]:
    """The misconfigured gateway; afterwards the gateway as before (checked): a plan applied and not undone
    by the test (it stopped part way) is undone, and this test's consumers are deleted. Publishing the route
    comes first and stays (the gateway port removes no route; other SPLP tests publish the same one)."""
    assert lab.gateway is not None
    app.gateway.ensure_route(API)
    before = _gateway_state(app)
    made = _misconfigure(app, lab.gateway.admin_url)
    yield made
    try:
        for job in app.queue.list_jobs():
            if job.action == "compliance.remediate" and job.state == JobState.SUCCEEDED and not made.undone:
                plan = RemediationPlan.model_validate(job.plan["remediation"])
                app.compliance.remediator("gateway").undo(plan, None, lambda _: None)
    finally:
        for consumer in (made.orphan, made.ticketed, made.expired):
            app.gateway.delete_consumer(consumer)
    assert _gateway_state(app) == before


def _everything_shown(app: App, ticket_id: str, state_dir: Path) -> str:
    """Every text a person or a log reader can see of the ticket: comments (and their data), attachments,
    job plans, results and logs, the audit log; and every byte of the state directory."""
    parts = [f"{e.text}\n{e.data}" for e in app.tickets.timeline(ticket_id)]
    parts += [app.tickets.read_attachment(ticket_id, a.name).decode("utf-8", "replace")
              for a in app.tickets.get(ticket_id).attachments]
    for job in app.queue.list_jobs(ticket_id=ticket_id):
        parts.append(job.model_dump_json())
        parts += [line for _, line in app.queue.logs(job.id)]
    parts += [entry.model_dump_json() for entry in app.audit.entries()]
    parts += [p.read_bytes().decode("latin-1") for p in state_dir.rglob("*") if p.is_file()]
    return "\n".join(parts)


def test_an_orphan_consumer_is_ticketed_remediated_after_approval_and_the_ticket_closes_itself(
        world: Misconfigured, app: App, state_dir: Path) -> None:
    assert world.statuses() == (200, 200, 200)  # the canary opens the proxy: a real secret
    report = run_profile(app, app.compliance, ANALYST, PROFILE, ["*"])
    (found,) = report.run.targets
    assert found.target == world.target and [r.rule_id for r in found.failing()] == RULE_IDS
    orphans = next(r for r in found.rules if r.rule_id == "SPLP-KONSUMEN-01").evidence
    assert world.orphan in orphans and world.ticketed not in orphans
    assert report.opened == (report.tickets[world.target],)

    ticket_id = report.tickets[world.target]
    ticket = app.tickets.get(ticket_id)
    assert ticket.service_id == "audit-ti" and ticket.fields["profil"] == PROFILE
    assert ticket.fields["target"] == world.target and ticket.fields["run_id"] == report.run.id
    work_off(app, ticket_id)
    assert current_step(app, ticket_id) == "persetujuan-perbaikan"  # identified and planned; nothing changed yet
    assert world.statuses() == (200, 200, 200) and world.route_limit() is None and world.client_enabled()
    plan_name = f"rencana-perbaikan-{world.target}.txt"
    assert plan_name in [a.name for a in app.tickets.get(ticket_id).attachments]
    preview = app.tickets.read_attachment(ticket_id, plan_name).decode("utf-8")
    assert f"nonaktifkan konsumen {world.orphan} (pembatalan: aktifkan kembali konsumen {world.orphan})" in preview
    assert f"nonaktifkan kredensial {world.keys[world.expired][0]} milik {world.expired}" in preview
    assert f"rute {API}" in preview and f"klien OAuth2 {world.revoked}" in preview
    assert world.ticketed not in preview  # a consumer with a live SPLP ticket is no finding

    with pytest.raises(PermissionDeniedError):
        desk.approve(app, ticket_id, ANALYST, "saya setuju")  # not the role the catalog names
    assert world.statuses() == (200, 200, 200)
    desk.approve(app, ticket_id, HEAD, "Rencana perbaikan gateway disetujui.")
    work_off(app, ticket_id)

    assert _remediation_job(app, ticket_id).state == JobState.SUCCEEDED
    assert world.statuses() == (401, 401, 200)  # the proxy refuses the canary; the ticketed consumer works
    assert world.route_limit() == 600 and not world.client_enabled()
    closed = app.tickets.get(ticket_id)
    assert closed.status == TicketStatus.CLOSED
    assert any(a.name.startswith("laporan_audit_ti") for a in closed.attachments)
    verified = [r for r in app.state.compliance_history.runs(profile=PROFILE) if r.trigger == "ticket"]
    assert verified and verified[-1].trigger_ref == ticket_id
    assert not verified[-1].targets[0].failing() and not verified[-1].targets[0].errors()

    shown = _everything_shown(app, ticket_id, state_dir)
    assert world.orphan in shown  # the scan reads what the ticket carries
    for secret in world.secrets():
        assert secret not in shown

    undone = app.compliance.remediator("gateway").undo(_applied_plan(app, ticket_id), None, lambda _: None)
    assert undone.ok, undone.error
    world.undone = True
    assert world.statuses() == (200, 200, 200)  # the before-state, from the plan stored on the job
    assert world.route_limit() is None and world.client_enabled()


def test_a_remediation_that_keycloak_breaks_is_rolled_back_and_the_ticket_stays_open(
        world: Misconfigured, app: App, keycloak: KeycloakFake, state_dir: Path) -> None:  # noqa: F811
    ticket_id = run_profile(app, app.compliance, ANALYST, PROFILE, ["*"]).tickets[world.target]
    work_off(app, ticket_id)
    desk.approve(app, ticket_id, HEAD, "Disetujui.")
    keycloak.fail(503, path=r"/clients/[^/]+$", method="PUT", times=5)  # the last step (OAuth2) errs
    work_off(app, ticket_id)

    job = _remediation_job(app, ticket_id)
    assert job.state == JobState.FAILED and job.result is not None
    assert job.result["facts"]["rolled_back"] is True and job.result["facts"]["applied"] is False
    logs = "\n".join(line for _, line in app.queue.logs(job.id))
    assert f"undone enable-consumer {world.orphan}" in logs  # the gateway changes ran, then were reversed
    assert world.statuses() == (200, 200, 200)  # back to the before-state
    assert world.route_limit() is None and world.client_enabled()

    ticket = app.tickets.get(ticket_id)
    assert ticket.status != TicketStatus.CLOSED and current_step(app, ticket_id) == "perbaikan"
    texts = [e.text for e in app.tickets.timeline(ticket_id) if e.step_id == "perbaikan"]
    assert any("dibatalkan" in t and "503" in t for t in texts), texts
    assert not any(a.name.startswith("laporan_audit_ti") for a in ticket.attachments)

    shown = _everything_shown(app, ticket_id, state_dir)
    for secret in world.secrets():
        assert secret not in shown
