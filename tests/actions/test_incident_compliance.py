"""The hardening rules of `toolkit.compliance.hardening` on observations shaped like hardening_check.yml's."""

from __future__ import annotations

import time

from toolkit.compliance.hardening import Policy, evaluate, verdict

GOOD = {
    "sshd_rc": "0", "sshd": ["permitrootlogin without-password", "passwordauthentication no"],
    "nft_rc": "0", "nft_ruleset": "table inet spbe_filter {\n chain input {\n type filter hook input priority filter; "
                                   "policy drop;\n }\n}",
    "web_roots": ["/srv/apps"], "world_writable": [], "world_writable_count": "0",
    "security_lists": ["/var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_Packages"],
    "security_lists_mtime": time.time() - 3600, "upgrade_rc": "0",
    "upgrade_lines": ["Inst libc6 [2.36-9] (2.36-9+deb12u1 Debian:12.5/stable [amd64])"],
}


def _status(raw: dict[str, object], **policy: object) -> dict[str, str]:
    return {c.id: c.status for c in evaluate(raw, Policy(**policy))}  # type: ignore[arg-type]


def test_a_hardened_host_passes() -> None:
    checks = evaluate(GOOD)
    assert {c.id: c.status for c in checks} == {
        "ssh_password_auth": "lulus", "ssh_root_login": "lulus", "nftables_active": "lulus",
        "web_root_world_writable": "lulus", "security_updates": "lulus"}
    assert verdict(checks) == "lulus"


def test_each_finding_fails_its_own_check() -> None:
    assert _status(GOOD | {"sshd": ["passwordauthentication yes", "permitrootlogin yes"]}) == {
        **_status(GOOD), "ssh_password_auth": "gagal", "ssh_root_login": "gagal"}
    assert _status(GOOD, permit_root_login=("no",))["ssh_root_login"] == "gagal"
    assert _status(GOOD | {"nft_ruleset": ""})["nftables_active"] == "gagal"
    assert _status(GOOD | {"nft_ruleset": "table inet f {\n chain input { type filter hook input priority 0; "
                                          "policy accept; }\n}"})["nftables_active"] == "gagal"
    assert _status(GOOD | {"nft_rc": "1", "nft_error": "nft: command not found"})["nftables_active"] == "gagal"
    bad = GOOD | {"world_writable": ["/srv/apps/web/shell.php"], "world_writable_count": "1"}
    checks = evaluate(bad)
    assert verdict(checks) == "gagal"
    assert next(c for c in checks if c.id == "web_root_world_writable").evidence == ["/srv/apps/web/shell.php"]
    pending = GOOD | {"upgrade_lines": ["Inst openssl [3.0.11-1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security "
                                       "[amd64])"]}
    assert _status(pending)["security_updates"] == "gagal"


def test_what_cannot_be_seen_is_never_a_pass() -> None:
    offline = GOOD | {"security_lists": [], "upgrade_lines": [], "upgrade_rc": None}
    checks = evaluate(offline)
    updates = next(c for c in checks if c.id == "security_updates")
    assert updates.status == "tidak_dapat_diperiksa" and "luring" in updates.detail
    assert verdict(checks) == "tidak_dapat_diperiksa"
    stale = GOOD | {"security_lists_mtime": time.time() - 30 * 86400, "upgrade_lines": []}
    assert _status(stale)["security_updates"] == "tidak_dapat_diperiksa"
    unreadable = _status(GOOD | {"sshd_rc": "255", "sshd_error": "no hostkeys"})
    assert {unreadable["ssh_password_auth"], unreadable["ssh_root_login"]} == {"tidak_dapat_diperiksa"}
    assert _status(GOOD | {"web_roots": []})["web_root_world_writable"] == "tidak_dapat_diperiksa"
