"""The ansible-runner wrapper against real runs: failures as data, masking, cancel, no secrets left."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from lab.models import LabState
from toolkit.actions.ansible.runner import PlaybookRun, run_playbook

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_host_is_a_failed_run_listing_the_host(tmp_path: Path) -> None:
    # A host on a closed loopback port: unreachable without sending a packet off this machine.
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "pusat_data_pool": {
                            "hosts": {
                                "pd-ghost-01": {
                                    "ansible_host": "127.0.0.1",
                                    "ansible_port": _closed_loopback_port(),
                                    "ansible_user": "root",
                                    "ansible_ssh_common_args": f"-o UserKnownHostsFile={tmp_path / 'kh'}",
                                }
                            }
                        }
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    lines: list[str] = []
    summary = run_playbook(
        PlaybookRun(
            playbook=PLAYBOOKS / "provision_server.yml",
            inventory=inventory,
            limit="pd-ghost-01",
            # Valid inputs: the play passes its validation and fails where it first reaches the host.
            extra_vars={"spbe_hostname": "pd-ghost-01", "spbe_app_name": "ghost", "spbe_mgmt_cidrs": ["127.0.0.1/32"]},
            private_data_dir=tmp_path / "runs",
            timeout_s=120,
        ),
        on_line=lines.append,
    )
    assert summary.status == "failed"
    assert summary.rc not in (0, None)
    assert summary.failed_hosts == ["pd-ghost-01"]
    assert summary.hosts["pd-ghost-01"].unreachable == 1
    assert [t.host for t in summary.failed_tasks] == ["pd-ghost-01"]
    assert summary.failed_tasks[0].unreachable
    assert any("UNREACHABLE" in line for line in lines)


def test_missing_playbook_is_a_configuration_error(tmp_path: Path) -> None:
    from toolkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        run_playbook(
            PlaybookRun(
                playbook=tmp_path / "nope.yml", inventory=tmp_path, private_data_dir=tmp_path / "runs"
            )
        )


def test_extra_vars_are_not_in_repr(tmp_path: Path) -> None:
    run = PlaybookRun(
        playbook=PLAYBOOKS / "configure_backup.yml",
        inventory=tmp_path,
        extra_vars={"spbe_backup_password": "super-secret-value"},
        private_data_dir=tmp_path,
    )
    assert "super-secret-value" not in repr(run)


def test_limit_is_validated(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PlaybookRun(playbook=tmp_path, inventory=tmp_path, private_data_dir=tmp_path, limit="a b;id")


@pytest.mark.lab
def test_playbook_rejects_bad_vars_that_bypass_the_models(lab: LabState, tmp_path: Path) -> None:
    """Defence in depth: raw extra vars (not via the models) are stopped by the playbook's assert."""
    host = lab.hosts[0]
    summary = run_playbook(
        PlaybookRun(
            playbook=PLAYBOOKS / "provision_server.yml",
            inventory=lab.inventory,
            limit=host.name,
            extra_vars={"spbe_hostname": "a;rm -rf /", "spbe_app_name": "../x"},
            private_data_dir=tmp_path / "runs",
            timeout_s=300,
        ),
        mask=lambda s: s.replace(host.address, "<addr>"),
    )
    assert summary.status == "failed"
    assert summary.failed_hosts == [host.name]
    assert summary.hosts[host.name].changed == 0
    assert summary.failed_tasks[0].task.startswith("Validate inputs")
    assert "Invalid or missing Pusat Data variables" in summary.failed_tasks[0].msg


@pytest.mark.lab
def test_lines_are_masked_and_cancel_stops_the_run(lab: LabState, tmp_path: Path) -> None:
    host = lab.hosts[0]
    lines: list[str] = []
    summary = run_playbook(
        PlaybookRun(
            playbook=PLAYBOOKS / "install_monitoring.yml",
            inventory=lab.inventory,
            limit=f"{host.name},monitor",
            extra_vars={"spbe_hostname": host.name, "spbe_opd": "kominfo"},
            private_data_dir=tmp_path / "runs",
            timeout_s=300,
        ),
        on_line=lines.append,
        # The first task that reaches the host (the play reads its facts explicitly): cancelled there.
        should_cancel=lambda: any("Read the init system and package manager" in line for line in lines),
        mask=lambda s: s.replace(host.name, "<host>"),
    )
    assert summary.status == "canceled"
    assert lines, "no output was streamed"
    assert all(host.name not in line for line in lines)
    assert any("<host>" in line for line in lines)
