"""Server targets from a real inventory (parsed by ansible-inventory), selectors refused by shape before any
lookup, the fixed command lines, and targets that cannot be read (refused connection, a silent port) ending
as `GatherFailure`, never as facts."""

from __future__ import annotations

import shlex
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from toolkit.compliance.config import ComplianceSettings
from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gather_server import ServerGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile
from toolkit.compliance.remediate_server import ServerRemediator, steps_for
from toolkit.compliance.server_commands import commands
from toolkit.compliance.server_targets import ServerTarget
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError
from toolkit.settings import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A real TCP listener on loopback that accepts and never speaks: SSH's banner never comes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _inventory(tmp_path: Path, hosts: dict[str, dict[str, object]]) -> Path:
    data = {"all": {"children": {
        "pusat_data_pool": {"hosts": hosts},
        "web": {"hosts": {"web-01": {"ansible_host": "127.0.0.1", "ansible_port": _closed_port()}}},
        "monitoring": {"hosts": {"monitor": {"ansible_connection": "local"}}},
    }}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return _inventory(tmp_path, {
        "app-01": {"ansible_host": "127.0.0.1", "ansible_port": _closed_port(), "ansible_user": "adm",
                   "ansible_ssh_common_args": f"-o UserKnownHostsFile={tmp_path / 'kh'} -o StrictHostKeyChecking=yes",
                   "spbe_app_name": "portal", "spbe_compliance_app_dirs": ["/srv/apps/portal"],
                   "spbe_compliance_tls_sites": [{"name": "portal.example.go.id"}]},
        "app-02": {"ansible_host": "127.0.0.1", "ansible_port": _closed_port()},
    })


def _gatherer(inventory: Path, **compliance: object) -> ServerGatherer:
    settings = Settings(inventory=inventory, compliance=ComplianceSettings(ssh_timeout_s=1.5, **compliance))
    return ServerGatherer(settings)


@pytest.mark.parametrize("selector", ["a;b", "$(x)", "../x", "app-01\n", "app-01\nrm", "`id`", "group:", "group:a b",
                                      "*;", "", " app-01", "-oProxyCommand=x", "a|b", "group:../x"])
def test_a_selector_of_the_wrong_shape_is_refused_before_any_lookup(inventory: Path, selector: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid target selector"):
        _gatherer(inventory).resolve([selector])
    with pytest.raises(InvalidInputError):  # even when the inventory cannot be read: no lookup happened
        _gatherer(inventory.parent / "missing.yml").resolve(["app-01", selector])


def test_an_unknown_host_or_group_is_not_found_by_name(inventory: Path) -> None:
    gatherer = _gatherer(inventory)
    with pytest.raises(NotFoundError, match="'app-99'") as err:
        gatherer.resolve(["app-01", "app-99"])
    assert err.value.details["host"] == "app-99"
    with pytest.raises(NotFoundError, match="'gudang'"):
        gatherer.resolve(["group:gudang"])
    with pytest.raises(NotFoundError, match="'monitor'"):  # reached locally: not a server to sweep
        gatherer.resolve(["monitor"])


def test_selectors_resolve_to_servers_in_order_without_duplicates(inventory: Path) -> None:
    gatherer = _gatherer(inventory)
    assert gatherer.resolve(["app-02", "group:pusat_data_pool"]) == ["app-02", "app-01"]
    assert gatherer.resolve(["*"]) == ["app-01", "app-02", "web-01"]
    with pytest.raises(InvalidInputError):
        gatherer.resolve([])


@pytest.mark.parametrize(("var", "value"), [("spbe_compliance_app_dirs", ["/srv/../etc"]),
                                            ("spbe_compliance_app_dirs", ["/"]),
                                            ("spbe_compliance_app_dirs", ["/srv/a b"]),
                                            ("spbe_compliance_tls_sites", [{"name": "x;reboot"}]),
                                            ("spbe_compliance_restic_repo", "/var/backups/$(id)"),
                                            ("ansible_user", "root;id")])
def test_a_host_var_that_could_reach_a_command_line_is_refused(tmp_path: Path, var: str, value: object) -> None:
    inventory = _inventory(tmp_path, {"app-01": {"ansible_host": "127.0.0.1", var: value}})
    with pytest.raises(ConfigurationError, match="app-01"):
        _gatherer(inventory).gather(["app-01"])


def test_the_command_set_is_fixed_and_quoted_word_by_word() -> None:
    target = ServerTarget(name="app-01", address="10.0.0.2", user="adm", app_dirs=("/srv/apps/portal", "/var/www"),
                          restic_repo="/var/backups/spbe/portal", restic_password_file="/etc/spbe/backup/p.pw",  # noqa: S106 (a path)
                          tls_sites=({"name": "portal.example.go.id", "port": 8443},))  # type: ignore[arg-type]
    lines = {c.fact: c.line(target.needs_sudo) for c in commands(target)}
    assert all(line.endswith(" 2>/dev/null") for line in lines.values())
    words = {fact: shlex.split(line.removesuffix(" 2>/dev/null")) for fact, line in lines.items()}
    assert words["sshd_effective"] == ["sudo", "-n", "--", "sshd", "-T"]
    assert words["nft_ruleset"] == ["sudo", "-n", "--", "nft", "list", "ruleset"]
    find = words["world_writable"]
    assert find[:5] == ["sudo", "-n", "--", "sh", "-c"] and find[-3:] == ["sh", "/srv/apps/portal", "/var/www"]
    assert "-delete" not in find[5] and "-exec" not in find[5] and "-perm -0002" in find[5]
    restic = words["restic_snapshots"]
    assert restic[3:] == ["restic", "--no-lock", "--repo", "/var/backups/spbe/portal", "--password-file",
                          "/etc/spbe/backup/p.pw", "snapshots", "--json"]
    assert words["tls:portal.example.go.id"][-2:] == ["portal.example.go.id", "8443"]
    root = target.model_copy(update={"user": "root", "restic_repo": None, "tls_sites": ()})
    facts = {c.fact for c in commands(root)}
    assert not any(c.line(False).startswith("sudo") for c in commands(root))
    assert "restic_snapshots" not in facts and not any(f.startswith("tls:") for f in facts)


def test_targets_that_cannot_be_read_are_gather_failures(tmp_path: Path, silent_port: int) -> None:
    inventory = _inventory(tmp_path, {
        "refused": {"ansible_host": "127.0.0.1", "ansible_port": _closed_port()},
        "silent": {"ansible_host": "127.0.0.1", "ansible_port": silent_port},
    })
    seen: list[str] = []
    results = _gatherer(inventory).gather(["refused", "silent"], progress=seen.append)
    assert sorted(seen) == ["refused", "silent"]
    refused, silent = results["refused"], results["silent"]
    assert isinstance(refused, GatherFailure) and refused.target == "refused"
    assert "unreachable" in refused.reason
    assert isinstance(silent, GatherFailure) and not isinstance(silent, ServerFacts)
    assert "SSH" in silent.reason


def _profile() -> ServerProfile:
    profile = load_profiles()["server-dasar"]
    assert isinstance(profile, ServerProfile)
    return profile


def test_remediation_steps_are_distinct_playbooks_in_rule_order() -> None:
    profile = _profile()
    wanted = {"SD-SSH-01", "SD-FW-01", "SD-SSH-03", "SD-FS-01"}
    steps = steps_for([r for r in profile.rules if r.id in wanted])
    assert [(s.playbook, s.undo_playbook, s.rule_ids) for s in steps] == [
        ("compliance/sshd_hardening.yml", "compliance/sshd_hardening_undo.yml", ("SD-SSH-01", "SD-SSH-03")),
        ("compliance/nftables_default_deny.yml", "compliance/nftables_default_deny_undo.yml", ("SD-FW-01",)),
        ("compliance/app_dir_permissions.yml", "compliance/app_dir_permissions_undo.yml", ("SD-FS-01",)),
    ]


def test_every_playbook_the_profile_names_exists_with_its_undo() -> None:
    playbooks = Path(__file__).resolve().parents[2] / "playbooks"
    for rule in _profile().rules:
        for name in (rule.remediation.playbook, rule.remediation.undo_playbook):  # type: ignore[union-attr]
            assert (playbooks / name).is_file(), f"{rule.id}: {name}"


def test_a_malformed_or_foreign_plan_is_refused(inventory: Path, tmp_path: Path) -> None:
    from toolkit.compliance.gathering import RemediationPlan

    remediator = ServerRemediator(Settings(inventory=inventory))
    bad = RemediationPlan(kind="server", target="app-01", rule_ids=("SD-SSH-01",), preview="",
                          detail={"steps": [{"playbook": "../../etc/x.yml", "undo_playbook": "u.yml",
                                             "rule_ids": ["SD-SSH-01"]}]})
    with pytest.raises(InvalidInputError, match="malformed"):
        remediator.apply(bad, tmp_path, lambda _line: None)
    foreign = bad.model_copy(update={"kind": "switch"})
    with pytest.raises(InvalidInputError, match="switch"):
        remediator.undo(foreign, tmp_path, lambda _line: None)
    unknown = bad.model_copy(update={"target": "app-99"})
    with pytest.raises(NotFoundError):
        remediator.apply(unknown, tmp_path, lambda _line: None)
