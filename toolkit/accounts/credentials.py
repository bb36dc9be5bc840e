"""The formats of bearer secrets (personal access tokens, session ids, CSRF tokens) and their digests.

A personal access token is ``spbe_pat_<id>_<secret>``: ``id`` is 16 hex characters, public (listed,
revoked by it, the database's primary key, so a lookup needs no scan); ``secret`` is 32 random bytes
(256 bits) in urlsafe base64. Only SHA-256 of the whole token is stored. A slow, salted hash (argon2)
exists to stop an offline search of a *guessable* space, which a human password is; 2^256 random
values are not guessable whatever the hash costs, so SHA-256 loses nothing there, while every API
request verifies a token and must not pay 64 MiB and tens of milliseconds for it. Hashing the whole
token binds the id to its secret: the secret of one token does not pass under another id.

A session id is 32 random bytes too, stored as its SHA-256 only (a copy of ``accounts.db`` holds no
usable session). The CSRF token of a session is derived from the session id (HMAC-SHA256 under it), so
the portal recomputes it on every page from the cookie it was sent, nothing more is stored, and a page
that leaks its CSRF token does not leak the session.

Parsing is strict and bounded: the length is checked before any pattern, only ASCII matches, and
``fullmatch`` refuses a trailing newline that ``$`` would accept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import SecretStr

TOKEN_PREFIX = "spbe_pat_"  # noqa: S105 - a format marker (secret scanners find leaked tokens by it)
_TOKEN = re.compile(r"spbe_pat_([0-9a-f]{16})_([A-Za-z0-9_-]{43})", re.ASCII)
TOKEN_LENGTH = len(TOKEN_PREFIX) + 16 + 1 + 43
_SESSION = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
_CSRF_LABEL = b"spbe-csrf-v1"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def new_token() -> tuple[str, SecretStr]:
    """(public id, the whole token)."""
    token_id = secrets.token_hex(8)
    return token_id, SecretStr(f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}")


def token_id_of(token: object) -> str | None:
    """The public id of a well-formed token, else None (empty, oversized, non-ASCII, a line break...)."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH:
        return None
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


def new_session_id() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(32))


def well_formed_session_id(session_id: object) -> bool:
    return isinstance(session_id, str) and len(session_id) == 43 and _SESSION.fullmatch(session_id) is not None


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode("ascii"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def same_digest(expected: str, presented: str) -> bool:
    """Constant-time comparison of two digests (or any two ASCII strings)."""
    return hmac.compare_digest(expected.encode("ascii", "replace"), presented.encode("ascii", "replace"))
