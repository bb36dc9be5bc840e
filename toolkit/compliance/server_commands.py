"""The fixed, read-only command set a server sweep runs, as argv lists, and how each answer becomes a fact.

Why argv lists: the only variable parts (application directories, the restic repository, a site name)
are validated by `toolkit.compliance.server_targets` and then quoted one word at a time by
``shlex.join``; no command is ever built by pasting text. The few ``sh -c`` scripts are constants that
receive their values as positional parameters (``"$1"``), never inside the script text.

Nothing here writes: ``sshd -T``, ``nft list ruleset``, ``cat``, ``test``, ``find`` (no ``-delete`` or
``-exec``), ``apt-config dump``, ``timedatectl show``, ``restic snapshots`` (``--no-lock``: it does not even
take the repository's lock) and ``openssl`` reading a served certificate.

A command that fails (non-zero exit where the command has no "no" answer, a timeout) gives ``None`` for
its fact: the rules reading it end ``error``, never ``pass``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.compliance.server_targets import ServerTarget

# `systemctl is-enabled` answers on stdout with rc 0 (enabled) or 1 (disabled, not-found, ...). A host
# without systemctl (a container, the lab's sysvinit-style hosts) is read from the link `systemctl
# enable nftables` creates (nftables.service is WantedBy=sysinit.target): the same answer, read-only.
_NFT_ENABLED = ("if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled nftables 2>/dev/null; "
                "exit 0; fi; if [ -e /etc/systemd/system/sysinit.target.wants/nftables.service ]; "
                "then echo enabled; else echo disabled; fi")
_PERSISTENT = 'if [ -e "$1" ]; then cat -- "$1"; fi'
_EXISTING_DIRS = 'for d do if [ -d "$d" ] && [ ! -L "$d" ]; then printf "%s\\n" "$d"; fi; done'
_FIND = ('for d do if [ -d "$d" ] && [ ! -L "$d" ]; then set -- "$@" "$d"; fi; shift; done; '
         '[ "$#" -eq 0 ] || exec find "$@" -xdev -perm -0002 ! -type l -print0')
_TLS = ('openssl s_client -connect "127.0.0.1:$2" -servername "$1" </dev/null 2>/dev/null '
        '| openssl x509 -noout -enddate')
_ENABLED_ANSWERS = {"enabled": True, "enabled-runtime": True, "static": False, "disabled": False, "masked": False,
                    "not-found": False, "indirect": False, "linked": False, "alias": False, "generated": False,
                    "transient": False}


@dataclass(frozen=True)
class Command:
    """One read: its argv, and how stdout of a successful run (rc in ``ok_rc``) becomes the fact value."""
    fact: str
    argv: tuple[str, ...]
    parse: Callable[[str], object]
    ok_rc: tuple[int, ...] = (0,)

    def line(self, sudo: bool) -> str:
        """The command line sent over SSH (the remote side splits it with a shell). stderr is dropped on
        the target: unread, it would fill the channel's window and stall a chatty command until timeout."""
        argv = (("sudo", "-n", "--") if sudo else ()) + self.argv
        return f"{shlex.join(argv)} 2>/dev/null"


def _text(out: str) -> str:
    return out


def _enabled(out: str) -> bool | None:
    word = out.strip().splitlines()[-1].strip() if out.strip() else ""
    return _ENABLED_ANSWERS.get(word)


def _lines(out: str) -> tuple[str, ...]:
    return tuple(line for line in out.splitlines() if line)


def _nul(out: str) -> tuple[str, ...]:
    return tuple(sorted(p for p in out.split("\0") if p))


def _sh(script: str, *args: str) -> tuple[str, ...]:
    return ("sh", "-c", script, "sh", *args)


def commands(target: ServerTarget) -> list[Command]:
    """The reads for ``target``, in the order they run; per-host ones only where the host configures them."""
    found = [
        Command("sshd_effective", ("sshd", "-T"), _text),
        Command("nft_ruleset", ("nft", "list", "ruleset"), _text),
        Command("nft_persistent", _sh(_PERSISTENT, "/etc/nftables.conf"), _text),
        Command("nftables_enabled", _sh(_NFT_ENABLED), _enabled),
        Command("app_dirs", _sh(_EXISTING_DIRS, *target.app_dirs), _lines),
        Command("world_writable", _sh(_FIND, *target.app_dirs), _nul),
        Command("apt_config", ("apt-config", "dump"), _text),
        Command("timedatectl", ("timedatectl", "show"), _text),
    ]
    if target.restic_repo and target.restic_password_file:
        found.append(Command("restic_snapshots", ("restic", "--no-lock", "--repo", target.restic_repo,
                                                  "--password-file", target.restic_password_file,
                                                  "snapshots", "--json"), _text))
    for site in target.tls_sites:
        found.append(Command(f"tls:{site.name}", _sh(_TLS, site.name, str(site.port)), _text))
    return found
