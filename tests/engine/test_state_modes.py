"""Everything spbe keeps in its state directory is owner-only: files 0600, directories 0700.

A realistic flow on a fresh state directory, with the permissive umask (022) a test runner, a WSGI
server or an operator's shell may have, so the modes are proven to come from the code: a ticket with
a real attachment opened, checked and approved through the desk and its jobs run by the engine in
this process; every other store spbe keeps created the way its action creates it; then the same
through the CLI and a real `spbe serve` subprocess. The whole tree is walked at the end.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_ACTIONS, TEST_CATALOG, engine_env, spbe_argv
from tests.engine.helpers import approved_ticket
from tests.support.attachment_samples import pdf_bytes
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import attachment_files, desk
from toolkit.engine.escalation import check_once
from toolkit.engine.worker import work_once
from toolkit.evidence import bundle as bundles
from toolkit.network.session import write_backup
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings
from toolkit.vault import generate_key
from toolkit.vpn.keys import KeyStore

SEALED = 0o400  # a sealed evidence manifest: read-only from its creation, on purpose
TEST_ACTION_LOG = "executions.log"  # the test catalog's counting action writes it, not spbe


def loose_entries(root: Path) -> list[str]:
    """Every directory that is not 0700 and every file that is not 0600 (or sealed 0400)."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        mode = stat.S_IMODE(os.lstat(directory).st_mode)
        if mode != 0o700:
            found.append(f"{directory}/ {oct(mode)}")
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) or (name == TEST_ACTION_LOG and Path(directory) == root):
                continue
            if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) not in (0o600, SEALED):
                found.append(f"{path} {oct(stat.S_IMODE(info.st_mode))} {stat.filemode(info.st_mode)}")
    return found


@pytest.fixture
def loose_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """The engine's test service, with the request letter a real service requires."""
    service = yaml.safe_load((TEST_CATALOG / "uji-mesin.yaml").read_text(encoding="utf-8"))
    service["requirements"]["attachments"] = [
        {"name": "surat_permohonan", "label": "Surat permohonan", "media_types": ["application/pdf"]}]
    path = tmp_path / "catalog"
    path.mkdir()
    (path / "uji-mesin.yaml").write_text(yaml.safe_dump(service, allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
    return path


@pytest.fixture
def letter(tmp_path: Path) -> Path:
    path = tmp_path / "surat.pdf"
    path.write_bytes(pdf_bytes())
    return path


def _in_process(state_dir: Path, catalog_dir: Path, letter: Path) -> App:
    settings = load_settings(state_dir=state_dir, catalog_dir=catalog_dir, extra_actions=TEST_ACTIONS,
                             workers={"lease_seconds": 5.0, "poll_interval": 0.02})
    app = App(settings)
    upload = attachment_files.from_path("surat_permohonan", str(letter))
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji berkas", {"instansi": "Dinas Uji"}, [upload])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui untuk pengujian.")
    while work_once(app, "uji") is not None:
        pass
    assert {j.state for j in app.queue.list_jobs(ticket_id=ticket.id)} == {JobState.SUCCEEDED}
    check_once(app)
    assert app.vault.records(ticket.id) == []
    # The other stores, created where and as their actions reach them (the app's state stores).
    assert app.state.containment.list() == [] and app.state.issued.all() == []
    KeyStore.for_state_dir(state_dir).ensure("uji-gateway")
    write_backup(state_dir / "network" / "backups", "sw-uji", "hostname sw-uji\n")
    bundle_id, bundle_dir = bundles.new_bundle(state_dir, ticket.id, ticket.created_at)
    (bundle_dir / "manifest.json").write_bytes(b"{}")  # a stand-in for the sealed manifest
    os.chmod(bundle_dir / "manifest.json", SEALED)
    bundles.append_custody(bundle_dir, "rina", "sealed", {"bundle": bundle_id})
    bundles.pack(bundle_dir, app.artifacts_dir(ticket.id) / f"bukti_{bundle_id}.tar.gz")
    bundles.ledger(state_dir).append("rina", "evidence.sealed", ticket.id, {"bundle": bundle_id})
    return app  # open connections keep the SQLite -wal and -shm files there to be checked


def _through_the_cli_and_serve(state_dir: Path, catalog_dir: Path, letter: Path, env: dict[str, str]) -> None:
    runner = Spbe(state_dir=state_dir, env={k: v for k, v in env.items() if k.startswith("SPBE_")})

    def spbe(*args: str) -> str:
        result = runner(*args)
        assert result.exit_code == 0, result.output
        return result.output

    ticket_id = json.loads(spbe("ticket", "open", "uji-mesin", "--as", "andi", "--title", "Uji CLI", "--json",
                                "-f", "instansi=Dinas Uji", "-a", f"surat_permohonan={letter}"))["id"]
    spbe("ticket", "check", ticket_id, "--as", "sari")
    spbe("ticket", "approve", ticket_id, "--as", "kadis", "--reason", "Disetujui.")
    assert os.umask(0o022) == 0o022  # the CLI's owner-only umask ended with each command

    def done() -> bool:
        jobs = json.loads(spbe("jobs", "list", "--ticket", ticket_id, "--json"))
        return len(jobs) == 2 and {j["state"] for j in jobs} == {"succeeded"}

    _serve_until(env, done)


def _serve_until(env: dict[str, str], done: Callable[[], bool]) -> None:
    """A real `spbe serve` process, stopped with SIGTERM as soon as ``done()``."""
    serve = subprocess.Popen(spbe_argv("serve", "--workers", "1", "--duration", "90"), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not done():
            assert serve.poll() is None, serve.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "spbe serve did not run the jobs"
            time.sleep(0.2)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        serve.stderr.close()  # type: ignore[union-attr]


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_every_state_file_and_directory_is_owner_only(state_dir, catalog_dir, letter, loose_umask, monkeypatch):
    os.chmod(state_dir, 0o755)  # noqa: S103 - an operator's `mkdir -p` (as the demo had it) before spbe ran
    vault_key = generate_key()
    monkeypatch.setenv("SPBE_VAULT_KEY", vault_key)
    app = _in_process(state_dir, catalog_dir, letter)
    assert {"queue.db-wal", "queue.db-shm", "tickets.db-wal", "audit.db-wal", "state.db-wal"} <= {
        p.name for p in state_dir.iterdir()}
    assert loose_entries(state_dir) == []
    env = engine_env(state_dir, SPBE_CATALOG_DIR=str(catalog_dir), SPBE_VAULT_KEY=vault_key)
    _through_the_cli_and_serve(state_dir, catalog_dir, letter, env)
    assert loose_entries(state_dir) == []
    names = {p.name for p in state_dir.iterdir()}
    assert {"tickets.db", "queue.db", "audit.db", "state.db", "artifacts", "evidence", "secrets"} <= names, names
    assert [len(t.attachments) for t in app.tickets.list_tickets()] == [1, 1]


def test_serve_runs_with_an_owner_only_umask(engine_app, engine_settings, loose_umask):
    """The test action asks for 0644 and leaves the rest to the umask: what serve's umask is shows."""
    ticket_id = approved_ticket(engine_app)

    def done() -> bool:
        jobs = engine_app.queue.list_jobs(ticket_id=ticket_id)
        return len(jobs) == 2 and {j.state for j in jobs} == {JobState.SUCCEEDED}

    _serve_until(engine_env(engine_settings.state_dir), done)
    assert stat.S_IMODE((engine_settings.state_dir / TEST_ACTION_LOG).stat().st_mode) == 0o600
