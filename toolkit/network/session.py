"""One SSH CLI session to one device, with every failure turned into a typed, per-device error.

`DeviceSession` is the only place that talks to a device: connect (+ enable), read (running config,
``show vlan brief``, one interface, ACLs; several in one write with `show_many`) and send config lines
with IOS error detection. Higher layers (`toolkit.network.device_ops`, `toolkit.network.fanout`) build
backup / diff / push / verify / rollback from these calls, all of one push in one session. Everything a
device says passes a `Masker` that knows the device's password and enable secret before it can reach
an error message or a log line.

The SSH connection is paramiko's (TCP_NODELAY, strict host key check against ``known_hosts`` when
given); the CLI dialogue is `toolkit.network.ios_cli`, which waits for prompts instead of sleeping
(netmiko's read loops and prompt detection were ~85% of a push). Sessions pass the process's
`toolkit.network.gate` first: one per device, a cap per site. ``profile`` times every phase.

Backups are plain files ``<backup_dir>/<device>/<UTC timestamp>.cfg`` (0600 in 0700 directories:
a running config can hold hashed secrets and SNMP communities).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import paramiko
from paramiko.ssh_exception import AuthenticationException, SSHException
from pydantic import BaseModel, ConfigDict, Field

from toolkit.masking import Masker
from toolkit.network import ios
from toolkit.network.channel import ChannelTimeout, ExpectChannel
from toolkit.network.errors import (
    DeviceAuthError,
    DeviceCommandError,
    DeviceError,
    DeviceTimeoutError,
    DeviceUnreachableError,
    UnsupportedPlatformError,
)
from toolkit.network.gate import GATE
from toolkit.network.ios_cli import IOS_ERROR_PATTERN, CliError, ConfigLineError, EnableRefused, IosCli, error_line
from toolkit.network.ios_cli import exec_prompt_pattern as exec_prompt_pattern
from toolkit.network.refs import ResolvedDevice
from toolkit.network.timing import DEFAULT_TIMING, PlatformTiming, SessionLimits
from toolkit.private_files import private_dir
from toolkit.ssh import mac_check
from toolkit.ssh.known_hosts import known_hosts
from toolkit.ssh.read_ahead import ReadAheadSocket

log = logging.getLogger("spbe.network.session")
__all__ = ["IOS_ERROR_PATTERN", "Backup", "DeviceSession", "SessionOptions", "exec_prompt_pattern"]
LIVE_PLATFORMS = ("cisco_ios",)
mac_check.install()  # the same MAC check in C: see toolkit.ssh.mac_check


class SessionOptions(BaseModel):
    """How to reach devices: timeouts (seconds), the SSH host keys to trust, per-platform timing, session caps."""

    model_config = ConfigDict(frozen=True)

    conn_timeout: float = Field(default=10.0, gt=0, le=300)
    auth_timeout: float = Field(default=10.0, gt=0, le=300)
    banner_timeout: float = Field(default=10.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=3600, description="a show command's longest wait, unless "
                                                                         "the platform's timing says otherwise")
    known_hosts: Path | None = Field(default=None, description="known_hosts file; strict host key check when set")
    timing: dict[str, PlatformTiming] = Field(default_factory=dict, description="per platform; else the default")
    limits: SessionLimits = SessionLimits()
    site_caps: dict[str, int] = Field(default_factory=dict, description="sites with their own session cap")

    def timing_for(self, platform: str) -> PlatformTiming:
        if platform in self.timing:
            return self.timing[platform]
        default = DEFAULT_TIMING.get(platform, PlatformTiming())
        return default.model_copy(update={"command_timeout_s": self.read_timeout})

    def site_cap(self, site: str | None) -> int:
        return self.site_caps.get(site, self.limits.per_site) if site else self.limits.per_site


class Backup(BaseModel):
    """A running config saved before a change; ``path`` is what a rollback restores from."""

    model_config = ConfigDict(frozen=True)

    device: str
    path: Path
    taken_at: datetime
    sha256: str

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def write_backup(backup_dir: Path, device: str, config: str, now: datetime | None = None) -> Backup:
    """Store ``config`` as ``<backup_dir>/<device>/<timestamp>.cfg``; a clash in the same microsecond is numbered."""
    taken_at = now or datetime.now(UTC)
    folder = backup_dir / device
    private_dir(folder)
    stamp = taken_at.strftime("%Y%m%dT%H%M%S.%fZ")
    for attempt in range(100):
        path = folder / (f"{stamp}.cfg" if attempt == 0 else f"{stamp}-{attempt}.cfg")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(config)
        return Backup(device=device, path=path, taken_at=taken_at,
                      sha256=hashlib.sha256(config.encode()).hexdigest())  # fmt: skip
    raise FileExistsError(f"no free backup name for {device} at {stamp}")


def latest_backup(backup_dir: Path, device: str) -> Path | None:
    """The newest backup file of ``device``, or None."""
    files = sorted((backup_dir / device).glob("*.cfg")) if (backup_dir / device).is_dir() else []
    return files[-1] if files else None


class DeviceSession:
    """A connected, privileged CLI session; use as a context manager so it always disconnects.

    Opening it passes the process's `SessionGate` (one session per device, a cap per site), held until
    `close`. ``profile`` lists (phase, seconds) for every step, for the benchmark's ``--profile``.
    """

    def __init__(self, device: ResolvedDevice, options: SessionOptions | None = None) -> None:
        self.device = device
        self.options = options or SessionOptions()
        self.timing = self.options.timing_for(device.platform)
        self.masker = Masker([device.password] + ([device.secret] if device.secret else []))
        self.profile: list[tuple[str, float]] = []
        self._transport: paramiko.Transport | None = None
        self._cli: IosCli | None = None
        self._held: ExitStack | None = None

    @property
    def name(self) -> str:
        return self.device.name

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> DeviceSession:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.profile.append((name, time.perf_counter() - started))

    def connect(self) -> None:
        if self.device.platform not in LIVE_PLATFORMS:
            raise UnsupportedPlatformError(
                self.name, f"live operations support {list(LIVE_PLATFORMS)}, not {self.device.platform} "
                           "(its templates render and are checked by golden files only)")  # fmt: skip
        held = ExitStack()
        with self._phase("wait for a session slot"):
            held.enter_context(GATE.hold(self.name, (self.device.host, self.device.port), self.device.site,
                                         self.options.site_cap(self.device.site),
                                         self.options.limits.wait_timeout_s))  # fmt: skip
        self._held = held
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        where = f"{self.device.host}:{self.device.port}"
        try:
            transport = self._handshake()
            self._check_host_key(transport, where)
            with self._phase("SSH auth"):
                transport.auth_password(self.device.username, self.device.password.get_secret_value())
            with self._phase("open shell (pty)"):
                channel = transport.open_session(timeout=self.options.conn_timeout)
                channel.get_pty(term="vt100", width=511, height=1000)
                channel.invoke_shell()
        except AuthenticationException:
            raise DeviceAuthError(self.name, f"login to {where} refused (check the credential references)",
                                  address=where) from None  # fmt: skip
        except (SSHException, OSError, EOFError) as exc:
            raise self._connect_error(exc, where) from None
        cli = IosCli(ExpectChannel(channel), self.timing)
        try:
            with self._phase("session preparation + enable (width, paging, prompt, secret)"):
                cli.start(self.device.secret.get_secret_value() if self.device.secret else None)
        except EnableRefused:
            raise DeviceAuthError(self.name, "enable refused (check the enable secret reference)",
                                  address=where) from None  # fmt: skip
        except (ChannelTimeout, CliError) as exc:
            raise DeviceTimeoutError(self.name, f"no usable prompt after login: {self.masker(str(exc))}",
                                     address=where) from None  # fmt: skip
        except (OSError, EOFError, SSHException):
            raise DeviceUnreachableError(self.name, f"connection to {where} lost after login",
                                         address=where) from None  # fmt: skip
        self._cli = cli

    def _handshake(self) -> paramiko.Transport:
        """TCP connect, SSH banner and key exchange; tried twice when the peer hangs up before the key
        exchange is done (nothing has been sent to the device then). Seen with 500 sessions at once to
        the lab's single simulator process on a saturated machine: a few connections closed before the
        SSH banner, without a word in the simulator's log."""
        for attempt in (1, 2):
            with self._phase("TCP connect"):
                sock = socket.create_connection((self.device.host, self.device.port), timeout=self.options.conn_timeout)
                # Without it, Nagle's algorithm holds each small SSH packet for the peer's delayed ACK
                # (~40 ms), several times during the key exchange: that was most of a session's start.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = self._transport = paramiko.Transport(ReadAheadSocket(sock))
            transport.banner_timeout = self.options.banner_timeout
            transport.auth_timeout = self.options.auth_timeout
            try:
                with self._phase("SSH banner + key exchange"):
                    transport.start_client(timeout=self.options.conn_timeout)
                if not transport.is_active() or transport.host_key is None:
                    # paramiko's start_client returns quietly when its timeout ends mid-negotiation
                    raise TimeoutError("the SSH key exchange did not end in time")
                return transport
            except (EOFError, ConnectionResetError):
                transport.close()
                self._transport = None
                if attempt == 2:
                    raise
                log.info("%s: connection closed before the SSH key exchange ended; trying once more", self.name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_host_key(self, transport: paramiko.Transport, where: str) -> None:
        if self.options.known_hosts is None:
            return
        key = transport.get_remote_server_key()
        lookup = self.device.host if self.device.port == 22 else f"[{self.device.host}]:{self.device.port}"
        try:
            trusted = known_hosts(self.options.known_hosts).trusted(lookup, key.get_name())
        except OSError:
            trusted = None
        if trusted is None or trusted != key:
            raise DeviceAuthError(self.name, f"SSH host key of {where} is not the trusted one", address=where)

    def _connect_error(self, exc: BaseException, where: str) -> DeviceError:
        if isinstance(exc, ConnectionRefusedError | socket.gaierror):
            return DeviceUnreachableError(self.name, f"cannot connect to {where}", address=where)
        if isinstance(exc, OSError) and not isinstance(exc, TimeoutError) and exc.errno is not None:
            return DeviceUnreachableError(self.name, f"cannot connect to {where}: {exc.strerror}", address=where)
        text = str(exc).lower()
        if isinstance(exc, TimeoutError) or any(word in text for word in ("timeout", "banner", "no existing session")):
            return DeviceTimeoutError(self.name, f"SSH to {where} did not complete in time", address=where)
        cause = f"{type(exc).__name__}: {str(exc)[:200]}".rstrip(": ")  # paramiko's words hold no secret
        return DeviceTimeoutError(self.name, f"SSH to {where} did not complete ({cause})", address=where)

    def close(self) -> None:
        transport, cli, self._transport, self._cli = self._transport, self._cli, None, None
        if transport is not None:
            with self._phase("close (exit, wait for the device to hang up)"):
                try:
                    if cli is not None:
                        cli.logout()
                except EOFError:
                    pass  # the device hung up: the session is over on its side too
                except (ChannelTimeout, OSError, SSHException):
                    log.debug("%s did not end the session on exit", self.name)
                try:
                    transport.close()
                except (OSError, SSHException, EOFError):  # already gone: nothing left to close
                    log.debug("disconnect from %s failed", self.name)
        held, self._held = self._held, None
        if held is not None:
            held.close()

    @property
    def cli(self) -> IosCli:
        if self._cli is None:
            raise DeviceUnreachableError(self.name, "session is not connected")
        return self._cli

    # ------------------------------------------------------------------ reads

    def show(self, command: str) -> str:
        """Output of one exec command; a refused command is a `DeviceCommandError`."""
        return self.show_many([command])[0]

    def show_many(self, commands: list[str]) -> list[str]:
        """Outputs of several exec commands, sent together (``pipeline_reads``); any refused one fails them all."""
        try:
            with self._phase(f"read: {' + '.join(commands)}"):
                outputs = self.cli.show(commands)
        except ChannelTimeout as exc:
            raise DeviceTimeoutError(self.name, f"no answer to {commands!r}: {type(exc).__name__}") from None
        except (OSError, EOFError, SSHException):
            raise DeviceUnreachableError(self.name, f"connection lost during {commands!r}") from None
        masked = [self.masker(output) for output in outputs]
        for command, output in zip(commands, masked, strict=True):
            if re.search(IOS_ERROR_PATTERN, output, re.MULTILINE):
                raise DeviceCommandError(self.name, f"{command!r} refused: {error_line(output)}", command=command)
        return masked

    def running_config(self) -> str:
        return self.show("show running-config")

    def running(self) -> ios.RunningConfig:
        return ios.parse_running_config(self.running_config())

    def vlans(self) -> list[ios.VlanInfo]:
        return ios.parse_vlan_brief(self.show("show vlan brief"))

    def interface(self, name: str) -> ios.InterfaceConfig | None:
        """``show running-config interface NAME`` parsed; None when the device has no such interface."""
        try:
            return ios.parse_interface(self.show(f"show running-config interface {name}"))
        except DeviceCommandError:
            return None

    def access_lists(self) -> dict[str, ios.AccessListInfo]:
        return ios.parse_access_lists(self.show("show ip access-lists"))

    def backup(self, backup_dir: Path) -> Backup:
        return write_backup(backup_dir, self.name, self.running_config())

    # ------------------------------------------------------------------ writes

    def send_config(self, lines: list[str]) -> str:
        """Send config lines in batches; a line IOS refuses fails the push with a `DeviceCommandError`.

        The lines before it (and after it in its batch) have been applied (IOS has no transaction): the
        caller restores the backup. Config mode is always left again, so the session stays usable for that.
        """
        if not lines:
            return ""
        batches = -(-len(lines) // self.timing.config_batch_lines)
        try:
            with self._phase(f"config: {len(lines)} lines in {batches} write(s), each answer checked"):
                output = self.cli.configure(lines)
        except ConfigLineError as exc:
            line = self.masker(exc.line)
            raise DeviceCommandError(self.name, f"refused {line!r}: {self.masker(error_line(exc.answer))}",
                                     line=line) from None  # fmt: skip
        except CliError as exc:
            raise DeviceCommandError(self.name, self.masker(str(exc))) from None
        except ChannelTimeout as exc:
            raise DeviceTimeoutError(self.name, f"no answer while configuring: {type(exc).__name__}") from None
        except (OSError, EOFError, SSHException):
            raise DeviceUnreachableError(self.name, "connection lost while configuring") from None
        return self.masker(output)
