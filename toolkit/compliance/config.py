"""Compliance settings (``settings.compliance``): where a site keeps its own profiles.

Kept free of other toolkit imports (pydantic only) so `toolkit.settings` can embed it without an import
cycle. The packaged profiles (``toolkit/compliance/profiles/*.yaml``) always load; a site adds its own
beside them and never edits the package, so an upgrade does not overwrite a site's rules.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profiles_dir: Path | None = Field(
        default=None, description="a site's own compliance profiles (*.yaml), loaded after the packaged ones; "
                                  "a rule or profile id that repeats a loaded one is refused")
    timezone: str = Field(default="Asia/Jakarta", description=(
        "the zone in which a waiver's expiry date ends (Asia/Makassar: WITA, Gorontalo; Asia/Jakarta: WIB, "
        "Surakarta)"))

    # Server gathering (toolkit.compliance.gather_server); per-host data comes from inventory host vars.
    prometheus_url: str | None = Field(
        default=None, pattern=r"^https?://[A-Za-z0-9.\[\]:-]+(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?$",
        description="Prometheus base URL whose /api/v1/targets says whether node_exporter is scraped; "
                    "None: the rule ends error")
    gather_workers: int = Field(default=16, ge=1, le=256, description="targets read in parallel")
    ssh_timeout_s: float = Field(default=15.0, gt=0, le=300, description="connect, banner and authentication")
    command_timeout_s: float = Field(default=60.0, gt=0, le=3600, description="one read command on a target")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: refused when the settings load
        return value

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
