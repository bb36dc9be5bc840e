"""The runner pipes modules to the host (no copy over SFTP, no AnsiballZ file on the host), and become
through sudo still works that way (Debian's sudoers, as on the lab host): observed on the lab host, from the
process that runs the module. An admin account with passwordless sudo is the login, as on a hardened server
(root itself would skip sudo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.models import LabState
from lab.sshd import host_exec
from toolkit.actions.ansible.runner import FAST_DEFAULTS, PlaybookRun, run_playbook

# The shell task's parent is the Python process running the module: its argv says where the module came
# from (stdin when pipelined, an AnsiballZ_*.py file in a remote temp dir otherwise). Walking up from there
# shows whether sudo started it. Host output travels base64-encoded, as in the containment playbooks.
PLAYBOOK = """\
- name: Show how modules reach the host
  hosts: "{{ spbe_target }}"
  become: true
  gather_facts: false
  tasks:
    - name: Read the module process and its ancestors
      ansible.builtin.shell: |
        set -eu
        pid=$PPID
        echo "uid $(id -u)"
        while [ "$pid" -gt 1 ]; do
          echo "proc $(tr '\\000' ' ' < /proc/$pid/cmdline)"
          pid=$(awk '/^PPid:/ {print $2}' /proc/$pid/status)
        done
      changed_when: false
      register: seen
    - name: Publish what was seen
      ansible.builtin.set_stats:
        data:
          seen: "{{ seen.stdout | b64encode }}"
"""


ADMIN = "spbepipe"


def _admin_inventory(lab: LabState, tmp: Path) -> Path:
    """The lab's inventory with the first pool host reached as ``ADMIN`` (created on the host if missing)."""
    import yaml

    host = lab.hosts[0]
    assert host.init_pid is not None
    pub = Path(f"{host.private_key}.pub").read_text(encoding="utf-8")
    done = host_exec(host.init_pid, ["sh", "-c",
        'id "$1" >/dev/null 2>&1 || { useradd -m -s /bin/sh "$1" && usermod -p "*" "$1"'
        ' && install -d -m 700 -o "$1" -g "$1" "/home/$1/.ssh" && printf "%s" "$2" > "/home/$1/.ssh/authorized_keys"'
        ' && chown "$1:" "/home/$1/.ssh/authorized_keys" && echo "$1 ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/$1"'
        ' && chmod 440 "/etc/sudoers.d/$1"; }', "sh", ADMIN, pub])  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    data["all"]["children"]["pusat_data_pool"]["hosts"][host.name]["ansible_user"] = ADMIN
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    return inventory


def _observe(lab: LabState, tmp: Path, envvars: dict[str, str]) -> tuple[str, list[str]]:
    import base64

    playbook = tmp / "observe.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    host = lab.hosts[0].name
    summary = run_playbook(PlaybookRun(playbook=playbook, inventory=_admin_inventory(lab, tmp), limit=host,
                                       extra_vars={"spbe_target": host}, private_data_dir=tmp / "runs",
                                       timeout_s=300, envvars=envvars))
    assert summary.status == "successful", summary.failed_tasks
    lines = base64.b64decode(summary.stats["seen"]).decode().splitlines()
    uid = next(line.removeprefix("uid ") for line in lines if line.startswith("uid "))
    return uid, [line.removeprefix("proc ") for line in lines if line.startswith("proc ")]


def test_pipelining_is_on_by_default_and_host_keys_stay_checked(tmp_path: Path) -> None:
    assert FAST_DEFAULTS["ANSIBLE_PIPELINING"] == "True"
    from toolkit.actions.ansible.runner import _env

    run = PlaybookRun(playbook=tmp_path / "p.yml", inventory=tmp_path / "i", private_data_dir=tmp_path,
                      envvars={"ANSIBLE_HOST_KEY_CHECKING": "False"})
    env = _env(run, tmp_path / "run")
    assert env["ANSIBLE_PIPELINING"] == "True" and env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert "ControlPersist=" in env["ANSIBLE_SSH_ARGS"]


@pytest.mark.lab
def test_modules_are_piped_to_the_host_and_become_still_works(lab: LabState, tmp_path: Path) -> None:
    uid, chain = _observe(lab, tmp_path, {})
    assert uid == "0"  # became root
    module = chain[0].split()
    assert module and module[0].endswith("python3") and len(module) == 1, chain  # code read from stdin
    assert not any("AnsiballZ" in proc or ".ansible/tmp" in proc for proc in chain), chain
    assert any(proc.startswith("sudo ") for proc in chain), chain  # through the become method, piped too


@pytest.mark.lab
def test_without_pipelining_the_module_is_a_copied_file(lab: LabState, tmp_path: Path) -> None:
    """The same observation tells the two apart, so the test above can fail."""
    uid, chain = _observe(lab, tmp_path, {"ANSIBLE_PIPELINING": "False"})
    assert uid == "0"
    assert "AnsiballZ_command.py" in chain[0], chain
