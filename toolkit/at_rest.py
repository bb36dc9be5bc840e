"""Encryption at rest for what the SOPs promise to protect ("data dilindungi dengan enkripsi"):
ticket attachments, sealed evidence and the job files that carry them.

**Scheme (envelope encryption).** Every object gets its own random 256-bit data key; the content is
encrypted with AES-256-GCM under that data key, and the data key is wrapped (AES-256-GCM again) under
the *key-encryption key*. A sealed blob is self-describing::

    MAGIC (8) | key id (8) | wrap nonce (12) | wrapped data key (32 + 16 tag) | nonce (12) | ciphertext + tag

The content's associated data is ``MAGIC + context``: the caller names what the object is (an
attachment's ticket and name, an evidence file's bundle and path), so a blob copied into another row
or file does not decrypt there. The wrapped key's associated data is ``MAGIC + key id`` only, so a key
rotation re-wraps 56 bytes per object (`Sealer.rewrap`) and never touches the content.

**What is sealed.** Ticket attachments (the embedded store), evidence bundles and their archives, a
playbook run's records, every file an action returns to be attached to the ticket (`ARTIFACT`: written
sealed by `toolkit.actions.base.RunContext.write_artifact`, and any an action wrote in clear sealed by the
worker before the outbox records it, `toolkit.engine.worker`), and the signing CA's private key (`CA_KEY`,
`toolkit.signing.ca`). Each kind has its own context label.

**The key.** The key-encryption key is derived with HKDF-SHA256 from ``settings.vault.key`` (the
secrets vault's key, a secret reference; ``spbe secret keygen`` makes one), with its own label, so it
is never the very key the vault encrypts with. The blob stores a hash of it (the key id), so a changed
key is reported as a `ConfigurationError` naming the setting, not as corruption. A missing or malformed
key is a `ConfigurationError` too; no message, repr or log line ever carries the key.

**Plaintext from older versions.** A blob that does not start with ``MAGIC`` was written before
encryption existed; readers return it as it is (`open_any`) and the stores migrate it
(`integrations.tickets.embedded_db`, `toolkit.evidence.bundle.seal_legacy`). Content is never
*guessed* to be plaintext when it starts with ``MAGIC``: stores record a plaintext SHA-256 beside it and
check it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from toolkit.errors import ConfigurationError, IntegrityError
from toolkit.private_files import open_private
from toolkit.settings import Settings

MAGIC = b"SPBEAR\x00\x01"  # a NUL byte: no text file starts like this; \x01 is the format version
_KEY_ID = 8
_NONCE = 12
_DEK = 32
_WRAPPED = _DEK + 16
HEADER = len(MAGIC) + _KEY_ID + _NONCE + _WRAPPED + _NONCE
OVERHEAD = HEADER + 16  # bytes a sealed blob adds to its content
SETTING = "settings.vault.key"
ARTIFACT = b"artifact"  # the context of job files (archives, documents) that are attached later
CA_KEY = b"signing-ca-key"  # the context of the signing CA's private key (`toolkit.signing.ca`)


def is_sealed(blob: bytes | bytearray | memoryview) -> bool:
    return bytes(blob[: len(MAGIC)]) == MAGIC


def is_sealed_file(path: Path) -> bool:
    """Whether the file at ``path`` starts like a sealed blob (reads its first bytes only)."""
    with open(path, "rb") as handle:
        return is_sealed(handle.read(len(MAGIC)))


def _parse_key(key: SecretStr) -> bytes:
    try:
        raw = base64.b64decode(key.get_secret_value().strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(f"{SETTING} must be 32 random bytes in urlsafe base64 (make one with "
                                 "'spbe secret keygen'); attachments and evidence are encrypted with it",
                                 setting=SETTING)
    return raw


class Sealer:
    """Seals and opens blobs under one key-encryption key. Holds key material: no repr of it."""

    __slots__ = ("_kek", "key_id")

    def __init__(self, key: SecretStr) -> None:
        root = _parse_key(key)
        self._kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                         info=b"spbe-at-rest/kek/1").derive(root)
        self.key_id = hashlib.sha256(b"spbe-at-rest-key-id\0" + self._kek).digest()[:_KEY_ID]

    def __repr__(self) -> str:
        return f"Sealer(key_id={self.key_id.hex()})"

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        """The sealer of ``settings.vault.key``; a `ConfigurationError` that names the setting (and the
        environment variable or file it points at) when the key is missing or malformed."""
        try:
            key = settings.vault.key.resolve()
        except ConfigurationError:
            where = settings.vault.key.ref
            raise ConfigurationError(
                f"attachments and evidence are encrypted at rest with {SETTING}, which is not available: set "
                f"{where.partition(':')[2]} ({where}) to the output of 'spbe secret keygen'",
                setting=SETTING) from None
        return cls(key)

    # -- blobs -------------------------------------------------------------------------------------
    def seal(self, plain: bytes, context: bytes) -> bytes:
        dek = secrets.token_bytes(_DEK)
        wrap_nonce, nonce = secrets.token_bytes(_NONCE), secrets.token_bytes(_NONCE)
        wrapped = AESGCM(self._kek).encrypt(wrap_nonce, dek, MAGIC + self.key_id)
        body = AESGCM(dek).encrypt(nonce, plain, MAGIC + context)
        return b"".join((MAGIC, self.key_id, wrap_nonce, wrapped, nonce, body))

    def _dek(self, blob: bytes, what: str) -> bytes:
        if len(blob) < OVERHEAD or not is_sealed(blob):
            raise IntegrityError(f"{what} is not a complete encrypted object")
        at = len(MAGIC)
        key_id = blob[at:at + _KEY_ID]
        if key_id != self.key_id:
            raise ConfigurationError(f"{what} was encrypted with another key than {SETTING} (was the key "
                                     "changed? the old key is needed to read it)", setting=SETTING)
        at += _KEY_ID
        wrap_nonce, wrapped = blob[at:at + _NONCE], blob[at + _NONCE:at + _NONCE + _WRAPPED]
        try:
            return AESGCM(self._kek).decrypt(wrap_nonce, wrapped, MAGIC + key_id)
        except InvalidTag:
            raise IntegrityError(f"{what}: its data key does not authenticate (the object was altered)") from None

    def open(self, blob: bytes, context: bytes, what: str = "encrypted object") -> bytes:
        """The plaintext; `IntegrityError` when a byte of the blob (or its context) changed,
        `ConfigurationError` when it was sealed under another key."""
        dek = self._dek(blob, what)
        at = HEADER - _NONCE
        try:
            return AESGCM(dek).decrypt(blob[at:HEADER], blob[HEADER:], MAGIC + context)
        except InvalidTag:
            raise IntegrityError(f"{what} does not decrypt: its content was altered") from None

    def open_any(self, blob: bytes, context: bytes, what: str = "encrypted object") -> bytes:
        """`open` for a sealed blob; anything else is plaintext from before encryption, returned as is."""
        return self.open(blob, context, what) if is_sealed(blob) else blob

    def rewrap(self, blob: bytes, new: Sealer, what: str = "encrypted object") -> bytes:
        """The same blob with its data key wrapped under ``new``: a key rotation, content untouched."""
        dek = self._dek(blob, what)
        wrap_nonce = secrets.token_bytes(_NONCE)
        wrapped = AESGCM(new._kek).encrypt(wrap_nonce, dek, MAGIC + new.key_id)
        return b"".join((MAGIC, new.key_id, wrap_nonce, wrapped, blob[HEADER - _NONCE:]))

    # -- files -------------------------------------------------------------------------------------
    def write_file(self, path: Path, plain: bytes, context: bytes, *, durable: bool = True) -> Path:
        """Write ``plain`` sealed to ``path`` (0600), replacing it atomically: a reader sees the old
        file or the new one, never a half-written blob. ``durable``: fsync before the rename, so a crash
        cannot leave an empty file where the only copy was (a migration); a file just written from another
        copy (a fresh collection, an archive) may skip it, as its plaintext writer did."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.seal")
        try:
            with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_EXCL), "wb") as handle:
                handle.write(self.seal(plain, context))
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    def seal_file(self, path: Path, context: bytes) -> bool:
        """Encrypt a plaintext file in place; False when it is sealed already."""
        data = Path(path).read_bytes()
        if is_sealed(data):
            return False
        self.write_file(path, data, context)
        return True

    def read_file(self, path: Path, context: bytes) -> bytes:
        return self.open_any(Path(path).read_bytes(), context, what=f"file {Path(path).name}")

    def seal_tree(self, root: Path, context: bytes = ARTIFACT) -> int:
        """Seal every regular file under ``root`` (a playbook run's records, which may echo evidence);
        links are left alone. Returns how many were sealed."""
        count = 0
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                if path.is_file() and not path.is_symlink() and self.seal_file(path, context):
                    count += 1
        return count


def open_artifact(stored: bytes, settings: Settings, name: str) -> bytes:
    """A job file's content in clear: opened with ``settings.vault.key`` when it was sealed (every job file
    is since `RunContext.write_artifact`; the key is resolved only then), as stored when it is plaintext (an
    outbox item an older version queued, whose digest is of the plaintext: sealing that file would break it)."""
    if not is_sealed(stored):
        return stored
    return Sealer.from_settings(settings).open(stored, ARTIFACT, what=f"file {name}")
