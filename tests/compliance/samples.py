"""Facts of a hardened server, shaped as the read-only gathering will hand them (raw command output)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from toolkit.compliance.facts import ServerFacts

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

SSHD = """port 22
permitrootlogin no
passwordauthentication no
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-ctr
kexalgorithms sntrup761x25519-sha512@openssh.com
"""

NFT = """table inet spbe_filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t}
}
"""

APT = """APT "";
APT::Periodic "";
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
Unattended-Upgrade "";
Unattended-Upgrade::Origins-Pattern "";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian-Security";
"""

TIMEDATECTL = "Timezone=Asia/Makassar\nNTP=yes\nNTPSynchronized=yes\nTimeUSec=Sun 2026-12-06 20:00:00 WITA\n"


def targets(health: str = "up", instance: str = "10.0.0.5:9100", last_error: str = "") -> str:
    return json.dumps({"status": "success", "data": {"activeTargets": [
        {"labels": {"job": "node", "instance": instance}, "health": health, "lastError": last_error},
        {"labels": {"job": "prometheus", "instance": "127.0.0.1:9090"}, "health": "up", "lastError": ""}]}})


def snapshots(*times: str) -> str:
    return json.dumps([{"time": t, "short_id": f"ab{i:02d}", "paths": ["/srv/apps"]} for i, t in enumerate(times)])


GOOD: dict[str, Any] = {
    "host": "simpus-app", "address": "10.0.0.5", "gathered_at": AT,
    "sshd_effective": SSHD, "nft_ruleset": NFT, "nft_persistent": "#!/usr/sbin/nft -f\nflush ruleset\n" + NFT,
    "nftables_enabled": True, "app_dirs": ("/srv/apps",), "world_writable": (), "apt_config": APT,
    "timedatectl": TIMEDATECTL, "prometheus_targets": targets(),
    "restic_snapshots": snapshots("2026-12-05T10:00:00.123456789+08:00", "2026-12-06T02:00:00.987654321+08:00"),
    "tls_not_after": {"simpus.example.go.id": "notAfter=Mar  1 00:00:00 2027 GMT"},
}


def facts(**changes: Any) -> ServerFacts:
    return ServerFacts.model_validate(GOOD | changes)
