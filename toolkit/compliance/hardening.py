"""Judging the hardening observations of ``playbooks/hardening_check.yml`` (pure, so every rule is tested).

Each check ends ``lulus`` (pass), ``gagal`` (fail) or ``tidak_dapat_diperiksa`` (could not be verified:
the data needed is not there, e.g. no security package lists on an offline host). "Could not be
verified" is never counted as a pass: the report says so, and the step still succeeds only when
nothing failed, so the CSIRT decides knowingly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["lulus", "gagal", "tidak_dapat_diperiksa"]
STALE_LISTS_S = 7 * 86400


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)
    permit_root_login: tuple[str, ...] = Field(default=("no", "prohibit-password", "without-password"),
                                               description="acceptable sshd PermitRootLogin values")


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    title: str
    status: Status
    detail: str
    evidence: list[str] = Field(default_factory=list)


def _sshd(raw: Mapping[str, Any], policy: Policy) -> list[Check]:
    if int(raw.get("sshd_rc", 1)) != 0:
        detail = f"sshd -T gagal: {raw.get('sshd_error') or 'tanpa keterangan'}"
        return [Check(id=i, title=t, status="tidak_dapat_diperiksa", detail=detail)
                for i, t in (("ssh_password_auth", "SSH: login dengan kata sandi dinonaktifkan"),
                             ("ssh_root_login", "SSH: kebijakan login root"))]
    values: dict[str, str] = {}
    for line in raw.get("sshd") or []:
        key, _, value = str(line).partition(" ")
        values[key.lower()] = value.strip().lower()
    pw_login = values.get("passwordauthentication", "(tidak terbaca)")
    root = values.get("permitrootlogin", "(tidak terbaca)")
    return [
        Check(id="ssh_password_auth", title="SSH: login dengan kata sandi dinonaktifkan",
              status="lulus" if pw_login == "no" else "gagal",
              detail=f"PasswordAuthentication {pw_login}" + ("" if pw_login == "no" else " (harus no)"),
              evidence=[f"passwordauthentication {pw_login}"]),
        Check(id="ssh_root_login", title="SSH: kebijakan login root",
              status="lulus" if root in policy.permit_root_login else "gagal",
              detail=f"PermitRootLogin {root}" + ("" if root in policy.permit_root_login
                                                  else f" (yang diizinkan: {', '.join(policy.permit_root_login)})"),
              evidence=[f"permitrootlogin {root}"]),
    ]


def _nftables(raw: Mapping[str, Any]) -> Check:
    title = "Firewall nftables aktif dengan kebijakan input drop"
    if int(raw.get("nft_rc", 1)) != 0:
        return Check(id="nftables_active", title=title, status="gagal",
                     detail=f"nft list ruleset gagal: {raw.get('nft_error') or 'tanpa keterangan'}")
    ruleset = str(raw.get("nft_ruleset") or "")
    lines = [line.strip() for line in ruleset.splitlines()]
    drop_input = [line for line in lines if "hook input" in line and "policy drop" in line]
    if not ruleset.strip():
        return Check(id="nftables_active", title=title, status="gagal", detail="tidak ada ruleset yang dimuat")
    if not drop_input:
        return Check(id="nftables_active", title=title, status="gagal",
                     detail="ruleset dimuat tetapi tidak ada chain input dengan policy drop",
                     evidence=[line for line in lines if line.startswith("table")][:10])
    return Check(id="nftables_active", title=title, status="lulus",
                 detail=f"{len(drop_input)} chain input dengan policy drop",
                 evidence=[line for line in lines if line.startswith("table")][:10])


def _world_writable(raw: Mapping[str, Any]) -> Check:
    title = "Tidak ada berkas world-writable di direktori web"
    roots = list(raw.get("web_roots") or [])
    if not roots:
        return Check(id="web_root_world_writable", title=title, status="tidak_dapat_diperiksa",
                     detail="tidak ada direktori web pada host")
    found = [str(p) for p in raw.get("world_writable") or []]
    count = int(raw.get("world_writable_count") or len(found))
    if count:
        return Check(id="web_root_world_writable", title=title, status="gagal",
                     detail=f"{count} berkas/direktori world-writable di {', '.join(roots)}", evidence=found[:20])
    return Check(id="web_root_world_writable", title=title, status="lulus", detail=f"diperiksa: {', '.join(roots)}")


def _security_updates(raw: Mapping[str, Any], now: float) -> Check:
    title = "Tidak ada pembaruan keamanan yang tertunda"
    lists = list(raw.get("security_lists") or [])
    if not lists:
        return Check(id="security_updates", title=title, status="tidak_dapat_diperiksa",
                     detail="daftar paket repositori keamanan tidak tersedia di host (host luring atau "
                            "'apt-get update' belum dijalankan); pembaruan keamanan tidak dapat diverifikasi")
    if raw.get("upgrade_rc") not in (0, "0"):
        return Check(id="security_updates", title=title, status="tidak_dapat_diperiksa",
                     detail="simulasi 'apt-get upgrade' gagal")
    pending = [str(line) for line in raw.get("upgrade_lines") or [] if "security" in str(line).lower()]
    mtime = raw.get("security_lists_mtime")
    stale = isinstance(mtime, int | float) and now - float(mtime) > STALE_LISTS_S
    note = " (daftar paket lebih dari 7 hari; jalankan 'apt-get update')" if stale else ""
    if pending:
        return Check(id="security_updates", title=title, status="gagal",
                     detail=f"{len(pending)} paket dengan pembaruan keamanan tertunda{note}", evidence=pending[:20])
    return Check(id="security_updates", title=title, status="tidak_dapat_diperiksa" if stale else "lulus",
                 detail="tidak ada pembaruan keamanan tertunda" + note)


def evaluate(raw: Mapping[str, Any], policy: Policy | None = None, now: float | None = None) -> list[Check]:
    policy = policy or Policy()
    return [*_sshd(raw, policy), _nftables(raw), _world_writable(raw),
            _security_updates(raw, time.time() if now is None else now)]


def verdict(checks: list[Check]) -> Status:
    if any(c.status == "gagal" for c in checks):
        return "gagal"
    if any(c.status == "tidak_dapat_diperiksa" for c in checks):
        return "tidak_dapat_diperiksa"
    return "lulus"
