"""Run one fixed command on an open SSH connection, its data given on stdin.

The command is a constant of the caller (a script passed as ``sh -c`` argument, quoted word by word by
`command_line`); what varies (a ruleset, a file) travels as stdin bytes, never as command text. A root
command goes through ``sudo -n --`` for any other account: no password prompt can stall it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence

import paramiko
from pydantic import BaseModel, ConfigDict

MAX_STDERR = 64 * 1024


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)
    rc: int
    stdout: bytes
    stderr: str
    elapsed_s: float


def command_line(argv: Sequence[str], sudo: bool) -> str:
    """The line the remote shell splits back into ``argv`` (each word quoted)."""
    return shlex.join([*(("sudo", "-n", "--") if sudo else ()), *argv])


def run(client: paramiko.SSHClient, line: str, stdin: bytes, timeout_s: float, max_output: int) -> Result:
    """Exit status, stdout (at most ``max_output`` bytes, else `ValueError`) and the start of stderr.

    Raises `paramiko.SSHException`/`OSError` when the connection fails and `TimeoutError` when the
    command does not finish within ``timeout_s``."""
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise paramiko.SSHException("the SSH connection is closed")
    started = time.monotonic()
    deadline = started + timeout_s
    channel = transport.open_session(timeout=timeout_s)
    try:
        channel.settimeout(timeout_s)
        channel.exec_command(line)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        out = bytearray()
        try:
            while chunk := channel.recv(65536):
                out += chunk
                if len(out) > max_output:
                    raise ValueError(f"more than {max_output} bytes of output")
                channel.settimeout(max(0.001, deadline - time.monotonic()))
            err = bytearray()
            while chunk := channel.recv_stderr(65536):
                err += chunk[: max(0, MAX_STDERR - len(err))]
        except TimeoutError:  # socket.timeout is TimeoutError
            raise TimeoutError(f"no answer within {timeout_s:g} s") from None
        if not channel.status_event.wait(max(0.001, deadline - time.monotonic())):
            raise TimeoutError(f"no exit status within {timeout_s:g} s")
        rc = channel.recv_exit_status()
    finally:
        channel.close()
    return Result(rc=rc, stdout=bytes(out), stderr=err.decode("utf-8", "replace"),
                  elapsed_s=time.monotonic() - started)
