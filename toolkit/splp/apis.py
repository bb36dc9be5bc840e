"""The SPLP's API register: which APIs exist, who provides (and so approves access to) each, and limits.

SOP 004 step 3 is the *API provider's* approval ("Penyedia API memberikan persetujuan"): a holder of
the role ``penyedia-api`` for one agency's API must not approve access to another agency's data. The
register (``settings.splp_register``; the shipped one is ``inventory/splp_apis.yml``) names each API's
providers; `check_provider` is called by the service desk when the approval is recorded and again by the
issuing action before anything is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.domain import yaml_doc
from toolkit.domain.catalog.models import Service
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.ports.gateway import check_gateway_name

RATE_FIELD = "rate_limit_per_menit"


class ApiEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    name: str
    opd: str
    providers: tuple[str, ...] = Field(min_length=1)
    max_rate_limit_per_minute: int = Field(default=600, ge=1, le=100000)
    data: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_gateway_name(value, "api id")


class ApiRegister(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    apis: tuple[ApiEntry, ...]

    def get(self, api_id: str) -> ApiEntry:
        for api in self.apis:
            if api.id == api_id:
                return api
        raise NotFoundError(f"API '{api_id}' is not in the SPLP register; known: "
                            f"{', '.join(a.id for a in self.apis)}", api=api_id)


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> ApiRegister:
    try:
        data = yaml_doc.safe_load(path.read_text(encoding="utf-8"))
        return ApiRegister.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"SPLP API register {path} is invalid: {exc}") from None


def load_register(path: Path) -> ApiRegister:
    """The register at ``path`` (``settings.splp_register``), re-read when the file changes."""
    return _load(path, path.stat().st_mtime if path.exists() else 0.0)


def check_provider(service: Service, fields: dict[str, Any], actor: str, *, register: Path) -> None:
    """Where the catalog scopes approvals to an API's providers (SPLP), only a provider of the requested
    API may approve; other services pass. The policy checks this when the approval is recorded and when
    the engine reads it back; the issuing action checks once more before anything is created."""
    if service.approval_scope is None:
        return
    api = load_register(register).get(str(fields.get(service.approval_scope.provider_of_field, "")))
    if actor not in api.providers:
        raise PermissionDeniedError(
            f"only a provider of API '{api.id}' ({api.opd}) may approve this request; {actor} is not one",
            user=actor, api=api.id, providers=list(api.providers))


def check_register(service: Service, fields: Mapping[str, Any], *, register: Path) -> None:
    """Intake for a service scoped to an API (SPLP): the API must be in the register and the quota within
    that API's limit. The issuing action refuses both, but only after the provider approved; the applicant
    should hear it when asking."""
    if service.approval_scope is None:
        return
    field = service.approval_scope.provider_of_field
    api_id = str(fields.get(field, ""))
    try:
        api = load_register(register).get(api_id)
    except NotFoundError:
        known = ", ".join(a.id for a in load_register(register).apis)
        raise InvalidInputError(f"{field}: API '{api_id}' tidak terdaftar di SPLP / is not in the SPLP register; "
                                f"known: {known}", errors=[(field, "not in the SPLP register")]) from None
    rate = fields.get(RATE_FIELD)
    if isinstance(rate, int) and rate > api.max_rate_limit_per_minute:
        raise InvalidInputError(
            f"{RATE_FIELD}: {rate}/menit melebihi batas {api.max_rate_limit_per_minute}/menit untuk API '{api.id}' / "
            f"is above the {api.max_rate_limit_per_minute}/min allowed for API '{api.id}'",
            errors=[(RATE_FIELD, f"at most {api.max_rate_limit_per_minute}")])

