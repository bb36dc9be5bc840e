"""Evidence from the lab's affected host (pd-app-01) over real SSH: the playbook, the sealed bundle,
the action as the workflow runs it, and the bad inputs (a path outside the allowed set, a tampered
bundle): each a clear error, nothing changed, the attempt in the audit log."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from lab.sshd import host_exec
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.actions.base import RunContext
from toolkit.at_rest import MAGIC, Sealer, open_artifact
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.evidence import collect_for_ticket, verify_bundle
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.engine.scheduler import action_context
from toolkit.errors import IntegrityError
from toolkit.evidence import bundle as bundles
from toolkit.evidence.paths import EvidencePathError
from toolkit.evidence.verify import verify

pytestmark = [pytest.mark.lab]

CANARY = "CANARY-bukti-lab-2b7d90e4"  # in a log and in a process's argv on the host: never in clear on disk here
LETTER = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                          kind="surat_permohonan")
FIELDS = {"pelapor_nama": "Siti Pelapor", "pelapor_kontak": "siti@example.go.id", "instansi": "Dinas Kesehatan",
          "objek_terdampak": "pd-app-01", "deskripsi": "Halaman depan situs berubah (defacement)."}


def _sh(lab, script: str) -> str:  # type: ignore[no-untyped-def]
    result = host_exec(lab.hosts[0].init_pid, ["sh", "-c", script])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def incident(lab, lab_settings):  # type: ignore[no-untyped-def]
    """A security incident ticket on the lab host, with a planted attacker trace and a planted symlink."""
    _sh(lab, "mkdir -p /var/log/spbe && echo 'Nov 23 10:01:02 sshd[99]: Accepted password for root from 203.0.113.9'"
             " > /var/log/spbe/auth-sim.log && ln -sf /etc/shadow /var/log/spbe/shadow-link"
             " && mkdir -p /srv/apps/web && echo '<h1>hacked</h1>' > /srv/apps/web/index.html")
    app = App(lab_settings)
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes", FIELDS, [LETTER])
    return app, ticket


@pytest.fixture
def canary_on_host(lab):  # type: ignore[no-untyped-def]
    _sh(lab, f"echo 'Nov 23 10:05:00 sshd[99]: Accepted password for {CANARY}' > /var/log/spbe/canary.log"
             f" && setsid sh -c 'sleep 900; true' {CANARY} >/dev/null 2>&1 < /dev/null &")
    yield CANARY
    # "[C]ANARY" matches the planted process's argv but not this shell's own command line
    _sh(lab, f"pkill -f -- '[{CANARY[0]}]{CANARY[1:]}' || true; rm -f /var/log/spbe/canary.log")


def test_cli_collect_seals_a_bundle_that_verifies(lab, incident, canary_on_host) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    result = collect_for_ticket(app, ticket.id, as_lab("rina"), logs=["/var/log/spbe/"],
                                hash_paths=["/srv/apps/web/index.html", "/etc/passwd", "/srv/apps/none.html"])
    manifest = result.manifest
    sealer = Sealer.from_settings(app.settings)

    def plain(rel: str) -> bytes:  # through spbe: the file on disk is ciphertext
        return bundles.read_file(result.bundle_dir, manifest.bundle_id, rel, sealer)

    by_path = {f.path: f for f in manifest.files}
    log = by_path["files/logs/var/log/spbe/auth-sim.log"]
    assert b"203.0.113.9" in plain(log.path) and b"203.0.113.9" not in (result.bundle_dir / log.path).read_bytes()
    assert log.sha256 == log.source_sha256  # hashed on the host and again here, over the plaintext
    assert not any("shadow" in p for p in by_path)  # the planted link was not followed
    assert {"files/volatile/processes.txt", "files/volatile/connections.txt", "files/volatile/logged_in_users.txt",
            "files/hashes.json"} <= set(by_path)
    assert b"sshd" in plain("files/volatile/processes.txt")
    assert canary_on_host.encode() in plain("files/volatile/processes.txt")  # the argv was collected...
    assert canary_on_host.encode() in plain("files/logs/var/log/spbe/canary.log")  # ...and the log
    state_dir = Path(app.settings.state_dir)
    in_clear = [str(p) for p in state_dir.rglob("*") if p.is_file() and canary_on_host.encode() in p.read_bytes()]
    assert in_clear == []  # ...and is nowhere under the state dir in clear (bundle, archive, runner events, WAL)
    hashes = {h.path: h for h in manifest.remote_hashes}
    assert hashes["/srv/apps/web/index.html"].sha256 == bundles.sha256_bytes(b"<h1>hacked</h1>\n")
    assert hashes["/srv/apps/none.html"].status == "missing"
    assert manifest.collected_by.username == "rina" and manifest.host.name == "pd-app-01"
    assert manifest.collector.source_address == lab.hosts[0].root_address  # from where, to where
    assert verify_bundle(app, result.bundle_dir, as_lab("rina")).ok
    # attached to the ticket, and that copy verifies too
    name = f"bukti_{manifest.bundle_id}.tar.gz"
    copy = app.artifacts_dir(ticket.id) / "copy.tar.gz"
    copy.write_bytes(app.tickets.read_attachment(ticket.id, name))
    assert verify(copy, bundles.ledger(app.settings.state_dir)).ok
    actions = [e.action for e in app.audit.entries(ticket_id=ticket.id)]
    assert "evidence.collect" in actions and "evidence.sealed" in actions


def test_the_workflow_action_collects_the_defaults_and_attaches(lab, incident) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    action = app.actions.get("evidence.collect")
    ctx = action_context(app, ticket.id, "analisis-dan-bukti")
    plan = action.plan(ctx)
    assert plan.host == "pd-app-01" and "/var/log/nginx/" in plan.logs
    lines: list[str] = []
    result = action.execute(ctx, plan, RunContext(job_id=1, attempt=1, log=lines.append, should_cancel=lambda: False,
                                                  work_dir=app.artifacts_dir(ticket.id), mask=app.masker,
                                                  services=app))
    assert result.ok, result.summary
    assert [a.kind for a in result.artifacts] == ["bukti_insiden"]
    assert "Paket bukti dilampirkan" in result.comment and result.facts.manifest_sha256 in result.comment
    assert "TASK [Fetch the log files into the bundle]" in "\n".join(lines)
    custody = bundles.read_custody(Path(result.facts.archive["bundle_dir"]))
    assert [c["action"] for c in custody] == ["sealed", "attached"]
    stored = result.artifacts[0].path.read_bytes()  # the job file waiting for the outbox: sealed...
    assert stored.startswith(MAGIC)
    export = app.artifacts_dir(ticket.id) / "export.tar.gz"
    export.write_bytes(open_artifact(stored, app.settings, result.artifacts[0].name))  # ...attached in clear
    assert bundles.sha256_bytes(export.read_bytes()) == result.facts.archive["sha256"]
    assert verify(export, bundles.ledger(app.settings.state_dir)).ok


def test_large_bundles_are_referenced_not_attached(lab, incident, lab_settings) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    small = App(lab_settings.model_copy(update={"evidence": lab_settings.evidence.model_copy(
        update={"attach_max_bytes": 10})}))
    result = collect_for_ticket(small, ticket.id, as_lab("rina"), logs=["/var/log/spbe/auth-sim.log"], hash_paths=[])
    assert not app.tickets.get(ticket.id).attachment(f"bukti_{result.manifest.bundle_id}.tar.gz")
    assert [c["action"] for c in bundles.read_custody(result.bundle_dir)] == ["sealed", "referenced"]
    assert "disimpan di node kendali" in app.tickets.timeline(ticket.id)[-1].text


@pytest.mark.parametrize("path", ["/etc/shadow", "/var/log/spbe/../../etc/shadow", "/var/log/$(id)"])
def test_a_path_outside_the_allowed_set_is_refused_and_audited(lab, incident, path: str) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    before_events = len(app.tickets.timeline(ticket.id))
    before_bundles = sorted(p.name for p in bundles.evidence_root(app.settings.state_dir).iterdir())
    with pytest.raises(EvidencePathError) as caught:
        collect_for_ticket(app, ticket.id, as_lab("rina"), logs=[path])
    assert "refused" in str(caught.value)
    assert len(app.tickets.timeline(ticket.id)) == before_events
    assert sorted(p.name for p in bundles.evidence_root(app.settings.state_dir).iterdir()) == before_bundles
    refused = [e for e in app.audit.entries(ticket_id=ticket.id) if e.action == "evidence.refused"]
    assert refused and refused[-1].data["logs"] == [path] and refused[-1].actor == "rina"


def test_collecting_needs_a_csirt_role(lab, incident) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    with pytest.raises(Exception, match="may not collect evidence"):
        collect_for_ticket(app, ticket.id, as_lab("lina"))
    assert app.audit.entries(ticket_id=ticket.id)[-1].action == "evidence.refused"


def test_a_tampered_bundle_fails_verify_on_the_cli_and_is_audited(lab, incident) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    result = collect_for_ticket(app, ticket.id, as_lab("rina"), logs=["/var/log/spbe/auth-sim.log"], hash_paths=[])
    env = {"SPBE_STATE_DIR": str(app.settings.state_dir), "SPBE_INVENTORY": str(app.settings.inventory)}
    spbe = Spbe(env=env, catch_exceptions=True)
    ok = spbe("evidence", "verify", str(result.bundle_dir), "--as", "rina", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    log = result.bundle_dir / "files/logs/var/log/spbe/auth-sim.log"
    log.write_text("Nov 23 nothing to see\n")
    bad = spbe("evidence", "verify", str(result.bundle_dir), "--as", "rina")
    assert bad.exit_code == IntegrityError.exit_code
    assert "does not verify" in bad.output and "auth-sim.log" in bad.output
    entry = app.audit.entries()[-1]
    assert (entry.action, entry.data["ok"], entry.actor) == ("evidence.verify", False, "rina")
    assert entry.data["problems"][0]["kind"] == "edited"
    # a packed copy with a file added is caught as well
    packed = app.artifacts_dir(ticket.id) / "t.tar.gz"  # an export: the archive in clear
    packed.write_bytes(bundles.archive_bytes(result.bundle_dir, Sealer.from_settings(app.settings)))
    with tarfile.open(packed) as tar:
        names = tar.getnames()
    assert f"{result.bundle_dir.name}/manifest.json" in names
    with pytest.raises(IntegrityError):
        verify_bundle(app, packed, as_lab("rina"))


def test_spbe_evidence_collect_and_list(lab, incident) -> None:  # type: ignore[no-untyped-def]
    app, ticket = incident
    env = {"SPBE_STATE_DIR": str(app.settings.state_dir), "SPBE_INVENTORY": str(app.settings.inventory)}
    spbe = Spbe(env=env, catch_exceptions=True)
    result = spbe("evidence", "collect", ticket.id, "--as", "rina", "--log", "/var/log/spbe/", "--hash", "/etc/passwd",
                  "--json")
    assert result.exit_code == 0, result.output
    sealed = json.loads(result.output)
    assert verify(Path(sealed["bundle"]), bundles.ledger(app.settings.state_dir), Sealer.from_settings(app.settings)).ok
    listing = json.loads(spbe("evidence", "list", "--ticket", ticket.id, "--json").output)
    assert [row["bundle"] for row in listing] == [sealed["bundle_id"]]
    refused = spbe("evidence", "collect", ticket.id, "--as", "rina", "--log", "/root/.bash_history")
    assert refused.exit_code == EvidencePathError.exit_code and "outside the allowed" in refused.output
