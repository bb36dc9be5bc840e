"""Owner-only state: every file spbe keeps is 0600 and every directory 0700.

The state directory holds tickets with personal data, the audit log, issued credentials, VPN keys
and sealed evidence; anything the group or others can read leaks to every account on the control
node. Modes are set here explicitly instead of being left to the umask, because spbe also runs in
processes whose umask it does not choose (tests, a portal's WSGI server, a desk adapter's worker).
What already exists and is ours is tightened, so a state directory made by an older version (or by
``mkdir -p`` in a script) is fixed the next time it is used; what belongs to another user is left
alone. SQLite creates its ``-wal``, ``-shm`` and ``-journal`` files with the mode of the database
file, so a database file created here before SQLite opens it keeps its sidecars private too.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

FILE_MODE = 0o600
DIR_MODE = 0o700
_SHARED_BITS = 0o077
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def _tighten_fd(fd: int) -> None:
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and info.st_mode & _SHARED_BITS:
        os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~_SHARED_BITS)


def _tighten(path: Path) -> None:
    """Drop group and other bits from ``path`` (not following a link) when it is ours."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or not info.st_mode & _SHARED_BITS:
        return
    if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
        return  # a sticky directory (/tmp, /var/tmp) is shared by design, even when root owns it: never close it
    os.chmod(path, stat.S_IMODE(info.st_mode) & ~_SHARED_BITS)


def private_dir(path: Path | str, *, root: Path | str | None = None) -> Path:
    """``mkdir -p`` whose every new directory is 0700; an existing ``path`` of ours is tightened,
    and so is every directory from ``root`` (e.g. the state directory) down to it. Parents above
    are not touched: they may be the system's (``/var/lib``)."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:  # another process made it first; it tightens its own
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode went through the umask
    _tighten(path)
    if root is not None and Path(root) in path.parents:
        for parent in path.parents:
            _tighten(parent)
            if parent == Path(root):
                break
    return path


def private_file(path: Path | str) -> Path:
    """Make sure ``path`` exists as an owner-only file (empty when new) before anything else opens
    it, e.g. SQLite; an existing one of ours is tightened, and so are its SQLite sidecars.

    An existing file is never opened here, only chmod-ed by path: closing *any* descriptor of a file
    drops every POSIX lock this process holds on it, SQLite's included. A store built again while a
    long-lived connection of the same process has the database open (a job's own audit log or vault
    beside the worker's) would otherwise lose its locks, and another process closing its last
    connection would then checkpoint and delete the WAL under it ("disk I/O error")."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _tighten(path)
    else:
        try:
            _tighten_fd(fd)  # O_CREAT's mode went through the umask
        finally:
            os.close(fd)  # new and empty: no SQLite connection of ours can hold a lock on it yet
    for suffix in _SQLITE_SIDECARS:
        _tighten(path.with_name(path.name + suffix))
    return path


def open_private(path: Path | str, flags: int) -> int:
    """``os.open`` with ``O_CREAT``: a new file is 0600, an existing one of ours is tightened."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        _tighten_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path | str, data: bytes | str, encoding: str = "utf-8") -> Path:
    """``Path.write_bytes``/``write_text`` for state: the file is 0600 from its first byte."""
    content = data.encode(encoding) if isinstance(data, str) else data
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        handle.write(content)
    return Path(path)


def tighten_tree(root: Path | str) -> None:
    """Tighten everything under ``root`` that another program wrote there with its own modes
    (ansible-runner's artifacts, files fetched by a playbook). Links are left as they are."""
    for directory, dirnames, filenames in os.walk(root):
        _tighten(Path(directory))
        for name in [*dirnames, *filenames]:
            _tighten(Path(directory) / name)


def owner_only_umask(ctx: click.Context) -> None:
    """For the CLI's group callback: umask 077 for the command, restored when it ends (CliRunner
    runs many commands in one process). Not for a command that says ``keep_umask = True`` (the lab's
    plugin, ``spbe lab``): the lab's hosts and servers inherit the umask, and their services (nginx as
    www-data, ...) must read what is created for them."""
    name = ctx.invoked_subcommand
    get_command = getattr(ctx.command, "get_command", None)  # a group's (this module needs no click at run time)
    command = get_command(ctx, name) if name and get_command is not None else None
    if not getattr(command, "keep_umask", False):
        ctx.call_on_close(functools.partial(os.umask, os.umask(0o077)))
