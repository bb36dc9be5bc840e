"""Extra-vars models of the Pusat Data playbooks: the only way ticket fields reach Ansible.

Ticket text is untrusted. Every field is checked here against the same patterns the playbooks assert
again (defence in depth): for ticket fields, the very patterns of `toolkit.domain.catalog.formats` that intake
applied, so nothing the service desk accepted is refused here. Unknown keys are refused, and the models
are frozen so a value cannot change between approval and execution. Secrets are ``SecretStr`` and are
revealed in exactly one place, ``to_extra_vars``, whose result goes straight into ansible-runner's 0600
extravars file.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from toolkit.domain.catalog.formats import FORMATS

_HOSTNAME = FORMATS["server_hostname"].regex
_APP = FORMATS["app_name"].regex
_ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_TICKET = re.compile(r"[A-Za-z0-9._-]{1,64}")
_OPD = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_PATH = re.compile(r"/[A-Za-z0-9._/-]{1,200}")
_TARGET = re.compile(r"[A-Za-z0-9._-]{1,100}")
_PUBKEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._-]{1,100})?"
)


def _full(pattern: re.Pattern[str], value: str, what: str) -> str:
    # fullmatch, never match/$: "$" accepts a trailing newline, which is exactly the injection to stop.
    if not pattern.fullmatch(value):
        raise ValueError(f"invalid {what}: must match {pattern.pattern}")
    return value


def check_hostname(value: str) -> str:
    """RFC 1123 host name or FQDN, lower case, each label 1-63 characters, and at most 64 in total: the
    kernel's limit for the name the provisioning playbook sets."""
    return _full(_HOSTNAME, value, "hostname")


def check_target(value: str) -> str:
    """An inventory host name or pattern as the playbooks take it in ``spbe_target``."""
    return _full(_TARGET, value, "target host pattern")


def check_path(value: str) -> str:
    _full(_PATH, value, "path")
    if ".." in value.split("/"):
        raise ValueError("invalid path: '..' is not allowed")
    return value


def check_cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    """Networks in canonical form; host bits set (10.0.0.1/24) are refused rather than silently fixed."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as exc:
            raise ValueError(f"invalid CIDR {value!r}: {exc}") from exc
    return tuple(out)


def _pattern(pattern: re.Pattern[str], what: str) -> AfterValidator:
    return AfterValidator(lambda value: _full(pattern, value, what))


# One validated type per kind of value, shared by the three models below.
Hostname = Annotated[str, AfterValidator(check_hostname)]
AppName = Annotated[str, _pattern(_APP, "application name")]
AbsPath = Annotated[str, AfterValidator(check_path)]
Cidrs = Annotated[tuple[str, ...], AfterValidator(check_cidrs)]


class _PlaybookVars(BaseModel):
    """Shared shape: frozen, no unknown keys, ``spbe_`` prefixed extra vars, None means "default"."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    ticket: str = Field(description="ticket id, put in labels and file headers")
    target: str | None = Field(
        default=None, description="host pattern; the playbook default is pusat_data_pool"
    )

    @field_validator("ticket")
    @classmethod
    def _ticket(cls, value: str) -> str:
        return _full(_TICKET, value, "ticket id")

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return None if value is None else _full(_TARGET, value, "target host pattern")

    def to_extra_vars(self) -> dict[str, Any]:
        """The playbook's variables; the only place secrets are revealed."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, tuple):
                value = list(value)
            out[f"spbe_{name}"] = value
        return out


class ProvisionVars(_PlaybookVars):
    """Variables of ``playbooks/provision_server.yml``."""

    hostname: Hostname
    app_name: AppName
    app_dir: AbsPath | None = None
    service_account: Annotated[str, _pattern(_ACCOUNT, "account name")] = "spbe-app"
    service_account_pubkey: Annotated[str, _pattern(_PUBKEY, "OpenSSH public key")] | None = None
    mgmt_cidrs: Cidrs | None = Field(default=None, description="None: take them from the inventory")
    monitoring_cidrs: Cidrs | None = None
    web_stack: Literal["nginx"] = "nginx"
    node_exporter_port: int = Field(default=9100, ge=1, le=65535)

    @field_validator("mgmt_cidrs")
    @classmethod
    def _mgmt_not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("mgmt_cidrs must not be empty: the firewall would lock everyone out of SSH")
        return value


class MonitoringVars(_PlaybookVars):
    """Variables of ``playbooks/install_monitoring.yml``."""

    hostname: Hostname
    opd: Annotated[str, _pattern(_OPD, "OPD code")] = Field(description="agency (OPD) code, a Prometheus label")
    node_exporter_port: int = Field(default=9100, ge=1, le=65535)


class BackupVars(_PlaybookVars):
    """Variables of ``playbooks/configure_backup.yml``. ``repr`` and dumps never show the password."""

    app_name: AppName
    app_dir: AbsPath | None = None
    backup_repo: AbsPath | None = None
    backup_password: SecretStr
    backup_hour: int = Field(default=1, ge=0, le=23)
    backup_minute: int = Field(default=30, ge=0, le=59)
    backup_keep_daily: int = Field(default=7, ge=1, le=999)
    backup_keep_weekly: int = Field(default=4, ge=0, le=999)
    backup_keep_monthly: int = Field(default=6, ge=0, le=999)

    @field_validator("backup_password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < 12 or len(secret) > 256:
            raise ValueError("backup password must be 12-256 characters")
        if any(ch in secret for ch in "\r\n\x00"):
            raise ValueError("backup password must be a single line")
        return value
