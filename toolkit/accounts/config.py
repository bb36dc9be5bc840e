"""``settings.accounts``: how local accounts, their sessions and their tokens behave.

Only pydantic is imported here: the one settings model embeds this section, so nothing that needs the
settings may be reached from this module (the import contracts allow exactly this edge).

Defaults follow OWASP's authentication guidance: five failures within fifteen minutes lock the account
for fifteen minutes (long enough to make online guessing useless, short enough not to be a denial of
service a colleague can trigger at will); a portal session ends after 30 idle minutes and 12 hours at
most (a working day); a personal access token lives at most a year. Argon2id's cost is the RFC 9106
second recommendation (64 MiB, 3 passes); it may be lowered on a small control node, never below
OWASP's floor of 19 MiB and 2 passes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AccountsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lockout_threshold: int = Field(default=5, ge=1, le=100,
                                   description="failed logins within lockout_window_s that lock the account")
    lockout_window_s: int = Field(default=900, ge=1, le=86400, description="seconds in which failures add up")
    lockout_duration_s: int = Field(default=900, ge=1, le=7 * 86400, description="seconds an account stays locked")
    password_min_length: int = Field(default=12, ge=8, le=128)
    session_idle_s: int = Field(default=1800, ge=60, le=86400, description="a session unused this long ends")
    session_absolute_s: int = Field(default=43200, ge=300, le=30 * 86400,
                                    description="a session ends this long after login, however busy")
    token_max_days: int = Field(default=365, ge=1, le=3650, description="longest expiry a token may be given")
    tokens_per_user: int = Field(default=20, ge=1, le=1000, description="active tokens one person may hold")
    argon2_memory_kib: int = Field(default=65536, ge=19456, le=4 * 1024 * 1024)
    argon2_time_cost: int = Field(default=3, ge=2, le=20)
    argon2_parallelism: int = Field(default=4, ge=1, le=64)
