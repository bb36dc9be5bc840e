"""The lab's Debian bookworm base root filesystem, built once with debootstrap and cached.

The target has no route to a mirror at run time, so every package a playbook "installs" must already be
in the base: the playbooks' package tasks then report ``ok``, exactly as on a server where the package
was installed earlier. The cache key is a hash of everything that shapes the image (package list, suite,
variant, fix-up revision), so changing the list builds a new base next to the old one instead of
silently reusing a stale one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import ConfigurationError, UnavailableError

DEFAULT_CACHE_DIR = Path("/var/lib/spbe-lab")
DEFAULT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SUITE = "bookworm"
VARIANT = "minbase"
# Bump when the post-build fix-ups below change, so cached bases are rebuilt.
FIXUP_REVISION = "1"
BASE_PACKAGES: tuple[str, ...] = (
    "openssh-server",
    "python3",
    "python3-apt",  # ansible.builtin.apt/package_facts; without it apt would try to fetch it at run time
    "sudo",
    "nginx",
    "nftables",
    "prometheus-node-exporter",
    "restic",
    "cron",  # ansible.builtin.cron needs the crontab binary even for /etc/cron.d files
    "iproute2",
    "procps",
    "iputils-ping",
    "ca-certificates",
    "netbase",  # /etc/protocols and /etc/services: nft resolves "ipv6-icmp" through them, as on a real server
    "wireguard-tools",  # wg and wg-quick on the VPN gateways (lab.vpn)
    "wireguard-go",  # no WireGuard kernel module here: wg-quick falls back to this userspace implementation
)


def package_hash(packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    """Short stable key of the image contents; order of the list does not matter."""
    material = "\n".join([SUITE, VARIANT, FIXUP_REVISION, *sorted(set(packages))])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]


def read_mirror(sources: Path = DEFAULT_SOURCES, suite: str = SUITE) -> str:
    """Return the first URI serving ``suite`` from an apt deb822 sources file.

    Read rather than hard-coded so the lab uses whatever mirror (or proxy, or snapshot) the machine is
    configured for; a one-line ``sources.list`` is accepted as a fallback.
    """
    try:
        text = sources.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read apt sources {sources}: {exc}", path=str(sources)) from exc
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
            uris = fields.get("uris", "").split()
            if uris:
                return uris[0]
    for line in text.splitlines():  # legacy one-line format: deb [opts] URI SUITE COMPONENTS
        parts = [p for p in line.split() if not p.startswith("[") and not p.endswith("]")]
        if len(parts) >= 3 and parts[0] == "deb" and parts[2] == suite:
            return parts[1]
    raise ConfigurationError(f"no deb source for {suite!r} in {sources}", path=str(sources))


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path`` in this process's mount namespace, deepest first."""
    root = os.path.realpath(path)
    found: list[Path] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == root or point.startswith(root + "/"):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_tree(path: Path) -> list[Path]:
    """Delete a lab-owned tree, first detaching anything still mounted inside it; returns those mounts.

    rmtree over a forgotten bind mount of /dev or /proc would delete the real thing; unmounting first
    (lazily, so a busy mount cannot block teardown) makes removal safe even after a crash.
    """
    if not path.exists() and not path.is_symlink():
        return []
    leftover = mounts_under(path)
    for point in leftover:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
    if mounts_under(path):
        raise ConfigurationError(f"refusing to delete {path}: still has mounts", path=str(path))
    shutil.rmtree(path, ignore_errors=False)
    return leftover


@contextmanager
def _build_lock(cache_dir: Path) -> Iterator[None]:
    """Serialise builds across processes: two test sessions must not debootstrap the same base twice."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".build.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fixup(root: Path) -> None:
    """Make the image neutral: no identity of its own, so every lab host gets fresh keys and a name."""
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/hostname").write_text("localhost\n", encoding="utf-8")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n", encoding="utf-8")
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    (root / "etc/spbe-lab-base").write_text(f"{package_hash()}\n", encoding="utf-8")


def ensure_base(
    cache_dir: Path = DEFAULT_CACHE_DIR,
    packages: tuple[str, ...] = BASE_PACKAGES,
    sources: Path = DEFAULT_SOURCES,
    log: Path | None = None,
) -> Path:
    """Return the cached base rootfs, building it first if needed (about a minute, once).

    The build goes to a temporary directory that is renamed into place only when debootstrap and the
    fix-ups succeeded, so a crash never leaves a half-built base that later runs would trust.
    """
    final = cache_dir / f"base-rootfs-{package_hash(packages)}"
    if (final / "etc/spbe-lab-base").is_file():
        return final
    with _build_lock(cache_dir):
        if (final / "etc/spbe-lab-base").is_file():
            return final
        if shutil.which("debootstrap") is None:
            raise UnavailableError("debootstrap is not installed; run scripts/lab_packages.sh")
        mirror = read_mirror(sources)
        tmp = cache_dir / f".build-{final.name}-{os.getpid()}"
        remove_tree(tmp)
        argv = [
            "debootstrap",
            f"--variant={VARIANT}",
            f"--include={','.join(sorted(set(packages)))}",
            SUITE,
            str(tmp),
            mirror,
        ]
        log_path = log or cache_dir / f"{final.name}.build.log"
        started = time.monotonic()
        with open(log_path, "w", encoding="utf-8") as out:
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            remove_tree(tmp)
            raise UnavailableError(
                f"debootstrap failed (rc={proc.returncode}); see {log_path}", log=str(log_path), mirror=mirror
            )
        _fixup(tmp)
        remove_tree(final)
        os.rename(tmp, final)
        with open(log_path, "a", encoding="utf-8") as out:
            out.write(f"spbe-lab: base built in {time.monotonic() - started:.1f}s\n")
    return final
