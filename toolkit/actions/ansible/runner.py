"""Run a playbook through ansible-runner and return a typed summary.

Why a wrapper: ansible-runner's ``run(**kwargs)`` takes dozens of loosely typed options and leaves
artifacts (including the extra vars) on disk. Here the input is one frozen model, every output line and
failure message goes through a caller-supplied mask before it leaves this module, each run gets its own
private data dir, and the extra-vars file is deleted as soon as the run ends.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import ansible_runner
from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.errors import ConfigurationError
from toolkit.private_files import private_dir, tighten_tree

_LIMIT = re.compile(r"[A-Za-z0-9._:,!&*@\[\]-]{1,500}")


class RunStatus(StrEnum):
    """How a playbook run ended; ansible-runner's own "error" is reported as FAILED."""

    SUCCESSFUL = "successful"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"


_STAT_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


class PlaybookRun(BaseModel):
    """One playbook execution, fully described before it starts (so it can be shown for approval)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    playbook: Path
    inventory: Path
    limit: str | None = None
    # repr=False: the dict may hold revealed secrets (see pusat_data_vars.to_extra_vars).
    extra_vars: dict[str, Any] = Field(default_factory=dict, repr=False)
    private_data_dir: Path = Field(description="parent dir; each run gets its own subdirectory")
    timeout_s: int | None = Field(default=1800, ge=1)
    envvars: dict[str, str] = Field(default_factory=dict)
    check_mode: bool = Field(default=False, description="--check --diff: changes nothing, reports the diff")

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: str | None) -> str | None:
        if value is not None and not _LIMIT.fullmatch(value):
            raise ValueError("invalid limit pattern")
        return value


class HostStats(BaseModel):
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


class FailedTask(BaseModel):
    host: str
    task: str
    msg: str
    unreachable: bool = False


class PlaybookSummary(BaseModel):
    """What happened, as data: callers decide whether a failure raises."""

    status: RunStatus
    rc: int | None
    hosts: dict[str, HostStats]
    duration_s: float
    stats: dict[str, Any] = Field(description="set_stats data (artifact_data of playbook_on_stats)")
    failed_tasks: list[FailedTask]
    artifact_dir: Path

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(name for name, h in self.hosts.items() if h.failed or h.unreachable)


# What every run gets unless its caller says otherwise (``PlaybookRun.envvars``), for speed and without
# relaxing anything:
# - pipelining: a module goes to the host on the SSH session's stdin and runs from there, instead of being
#   copied over SFTP into a temp dir, made executable, run and removed (four round trips per task become
#   one). It needs sudo without ``requiretty``: Debian's default, and the lab's (the admin accounts of the
#   compliance lab use the same sudo); a host whose sudoers require a tty gets ``ansible_pipelining: false``
#   in the inventory (a host variable outranks this environment). Host key checking is untouched (`_env`).
# - facts only where a play asks for them (``gather_facts`` or a ``setup`` task with the subset it uses).
# - one SSH master connection per host, kept a minute after its last use, so the consecutive playbooks of
#   an action or a ticket (provision, monitoring, backup; restore then rebuild) reuse it instead of each
#   paying for a new key exchange and login.
FAST_DEFAULTS = {
    "ANSIBLE_PIPELINING": "True",
    "ANSIBLE_GATHERING": "explicit",
    "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
}


def _env(run: PlaybookRun, data_dir: Path) -> dict[str, str]:
    # ansible-runner execs `ansible-playbook` from PATH; the venv's bin is not on PATH when the toolkit
    # is started by absolute path, and the run would fail with rc 127.
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")]),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
        **FAST_DEFAULTS,
    }
    env.update(run.envvars)
    env["ANSIBLE_HOST_KEY_CHECKING"] = "True"  # never relaxed, whatever the caller or environment says
    return env


def _message(res: dict[str, Any]) -> str:
    msg = str(res.get("msg") or res.get("reason") or "")
    stderr = str(res.get("stderr") or "").strip()
    if stderr and stderr not in msg:
        msg = f"{msg}: {stderr}" if msg else stderr
    if not msg and res.get("results"):
        msg = "; ".join(
            str(r.get("msg", "")) for r in res["results"] if isinstance(r, dict) and r.get("failed")
        )
    return str(msg)


def _scrub(data_dir: Path, mask: Callable[[str], str]) -> None:
    """ansible-runner records the whole process environment in artifacts/run/command (where a secret
    taken from an environment variable would sit in clear text) and writes every event to disk.
    Drop the environment from that record and pass every file it left through the masker."""
    command = data_dir / "artifacts" / "run" / "command"
    if command.is_file():
        try:
            record = json.loads(command.read_text(encoding="utf-8"))
            record.pop("env", None)
            command.write_text(json.dumps(record), encoding="utf-8")
        except ValueError:
            command.unlink()
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode("utf-8", "surrogateescape")
            masked = mask(text)
            if masked != text:
                path.write_bytes(masked.encode("utf-8", "surrogateescape"))


def run_playbook(
    run: PlaybookRun,
    on_line: Callable[[str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    mask: Callable[[str], str] = lambda s: s,
) -> PlaybookSummary:
    """Run ``run.playbook`` and block until it ends; never raises for a failed play."""
    if not run.playbook.is_file():
        raise ConfigurationError(f"playbook not found: {run.playbook}", playbook=str(run.playbook))
    if not run.inventory.exists():
        raise ConfigurationError(f"inventory not found: {run.inventory}", inventory=str(run.inventory))
    ident = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    data_dir = private_dir(run.private_data_dir) / ident
    os.mkdir(data_dir, 0o700)
    private_dir(data_dir / "tmp")
    stats: dict[str, Any] = {}
    hosts: dict[str, HostStats] = {}
    failed: list[FailedTask] = []

    def handle(event: dict[str, Any]) -> bool:
        for line in str(event.get("stdout") or "").splitlines():
            if line.strip() and on_line is not None:
                on_line(mask(line))
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            failed.append(
                FailedTask(
                    host=str(data.get("host", "")),
                    task=mask(str(data.get("task", ""))),
                    msg=mask(_message(data.get("res") or {})),
                    unreachable=kind == "runner_on_unreachable",
                )
            )
        elif kind == "playbook_on_stats":
            stats.update(data.get("artifact_data") or {})
            for key, field in _STAT_KEYS.items():
                for host, count in (data.get(key) or {}).items():
                    current = hosts.setdefault(host, HostStats())
                    hosts[host] = current.model_copy(update={field: int(count)})
        return True

    started = time.monotonic()
    try:
        # extravars are dumped by ansible-runner to env/extravars (0600) and passed as -e @file, so the
        # values never appear on a command line or in `ps`.
        runner = ansible_runner.run(
            private_data_dir=str(data_dir),
            playbook=str(run.playbook.resolve()),
            inventory=str(run.inventory.resolve()),
            limit=run.limit,
            cmdline="--check --diff" if run.check_mode else None,
            extravars=dict(run.extra_vars) if run.extra_vars else None,
            envvars=_env(run, data_dir),
            timeout=run.timeout_s,
            event_handler=handle,
            cancel_callback=should_cancel or (lambda: False),
            quiet=True,
            ident="run",
        )
    finally:
        # Do not leave secrets on disk: the extra vars may carry revealed passwords.
        (data_dir / "env" / "extravars").unlink(missing_ok=True)
        _scrub(data_dir, mask)
        tighten_tree(data_dir)  # ansible-runner writes its artifacts with the process's umask
    status = RunStatus(runner.status) if runner.status in tuple(RunStatus) else RunStatus.FAILED
    return PlaybookSummary(
        status=status,
        rc=runner.rc,
        hosts=hosts,
        duration_s=round(time.monotonic() - started, 3),
        stats=stats,
        failed_tasks=failed,
        artifact_dir=data_dir / "artifacts" / "run",
    )
