"""The SOPs' roles as data (``roles.yaml`` beside the services): ids, how documents name them, and the
traits the toolkit acts on. The core asks "who may see a confidential reporter", "who contains", never
names a role itself, so a province whose SOP gives a duty to another role edits this file, not code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

RoleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=63)]
DEFAULT_ROLES_FILE = Path(__file__).resolve().parent / "roles.yaml"


class RoleTrait(StrEnum):
    APPLICANT = "applicant"
    REPORTER = "reporter"
    SEES_CONFIDENTIAL = "sees-confidential"
    SIGNS_DOCUMENTS = "signs-documents"
    WATCHES_SLA = "watches-sla"
    ESCALATION_FALLBACK = "escalation-fallback"
    CONTAINS = "contains"
    COLLECTS_EVIDENCE = "collects-evidence"
    MANAGES_API_CREDENTIALS = "manages-api-credentials"
    API_PROVIDER = "api-provider"
    ADMINISTERS_ACCOUNTS = "administers-accounts"
    MANAGES_COMPLIANCE_SCHEDULES = "manages-compliance-schedules"
    RUNS_COMPLIANCE_CHECKS = "runs-compliance-checks"
    REQUESTS_COMPLIANCE_WAIVERS = "requests-compliance-waivers"
    APPROVES_COMPLIANCE_WAIVERS = "approves-compliance-waivers"


class RoleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: RoleId
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    traits: tuple[RoleTrait, ...] = ()


class RoleBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    roles: tuple[RoleSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> RoleBook:
        ids = [r.id for r in self.roles]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"roles: listed twice: {', '.join(duplicates)}")
        if len(self.with_trait(RoleTrait.ESCALATION_FALLBACK)) > 1:
            raise ValueError("roles: at most one role is the escalation-fallback")
        return self

    def ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.roles)

    def with_trait(self, trait: RoleTrait) -> frozenset[str]:
        return frozenset(r.id for r in self.roles if trait in r.traits)

    def ordered_with_trait(self, trait: RoleTrait) -> tuple[str, ...]:
        """In the file's order: documents list signatories that way."""
        return tuple(r.id for r in self.roles if trait in r.traits)

    def label(self, role_id: str) -> str | None:
        return next((r.label for r in self.roles if r.id == role_id), None)

    def labels(self) -> dict[str, str]:
        return {r.id: r.label for r in self.roles}
