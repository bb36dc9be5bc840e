"""The server lab of the compliance tests: three namespaced Debian hosts with an admin account (the
control node's key, passwordless sudo), as a hardened server is reached once PermitRootLogin is no, and
the helpers that misconfigure them and read their state back."""

from __future__ import annotations

from pathlib import Path

from lab.models import LabHost, LabState
from lab.sshd import host_exec

REPO = Path(__file__).resolve().parents[2]
ADMIN = "spbeadm"
APP = "portal"
RESTIC = ["restic", "--repo", f"/var/backups/spbe/{APP}", "--password-file", f"/etc/spbe/backup/{APP}.restic-password"]
WRITABLE = (f"/srv/apps/{APP}/upload", f"/srv/apps/{APP}/config.php")


def sh(host: LabHost, script: str, *args: str) -> str:
    assert host.init_pid is not None
    done = host_exec(host.init_pid, ["sh", "-c", script, "sh", *args])
    assert done.returncode == 0, f"{host.name}: {script}: {done.stderr}"
    return done.stdout


def add_admin(host: LabHost) -> None:
    """An admin account with the control node's key and passwordless sudo, as on a hardened server."""
    pub = Path(f"{host.private_key}.pub").read_text(encoding="utf-8")
    sh(host, 'useradd -m -s /bin/sh "$1" && usermod -p "*" "$1" && install -d -m 700 -o "$1" -g "$1" "/home/$1/.ssh"'
             ' && printf "%s" "$2" > "/home/$1/.ssh/authorized_keys" && chown "$1:" "/home/$1/.ssh/authorized_keys"'
             ' && echo "$1 ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/$1" && chmod 440 "/etc/sudoers.d/$1"',
       ADMIN, pub)




def host_of(lab: LabState, name: str) -> LabHost:
    return next(h for h in lab.hosts if h.name == name)


def misconfigure(host: LabHost, stale_backup: bool) -> None:
    sh(host, 'printf "PasswordAuthentication yes\\n" > /etc/ssh/sshd_config.d/10-test.conf && /etc/init.d/ssh reload')
    sh(host, "nft flush ruleset")
    sh(host, 'mkdir -p "$1" && echo "<?php" > "$2" && chmod 0777 "$1" && chmod 0666 "$2"', *WRITABLE)
    if stale_backup:
        sh(host, 'install -d -m 700 /etc/spbe/backup && printf "%s" "$1" > "$2" && chmod 600 "$2"',
           "stale-backup-not-a-secret", f"/etc/spbe/backup/{APP}.restic-password")
        sh(host, 'r=$1; shift; "$@" init >/dev/null && "$@" backup --time "2020-01-01 00:00:00" "$r" >/dev/null',
           f"/srv/apps/{APP}", *RESTIC)


def before_state(host: LabHost) -> dict[str, str]:
    """What the undo must put back, byte for byte."""
    return {"sshd": sh(host, "sshd -T"), "ruleset": sh(host, "nft -s list ruleset"),
            "nftables.conf": sh(host, "cat /etc/nftables.conf"), "modes": sh(host, 'stat -c "%a %n" "$@"', *WRITABLE),
            "boot link": sh(host, "ls /etc/systemd/system/sysinit.target.wants/ 2>/dev/null || true"),
            "apt": sh(host, "ls /etc/apt/apt.conf.d/"), "sshd drop-ins": sh(host, "ls /etc/ssh/sshd_config.d/")}




def admin_inventory(lab: LabState) -> Path:
    """A copy of the lab's inventory that logs in as the admin account and names the app (written once)."""
    import yaml

    inventory = lab.inventory.with_name("inventory-admin.yml")
    if not inventory.exists():
        data = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
        for host_vars in data["all"]["children"]["pusat_data_pool"]["hosts"].values():
            host_vars.update({"ansible_user": ADMIN, "spbe_app_name": APP, "spbe_compliance_app_dirs": ["/srv/apps"]})
        inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    return inventory
