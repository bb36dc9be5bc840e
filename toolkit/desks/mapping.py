"""A desk mapping: how one outside service desk's tickets, fields, statuses and accounts mean spbe's.

One YAML file per desk (``desks/<name>.yml`` beside the settings, or ``settings.desks_dir``), validated here
with pydantic and then against the catalog and the directory, so a mapping that names a service, a catalog
field or a person that does not exist is refused when spbe starts, naming the file and the key, and never
half-applied to a live desk. What the desk itself must hold (statuses, fields, accounts, rights) is checked
against the live desk by `spbe desk check` (`toolkit.desks.check`), since it can change after start.

Why the mapping is data and not code: every Diskominfo names its trackers, statuses and custom fields in its
own way (``Disetujui``, ``Approved``, a GLPI validation); the SOP's decisions are the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.domain.catalog.models import Catalog
from toolkit.domain.tickets.models import TicketStatus
from toolkit.domain.yaml_doc import safe_load
from toolkit.errors import ConfigurationError, NotFoundError
from toolkit.ports.directory import Directory
from toolkit.secret_types import SecretName

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_NAME = r"^[a-z][a-z0-9-]{0,39}$"
_DESK_TEXT = r"^[^\r\n\x00]{1,120}$"  # a desk's status, field, project or account name: one line


class Decision(StrEnum):
    """What a change in the desk may mean; each becomes the command of the same name (the CLI's)."""

    CHECK = "check"  # the koordinator found the request complete
    APPROVE = "approve"  # the head of office (or the API provider) approves
    DEFER = "defer"  # the approver defers (ditunda)
    RETURN = "return"  # the koordinator returns an incomplete request to the applicant (dikembalikan)
    RESUBMIT = "resubmit"  # the applicant, having fixed the request in the desk, submits it again
    CLOSE = "close"  # the koordinator closes the ticket
    COMMENT = "comment"  # a note by a mapped person, copied to spbe's timeline


# Decisions only a status reached may mean: a return names what is missing (a desk field or the note's bullet
# lines), a resubmit re-reads the request; neither is a GLPI validation (an approval) nor any note.
_STATUS_ONLY = (Decision.RETURN, Decision.RESUBMIT)


# The ticket status each decision moves a request to (check and comment move none).
LEADS_TO = {Decision.APPROVE: TicketStatus.IN_PROGRESS, Decision.DEFER: TicketStatus.DEFERRED,
            Decision.RETURN: TicketStatus.DEFERRED, Decision.RESUBMIT: TicketStatus.OPEN,
            Decision.CLOSE: TicketStatus.CLOSED}


class Route(BaseModel):
    """Which desk tickets are requests for which catalog service."""

    model_config = _FROZEN
    project: str = Field(pattern=_DESK_TEXT)
    tracker: str | None = Field(default=None, pattern=_DESK_TEXT)
    field: str | None = Field(default=None, pattern=_DESK_TEXT, description="a desk field that names the service")
    value: str | None = Field(default=None, pattern=_DESK_TEXT)
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")

    @model_validator(mode="after")
    def _field_and_value(self) -> Route:
        if (self.field is None) != (self.value is None):
            raise ValueError("'field' and 'value' go together")
        return self


class DecisionRule(BaseModel):
    """A desk change that means a decision: a status reached, or (GLPI) a validation answered.

    ``missing_field`` (only with ``return``): the desk field listing what is missing (a Redmine multi-value
    list whose values are the service's requirement names or labels); when it is not named or is empty, the
    items are the note's bullet lines (``- Surat permohonan``)."""

    model_config = _FROZEN
    decision: Decision
    status_to: str | None = Field(default=None, pattern=_DESK_TEXT)
    validation: str | None = Field(default=None, pattern=r"^(accepted|refused)$")
    note: bool = Field(default=False, description="any note by a mapped person (only with decision 'comment')")
    missing_field: str | None = Field(default=None, pattern=_DESK_TEXT,
                                      description="the desk field listing what is missing (decision 'return')")

    @model_validator(mode="after")
    def _one_trigger(self) -> DecisionRule:
        triggers = [t for t in (self.status_to, self.validation) if t is not None] + (["note"] if self.note else [])
        if len(triggers) != 1:
            raise ValueError("a rule names exactly one of 'status_to', 'validation' or 'note: true'")
        if self.note != (self.decision is Decision.COMMENT):
            raise ValueError("'note: true' goes with decision 'comment', and only there")
        if self.decision in _STATUS_ONLY and self.status_to is None:
            raise ValueError(f"status_to: decision '{self.decision.value}' is a status reached")
        if self.missing_field is not None and self.decision is not Decision.RETURN:
            raise ValueError("missing_field: only a 'return' names the field listing what is missing")
        return self


class WebhookSettings(BaseModel):
    """``scheme`` says how the desk signs: ``spbe`` (HMAC over ``"<timestamp>." + body``, a delivery id header:
    spbe's own form, which Redmine webhook plugins and home-grown desks are set up to send) or ``glpi`` (GLPI
    11's native webhooks, ``src/Webhook.php``: HMAC over ``body + timestamp`` in ``X-GLPI-signature``, the
    timestamp in ``X-GLPI-timestamp``, no delivery id: a replay is recognised by its signature)."""

    model_config = _FROZEN
    secret: SecretName = Field(description="the settings.secrets entry holding the shared HMAC key")
    scheme: Literal["spbe", "glpi"] = "spbe"
    signature_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$",
                                         description="default: X-Spbe-Signature, or X-GLPI-signature for glpi")
    timestamp_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$",
                                         description="default: X-Spbe-Timestamp, or X-GLPI-timestamp for glpi")
    delivery_header: str = Field(default="X-Spbe-Delivery", pattern=r"^[A-Za-z0-9-]{1,64}$")
    window_s: int = Field(default=300, ge=10, le=3600)
    max_body_bytes: int = Field(default=65536, ge=1024, le=1048576)

    @property
    def signature_name(self) -> str:
        return self.signature_header or ("X-GLPI-signature" if self.scheme == "glpi" else "X-Spbe-Signature")

    @property
    def timestamp_name(self) -> str:
        return self.timestamp_header or ("X-GLPI-timestamp" if self.scheme == "glpi" else "X-Spbe-Timestamp")


class DeskMapping(BaseModel):
    model_config = _FROZEN
    name: str = Field(pattern=_NAME)
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="the client: redmine, glpi, rest")
    options: dict[str, Any] = Field(default_factory=dict, description="the client's options (its own schema)")
    bot: str = Field(pattern=_DESK_TEXT, description="the desk account spbe writes as; never read as a decision")
    routes: tuple[Route, ...] = Field(min_length=1)
    fields: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="per service: desk field name -> catalog field name")
    form_in_description: bool = Field(
        default=False, description="also read 'Field: value' lines of the description as desk fields (desks "
                                   "without custom fields, such as GLPI's core: the request form's template)")
    attachments: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="per service: desk file name pattern (glob) -> catalog attachment kind")
    decisions: tuple[DecisionRule, ...] = Field(min_length=1)
    statuses: dict[TicketStatus, str] = Field(
        default_factory=dict, description="spbe's ticket status -> the desk status the mirror sets")
    accounts: dict[str, str] = Field(description="desk account -> directory username")
    poll_interval_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    poll_overlap_s: float = Field(default=120.0, ge=0.0, le=86400.0,
                                  description="how far before the newest record seen a poll looks again "
                                              "(clock skew, records written in the same second)")
    webhook: WebhookSettings | None = None

    @model_validator(mode="after")
    def _coherent(self) -> DeskMapping:
        if self.bot in self.accounts:
            raise ValueError(f"accounts.{self.bot}: the bot account cannot also be a person")
        seen: set[tuple[str, str]] = set()
        for index, rule in enumerate(self.decisions):
            key = (rule.status_to or rule.validation or "note", rule.decision)
            trigger = key[0]
            if any(t == trigger for t, _ in seen):
                raise ValueError(f"decisions.{index}: '{trigger}' already means another decision")
            seen.add(key)
        for index, rule in enumerate(self.decisions):
            if rule.missing_field is not None and any(rule.missing_field in pairs for pairs in self.fields.values()):
                raise ValueError(f"decisions.{index}.missing_field: '{rule.missing_field}' is also a request field")
        return self

    def route(self, project: str, tracker: str | None, fields: dict[str, str]) -> Route | None:
        """The first route the desk ticket matches, or None (an unmapped project: skipped, logged once)."""
        for route in self.routes:
            if route.project != project or (route.tracker is not None and route.tracker != tracker):
                continue
            if route.field is not None and fields.get(route.field) != route.value:
                continue
            return route
        return None

    def person(self, account: str) -> str | None:
        return self.accounts.get(account)

    def statuses_meaning(self, status: TicketStatus) -> frozenset[str]:
        """Every desk status that already says ``status``: the one the mirror would set, and each status a
        decision rule reads as a decision leading there (a request the koordinator moved to *Dikembalikan*
        is deferred in spbe, and must not be moved on to *Ditunda* by the mirror)."""
        meaning = {r.status_to for r in self.decisions
                   if r.status_to is not None and LEADS_TO.get(r.decision) == status}
        mirrored = self.statuses.get(status)
        return frozenset(meaning | ({mirrored} if mirrored else set()))


def _problem(path: Path, exc: ValidationError) -> ConfigurationError:
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    key = ".".join(str(part) for part in first["loc"])
    named = re.match(r"^([A-Za-z0-9_.-]+): (.*)$", message)  # a model check names its own key
    if named:
        key, message = ".".join(p for p in (key, named.group(1)) if p), named.group(2)
    key = key or "(top level)"
    return ConfigurationError(f"desk mapping {path}: {key}: {message}", file=str(path), key=key)


def parse_mapping(path: Path) -> DeskMapping:
    """One mapping file, validated on its own; the file's stem must be the desk's name."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"desk mapping {path} cannot be read: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"desk mapping {path}: (top level): expected a mapping", file=str(path))
    try:
        mapping = DeskMapping.model_validate(data)
    except ValidationError as exc:
        raise _problem(path, exc) from None
    if mapping.name != path.stem:
        raise ConfigurationError(f"desk mapping {path}: name: '{mapping.name}' differs from the file name",
                                 file=str(path), key="name")
    return mapping


def check_against(mapping: DeskMapping, path: Path, catalog: Catalog, directory: Directory) -> None:
    """Refuse a mapping that names what spbe does not have: a service, a catalog field, a person."""

    def fail(key: str, message: str) -> ConfigurationError:
        return ConfigurationError(f"desk mapping {path}: {key}: {message}", file=str(path), key=key)

    known = {s.id for s in catalog.services()}
    for index, route in enumerate(mapping.routes):
        if route.service not in known:
            raise fail(f"routes.{index}.service", f"'{route.service}' is not a service of the catalog")
    for service_id, pairs in mapping.fields.items():
        if service_id not in known:
            raise fail(f"fields.{service_id}", f"'{service_id}' is not a service of the catalog")
        names = {spec.name for spec in catalog.get(service_id).requirements.fields}
        for desk_field, name in pairs.items():
            if name not in names:
                raise fail(f"fields.{service_id}.{desk_field}", f"'{name}' is not a field of {service_id}")
    for service_id, patterns in mapping.attachments.items():
        if service_id not in known:
            raise fail(f"attachments.{service_id}", f"'{service_id}' is not a service of the catalog")
        kinds = {spec.name for spec in catalog.get(service_id).requirements.attachments}
        for pattern, kind in patterns.items():
            if kind not in kinds:
                raise fail(f"attachments.{service_id}.{pattern}", f"'{kind}' is not an attachment of {service_id}")
    for account, username in mapping.accounts.items():
        try:
            directory.person(username)
        except NotFoundError:
            raise fail(f"accounts.{account}", f"'{username}' is not in the directory") from None


def load_mappings(folder: Path | None, catalog: Catalog, directory: Directory) -> dict[str, DeskMapping]:
    """Every ``*.yml`` mapping of the folder (none when there is no folder), checked; refused whole on the
    first problem."""
    if folder is None or not folder.is_dir():
        return {}
    mappings: dict[str, DeskMapping] = {}
    for path in sorted(folder.glob("*.yml")):
        mapping = parse_mapping(path)
        check_against(mapping, path, catalog, directory)
        mappings[mapping.name] = mapping
    return mappings


def desk_names(mappings: Iterable[DeskMapping]) -> list[str]:
    return sorted(m.name for m in mappings)
