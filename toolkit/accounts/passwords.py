"""Passwords: argon2id hashes, the strength rules, and the same work for a user who does not exist.

Argon2id (RFC 9106) through argon2-cffi's `PasswordHasher`: memory-hard, salted per hash, its parameters
written into the hash, so a hash made with weaker settings is recognised (``check_needs_rehash``) and
replaced at the next successful login. The plain password is only ever held as a `SecretStr` and
handed to argon2; it is not stored, logged, put into an exception or compared by this code.

Unknown users and locked or disabled accounts still cost one argon2 verification, against a dummy hash
made with the same parameters: a login answers in the same time whether or not the name exists, so
timing does not reveal which usernames have accounts.
"""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import SecretStr

from toolkit.accounts.config import AccountsSettings
from toolkit.errors import InvalidInputError

MAX_LENGTH = 1024  # argon2 takes any length; a megabyte password would only be a way to burn CPU
# At the top of every leaked list; refused with any digits or symbols around them ("Password2024!").
_COMMON = frozenset({"password", "passw0rd", "", "qwerty", "qwertyuiop", "admin", "administrator", "letmein",
                     "welcome", "rahasia", "indonesia", "bismillah", "spbe", "diskominfo", "iloveyou"})
_DECORATION = "0123456789!@#$%^&*()-_=+.,?~ "


class Passwords:
    def __init__(self, settings: AccountsSettings) -> None:
        self.min_length = settings.password_min_length
        self._hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib,
                                      parallelism=settings.argon2_parallelism, type=Type.ID)
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: SecretStr) -> str:
        return self._hasher.hash(password.get_secret_value())

    def verify(self, stored: str | None, password: SecretStr) -> bool:
        """True when ``password`` matches ``stored``; with ``stored`` None (no such account, or one that
        may not log in) the dummy hash is verified instead and the answer is False."""
        target = stored if stored is not None else self._dummy_hash()
        try:
            matched = self._hasher.verify(target, password.get_secret_value())
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(24))
            return self._dummy

    def check_strength(self, password: SecretStr, username: str) -> None:
        """Length and a few checks that need no composition rules (NIST SP 800-63B); an
        `InvalidInputError` says which rule failed, never what the password was."""
        value = password.get_secret_value()
        problem = None
        if len(value) < self.min_length:
            problem = f"must be at least {self.min_length} characters"
        elif len(value) > MAX_LENGTH:
            problem = f"must be at most {MAX_LENGTH} characters"
        elif any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in value):
            problem = "must not contain control characters (a line break or tab in it is a typing slip)"
        elif len(set(value)) < 5:
            problem = "must use at least 5 different characters"
        elif username in value.lower():
            problem = "must not contain the username"
        elif value.lower().strip(_DECORATION) in _COMMON:
            problem = "must not be a common word (such as password or qwerty) with only digits or symbols around it"
        if problem:
            raise InvalidInputError(f"password {problem}", errors=[("password", problem)])
