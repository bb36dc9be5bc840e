"""Evidence settings (``settings.evidence``): what may be collected and how big a bundle may be attached.

Kept free of other toolkit imports so `toolkit.settings` can embed it without an import cycle.
A directory in ``allowed_logs`` ends with ``/`` and allows the regular files directly in it (not
below it); a file entry allows exactly that file. Requests outside these sets are refused, so a
ticket (or a CSIRT member's typo) can never pull ``/etc/shadow`` or a user's home into a bundle
that is later attached to a ticket many people read.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_ALLOWED_LOGS: tuple[str, ...] = (
    "/var/log/auth.log", "/var/log/syslog", "/var/log/messages", "/var/log/secure", "/var/log/kern.log",
    "/var/log/dpkg.log", "/var/log/apt/", "/var/log/nginx/", "/var/log/apache2/", "/var/log/spbe/",
)
DEFAULT_HASH_PREFIXES: tuple[str, ...] = ("/etc/", "/srv/", "/var/www/", "/usr/local/", "/opt/", "/root/.ssh/",
                                          "/home/")
DEFAULT_HASH_PATHS: tuple[str, ...] = (
    "/etc/passwd", "/etc/group", "/etc/sudoers", "/etc/ssh/sshd_config", "/etc/crontab", "/root/.ssh/authorized_keys",
    "/etc/nftables.conf",
)


class EvidenceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    allowed_logs: tuple[str, ...] = Field(default=DEFAULT_ALLOWED_LOGS,
                                          description="log files (or 'dir/') that may be collected")
    default_logs: tuple[str, ...] = Field(default=DEFAULT_ALLOWED_LOGS,
                                          description="what the workflow step collects when nothing is requested")
    hash_prefixes: tuple[str, ...] = Field(default=DEFAULT_HASH_PREFIXES,
                                           description="directories under which files may be hashed")
    default_hash_paths: tuple[str, ...] = Field(default=DEFAULT_HASH_PATHS)
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="larger logs are not fetched")
    max_files: int = Field(default=200, ge=1, le=10000)
    attach_max_bytes: int = Field(default=5 * 1024 * 1024, ge=0,
                                  description="bundles up to this size are attached; larger ones are referenced")

    @model_validator(mode="after")
    def _defaults_inside_allowed(self) -> EvidenceSettings:
        """Narrowing ``allowed_logs`` narrows what the workflow step collects too, unless set apart."""
        if "default_logs" not in self.model_fields_set:
            object.__setattr__(self, "default_logs", self.allowed_logs)
        outside = [p for p in self.default_logs if p not in self.allowed_logs]
        if outside:
            raise ValueError(f"default_logs outside allowed_logs: {outside}")
        return self
