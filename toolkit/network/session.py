"""One netmiko session to one device, with every failure turned into a typed, per-device error.

`DeviceSession` is the only place that talks to a device: connect (+ enable), read (running config,
``show vlan brief``, one interface, ACLs) and send config lines with IOS error detection. Higher
layers (`toolkit.network.device_ops`, `toolkit.network.fanout`) build backup / diff / push / verify
/ rollback from these calls. Everything a device says passes a `Masker` that knows the device's
password and enable secret before it can reach an error message or a log line.

Backups are plain files ``<backup_dir>/<device>/<UTC timestamp>.cfg`` (0600 in 0700 directories:
a running config can hold hashed secrets and SNMP communities).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoBaseException,
    NetmikoTimeoutException,
    ReadTimeout,
)
from paramiko.ssh_exception import SSHException
from pydantic import BaseModel, ConfigDict, Field

from toolkit.masking import Masker
from toolkit.network import ios
from toolkit.network.errors import (
    DeviceAuthError,
    DeviceCommandError,
    DeviceError,
    DeviceTimeoutError,
    DeviceUnreachableError,
    UnsupportedPlatformError,
)
from toolkit.network.refs import ResolvedDevice
from toolkit.private_files import private_dir

log = logging.getLogger("spbe.network.session")
# IOS's answers to a refused line; netmiko stops at the first line whose output matches.
IOS_ERROR_PATTERN = (r"^%\s*(Invalid input|Incomplete command|Ambiguous command|Unknown command|.*not supported"
                     r"|.*overlaps with|.*already exists|.*[Ee]rror)")
LIVE_PLATFORMS = ("cisco_ios",)


class SessionOptions(BaseModel):
    """How to reach devices: timeouts (seconds) and, when known, the SSH host keys to trust."""

    model_config = ConfigDict(frozen=True)

    conn_timeout: float = Field(default=10.0, gt=0, le=300)
    auth_timeout: float = Field(default=10.0, gt=0, le=300)
    banner_timeout: float = Field(default=10.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=3600)
    known_hosts: Path | None = Field(default=None, description="known_hosts file; strict host key check when set")


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
    """A connected, enabled netmiko session; use as a context manager so it always disconnects."""

    def __init__(self, device: ResolvedDevice, options: SessionOptions | None = None) -> None:
        self.device = device
        self.options = options or SessionOptions()
        self.masker = Masker([device.password] + ([device.secret] if device.secret else []))
        self._conn: BaseConnection | None = None
        self._prompt: str | None = None

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

    def connect(self) -> None:
        if self.device.platform not in LIVE_PLATFORMS:
            raise UnsupportedPlatformError(
                self.name, f"live operations support {list(LIVE_PLATFORMS)}, not {self.device.platform} "
                           "(its templates render and are checked by golden files only)")  # fmt: skip
        params: dict[str, Any] = {
            **self.device.netmiko_params(), "conn_timeout": self.options.conn_timeout,
            "auth_timeout": self.options.auth_timeout, "banner_timeout": self.options.banner_timeout,
            "fast_cli": True,
        }  # fmt: skip
        if self.options.known_hosts is not None:
            params.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                          alt_key_file=str(self.options.known_hosts))  # fmt: skip
        where = f"{self.device.host}:{self.device.port}"
        try:
            self._conn = ConnectHandler(**params)
        except NetmikoAuthenticationException:
            raise DeviceAuthError(self.name, f"login to {where} refused (check the credential references)",
                                  address=where) from None  # fmt: skip
        except (NetmikoTimeoutException, SSHException, OSError) as exc:
            raise self._connect_error(exc, where) from None
        try:
            self._conn.enable()
        except ValueError:
            self.close()
            raise DeviceAuthError(self.name, "enable refused (check the enable secret reference)",
                                  address=where) from None  # fmt: skip
        except (ReadTimeout, NetmikoTimeoutException, OSError) as exc:
            self.close()
            raise DeviceTimeoutError(self.name, f"no answer to enable: {type(exc).__name__}", address=where) from None
        self._prompt = exec_prompt_pattern(self._conn.base_prompt)

    def _connect_error(self, exc: BaseException, where: str) -> DeviceError:
        text = str(exc)
        if "known_hosts" in text or "host key" in text.lower():
            return DeviceAuthError(self.name, f"SSH host key of {where} is not the trusted one", address=where)
        if isinstance(exc, ConnectionRefusedError | socket.gaierror) or text.startswith(("TCP connection", "DNS")):
            return DeviceUnreachableError(self.name, f"cannot connect to {where}", address=where)
        return DeviceTimeoutError(self.name, f"SSH to {where} did not complete in time", address=where)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.disconnect()
            except (OSError, NetmikoBaseException, EOFError):  # already gone: nothing left to close
                log.debug("disconnect from %s failed", self.name)

    @property
    def conn(self) -> BaseConnection:
        if self._conn is None:
            raise DeviceUnreachableError(self.name, "session is not connected")
        return self._conn

    # ------------------------------------------------------------------ reads

    def show(self, command: str) -> str:
        """Output of one exec command; a refused command is a `DeviceCommandError`."""
        try:
            # The privileged prompt is known since connect: no find_prompt() (one more round trip and two
            # buffer-clearing sleeps) before every command, as netmiko's default would do.
            output = str(self.conn.send_command(command, read_timeout=self.options.read_timeout,
                                                expect_string=self._prompt, auto_find_prompt=self._prompt is None))
        except (ReadTimeout, NetmikoTimeoutException) as exc:
            raise DeviceTimeoutError(self.name, f"no answer to {command!r}: {type(exc).__name__}") from None
        except (OSError, EOFError, SSHException):
            raise DeviceUnreachableError(self.name, f"connection lost during {command!r}") from None
        output = self.masker(output)
        if re.search(IOS_ERROR_PATTERN, output, re.MULTILINE):
            raise DeviceCommandError(self.name, f"{command!r} refused: {_error_line(output)}", command=command)
        return output

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
        """Send config lines; the first line IOS refuses stops the push with a `DeviceCommandError`.

        The lines before it have been applied (IOS has no transaction): the caller restores the backup.
        Config mode is always left again, so the session stays usable for that restore.
        """
        if not lines:
            return ""
        try:
            output = str(self.conn.send_config_set(lines, error_pattern=IOS_ERROR_PATTERN,
                                                   read_timeout=self.options.read_timeout))  # fmt: skip
        except ConfigInvalidException as exc:
            self._leave_config_mode()
            failed = re.search(r"Invalid input detected at command: (.*), matched error", str(exc))
            line = failed.group(1) if failed else "?"
            raise DeviceCommandError(self.name, f"refused {self.masker(line)!r}: {self.masker(_error_line(str(exc)))}",
                                     line=self.masker(line)) from None  # fmt: skip
        except (ReadTimeout, NetmikoTimeoutException) as exc:
            self._leave_config_mode()
            raise DeviceTimeoutError(self.name, f"no answer while configuring: {type(exc).__name__}") from None
        except (OSError, EOFError, SSHException):
            raise DeviceUnreachableError(self.name, "connection lost while configuring") from None
        return self.masker(output)

    def _leave_config_mode(self) -> None:
        try:
            if self.conn.check_config_mode():
                self.conn.exit_config_mode()
        except (NetmikoBaseException, OSError, EOFError, ValueError):
            log.warning("%s: could not leave config mode after an error", self.name)


def exec_prompt_pattern(base_prompt: str) -> str:
    """The privileged exec prompt as the last line of the output: ``HOSTNAME#`` at the start of a line, at the end.

    netmiko's base prompt is the hostname cut to 16 characters (IOS cuts it in config mode); exec mode
    shows the whole name, so more name characters may follow. Anchored at both ends, a ``#`` inside
    the output (a description, a banner) never ends the read early.
    """
    return rf"(?:\A|[\r\n]){re.escape(base_prompt)}[^\s#>()]*#\s*\Z"


def _error_line(text: str) -> str:
    match = re.search(r"%\s*[^\n]*", text)
    return match.group(0).strip() if match else text.strip().splitlines()[-1] if text.strip() else ""
