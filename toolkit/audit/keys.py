"""The audit key and the keys derived from it.

One configured secret (32 random bytes) yields, by HKDF-SHA256 with distinct labels, a key for the
entry chain, a key for checkpoints and a public key id. Separate keys keep a checkpoint MAC from
ever being mistaken for an entry MAC; the id lets the log say "this is not the key I was started
with" without revealing anything about the key. The raw bytes never leave this object: its repr
shows the id only, and nothing here formats the key into a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from toolkit.errors import ConfigurationError

KEY_BYTES = 32
_LABEL = b"spbe-audit/v1 "


def generate_key() -> str:
    """A new audit key in the form ``settings.audit.key`` expects (``spbe audit keygen``)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _derive(raw: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL + label.encode()).derive(raw)


class AuditKey:
    """``chain_mac`` signs entries, ``checkpoint_mac`` signs checkpoints and the head anchor."""

    __slots__ = ("_chain", "_checkpoint", "key_id")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ConfigurationError(f"the audit key must be {KEY_BYTES} bytes")
        self._chain = _derive(raw, "chain")
        self._checkpoint = _derive(raw, "checkpoint")
        self.key_id = _derive(raw, "key-id")[:8].hex()

    @classmethod
    def parse(cls, secret: SecretStr, setting: str = "settings.audit.key") -> AuditKey:
        """``setting`` names where the value came from, for the error (never the value itself)."""
        try:
            raw = base64.urlsafe_b64decode(secret.get_secret_value().strip().encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise ConfigurationError(f"the audit key ({setting}) must be {KEY_BYTES} random bytes in urlsafe "
                                     "base64 (make one with 'spbe audit keygen')", setting=setting)
        return cls(raw)

    def chain_mac(self, message: bytes) -> str:
        return hmac.new(self._chain, message, hashlib.sha256).hexdigest()

    def checkpoint_mac(self, message: bytes) -> str:
        return hmac.new(self._checkpoint, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"AuditKey(key_id={self.key_id!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an AuditKey is not picklable: pass the key reference, not the key")
