"""The complaints mailbox over IMAP4rev1 (stdlib ``imaplib``): unread messages by UID, marked ``\\Seen`` when done.

TLS (``security = "tls"``, port 993) or STARTTLS verify the server's certificate with the system's trust store;
``plain`` is accepted by the settings only for a server on loopback. The password is resolved from its secret
reference when the session opens and never reaches a log or an exception: imaplib puts the server's answer in
its errors, not the command, and the errors are re-raised as `UnavailableError` with our own text.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from toolkit.complaints.config import MailboxSettings
from toolkit.errors import UnavailableError
from toolkit.ports.mailbox import MailboxSession, RawMessage
from toolkit.settings import Settings

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


class _Session:
    def __init__(self, conn: imaplib.IMAP4, max_bytes: int) -> None:
        self._conn = conn
        self._max = max_bytes

    def _ok(self, what: str, answer: tuple[str, Any]) -> Any:
        status, data = answer
        if status != "OK":
            raise UnavailableError(f"IMAP {what} refused by the server")
        return data

    def unread(self, limit: int) -> list[RawMessage]:
        data = self._ok("search", self._conn.uid("SEARCH", None, "UNSEEN"))  # type: ignore[arg-type]
        uids = [u.decode() for u in (data[0] or b"").split()][:limit]
        found = []
        for uid in uids:
            sizes = self._ok("fetch size", self._conn.uid("FETCH", uid, "(RFC822.SIZE)"))
            match = _SIZE.search(b" ".join(part for part in sizes if isinstance(part, bytes)))
            size = int(match.group(1)) if match else 0
            if size > self._max:
                found.append(RawMessage(uid=uid, size=size))
                continue
            # BODY.PEEK: reading does not mark it; only mark_done does, after the message was handled.
            parts = self._ok("fetch", self._conn.uid("FETCH", uid, "(BODY.PEEK[])"))
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) == 2), b"")
            found.append(RawMessage(uid=uid, size=len(raw), raw=raw[: self._max + 1]))
        return found

    def mark_done(self, uid: str) -> None:
        self._ok("store", self._conn.uid("STORE", uid, "+FLAGS", "(\\Seen)"))


class ImapMailbox:
    """Constructed by the composition root with the settings and ``settings.complaints.mailbox``."""

    def __init__(self, *, settings: Settings, mailbox: MailboxSettings) -> None:
        self._settings = settings
        self._cfg = mailbox

    def _connect(self) -> imaplib.IMAP4:
        cfg = self._cfg
        if cfg.security == "tls":
            return imaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=ssl.create_default_context(),
                                     timeout=cfg.timeout_s)
        conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout_s)
        if cfg.security == "starttls":
            conn.starttls(ssl_context=ssl.create_default_context())
        return conn

    @contextmanager
    def session(self) -> Iterator[MailboxSession]:
        cfg = self._cfg
        where = f"{cfg.host}:{cfg.port}"
        password = self._settings.secret(cfg.password_secret)
        try:
            conn = self._connect()
        except (OSError, imaplib.IMAP4.error) as exc:
            raise UnavailableError(f"complaints mailbox {where} unreachable: {type(exc).__name__}",
                                   server=where) from None
        try:
            try:
                conn.login(cfg.username, password.get_secret_value())
            except imaplib.IMAP4.error:
                raise UnavailableError(f"complaints mailbox {where}: login refused for {cfg.username}",
                                       server=where) from None
            try:
                status, _ = conn.select(_quoted(cfg.folder))
            except imaplib.IMAP4.error:
                status = "NO"
            if status != "OK":
                raise UnavailableError(f"complaints mailbox {where}: folder {cfg.folder!r} cannot be opened",
                                       server=where)
            yield _Session(conn, cfg.max_message_bytes)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise UnavailableError(f"complaints mailbox {where}: {type(exc).__name__}", server=where) from None
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
