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
from typing import Any, Literal

from pydantic import Field, model_validator

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import UnavailableError
from toolkit.ports.mailbox import MailboxSession, RawMessage
from toolkit.secret_types import SecretName
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


class ImapOptions(AdapterOptions):
    """``mailbox.options`` of imap. The password is never an option, only the name of a ``settings.secrets`` entry."""

    host: str = Field(pattern=r"^[A-Za-z0-9.:-]{1,253}$")
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "starttls", "plain"] = Field(
        default="tls", description="'plain' only for a server on loopback (the tests' Dovecot)")
    username: str = Field(min_length=1, max_length=254, pattern=r"^[^\s\x00-\x1f\x7f]+$")
    password_secret: SecretName = Field(description="the settings.secrets entry holding the mailbox password")
    folder: str = Field(default="INBOX", pattern=r"^[A-Za-z0-9._/ -]{1,100}$")
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)

    @model_validator(mode="after")
    def _plain_on_loopback(self) -> ImapOptions:
        if self.security == "plain" and self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("security: 'plain' sends the password in clear; only for a server on loopback")
        return self


class ImapMailbox:
    """Built by the composition root from ``settings.mailbox`` (kind ``imap``); options as `ImapOptions`."""

    Options = ImapOptions

    def __init__(self, *, settings: Settings, **options: Any) -> None:
        self._settings = settings
        self._cfg = ImapOptions.model_validate(options)

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
