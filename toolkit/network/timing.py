"""How long to wait for a device, and how much to send it at once, per platform; and how many sessions at once.

A push spends almost all its time waiting: for the first prompt, for each command's answer, for config
mode. `PlatformTiming` bounds those waits (they end as soon as the expected prompt arrives: there are no
fixed sleeps, so a timeout is only the longest wait for a device that stopped answering) and says how
many config lines go to the device in one write (``config_batch_lines``): IOS reads typed-ahead lines in
order and echoes each one with its answer, so a batch still has every line's answer checked; a refused
line fails the push (lines after it in the same batch have been applied as well, and the push restores
the backup as for any failure). ``1`` sends a line, waits for its answer, then sends the next.

`SessionLimits` caps sessions per site (a site's management network or jump host may not take more);
there is never more than one session to one device in this process (`toolkit.network.gate`).

Both come from the network inventory (``timing:`` per platform, ``sessions:``; see
docs/network-sessions.md); what is not given there keeps the defaults below.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PlatformTiming(BaseModel):
    """Waits (seconds) and batch size for one platform's CLI sessions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_timeout_s: float = Field(default=10.0, gt=0, le=300,
                                    description="longest wait for the prompt after login, enable or a mode change")
    command_timeout_s: float = Field(default=30.0, gt=0, le=3600,
                                     description="longest wait for one show command's output to end at the prompt")
    config_timeout_s: float = Field(default=30.0, gt=0, le=3600,
                                    description="longest wait for one config line's answer")
    config_batch_lines: int = Field(default=32, ge=1, le=500,
                                    description="config lines sent in one write (1: line by line)")
    pipeline_reads: bool = Field(default=True, description="send the show commands of one read together")


# IOS: a vty reads typed-ahead input in order and echoes each line before its answer; 32 lines of a
# template (~1.5 KB) stay well below what a Catalyst's vty input queue takes at once.
DEFAULT_TIMING: dict[str, PlatformTiming] = {"cisco_ios": PlatformTiming()}


class SessionLimits(BaseModel):
    """Sessions open at once to the devices of one site (``per_site``; a site may set its own ``max_sessions``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_site: int = Field(default=16, ge=1, le=1024, description="sessions at once to one site's devices")
    wait_timeout_s: float = Field(default=600.0, gt=0, le=86400,
                                  description="longest wait for a free session slot before the device fails")
