"""The SSH fast path's boundaries, without a host: the table's text from the playbook's own template, what
reaches it, the data sent to the host and what is accepted back (the lab tests drive the real thing)."""

from __future__ import annotations

import io
import shlex
import tarfile
from pathlib import Path

import pytest

from toolkit.containment import host_ssh, isolation_table
from toolkit.containment.host import HostBefore, InventoryHost
from toolkit.errors import ActionFailedError, ConfigurationError, InvalidInputError
from toolkit.settings import Settings
from toolkit.ssh import remote
from toolkit.ssh.target import known_hosts_file, target_from_vars

PLAYBOOKS = Settings().playbooks_dir


def test_table_from_the_playbook_template() -> None:
    text = isolation_table.render(PLAYBOOKS, "C12", "ir-web-01", ("10.1.2.3/32", "192.168.0.0/24", "fd00::/64"))
    assert text.startswith("# spbe CSIRT containment C12: isolation of ir-web-01.\n")
    assert "    elements = { 10.1.2.3/32, 192.168.0.0/24 }\n" in text
    assert "    elements = { fd00::/64 }\n" in text
    assert "{%" not in text and "{{" not in text and text.endswith("}\n")
    # The playbook renders the same file (its template task), so the fast path cannot drift from it.
    playbook = (PLAYBOOKS / "contain_isolate_host.yml").read_text()
    assert "src: templates/spbe-isolation.nft.j2" in playbook
    only_v4 = isolation_table.render(PLAYBOOKS, "C1", "h", ("10.0.0.0/8",))
    assert only_v4.count("elements") == 1 and "type ipv6_addr\n    flags interval\n  }" in only_v4


@pytest.mark.parametrize("mgmt", [(), ("0.0.0.0/0",), ("::/0",), ("10.0.0.1/32;reboot",), ("$(id)",),
                                  ("10.0.0.1/32\nflush ruleset",), ("10.0.0.1/24",), ("10.0.0.1",),
                                  ("10.0.0.1/32 }",)])
def test_bad_management_networks_never_reach_the_table(mgmt: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInputError):
        isolation_table.render(PLAYBOOKS, "C1", "ir-web-01", mgmt)


@pytest.mark.parametrize(("record_id", "host"), [("C1;reboot", "h"), ("C1\nflush ruleset", "h"), ("$(id)", "h"),
                                                 ("", "h"), ("C1", "h;reboot"), ("C1", "h\nx"), ("C1", "$(id)"),
                                                 ("C1", "{{ lookup('pipe','id') }}")])
def test_bad_ids_never_reach_the_table(record_id: str, host: str) -> None:
    with pytest.raises(InvalidInputError):
        isolation_table.render(PLAYBOOKS, record_id, host, ("10.0.0.1/32",))


def test_scripts_are_constants_without_request_data() -> None:
    """What varies travels on stdin; the command line is the constant script, quoted."""
    line = remote.command_line(["sh", "-c", host_ssh.ISOLATE_SCRIPT, "spbe-isolate"], sudo=True)
    assert shlex.split(line) == ["sudo", "-n", "--", "sh", "-c", host_ssh.ISOLATE_SCRIPT, "spbe-isolate"]
    assert "cat > \"$dropin.spbe-new\"" in host_ssh.ISOLATE_SCRIPT  # the table comes on stdin
    assert "tar -x -f - -C \"$work\"" in host_ssh.RELEASE_SCRIPT  # the recorded files too


def test_release_data_is_the_record() -> None:
    before = HostBefore(ruleset="table inet a {\n}\n", ruleset_stateless="table inet a {\n}\n", nftables_conf=None)
    with tarfile.open(fileobj=io.BytesIO(host_ssh.release_archive(before))) as tar:
        names = tar.getnames()
        restore = tar.extractfile("restore.nft")
        assert restore is not None and restore.read() == b"flush ruleset\ntable inet a {\n}\n"
    assert names == ["restore.nft", "expected.nft"]  # no nftables.conf before: none sent, the host's goes
    with_conf = before.model_copy(update={"nftables_conf": "#!/usr/sbin/nft -f\n"})
    with tarfile.open(fileobj=io.BytesIO(host_ssh.release_archive(with_conf))) as tar:
        assert tar.getnames() == ["restore.nft", "expected.nft", "nftables.conf"]


@pytest.mark.parametrize("stdout", [
    b"table_b64 QQ==\nextra_key 1\n",               # a key the script never prints
    b"changed 1\nchanged 2\n",                        # twice
    b"changed $(id)\n",                               # not a value the script prints
    b"Welcome to the host\nchanged 1\n",              # anything else on stdout
    b"changed 1\n",                                   # results missing
])
def test_host_output_is_parsed_strictly(stdout: bytes) -> None:
    with pytest.raises(ActionFailedError):
        host_ssh._parse(stdout, {"changed", "ruleset_stateless_b64"}, "h")


def test_target_is_the_inventory_s_connection(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    host_vars = {"ansible_port": 2222, "ansible_user": "admin", "ansible_ssh_private_key_file": "/k/id",
                 "ansible_ssh_common_args": f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes"}
    target = host_ssh.ssh_target(InventoryHost(name="web-01", address="10.0.0.5", vars=host_vars))
    assert (target.port, target.user, target.key_file, target.known_hosts) == (2222, "admin", Path("/k/id"), known)
    assert target.needs_sudo  # not root: root's work goes through sudo -n, as Ansible's become
    assert known_hosts_file("-oUserKnownHostsFile=/a/b -o X=y") == Path("/a/b")
    assert known_hosts_file(None) is None
    with pytest.raises(ConfigurationError, match="web-01"):
        target_from_vars("web-01", "10.0.0.5", {"ansible_user": "root;reboot"})


@pytest.mark.parametrize("extra", [{"ansible_password": "x"}, {"ansible_become_password": "x"},
                                   {"ansible_connection": "local"}, {"ansible_become_user": "postgres"},
                                   {"ansible_ssh_common_args": "-o ProxyJump=bastion"}])
def test_connections_the_fast_path_cannot_make_name_the_setting(extra: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match=r'containment\.apply = "playbook"'):
        host_ssh.ssh_target(InventoryHost(name="web-01", address="10.0.0.5", vars=extra))
