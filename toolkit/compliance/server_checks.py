"""The check types of server profiles: each names the facts it reads and judges them in pure Python.

A check's base turns missing facts (``None``) and facts it cannot parse into ``error`` before and around
the type's own judgement, so no check type can pass a host it could not read. Evidence quotes what the
host said verbatim (see `toolkit.compliance.outcome`) and is written in Bahasa Indonesia, as it ends up
on the ticket.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.outcome import Outcome, Unparsable, failed, guarded, passed

MAX_LISTED = 20
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}


class BaseCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    facts: ClassVar[tuple[str, ...]] = ()

    def evaluate(self, facts: ServerFacts) -> Outcome:
        """Error when a named fact was not gathered or cannot be parsed; otherwise the type's judgement."""
        return guarded(facts, self.facts, lambda: self.judge(facts))

    def judge(self, facts: ServerFacts) -> Outcome:
        raise NotImplementedError


def _sshd(text: str) -> dict[str, str]:
    """``sshd -T`` prints one ``keyword value`` per line, keywords lower-case; anything else is garbled."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.strip().partition(" ")
        if not sep or not re.fullmatch(r"[a-z0-9]+", key):
            raise Unparsable(f"baris keluaran sshd -T tidak dikenal: {line!r}")
        values.setdefault(key, value.strip())
    if not values:
        raise Unparsable("keluaran sshd -T kosong")
    return values


class SshdOption(BaseCheck):
    """One sshd keyword whose effective value must be one of ``allowed`` (e.g. PermitRootLogin no)."""
    type: Literal["sshd-option"]
    option: str = Field(pattern=r"^[a-z0-9]+$", description="sshd -T keyword, lower-case")
    allowed: tuple[str, ...] = Field(min_length=1)
    facts: ClassVar[tuple[str, ...]] = ("sshd_effective",)

    def judge(self, facts: ServerFacts) -> Outcome:
        values = _sshd(facts.sshd_effective or "")
        if self.option not in values:
            raise Unparsable(f"{self.option} tidak ada di keluaran sshd -T")
        value = values[self.option]
        evidence = f"{self.option} {value}"
        if value.lower() in {a.lower() for a in self.allowed}:
            return passed(evidence)
        return failed(f"{evidence} (yang diizinkan: {', '.join(self.allowed)})")


class SshdCiphers(BaseCheck):
    """Every cipher sshd offers must be in ``allowed``; one weak cipher offered is enough to fail."""
    type: Literal["sshd-ciphers"]
    allowed: tuple[str, ...] = Field(min_length=1)
    facts: ClassVar[tuple[str, ...]] = ("sshd_effective",)

    def judge(self, facts: ServerFacts) -> Outcome:
        values = _sshd(facts.sshd_effective or "")
        if "ciphers" not in values or not values["ciphers"]:
            raise Unparsable("ciphers tidak ada di keluaran sshd -T")
        offered = [c for c in values["ciphers"].split(",") if c]
        extra = [c for c in offered if c not in self.allowed]
        if extra:
            return failed(f"cipher di luar daftar yang diizinkan: {', '.join(extra)}")
        return passed(f"ciphers {','.join(offered)}")


_INPUT_POLICY = re.compile(r"hook\s+input\b[^;{}]*;\s*policy\s+(\w+)\s*;")


def _input_policies(text: str, what: str) -> list[str]:
    if text.strip() and not re.search(r"^\s*(table|flush|include|define|#!)", text, re.MULTILINE):
        raise Unparsable(f"{what} bukan ruleset nftables")
    return [p.lower() for p in _INPUT_POLICY.findall(text)]


class NftablesDefaultDeny(BaseCheck):
    """An input chain with policy drop both loaded now and in the file the nftables service loads at boot."""
    type: Literal["nftables-default-deny"]
    facts: ClassVar[tuple[str, ...]] = ("nft_ruleset", "nft_persistent", "nftables_enabled")

    def judge(self, facts: ServerFacts) -> Outcome:
        loaded = _input_policies(facts.nft_ruleset or "", "nft list ruleset")
        saved = _input_policies(facts.nft_persistent or "", "/etc/nftables.conf")
        problems = []
        if not (facts.nft_ruleset or "").strip():
            problems.append("tidak ada ruleset yang dimuat")
        elif "drop" not in loaded:
            problems.append(f"ruleset dimuat tanpa chain input ber-policy drop (policy: {', '.join(loaded) or '-'})")
        if "drop" not in saved:
            problems.append("/etc/nftables.conf tidak memuat chain input ber-policy drop")
        if not facts.nftables_enabled:
            problems.append("layanan nftables tidak aktif saat boot")
        if problems:
            return failed("; ".join(problems))
        return passed("chain input policy drop dimuat dan tersimpan; layanan nftables aktif saat boot")


class NoWorldWritable(BaseCheck):
    """No file or directory under the application directories that anyone may write."""
    type: Literal["no-world-writable"]
    facts: ClassVar[tuple[str, ...]] = ("app_dirs", "world_writable")

    def judge(self, facts: ServerFacts) -> Outcome:
        roots = facts.app_dirs or ()
        if not roots:
            raise Unparsable("tidak ada direktori aplikasi yang diperiksa")
        found = facts.world_writable or ()
        outside = [p for p in found if not any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)]
        if outside:
            raise Unparsable(f"jalur di luar direktori aplikasi: {outside[0]!r}")
        if found:
            listed = "\n".join(found[:MAX_LISTED])
            return failed(f"{len(found)} berkas/direktori world-writable di {', '.join(roots)}:\n{listed}")
        return passed(f"diperiksa: {', '.join(roots)}")


_APT_LINE = re.compile(r'^(\S+)\s+"(.*)";$')


class UnattendedSecurityUpdates(BaseCheck):
    """unattended-upgrades enabled daily, with lists refreshed and a security origin allowed."""
    type: Literal["unattended-security-updates"]
    facts: ClassVar[tuple[str, ...]] = ("apt_config",)

    def judge(self, facts: ServerFacts) -> Outcome:
        config: list[tuple[str, str]] = []
        for line in (facts.apt_config or "").splitlines():
            if not line.strip():
                continue
            match = _APT_LINE.match(line.strip())
            if not match:
                raise Unparsable(f"baris apt-config dump tidak dikenal: {line!r}")
            config.append((match.group(1), match.group(2)))
        if not config:
            raise Unparsable("keluaran apt-config dump kosong")
        values = dict(config)
        origins = [v for k, v in config if k.startswith(("Unattended-Upgrade::Origins-Pattern::",
                                                         "Unattended-Upgrade::Allowed-Origins::"))]
        problems = []
        for key in ("APT::Periodic::Unattended-Upgrade", "APT::Periodic::Update-Package-Lists"):
            if values.get(key, "0").strip() in ("", "0"):
                problems.append(f"{key} {values.get(key, '(tidak diatur)')}")
        if not any("security" in o.lower() for o in origins):
            problems.append("tidak ada origin keamanan di Unattended-Upgrade")
        if problems:
            return failed("; ".join(problems))
        return passed(f"unattended-upgrades aktif; origin: {'; '.join(o for o in origins if o)}")


class TimeSync(BaseCheck):
    """NTP enabled and the clock synchronised (timedatectl), so logs and certificates agree on time."""
    type: Literal["time-sync"]
    facts: ClassVar[tuple[str, ...]] = ("timedatectl",)

    def judge(self, facts: ServerFacts) -> Outcome:
        values: dict[str, str] = {}
        for line in (facts.timedatectl or "").splitlines():
            if line.strip():
                key, sep, value = line.strip().partition("=")
                if not sep:
                    raise Unparsable(f"baris timedatectl tidak dikenal: {line!r}")
                values[key] = value
        if "NTP" not in values or "NTPSynchronized" not in values:
            raise Unparsable("NTP/NTPSynchronized tidak ada di keluaran timedatectl show")
        evidence = f"NTP={values['NTP']} NTPSynchronized={values['NTPSynchronized']}"
        if values["NTP"] == "yes" and values["NTPSynchronized"] == "yes":
            return passed(evidence)
        return failed(evidence)


class NodeExporterScraped(BaseCheck):
    """Prometheus has the host's node_exporter as an active target (of ``job``, when the profile names one:
    spbe's own monitoring install scrapes in job ``pusat-data``, a site's Prometheus may call it ``node``)
    and its last scrape was up."""
    type: Literal["node-exporter-scraped"]
    job: str | None = Field(default=None, min_length=1)
    port: int = Field(default=9100, ge=1, le=65535)
    facts: ClassVar[tuple[str, ...]] = ("prometheus_targets",)

    def judge(self, facts: ServerFacts) -> Outcome:
        try:
            body = json.loads(facts.prometheus_targets or "")
            targets: list[dict[str, Any]] = body["data"]["activeTargets"]
            instance = f"{facts.address}:{self.port}"
            mine = [t for t in targets if t["labels"].get("instance") == instance
                    and (self.job is None or t["labels"].get("job") == self.job)]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Unparsable(f"jawaban /api/v1/targets Prometheus tidak dikenal ({type(exc).__name__})") from exc
        where = f"job {self.job}" if self.job else "job apa pun"
        if not mine:
            return failed(f"{instance} bukan target aktif ({where}) di Prometheus")
        up = [t for t in mine if t.get("health") == "up"]
        if up:
            return passed(f"{instance} job {up[0]['labels'].get('job')}: up")
        return failed(f"{instance} ({where}): {mine[0].get('health')} "
                      f"({mine[0].get('lastError') or 'tanpa keterangan'})")


def _restic_time(text: str) -> datetime:
    """restic writes nanoseconds (``...T10:00:00.123456789+07:00``); Python reads at most microseconds."""
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    moment = datetime.fromisoformat(trimmed)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


class ResticSnapshotAge(BaseCheck):
    """The newest restic snapshot is younger than the backup schedule allows (``max_age_hours``)."""
    type: Literal["restic-snapshot-age"]
    max_age_hours: int = Field(default=26, ge=1, le=24 * 90)
    facts: ClassVar[tuple[str, ...]] = ("restic_snapshots",)

    def judge(self, facts: ServerFacts) -> Outcome:
        try:
            snapshots = json.loads(facts.restic_snapshots or "")
            times = [(_restic_time(str(s["time"])), str(s.get("short_id", "?"))) for s in snapshots]
        except (ValueError, KeyError, TypeError) as exc:
            raise Unparsable(f"keluaran restic snapshots --json tidak dikenal ({type(exc).__name__})") from exc
        if not times:
            return failed("tidak ada snapshot restic")
        newest, short_id = max(times)
        hours = facts.age_of(newest) / 3600
        evidence = f"snapshot terbaru {short_id} pada {newest.astimezone(UTC).isoformat()} ({hours:.1f} jam)"
        if hours > self.max_age_hours:
            return failed(f"{evidence}, lebih tua dari {self.max_age_hours} jam")
        return passed(evidence)


_NOT_AFTER = re.compile(r"^notAfter=([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s+GMT$")


def _not_after(text: str) -> datetime:
    """``openssl x509 -enddate`` output, read without the locale (``%b`` would depend on it)."""
    match = _NOT_AFTER.match(text.strip())
    if not match or match.group(1).lower() not in _MONTHS:
        raise Unparsable(f"tanggal kedaluwarsa sertifikat tidak dikenal: {text!r}")
    mon, day, hh, mm, ss, year = match.groups()
    try:
        return datetime(int(year), _MONTHS[mon.lower()], int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError as exc:
        raise Unparsable(f"tanggal kedaluwarsa sertifikat tidak valid: {text!r}") from exc


class TlsExpiry(BaseCheck):
    """Each hosted site's certificate is valid for more than ``min_days`` from when the facts were read."""
    type: Literal["tls-expiry"]
    min_days: int = Field(default=30, ge=1, le=365)
    facts: ClassVar[tuple[str, ...]] = ("tls_not_after",)

    def judge(self, facts: ServerFacts) -> Outcome:
        sites = facts.tls_not_after or {}
        if not sites:
            raise Unparsable("tidak ada situs TLS yang diperiksa")
        lines, short = [], []
        for site, text in sorted(sites.items()):
            days = -facts.age_of(_not_after(text)) / 86400
            lines.append(f"{site}: {days:.0f} hari lagi")
            if days <= self.min_days:
                short.append(site)
        if short:
            return failed(f"sertifikat berakhir dalam {self.min_days} hari: {', '.join(short)}\n" + "\n".join(lines))
        return passed("\n".join(lines))


ServerCheck = Annotated[
    SshdOption | SshdCiphers | NftablesDefaultDeny | NoWorldWritable | UnattendedSecurityUpdates | TimeSync
    | NodeExporterScraped | ResticSnapshotAge | TlsExpiry,
    Field(discriminator="type")]
CHECK_TYPES: tuple[str, ...] = ("sshd-option", "sshd-ciphers", "nftables-default-deny", "no-world-writable",
                                "unattended-security-updates", "time-sync", "node-exporter-scraped",
                                "restic-snapshot-age", "tls-expiry")
