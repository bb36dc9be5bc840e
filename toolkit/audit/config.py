"""Audit settings (``settings.audit``): the key that signs the chain and where its checkpoints go.

The key is a `SecretRef` like every other secret in the settings (``{ref = "env:NAME" | "file:/path"}``),
so ``spbe config show`` prints the reference and the secrets walk covers it.

Both the key and the checkpoint file must live outside ``state_dir``: whoever can write the state
directory (the database, the ticket store) must not also hold the key or be able to rewrite the
checkpoints, or the chain proves nothing. `toolkit.audit.factory` refuses settings that break this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.secret_types import SecretRef


class AuditSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = Field(default="sqlite", pattern=r"^[a-z][a-z0-9_]{0,31}$",
                      description="where the chain is kept (registry spbe.audit_logs): 'sqlite' in state_dir/audit.db, "
                                  "'postgres' in the shared database (options: dsn_secret, pool_min, pool_max)")
    options: dict[str, Any] = Field(default_factory=dict, description="the chosen store's options (no secrets: "
                                                                       "a DSN is named by dsn_secret)")
    key: SecretRef = Field(
        default=SecretRef(ref="env:SPBE_AUDIT_KEY"),
        description="HMAC key of the audit chain and its checkpoints: 32 random bytes, urlsafe base64 "
                    "('spbe audit keygen'); required, never stored under state_dir")
    checkpoint_file: Path = Field(
        default=Path("/var/log/spbe/audit-checkpoints.jsonl"),
        description="append-only JSON-lines file of signed checkpoints, outside state_dir (ideally another "
                    "mount or a remotely shipped log); created 0600")
    checkpoint_every: int = Field(default=1, ge=1, le=100000,
                                  description="write a file checkpoint after every N audit entries")
    publish_interval_s: float = Field(default=300.0, ge=1.0, le=86400.0,
                                      description="how often `spbe serve` posts a checkpoint to the tickets "
                                                  "whose entries it covers")
