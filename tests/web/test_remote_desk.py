"""The CLI's ticket, job and secret commands against a real server (`spbe login`, then the same commands):
a whole ticket driven by three people from their own machines (each a config home with their token), the
same refusals and exit codes as on the control node, expired and revoked tokens, `spbe logout` revoking
on the server, and the token kept out of every output and log (a canary)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from tests.conftest import TEST_ACTIONS
from tests.support.attachment_samples import pdf_bytes
from tests.support.cli import Spbe
from tests.web.conftest import Front


def _login(front: Front, home: Path, user: str, token: str | None = None) -> Spbe:
    """``user``'s own machine: a config home of its own, logged in with ``user``'s act token."""
    remote = Spbe(env={"XDG_CONFIG_HOME": str(home / user)})
    done = remote("login", "--server", front.url, input=(token or front.token(user)) + "\n")
    assert done.exit_code == 0, done.output
    return remote


def _error(result: Result) -> dict[str, object]:
    """The ``--json-errors`` line of a failed command."""
    line = result.stderr.strip().splitlines()[-1]
    error: dict[str, object] = json.loads(line)
    return error


def _local(front: Front) -> Spbe:
    """The control node's CLI on the server's own state directory and catalog, for comparing refusals."""
    settings = front.app.settings
    return Spbe(state_dir=Path(settings.state_dir), env={
        "SPBE_CATALOG_DIR": str(settings.catalog_dir), "SPBE_EXTRA_ACTIONS": json.dumps(list(TEST_ACTIONS))})


def test_a_whole_ticket_from_three_machines(front: Front, tmp_path: Path) -> None:
    andi, sari, kadis = (_login(front, tmp_path, user) for user in ("andi", "sari", "kadis"))
    (tmp_path / "surat.pdf").write_bytes(pdf_bytes("Surat dari jauh"))
    opened = andi.json("ticket", "open", "uji-web", "--title", "Hosting dari jauh", "-f", "instansi=Dinas Jauh",
                       "-a", f"surat_permohonan={tmp_path / 'surat.pdf'}")
    ticket_id = opened["id"]
    assert opened["requester"] == "andi" and opened["fields"]["instansi"] == "Dinas Jauh"
    assert [a["name"] for a in opened["attachments"]] == ["surat.pdf"]
    # Not a copy of the server's state: the ticket is in the server's store, with the upload as sent.
    stored = front.app.tickets.get(ticket_id)
    assert stored.requester == "andi" and stored.attachments[0].size == len(pdf_bytes("Surat dari jauh"))

    checked = sari("ticket", "check", ticket_id)
    assert checked.exit_code == 0 and "lengkap" in checked.output, checked.output
    approved = kadis("ticket", "approve", ticket_id, "--reason", "Sesuai kebutuhan")
    assert approved.exit_code == 0 and "disetujui oleh kadis" in approved.output, approved.output
    sari("ticket", "comment", ticket_id, "Sedang diproses")

    shown = andi.json("ticket", "show", ticket_id)
    steps = {s["id"]: s["status"] for s in shown["steps"]}
    assert steps["pemeriksaan"] == "done" and steps["persetujuan"] == "done", steps
    assert [e["actor"] for e in shown["timeline"] if e["kind"] == "comment"][-1:] == ["sari"]
    table = andi("ticket", "show", ticket_id, env={"COLUMNS": "80"})
    assert table.exit_code == 0 and ticket_id in table.output and "persetujuan" in table.output
    assert ticket_id in andi("ticket", "list", env={"COLUMNS": "80"}).output

    # The approval queued the ticket's first action: the staff see it, the applicant sees none of the jobs.
    jobs = sari.json("jobs", "list", "--ticket", ticket_id)
    assert [(j["step_id"], j["state"]) for j in jobs] == [("aksi-pertama", "queued")]
    assert sari.json("jobs", "show", str(jobs[0]["id"]))["action"] == "test.counter"
    assert "test.counter" in sari("jobs", "show", str(jobs[0]["id"])).output
    assert "aksi-pertama" in sari("jobs", "list", env={"COLUMNS": "80"}).output
    assert andi("jobs", "list", "--ticket", ticket_id).exit_code == 4
    canceled = sari("jobs", "cancel", str(jobs[0]["id"]))
    assert canceled.exit_code == 0 and "canceled" in canceled.output, canceled.output
    assert front.app.queue.get(jobs[0]["id"]).state.value == "canceled"
    assert sari("jobs", "logs", str(jobs[0]["id"])).exit_code == 0
    assert sari("jobs", "show", "999999").exit_code == 3  # not found, as locally


def test_the_requester_approving_their_own_ticket_is_refused_as_on_the_control_node(front: Front,
                                                                                    tmp_path: Path) -> None:
    # kadis2 is an applicant and an acting kepala dinas: only the own-ticket rule stops this approval.
    ticket_id = front.open_ticket("kadis2")["id"]
    with front.client("sari") as c:
        assert c.post(f"/tickets/{ticket_id}/check").status_code == 200
    remote = _login(front, tmp_path, "kadis2")
    far = remote("--json-errors", "ticket", "approve", ticket_id, "--reason", "Saya setujui sendiri")
    near = _local(front)("--json-errors", "ticket", "approve", ticket_id, "--as", "kadis2", "--reason",
                         "Saya setujui sendiri")
    assert far.exit_code == near.exit_code == 4, (far.output, near.output)
    remote_error, local_error = _error(far), _error(near)
    assert remote_error["error"] == local_error["error"] == "PermissionDeniedError"
    assert str(remote_error["message"]) == f"{front.url}: {local_error['message']}"
    assert front.app.tickets.get(ticket_id).status.value == "open" and front.audit("api.refused")
    # --as proves nothing against a server: refused before anything is sent.
    assert remote("ticket", "approve", ticket_id, "--as", "kadis", "--reason", "x").exit_code == 4


def test_expired_and_revoked_tokens_say_to_log_in_again(front: Front, tmp_path: Path) -> None:
    short = front.token("budi", "act", expires="1h")
    remote = _login(front, tmp_path, "budi", short)
    assert remote("ticket", "list").exit_code == 0
    front.clock.advance(timedelta(hours=2))
    expired = remote("ticket", "list")
    assert expired.exit_code == 4 and "spbe login --server" in " ".join(expired.output.split()), expired.output

    remote = _login(front, tmp_path / "again", "budi", front.token("budi", "act", expires="2h"))
    stored = json.loads((tmp_path / "again" / "budi" / "spbe" / "credentials").read_text())["token"]
    with httpx.Client(base_url=front.api, headers={"Authorization": f"Bearer {stored}"}) as c:
        assert c.delete("/me/token").status_code == 204  # revoked by its own holder, elsewhere
    revoked = remote("ticket", "show", "SPBE-2026-00001")
    assert revoked.exit_code == 4 and "expired or revoked" in " ".join(revoked.output.split())


def test_logout_revokes_the_token_on_the_server(front: Front, tmp_path: Path) -> None:
    token = front.token("budi", "read", expires="3h")
    remote = _login(front, tmp_path, "budi", token)
    credentials = tmp_path / "budi" / "spbe" / "credentials"
    out = remote("logout")
    assert out.exit_code == 0 and "revoked" in out.output and not credentials.exists(), out.output
    with httpx.Client(base_url=front.api, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/me").status_code == 401
    revocations = [e for e in front.audit("token.revoke") if e.actor == "budi"]
    assert revocations and revocations[-1].data["auth"] == "token"
    assert remote("logout").output.strip() == "not logged in"


def test_the_token_never_appears_in_output_or_logs(front: Front, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = front.token("andi", "act", expires="4h")
    secret = token.split("_", 3)[3]  # spbe_pat_<id>_<secret>
    remote = _login(front, tmp_path, "andi", token)
    results = [remote("-vvv", "ticket", "list"), remote("-vvv", "ticket", "show", "SPBE-0000-00000"),
               remote("-vvv", "ticket", "approve", "SPBE-0000-00000", "--reason", "x"),
               remote("-vvv", "jobs", "list"), remote("-vvv", "ticket", "list", "--json")]
    with httpx.Client(base_url=front.api, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.delete("/me/token").status_code == 204
    results += [remote("-vvv", "ticket", "list"), remote("-vvv", "logout")]
    assert [r.exit_code for r in results] == [0, 3, 3, 4, 0, 4, 0]
    assert any(r.name.startswith("httpx") for r in caplog.records)  # the client's own logging was captured
    for text in [r.output for r in results] + [r.stderr for r in results] + [caplog.text] + \
            [json.dumps(e.data, default=str) for e in front.app.audit.entries()]:
        assert secret not in text and token not in text
