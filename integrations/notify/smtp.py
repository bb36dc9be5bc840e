"""`Notifier` by e-mail (SMTP, optional STARTTLS and login), for escalations to supervisors.

The message is built with `email.message.EmailMessage`, which refuses a header with a line break, and
the recipients are validated models: nothing from a ticket can add a header or a recipient. The
password is a named secret (``settings.secrets``), resolved when sending and never logged. A server
that cannot be reached raises `UnavailableError` so the caller retries; recipients without an
address are reported as skipped rather than silently dropped.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import quote

from pydantic import Field

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, UnavailableError
from toolkit.ports.notifier import Delivery, Notification
from toolkit.ports.tickets import TicketSystem
from toolkit.secret_types import SecretName


class SmtpOptions(AdapterOptions):
    """``notifier.options`` of smtp. The password is never an option, only the name of a secret."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str = Field(default="spbe@localhost", min_length=3, max_length=254)
    sender_name: str = Field(default="Layanan SPBE", max_length=128)
    starttls: bool = False
    username: str | None = Field(default=None, max_length=254)
    password_secret: SecretName | None = Field(default=None,
                                               description="the settings.secrets entry holding the SMTP password")
    timeout_s: float = Field(default=10.0, gt=0, le=600)


class SmtpNotifier:
    channel = "smtp"
    Options = SmtpOptions

    def __init__(self, *, settings: Any, tickets: TicketSystem | None = None, host: str = "127.0.0.1",
                 port: int = 25, sender: str = "spbe@localhost", sender_name: str = "Layanan SPBE",
                 starttls: bool = False, username: str | None = None, password_secret: str | None = None,
                 timeout_s: float = 10.0) -> None:
        if not 0 < int(port) < 65536:
            raise ConfigurationError(f"smtp port {port} is out of range")
        if "\n" in sender or "\r" in sender or "@" not in sender:
            raise ConfigurationError("smtp sender must be one e-mail address")
        self._settings = settings
        self.host, self.port, self.sender, self.sender_name = host, int(port), sender, sender_name
        self.starttls, self.username, self.password_secret = starttls, username, password_secret
        self.timeout_s = timeout_s

    def message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name, self.sender))
        message["To"] = ", ".join(formataddr((r.name, r.email)) for r in notification.recipients if r.email)
        message["Subject"] = notification.subject
        message["Message-ID"] = make_msgid(idstring=notification.key.replace(":", ".")[:60], domain="spbe.local")
        message["X-SPBE-Ticket"] = notification.ticket_id
        body = notification.body
        portal = getattr(self._settings, "portal", None)  # settings.portal.url: the ticket's page, if configured
        link = portal.ticket_url(quote(notification.ticket_id, safe="")) if portal is not None else None
        if link:
            message["X-SPBE-Ticket-URL"] = link
            body = f"{body.rstrip()}\n\nLihat tiket di portal: {link}\n"
        message.set_content(body, charset="utf-8")
        return message

    def send(self, notification: Notification) -> Delivery:
        reachable = [r for r in notification.recipients if r.email]
        skipped = tuple(r.username for r in notification.recipients if not r.email)
        if not reachable:
            return Delivery(channel=self.channel, skipped=skipped)
        message = self.message(notification)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    if not self.password_secret:
                        raise ConfigurationError("smtp username given without password_secret")
                    password = self._settings.secret(self.password_secret)
                    smtp.login(self.username, password.get_secret_value())
                refused = smtp.send_message(message, from_addr=self.sender,
                                            to_addrs=[str(r.email) for r in reachable])
        except (OSError, smtplib.SMTPException) as exc:
            raise UnavailableError(f"smtp {self.host}:{self.port} unavailable: {type(exc).__name__}: {exc}",
                                   host=self.host, port=self.port) from None
        delivered = tuple(r.username for r in reachable if str(r.email) not in refused)
        bounced = tuple(r.username for r in reachable if str(r.email) in refused)
        return Delivery(channel=self.channel, delivered=delivered, skipped=skipped + bounced)
