"""One settings model for the whole toolkit.

Precedence, highest first: keyword arguments (tests, CLI options) > environment variables
(``SPBE_...``, nested with ``__``, e.g. ``SPBE_TICKETS__KIND=embedded``) > the TOML file named by
``SPBE_CONFIG`` (default ``./spbe.toml`` when present) > defaults. Defaults give the embedded mode:
SQLite ticket store, SQLite queue and the roles file, state under ``state_dir``. Templates, playbooks and
the default data files come from the installed package (`spbe_data`), never from a source checkout. What
only a deployment knows (its Ansible and network inventories, its gateway's URLs, where quality probes
run) has no default: it comes from the configuration (the lab writes such a file for itself).

Credentials are never written in the file itself: a `SecretRef` names where to read them
(``env:NAME`` or ``file:/path``), and the resolved value is a `SecretStr` so it does not leak into
reprs, logs or ``spbe config show``. Adapter options are parsed by each adapter's own schema
(`toolkit.adapter_options`), which types its credentials the same way.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

import spbe_data
from toolkit.accounts.config import AccountsSettings
from toolkit.adapter_options import IDENTITY_GROUP, SETTINGS_GROUPS, options_schema, typed_options
from toolkit.audit.config import AuditSettings
from toolkit.complaints.config import ComplaintSettings
from toolkit.compliance.config import ComplianceSettings
from toolkit.containment.config import ContainmentSettings
from toolkit.errors import ConfigurationError
from toolkit.evidence.config import EvidenceSettings
from toolkit.letters.config import DocumentSettings
from toolkit.observability.config import LoggingSettings, MetricsSettings
from toolkit.secret_types import SecretRef as SecretRef  # where it was always imported from
from toolkit.settings_errors import configuration_error
from toolkit.web.config import HttpSettings
from toolkit.web.portal.config import PortalSettings
from toolkit.worktime.config import WorktimeSettings, check_zone

log = logging.getLogger(__name__)
SEGMENT_PROBERS = "spbe.segment_probers"  # registry group of the quality test's SegmentProber


class AdapterSettings(BaseModel):
    """Which adapter implements a port, by registry name, and its options (typed by the adapter's
    schema once they are part of `Settings`)."""

    model_config = ConfigDict(frozen=True)
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)


class WorkerSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    count: int = Field(default=2, ge=1, le=64)
    lease_seconds: float = Field(default=30.0, gt=0.5, le=3600)
    poll_interval: float = Field(default=0.05, gt=0, le=10)
    outbox_retry_base: float = Field(default=1.0, gt=0, le=600)
    outbox_retry_max: float = Field(default=60.0, gt=0, le=3600)
    shutdown_grace_s: float = Field(default=60.0, ge=0, le=3600,
                                    description="on SIGTERM, how long running jobs may finish before they are stopped")
    warm_inventory: bool = Field(default=True, description="parse the Ansible inventory when `spbe serve` starts, "
                                                           "so the first containment does not wait for it")


class EngineSettings(BaseModel):
    """Where jobs run: 'local' (the worker threads of `spbe serve`, the embedded default: no broker) or 'celery'
    (a message per job to a queue per action family, run by `spbe serve --role worker` on any host; the store's
    idempotency key and lease still give the exactly-once effect, see toolkit.engine.distributed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["local", "celery"] = "local"
    broker: SecretRef = Field(default=SecretRef(ref="env:SPBE_BROKER_URL"),
                              description="the broker URL (redis://...), a secret: it may carry a password")
    families: dict[str, str] = Field(
        default_factory=lambda: {"network.": "network", "vpn.": "network", "containment.": "network",
                                 "ansible.": "ansible", "compliance.": "ansible", "recovery.": "ansible",
                                 "evidence.": "evidence"},  # custody: bundles stay on one host (docs/deploy.md)
        description="action-name prefix -> family (its own queue and workers); other actions: 'default'")
    target_fields: tuple[str, ...] = Field(
        default=("target", "switch", "device", "host", "hostname"),
        description="the plan fields naming what a job acts on (a switch, a host): the first one present")
    target_cap: int = Field(default=2, ge=1, le=1000, description="most jobs at once on one target, all workers")
    republish_after_s: float = Field(default=30.0, gt=0, le=3600,
                                     description="a queued job older than this is published again (a lost message)")
    visibility_timeout_s: int = Field(default=3600, ge=5, le=86400,
                                      description="the Redis broker's redelivery time of an unacknowledged message")

    @field_validator("families")
    @classmethod
    def _family_names(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix, family in value.items():
            if not re.fullmatch(r"[a-z0-9_.-]{1,64}", prefix) or not re.fullmatch(r"[a-z0-9_-]{1,32}", family):
                raise ValueError(f"bad family mapping {prefix!r} -> {family!r}")
        return value


class QualityThresholds(BaseModel):
    """The Jaringan Intra quality test (uji kualitas): probes per target and the pass thresholds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    probes: int = Field(default=10, ge=1, le=100, description="probes per target")
    interval_s: float = Field(default=0.2, ge=0.01, le=5.0)
    timeout_s: float = Field(default=1.0, gt=0, le=10.0)
    max_loss_pct: float = Field(default=1.0, ge=0, le=100)
    max_avg_rtt_ms: float = Field(default=50.0, gt=0)
    max_rtt_ms: float = Field(default=200.0, gt=0)


class NetworkSettings(BaseModel):
    """``spbe network`` and the network actions: inventory, fan-out limits and device timeouts (seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    inventory: Path | None = Field(default=None, description="the network inventory (sites, devices, pools, apps)")
    known_hosts: Path | None = Field(default=None, description="SSH host keys the devices must present (an "
                                                               "OpenSSH known_hosts file); None: not checked")
    max_workers: int = Field(default=8, ge=1, le=256, description="devices worked on at once")
    max_devices_per_change: int = Field(default=20, ge=1, le=10000, description="cap on devices one change touches")
    canary: bool = Field(default=False, description="push to one device first and stop if it fails")
    conn_timeout_s: float = Field(default=10.0, gt=0, le=300)
    auth_timeout_s: float = Field(default=10.0, gt=0, le=300)
    read_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    users_per_access_port: int = Field(default=8, ge=1, le=1000,
                                       description="analysis: one access port per this many users")
    quality: QualityThresholds = QualityThresholds()
    prober: str | None = Field(default=None, description="where quality probes run: a SegmentProber's name in "
                                                          "the registry (entry points spbe.segment_probers)")
    prober_options: dict[str, Any] = Field(default_factory=dict, description="the prober's options")

    @field_validator("prober_options")
    @classmethod
    def _typed_prober_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Parsed by the configured prober's own schema, like every adapter's options."""
        prober = info.data.get("prober")
        return typed_options(SEGMENT_PROBERS, prober, value) if prober else value

    def inventory_file(self) -> Path:
        """The configured network inventory; a ConfigurationError says how to set it."""
        if self.inventory is None:
            raise ConfigurationError("no network inventory configured (network.inventory, SPBE_NETWORK__INVENTORY)")
        return self.inventory


class IdentitySettings(BaseModel):
    """The identity provider (Keycloak): where it is and the automation's own admin client. The
    admin client authenticates with the client-credentials grant in ``admin_realm`` (default: the
    same realm) and needs the realm-management roles manage-clients, manage-users, view-realm."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "keycloak"
    server_url: str = Field(pattern=r"^https?://[^\s/@]+(/[^\s@]*)?$")
    realm: str = Field(default="spbe", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    admin_realm: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    admin_client_id: str = Field(default="spbe-automation", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    admin_secret: SecretRef = SecretRef(ref="env:SPBE_IDP_ADMIN_SECRET")
    api_client_id: str = Field(default="spbe-gateway", pattern=r"^[A-Za-z0-9._-]{1,64}$",
                               description="resource-server client holding one client role per API")
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    verify_tls: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _typed_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """The provider's own schema types the options, so a credential among them never prints."""
        kind = info.data.get("kind", "keycloak")
        return options_schema(IDENTITY_GROUP, kind).model_validate(value).kwargs()


class VaultSettings(BaseModel):
    """The secrets vault (`toolkit.vault`). The key is 32 random bytes in urlsafe base64
    (``spbe secret keygen``), read through a secret reference, never written in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: SecretRef = SecretRef(ref="env:SPBE_VAULT_KEY")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SPBE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    deployment: Literal["production", "lab", "demo"] = Field(
        default="production",
        description="production: the CLI acts as the person whose unix_user is the OS account; "
                    "lab and demo also honour --as USER (which proves nothing, so never in production)")
    state_dir: Path = Path("/var/lib/spbe")
    catalog_dir: Path | None = None
    templates_dir: Path = Field(default_factory=lambda: spbe_data.folder("templates"))
    playbooks_dir: Path = Field(default_factory=lambda: spbe_data.folder("playbooks"))
    inventory: Path | None = Field(default=None, description="Ansible inventory of the managed hosts")
    colocation_inventory: Path | None = Field(
        default=None, description="racks, power budgets and switch ports of the colocation product "
                                  "(inventory/colocation/example.yml)")
    roles_file: Path = Field(default_factory=lambda: spbe_data.data_path("inventory", "roles.yml"))
    splp_register: Path = Field(default_factory=lambda: spbe_data.data_path("inventory", "splp_apis.yml"),
                                description="the SPLP API register: which APIs exist and who provides each")
    tickets: AdapterSettings = AdapterSettings(kind="embedded")
    queue: AdapterSettings = Field(
        default=AdapterSettings(kind="sqlite"),
        description="the job queue and outbox: 'sqlite' (state_dir/queue.db, one host) or 'postgres' (shared by "
                    "several hosts; options.dsn_secret names the settings.secrets entry of the DSN, default "
                    "postgres_dsn; options.pool_min/pool_max; schema by `spbe store migrate-schema`)")
    state: AdapterSettings = Field(
        default=AdapterSettings(kind="sqlite"),
        description="the engine's stores (allocations, containment records, issued credentials, escalation "
                    "claims): 'sqlite' keeps them in state_dir/state.db")
    directory: AdapterSettings = AdapterSettings(kind="roles_file")
    gateway: AdapterSettings = Field(
        default=AdapterSettings(kind="express_gateway"),
        description="API gateway for SPLP: express_gateway (options.admin_url and proxy_url), kong or wso2; "
                    "admin credentials as secret names in options")
    identity: IdentitySettings | None = Field(default=None, description="identity provider; None: not configured")
    vault: VaultSettings = VaultSettings()
    audit: AuditSettings = AuditSettings()
    accounts: AccountsSettings = Field(
        default=AccountsSettings(), description="local portal accounts, their login lockout, sessions and "
                                                "personal access tokens (toolkit.accounts)")
    http: HttpSettings = Field(
        default=HttpSettings(), description="the web front door (HTTP API and portal): bind address (loopback by "
                                            "default), root path, trusted proxies, body limit, OIDC bearer tokens")
    portal: PortalSettings = Field(
        default=PortalSettings(), description="the web portal: its public URL (links in notices), cookie Secure "
                                              "flag and the OIDC client of 'Masuk dengan SSO'")
    workers: WorkerSettings = WorkerSettings()
    engine: EngineSettings = Field(default=EngineSettings(), description="where jobs run: 'local' or 'celery' "
                                                                        "(toolkit.engine.distributed)")
    containment: ContainmentSettings = ContainmentSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    worktime: WorktimeSettings = Field(
        default=WorktimeSettings(), description="local time and working days: the deployment's zone and its "
                                                "label (WIB/WITA/WIT), office hours, the cuti bersama file")
    network: NetworkSettings = NetworkSettings()
    mailbox: AdapterSettings | None = Field(
        default=None, description="the complaints mailbox read for e-mailed complaints: 'imap' (options host, port, "
                                  "security tls|starttls|plain, username, password_secret, folder); None: no e-mail")
    complaints: ComplaintSettings = Field(
        default=ComplaintSettings(), description="complaints, suggestions and feedback: the stated response time "
                                                 "(hari kerja) and the IMAP mailbox read for them (toolkit.complaints)")
    extra_actions: tuple[str, ...] = Field(
        default=(), description="'module:attribute' of extra Action objects to register"
    )
    secrets: dict[str, SecretRef] = Field(
        default_factory=lambda: {"backup_password": SecretRef(ref="env:SPBE_BACKUP_PASSWORD")},
        description="named secret references, e.g. backup_password",
    )
    playbook_timeout_s: int = Field(default=1800, ge=10, le=86400)
    monitoring_cidrs: tuple[str, ...] = Field(
        default=(), description="who may scrape node_exporter; empty: the inventory's spbe_monitoring_cidrs")
    management_cidrs: tuple[str, ...] = Field(
        default=(), description="who may reach SSH; empty: the inventory's spbe_mgmt_cidrs")
    notifier: AdapterSettings = Field(
        default=AdapterSettings(kind="timeline"),
        description="where notifications (escalations) go: 'timeline' (the ticket) or 'smtp'")
    evidence: EvidenceSettings = EvidenceSettings()
    documents: DocumentSettings = Field(
        default=DocumentSettings(), description="the PDF documents: letterhead (kop surat) and logo, number patterns "
                                                "per document type (toolkit.letters.config)")
    signing: AdapterSettings = Field(
        default=AdapterSettings(kind="pades"),
        description="electronic signatures: 'pades' (local CA under state_dir/signing, `spbe sign init`) or "
                    "'bsre' (the BSrE TTE service; options.base_url, credentials as secret names)")
    desks_dir: Path | None = Field(
        default=None, description="outside service desks: one mapping file per desk (<name>.yml); none: no desk")
    escalation_interval_s: float = Field(default=60.0, gt=0, le=86400,
                                         description="how often `spbe serve` checks for late steps")
    logging: LoggingSettings = Field(
        default=LoggingSettings(), description="log format (human | json, also `spbe --log-format`) and level "
                                               "(also `spbe --log-level`); records go to stderr, masked")
    metrics: MetricsSettings = Field(
        default=MetricsSettings(), description="Prometheus /metrics of the queue and the desk, served by `spbe serve` "
                                               "(also `spbe serve --metrics HOST:PORT`); loopback only by default")

    @field_validator(*SETTINGS_GROUPS)
    @classmethod
    def _typed_adapter_options(cls, value: AdapterSettings | None, info: ValidationInfo) -> AdapterSettings | None:
        """Options are parsed by the configured adapter's schema here, at the boundary: a credential
        among them is typed from the start, and a wrong value is refused with its key path."""
        if value is None:  # an optional adapter not configured (the complaints mailbox)
            return None
        group = SETTINGS_GROUPS[str(info.field_name)]
        return AdapterSettings(kind=value.kind, options=typed_options(group, value.kind, value.options))

    @field_validator("audit")
    @classmethod
    def _typed_audit_options(cls, value: AuditSettings) -> AuditSettings:
        """``audit.options`` typed by the schema of ``audit.kind`` (registry spbe.audit_logs), as an adapter's."""
        return value.model_copy(update={"options": typed_options("spbe.audit_logs", value.kind, value.options)})

    @model_validator(mode="before")
    @classmethod
    def _compliance_zone(cls, data: Any) -> Any:
        """``compliance.timezone`` defaults to the deployment's zone (``worktime.timezone``) when only that is set."""
        if not isinstance(data, dict) or "worktime" not in data:
            return data
        worktime, compliance = data["worktime"], data.get("compliance", {})
        zone = worktime.get("timezone") if isinstance(worktime, dict) else getattr(worktime, "timezone", None)
        if not isinstance(zone, str):
            return data
        try:
            check_zone(zone)
        except ValueError:
            return data  # worktime.timezone's own validator refuses it, with its key
        if isinstance(compliance, dict) and "timezone" not in compliance:
            return {**data, "compliance": {**compliance, "timezone": zone}}
        if isinstance(compliance, ComplianceSettings) and "timezone" not in compliance.model_fields_set:
            return {**data, "compliance": compliance.model_copy(update={"timezone": zone})}
        return data

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _config_file(settings_cls)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def secret(self, name: str) -> SecretStr:
        ref = self.secrets.get(name)
        if ref is None:
            raise ConfigurationError(f"secret '{name}' is not configured (settings.secrets.{name})", name=name)
        return ref.resolve()

    def effective_inventory(self) -> Path:
        """The Ansible inventory; a ConfigurationError says how to set it (there is no default)."""
        if self.inventory is None:
            raise ConfigurationError("no Ansible inventory configured (inventory, SPBE_INVENTORY)")
        return self.inventory


def _config_file(settings_cls: type[BaseSettings]) -> Path:
    configured = settings_cls.model_config.get("toml_file")
    return Path(str(configured) if configured else os.environ.get("SPBE_CONFIG", "spbe.toml"))


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings; any problem (a malformed ``SPBE_*`` value, a TOML syntax error, an invalid
    value) is a `ConfigurationError` naming the variable, or the file with its line or key, so the
    CLI exits 8 with one line instead of a traceback. ``config_file`` replaces ``$SPBE_CONFIG`` for
    this call only (no process-wide state is changed)."""
    cls: type[Settings] = Settings
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigurationError(f"config file {path} does not exist")

        class FileSettings(Settings):
            model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

        cls = FileSettings
    toml_file = _config_file(cls)
    try:
        settings = cls(**overrides)
    except (ValidationError, SettingsError, tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise configuration_error(exc, toml_file if toml_file.is_file() else None) from None
    log.debug("settings loaded (config file: %s): %r", toml_file if toml_file.is_file() else "none", settings)
    return settings
