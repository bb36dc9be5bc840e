"""Boot one lab host: a Debian copy, chrooted, in its own net/mount/UTS/PID namespaces, serving SSH.

Two halves live here. The host side (``launch``) runs::

    ip netns exec NS unshare --mount --uts --pid --fork --propagation private -- \
        python -m lab.sshd stage1 ...

and ``stage1`` (running as PID 1 of the new PID namespace, still seeing the host's files) mounts the
overlay, a fresh /proc, a read-only /sys, a tmpfs /run and a *minimal* /dev (never the host's: /dev/vda
must not be reachable from a target), sets the UTS hostname, chroots and starts sshd through Debian's own
``/etc/init.d/ssh``. It then stays PID 1, reaping orphans, under the process name ``init``.

Why ``init``: Ansible's service_mgr fact reads /proc/1/comm; ``init`` is the one name it refuses to trust,
so it falls through to its Linux probes, finds no systemd, upstart or openrc and /etc/init.d present, and
picks ``sysvinit``. ``ansible.builtin.service`` then drives the Debian init scripts the packages ship
(nginx, prometheus-node-exporter, ssh, cron) -- the same playbook uses systemd on a real server.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PR_SET_NAME = 15
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}
# (name, major, minor, mode): the devices programs in a Debian userland expect.
DEVICES = (
    ("null", 1, 3, 0o666),
    ("zero", 1, 5, 0o666),
    ("full", 1, 7, 0o666),
    ("random", 1, 8, 0o666),
    ("urandom", 1, 9, 0o666),
    ("tty", 5, 0, 0o666),
)


def generate_key(path: Path, comment: str) -> Path:
    """Create an ed25519 keypair once (0600 private key); an existing key is kept."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            capture_output=True,
        )
    path.chmod(0o600)
    return path


def seed_rootfs(write_root: Path, hostname: str, address: str, host_key: Path, client_pub: Path) -> None:
    """Give the copy its identity before boot: host key, root's authorized key, hostname, hosts.

    With overlayfs ``write_root`` is the (empty) upper dir; files placed there shadow the base.
    """
    ssh_dir = write_root / "etc/ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    for suffix, mode in (("", 0o600), (".pub", 0o644)):
        target = ssh_dir / f"ssh_host_ed25519_key{suffix}"
        target.write_bytes(Path(f"{host_key}{suffix}").read_bytes())
        target.chmod(mode)
    root_ssh = write_root / "root/.ssh"
    root_ssh.mkdir(parents=True, exist_ok=True)
    (write_root / "root").chmod(0o700)
    root_ssh.chmod(0o700)
    keys = root_ssh / "authorized_keys"
    keys.write_bytes(client_pub.read_bytes())
    keys.chmod(0o600)
    (write_root / "etc/hostname").write_text(f"{hostname}\n", encoding="utf-8")
    (write_root / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n{address}\t{hostname}\n::1\tlocalhost ip6-localhost\n", encoding="utf-8"
    )


def launch(
    netns: str,
    merged: Path,
    hostname: str,
    log: Path,
    overlay: tuple[Path, Path, Path] | None,
) -> subprocess.Popen[bytes]:
    """Start the namespaced host; returns the `unshare` process (its child is the host's PID 1)."""
    from lab.procs import pythonpath  # here, not at the top: stage1 runs this module and needs none of it

    env = dict(CLEAN_ENV)
    env["PYTHONPATH"] = pythonpath()
    argv = [
        "ip", "netns", "exec", netns,
        "unshare", "--mount", "--uts", "--pid", "--fork", "--propagation", "private", "--",
        sys.executable, "-m", "lab.sshd", "stage1",
        "--root", str(merged), "--hostname", hostname,
    ]  # fmt: skip
    if overlay is not None:
        lower, upper, work = overlay
        argv += ["--lower", str(lower), "--upper", str(upper), "--work", str(work)]
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def wait_for_ssh(
    address: str, port: int, timeout_s: float, alive: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until the SSH banner is served; raise TimeoutError early if the host process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise TimeoutError(f"lab host exited with rc={alive.returncode} before sshd answered")
        try:
            with socket.create_connection((address, port), timeout=1.0) as conn:
                if conn.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no SSH banner from {address}:{port} within {timeout_s}s")


def host_init_pid(unshare_pid: int) -> int:
    """Host-side pid of the lab host's PID 1 (the only child of the recorded `unshare` process)."""
    children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text(encoding="utf-8").split()
    if len(children) != 1:
        raise ProcessLookupError(f"lab host process {unshare_pid} has children {children}, expected one")
    return int(children[0])


def host_exec(unshare_pid: int, argv: list[str], timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside a lab host (all its namespaces and its root) without SSH or a shell.

    For tests and diagnostics: it sees exactly what a process on the target sees.
    """
    pid = str(host_init_pid(unshare_pid))
    return subprocess.run(
        ["nsenter", "-t", pid, "-m", "-u", "-p", "-n", "-r", "-w", "--", *argv],
        capture_output=True, text=True, timeout=timeout_s, env=CLEAN_ENV, check=False,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------
# stage1: runs inside the namespaces. Standard library only, everything imported before chroot.


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _minimal_dev(dev: Path) -> None:
    _mount("-t", "tmpfs", "-o", "mode=755,nosuid,noexec,size=1m", "tmpfs", str(dev))
    for name, major, minor, mode in DEVICES:
        os.mknod(dev / name, 0o020000 | mode, os.makedev(major, minor))
        os.chmod(dev / name, mode)
    for sub in ("pts", "shm"):
        (dev / sub).mkdir()
    _mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts", str(dev / "pts"))
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev,size=16m", "tmpfs", str(dev / "shm"))
    os.symlink("pts/ptmx", dev / "ptmx")
    os.symlink("/proc/self/fd", dev / "fd")
    for index, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{index}", dev / name)


def stage1(args: list[str]) -> int:
    """Become the host's PID 1. Returns only on SIGTERM/SIGINT after stopping everything."""
    opts = dict(zip(args[::2], args[1::2], strict=True))
    root = Path(opts["--root"])
    if "--lower" in opts:
        _mount(
            "-t", "overlay", "overlay", "-o",
            f"lowerdir={opts['--lower']},upperdir={opts['--upper']},workdir={opts['--work']}", str(root),
        )  # fmt: skip
    _mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", str(root / "proc"))
    _mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", str(root / "sys"))
    _mount("-t", "tmpfs", "-o", "mode=755,nosuid,nodev,size=64m", "tmpfs", str(root / "run"))
    (root / "run/lock").mkdir(mode=0o1777)
    _minimal_dev(root / "dev")
    socket.sethostname(opts["--hostname"])
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    os.chroot(root)
    os.chdir("/")
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(b"init"), 0, 0, 0)

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = subprocess.run(["/etc/init.d/ssh", "start"], env=CLEAN_ENV, check=False)
    print(f"spbe-lab init: ssh start rc={started.returncode}", flush=True)
    try:
        while True:
            try:
                os.waitpid(-1, 0)  # reap daemons' orphans, as a real init does
            except ChildProcessError:
                time.sleep(0.5)
    finally:
        os.kill(-1, signal.SIGTERM)
        time.sleep(1.0)
        os.kill(-1, signal.SIGKILL)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "stage1":
        sys.exit(stage1(sys.argv[2:]))
    sys.exit(
        "usage: python -m lab.sshd stage1 --root DIR --hostname NAME [--lower L --upper U --work W]"
    )
