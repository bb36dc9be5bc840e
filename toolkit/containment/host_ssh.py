"""Host isolation and release over one SSH session: the fast path (``settings.containment.apply = "ssh"``).

The playbooks spend seconds on what is not the work (an ``ansible-playbook`` process, Ansible's start-up,
inventory and playbook parsing, a module shipped per task, ansible-runner's artifacts; see
``python -m benchmarks.containment_bench --breakdown``). Here the same steps run as one fixed shell script
over a warm, authenticated paramiko connection (`toolkit.ssh.pool`): one round trip.

Same guarantees as ``playbooks/contain_isolate_host.yml`` and ``release_host.yml``, step for step:

* isolate: the before-state (``nft list ruleset``, ``nft -s list ruleset``, /etc/nftables.conf) is saved
  once on the host (a re-run keeps the first); the drop-in /etc/nftables.d/spbe-isolation.nft (text from
  the playbook's own template, `toolkit.containment.isolation_table`) is loaded atomically (``nft -f``,
  which checks it in the same transaction) before it replaces the old drop-in, or, unchanged, loaded only
  when not live; it is included from /etc/nftables.conf (survives a restart of nftables); the live table
  is read back (sha256).
* release: the recorded ruleset and nftables.conf come from the toolkit's record (stdin, a tar of fixed
  member names), not the host's copy; the drop-in goes; the ruleset is restored unless it already matches
  and ``nft -s list ruleset`` is compared byte for byte with the recorded one, else the release fails.

The scripts are constants; the only variable data (the table, the recorded files) travel on stdin, so no
text from a request, the inventory or the host ever becomes a command. Host output comes back as
``key base64`` lines, parsed strictly. The host key must be in the inventory's known_hosts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import tarfile
import time
from collections.abc import Callable
from typing import Any

import paramiko

from toolkit.containment import isolation_table
from toolkit.containment.host import HostBefore, InventoryHost
from toolkit.errors import ActionFailedError, ConfigurationError, ToolkitError, UnavailableError
from toolkit.settings import Settings
from toolkit.ssh import remote
from toolkit.ssh.pool import SshPool
from toolkit.ssh.target import SshTarget, target_from_vars

Log = Callable[[str], None]
Mask = Callable[[str], str]
MAX_OUTPUT = 16 * 1024 * 1024
_LINE = re.compile(r"^([a-z][a-z0-9_]{0,40}) ([A-Za-z0-9+/=]*|-|[0-9]{1,3}|true|false)$")

_COMMON = r"""set -eu
umask 077
state=/var/lib/spbe/containment
dropin_dir=/etc/nftables.d
dropin=/etc/nftables.d/spbe-isolation.nft
conf=/etc/nftables.conf
"""

ISOLATE_SCRIPT = _COMMON + r"""include='include "/etc/nftables.d/spbe-isolation.nft"'
changed=0
if [ ! -d "$state" ] || [ ! -d "$dropin_dir" ]; then mkdir -p "$state" "$dropin_dir"; changed=$((changed + 1)); fi
chown root:root "$state" "$dropin_dir"; chmod 0700 "$state" "$dropin_dir"
saved=false
if [ ! -e "$state/before.nft" ]; then
  nft list ruleset > "$state/before.nft.tmp"
  nft -s list ruleset > "$state/before-stateless.nft"
  if [ -e "$conf" ]; then cp -p "$conf" "$state/before-nftables.conf"; else rm -f "$state/before-nftables.conf"; fi
  mv "$state/before.nft.tmp" "$state/before.nft"
  saved=true; changed=$((changed + 1))
fi
cat > "$dropin.spbe-new"
if cmp -s "$dropin.spbe-new" "$dropin"; then
  rm -f "$dropin.spbe-new"
  if ! nft list table inet spbe_isolation > /dev/null 2>&1; then nft -f "$dropin"; changed=$((changed + 1)); fi
else
  # One atomic transaction checks and loads the new table; only a table nft took replaces the drop-in.
  if ! nft -f "$dropin.spbe-new"; then
    rm -f "$dropin.spbe-new"; echo "nft refused the isolation table" >&2; exit 3
  fi
  mv -f "$dropin.spbe-new" "$dropin"; changed=$((changed + 2))
fi
chown root:root "$dropin"; chmod 0600 "$dropin"
if ! { [ -e "$conf" ] && grep -qxF "$include" "$conf"; }; then
  { if [ -e "$conf" ]; then cat "$conf"; [ ! -s "$conf" ] || [ -z "$(tail -c 1 "$conf")" ] || echo; fi
    printf '%s\n' "$include"; } > "$conf.spbe-new"
  mv -f "$conf.spbe-new" "$conf"; changed=$((changed + 1))
fi
chown root:root "$conf"; chmod 0755 "$conf"
nft -s list table inet spbe_isolation > "$state/live.tmp"
printf 'table_b64 %s\n' "$(base64 -w0 "$state/live.tmp")"
rm -f "$state/live.tmp"
printf 'ruleset_b64 %s\n' "$(base64 -w0 "$state/before.nft")"
printf 'ruleset_stateless_b64 %s\n' "$(base64 -w0 "$state/before-stateless.nft")"
if [ -e "$state/before-nftables.conf" ]; then
  printf 'nftables_conf_b64 %s\n' "$(base64 -w0 "$state/before-nftables.conf")"
else
  printf 'nftables_conf_b64 -\n'
fi
printf 'saved_now %s\nchanged %s\n' "$saved" "$changed"
"""

RELEASE_SCRIPT = _COMMON + r"""work="$state/release"
mkdir -p "$work"; chmod 0700 "$state" "$work"
rm -f "$work/restore.nft" "$work/expected.nft" "$work/nftables.conf" "$work/after.nft"
tar -x -f - -C "$work" --no-same-owner --no-same-permissions
[ -f "$work/restore.nft" ] && [ -f "$work/expected.nft" ] || { echo "incomplete release data" >&2; exit 3; }
changed=0
if [ -e "$work/nftables.conf" ]; then
  cmp -s "$work/nftables.conf" "$conf" || changed=$((changed + 1))
  cp "$work/nftables.conf" "$conf.spbe-new"; chown root:root "$conf.spbe-new"; chmod 0755 "$conf.spbe-new"
  mv -f "$conf.spbe-new" "$conf"
elif [ -e "$conf" ]; then
  rm -f "$conf"; changed=$((changed + 1))
fi
if [ -e "$dropin" ]; then rm -f "$dropin"; changed=$((changed + 1)); fi
if ! nft -s list ruleset | cmp -s - "$work/expected.nft"; then
  nft -f "$work/restore.nft"; changed=$((changed + 1))
fi
nft -s list ruleset > "$work/after.nft"
if ! cmp -s "$work/after.nft" "$work/expected.nft"; then
  echo "the restored ruleset differs from the recorded one" >&2; exit 4
fi
printf 'ruleset_stateless_b64 %s\n' "$(base64 -w0 "$work/after.nft")"
rm -rf "$state/before.nft" "$state/before-stateless.nft" "$state/before-nftables.conf" "$work"
printf 'changed %s\n' "$changed"
"""

# Connection settings the fast path does not reproduce: such a host is contained by the playbook.
_UNSUPPORTED = ("ansible_password", "ansible_ssh_pass", "ansible_become_password", "ansible_become_pass",
                "ansible_ssh_extra_args")
_UNSUPPORTED_ARGS = re.compile(r"proxy(jump|command)|-J\b|ControlPath", re.IGNORECASE)


def ssh_target(host: InventoryHost) -> SshTarget:
    """How the fast path reaches ``host``: the inventory's own connection data (as Ansible's); a host whose
    connection the fast path cannot reproduce is a `ConfigurationError` that names the setting to use."""
    hv = host.vars
    why = None
    if hv.get("ansible_connection", "ssh") not in ("ssh", "paramiko", "smart"):
        why = f"ansible_connection={hv.get('ansible_connection')}"
    elif bad := [name for name in _UNSUPPORTED if hv.get(name)]:
        why = bad[0]
    elif hv.get("ansible_become_method", "sudo") != "sudo" or hv.get("ansible_become_user", "root") != "root":
        why = "a become method other than sudo to root"
    elif _UNSUPPORTED_ARGS.search(str(hv.get("ansible_ssh_common_args") or "")):
        why = "a proxy in ansible_ssh_common_args"
    if why:
        raise ConfigurationError(f"host {host.name} is reached with {why}, which the SSH fast path does not do: "
                                 "set containment.apply = \"playbook\"", host=host.name)
    return target_from_vars(host.name, host.address, hv)


def _decode(value: str, what: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ActionFailedError(f"{what}: undecodable data from the host ({exc})") from None


def _parse(stdout: bytes, keys: set[str], host: str) -> dict[str, str]:
    """The ``key value`` lines the scripts print; anything else means the host did not run our script."""
    values: dict[str, str] = {}
    for line in stdout.decode("ascii", "replace").splitlines():
        match = _LINE.fullmatch(line)
        if match is None or match.group(1) not in keys or match.group(1) in values:
            raise ActionFailedError(f"{host}: unexpected output from the containment script: {line[:60]!r}",
                                    host=host)
        values[match.group(1)] = match.group(2)
    if set(values) != keys:
        raise ActionFailedError(f"{host}: the containment script ended without its results", host=host)
    return values


def _unavailable(target: SshTarget, what: str, exc: BaseException) -> ToolkitError:
    """An SSH or network failure, worded for the CSIRT (never the connection's secrets)."""
    if isinstance(exc, paramiko.BadHostKeyException):
        return UnavailableError(f"{target.name}: the SSH host key does not match the known_hosts entry: refused",
                                host=target.name)
    if isinstance(exc, paramiko.AuthenticationException):
        return UnavailableError(f"{target.name}: SSH authentication refused for {target.user}", host=target.name)
    if isinstance(exc, paramiko.SSHException):  # also an unknown host key (RejectPolicy)
        return UnavailableError(f"{target.name}: SSH failed: {str(exc)[:200]}", host=target.name)
    if isinstance(exc, TimeoutError):
        return UnavailableError(f"{target.name}: {what}: {exc}", host=target.name)
    if isinstance(exc, OSError):
        return UnavailableError(f"{target.name}: unreachable: {exc.strerror or type(exc).__name__}",
                                host=target.name)
    if isinstance(exc, EOFError):
        return UnavailableError(f"{target.name}: the SSH connection was closed", host=target.name)
    return ActionFailedError(f"{target.name}: {what}: {exc}", host=target.name)


def _run(pool: SshPool, settings: Settings, target: SshTarget, script: str, stdin: bytes,
         what: str) -> tuple[remote.Result, dict[str, float | bool]]:
    """Run ``script`` as root on ``target`` over the pool's connection; errors worded for the CSIRT.

    A warm connection can die without its transport noticing yet (the host rebooted, a firewall dropped
    the idle flow): then the script runs once more on a new connection. Both scripts are idempotent, so
    a second run after a partial first one ends in the same state."""
    timeout = settings.containment.ssh_command_timeout_s
    line = remote.command_line(["sh", "-c", script, f"spbe-{what}"], target.needs_sudo)
    for attempt in (1, 2):
        started = got = time.monotonic()
        warm = False
        try:
            with pool.session(target) as (client, reused):
                warm, got = reused, time.monotonic()
                result = remote.run(client, line, stdin, timeout, MAX_OUTPUT)
        except (paramiko.SSHException, EOFError, ConnectionError) as exc:
            if attempt == 1 and warm:
                continue
            raise _unavailable(target, what, exc) from None
        except (OSError, ValueError) as exc:  # TimeoutError included: a hung script is not run twice
            raise _unavailable(target, what, exc) from None
        timings: dict[str, float | bool] = {"connection_reused": warm, "connect_s": round(got - started, 4),
                                            "script_s": round(result.elapsed_s, 4), "attempts": attempt}
        return result, timings
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _failed(target: SshTarget, what: str, result: remote.Result, mask: Mask) -> ToolkitError:
    detail = " ".join(result.stderr.split())[-300:] or f"exit status {result.rc}"
    if result.rc == 1 and "sudo" in result.stderr:
        detail = f"sudo refused ({detail})"
    return ActionFailedError(f"{what} on {target.name} failed: {mask(detail)}", host=target.name, rc=result.rc)


def isolate(pool: SshPool, settings: Settings, host: InventoryHost, record_id: str, mgmt: tuple[str, ...],
            log: Log | None = None, mask: Mask = lambda s: s) -> tuple[HostBefore, dict[str, Any]]:
    """Apply the isolation table (idempotent); returns the before-state saved on first application."""
    started = time.monotonic()
    table = isolation_table.render(settings.playbooks_dir, record_id, host.name, mgmt)
    target = ssh_target(host)
    result, timings = _run(pool, settings, target, ISOLATE_SCRIPT, table.encode("utf-8"), "isolate")
    if result.rc != 0:
        raise _failed(target, "isolation", result, mask)
    data = _parse(result.stdout, {"table_b64", "ruleset_b64", "ruleset_stateless_b64", "nftables_conf_b64",
                                  "saved_now", "changed"}, host.name)  # fmt: skip
    conf = data["nftables_conf_b64"]
    before = HostBefore(ruleset=_decode(data["ruleset_b64"], "ruleset"),
                        ruleset_stateless=_decode(data["ruleset_stateless_b64"], "stateless ruleset"),
                        nftables_conf=None if conf == "-" else _decode(conf, "nftables.conf"),
                        saved_now=data["saved_now"] == "true")
    live = _decode(data["table_b64"], "live table").rstrip("\r\n")  # as Ansible's command stdout
    if log is not None:
        log(mask(f"{host.name}: isolation table live over SSH ({'warm' if timings['connection_reused'] else 'new'} "
                 f"connection, {timings['script_s']:.3f} s on the host)"))
    applied = {"table": "inet spbe_isolation", "table_sha256": hashlib.sha256(live.encode("utf-8")).hexdigest(),
               "management_cidrs": list(mgmt), "changed": int(data["changed"]), "apply": "ssh",
               "duration_s": round(time.monotonic() - started, 3), "timings": timings}
    return before, applied


def release_archive(before: HostBefore) -> bytes:
    """The recorded files as the release script reads them: a tar of fixed names, built here."""
    files = {"restore.nft": "flush ruleset\n" + before.ruleset, "expected.nft": before.ruleset_stateless}
    if before.nftables_conf is not None:
        files["nftables.conf"] = before.nftables_conf
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def release(pool: SshPool, settings: Settings, host: InventoryHost, before: HostBefore, log: Log | None = None,
            mask: Mask = lambda s: s) -> dict[str, Any]:
    """Restore the recorded ruleset and nftables.conf; fails unless the result is the recorded ruleset."""
    started = time.monotonic()
    target = ssh_target(host)
    result, timings = _run(pool, settings, target, RELEASE_SCRIPT, release_archive(before), "release")
    if result.rc != 0:
        raise _failed(target, "release", result, mask)
    data = _parse(result.stdout, {"ruleset_stateless_b64", "changed"}, host.name)
    after = _decode(data["ruleset_stateless_b64"], "restored ruleset")
    if after != before.ruleset_stateless:
        raise ActionFailedError(f"{host.name}: the restored ruleset differs from the recorded one", host=host.name)
    if log is not None:
        log(mask(f"{host.name}: recorded ruleset restored over SSH ({timings['script_s']:.3f} s on the host)"))
    return {"ruleset_stateless_sha256": before.stateless_sha256, "changed": int(data["changed"]), "apply": "ssh",
            "duration_s": round(time.monotonic() - started, 3), "timings": timings}
