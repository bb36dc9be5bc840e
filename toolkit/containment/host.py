"""Host isolation, its release and a read-only inspection, as Ansible playbook runs (``settings.containment.apply
= "playbook"``; the default is the SSH fast path of `toolkit.containment.host_ssh`, which shares the models here).

The playbooks (``playbooks/contain_isolate_host.yml``, ``release_host.yml``, ``inspect_host.yml``) do the
work on the host; this module builds their variables from validated data, runs them through
`toolkit.actions.ansible.runner` and turns what they publish into typed before-state. Host output only ever
travels base64-encoded through ``set_stats`` and is decoded here, so nothing a compromised host prints is
evaluated as a template on the control node; the before-state goes back to the host at release as files
(``copy: src``), never as template text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit import ansible_inventory
from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, RunStatus, run_playbook
from toolkit.errors import ActionFailedError, UnavailableError
from toolkit.private_files import private_dir, write_private
from toolkit.settings import Settings

ISOLATE_PLAYBOOK = "contain_isolate_host.yml"
RELEASE_PLAYBOOK = "release_host.yml"
INSPECT_PLAYBOOK = "inspect_host.yml"
# Speed: the runner reuses one SSH connection (ControlPersist) and pipes modules over it for every playbook;
# the containment playbooks gather no facts. The SSH fast path (`host_ssh`) is the default for isolation.

Log = Callable[[str], None]
Mask = Callable[[str], str]


class InventoryHost(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    address: str
    port: int = 22
    vars: dict[str, Any] = Field(default_factory=dict, repr=False)

    def csirt_cidrs(self) -> tuple[str, ...]:
        value = self.vars.get("spbe_csirt_mgmt_cidrs") or ()
        return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


class HostBefore(BaseModel):
    """A host's firewall as it was before isolation: what release restores and compares against."""

    model_config = ConfigDict(frozen=True)
    ruleset: str = Field(description="`nft list ruleset` (restored as it is)")
    ruleset_stateless: str = Field(description="`nft -s list ruleset` (compared after restoring)")
    nftables_conf: str | None = Field(description="/etc/nftables.conf, None when there was none")
    saved_now: bool = True

    @property
    def stateless_sha256(self) -> str:
        return hashlib.sha256(self.ruleset_stateless.rstrip("\n").encode("utf-8")).hexdigest()


def inventory_host(inventory: Path, name: str) -> InventoryHost:
    """Look ``name`` up with Ansible's own inventory parser (`toolkit.ansible_inventory`, safe from any
    worker thread); `NotFoundError` when it is not there."""
    host = ansible_inventory.load(inventory).host(name)
    values = dict(host.vars)
    return InventoryHost(name=host.name, address=host.address, port=int(values.get("ansible_port", 22)), vars=values)


def _b64(value: Any, what: str) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ActionFailedError(f"{what}: undecodable data from the host ({exc})") from None


def run_containment_playbook(settings: Settings, playbook: str, host: InventoryHost, extra: dict[str, Any],
                             work_dir: Path, log: Log | None, mask: Mask) -> PlaybookSummary:
    summary = run_playbook(
        PlaybookRun(playbook=settings.playbooks_dir / playbook, inventory=settings.effective_inventory(),
                    limit=host.name, extra_vars={"spbe_target": host.name, **extra},
                    private_data_dir=work_dir / "runner", timeout_s=min(settings.playbook_timeout_s, 600)),
        on_line=log, mask=mask)  # fmt: skip
    if summary.status != RunStatus.SUCCESSFUL:
        failed = "; ".join(f"{t.task}: {t.msg}" for t in summary.failed_tasks) or summary.status
        unreachable = any(t.unreachable for t in summary.failed_tasks)
        error = UnavailableError if unreachable else ActionFailedError
        raise error(f"{playbook} on {host.name} failed: {mask(failed)}", host=host.name, playbook=playbook)
    return summary


def published(summary: PlaybookSummary, key: str, host: str) -> dict[str, Any]:
    data = summary.stats.get("spbe", {}).get(key, {}).get(host)
    if not isinstance(data, dict):
        raise ActionFailedError(f"playbook published no '{key}' result for {host}")
    return data


def isolate(settings: Settings, host: InventoryHost, record_id: str, mgmt: tuple[str, ...], work_dir: Path,
            log: Log | None = None, mask: Mask = lambda s: s) -> tuple[HostBefore, dict[str, Any]]:
    """Apply the isolation table (idempotent); returns the before-state saved on first application."""
    v4 = [c for c in mgmt if ":" not in c]
    v6 = [c for c in mgmt if ":" in c]
    summary = run_containment_playbook(settings, ISOLATE_PLAYBOOK, host,
                   {"spbe_containment_id": record_id, "spbe_mgmt_v4": v4, "spbe_mgmt_v6": v6}, work_dir, log, mask)
    data = published(summary, "isolate", host.name)
    conf = data.get("nftables_conf_b64")
    before = HostBefore(
        ruleset=_b64(data.get("ruleset_b64"), "ruleset"),
        ruleset_stateless=_b64(data.get("ruleset_stateless_b64"), "stateless ruleset"),
        nftables_conf=_b64(conf, "nftables.conf") if conf else None,
        saved_now=str(data.get("saved_now")).lower() == "true",
    )
    applied = {"table": "inet spbe_isolation", "table_sha256": data.get("table_sha256"),
               "management_cidrs": list(mgmt), "changed": summary.changed, "apply": "playbook",
               "duration_s": summary.duration_s}
    return before, applied


def release(settings: Settings, host: InventoryHost, record_id: str, before: HostBefore, work_dir: Path,
            log: Log | None = None, mask: Mask = lambda s: s) -> dict[str, Any]:
    """Restore the recorded ruleset and nftables.conf; the playbook fails unless the result is identical."""
    files = work_dir / f"release-{record_id}"
    private_dir(files)
    restore, expected, conf = files / "restore.nft", files / "expected.nft", files / "nftables.conf"
    write_private(restore, "flush ruleset\n" + before.ruleset)
    write_private(expected, before.ruleset_stateless)
    if before.nftables_conf is not None:
        write_private(conf, before.nftables_conf)
    extra = {"spbe_containment_id": record_id, "spbe_restore_file": str(restore),
             "spbe_expected_file": str(expected),
             "spbe_conf_file": str(conf) if before.nftables_conf is not None else ""}
    summary = run_containment_playbook(settings, RELEASE_PLAYBOOK, host, extra, work_dir, log, mask)
    data = published(summary, "release", host.name)
    if data.get("ruleset_stateless_sha256") != before.stateless_sha256:
        raise ActionFailedError(f"{host.name}: the restored ruleset differs from the recorded one", host=host.name)
    return {"ruleset_stateless_sha256": before.stateless_sha256, "changed": summary.changed, "apply": "playbook",
            "duration_s": summary.duration_s}


def inspect(settings: Settings, host: InventoryHost, work_dir: Path, log: Log | None = None,
            mask: Mask = lambda s: s) -> dict[str, str]:
    """Read-only look at the host: firewall ruleset, listening sockets, processes, logged-in users."""
    summary = run_containment_playbook(settings, INSPECT_PLAYBOOK, host, {}, work_dir, log, mask)
    data = published(summary, "inspect", host.name)
    return {key.removesuffix("_b64"): mask(_b64(value, key)) for key, value in sorted(data.items())}
