"""A real Dovecot IMAP server on loopback, started once per session, and apps wired to it.

Private configuration and state under a temporary directory, one passwd-file user, plaintext login allowed
(loopback only), a Maildir per test user. Mail is delivered with IMAP APPEND, as a mail server would file it.
Skipped, saying why, when the dovecot binary is not installed (Debian: dovecot-imapd; scripts/setup.sh)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.smtp_sink import free_port
from toolkit.bootstrap import App
from toolkit.settings import load_settings

MAIL_PASSWORD = "CANARY-imap-9d1f3b7e"  # noqa: S105 - a canary: searched for in every output
MAIL_USER = "pengaduan"


@dataclass(frozen=True)
class Dovecot:
    port: int
    root: Path

    def imap(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(MAIL_USER, MAIL_PASSWORD)
        return conn

    def deliver(self, raw: bytes) -> None:
        conn = self.imap()
        try:
            status, _ = conn.append("INBOX", None, None, raw)
            assert status == "OK"
        finally:
            conn.logout()

    def clear(self) -> None:
        conn = self.imap()
        try:
            conn.select("INBOX")
            conn.store("1:*", "+FLAGS", "(\\Deleted)")
            conn.expunge()
        except imaplib.IMAP4.error:
            pass
        finally:
            conn.logout()

    def unseen(self) -> int:
        conn = self.imap()
        try:
            conn.select("INBOX")
            _, data = conn.search(None, "UNSEEN")
            return len((data[0] or b"").split())
        finally:
            conn.logout()


def _config(root: Path, port: int, user: str, group: str) -> str:
    return f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = spbe-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _reachable_parent() -> Path:
    """A temporary directory whose every ancestor others may traverse: Dovecot's auth process (user dovecot) reads
    the passwd file and the mail user its home below it. The system's /tmp is not always one (mode 1700 seen)."""
    for candidate in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):  # noqa: S108 - searched, then mkdtemp
        path = Path(candidate).resolve()
        if path.is_dir() and all(p.stat().st_mode & 0o001 for p in (path, *path.parents)):
            return path
    pytest.skip("no temporary directory that dovecot's own users may reach (/tmp, /var/tmp, /dev/shm)")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd; scripts/setup.sh installs it)")
    mail_user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    group = "nogroup" if os.geteuid() == 0 else str(os.getegid())
    root = Path(tempfile.mkdtemp(prefix="spbe-dovecot-", dir=_reachable_parent()))
    root.chmod(0o755)  # the mail user (nobody) reaches its home through it
    (root / "home").mkdir()
    (root / "run").mkdir()
    if os.geteuid() == 0:
        shutil.chown(root / "home", mail_user, group)
    (root / "passwd").write_text(f"{MAIL_USER}:{{PLAIN}}{MAIL_PASSWORD}\n")
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port, mail_user, group))
    server = Dovecot(port=port, root=root)
    try:  # stopped and removed also when it never answers
        subprocess.run([binary, "-c", str(conf)], check=True, timeout=30)
        deadline = time.monotonic() + 20
        while True:
            try:
                server.imap().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text()[-2000:]
                    raise RuntimeError(f"dovecot did not start: {log}") from None
                time.sleep(0.1)
        yield server
    finally:
        pid_file = root / "run" / "master.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            for _ in range(50):
                if not pid_file.exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Iterator[Dovecot]:
    """The session's server with an empty INBOX for this test."""
    dovecot.clear()
    yield dovecot
    dovecot.clear()


@pytest.fixture
def mail_app(state_dir: Path, mailbox: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The packaged catalog, the complaints mailbox on the test's Dovecot, the password a secret reference."""
    monkeypatch.setenv("SPBE_TEST_IMAP_PASSWORD", MAIL_PASSWORD)
    settings = load_settings(
        state_dir=state_dir, secrets={"imap_password": {"ref": "env:SPBE_TEST_IMAP_PASSWORD"}},
        mailbox={"kind": "imap", "options": {"host": "127.0.0.1", "port": mailbox.port, "security": "plain",
                                             "username": MAIL_USER, "password_secret": "imap_password"}})
    app = App(settings)
    yield app
    app.close()


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    """The packaged catalog and directory, no mailbox."""
    application = App(load_settings(state_dir=state_dir))
    yield application
    application.close()
