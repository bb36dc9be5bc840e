"""``settings.logging`` and ``settings.metrics``: how spbe reports on itself.

The metrics endpoint has no authentication (Prometheus' exposition format has none), and it tells
who opens tickets for which services: it binds to loopback unless an operator says otherwise in
the settings, in writing, with ``allow_non_loopback``; a command-line flag alone cannot open it up.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class LoggingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["human", "json"] = Field(
        default="human",
        description="human: one readable line per record on stderr; json: one JSON object per line (timestamp, "
                    "level, logger, message, thread, pid, and ticket_id/job_id/step_id while a job runs)")
    level: LogLevel | None = Field(
        default=None, description="None: WARNING for one-shot commands, INFO for `spbe serve`; -v lowers it")


def is_loopback(host: str) -> bool:
    """Only literal loopback addresses and ``localhost`` count: a name that resolves to loopback
    today may not tomorrow, and the check must not depend on DNS."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(text: str, example: str = "127.0.0.1:9464") -> tuple[str, int]:
    """``HOST:PORT`` as given to ``spbe serve --metrics`` or ``--http`` (``[::1]:9464`` for IPv6); ValueError,
    showing ``example``, if not."""
    host, sep, port = text.rpartition(":")
    if not sep or not host.strip("[]") or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. {example})")
    return host.strip("[]"), int(port)


class MetricsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="serve Prometheus metrics from `spbe serve` "
                                                     "(also turned on by `spbe serve --metrics HOST:PORT`)")
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255,
                      description="address the metrics endpoint binds to: loopback unless allow_non_loopback")
    port: int = Field(default=9464, ge=0, le=65535, description="port of /metrics; 0 picks a free one (logged)")
    allow_non_loopback: bool = Field(
        default=False, description="set to true to bind a non-loopback address (the endpoint has no authentication: "
                                   "put a firewall or an authenticating proxy in front)")

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> MetricsSettings:
        if not self.allow_non_loopback and not is_loopback(self.host):
            raise ValueError(f"metrics.host {self.host!r} is not a loopback address; the endpoint has no "
                             "authentication: set metrics.allow_non_loopback = true to bind it anyway")
        return self
