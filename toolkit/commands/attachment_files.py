"""Attachment bytes from outside: read from a path an applicant named, or taken from an upload.

Every way an attachment enters spbe ends here (the CLI reads paths; the web portal and the
service-desk adapters hand over a byte stream), so the checks cannot drift apart:

- A path is read with the CLI user's rights, which may be wider than the applicant's: the file is
  opened with ``O_NOFOLLOW``, and every parent directory is opened with ``O_DIRECTORY|O_NOFOLLOW``
  from the root, so what was checked is what is read. A link in the parent chain is taken only when
  root placed it in a directory only root can write (the system's own, e.g. ``/bin -> usr/bin``);
  a link anyone else could have planted, and a link as the file itself, are refused.
- ``/proc``, ``/sys`` and ``/dev`` are refused by path and by device: their files report sizes
  that are not what a read returns (``/proc/self/environ`` says 0 and returns the environment).
- Only a regular file is read (``fstat`` of the opened descriptor); it is opened ``O_NONBLOCK`` so
  a FIFO is refused instead of hanging the command.
- The size is the number of bytes read, and reading stops at ``limit + 1``.
- The media type comes from the content (libmagic), never from the name; whether that type is
  acceptable for the attachment's kind is the catalog's call (`validate_attachments`).
"""

from __future__ import annotations

import errno
import os
import stat
from functools import cache
from pathlib import Path
from typing import BinaryIO

from toolkit.domain.tickets.models import MAX_ATTACHMENT_BYTES, AttachmentUpload
from toolkit.errors import ConfigurationError, InvalidInputError

SPECIAL_ROOTS = ("/proc", "/sys", "/dev")
_CHUNK = 64 * 1024
_SNIFF_BYTES = 1024 * 1024  # libmagic looks at no more than this by default
_MAX_LINK_HOPS = 40  # the kernel's own limit for one lookup
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def from_path(kind: str, path_text: str, *, limit: int = MAX_ATTACHMENT_BYTES) -> AttachmentUpload:
    """Read the regular file at ``path_text`` for the requirement ``kind``; the stored name is its
    base name. Raises `InvalidInputError` with ``errors=[(kind, reason)]`` when refused."""
    fd = _open_regular(kind, path_text)
    try:
        content = _read_fd(fd, limit)
    finally:
        os.close(fd)
    return from_bytes(kind, Path(path_text).name, content, limit=limit)


def from_stream(kind: str, name: str, stream: BinaryIO, *, limit: int = MAX_ATTACHMENT_BYTES) -> AttachmentUpload:
    """An upload (portal form, desk webhook): at most ``limit + 1`` bytes are taken from ``stream``."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return from_bytes(kind, name, b"".join(chunks), limit=limit)


def from_bytes(kind: str, name: str, content: bytes, *, limit: int = MAX_ATTACHMENT_BYTES) -> AttachmentUpload:
    """The checks every attachment passes, whatever it came from: size, name, media type by content."""
    if len(content) > limit:
        raise InvalidInputError(f"attachment {name!r} is larger than {limit} bytes", errors=[(kind, "too large")])
    if not content:
        raise InvalidInputError(f"attachment {name!r} is empty", errors=[(kind, "empty")])
    try:
        return AttachmentUpload(name=name, media_type=media_type_of(content), content=content, kind=kind)
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise InvalidInputError(f"attachment '{kind}': {_first_error(exc)}", errors=[(kind, "invalid")]) from None


def media_type_of(content: bytes) -> str:
    """The media type libmagic reads from the bytes; ``application/octet-stream`` when it names none."""
    try:
        import magic
    except ImportError as exc:  # python-magic is installed but Debian's libmagic1 is not
        raise ConfigurationError(f"cannot tell attachment types: {exc}; run scripts/setup.sh") from None
    found = str(magic.from_buffer(content[:_SNIFF_BYTES], mime=True)).strip().lower()
    type_, sep, subtype = found.partition("/")
    if not (sep and type_.isalpha() and subtype and all(c.isalnum() or c in ".+-" for c in subtype)):
        return "application/octet-stream"
    return found


# -- opening a path safely ------------------------------------------------------------------------
def _refuse(kind: str, message: str, reason: str) -> InvalidInputError:
    return InvalidInputError(f"{kind}: {message}", errors=[(kind, reason)])


def _not_found(kind: str, path_text: str) -> InvalidInputError:
    return InvalidInputError(f"attachment file not found: {path_text!r}", errors=[(kind, "file not found")])


def _is_special(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in SPECIAL_ROOTS)


@cache
def _special_devices() -> frozenset[int]:
    devices = set()
    for root in SPECIAL_ROOTS:
        try:
            devices.add(os.stat(root).st_dev)
        except OSError:
            continue
    return frozenset(devices)


def _special(kind: str, path_text: str) -> InvalidInputError:
    return _refuse(kind, f"attachment {path_text!r} is in {', '.join(SPECIAL_ROOTS)}: not a file to attach",
                   "special file system")


def _trusted_link(link: str, info: os.stat_result) -> bool:
    """Only root could have put this link here: owned by root, in a directory only root may write."""
    if info.st_uid != 0:
        return False
    parent = os.lstat(os.path.dirname(link) or "/")
    return parent.st_uid == 0 and not parent.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _resolve_parent(kind: str, path_text: str, parent: str) -> str:
    """The real directory ``parent`` names, following only trusted links; refused on any other."""
    pending = [part for part in parent.split("/") if part]
    resolved, hops = "/", 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        try:
            info = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(kind, path_text) from None
        except OSError as exc:
            raise _refuse(kind, f"attachment {path_text!r} cannot be read: {exc.strerror}", "unreadable") from None
        if stat.S_ISLNK(info.st_mode):
            hops += 1
            if hops > _MAX_LINK_HOPS or not _trusted_link(candidate, info):
                raise _refuse(kind, f"attachment {path_text!r} is reached through a symbolic link ({candidate}); "
                                    "give the file's real path", "symbolic link")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = "/"
            pending = [p for p in target.split("/") if p] + pending
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise _not_found(kind, path_text)
        resolved = candidate
    return resolved


def _open_dir(kind: str, path_text: str, directory: str) -> int:
    """Open ``directory`` (a real path) one component at a time, never following a link: a link
    swapped in after `_resolve_parent` looked makes this fail instead of leading elsewhere."""
    fd = os.open("/", _DIR_FLAGS)
    try:
        for part in [p for p in directory.split("/") if p]:
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except FileNotFoundError:
        os.close(fd)
        raise _not_found(kind, path_text) from None
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(kind, f"attachment {path_text!r}: its directory changed while being opened",
                          "symbolic link") from None
        raise _refuse(kind, f"attachment {path_text!r} cannot be read: {exc.strerror}", "unreadable") from None
    return fd


def _open_regular(kind: str, path_text: str) -> int:
    if not path_text:
        raise _not_found(kind, path_text)
    lexical = os.path.abspath(path_text)
    if _is_special(lexical):
        raise _special(kind, path_text)
    parent, name = os.path.split(lexical)
    real_parent = _resolve_parent(kind, path_text, parent)
    if _is_special(os.path.join(real_parent, name)):
        raise _special(kind, path_text)
    dir_fd = _open_dir(kind, path_text, real_parent)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise _not_found(kind, path_text) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(kind, f"attachment {path_text!r} is a symbolic link; give the file's real path",
                          "symbolic link") from None
        raise _refuse(kind, f"attachment {path_text!r} cannot be read: {exc.strerror}", "unreadable") from None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if info.st_dev in _special_devices():
            raise _special(kind, path_text)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(kind, f"attachment {path_text!r} is not a regular file", "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
