"""Realm keys of the Keycloak fake: RS256 signing with a ``kid``, the JWKS Keycloak publishes, and
the HMAC key Keycloak uses for refresh tokens.

Keycloak publishes each enabled RSA key at ``/realms/{realm}/protocol/openid-connect/certs`` as a
JWK with ``kid``, ``kty``, ``alg``, ``use``, ``n``, ``e`` and a self-signed certificate in ``x5c``
(plus its SHA-1 and SHA-256 thumbprints). The fake does the same with real keys, so a validator
that works against it works against Keycloak. Rotating adds a new active key and keeps the old one
published (as Keycloak does with a passive key) until it is retired.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class RsaKey:
    realm: str
    kid: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                          key_size=2048))
    _jwk: dict[str, Any] | None = field(default=None, repr=False)

    def certificate_der(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.realm)])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.private.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=3650))
                .sign(self.private, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.DER)

    def jwk(self) -> dict[str, Any]:
        if self._jwk is None:
            self._jwk = self._build_jwk()
        return self._jwk

    def _build_jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        der = self.certificate_der()
        return {
            "kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig",
            "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
            "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(),  # noqa: S324
            "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode(),
        }


class RealmKeys:
    """The active key signs; every published key verifies."""

    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._keys = [RsaKey(realm)]
        self.hmac_secret = secrets.token_bytes(64)
        self.hmac_kid = str(uuid.uuid4())

    @property
    def active(self) -> RsaKey:
        return self._keys[-1]

    def rotate(self, *, retire_old: bool = False) -> RsaKey:
        new = RsaKey(self.realm)
        self._keys = [new] if retire_old else [*self._keys, new]
        return new

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self._keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.active.private, algorithm="RS256",
                          headers={"kid": self.active.kid, "typ": "JWT"})

    def verify(self, token: str) -> dict[str, Any] | None:
        """Claims of a token this realm signed (expiry not checked: introspection decides), or None."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        for key in self._keys:
            if key.kid == kid:
                try:
                    claims: dict[str, Any] = jwt.decode(token, key.private.public_key(), algorithms=["RS256"],
                                                        options={"verify_exp": False, "verify_aud": False})
                except jwt.PyJWTError:
                    return None
                return claims
        return None

    def sign_refresh(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.hmac_secret, algorithm="HS512", headers={"kid": self.hmac_kid})

    def verify_refresh(self, token: str) -> dict[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(token, self.hmac_secret, algorithms=["HS512"],
                                                options={"verify_aud": False})
        except jwt.PyJWTError:
            return None
        return claims
